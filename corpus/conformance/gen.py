#!/usr/bin/env python3
"""Generates the conformance cases (corpus/conformance/<kind>/) and their
expected.tsv from the tables below. Cases are written from the RFCs, not
from the parser. Run from anywhere: python3 corpus/conformance/gen.py

Each case: (kind, prefix, topic, bytes, expected) where prefix is y/n/i,
expected for y is the dissect output after the FILE column (fields joined
by TAB, already escaped), for n is "ERR" (optionally "ERR\tconsumed=N"
for data: the detail is then compared too), for i is None.
"""
import os
import re
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []
COUNTERS = {}


def esc(b):
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 9:
            out.append("\\t")
        elif c == 13:
            out.append("\\r")
        elif c == 10:
            out.append("\\n")
        elif c < 0x20 or c == 0x7F:
            out.append("\\x%02X" % c)
        else:
            out.append(None)
    # rebuild keeping UTF-8 intact
    res = bytearray()
    for c, o in zip(b, out):
        if o is None:
            res.append(c)
        else:
            res.extend(o.encode())
    return res.decode("utf-8", errors="surrogateescape")


def b(x):
    return x.encode("utf-8") if isinstance(x, str) else x


def case(kind, prefix, topic, data, *fields, err=None):
    assert prefix in "yni"
    key = (kind, prefix, topic)
    COUNTERS[key] = COUNTERS.get(key, 0) + 1
    name = "%s_%s_%d.txt" % (prefix, topic, COUNTERS[key])
    if prefix == "y":
        exp = "OK\t" + "\t".join(fields)
    elif prefix == "n":
        err = err or expected_error(kind, topic, b(data))
        assert err in ERROR_KINDS, err
        exp = "\t".join(("ERR", err) + fields)
    else:
        exp = None
    CASES.append((kind, name, b(data), exp))


# The error kinds of the crate (ParseError::kind, dissect.md ERROR_KIND).
ERROR_KINDS = {
    "incomplete", "syntax", "unknown_command", "line_too_long", "bare_line_ending", "nul",
    "invalid_utf8", "utf8_not_allowed", "local_part_too_long", "domain_too_long",
    "path_too_long", "number_overflow", "duplicate_parameter", "unsupported_parameter",
    "invalid_parameter", "trailing_data", "code_mismatch", "too_many_lines", "unexpected_code",
}
KNOWN_VERBS = {b"HELO", b"EHLO", b"LHLO", b"MAIL", b"RCPT", b"DATA", b"BDAT", b"RSET", b"VRFY",
               b"EXPN", b"HELP", b"NOOP", b"QUIT", b"STARTTLS", b"AUTH", b"ETRN", b"BURL"}
# Default kind of a must-reject command case whose framing and verb are
# fine, per topic: a grammar violation of RFC 5321 4.1 is `syntax` (501
# 5.5.2); a parameter value outside its extension's ABNF is
# `invalid_parameter` (501 5.5.4: RFC 1870, 6152, 3461, 4954 5, 8689,
# 6710, 2852); malformed UTF-8 under SMTPUTF8 is `invalid_utf8` (RFC 6531
# 3.3, 553 5.6.7).
TOPIC_ERROR = {
    "size": "invalid_parameter", "body": "invalid_parameter", "dsn": "invalid_parameter",
    "mailauth": "invalid_parameter", "requiretls": "invalid_parameter",
    "mtprio": "invalid_parameter", "by": "invalid_parameter",
    "utf8": "invalid_utf8",
    # a parameter given twice with conflicting values (RFC 1870 6, RFC 3461
    # 4.5: each at most once; the same value repeated counts as one)
    "dupparam": "duplicate_parameter",
}


def expected_error(kind, topic, data):
    """The error kind of a must-reject case, from the framing rules first
    (RFC 5321 2.3.8: only CRLF ends a line, so a bare CR or LF before it is
    `bare_line_ending`; no CRLF is `incomplete`; bytes after the item are
    `trailing_data`), then per kind. Cases the rules below do not describe
    pass `err=` explicitly, with their reason next to them."""
    if kind == "data":
        # dissect.md: no terminator is `incomplete`; a bare CR/LF in content
        # whose terminator was found is `bare_line_ending`.
        return "bare_line_ending" if (b"\r\n.\r\n" in data or data.startswith(b".\r\n")) else "incomplete"
    if kind == "command":
        i = data.find(b"\r\n")
        if i < 0:
            # the line has not ended yet, whatever it holds
            return "incomplete"
        head = data[:i]
        if b"\r" in head or b"\n" in head:
            return "bare_line_ending"
        if i + 2 != len(data):
            return "trailing_data"
        if b"\x00" in head:
            return "nul"
        # an empty or unknown verb is a command the server does not
        # recognize (RFC 5321 4.2.4, 500)
        words = head.split(b" ")
        if words[0].upper() not in KNOWN_VERBS:
            return "unknown_command"
        # esmtp-param = esmtp-keyword ["=" esmtp-value], esmtp-value =
        # 1*(%d33-60 / %d62-126) (RFC 5321 4.1.2): a parameter with an empty
        # value breaks the generic grammar before any extension's ABNF
        if words[0].upper() in (b"MAIL", b"RCPT") and any(w.endswith(b"=") for w in words[2:]):
            return "syntax"
        return TOPIC_ERROR.get(topic, "syntax")
    # replies (RFC 5321 4.2): a line is 3DIGIT, then SP / "-" / CRLF
    lines = []
    rest = data
    while rest:
        j = rest.find(b"\r\n")
        if j < 0:
            # the reply readers reject an LF not preceded by CR as soon as
            # they see it (a CR alone may still be followed by LF); the
            # command parser waits for the CRLF (see above): both are
            # RFC 5321 2.3.8, the difference is when the error is reported
            return "bare_line_ending" if re.search(rb"(^|[^\r])\n", rest) else "incomplete"
        line, rest = rest[:j], rest[j + 2:]
        if b"\r" in line or b"\n" in line:
            return "bare_line_ending"
        lines.append(line)
        if not re.fullmatch(rb"[2-5][0-5][0-9]([ -].*)?", line, re.S):
            return "syntax"
        if b"\x00" in line:
            return "nul"
        if len(line) == 3 or line[3:4] == b" ":
            break
    else:
        return "incomplete"
    if rest:
        return "trailing_data"
    if any(l[:3] != lines[0][:3] for l in lines):
        return "code_mismatch"
    code = lines[0][:3]
    if kind == "greeting" and code not in (b"220", b"554"):
        return "unexpected_code"
    if kind == "ehlo" and code != b"250":
        return "unexpected_code"
    return "syntax"


# ---------------------------------------------------------------- command
def C(prefix, topic, line, *fields, crlf=True, err=None):
    data = b(line) + (b"\r\n" if crlf else b"")
    case("command", prefix, topic, data, *fields, err=err)


def Y(topic, line, *fields):
    C("y", topic, line, *fields)


def N(topic, line, crlf=True, err=None):
    C("n", topic, line, crlf=crlf, err=err)


def I(topic, line, crlf=True):
    C("i", topic, line, crlf=crlf)


# RFC 5321 4.1.1.1 HELO/EHLO, 4.1.2 Domain grammar
Y("ehlo", "EHLO client.example.org", "EHLO", "domain=client.example.org")
Y("ehlo", "ehlo client.example.org", "EHLO", "domain=client.example.org")
Y("ehlo", "EhLo Client.Example.ORG", "EHLO", "domain=Client.Example.ORG")
Y("ehlo", "EHLO localhost", "EHLO", "domain=localhost")
Y("ehlo", "EHLO 123.example", "EHLO", "domain=123.example")
Y("ehlo", "EHLO a-b.example", "EHLO", "domain=a-b.example")
Y("ehlo", "EHLO xn--bcher-kva.example", "EHLO", "domain=xn--bcher-kva.example")
Y("ehlo", "EHLO a.b.c.d.e.f.example", "EHLO", "domain=a.b.c.d.e.f.example")
Y("ehlo", "EHLO 1.2.3.4", "EHLO", "domain=1.2.3.4")
Y("ehlo", "EHLO a", "EHLO", "domain=a")
Y("ehlo", "EHLO 9", "EHLO", "domain=9")
Y("ehlo", "EHLO [192.0.2.1]", "EHLO", "domain=[192.0.2.1]")
Y("ehlo", "EHLO [IPv6:2001:db8::1]", "EHLO", "domain=[IPv6:2001:db8::1]")
Y("helo", "HELO client.example.org", "HELO", "domain=client.example.org")
Y("helo", "helo client", "HELO", "domain=client")
Y("lhlo", "LHLO client.example.org", "LHLO", "domain=client.example.org")
Y("lhlo", "lhlo client.example.org", "LHLO", "domain=client.example.org")
N("ehlo", "EHLO -example.com")
N("ehlo", "EHLO example-.com")
N("ehlo", "EHLO exa-.mple.com")
N("ehlo", "EHLO example..com")
N("ehlo", "EHLO .example.com")
N("ehlo", "EHLO ex_ample.com")
N("ehlo", "EHLO exa mple.com")
N("ehlo", "EHLO  example.com")
N("ehlo", "EHLOexample.com")
N("ehlo", "EHLO example.com\x00")
N("ehlo", "EHLO exa!mple.com")
N("ehlo", "EHLO [192.0.2.1")
N("ehlo", "EHLO 192.0.2.1]")
N("ehlo", "EHLO <example.com>")
N("helo", "HELO")
N("helo", "HELO -a")
I("ehlo", "EHLO")
I("ehlo", "EHLO example.com.")
I("ehlo", "EHLO bücher.example")
I("ehlo", "EHLO example.com ")
I("helo", "HELO [192.0.2.1]")
# label / domain length: RFC 5321 4.5.3.1.2 (255 octets), RFC 1035 (63-octet labels)
L63 = "a" * 62 + "b"
D255 = ".".join([L63, L63, L63, "c" * 63])
assert len(D255) == 255
Y("ehlo", "EHLO " + D255, "EHLO", "domain=" + D255)
Y("ehlo", "EHLO " + L63 + ".example", "EHLO", "domain=" + L63 + ".example")
I("ehlo", "EHLO " + "a" * 64 + ".example")
I("ehlo", "EHLO " + D255 + "d")
I("ehlo", "EHLO " + D255 + ".x")

