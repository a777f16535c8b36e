//! Sends one message with the async client driver
//! ([`smtp_sansio_tokio::client::SmtpClient`]); the body is streamed from
//! the file or stdin, never held whole.
//!
//! ```text
//! cargo run -p smtp-sansio-tokio --example send -- --mode submission \
//!     --from alice@example.org --to bob@example.net --auth alice:secret \
//!     --insecure [--server 127.0.0.1:2587] [--body FILE]   (default: stdin)
//!
//!   --mode relay|submission|implicit-tls   (default submission)
//!   --server HOST:PORT    default 127.0.0.1 and the demo server's port of
//!                         the mode (2525, 2587, 2465)
//!   --server-name NAME    TLS server name (default: the host)
//!   --helo NAME           EHLO name (default localhost)
//!   --from ADDR --to ADDR (repeatable)
//!   --auth USER:PASS
//!   --tls required|opportunistic|none   (default: the mode's)
//!   --insecure            accept any certificate (the demo's self-signed one)
//!   --ca PEM              trust these roots (default: the system bundle)
//!   --body FILE           message (header and body); "-" or absent: stdin
//!   --chunk-size N        BDAT chunk size in octets (default 65536)
//!   --rcpt-max N          at most N recipients per transaction; more go in
//!                         further transactions on the same connection, the
//!                         body sent again (default: only the server's
//!                         LIMITS RCPTMAX and its 452 4.5.3 replies split)
//!   -v                    print the session's events (tracing at debug)
//! ```
//!
//! Exits 0 when the server accepted the message; otherwise prints the
//! server's reply (code, enhanced code and text) on stderr and exits 1.
//! `--help` prints the usage on stdout and exits 0.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use smtp_sansio::client::{ClientCredentials, Envelope, TlsPolicy};
use smtp_sansio::{ClientConfig, PortMode};
use smtp_sansio_tokio::client::{Outcome, SendOptions, SmtpClient, TlsTrust, reply_text};

struct Args {
    mode: PortMode,
    server: Option<String>,
    server_name: Option<String>,
    helo: String,
    from: String,
    to: Vec<String>,
    auth: Option<(String, String)>,
    tls: Option<TlsPolicy>,
    insecure: bool,
    ca: Option<PathBuf>,
    body: Option<PathBuf>,
    chunk_size: Option<usize>,
    rcpt_max: Option<usize>,
    verbose: bool,
}

const USAGE: &str =
    "usage: send --to ADDR [--to ADDR]... [--from ADDR] [--mode relay|submission|implicit-tls]
            [--server HOST:PORT] [--server-name NAME] [--helo NAME] [--auth USER:PASS]
            [--tls required|opportunistic|none] [--insecure] [--ca PEM] [--body FILE]
            [--chunk-size N] [--rcpt-max N] [-v]
  Sends one message (RFC 5321) read from --body FILE or stdin; exits 0 when it was accepted.";

