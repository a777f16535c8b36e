//! `client_session`: the client machine against arbitrary server bytes: an
//! `arbitrary` script of inputs (plausible replies from a dictionary —
//! greetings, EHLO replies with and without STARTTLS/AUTH/PIPELINING/
//! CHUNKING/SIZE, 220 to STARTTLS with and without bytes behind it, AUTH
//! and transaction replies, malformed replies — mixed with raw bytes) cut
//! at fuzzer-chosen points, in every [`PortMode`] and TLS policy, with or
//! without credentials; the TLS handshake completes when the client asks,
//! at once or later (after more bytes were fed). Invariants:
//!
//! - no panic; events are well ordered (nothing after `Closed`, nothing
//!   transmitted once the output after `Closed` was taken);
//! - where the policy requires TLS (and TLS is not implicit), nothing but
//!   EHLO/LHLO, STARTTLS and QUIT goes out before TLS is established, and
//!   nothing holding the secret, its base64, the base64 of the PLAIN or
//!   XOAUTH2 message, MAIL, RCPT or AUTH; in every policy, no AUTH before
//!   TLS unless `plaintext_auth_without_tls`;
//! - the `StartTls` event comes only when the 220 to STARTTLS was the last
//!   byte received (bytes behind it end the session as
//!   `ResponseInjection`); between `StartTls` and `tls_established()`,
//!   any byte received ends the session as `ResponseInjection`, with no
//!   other event and nothing more sent; `tls_established()` succeeds
//!   exactly when `wants_tls()`, with no output pending;
//! - a streamed body (`start_mail`, pieces of a fuzzer-chosen size):
//!   `send_body` takes at most `body_room()` octets, takes some when there
//!   is room, and never fails while the body is wanted except for a piece
//!   the message cannot carry.

use arbitrary::{Arbitrary, Unstructured};
use smtp_sansio::PortMode;
use smtp_sansio::client::{
    BodyError, BodyInfo, Client, ClientConfig, ClientCredentials, ClientError, ClientEvent,
    Envelope, SendError, StartError, TlsPolicy,
};
use smtp_sansio::sasl::{self, Mechanism};

/// Plausible server output, picked by index.
const DICT: &[&[u8]] = &[
    // Greetings.
    b"220 mx.example.net ESMTP\r\n",
    b"220-mx.example.net hello\r\n220 ready\r\n",
    b"220\r\n",
    b"554 5.7.1 no service\r\n",
    b"421 4.3.2 busy\r\n",
    // EHLO replies.
    b"250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-CHUNKING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n",
    b"250-mx.example.net\r\n250 STARTTLS\r\n",
    b"250-mx.example.net\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n",
    b"250-mx.example.net\r\n250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n250 PIPELINING\r\n",
    b"250-mx.example.net\r\n250-AUTH=LOGIN\r\n250 CHUNKING\r\n",
    b"250-mx.example.net\r\n250-AUTH LOGIN\r\n250-CHUNKING\r\n250 PIPELINING\r\n",
    b"250-mx.example.net\r\n250-SIZE 10\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
    b"250-mx.example.net\r\n250-STARTTLS\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
    b"250-mx.example.net\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n",
    b"250 mx.example.net\r\n",
    b"250-mx.example.net\r\n",
    b"250-STARTTLS\r\n",
    b"250-AUTH PLAIN\r\n",
    b"250-PIPELINING\r\n",
    b"250-CHUNKING\r\n",
    b"250-SIZE 100\r\n",
    b"250 8BITMIME\r\n",
    b"500 5.5.1 what\r\n",
    b"502 5.5.2 no EHLO\r\n",
    // STARTTLS replies, with and without bytes behind the 220.
    b"220 2.0.0 go ahead\r\n",
    b"220 2.0.0 go ahead\r\n250-mx.example.net\r\n250 AUTH PLAIN\r\n",
    b"220 ready\r\n235 2.7.0 ok\r\n",
    b"220 ready\r\n250 2.0.0 ok\r\n354 go\r\n",
    b"454 4.7.0 TLS not available\r\n",
    // AUTH.
    b"235 2.7.0 ok\r\n",
    b"535 5.7.8 bad credentials\r\n",
    b"334 VXNlcm5hbWU6\r\n",
    b"334 UGFzc3dvcmQ6\r\n",
    b"334 \r\n",
    b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n",
    b"501 5.5.2 cancelled\r\n",
    // Transaction.
    b"250 2.1.0 ok\r\n",
    b"250 2.1.5 ok\r\n",
    b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n",
    b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 queued\r\n",
    b"354 go\r\n",
    b"550 5.1.1 no such user\r\n",
    b"451 4.3.0 later\r\n",
    b"554 5.6.0 rejected\r\n",
    b"250 2.0.0 queued\r\n",
    b"452 4.5.3 too many\r\n",
    b"421 4.3.2 closing\r\n",
    b"221 2.0.0 bye\r\n",
    // Malformed.
    b"25O bad\r\n",
    b"250-mx\r\n251 mismatch\r\n",
    b"2\r\n",
    b"999 x\r\n",
    b"250 ok\n",
    b"220 ok",
    b"\x16\x03\x01\x00\x2a",
    b"\r\n",
    b"\n",
    b"\r",
    b"\0",
];