# RFC 5321 4.1.3 address literals (in EHLO: domain exactly as sent)
for lit in ["[0.0.0.0]", "[255.255.255.255]", "[010.001.000.099]", "[1.2.3.4]",
            "[IPv6:1:2:3:4:5:6:7:8]", "[IPv6:0:0:0:0:0:0:0:0]", "[IPv6:::]", "[IPv6:::1]",
            "[IPv6:1::]", "[IPv6:1:2:3:4:5:6::]", "[IPv6:::2:3:4:5:6:7]", "[IPv6:1:2:3::4:5:6]",
            "[IPv6:FFFF:abcd:0001:0:0:0:0:1]", "[IPv6:2001:DB8::1]", "[ipv6:2001:db8::1]",
            "[IPv6:1:2:3:4:5:6:192.0.2.1]", "[IPv6:::ffff:192.0.2.1]", "[IPv6:::192.0.2.1]",
            "[IPv6:1:2:3:4::192.0.2.1]", "[IPv6:1:2::3:4:192.0.2.1]", "[IPv6:1::2:3:4:192.0.2.1]",
            "[IPv6:1::1.2.3.4]"]:
    Y("addrlit", "EHLO " + lit, "EHLO", "domain=" + lit)
for lit in ["[256.1.1.1]", "[1.2.3]", "[1.2.3.4.5]", "[0001.1.1.1]", "[1.2.3.]", "[1..2.3]",
            "[-1.2.3.4]", "[1.2.3.4 ]", "[]", "[ 1.2.3.4]",
            "[IPv6:1:2:3:4:5:6:7:8:9]", "[IPv6:1:2:3:4:5:6:7]", "[IPv6:1::2::3]",
            "[IPv6:1:2:3:4:5:6:7::]", "[IPv6:::1:2:3:4:5:6:7]", "[IPv6:1:2:3:4::5:6:7]",
            "[IPv6:12345::1]", "[IPv6:g::1]", "[IPv6:]", "[IPv6:1:2:3:4:5:6:7:]",
            "[IPv6::1]", "[IPv6:1:2:3:4:5:1.2.3.4]", "[IPv6:1:2:3:4:5::192.0.2.1]",
            "[IPv6:1:2:3::4:5:192.0.2.1]", "[IPv6:::300.1.1.1]", "[IPv6:1:2:3:4:5:6:7:1.2.3.4]",
            "[IPv6:::1.2.3]", "[IPv6 ::1]", "[:abc]", "[tag:]", "[tag:a[b]", "[tag:a\\b]",
            "[tag-:x]", "[IPv6:1:2:3:4:5:6:7:8::]", "[IPv6:::1:]"]:
    N("addrlit", "EHLO " + lit)
I("addrlit", "EHLO [x-foo:bar]")
# Ldh-str may start with "-" (RFC 5321 4.1.2): valid syntax, unregistered tag
I("addrlit", "EHLO [-tag:x]")
I("addrlit", "EHLO [IPv7:whatever]")
I("addrlit", "MAIL FROM:<a@[x-foo:bar]>")

# RFC 5321 4.1.1.2 MAIL, 4.1.2 Reverse-path, Path, Mailbox
Y("mail", "MAIL FROM:<alice@example.org>", "MAIL", "reverse_path=alice@example.org")
Y("mail", "mail from:<alice@example.org>", "MAIL", "reverse_path=alice@example.org")
Y("mail", "MaIl FrOm:<alice@example.org>", "MAIL", "reverse_path=alice@example.org")
Y("mail", "MAIL FROM:<>", "MAIL", "reverse_path=")
Y("mail", "MAIL FROM:<> SIZE=100", "MAIL", "reverse_path=", "SIZE=100")
Y("mail", "MAIL FROM:<Alice.Smith@Example.ORG>", "MAIL", "reverse_path=Alice.Smith@Example.ORG")
Y("mail", "MAIL FROM:<a@[192.0.2.1]>", "MAIL", "reverse_path=a@[192.0.2.1]")
Y("mail", "MAIL FROM:<a@[IPv6:2001:db8::1]>", "MAIL", "reverse_path=a@[IPv6:2001:db8::1]")
Y("mail", "MAIL FROM:<a@[IPv6:::ffff:192.0.2.1]>", "MAIL", "reverse_path=a@[IPv6:::ffff:192.0.2.1]")
Y("mail", "MAIL FROM:<a@localhost>", "MAIL", "reverse_path=a@localhost")
Y("mail", "MAIL FROM:<Postmaster@example.org>", "MAIL", "reverse_path=Postmaster@example.org")
N("mail", "MAIL FROM:alice@example.org")
N("mail", "MAIL FROM:<alice@example.org")
N("mail", "MAIL FROM:alice@example.org>")
N("mail", "MAIL FROM:<Postmaster>")
N("mail", "MAIL FROM:<alice>")
N("mail", "MAIL FROM:")
N("mail", "MAIL FROM")
N("mail", "MAIL")
N("mail", "MAIL TO:<alice@example.org>")
N("mail", "MAIL FROM :<alice@example.org>")
N("mail", "MAIL FROM: <alice@example.org>")
N("mail", "MAIL  FROM:<alice@example.org>")
N("mail", "MAILFROM:<alice@example.org>")
N("mail", "MAIL FROM:<alice@example.org>SIZE=1")
N("mail", "MAIL FROM:<<alice@example.org>>")
N("mail", "MAIL FROM:< alice@example.org>")
N("mail", "MAIL FROM:<alice@example.org >")
N("mail", "MAIL FROM:<alice@>")
N("mail", "MAIL FROM:<@example.org>")
N("mail", "MAIL FROM:<alice@@example.org>")
N("mail", "MAIL FROM:<alice@b@example.org>")
N("mail", "MAIL FROM:<alice@-example.org>")
N("mail", "MAIL FROM:<alice@example-.org>")
N("mail", "MAIL FROM:<alice@example..org>")
N("mail", "MAIL FROM:<alice@[300.0.0.1]>")
N("mail", "MAIL FROM:<alice@[IPv6:1:2:3:4:5:6:7]>")
N("mail", "MAIL FROM:<> <>")
I("mail", "MAIL FROM:<alice@example.org> ")
# RFC 5321 4.1.1.3 RCPT
Y("rcpt", "RCPT TO:<bob@example.net>", "RCPT", "forward_path=bob@example.net")
Y("rcpt", "rcpt to:<bob@example.net>", "RCPT", "forward_path=bob@example.net")
Y("rcpt", "RCPT TO:<Postmaster>", "RCPT", "forward_path=postmaster")
Y("rcpt", "RCPT TO:<postmaster>", "RCPT", "forward_path=postmaster")
Y("rcpt", "RCPT TO:<POSTMASTER>", "RCPT", "forward_path=postmaster")
Y("rcpt", "RCPT TO:<PostMaster>", "RCPT", "forward_path=postmaster")
Y("rcpt", "RCPT TO:<Postmaster> NOTIFY=NEVER", "RCPT", "forward_path=postmaster", "NOTIFY=NEVER")
Y("rcpt", "RCPT TO:<Postmaster@example.net>", "RCPT", "forward_path=Postmaster@example.net")
Y("rcpt", "RCPT TO:<bob@[192.0.2.7]>", "RCPT", "forward_path=bob@[192.0.2.7]")
N("rcpt", "RCPT TO:<>")
N("rcpt", "RCPT TO:<bob>")
N("rcpt", "RCPT TO:bob@example.net")
N("rcpt", "RCPT TO: <bob@example.net>")
N("rcpt", "RCPT TO :<bob@example.net>")
N("rcpt", "RCPT FROM:<bob@example.net>")
N("rcpt", "RCPT TO:")
N("rcpt", "RCPT")
N("rcpt", "RCPT TO:<Postmaster")
N("rcpt", "RCPT TO:<Post master>")
# Source routes: RFC 5321 4.1.1.3, App. C (accept, ignore)
Y("route", "MAIL FROM:<@a.example,@b.example:user@c.example>", "MAIL", "reverse_path=user@c.example")
Y("route", "RCPT TO:<@a.example:user@c.example>", "RCPT", "forward_path=user@c.example")
Y("route", "RCPT TO:<@a.example,@b.example,@c.example:u@d.example>", "RCPT", "forward_path=u@d.example")
Y("route", "RCPT TO:<@[192.0.2.1]:u@d.example>", "RCPT", "forward_path=u@d.example")
N("route", "RCPT TO:<@a.example,b.example:u@d.example>")
N("route", "RCPT TO:<@:u@d.example>")
N("route", "RCPT TO:<@a.example:>")
N("route", "RCPT TO:<@a.example u@d.example>")
N("route", "RCPT TO:<@a.example,:u@d.example>")
N("route", "RCPT TO:<a.example:u@d.example>")
N("route", "MAIL FROM:<@a.example:>")
I("route", "RCPT TO:<@a.example:Postmaster>")

