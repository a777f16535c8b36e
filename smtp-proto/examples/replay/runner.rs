//! Drives the state machines through a parsed transcript and matches what
//! they emit (see `corpus/README.md` and the transcript format spec).
#![allow(dead_code)]

use crate::transcript::{self, BareLf, Mode, ServerSettings, Side, Step, Transcript};
use smtp_sansio::LineEndingPolicy;
use smtp_sansio::{AuthRequest, Server, ServerEvent};
use smtp_sansio::{Credentials, Mechanism};
use smtp_sansio::{EnhancedCode, OwnedReply, ReplyCode};
use smtp_sansio::{ForwardPath, Mailbox};
use smtp_sansio::{PortMode, ServerConfig};

/// Parses and runs one transcript.
pub fn run_text(text: &str) -> Result<(), String> {
    let t = transcript::parse(text)?;
    run(&t)
}

/// Runs one parsed transcript.
pub fn run(t: &Transcript) -> Result<(), String> {
    match t.side {
        Side::Server => run_server(t),
        Side::Client => crate::client_side::run_client(t),
    }
}

fn port_mode(m: Mode) -> PortMode {
    match m {
        Mode::Relay => PortMode::Relay,
        Mode::Submission => PortMode::Submission,
        Mode::ImplicitTls => PortMode::ImplicitTls,
        Mode::Lmtp => PortMode::Lmtp,
    }
}

/// The server configuration a transcript's settings describe.
pub fn server_config(mode: Mode, s: &ServerSettings) -> ServerConfig {
    // The replay driver stands for one that runs TLS (the transcripts
    // mark the handshake with `tls`).
    let mut cfg = ServerConfig::new(port_mode(mode), s.hostname.clone()).with_tls();
    cfg.require_auth = s.require_auth;
    cfg.require_tls = s.require_tls;
    cfg.starttls = s.starttls && mode != Mode::ImplicitTls;
    cfg.limits.recipients = s.max_recipients;
    cfg.limits.message_size = s.max_message_size;
    cfg.line_ending = match s.bare_lf {
        BareLf::Reject => LineEndingPolicy::Reject,
        BareLf::Normalize => LineEndingPolicy::Normalize,
    };
    cfg.pipelining_sync = s.pipelining_sync;
    if s.proxy {
        cfg.proxy = Some(smtp_sansio::ProxyConfig::DEFAULT);
    }
    if s.require_auth && cfg.mechanisms.is_empty() {
        cfg.mechanisms = vec![Mechanism::Plain, Mechanism::Login];
    }
    cfg
}

fn reply(code: u16, enh: (u8, u16, u16), text: &'static str) -> OwnedReply {
    OwnedReply {
        code: ReplyCode::new(code).expect("valid code"),
        enhanced: EnhancedCode::new(enh.0, enh.1, enh.2),
        lines: vec![text.into()],
    }
}