#[derive(Debug, Arbitrary)]
enum Piece {
    Dict(u8),
    Raw(Vec<u8>),
    /// A long reply line (`n * 64` octets) to hit the reply line limit.
    Long(u8),
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// Server bytes: each piece one read, or the pieces joined and cut at
    /// `splits` (each read fed, then drained); the TLS
    /// handshake completes at once when the client asks if `eager_tls`.
    Input {
        pieces: Vec<Piece>,
        splits: Vec<u8>,
        eager_tls: bool,
        hold_output: bool,
    },
    /// The TLS handshake completes (late).
    Tls,
    Transmit,
    Eof,
    Timeout,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum App {
    /// Send message `n` of [`messages`].
    Send(u8),
    Quit,
    Proceed,
    Abort,
    /// Stream message `n` in pieces of `1 + piece` octets.
    Stream(u8, u8),
}

#[derive(Debug, Arbitrary)]
struct Creds {
    user: u8,
    /// Mapped to alphanumerics after a fixed `Pw-` prefix, so that the
    /// secret never appears by chance in other output.
    secret: Vec<u8>,
    authzid: bool,
}

#[derive(Debug, Arbitrary)]
struct Script {
    mode: u8,
    policy: u8,
    flags: u8,
    creds: Option<Creds>,
    mechanisms: u8,
    app: Vec<App>,
    ops: Vec<Op>,
}

/// The messages the application may send (envelope, body).
fn messages(n: u8) -> (Envelope, Vec<u8>) {
    match n % 5 {
        0 => (
            Envelope::new("alice@example.org", ["bob@example.net"]),
            b"Subject: hi\r\n\r\nhello\r\n".to_vec(),
        ),
        1 => (
            Envelope::new("", ["bob@example.net", "carol@example.net"]),
            b".\r\n..dot\nbare\rcr".to_vec(),
        ),
        2 => (
            Envelope::new("alice@example.org", ["Postmaster"]),
            Vec::new(),
        ),
        3 => (
            Envelope::new("alice@example.org", ["bob@example.net"]),
            b"caf\xc3\xa9\r\n".to_vec(),
        ),
        _ => (
            Envelope::new("alice@example.org", ["bob@example.net"]),
            vec![b'a'; 300],
        ),
    }
}

/// What must never leave the client before TLS where TLS is required.
struct Secrets {
    needles: Vec<Vec<u8>>,
}

impl Secrets {
    fn new(c: Option<&ClientCredentials>) -> Secrets {
        let mut needles = Vec::new();
        if let Some(c) = c {
            let secret = c.secret.expose().as_str();
            let authzid = c.authzid.as_deref().unwrap_or("");
            needles.push(secret.as_bytes().to_vec());
            needles.push(sasl::encode_base64(secret.as_bytes()).into_bytes());
            let plain = sasl::plain_message(authzid, &c.user, secret);
            needles.push(sasl::encode_base64(plain.expose()).into_bytes());
            let xo = sasl::xoauth2_message(&c.user, secret);
            needles.push(sasl::encode_base64(xo.expose()).into_bytes());
            let ob = sasl::oauthbearer_message(&c.user, secret);
            needles.push(sasl::encode_base64(ob.expose()).into_bytes());
        }
        Secrets { needles }
    }