# Local part: Dot-string / Quoted-string, RFC 5321 4.1.2, canonical form (dissect.md)
Y("local", "RCPT TO:<a.b.c@example.net>", "RCPT", "forward_path=a.b.c@example.net")
Y("local", "RCPT TO:<!#$%&'*+-/=?^_`{|}~@example.net>", "RCPT", "forward_path=!#$%&'*+-/=?^_`{|}~@example.net")
Y("local", "RCPT TO:<\"alice\"@example.net>", "RCPT", "forward_path=alice@example.net")
Y("local", "RCPT TO:<\"al\\ice\"@example.net>", "RCPT", "forward_path=alice@example.net")
Y("local", "RCPT TO:<\"a\\\"b\\\\c\"@example.net>", "RCPT", "forward_path=\"a\\\\\"b\\\\\\\\c\"@example.net")
Y("local", "RCPT TO:<\"a..b\"@example.net>", "RCPT", "forward_path=\"a..b\"@example.net")
Y("local", "RCPT TO:<\"a b\"@example.net>", "RCPT", "forward_path=\"a b\"@example.net")
Y("local", "RCPT TO:<\"a\\ b\"@example.net>", "RCPT", "forward_path=\"a b\"@example.net")
Y("local", "RCPT TO:<\"a@b\"@example.net>", "RCPT", "forward_path=\"a@b\"@example.net")
Y("local", "RCPT TO:<\"a\\@b\"@example.net>", "RCPT", "forward_path=\"a@b\"@example.net")
Y("local", "RCPT TO:<\".a\"@example.net>", "RCPT", "forward_path=\".a\"@example.net")
Y("local", "RCPT TO:<\"a.\"@example.net>", "RCPT", "forward_path=\"a.\"@example.net")
Y("local", "RCPT TO:<\"a.b\"@example.net>", "RCPT", "forward_path=a.b@example.net")
Y("local", "RCPT TO:<\"\"@example.net>", "RCPT", "forward_path=\"\"@example.net")
Y("local", "RCPT TO:<\"(x)\"@example.net>", "RCPT", "forward_path=\"(x)\"@example.net")
Y("local", "RCPT TO:<\"a,b\"@example.net>", "RCPT", "forward_path=\"a,b\"@example.net")
Y("local", "RCPT TO:<\"[x]\"@example.net>", "RCPT", "forward_path=\"[x]\"@example.net")
Y("local", "RCPT TO:<\"~\"@example.net>", "RCPT", "forward_path=~@example.net")
Y("local", "RCPT TO:<\"\\a\\b\"@example.net>", "RCPT", "forward_path=ab@example.net")
Y("local", "MAIL FROM:<\"John Smith\"@example.org>", "MAIL", "reverse_path=\"John Smith\"@example.org")
Y("local", "RCPT TO:<CaseKept@EXAMPLE.NET>", "RCPT", "forward_path=CaseKept@EXAMPLE.NET")
Y("local", "RCPT TO:<\"Post master\"@example.net>", "RCPT", "forward_path=\"Post master\"@example.net")
Y("local", "RCPT TO:<0@example.net>", "RCPT", "forward_path=0@example.net")
N("local", "RCPT TO:<.a@example.net>")
N("local", "RCPT TO:<a.@example.net>")
N("local", "RCPT TO:<a..b@example.net>")
N("local", "RCPT TO:<a b@example.net>")
N("local", "RCPT TO:<a(b)@example.net>")
N("local", "RCPT TO:<a,b@example.net>")
N("local", "RCPT TO:<a[b@example.net>")
N("local", "RCPT TO:<a\\b@example.net>")
N("local", "RCPT TO:<a\"b\"@example.net>")
N("local", "RCPT TO:<\"a\"b@example.net>")
N("local", "RCPT TO:<\"a\"\"b\"@example.net>")
N("local", "RCPT TO:<\"a@example.net>")
N("local", "RCPT TO:<\"a\\\"@example.net>")
N("local", "RCPT TO:<\"a\tb\"@example.net>")
N("local", "RCPT TO:<\"a\\\tb\"@example.net>")
N("local", "RCPT TO:<\"a\x01b\"@example.net>")
N("local", "RCPT TO:<a\x00b@example.net>")
N("local", "RCPT TO:<a\x7fb@example.net>")
N("local", "RCPT TO:<a:b@example.net>")
N("local", "RCPT TO:<a;b@example.net>")
N("local", "RCPT TO:<@example.net>")
# RFC 5321 4.5.3.1 limits are minima: at the limit MUST be accepted
L64 = "l" * 64
Y("limits", "RCPT TO:<%s@example.net>" % L64, "RCPT", "forward_path=%s@example.net" % L64)
I("limits", "RCPT TO:<%s@example.net>" % ("l" * 65))
I("limits", "RCPT TO:<\"%s\"@example.net>" % ("q" * 63))
# path of exactly 256 octets including the angle brackets (4.5.3.1.3)
dom = ".".join(["d" * 63, "e" * 63, "f" * 61])
path = "<" + L64 + "@" + dom + ">"
assert len(path) == 256, len(path)
Y("limits", "RCPT TO:" + path, "RCPT", "forward_path=" + path[1:-1])
Y("limits", "MAIL FROM:" + path, "MAIL", "reverse_path=" + path[1:-1])
dom2 = ".".join(["d" * 63, "e" * 63, "f" * 62])
I("limits", "RCPT TO:<" + L64 + "@" + dom2 + ">")
# command line of exactly 512 octets incl. CRLF (4.5.3.1.4)
pad = 512 - len("NOOP \r\n")
Y("limits", "NOOP " + "n" * pad, "NOOP", "arg=" + "n" * pad)
I("limits", "NOOP " + "n" * (pad + 1))
pad = 512 - len("RCPT TO:<@example.net>\r\n")
I("limits", "RCPT TO:<%s@example.net>" % ("r" * pad))
I("limits", "NOOP " + "n" * 20000)

# RFC 6531 SMTPUTF8 (3.3: UTF-8 in local part and domain); RCPT inside an SMTPUTF8 transaction
Y("utf8", "MAIL FROM:<jörg@example.org> SMTPUTF8", "MAIL", "reverse_path=jörg@example.org", "SMTPUTF8")
Y("utf8", "MAIL FROM:<jörg@bücher.example> SMTPUTF8", "MAIL", "reverse_path=jörg@bücher.example", "SMTPUTF8")
Y("utf8", "MAIL FROM:<a@example.org> smtputf8", "MAIL", "reverse_path=a@example.org", "SMTPUTF8")
Y("utf8", "MAIL FROM:<> SMTPUTF8", "MAIL", "reverse_path=", "SMTPUTF8")
Y("utf8", "RCPT TO:<élève@example.net>", "RCPT", "forward_path=élève@example.net")
Y("utf8", "RCPT TO:<用户@例子.广告>", "RCPT", "forward_path=用户@例子.广告")
Y("utf8", "RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>", "RCPT", "forward_path=δοκιμή@παράδειγμα.δοκιμή")
Y("utf8", "RCPT TO:<\"jörg\"@example.net>", "RCPT", "forward_path=jörg@example.net")
Y("utf8", "RCPT TO:<\"jö rg\"@example.net>", "RCPT", "forward_path=\"jö rg\"@example.net")
Y("utf8", "RCPT TO:<😀@example.net>", "RCPT", "forward_path=😀@example.net")
Y("utf8", "VRFY jörg@example.net SMTPUTF8", "VRFY", "arg=jörg@example.net", "SMTPUTF8")
Y("utf8", "EXPN staff@example.net SMTPUTF8", "EXPN", "arg=staff@example.net", "SMTPUTF8")
Y("utf8", "VRFY bob smtputf8", "VRFY", "arg=bob", "SMTPUTF8")
N("utf8", b"RCPT TO:<j\xf6rg@example.net>")
N("utf8", b"RCPT TO:<j\xc3@example.net>")
N("utf8", b"RCPT TO:<j\xc0\xafrg@example.net>")
N("utf8", b"RCPT TO:<j\xed\xa0\x80rg@example.net>")
N("utf8", b"RCPT TO:<j\xf5\x80\x80\x80rg@example.net>")
N("utf8", b"RCPT TO:<j\x80rg@example.net>")
N("utf8", b"RCPT TO:<a@b\xff.example>")
N("utf8", b"MAIL FROM:<j\xc3\xb6rg@example.org\xc3> SMTPUTF8")
N("utf8", b"RCPT TO:<\"j\xe9\"@example.net>")
# RFC 6531 3.4: SMTPUTF8 takes no value
N("utf8", "MAIL FROM:<a@example.org> SMTPUTF8=YES", err="invalid_parameter")
I("utf8", "MAIL FROM:<jörg@example.org>")
I("utf8", "RCPT TO:<a@bü-.example>")
I("utf8", "RCPT TO:<\"\\é\"@example.net>")
I("utf8", "RCPT TO:<a\u0085b@example.net>")
I("utf8", "VRFY jörg")

# RFC 5321 4.1.1.x simple verbs
Y("verbs", "DATA", "DATA")
Y("verbs", "data", "DATA")
Y("verbs", "RSET", "RSET")
Y("verbs", "rset", "RSET")
Y("verbs", "QUIT", "QUIT")
Y("verbs", "Quit", "QUIT")
Y("verbs", "STARTTLS", "STARTTLS")
Y("verbs", "starttls", "STARTTLS")
Y("verbs", "NOOP", "NOOP")
Y("verbs", "noop", "NOOP")
Y("verbs", "NOOP hello", "NOOP", "arg=hello")
Y("verbs", "NOOP \"hello world\"", "NOOP", "arg=hello world")
Y("verbs", "HELP", "HELP")
Y("verbs", "HELP MAIL", "HELP", "arg=MAIL")
Y("verbs", "help rcpt", "HELP", "arg=rcpt")
Y("verbs", "VRFY bob", "VRFY", "arg=bob")
Y("verbs", "vrfy Bob", "VRFY", "arg=Bob")
Y("verbs", "VRFY \"Smith, John\"", "VRFY", "arg=Smith, John")
Y("verbs", "VRFY bob@example.net", "VRFY", "arg=bob@example.net")
Y("verbs", "EXPN staff", "EXPN", "arg=staff")
Y("verbs", "EXPN staff@example.net", "EXPN", "arg=staff@example.net")
N("verbs", "DATA x")
N("verbs", "RSET x")
N("verbs", "QUIT now")
N("verbs", "STARTTLS x")
N("verbs", "VRFY")
N("verbs", "EXPN")
N("verbs", "FOO")
N("verbs", "FOO bar")
N("verbs", "DAT")
N("verbs", "DATAX")
N("verbs", "")
N("verbs", " ")
N("verbs", " QUIT")
N("verbs", "QU IT")
N("verbs", "VRFY  bob")
N("verbs", "VRFY \"unterminated")
I("verbs", "QUIT ")
I("verbs", "DATA ")
I("verbs", "NOOP hello world")
I("verbs", "HELP MAIL FROM")
I("verbs", "TURN")
I("verbs", "SEND FROM:<a@example.org>")
I("verbs", "SAML FROM:<a@example.org>")
I("verbs", "XCLIENT NAME=x")
I("verbs", "BURL imap://x LAST")
I("verbs", "ATRN example.com")
I("verbs", "VRFY bob SMTPUTF8 x")
I("verbs", "VRFY Smith, John")
# strictness: RFC 5321 2.3.8 (CRLF only), 4.1.1 (one command per line)
N("strict", "QUIT\n", crlf=False)
N("strict", "QUIT\r", crlf=False)
N("strict", "QUIT", crlf=False)
N("strict", "QUIT\n\r", crlf=False)
N("strict", "NOOP a\rb")
N("strict", "NOOP a\nb")
N("strict", "MAIL FROM:<a@example.org>\n", crlf=False)
N("strict", "RCPT TO:<b@example.net>\rX", crlf=True)
N("strict", "NOOP\x00")
N("strict", "NO\x00OP")
N("strict", "QUIT\r\nNOOP")
N("strict", "QUIT\r\n\r", crlf=False)
N("strict", "QUIT\r\r\n", crlf=False)
N("strict", "RSET\r\nRSET")
N("strict", "\tQUIT")
N("strict", "QUIT\t")
N("strict", "MAIL FROM:<a@example.org>\tSIZE=1")
N("strict", "MAIL FROM:<a@example.org>  SIZE=1")
N("strict", "MAIL\tFROM:<a@example.org>")
N("strict", "EHLO\texample.org")

