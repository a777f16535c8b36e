#!/usr/bin/env python3
"""Records real SMTP traffic on loopback for corpus/captured/.

Runs real clients (swaks, curl, Python smtplib, aiosmtplib) against real
servers (Postfix smtpd, Postfix smtp-sink, aiosmtpd; Exim or OpenSMTPD when
one is listening on the port given by --exim / --opensmtpd) through a
recording TCP proxy, and writes, per server:

  commands/<client>-<server>-<case>.txt   every command line the client sent
                                          (AUTH continuations and message
                                          content left out), CRLF kept
  replies/<server>-<client>-<case>.txt    every reply the server sent, as
                                          one byte stream (greeting first)
  ehlo/<server>.txt                       the server's first EHLO reply

Run it through scripts/capture-traffic.sh (which starts the servers).
Names that identify the capturing machine never reach the files: the
servers are configured with documentation names and the clients are told
which EHLO name to use.
"""

import argparse
import asyncio
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import threading

HELO = "client.example.org"
SENDER = "john.doe@example.com"
RCPTS = ["alice@example.org", "bob.smith@example.net"]
BODY = (
    "From: John Doe <john.doe@example.com>\r\n"
    "To: Alice <alice@example.org>\r\n"
    "Subject: captured traffic\r\n"
    "\r\n"
    "Hello Alice,\r\n"
    ".a line that starts with a dot\r\n"
    "Bye.\r\n"
)