    fn leaked(&self, out: &[u8]) -> Option<String> {
        self.needles
            .iter()
            .find(|n| !n.is_empty() && out.windows(n.len()).any(|w| w == n.as_slice()))
            .map(|n| String::from_utf8_lossy(n).into_owned())
    }
}

fn config(script: &Script) -> ClientConfig {
    let mode = [
        PortMode::Relay,
        PortMode::Submission,
        PortMode::ImplicitTls,
        PortMode::Lmtp,
    ][usize::from(script.mode % 4)];
    let mut cfg = ClientConfig::new(mode, "client.example.org");
    // 3: the mode's default. Opportunistic outside relay is refused: the
    // default stays then.
    let policy = [
        TlsPolicy::Required,
        TlsPolicy::Opportunistic,
        TlsPolicy::None,
    ]
    .get(usize::from(script.policy % 4))
    .copied();
    if let Some(Ok(c)) = policy.map(|p| cfg.clone().with_tls_policy(p)) {
        cfg = c;
    }
    let f = script.flags;
    cfg.pipelining = f & 1 != 0;
    cfg.chunking = f & 2 != 0;
    cfg.plaintext_auth_without_tls = f & 4 != 0;
    if let Some(c) = &script.creds {
        let user = ["alice", "bob@example.org", "u", "\u{e9}l\u{e8}ve"][usize::from(c.user % 4)];
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut secret = String::from("Pw-");
        secret.extend(
            c.secret
                .iter()
                .take(64)
                .map(|b| char::from(ALNUM[usize::from(*b) % ALNUM.len()])),
        );
        let mut creds = ClientCredentials::new(user, secret);
        if c.authzid {
            creds.authzid = Some("admin".into());
        }
        cfg = cfg.with_credentials(creds);
    }
    let all = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ];
    let m = script.mechanisms;
    if m & 0x80 != 0 {
        // A rotated preference list of 1-4 mechanisms.
        let start = usize::from(m & 3);
        let len = usize::from((m >> 2) & 3) + 1;
        cfg.mechanisms = (0..len).map(|i| all[(start + i) % 4]).collect();
    }
    cfg
}

struct Track {
    /// TLS must come before anything but the opening commands.
    tls_required: bool,
    plaintext_auth: bool,
    secrets: Secrets,
    /// Everything transmitted before TLS.
    before_tls: Vec<u8>,
    /// Every byte fed so far (to check where the STARTTLS 220 ended).
    fed: Vec<u8>,
    /// The `StartTls` event came and `tls_established()` was not called.
    awaiting_tls: bool,
    /// Bytes were fed while awaiting TLS: the session must end as
    /// `ResponseInjection`.
    injected: bool,
    saw_injection: bool,
    closed: bool,
    /// Output was taken after `Closed`, or after `ResponseInjection`.
    silent: bool,
    app: Vec<App>,
    app_at: usize,
    /// A streamed body: the body, how much was handed, the piece size.
    stream: Option<(Vec<u8>, usize, usize)>,
}

impl Track {
    fn next_app(&mut self) -> App {
        if self.app.is_empty() {
            return App::Quit;
        }
        let a = self.app[self.app_at % self.app.len()];
        self.app_at += 1;
        a
    }

    fn transmit(&mut self, c: &mut Client) {
        let mut out = Vec::new();
        c.transmit(&mut out);
        if self.silent {
            assert!(
                out.is_empty(),
                "output after Closed or ResponseInjection: {:?}",
                String::from_utf8_lossy(&out)
            );
        }
        if !c.is_tls() {
            self.before_tls.extend_from_slice(&out);
            self.check_before_tls();
        }
        if self.closed || self.saw_injection {
            self.silent = true;
        }
    }