# Parameters: RFC 5321 4.1.2 esmtp-param, 2.4 (keywords case-insensitive)
N("param", "MAIL FROM:<a@example.org> =1")
N("param", "MAIL FROM:<a@example.org> -X=1")
N("param", "MAIL FROM:<a@example.org> X_Y=1")
N("param", "MAIL FROM:<a@example.org> XFOO=a=b")
N("param", "MAIL FROM:<a@example.org> XFOO=")
N("param", "MAIL FROM:<a@example.org> XFOO=\x01")
N("param", "MAIL FROM:<a@example.org> SIZE=1 ")
I("param", "MAIL FROM:<a@example.org> XFOO=bar")
I("param", "MAIL FROM:<a@example.org> XFOO")
# two unknown parameters, XFOO=a and B (esmtp-keyword needs no value)
I("param", "MAIL FROM:<a@example.org> XFOO=a b")
I("param", "RCPT TO:<b@example.net> X-Y=z")
I("param", "MAIL FROM:<a@example.org> SIZE=10 SIZE=10")
# A known parameter repeated with the same value (keyword case-insensitive,
# RFC 5321 2.4; value by the parameter's own rules) is one parameter, as
# Postfix and Exim take it (Python's smtplib sends the first case); one
# field per parameter as sent. Conflicting values are refused: RFC 1870 6
# (one SIZE), RFC 3461 4.5 (a DSN parameter at most once). Issue 11 item 6.
Y("dupparam", "MAIL FROM:<a@example.org> size=281 SIZE=281 BODY=8BITMIME", "MAIL", "reverse_path=a@example.org", "SIZE=281", "SIZE=281", "BODY=8BITMIME")
Y("dupparam", "MAIL FROM:<a@example.org> BODY=8BITMIME body=8bitmime", "MAIL", "reverse_path=a@example.org", "BODY=8BITMIME", "BODY=8BITMIME")
Y("dupparam", "RCPT TO:<b@example.net> NOTIFY=NEVER NOTIFY=NEVER", "RCPT", "forward_path=b@example.net", "NOTIFY=NEVER", "NOTIFY=NEVER")
N("dupparam", "MAIL FROM:<a@example.org> SIZE=100 SIZE=200")
N("dupparam", "MAIL FROM:<a@example.org> BODY=7BIT BODY=8BITMIME")
N("dupparam", "MAIL FROM:<a@example.org> RET=FULL RET=HDRS")
N("dupparam", "RCPT TO:<b@example.net> NOTIFY=NEVER NOTIFY=SUCCESS")
# RFC 1870 SIZE
Y("size", "MAIL FROM:<a@example.org> SIZE=12345", "MAIL", "reverse_path=a@example.org", "SIZE=12345")
Y("size", "MAIL FROM:<a@example.org> size=12345", "MAIL", "reverse_path=a@example.org", "SIZE=12345")
Y("size", "MAIL FROM:<a@example.org> SIZE=0", "MAIL", "reverse_path=a@example.org", "SIZE=0")
Y("size", "MAIL FROM:<a@example.org> SIZE=000123", "MAIL", "reverse_path=a@example.org", "SIZE=123")
Y("size", "MAIL FROM:<a@example.org> SIZE=18446744073709551615", "MAIL", "reverse_path=a@example.org", "SIZE=18446744073709551615")
N("size", "MAIL FROM:<a@example.org> SIZE=")
N("size", "MAIL FROM:<a@example.org> SIZE")
N("size", "MAIL FROM:<a@example.org> SIZE=-1")
N("size", "MAIL FROM:<a@example.org> SIZE=+1")
N("size", "MAIL FROM:<a@example.org> SIZE=1k")
N("size", "MAIL FROM:<a@example.org> SIZE=1.5")
# 21 digits (RFC 1870: 1*20DIGIT) whose value does not fit 64 bits either
N("size", "MAIL FROM:<a@example.org> SIZE=123456789012345678901", err="number_overflow")
I("size", "MAIL FROM:<a@example.org> SIZE=99999999999999999999")
I("size", "RCPT TO:<b@example.net> SIZE=1")
# RFC 6152 BODY, RFC 3030 BINARYMIME
Y("body", "MAIL FROM:<a@example.org> BODY=8BITMIME", "MAIL", "reverse_path=a@example.org", "BODY=8BITMIME")
Y("body", "MAIL FROM:<a@example.org> BODY=7BIT", "MAIL", "reverse_path=a@example.org", "BODY=7BIT")
Y("body", "MAIL FROM:<a@example.org> body=8bitmime", "MAIL", "reverse_path=a@example.org", "BODY=8BITMIME")
Y("body", "MAIL FROM:<a@example.org> BODY=BINARYMIME", "MAIL", "reverse_path=a@example.org", "BODY=BINARYMIME")
Y("body", "MAIL FROM:<a@example.org> BODY=BinaryMime", "MAIL", "reverse_path=a@example.org", "BODY=BINARYMIME")
Y("body", "MAIL FROM:<a@example.org> SIZE=10 BODY=8BITMIME SMTPUTF8", "MAIL", "reverse_path=a@example.org", "SIZE=10", "BODY=8BITMIME", "SMTPUTF8")
N("body", "MAIL FROM:<a@example.org> BODY=9BIT")
N("body", "MAIL FROM:<a@example.org> BODY=")
N("body", "MAIL FROM:<a@example.org> BODY")
N("body", "MAIL FROM:<a@example.org> BODY=8BIT")
N("body", "MAIL FROM:<a@example.org> BODY=8BITMIMEX")
# RFC 3030 BDAT
Y("bdat", "BDAT 100", "BDAT", "size=100", "last=no")
Y("bdat", "BDAT 0 LAST", "BDAT", "size=0", "last=yes")
Y("bdat", "bdat 42 last", "BDAT", "size=42", "last=yes")
Y("bdat", "BDAT 007 LAST", "BDAT", "size=7", "last=yes")
Y("bdat", "BDAT 0", "BDAT", "size=0", "last=no")
Y("bdat", "BDAT 1000000 Last", "BDAT", "size=1000000", "last=yes")
N("bdat", "BDAT")
N("bdat", "BDAT LAST")
N("bdat", "BDAT -1")
N("bdat", "BDAT +1")
N("bdat", "BDAT 1e3")
N("bdat", "BDAT 10 FIRST")
N("bdat", "BDAT 10 LAST X")
N("bdat", "BDAT  10")
N("bdat", "BDAT 10  LAST")
N("bdat", "BDAT 0x10")
I("bdat", "BDAT 99999999999999999999999999")
I("bdat", "BDAT 10 ")
# RFC 3461 DSN
Y("dsn", "MAIL FROM:<a@example.org> RET=FULL", "MAIL", "reverse_path=a@example.org", "RET=FULL")
Y("dsn", "MAIL FROM:<a@example.org> RET=hdrs", "MAIL", "reverse_path=a@example.org", "RET=HDRS")
Y("dsn", "MAIL FROM:<a@example.org> ENVID=QQ314159", "MAIL", "reverse_path=a@example.org", "ENVID=QQ314159")
Y("dsn", "MAIL FROM:<a@example.org> ENVID=a+2Bb+3Dc", "MAIL", "reverse_path=a@example.org", "ENVID=a+b=c")
Y("dsn", "MAIL FROM:<a@example.org> ENVID=a+20b", "MAIL", "reverse_path=a@example.org", "ENVID=a b")
Y("dsn", "MAIL FROM:<a@example.org> RET=FULL ENVID=x1", "MAIL", "reverse_path=a@example.org", "RET=FULL", "ENVID=x1")
Y("dsn", "MAIL FROM:<a@example.org> ENVID=" + "e" * 100, "MAIL", "reverse_path=a@example.org", "ENVID=" + "e" * 100)
Y("dsn", "RCPT TO:<b@example.net> NOTIFY=NEVER", "RCPT", "forward_path=b@example.net", "NOTIFY=NEVER")
Y("dsn", "RCPT TO:<b@example.net> NOTIFY=never", "RCPT", "forward_path=b@example.net", "NOTIFY=NEVER")
Y("dsn", "RCPT TO:<b@example.net> NOTIFY=SUCCESS", "RCPT", "forward_path=b@example.net", "NOTIFY=SUCCESS")
Y("dsn", "RCPT TO:<b@example.net> NOTIFY=success,failure", "RCPT", "forward_path=b@example.net", "NOTIFY=SUCCESS,FAILURE")
Y("dsn", "RCPT TO:<b@example.net> NOTIFY=DELAY,FAILURE,SUCCESS", "RCPT", "forward_path=b@example.net", "NOTIFY=DELAY,FAILURE,SUCCESS")
Y("dsn", "RCPT TO:<b@example.net> ORCPT=rfc822;b@example.net", "RCPT", "forward_path=b@example.net", "ORCPT=rfc822;b@example.net")
Y("dsn", "RCPT TO:<b@example.net> ORCPT=RFC822;B@Example.NET", "RCPT", "forward_path=b@example.net", "ORCPT=RFC822;B@Example.NET")
Y("dsn", "RCPT TO:<b@example.net> ORCPT=rfc822;a+2Bb@example.net", "RCPT", "forward_path=b@example.net", "ORCPT=rfc822;a+b@example.net")
Y("dsn", "RCPT TO:<b@example.net> ORCPT=rfc822;+22a+20b+22@example.net", "RCPT", "forward_path=b@example.net", "ORCPT=rfc822;\"a b\"@example.net")
Y("dsn", "RCPT TO:<b@example.net> ORCPT=x-local;anything", "RCPT", "forward_path=b@example.net", "ORCPT=x-local;anything")
Y("dsn", "RCPT TO:<b@example.net> NOTIFY=FAILURE ORCPT=rfc822;b@example.net", "RCPT", "forward_path=b@example.net", "NOTIFY=FAILURE", "ORCPT=rfc822;b@example.net")
Y("dsn", "RCPT TO:<b@example.net> orcpt=rfc822;b@example.net notify=delay", "RCPT", "forward_path=b@example.net", "ORCPT=rfc822;b@example.net", "NOTIFY=DELAY")
N("dsn", "MAIL FROM:<a@example.org> RET=ALL")
N("dsn", "MAIL FROM:<a@example.org> RET=")
N("dsn", "MAIL FROM:<a@example.org> RET")
N("dsn", "MAIL FROM:<a@example.org> ENVID=a+2bb")
N("dsn", "MAIL FROM:<a@example.org> ENVID=a+4")
N("dsn", "MAIL FROM:<a@example.org> ENVID=a+")
N("dsn", "MAIL FROM:<a@example.org> ENVID=a+GG")
N("dsn", "MAIL FROM:<a@example.org> ENVID=")
N("dsn", "RCPT TO:<b@example.net> NOTIFY=NEVER,SUCCESS")
N("dsn", "RCPT TO:<b@example.net> NOTIFY=FAILURE,NEVER")
N("dsn", "RCPT TO:<b@example.net> NOTIFY=")
N("dsn", "RCPT TO:<b@example.net> NOTIFY=SUCCESS,")
N("dsn", "RCPT TO:<b@example.net> NOTIFY=,SUCCESS")
N("dsn", "RCPT TO:<b@example.net> NOTIFY=SUCCESS,,FAILURE")
N("dsn", "RCPT TO:<b@example.net> NOTIFY=ALWAYS")
N("dsn", "RCPT TO:<b@example.net> NOTIFY")
N("dsn", "RCPT TO:<b@example.net> ORCPT=b@example.net")
N("dsn", "RCPT TO:<b@example.net> ORCPT=;b@example.net")
N("dsn", "RCPT TO:<b@example.net> ORCPT=rfc822;a+2xb@example.net")
N("dsn", "RCPT TO:<b@example.net> ORCPT=rfc 822;b@example.net")
N("dsn", "RCPT TO:<b@example.net> ORCPT")
I("dsn", "MAIL FROM:<a@example.org> ENVID=" + "e" * 101)
I("dsn", "RCPT TO:<b@example.net> NOTIFY=SUCCESS,SUCCESS")
I("dsn", "RCPT TO:<b@example.net> ORCPT=rfc822;")
I("dsn", "MAIL FROM:<a@example.org> NOTIFY=SUCCESS")
I("dsn", "RCPT TO:<b@example.net> RET=FULL")
I("dsn", "MAIL FROM:<a@example.org> RET=FULL RET=HDRS")
# RFC 6533 utf-8-addr-xtext / utf-8-addr-unitext in ORCPT
Y("dsn", "RCPT TO:<b@example.net> ORCPT=utf-8;b@example.net", "RCPT", "forward_path=b@example.net", "ORCPT=utf-8;b@example.net")
I("dsn", "RCPT TO:<b@example.net> ORCPT=utf-8;j\\x{F6}rg@example.net")
I("dsn", "RCPT TO:<b@example.net> ORCPT=utf-8;jörg@example.net")
I("dsn", "RCPT TO:<b@example.net> ORCPT=utf-8;j\\x{D800}rg@example.net")
# RFC 4954 AUTH command
Y("auth", "AUTH PLAIN", "AUTH", "mechanism=PLAIN")
Y("auth", "auth PLAIN", "AUTH", "mechanism=PLAIN")
Y("auth", "AUTH LOGIN", "AUTH", "mechanism=LOGIN")
Y("auth", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "AUTH", "mechanism=PLAIN", "initial_response=AGFsaWNlAHNlY3JldA==")
Y("auth", "AUTH PLAIN =", "AUTH", "mechanism=PLAIN", "initial_response=")
Y("auth", "AUTH SCRAM-SHA-256-PLUS", "AUTH", "mechanism=SCRAM-SHA-256-PLUS")
Y("auth", "AUTH X_MECH_1", "AUTH", "mechanism=X_MECH_1")
Y("auth", "AUTH ABCDEFGHIJKLMNOPQRST", "AUTH", "mechanism=ABCDEFGHIJKLMNOPQRST")
Y("auth", "AUTH EXTERNAL =", "AUTH", "mechanism=EXTERNAL", "initial_response=")
Y("auth", "AUTH PLAIN dGVzdA==", "AUTH", "mechanism=PLAIN", "initial_response=dGVzdA==")
Y("auth", "AUTH PLAIN dGVzdDE=", "AUTH", "mechanism=PLAIN", "initial_response=dGVzdDE=")
Y("auth", "AUTH PLAIN dGVzdDEy", "AUTH", "mechanism=PLAIN", "initial_response=dGVzdDEy")
Y("auth", "AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHQBAQ==", "AUTH", "mechanism=XOAUTH2", "initial_response=dXNlcj1hAWF1dGg9QmVhcmVyIHQBAQ==")
Y("auth", "AUTH PLAIN +/+/", "AUTH", "mechanism=PLAIN", "initial_response=+/+/")
N("auth", "AUTH")
N("auth", "AUTH ABCDEFGHIJKLMNOPQRSTU")
N("auth", "AUTH PL.AIN")
N("auth", "AUTH PLAIN abc!")
N("auth", "AUTH PLAIN abc")
N("auth", "AUTH PLAIN ==")
N("auth", "AUTH PLAIN a===")
N("auth", "AUTH PLAIN dGVzdA=")
N("auth", "AUTH PLAIN dGVzdA==dGVz")
N("auth", "AUTH PLAIN  dGVzdA==")
N("auth", "AUTH PLAIN dGVzdA== x")
N("auth", "AUTH PLAIN ==dGVzdA")
N("auth", "AUTH PLAIN =x")
N("auth", "AUTH  PLAIN")
I("auth", "AUTH plain")
I("auth", "AUTH PLAIN dGVzdA")
I("auth", "AUTH PLAIN *")
# RFC 4954 5: MAIL AUTH= parameter (xtext)
Y("mailauth", "MAIL FROM:<a@example.org> AUTH=<>", "MAIL", "reverse_path=a@example.org", "AUTH=<>")
Y("mailauth", "MAIL FROM:<a@example.org> AUTH=alice@example.org", "MAIL", "reverse_path=a@example.org", "AUTH=alice@example.org")
Y("mailauth", "MAIL FROM:<a@example.org> AUTH=alice+2Bx@example.org", "MAIL", "reverse_path=a@example.org", "AUTH=alice+x@example.org")
Y("mailauth", "MAIL FROM:<a@example.org> auth=e+3Dmc2", "MAIL", "reverse_path=a@example.org", "AUTH=e=mc2")
N("mailauth", "MAIL FROM:<a@example.org> AUTH=")
N("mailauth", "MAIL FROM:<a@example.org> AUTH=a+2b")
N("mailauth", "MAIL FROM:<a@example.org> AUTH=a+")
N("mailauth", "MAIL FROM:<a@example.org> AUTH")
I("mailauth", "RCPT TO:<b@example.net> AUTH=<>")
# RFC 8689 REQUIRETLS
Y("requiretls", "MAIL FROM:<a@example.org> REQUIRETLS", "MAIL", "reverse_path=a@example.org", "REQUIRETLS")
Y("requiretls", "MAIL FROM:<a@example.org> requiretls SMTPUTF8", "MAIL", "reverse_path=a@example.org", "REQUIRETLS", "SMTPUTF8")
N("requiretls", "MAIL FROM:<a@example.org> REQUIRETLS=YES")
N("requiretls", "MAIL FROM:<a@example.org> REQUIRETLS=")
I("requiretls", "RCPT TO:<b@example.net> REQUIRETLS")
# RFC 6710 MT-PRIORITY
Y("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=3", "MAIL", "reverse_path=a@example.org", "MT-PRIORITY=3")
Y("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=-9", "MAIL", "reverse_path=a@example.org", "MT-PRIORITY=-9")
Y("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=9", "MAIL", "reverse_path=a@example.org", "MT-PRIORITY=9")
Y("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=0", "MAIL", "reverse_path=a@example.org", "MT-PRIORITY=0")
Y("mtprio", "MAIL FROM:<a@example.org> mt-priority=-1", "MAIL", "reverse_path=a@example.org", "MT-PRIORITY=-1")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=10")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=-10")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=high")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=--1")
# RFC 6710 7: priority-value = (["-"] NZDIGIT) / "0": no sign "+", no
# "-0", no leading zero (issue 11 item 5)
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=+3")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=-0")
N("mtprio", "MAIL FROM:<a@example.org> MT-PRIORITY=03")
# RFC 2852 BY
Y("by", "MAIL FROM:<a@example.org> BY=120;R", "MAIL", "reverse_path=a@example.org", "BY=120;R")
Y("by", "MAIL FROM:<a@example.org> BY=120;N", "MAIL", "reverse_path=a@example.org", "BY=120;N")
Y("by", "MAIL FROM:<a@example.org> BY=120;RT", "MAIL", "reverse_path=a@example.org", "BY=120;RT")
Y("by", "MAIL FROM:<a@example.org> by=120;nt", "MAIL", "reverse_path=a@example.org", "BY=120;NT")
Y("by", "MAIL FROM:<a@example.org> BY=+120;R", "MAIL", "reverse_path=a@example.org", "BY=120;R")
Y("by", "MAIL FROM:<a@example.org> BY=000120;R", "MAIL", "reverse_path=a@example.org", "BY=120;R")
Y("by", "MAIL FROM:<a@example.org> BY=999999999;R", "MAIL", "reverse_path=a@example.org", "BY=999999999;R")
N("by", "MAIL FROM:<a@example.org> BY=120")
N("by", "MAIL FROM:<a@example.org> BY=120;")
N("by", "MAIL FROM:<a@example.org> BY=120;X")
N("by", "MAIL FROM:<a@example.org> BY=120;T")
N("by", "MAIL FROM:<a@example.org> BY=;R")
N("by", "MAIL FROM:<a@example.org> BY=1234567890;R")
N("by", "MAIL FROM:<a@example.org> BY=12a;R")
N("by", "MAIL FROM:<a@example.org> BY=120;RTT")
N("by", "MAIL FROM:<a@example.org> BY=120;R;T")
# RFC 2852 4 ABNF: "a <= zero value is not allowed with a by-mode of R"
Y("by", "MAIL FROM:<a@example.org> BY=-60;N", "MAIL", "reverse_path=a@example.org", "BY=-60;N")
Y("by", "MAIL FROM:<a@example.org> BY=0;N", "MAIL", "reverse_path=a@example.org", "BY=0;N")
Y("by", "MAIL FROM:<a@example.org> BY=-60;nt", "MAIL", "reverse_path=a@example.org", "BY=-60;NT")
N("by", "MAIL FROM:<a@example.org> BY=0;R")
N("by", "MAIL FROM:<a@example.org> BY=-60;R")
N("by", "MAIL FROM:<a@example.org> BY=-0;RT")
N("by", "MAIL FROM:<a@example.org> BY=-999999999;R")
# RFC 4865 FUTURERELEASE, RFC 7293 RRVS (not advertised in dissect's context)
I("future", "MAIL FROM:<a@example.org> HOLDFOR=3600")
I("future", "MAIL FROM:<a@example.org> HOLDUNTIL=2030-01-01T00:00:00Z")
I("future", "MAIL FROM:<a@example.org> HOLDFOR=abc")
I("rrvs", "RCPT TO:<b@example.net> RRVS=2014-04-03T23:01:00Z")
I("rrvs", "RCPT TO:<b@example.net> RRVS=2014-04-03T23:01:00Z;C")
# Postfix XCLIENT_README / XFORWARD_README: opt-in extensions, not in
# dissect's context (Extensions::ALL), so implementation-defined here
I("xclient", "XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2")
I("xclient", "XCLIENT NAME=[TEMPUNAVAIL] ADDR=IPV6:2001:db8::1 PORT=25 LOGIN=[UNAVAILABLE]")
I("xclient", "XCLIENT NAME=a+2")
I("xclient", "XCLIENT IDENT=x")
I("xforward", "XFORWARD NAME=spike.porcupine.org ADDR=168.100.189.2 PROTO=ESMTP")
I("xforward", "XFORWARD HELO=spike.porcupine.org")
I("xforward", "XFORWARD SOURCE=elsewhere")
# RFC 1985 ETRN
Y("etrn", "ETRN example.com", "ETRN", "node=example.com")
Y("etrn", "etrn example.com", "ETRN", "node=example.com")
Y("etrn", "ETRN @example.com", "ETRN", "node=@example.com")
Y("etrn", "ETRN #queue1", "ETRN", "node=#queue1")
Y("etrn", "ETRN Example.COM", "ETRN", "node=Example.COM")
N("etrn", "ETRN")
N("etrn", "ETRN  example.com")
N("etrn", "ETRN example.com x")
N("etrn", "ETRN @")
N("etrn", "ETRN -bad.example")
I("etrn", "ETRN [192.0.2.1]")
I("etrn", "ETRN #")


