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
//!   --trace DIR           write each session as a transcript (spec format),
//!                         streamed to its file
//!   --threads N           runtime worker threads (default: one per core;
//!                         1 runs everything on the main thread)
//!   --timeout SECS        every server timeout (default: RFC 5321 4.5.3.2,
//!                         5 min per command, 3 min per data block, 10 min
//!                         for storing a message; 30 s per TLS handshake)
//!   --max-connections N   sessions at once over all listeners (default 500);
//!                         beyond, a connection gets 421 4.3.2 and is closed
//!   -h, --help            this text (on stdout, exit 0)
//! ```
//!
//! Messages are stored as `DIR/ID.eml` (the content bytes exactly as
//! received, dot-stuffing undone) with the envelope in `DIR/ID.env`, the
//! `.env` written last as the commit marker, both durable (group commit of
//! the folder fsync) before the 250 goes out. The `.env` holds one
//! `key: value` field per line (`mode`, `peer`, `helo`, `tls`, `auth`,
//! `from`, one `to` per recipient, `size`); each value is escaped to
//! printable ASCII (`\\` for a backslash, `\xHH` for any octet outside
//! 0x20-0x7E), so one field is one line whatever the client sent. At start
//! the leftovers of a crash (temporary files, an `.eml` or `.env` without
//! its partner) are removed and logged; complete pairs are never touched.
//!
//! Log lines go to stderr: one per transaction, one per refused command
//! (`refused MAIL: 530 ...`), one per failed AUTH (the user name, never the
//! password), one per timeout. Ctrl-C (or SIGTERM) stops accepting, lets
//! sessions finish for a few seconds and exits 0.

mod session;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use smtp_sansio::PortMode;
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
    timeouts: session::Timeouts,
    max_connections: usize,
}

/// What the command line asks for.
enum Parsed {
    Run(Box<Args>),
    Help,
}

const USAGE: &str = "usage: demo-server [--relay ADDR] [--submission ADDR] [--implicit-tls ADDR] \
[--hostname NAME] [--cert PEM --key PEM] [--maildir DIR] [--user NAME:PASS]... [--discard] [--quiet] \
[--threads N] [--trace DIR] [--timeout SECS] [--max-connections N]
  ADDR may be \"off\" to disable a listener
  --timeout SECS        every server timeout (default: RFC 5321 4.5.3.2)
  --max-connections N   sessions at once (default 500); beyond: 421 4.3.2 and close
  -h, --help            this text";

fn parse_args() -> Result<Parsed, String> {
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
        timeouts: session::Timeouts::RFC,
        max_connections: session::DEFAULT_MAX_CONNECTIONS,
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
            "--timeout" => {
                let v = value()?;
                let secs: u64 =
                    v.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                        format!("--timeout {v}: not a positive number of seconds")
                    })?;
                a.timeouts = session::Timeouts::all(std::time::Duration::from_secs(secs));
            }
            "--max-connections" => {
                let v = value()?;
                a.max_connections = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--max-connections {v}: not a positive number"))?;
            }
            "-h" | "--help" => return Ok(Parsed::Help),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if a.cert.is_some() != a.key.is_some() {
        return Err("--cert and --key go together".into());
    }
    if a.users.is_empty() {
        a.users.push(("alice".into(), "secret".into()));
    }
    Ok(Parsed::Run(Box::new(a)))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Parsed::Run(a)) => *a,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
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
        // Leftovers of a crash: none of them got a 250.
        let removed = session::recover(&args.maildir)
            .map_err(|e| format!("{}: cleanup: {e}", args.maildir.display()))?;
        for (name, why) in removed {
            eprintln!("removed leftover {name}: {why}");
        }
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
    let shared = Arc::new(session::Shared::new(session::Settings {
        hostname: args.hostname,
        users: args.users,
        maildir,
        quiet: args.quiet,
        tls,
        trace: args.trace,
        timeouts: args.timeouts,
        max_connections: args.max_connections,
    }));
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