class Recorder:
    """A one-connection TCP proxy that records both directions in order."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.events = []  # (direction 'C' or 'S', bytes)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _pump(self, src, dst, tag):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                self.events.append((tag, data))
            try:
                dst.sendall(data)
            except OSError:
                return

    def _run(self):
        self.sock.settimeout(60)
        client, _ = self.sock.accept()
        server = socket.create_connection(("127.0.0.1", self.upstream_port))
        a = threading.Thread(target=self._pump, args=(client, server, "C"))
        b = threading.Thread(target=self._pump, args=(server, client, "S"))
        a.start()
        b.start()
        a.join(30)
        b.join(30)
        client.close()
        server.close()
        self.sock.close()

    def wait(self):
        self.thread.join(60)
        return self.events


def split_lines(data):
    out, start = [], 0
    while True:
        i = data.find(b"\n", start)
        if i < 0:
            return out, data[start:]
        out.append(data[start : i + 1])
        start = i + 1


def classify(events):
    """Returns (command lines, reply stream) from the recorded events."""
    commands, replies = [], b""
    last_code = b""
    state = "cmd"  # cmd | data | bdat
    bdat_left = 0
    pending = b""
    for tag, data in events:
        if tag == "S":
            replies += data
            lines, _ = split_lines(data)
            if lines:
                last_code = lines[-1][:3]
            continue
        pending += data
        while pending:
            if state == "bdat":
                take = min(bdat_left, len(pending))
                pending, bdat_left = pending[take:], bdat_left - take
                if bdat_left == 0:
                    state = "cmd"
                continue
            i = pending.find(b"\n")
            if i < 0:
                break
            line, pending = pending[: i + 1], pending[i + 1 :]
            if state == "data":
                if line in (b".\r\n", b".\n"):
                    state = "cmd"
                continue
            if last_code == b"334":
                last_code = b""
                continue  # an AUTH continuation, not a command
            commands.append(line)
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"DATA":
                state = "data"
            elif verb == b"BDAT":
                parts = line.split()
                bdat_left = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                state = "bdat" if bdat_left else "cmd"
    return commands, replies


def first_ehlo_reply(replies):
    """The first multi-line 250 reply after the greeting."""
    lines, _ = split_lines(replies)
    out, started = [], False
    for l in lines[1:]:
        if l.startswith(b"250-"):
            started = True
            out.append(l)
        elif started and l.startswith(b"250 "):
            out.append(l)
            return b"".join(out)
        elif started:
            return None
    return None


# --- clients -------------------------------------------------------------

def c_swaks(port, mode):
    args = ["swaks", "-s", "127.0.0.1", "-p", str(port), "--helo", HELO,
            "-f", SENDER, "-t", ",".join(RCPTS), "--body", "Hello from swaks",
            "--h-Subject", "captured", "--suppress-data", "-n"]
    if mode == "pipeline":
        args += ["--pipeline"]
    elif mode == "auth":
        args += ["--auth", "PLAIN", "--auth-user", "john.doe", "--auth-password", "correct horse"]
    elif mode == "helo":
        args += ["--protocol", "SMTP"]
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def c_curl(port, mode):
    body = "/tmp/capture-body.txt"
    with open(body, "w", newline="") as f:
        f.write(BODY)
    args = ["curl", "-s", f"smtp://127.0.0.1:{port}/{HELO}", "--mail-from", SENDER]
    for r in RCPTS:
        args += ["--mail-rcpt", r]
    args += ["-T", body]
    if mode == "auth":
        args += ["--user", "john.doe:correct horse"]
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def c_smtplib(port, mode):
    with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO, timeout=30) as s:
        s.ehlo()
        if mode == "auth" and s.has_extn("auth"):
            try:
                s.login("john.doe", "correct horse")
            except smtplib.SMTPException:
                pass
        opts = []
        if s.has_extn("size"):
            opts.append(f"SIZE={len(BODY)}")
        if s.has_extn("8bitmime"):
            opts.append("BODY=8BITMIME")
        try:
            s.sendmail(SENDER, RCPTS, BODY, mail_options=opts)
        except smtplib.SMTPException:
            pass
        s.noop()
        s.rset()


def c_aiosmtplib(port, mode):
    import aiosmtplib

    async def run():
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname=HELO,
                               start_tls=False, use_tls=False, timeout=30)
        await smtp.connect()
        await smtp.ehlo()
        if mode == "auth" and smtp.supports_extension("auth"):
            try:
                await smtp.login("john.doe", "correct horse")
            except aiosmtplib.SMTPException:
                pass
        try:
            await smtp.sendmail(SENDER, RCPTS, BODY.encode())
        except aiosmtplib.SMTPException:
            pass
        await smtp.quit()

    asyncio.run(run())


CLIENTS = {
    "swaks": (c_swaks, ["plain", "pipeline", "auth", "helo"]),
    "curl": (c_curl, ["plain", "auth"]),
    "smtplib": (c_smtplib, ["plain", "auth"]),
    "aiosmtplib": (c_aiosmtplib, ["plain", "auth"]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--server", action="append", default=[],
                    help="NAME=PORT of a listening server (repeatable)")
    a = ap.parse_args()
    for sub in ("commands", "replies", "ehlo"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    for spec in a.server:
        name, port = spec.split("=")
        port = int(port)
        for client, (fn, modes) in CLIENTS.items():
            if client in ("swaks", "curl") and not shutil.which(client):
                continue
            if client == "aiosmtplib":
                try:
                    import aiosmtplib  # noqa: F401
                except ImportError:
                    continue
            for mode in modes:
                rec = Recorder(port)
                try:
                    fn(rec.port, mode)
                except Exception as e:  # a client that fails still leaves its bytes
                    print(f"{client}/{mode} against {name}: {e}", file=sys.stderr)
                events = rec.wait()
                cmds, replies = classify(events)
                if not cmds:
                    continue
                tag = f"{client}-{name}-{mode}"
                with open(os.path.join(a.out, "commands", tag + ".txt"), "wb") as f:
                    f.write(b"".join(cmds))
                with open(os.path.join(a.out, "replies", f"{name}-{client}-{mode}.txt"), "wb") as f:
                    f.write(replies)
                ehlo = first_ehlo_reply(replies)
                path = os.path.join(a.out, "ehlo", name + ".txt")
                if ehlo and not os.path.exists(path):
                    with open(path, "wb") as f:
                        f.write(ehlo)
                print(f"captured {tag}: {len(cmds)} commands, {len(replies)} reply octets")


if __name__ == "__main__":
    main()
