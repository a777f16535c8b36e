//! Demo SMTP server: the server machine driven by tokio on three listeners
//! (relay, submission with STARTTLS, implicit TLS), storing each accepted
//! message durably as one file.
//!
//! ```text
//! cargo run --release -p smtp-sansio --example demo-server -- [options]
//!   --relay ADDR          relay listener (default 127.0.0.1:2525, "off" to disable)
//!   --submission ADDR     submission + STARTTLS (default 127.0.0.1:2587)
//!   --implicit-tls ADDR   implicit TLS (default 127.0.0.1:2465)
//!   --hostname NAME       name in the greeting (default localhost)
//!   --cert PEM --key PEM  certificate chain and key (default: self-signed)
//!   --maildir DIR         where messages go (default ./mail)
//!   --user NAME:PASS      accepted credentials, repeatable (default alice:secret)
//!   --discard             accept and drop messages (no storage; load tests)
//!   --quiet               no log lines
//!   --trace DIR           write each session as a transcript (spec format)
//!   --threads N           runtime worker threads (default: one per core;
//!                         1 runs everything on the main thread)
//! ```
//!
//! Messages are stored as `DIR/ID.eml` (the content bytes exactly as
//! received, dot-stuffing undone) with the envelope in `DIR/ID.env`. One
//! log line per transaction goes to stderr. Ctrl-C (or SIGTERM) stops
//! accepting, lets sessions finish for a few seconds and exits 0.

mod session;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use smtp_sansio::mode::PortMode;
use tokio::net::TcpListener;

struct Args {
    listeners: Vec<(PortMode, Option<String>)>,
    hostname: String,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    maildir: PathBuf,
    users: Vec<(String, String)>,
    discard: bool,
    quiet: bool,
    threads: usize,
    trace: Option<PathBuf>,
}

const USAGE: &str = "usage: demo-server [--relay ADDR] [--submission ADDR] [--implicit-tls ADDR] \
[--hostname NAME] [--cert PEM --key PEM] [--maildir DIR] [--user NAME:PASS]... [--discard] [--quiet] [--threads N] [--trace DIR]
  ADDR may be \"off\" to disable a listener";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        listeners: vec![
            (PortMode::Relay, Some("127.0.0.1:2525".into())),
            (PortMode::Submission, Some("127.0.0.1:2587".into())),
            (PortMode::ImplicitTls, Some("127.0.0.1:2465".into())),
        ],
        hostname: "localhost".into(),
        cert: None,
        key: None,
        maildir: PathBuf::from("./mail"),
        users: Vec::new(),
        discard: false,
        quiet: false,
        threads: 0,
        trace: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--relay" | "--submission" | "--implicit-tls" => {
                let mode = match flag.as_str() {
                    "--relay" => PortMode::Relay,
                    "--submission" => PortMode::Submission,
                    _ => PortMode::ImplicitTls,
                };
                let v = value()?;
                let slot = a.listeners.iter_mut().find(|(m, _)| *m == mode);
                if let Some((_, addr)) = slot {
                    *addr = (v != "off").then_some(v);
                }
            }
            "--hostname" => a.hostname = value()?,
            "--cert" => a.cert = Some(value()?.into()),
            "--key" => a.key = Some(value()?.into()),
            "--maildir" => a.maildir = value()?.into(),
            "--user" => {
                let v = value()?;
                let (u, p) = v
                    .split_once(':')
                    .ok_or_else(|| format!("--user {v}: expected NAME:PASS"))?;
                a.users.push((u.into(), p.into()));
            }
            "--discard" => a.discard = true,
            "--trace" => a.trace = Some(value()?.into()),
            "--quiet" => a.quiet = true,
            "--threads" => {
                let v = value()?;
                a.threads = v
                    .parse()
                    .map_err(|_| format!("--threads {v}: not a number"))?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if a.cert.is_some() != a.key.is_some() {
        return Err("--cert and --key go together".into());
    }
    if a.users.is_empty() {
        a.users.push(("alice".into(), "secret".into()));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if args.threads > 1 {
            b.worker_threads(args.threads);
        }
        b.enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo-server: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let (certs, key) = match (&args.cert, &args.key) {
        (Some(c), Some(k)) => session::load_pem(c, k)?,
        _ => session::self_signed(&args.hostname)?,
    };
    let tls = session::tls_acceptor(certs, key)?;
    if let Some(t) = &args.trace {
        std::fs::create_dir_all(t).map_err(|e| format!("{}: {e}", t.display()))?;
    }
    let maildir = if args.discard {
        None
    } else {
        std::fs::create_dir_all(&args.maildir)
            .map_err(|e| format!("{}: {e}", args.maildir.display()))?;
        Some(args.maildir.clone())
    };
    let mut listeners = Vec::new();
    for (mode, addr) in &args.listeners {
        let Some(addr) = addr else { continue };
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("bind {addr}: {e}"))?;
        let local = l.local_addr().map_err(|e| e.to_string())?;
        eprintln!("listening {} on {local}", session::mode_name(*mode));
        listeners.push((*mode, l));
    }
    if listeners.is_empty() {
        return Err("no listener".into());
    }
    for (u, p) in &args.users {
        eprintln!("user {u}:{p}");
    }
    match &maildir {
        Some(d) => eprintln!("storing messages in {}", d.display()),
        None => eprintln!("discarding messages (--discard)"),
    }
    let shared = Arc::new(session::Shared {
        settings: session::Settings {
            hostname: args.hostname,
            users: args.users,
            maildir,
            quiet: args.quiet,
            tls,
            trace: args.trace,
        },
        stats: session::Stats::default(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(session::run(listeners, shared, stop_rx));
    wait_for_signal().await;
    eprintln!(
        "stopping: no new connections, sessions get {:?}",
        session::SHUTDOWN_GRACE
    );
    let _ = stop_tx.send(true);
    let _ = server.await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
