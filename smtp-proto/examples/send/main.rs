//! Sends one message through the client machine.
//!
//! ```text
//! cargo run -p smtp-sansio --example send -- --mode submission \
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
//!   -v                    print the machine's events
//! ```
//!
//! Exits 0 when the server accepted the message; otherwise prints the
//! server's reply (code, enhanced code and text) on stderr and exits 1.
//! `--help` prints the usage on stdout and exits 0.

mod driver;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use smtp_sansio::PortMode;
use smtp_sansio::{ClientConfig, ClientCredentials, Envelope, TlsPolicy};
use tokio_rustls::rustls::pki_types::ServerName;

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
    verbose: bool,
}

const USAGE: &str =
    "usage: send --to ADDR [--to ADDR]... [--from ADDR] [--mode relay|submission|implicit-tls]
            [--server HOST:PORT] [--server-name NAME] [--helo NAME] [--auth USER:PASS]
            [--tls required|opportunistic|none] [--insecure] [--ca PEM] [--body FILE] [-v]
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

async fn run(args: Args) -> Result<String, String> {
    let mut body = Vec::new();
    match &args.body {
        Some(p) if p.as_os_str() != "-" => {
            body = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("stdin: {e}"))?;
        }
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
    let server_name = ServerName::try_from(name).map_err(|e| format!("server name: {e}"))?;
    let mut cfg = ClientConfig::new(args.mode, args.helo.clone());
    if let Some(t) = args.tls {
        cfg = cfg.with_tls_policy(t).map_err(|e| e.to_string())?;
    }
    if let Some((u, p)) = &args.auth {
        cfg = cfg.with_credentials(ClientCredentials::new(u.clone(), p.clone()));
    }
    let tls = driver::tls_connector(args.insecure, args.ca.as_deref())?;
    let tcp = tokio::net::TcpStream::connect(&server)
        .await
        .map_err(|e| format!("connect {server}: {e}"))?;
    let envelope = Envelope::new(args.from.clone(), args.to.clone());
    match driver::send(tcp, cfg, &tls, server_name, envelope, body, args.verbose).await? {
        driver::Outcome::Delivered(r) => Ok(driver::reply_text(&r)),
        driver::Outcome::Failed(e) => Err(e),
        // The server's own words, when the error carries a reply.
        driver::Outcome::Error(e) => Err(match e.reply() {
            Some(r) => format!("{e} ({})", driver::reply_text(r)),
            None => e.to_string(),
        }),
    }
}