fn mailbox_string(m: &Mailbox<'_>) -> String {
    let mut out = Vec::new();
    m.write_canonical(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The permissive application of the transcript spec: accepts everything
/// the protocol and the settings allow.
pub struct App<'s> {
    settings: &'s ServerSettings,
    /// Messages delivered, as received.
    pub messages: Vec<Vec<u8>>,
    current: Vec<u8>,
}

impl<'s> App<'s> {
    /// An application for these settings.
    pub fn new(settings: &'s ServerSettings) -> Self {
        App {
            settings,
            messages: Vec::new(),
            current: Vec::new(),
        }
    }

    /// Handles every event the server has; returns the bytes it emitted.
    pub fn drive(&mut self, server: &mut Server) -> Result<Vec<u8>, String> {
        let mut guard = 0usize;
        while let Some(ev) = server.next_event() {
            guard += 1;
            if guard > 1_000_000 {
                return Err("server produced too many events".into());
            }
            enum D {
                None,
                Accept,
                Reject(OwnedReply),
            }
            let d = match ev {
                ServerEvent::Connected
                | ServerEvent::Hello { .. }
                | ServerEvent::Mail { .. }
                | ServerEvent::Verify { .. }
                | ServerEvent::Etrn { .. } => D::Accept,
                ServerEvent::Rcpt { to, .. } => {
                    let addr = match to {
                        ForwardPath::Postmaster => "postmaster".to_string(),
                        ForwardPath::Mailbox(m) => mailbox_string(&m),
                    };
                    if self
                        .settings
                        .reject_rcpt
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(&addr))
                    {
                        D::Reject(reply(550, (5, 1, 1), "Recipient rejected"))
                    } else {
                        D::Accept
                    }
                }
                ServerEvent::MessageStart { .. } => {
                    self.current.clear();
                    D::None
                }
                ServerEvent::MessageData(piece) => {
                    self.current.extend_from_slice(piece);
                    D::None
                }
                ServerEvent::MessageComplete { .. } => {
                    self.messages.push(std::mem::take(&mut self.current));
                    D::Accept
                }
                ServerEvent::MessageAborted(_) => {
                    self.current.clear();
                    D::None
                }
                ServerEvent::Auth(AuthRequest::Credentials {
                    credentials:
                        Credentials::Password {
                            authzid,
                            username,
                            password,
                        },
                    ..
                }) => {
                    let ok = self.settings.accepts(&username, password.expose())
                        && (authzid.is_empty() || authzid == username);
                    if ok {
                        D::Accept
                    } else {
                        D::Reject(reply(535, (5, 7, 8), "Authentication credentials invalid"))
                    }
                }
                ServerEvent::Auth(_) => {
                    D::Reject(reply(535, (5, 7, 8), "Authentication credentials invalid"))
                }
                _ => D::None,
            };
            match d {
                D::None => {}
                D::Accept => server.accept().map_err(|_| "accept refused".to_string())?,
                D::Reject(r) => server.reject(r).map_err(|_| "reject refused".to_string())?,
            }
        }
        let mut out = Vec::new();
        server.transmit(&mut out);
        Ok(out)
    }
}

fn check_units(
    out: &[u8],
    expects: &mut Vec<(usize, String)>,
    after_eof: bool,
) -> Result<(), String> {
    let mut units = transcript::split_replies(out)?;
    if after_eof && units.len() == expects.len() + 1 {
        if let Some(last) = units.last() {
            if transcript::reply_code(last) == Some(421) {
                units.pop();
            }
        }
    }
    for (i, unit) in units.iter().enumerate() {
        let Some((line, pattern)) = expects.get(i) else {
            return Err(format!("unexpected output {:?}", transcript::escape(unit)));
        };
        transcript::match_reply(pattern, unit).map_err(|e| format!("line {line}: {e}"))?;
    }
    if units.len() < expects.len() {
        let (line, pattern) = &expects[units.len()];
        return Err(format!("line {line}: expected `{pattern}`, got nothing"));
    }
    expects.clear();
    Ok(())
}

fn run_server(t: &Transcript) -> Result<(), String> {
    let settings = t.server_settings()?;
    let mut server = Server::new(server_config(t.mode, &settings));
    let mut app = App::new(&settings);
    let mut out = app.drive(&mut server)?;
    let mut expects: Vec<(usize, String)> = Vec::new();
    let mut closed_expected = false;
    let mut after_eof = false;
    for (line, step) in &t.steps {
        match step {
            Step::ExpectReply(p) => expects.push((*line, p.clone())),
            Step::ExpectCommand(_) => {
                return Err(format!("line {line}: C: expectation on the server side"));
            }
            Step::Input(bytes) => {
                check_units(&out, &mut expects, after_eof)?;
                if closed_expected {
                    return Err(format!("line {line}: input after CLOSE"));
                }
                server.receive(bytes);
                out = app.drive(&mut server)?;
            }
            Step::Tls => {
                check_units(&out, &mut expects, after_eof)?;
                if !server.tls_established() {
                    return Err(format!(
                        "line {line}: TLS step but the server did not ask for TLS"
                    ));
                }
                out = app.drive(&mut server)?;
            }
            Step::Eof => {
                check_units(&out, &mut expects, after_eof)?;
                server.receive_eof();
                after_eof = true;
                out = app.drive(&mut server)?;
            }
            Step::Close => {
                check_units(&out, &mut expects, after_eof)?;
                out.clear();
                if !server.is_closed() {
                    return Err(format!("line {line}: expected the server to have closed"));
                }
                closed_expected = true;
            }
        }
    }
    check_units(&out, &mut expects, after_eof)?;
    if closed_expected {
        let more = app.drive(&mut server)?;
        if !more.is_empty() {
            return Err(format!(
                "output after CLOSE: {:?}",
                transcript::escape(&more)
            ));
        }
    }
    Ok(())
}
