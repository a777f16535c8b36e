//! The client side of the replay: drives [`Client`] through a transcript
//! whose `S:` lines are input and `C:` lines expectations (see the
//! transcript format spec, "side: client").

use crate::transcript::{
    self, ClientSettings, ClientSplitState, Mode, Step, TlsPolicy, Transcript,
};
use smtp_sansio::client::{
    BodyInfo, Client, ClientConfig, ClientCredentials, ClientEvent, Envelope, SendError,
    StartError, TlsPolicy as Policy,
};
use smtp_sansio::{Mechanism, PortMode};

fn port_mode(m: Mode) -> PortMode {
    match m {
        Mode::Relay => PortMode::Relay,
        Mode::Submission => PortMode::Submission,
        Mode::ImplicitTls => PortMode::ImplicitTls,
        Mode::Lmtp => PortMode::Lmtp,
    }
}

/// The client configuration a transcript's settings describe.
pub fn client_config(mode: Mode, s: &ClientSettings) -> Result<ClientConfig, String> {
    let mut cfg = ClientConfig::new(port_mode(mode), s.helo.clone());
    if mode != Mode::ImplicitTls {
        let policy = match s.tls {
            TlsPolicy::Required => Policy::Required,
            TlsPolicy::Opportunistic => Policy::Opportunistic,
            TlsPolicy::None => Policy::None,
        };
        cfg = cfg
            .with_tls_policy(policy)
            .map_err(|e| format!("setting tls: {e}"))?;
    }
    if let Some((user, password)) = &s.auth {
        cfg = cfg.with_credentials(ClientCredentials::new(user.clone(), password.clone()));
    }
    cfg.mechanisms = s
        .mechanisms
        .iter()
        .map(|name| {
            Mechanism::from_name(name.as_bytes())
                .ok_or_else(|| format!("setting mechanisms: unknown mechanism {name}"))
        })
        .collect::<Result<_, _>>()?;
    cfg.pipelining = s.pipelining;
    cfg.chunking = s.chunking;
    if let Some(n) = s.chunk_size {
        cfg.chunk_size = n;
    }
    Ok(cfg)
}

/// The application of the transcript spec: sends its one message, then
/// QUIT; skips refused recipients among accepted ones.
struct App {
    envelope: Envelope,
    body: Vec<u8>,
    sent: bool,
    /// Streamed: the piece size, and how much of the body was handed.
    stream: Option<usize>,
    handed: usize,
}

impl App {
    fn drive(&mut self, client: &mut Client) -> Result<Vec<u8>, String> {
        let mut guard = 0usize;
        while let Some(ev) = client.next_event() {
            guard += 1;
            if guard > 100_000 {
                return Err("client produced too many events".into());
            }
            match ev {
                ClientEvent::Ready if !self.sent => {
                    self.sent = true;
                    let env = self.envelope.clone();
                    if self.stream.is_some() {
                        let info =
                            BodyInfo::new(Some(self.body.len() as u64), !self.body.is_ascii());
                        match client.start_mail(env, info) {
                            Ok(()) => {}
                            Err(StartError::Invalid { .. }) => {
                                client.quit().map_err(|_| "quit refused".to_string())?
                            }
                            Err(StartError::Misuse(_)) => {
                                return Err("start_mail refused".into());
                            }
                        }
                        continue;
                    }
                    match client.send_mail(env, self.body.clone()) {
                        Ok(()) => {}
                        Err(SendError::Invalid { .. }) => {
                            client.quit().map_err(|_| "quit refused".to_string())?
                        }
                        Err(SendError::Misuse(_)) => return Err("send_mail refused".into()),
                    }
                }
                ClientEvent::Ready => client.quit().map_err(|_| "quit refused".to_string())?,
                ClientEvent::RecipientsPartial { .. } => client
                    .proceed()
                    .map_err(|_| "proceed refused".to_string())?,
                _ => {}
            }
        }
        let mut out = Vec::new();
        client.transmit(&mut out);
        // A streamed body: pieces as far as the client takes them (it
        // waits for replies without pipelining), then its end.
        while let (Some(piece), true) = (self.stream, client.wants_body()) {
            let rest = self.body.get(self.handed..).unwrap_or(&[]);
            if rest.is_empty() {
                client.end_body().map_err(|e| format!("end_body: {e}"))?;
            } else {
                let n = client
                    .send_body(&rest[..piece.min(rest.len())])
                    .map_err(|e| format!("send_body: {e}"))?;
                if n == 0 {
                    break;
                }
                self.handed += n;
            }
            client.transmit(&mut out);
        }
        client.transmit(&mut out);
        Ok(out)
    }
}

fn check_units(
    out: &[u8],
    split: &mut ClientSplitState,
    expects: &mut Vec<(usize, Vec<u8>)>,
) -> Result<(), String> {
    let units = transcript::split_client_commands(out, split);
    for (i, unit) in units.iter().enumerate() {
        let Some((line, prefix)) = expects.get(i) else {
            return Err(format!("unexpected output {:?}", transcript::escape(unit)));
        };
        transcript::match_command(prefix, unit).map_err(|e| format!("line {line}: {e}"))?;
    }
    if units.len() < expects.len() {
        let (line, prefix) = &expects[units.len()];
        return Err(format!(
            "line {line}: expected `{}`, got nothing",
            transcript::escape(prefix)
        ));
    }
    expects.clear();
    Ok(())
}

/// Runs a `side: client` transcript.
pub fn run_client(t: &Transcript) -> Result<(), String> {
    let s = t.client_settings()?;
    let cfg = client_config(t.mode, &s)?;
    let mut client = Client::new(cfg).map_err(|e| format!("client configuration: {e}"))?;
    let mut app = App {
        envelope: Envelope::new(s.from.clone(), s.to.clone()),
        body: s.body.clone(),
        sent: false,
        stream: s.stream,
        handed: 0,
    };
    let mut split = ClientSplitState::new();
    let mut out = app.drive(&mut client)?;
    let mut expects: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut closed_expected = false;
    for (line, step) in &t.steps {
        match step {
            Step::ExpectCommand(p) => expects.push((*line, p.clone())),
            Step::ExpectReply(_) => {
                return Err(format!("line {line}: S: expectation on the client side"));
            }
            Step::Input(bytes) => {
                check_units(&out, &mut split, &mut expects)?;
                if closed_expected {
                    return Err(format!("line {line}: input after CLOSE"));
                }
                split.server_input(bytes);
                client.receive(bytes);
                out = app.drive(&mut client)?;
            }
            Step::Tls => {
                check_units(&out, &mut split, &mut expects)?;
                if !client.tls_established() {
                    return Err(format!(
                        "line {line}: TLS step but the client did not ask for TLS"
                    ));
                }
                out = app.drive(&mut client)?;
            }
            Step::Eof => {
                check_units(&out, &mut split, &mut expects)?;
                client.receive_eof();
                out = app.drive(&mut client)?;
            }
            Step::Close => {
                check_units(&out, &mut split, &mut expects)?;
                out.clear();
                if !client.is_closed() {
                    return Err(format!("line {line}: expected the client to have closed"));
                }
                closed_expected = true;
            }
        }
    }
    check_units(&out, &mut split, &mut expects)?;
    if closed_expected {
        let more = app.drive(&mut client)?;
        if !more.is_empty() {
            return Err(format!(
                "output after CLOSE: {:?}",
                transcript::escape(&more)
            ));
        }
    }
    Ok(())
}