fn parse_args() -> Result<Option<Args>, String> {
    let mut a = Args {
        mode: PortMode::Submission,
        server: None,
        server_name: None,
        helo: "localhost".into(),
        from: String::new(),
        to: Vec::new(),
        auth: None,
        tls: None,
        insecure: false,
        ca: None,
        body: None,
        chunk_size: None,
        rcpt_max: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--mode" => {
                a.mode = match value()?.as_str() {
                    "relay" => PortMode::Relay,
                    "submission" => PortMode::Submission,
                    "implicit-tls" => PortMode::ImplicitTls,
                    m => return Err(format!("unknown mode {m}")),
                }
            }
            "--server" => a.server = Some(value()?),
            "--server-name" => a.server_name = Some(value()?),
            "--helo" => a.helo = value()?,
            "--from" => a.from = value()?,
            "--to" => a.to.push(value()?),
            "--auth" => {
                let v = value()?;
                let (u, p) = v.split_once(':').ok_or("--auth expects USER:PASS")?;
                a.auth = Some((u.into(), p.into()));
            }
            "--tls" => {
                a.tls = Some(match value()?.as_str() {
                    "required" => TlsPolicy::Required,
                    "opportunistic" => TlsPolicy::Opportunistic,
                    "none" => TlsPolicy::None,
                    t => return Err(format!("unknown TLS policy {t}")),
                })
            }
            "--insecure" => a.insecure = true,
            "--ca" => a.ca = Some(value()?.into()),
            "--body" => a.body = Some(value()?.into()),
            "--chunk-size" => {
                let v = value()?;
                match v.parse::<usize>() {
                    Ok(n) if n > 0 => a.chunk_size = Some(n),
                    _ => return Err(format!("--chunk-size expects a positive number, not {v}")),
                }
            }
            "--rcpt-max" => {
                let v = value()?;
                match v.parse::<usize>() {
                    Ok(n) if n > 0 => a.rcpt_max = Some(n),
                    _ => return Err(format!("--rcpt-max expects a positive number, not {v}")),
                }
            }
            "-v" => a.verbose = true,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown option {other} (see the file's docs)")),
        }
    }
    if a.to.is_empty() {
        return Err(format!("at least one --to\n{USAGE}"));
    }
    Ok(Some(a))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("send: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("send: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(reply) => {
            println!("delivered: {reply}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("send: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the driver's `tracing` events at debug level and above to
/// stderr (`-v`): a minimal subscriber, to stay free of extra crates.
struct Stderr;

impl tracing::Subscriber for Stderr {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() <= tracing::Level::DEBUG
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={v:?}", f.name()));
            }
        }
        let mut fields = Fields(String::new());
        e.record(&mut fields);
        eprintln!("event: {}{}", e.metadata().level(), fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

async fn run(args: Args) -> Result<String, String> {
    if args.verbose {
        let _ = tracing::subscriber::set_global_default(Stderr);
    }
    let server = args.server.clone().unwrap_or_else(|| {
        let port = match args.mode {
            PortMode::Relay => 2525,
            PortMode::ImplicitTls => 2465,
            _ => 2587,
        };
        format!("127.0.0.1:{port}")
    });
    let host = server
        .rsplit_once(':')
        .map(|(h, _)| h.trim_matches(['[', ']']))
        .unwrap_or(&server);
    let name = args.server_name.clone().unwrap_or_else(|| host.to_string());
    let mut cfg = ClientConfig::new(args.mode, args.helo.clone());
    if let Some(t) = args.tls {
        cfg = cfg.with_tls_policy(t).map_err(|e| e.to_string())?;
    }
    if let Some((u, p)) = &args.auth {
        cfg = cfg.with_credentials(ClientCredentials::new(u.clone(), p.clone()));
    }
    if let Some(n) = args.chunk_size {
        cfg.chunk_size = n;
    }
    cfg.rcpt_max = args.rcpt_max;
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    let trust = if args.insecure {
        TlsTrust::DangerAcceptAny
    } else if let Some(ca) = &args.ca {
        TlsTrust::from_pem_file(ca)?
    } else if system.exists() {
        TlsTrust::from_pem_file(system)?
    } else {
        TlsTrust::WebPki
    };
    let envelope = Envelope::new(args.from.clone(), args.to.clone());
    let mut client = SmtpClient::connect(server.as_str(), &name, cfg, trust)
        .await
        .map_err(|e| format!("{server}: {e}"))?;
    // The body is read again for each transaction of a split message: a
    // file is re-read from its start, stdin is read into memory first.
    let options = SendOptions::default();
    let report = match &args.body {
        Some(p) if p.as_os_str() != "-" => {
            let f = tokio::fs::File::open(p)
                .await
                .map_err(|e| format!("{}: {e}", p.display()))?;
            client.send_seekable(envelope, f, options).await
        }
        _ => {
            let mut body = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut body)
                .await
                .map_err(|e| format!("stdin: {e}"))?;
            let body = std::io::Cursor::new(body);
            client.send_seekable(envelope, body, options).await
        }
    }
    .map_err(|e| e.to_string())?;
    for r in &report.recipients {
        let how = match (&r.rcpt, &r.delivery) {
            _ if r.unsent => "not sent (no transaction took it)".to_string(),
            (Some(rcpt), _) if !r.accepted() => format!("refused: {}", reply_text(rcpt)),
            (_, Some(d)) => reply_text(d),
            (Some(rcpt), None) => format!("accepted: {}", reply_text(rcpt)),
            (None, None) => "no reply".to_string(),
        };
        eprintln!("{}: {how}", r.address);
    }
    let unsent = report.recipients.iter().filter(|r| r.unsent).count();
    let result = match &report.outcome {
        Outcome::Delivered(r) => Ok(reply_text(r)),
        Outcome::PerRecipient if report.is_delivered() => Ok("delivered per recipient".into()),
        Outcome::PerRecipient => Err("refused for every recipient".into()),
        Outcome::Failed { stage, reply } => Err(format!(
            "{stage:?} refused: {}",
            reply.as_ref().map(reply_text).unwrap_or_default()
        )),
    };
    let _ = client.quit().await;
    match result {
        Ok(_) if unsent > 0 => Err(format!("{unsent} recipient(s) not sent")),
        other => other,
    }
}