    fn check_before_tls(&self) {
        if !self.plaintext_auth {
            for line in self.before_tls.split(|&b| b == b'\n') {
                assert!(
                    !line.starts_with(b"AUTH"),
                    "plaintext AUTH without TLS: {:?}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        if !self.tls_required {
            return;
        }
        for line in self.before_tls.split(|&b| b == b'\n') {
            let ok = line.is_empty()
                || line.starts_with(b"EHLO ")
                || line.starts_with(b"LHLO ")
                || line == b"STARTTLS\r"
                || line == b"QUIT\r";
            assert!(
                ok,
                "sent before TLS where TLS is required: {:?}",
                String::from_utf8_lossy(line)
            );
        }
        if let Some(s) = self.secrets.leaked(&self.before_tls) {
            panic!("credential {s:?} sent before TLS");
        }
    }
}

/// The body.
pub fn client_session(data: &[u8]) {
    let Ok(script) = Script::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    if std::env::var_os("SMTP_FUZZ_DEBUG").is_some() {
        eprintln!("{script:#?}");
    }
    let cfg = config(&script);
    let Ok(mut c) = Client::new(cfg.clone()) else {
        return;
    };
    let mut t = Track {
        tls_required: cfg.tls == TlsPolicy::Required && !cfg.mode.implicit_tls(),
        plaintext_auth: cfg.plaintext_auth_without_tls,
        secrets: Secrets::new(cfg.credentials.as_ref()),
        before_tls: Vec::new(),
        fed: Vec::new(),
        awaiting_tls: false,
        injected: false,
        saw_injection: false,
        closed: false,
        silent: false,
        app: script.app.iter().take(32).copied().collect(),
        app_at: 0,
        stream: None,
    };
    assert_eq!(c.is_tls(), cfg.mode.implicit_tls());
    drain(&mut c, &mut t);
    t.transmit(&mut c);
    for op in script.ops.iter().take(64) {
        match op {
            Op::Input {
                pieces,
                splits,
                eager_tls,
                hold_output,
            } => {
                // Without splits, each piece is one read (replies arrive
                // one by one, as from a server that waits for commands);
                // otherwise the pieces are joined and cut at `splits`.
                let mut chunks: Vec<Vec<u8>> = pieces.iter().take(16).map(piece).collect();
                if !splits.is_empty() {
                    let bytes = chunks.concat();
                    chunks.clear();
                    let mut rest = &bytes[..];
                    let mut cuts = splits.iter().take(8);
                    while !rest.is_empty() {
                        let n = cuts
                            .next()
                            .map_or(rest.len(), |&n| usize::from(n).min(rest.len()));
                        let (part, tail) = rest.split_at(n);
                        chunks.push(part.to_vec());
                        rest = tail;
                    }
                }
                for part in &chunks {
                    feed(&mut c, &mut t, part);
                    drain(&mut c, &mut t);
                    if !hold_output {
                        t.transmit(&mut c);
                    }
                    if *eager_tls && c.wants_tls() {
                        establish(&mut c, &mut t);
                    }
                }
            }
            Op::Tls => establish(&mut c, &mut t),
            Op::Transmit => t.transmit(&mut c),
            Op::Eof => {
                c.receive_eof();
                drain(&mut c, &mut t);
                assert!(c.is_closed() && t.closed, "EOF did not close");
            }
            Op::Timeout => {
                c.handle_timeout();
                drain(&mut c, &mut t);
                assert!(c.is_closed() && t.closed, "timeout did not close");
            }
        }
        if t.closed {
            assert!(c.is_closed());
        }
    }
    drain(&mut c, &mut t);
    t.transmit(&mut c);
    if t.injected {
        assert!(
            t.saw_injection && c.is_closed(),
            "bytes received before tls_established() did not end the session"
        );
    }
}

fn piece(p: &Piece) -> Vec<u8> {
    match p {
        Piece::Dict(i) => DICT[usize::from(*i) % DICT.len()].to_vec(),
        Piece::Raw(r) => r.iter().take(128).copied().collect(),
        Piece::Long(n) => {
            let mut v = b"250-".to_vec();
            v.extend(std::iter::repeat_n(b'a', usize::from(*n) * 64));
            v.extend_from_slice(b"\r\n");
            v
        }
    }
}

fn feed(c: &mut Client, t: &mut Track, part: &[u8]) {
    if part.is_empty() {
        c.receive(part);
        return;
    }
    t.fed.extend_from_slice(part);
    if t.awaiting_tls && !t.closed {
        t.injected = true;
    }
    c.receive(part);
}

/// The TLS handshake is done (if the client asked for it).
fn establish(c: &mut Client, t: &mut Track) {
    let wanted = c.wants_tls();
    assert_eq!(wanted, t.awaiting_tls && !t.injected && !t.closed);
    if wanted {
        assert!(!c.has_output(), "output pending when the handshake starts");
    }
    let ok = c.tls_established();
    assert_eq!(ok, wanted, "tls_established out of turn");
    if ok {
        t.awaiting_tls = false;
        assert!(c.is_tls());
        assert!(c.capabilities().is_none(), "capabilities kept across TLS");
    }
    drain(c, t);
}

fn drain(c: &mut Client, t: &mut Track) {
    for _ in 0..10_000 {
        let Some(ev) = c.next_event() else {
            break;
        };
        if std::env::var_os("SMTP_FUZZ_DEBUG").is_some() {
            eprintln!("event {ev:?}");
        }
        assert!(!t.closed, "event {ev:?} after Closed");
        if t.awaiting_tls {
            assert!(
                matches!(
                    ev,
                    ClientEvent::Error(
                        ClientError::ResponseInjection
                            | ClientError::ConnectionClosed
                            | ClientError::Timeout
                    ) | ClientEvent::Closed
                ),
                "event {ev:?} between StartTls and tls_established"
            );
        }
        if t.injected {
            // The first event after injected bytes is the injection error.
            assert!(
                t.saw_injection || matches!(ev, ClientEvent::Error(ClientError::ResponseInjection)),
                "injected bytes read: {ev:?}"
            );
        }
        match &ev {
            ClientEvent::StartTls => {
                // The 220 to STARTTLS was the last byte received.
                let last = t.fed.strip_suffix(b"\n").map_or(&[][..], |f| {
                    let start = f.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                    &f[start..]
                });
                assert!(
                    last.starts_with(b"220") && matches!(last.get(3), None | Some(b' ' | b'\r')),
                    "StartTls with bytes behind the 220: {:?}",
                    String::from_utf8_lossy(last)
                );
                assert!(!c.is_tls());
                assert!(c.wants_tls());
                t.awaiting_tls = true;
            }
            ClientEvent::Error(ClientError::ResponseInjection) => {
                t.saw_injection = true;
                assert!(!c.has_output(), "output after ResponseInjection");
                t.silent = true;
            }
            ClientEvent::Closed => {
                t.closed = true;
                t.awaiting_tls = false;
                assert!(c.is_closed());
            }
            ClientEvent::Ready => match t.next_app() {
                App::Send(n) => {
                    let (env, body) = messages(n);
                    match c.send_mail(env, body) {
                        Ok(()) => {}
                        Err(SendError::Invalid { .. }) => c.quit().expect("quit on Ready"),
                        Err(e) => panic!("send_mail on Ready: {e:?}"),
                    }
                }
                App::Stream(n, p) => {
                    let (env, body) = messages(n);
                    let info = BodyInfo::new(Some(body.len() as u64), !body.is_ascii());
                    match c.start_mail(env, info) {
                        Ok(()) => t.stream = Some((body, 0, 1 + usize::from(p))),
                        Err(StartError::Invalid { .. }) => c.quit().expect("quit on Ready"),
                        Err(e) => panic!("start_mail on Ready: {e:?}"),
                    }
                }
                _ => c.quit().expect("quit on Ready"),
            },
            ClientEvent::RecipientsPartial { .. } => match t.next_app() {
                App::Abort => c.abort().expect("abort"),
                App::Quit => c.quit().expect("quit on RecipientsPartial"),
                _ => c.proceed().expect("proceed"),
            },
            _ => {}
        }
    }
    feed_body(c, t);
    if t.closed {
        assert!(c.next_event().is_none(), "event after Closed");
    }
}

/// Hands the streamed body as far as the client takes it.
fn feed_body(c: &mut Client, t: &mut Track) {
    for _ in 0..10_000 {
        let Some((body, handed, piece)) = t.stream.as_mut() else {
            return;
        };
        if !c.wants_body() {
            if !c.is_ready() && !c.is_closed() {
                return;
            }
            // The transaction ended or the session closed.
            t.stream = None;
            return;
        }
        let room = c.body_room();
        if *handed == body.len() {
            c.end_body().expect("end_body while the body is wanted");
            t.stream = None;
            return;
        }
        let end = (*handed + *piece).min(body.len());
        match c.send_body(&body[*handed..end]) {
            Ok(n) => {
                assert!(n <= room, "took {n} octets with room {room}");
                assert!(room == 0 || n > 0, "room {room} but nothing taken");
                if n == 0 {
                    return;
                }
                *handed += n;
            }
            Err(BodyError::Invalid(_)) => {
                t.stream = None;
                return;
            }
            Err(e) => panic!("send_body while the body is wanted: {e:?}"),
        }
    }
}