# ---- more command edges
for lit in ["[IPv6:1::2:3:4:5:6]", "[IPv6:::1:2:3:4:5:6]", "[IPv6:::1:2:3:4:1.2.3.4]", "[IPv6:1:2:3:4:5:6:7:8]"]:
    Y("addrlit", "RCPT TO:<u@" + lit + ">", "RCPT", "forward_path=u@" + lit)
for lit in ["[IPv6:1:2:3:4:5:6::7]", "[IPv6:1:2:3:4::5:6:7:8]", "[IPv6:::1:2:3:4:5:1.2.3.4]",
            "[IPv6:1:2:3:4:5:6::1.2.3.4]", "[IPv6:1.2.3.4]", "[IPv6:::1.2.3.04.5]"]:
    N("addrlit", "RCPT TO:<u@" + lit + ">")
Y("addrlit", "RCPT TO:<u@[01.2.3.4]>", "RCPT", "forward_path=u@[01.2.3.4]")
N("rcpt", "RCPT TO:<u@example.org.>")
N("rcpt", "RCPT TO:<\"Postmaster\">")
N("rcpt", "RCPT TO:<postmaster@>")
# SIZE is not an RCPT parameter: a bare SIZE there is an unknown keyword
I("rcpt", "RCPT TO:<Postmaster> SIZE")
Y("local", "RCPT TO:<\"a\\\\\"@example.net>", "RCPT", "forward_path=\"a\\\\\\\\\"@example.net")
Y("local", "RCPT TO:<\"\\\"\"@example.net>", "RCPT", "forward_path=\"\\\\\"\"@example.net")
N("local", "RCPT TO:<\"a\".\"b\"@example.net>")
N("local", "RCPT TO:<(c)a@example.net>")
N("local", "RCPT TO:<a(c)@example.net>")
Y("verbs", "VRFY \"a\\\"b\"", "VRFY", "arg=a\"b")
Y("verbs", "EXPN \"list name\"", "EXPN", "arg=list name")
Y("verbs", "HELP \"x y\"", "HELP", "arg=x y")
Y("verbs", "VRFY \"a b\"@example.net", "VRFY", "arg=\"a b\"@example.net")
I("verbs", "VRFY <bob@example.net>")
Y("dsn", "RCPT TO:<b@example.net> Notify=Success,Delay", "RCPT", "forward_path=b@example.net", "NOTIFY=SUCCESS,DELAY")
Y("dsn", "MAIL FROM:<a@example.org> ret=full", "MAIL", "reverse_path=a@example.org", "RET=FULL")
Y("mailauth", "MAIL FROM:<a@example.org> AUTH=<a>", "MAIL", "reverse_path=a@example.org", "AUTH=<a>")
I("dsn", "RCPT TO:<b@example.net> NOTIFY=SUCCESS NOTIFY=FAILURE")
I("utf8", "MAIL FROM:<a@example.org> SMTPUTF8 SMTPUTF8")
I("body", "RCPT TO:<b@example.net> BODY=8BITMIME")
# extension increments of the line limit (RFC 4954 4: AUTH line up to 12288
# octets; RFC 4954 5 / RFC 3461 4: +500 for MAIL AUTH=, +500 for RCPT ORCPT)
ir = "QUJD" * ((12288 - len("AUTH PLAIN \r\n")) // 4)
Y("limits", "AUTH PLAIN " + ir, "AUTH", "mechanism=PLAIN", "initial_response=" + ir)
av = "x" * (1012 - len("MAIL FROM:<a@example.org> AUTH=\r\n"))
Y("limits", "MAIL FROM:<a@example.org> AUTH=" + av, "MAIL", "reverse_path=a@example.org", "AUTH=" + av)
ov = "y" * (1012 - len("RCPT TO:<b@example.net> ORCPT=rfc822;\r\n"))
Y("limits", "RCPT TO:<b@example.net> ORCPT=rfc822;" + ov, "RCPT", "forward_path=b@example.net", "ORCPT=rfc822;" + ov)
mp = "MAIL FROM:<a@example.org> SIZE=1"
mp = mp + " XA=" + "z" * (512 - len(mp) - len(" XA=\r\n"))
I("limits", mp)
# RFC 1870: size-value is 1*20DIGIT, leading zeros included
N("size", "MAIL FROM:<a@example.org> SIZE=" + "0" * 20 + "1")
Y("size", "MAIL FROM:<a@example.org> SIZE=" + "0" * 19 + "1", "MAIL", "reverse_path=a@example.org", "SIZE=1")


Y("dsn", "MAIL FROM:<a@example.org> ENVID=+41+42", "MAIL", "reverse_path=a@example.org", "ENVID=AB")
I("dsn", "MAIL FROM:<a@example.org> ENVID=+00")
I("mailauth", "MAIL FROM:<a@example.org> AUTH=+3C+3E")
N("dsn", "RCPT TO:<b@example.net> ORCPT=rfc822(x);b@example.net")
I("dsn", "RCPT TO:<b@example.net> ENVID=x")
Y("param", "MAIL FROM:<a@example.org> SIZE=1 BODY=8BITMIME RET=HDRS ENVID=x AUTH=<> MT-PRIORITY=1 BY=1;R REQUIRETLS SMTPUTF8",
  "MAIL", "reverse_path=a@example.org", "SIZE=1", "BODY=8BITMIME", "RET=HDRS", "ENVID=x", "AUTH=<>", "MT-PRIORITY=1", "BY=1;R", "REQUIRETLS", "SMTPUTF8")
N("ehlo", "EHLO a.-b.example")
Y("ehlo", "EHLO 0-0.example", "EHLO", "domain=0-0.example")
N("etrn", "ETRN @-x.example")
N("etrn", "ETRN #a b")
Y("verbs", "NOOP \"\"", "NOOP", "arg=")
I("verbs", "VRFY \"\"")
Y("auth", "AUTH XOAUTH2 =", "AUTH", "mechanism=XOAUTH2", "initial_response=")
N("auth", "AUTH PLAIN AAAA====")
N("verbs", "HELP \"")

# ---------------------------------------------------------------- replies
def R(prefix, topic, data, *fields, kind="reply", err=None):
    case(kind, prefix, topic, data, *fields, err=err)


R("y", "basic", "250 OK\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=OK")
R("y", "basic", "220 mx.example.com ESMTP\r\n", "REPLY", "code=220", "lines=1", "enhanced=-", "text=mx.example.com ESMTP")
R("y", "basic", "354 Start mail input; end with <CRLF>.<CRLF>\r\n", "REPLY", "code=354", "lines=1", "enhanced=-", "text=Start mail input; end with <CRLF>.<CRLF>")
R("y", "basic", "421 closing\r\n", "REPLY", "code=421", "lines=1", "enhanced=-", "text=closing")
R("y", "basic", "559 x\r\n", "REPLY", "code=559", "lines=1", "enhanced=-", "text=x")
R("y", "basic", "200 x\r\n", "REPLY", "code=200", "lines=1", "enhanced=-", "text=x")
R("y", "basic", "334 \r\n", "REPLY", "code=334", "lines=1", "enhanced=-", "text=")
R("y", "basic", "334 VXNlcm5hbWU6\r\n", "REPLY", "code=334", "lines=1", "enhanced=-", "text=VXNlcm5hbWU6")
R("y", "basic", "250\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=")
R("y", "basic", "250 ok  \r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=ok  ")
R("y", "basic", "250  ok\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text= ok")
R("y", "basic", "250 a\tb\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=a\\tb")
R("y", "basic", "250 ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=~!\"#$%&'()*+,-./:;<=>?@[\\\\]^_`{|}")
R("y", "multi", "250-first\r\n250 last\r\n", "REPLY", "code=250", "lines=2", "enhanced=-", "text=first\\nlast")
R("y", "multi", "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", "REPLY", "code=250", "lines=4", "enhanced=-", "text=a\\nb\\nc\\nd")
R("y", "multi", "250-\r\n250\r\n", "REPLY", "code=250", "lines=2", "enhanced=-", "text=\\n")
R("y", "multi", "250-x\r\n250 \r\n", "REPLY", "code=250", "lines=2", "enhanced=-", "text=x\\n")
R("y", "multi", "550-5.1.1 line one\r\n550 5.1.1 line two\r\n", "REPLY", "code=550", "lines=2", "enhanced=5.1.1", "text=5.1.1 line one\\n5.1.1 line two")
R("y", "multi", "421-mx.example.com\r\n421 closing\r\n", "REPLY", "code=421", "lines=2", "enhanced=-", "text=mx.example.com\\nclosing")
R("y", "enh", "250 2.1.0 Ok\r\n", "REPLY", "code=250", "lines=1", "enhanced=2.1.0", "text=2.1.0 Ok")
R("y", "enh", "550 5.7.1 Relaying denied\r\n", "REPLY", "code=550", "lines=1", "enhanced=5.7.1", "text=5.7.1 Relaying denied")
R("y", "enh", "451 4.3.0 Try later\r\n", "REPLY", "code=451", "lines=1", "enhanced=4.3.0", "text=4.3.0 Try later")
R("y", "enh", "552 5.3.4 Message too big\r\n", "REPLY", "code=552", "lines=1", "enhanced=5.3.4", "text=5.3.4 Message too big")
R("y", "enh", "250 2.123.456 x\r\n", "REPLY", "code=250", "lines=1", "enhanced=2.123.456", "text=2.123.456 x")
R("y", "enh", "250 2.1.5  two spaces\r\n", "REPLY", "code=250", "lines=1", "enhanced=2.1.5", "text=2.1.5  two spaces")
R("y", "enh", "250 5.1.1 class differs\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=5.1.1 class differs")
R("y", "enh", "550 2.0.0 class differs\r\n", "REPLY", "code=550", "lines=1", "enhanced=-", "text=2.0.0 class differs")
R("y", "enh", "354 2.0.0 go ahead\r\n", "REPLY", "code=354", "lines=1", "enhanced=-", "text=2.0.0 go ahead")
R("y", "enh", "250 2.1000.0 x\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=2.1000.0 x")
R("y", "enh", "250 2.1.1000 x\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=2.1.1000 x")
R("y", "enh", "250 2.1.5x\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=2.1.5x")
R("y", "enh", "250 x 2.1.5 y\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=x 2.1.5 y")
R("y", "enh", "250 2.1 x\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=2.1 x")
R("y", "enh", "250 2..5 x\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=2..5 x")
R("y", "enh", "250 3.1.5 x\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=3.1.5 x")
R("y", "enh", "250-2.1.5 a\r\n250-2.1.5 b\r\n250 2.1.5 c\r\n", "REPLY", "code=250", "lines=3", "enhanced=2.1.5", "text=2.1.5 a\\n2.1.5 b\\n2.1.5 c")
R("y", "enh", "250 2.1.5\tx\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=2.1.5\\tx")
for d in ["199 x\r\n", "600 x\r\n", "260 x\r\n", "25 x\r\n", "2500 x\r\n", "abc x\r\n", "100 x\r\n",
          "099 x\r\n", "2a0 x\r\n", "250x\r\n", "250\tx\r\n", "250 ok\n", "250 ok\r", "250 ok",
          "250-a\r\n", "250-a\r\n251 b\r\n", "250-a\r\n550 b\r\n", "250 a\r\n250 b\r\n", "\r\n",
          "250-a\n250 b\r\n", "250 a\rb\r\n", "250 a\nb\r\n", "250 a\x00b\r\n", " 250 x\r\n",
          "250-a\r\n250-b\r\n", "250 a\r\n\r\n", "-250 x\r\n", "250-a\r\n 250 b\r\n"]:
    R("n", "syntax", d)
for d in ["250 2.1.5\r\n", "250-2.1.5 a\r\n250 b\r\n", "250-2.1.5 a\r\n250 2.1.6 b\r\n", "250 2.01.5 x\r\n",
          "250 caf\xc3\xa9\r\n", "250 \x7f\r\n", "250 2.1.5 x\x01\r\n", "150 x\r\n", "250 a\x80\r\n",
          "250-a\r\n250-\r\n250 c\r\n"]:
    R("i", "doubt", d)


R("y", "basic", "209 x\r\n", "REPLY", "code=209", "lines=1", "enhanced=-", "text=x")
R("y", "basic", "556 x\r\n", "REPLY", "code=556", "lines=1", "enhanced=-", "text=x")
R("n", "syntax", "290 x\r\n")
R("n", "syntax", "570 x\r\n")
R("y", "limits", "250 " + "t" * 506 + "\r\n", "REPLY", "code=250", "lines=1", "enhanced=-", "text=" + "t" * 506)
R("i", "limits", "250 " + "t" * 5000 + "\r\n")
R("y", "multi", "554-mx.example.com\r\n554 5.7.1 no\r\n", "REPLY", "code=554", "lines=2", "enhanced=-", "text=mx.example.com\\n5.7.1 no")

# greetings: RFC 5321 4.2 (Greeting), 3.1
G = lambda p, t, d, *f: R(p, t, d, *f, kind="greeting")
G("y", "greet", "220 mx.example.com ESMTP Postfix\r\n", "GREETING", "code=220", "lines=1", "domain=mx.example.com", "text=mx.example.com ESMTP Postfix")
G("y", "greet", "220 mx.example.com\r\n", "GREETING", "code=220", "lines=1", "domain=mx.example.com", "text=mx.example.com")
G("y", "greet", "220 [192.0.2.1] ready\r\n", "GREETING", "code=220", "lines=1", "domain=[192.0.2.1]", "text=[192.0.2.1] ready")
G("y", "greet", "220 [IPv6:2001:db8::1] ready\r\n", "GREETING", "code=220", "lines=1", "domain=[IPv6:2001:db8::1]", "text=[IPv6:2001:db8::1] ready")
G("y", "greet", "554 mx.example.com no SMTP service here\r\n", "GREETING", "code=554", "lines=1", "domain=mx.example.com", "text=mx.example.com no SMTP service here")
G("y", "greet", "220-mx.example.com ESMTP\r\n220-second line\r\n220 last\r\n", "GREETING", "code=220", "lines=3", "domain=mx.example.com", "text=mx.example.com ESMTP\\nsecond line\\nlast")
G("y", "greet", "220-mx.example.com\r\n220\r\n", "GREETING", "code=220", "lines=2", "domain=mx.example.com", "text=mx.example.com\\n")
G("y", "greet", "220 mx.example.com ESMTP 2.0.0 ready\r\n", "GREETING", "code=220", "lines=1", "domain=mx.example.com", "text=mx.example.com ESMTP 2.0.0 ready")
G("y", "greet", "220 MX.Example.COM Service ready\r\n", "GREETING", "code=220", "lines=1", "domain=MX.Example.COM", "text=MX.Example.COM Service ready")
G("y", "greet", "220 smtp.gmail.com ESMTP a1-20020a05600c000100b003 - gsmtp\r\n", "GREETING", "code=220", "lines=1", "domain=smtp.gmail.com", "text=smtp.gmail.com ESMTP a1-20020a05600c000100b003 - gsmtp")
for d in ["250 mx.example.com\r\n", "550 mx.example.com\r\n", "220-mx.example.com\r\n221 x\r\n", "220 mx\n",
          "220-mx.example.com\r\n", "220 mx.example.com\r\n250 x\r\n", "220mx.example.com\r\n", "354 x\r\n"]:
    G("n", "greet", d)
for d in ["220\r\n", "220 \r\n", "220 ****\r\n", "220 Welcome to our server\r\n", "421 mx.example.com busy\r\n",
          "220 2.0.0 mx.example.com ready\r\n", "220 -bad-.example x\r\n", "554\r\n"]:
    G("i", "greet", d)

# EHLO replies: RFC 5321 4.1.1.1 ehlo-ok-rsp
E = lambda p, t, d, *f: R(p, t, d, *f, kind="ehlo")
E("y", "ehlo", "250 mx.example.com\r\n", "EHLO_REPLY", "code=250", "lines=1", "domain=mx.example.com", "greet=")
E("y", "ehlo", "250 mx.example.com Hello there\r\n", "EHLO_REPLY", "code=250", "lines=1", "domain=mx.example.com", "greet=Hello there")
E("y", "ehlo", "250-mx.example.com\r\n250 PIPELINING\r\n", "EHLO_REPLY", "code=250", "lines=2", "domain=mx.example.com", "greet=", "cap=PIPELINING")
E("y", "postfix", "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
  "EHLO_REPLY", "code=250", "lines=11", "domain=mx.example.com", "greet=", "cap=PIPELINING", "cap=SIZE 10240000", "cap=VRFY", "cap=ETRN", "cap=STARTTLS", "cap=ENHANCEDSTATUSCODES", "cap=8BITMIME", "cap=DSN", "cap=SMTPUTF8", "cap=CHUNKING")
E("y", "exim", "250-mail.example.com Hello client.example.org [203.0.113.5]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250-CHUNKING\r\n250-PRDR\r\n250 HELP\r\n",
  "EHLO_REPLY", "code=250", "lines=8", "domain=mail.example.com", "greet=Hello client.example.org [203.0.113.5]", "cap=SIZE 52428800", "cap=8BITMIME", "cap=PIPELINING", "cap=AUTH PLAIN LOGIN", "cap=CHUNKING", "cap=PRDR", "cap=HELP")
E("y", "gmail", "250-smtp.gmail.com at your service, [203.0.113.5]\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n",
  "EHLO_REPLY", "code=250", "lines=8", "domain=smtp.gmail.com", "greet=at your service, [203.0.113.5]", "cap=SIZE 35882577", "cap=8BITMIME", "cap=STARTTLS", "cap=ENHANCEDSTATUSCODES", "cap=PIPELINING", "cap=CHUNKING", "cap=SMTPUTF8")
E("y", "ehlo", "250-mx.example.com\r\n250-size 1000\r\n250 pipelining\r\n", "EHLO_REPLY", "code=250", "lines=3", "domain=mx.example.com", "greet=", "cap=SIZE 1000", "cap=PIPELINING")
E("y", "ehlo", "250-mx.example.com\r\n250-AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n250 SIZE\r\n", "EHLO_REPLY", "code=250", "lines=3", "domain=mx.example.com", "greet=", "cap=AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2", "cap=SIZE")
E("y", "ehlo", "250-mx.example.com\r\n250 LIMITS MAILMAX=1000 RCPTMAX=50 RCPTDOMAINMAX=10\r\n", "EHLO_REPLY", "code=250", "lines=2", "domain=mx.example.com", "greet=", "cap=LIMITS MAILMAX=1000 RCPTMAX=50 RCPTDOMAINMAX=10")
E("y", "ehlo", "250-mx.example.com\r\n250-DELIVERBY 300\r\n250-MT-PRIORITY MIXER\r\n250-FUTURERELEASE 604800 2030-01-01T00:00:00Z\r\n250 REQUIRETLS\r\n", "EHLO_REPLY", "code=250", "lines=5", "domain=mx.example.com", "greet=", "cap=DELIVERBY 300", "cap=MT-PRIORITY MIXER", "cap=FUTURERELEASE 604800 2030-01-01T00:00:00Z", "cap=REQUIRETLS")
E("y", "ehlo", "250-[192.0.2.1]\r\n250 8BITMIME\r\n", "EHLO_REPLY", "code=250", "lines=2", "domain=[192.0.2.1]", "greet=", "cap=8BITMIME")
E("y", "ehlo", "250-mx.example.com\r\n250-X-EXPS GSSAPI NTLM\r\n250-XEXCH50\r\n250 BINARYMIME\r\n", "EHLO_REPLY", "code=250", "lines=4", "domain=mx.example.com", "greet=", "cap=X-EXPS GSSAPI NTLM", "cap=XEXCH50", "cap=BINARYMIME")
E("y", "ehlo", "250-mx.example.com Hi\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n", "EHLO_REPLY", "code=250", "lines=3", "domain=mx.example.com", "greet=Hi", "cap=ENHANCEDSTATUSCODES", "cap=HELP")
E("y", "ehlo", "250-mx.example.com\r\n250 9X\r\n", "EHLO_REPLY", "code=250", "lines=2", "domain=mx.example.com", "greet=", "cap=9X")
E("y", "ehlo", "250-mx.example.com\r\n250 XPARAM a=b;c,d!~\r\n", "EHLO_REPLY", "code=250", "lines=2", "domain=mx.example.com", "greet=", "cap=XPARAM a=b;c,d!~")
for d in ["550 not here\r\n", "250-mx.example.com\r\n251 SIZE\r\n",
          "250-mx.example.com\r\n250--FOO\r\n250 SIZE\r\n", "250-mx.example.com\r\n250 SIZE\n", "250-mx.example.com\r\n",
          "250 mx.example.com\r\n250 SIZE\r\n", "250-mx.example.com\r\n250 SI\x00ZE\r\n", "250-mx.example.com\r\n250 SIZE 10\x0b\r\n",
          "220 mx.example.com\r\n", "250-mx.example.com\r\n250 SIZE\r\nX"]:
    E("n", "ehlo", d)
for d in ["250-mx.example.com\r\n250-\r\n250 SIZE\r\n", "250-mx.example.com\r\n250 \r\n",
          "250-mx.example.com\r\n250-AUTH=PLAIN LOGIN\r\n250 AUTH PLAIN LOGIN\r\n",
          "250-mx.example.com\r\n250-PIPE_CONNECT\r\n250 HELP\r\n", "250-mx.example.com\r\n250 SIZE  100\r\n",
          "250-mx.example.com\r\n250 PIPELINING \r\n", "250\r\n", "250-mx.example.com caf\xc3\xa9\r\n250 SIZE\r\n",
          "250-mx.example.com\r\n250 X caf\xc3\xa9\r\n", "250 Welcome!\r\n", "250-mx.example.com\r\n250 SIZE\t100\r\n"]:
    E("i", "ehlo", d)

# ---------------------------------------------------------------- data
def D(prefix, topic, data, *fields):
    case("data", prefix, topic, data, *fields)


def DY(topic, data, content, consumed=None):
    data = b(data)
    content = b(content)
    if consumed is None:
        consumed = len(data)
    D("y", topic, data, "DATA", "consumed=%d" % consumed, "content=" + esc(content))


SMUG = b"MAIL FROM:<admin@example.net>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSubject: forged\r\n\r\nsmuggled\r\n"
HEAD = b"Subject: test\r\n\r\nhello\r\n"
DY("basic", HEAD + b".\r\n", HEAD)
DY("basic", b".\r\n", b"")
DY("basic", b"\r\n.\r\n", b"\r\n")
DY("basic", b"a\r\n.\r\n", b"a\r\n")
DY("basic", b"a\r\nb\r\n\r\n\r\n.\r\n", b"a\r\nb\r\n\r\n\r\n")
DY("basic", b"Subject: caf\xc3\xa9\r\n\r\nr\xc3\xa9sum\xc3\xa9\r\n.\r\n", b"Subject: caf\xc3\xa9\r\n\r\nr\xc3\xa9sum\xc3\xa9\r\n")
DY("basic", b"\xff\xfe8bit\x80\r\n.\r\n", b"\xff\xfe8bit\x80\r\n")
DY("basic", b"tab\there\r\n.\r\n", b"tab\there\r\n")
DY("basic", b" .\r\n.\r\n", b" .\r\n")
DY("basic", b"a.\r\n.\r\n", b"a.\r\n")
DY("basic", b"x\r\n. \r\n.\r\n", b"x\r\n \r\n")
# RFC 5321 4.5.2 transparency: a leading period is removed
DY("stuff", b"..\r\n.\r\n", b".\r\n")
DY("stuff", b"...\r\n.\r\n", b"..\r\n")
DY("stuff", b"..foo\r\n.\r\n", b".foo\r\n")
DY("stuff", b"a\r\n..\r\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n")
DY("stuff", b"a\r\n..\r\n.\r\n", b"a\r\n.\r\n")
DY("stuff", b"a\r\n...\r\n..x\r\n.\r\n", b"a\r\n..\r\n.x\r\n")
DY("stuff", b".foo\r\n.\r\n", b"foo\r\n")
DY("stuff", b"a\r\n.b\r\n.\r\n", b"a\r\nb\r\n")
DY("stuff", b"..\r\n..\r\n..\r\n.\r\n", b".\r\n.\r\n.\r\n")
DY("stuff", b"a\r\n.\t\r\n.\r\n", b"a\r\n\t\r\n")
# bytes after the terminator are not part of the message
DY("after", HEAD + b".\r\nQUIT\r\n", HEAD, len(HEAD) + 3)
DY("after", b".\r\n.\r\n", b"", 3)
DY("after", b"a\r\n.\r\n.\r\n", b"a\r\n", 6)
DY("after", b"a\r\n.\r\nMAIL FROM:<x@example.org>\r\nRCPT TO:<y@example.org>\r\nDATA\r\n", b"a\r\n", 6)
DY("after", b"a\r\n.\r\n\n", b"a\r\n", 6)
DY("after", b"a\r\n.\r\n\r", b"a\r\n", 6)
DY("after", b"a\r\n.\r\n\x00\xff", b"a\r\n", 6)
# incomplete: no terminator
for d in [b"", b"a", b"a\r\n", b"a\r\n.", b"a\r\n.\r", b".", b".\r", b"a\r\n..\r\n", b"a\r\n.x\r\n",
          HEAD + b". \r\n", HEAD + b".\r\r\n"[:-2]]:
    D("n", "incomplete", d)
# smuggling: no bare CR / bare LF variant ends the message (RFC 5321 2.3.8, 4.1.1.4)
variants = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n", b"\n.\r", b"\r\n.\r",
            b"\r.\n", b"\r\n.\r\r\n", b"\n\n.\n\n", b"\r\r.\r\r", b"\r\n.\n\r\n", b"\n.\r\r\n"]
for v in variants:
    # followed by a smuggled transaction and a genuine terminator
    whole = HEAD[:-2] + v + SMUG + b".\r\n"
    assert whole.count(b"\r\n.\r\n") == 1 and whole.endswith(b"\r\n.\r\n"), v
    D("n", "smuggle", whole, "consumed=%d" % len(whole))
    # with nothing after it: the message has not ended
    D("n", "smuggle", HEAD[:-2] + v)
# a genuine terminator directly preceded by a bare line ending: consumed stops there
for pre in [b"\r", b"\n", b"\n\r"]:
    whole = b"hello" + pre + b"\r\n.\r\n" + SMUG
    D("n", "smuggle", whole, "consumed=%d" % (len(b"hello" + pre) + 5))
for d in [b"a\nb\r\n.\r\n", b"a\rb\r\n.\r\n", b"\n.\r\n", b"\r.\r\n"]:
    idx = d.find(b"\r\n.\r\n")
    if idx == -1 or not d.endswith(b"\r\n.\r\n"):
        D("n", "bare", d)
    else:
        D("n", "bare", d, "consumed=%d" % len(d))

for v in [b".\n", b".\r", b".\n\r"]:
    whole = v + SMUG + b".\r\n"
    D("n", "smuggle", whole, "consumed=%d" % len(whole))
DY("split", b"x" * 6 + b"\r\n.\r\n", b"x" * 6 + b"\r\n")
DY("split", b"x" * 5 + b"\r\n..\r\n.\r\n", b"x" * 5 + b"\r\n.\r\n")
# line length: RFC 5321 4.5.3.1.6 (1000 octets incl. CRLF is a minimum)
DY("limits", b"x" * 998 + b"\r\n.\r\n", b"x" * 998 + b"\r\n")
DY("limits", b"." + b"x" * 997 + b"\r\n.\r\n", b"x" * 997 + b"\r\n")
D("i", "limits", b"x" * 999 + b"\r\n.\r\n")
D("i", "limits", b"x" * 100000 + b"\r\n.\r\n")
# NUL and other controls in content: RFC 5321 does not give a MUST
D("i", "ctl", b"a\x00b\r\n.\r\n")
D("i", "ctl", b"a\r\n.\x00\r\n.\r\n")
D("i", "ctl", HEAD + b"\x00.\r\n" + SMUG + b".\r\n")


def main():
    kinds = sorted({k for k, _, _, _ in CASES})
    for k in kinds:
        d = os.path.join(HERE, k)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        lines = []
        for kind, name, data, exp in CASES:
            if kind != k:
                continue
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            if exp is not None:
                lines.append(name + "\t" + exp)
        with open(os.path.join(d, "expected.tsv"), "w", encoding="utf-8", errors="surrogateescape", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
    for k in kinds:
        c = {p: sum(1 for kk, n, _, _ in CASES if kk == k and n[0] == p) for p in "yni"}
        print(k, c)


main()
