//! Demo SMTP server on the driver crate: relay, submission with STARTTLS
//! and implicit TLS listeners; each accepted message stored durably in
//! `--maildir` as `ID.eml` + `ID.env` (see `smtp_sansio_tokio::server::store`:
//! group commit, the 250 only once the message is on disk, crash leftovers
//! removed at start). `--proxy-protocol`: every listener expects a PROXY
//! protocol header (v1 or v2, e.g. from HAProxy `send-proxy`) and the
//! envelope's `peer:` is the original client. Log lines (the driver's tracing events) go to stderr.
//! Ctrl-C or SIGTERM: no new connections, sessions get 421, exit 0.
//!
//! `cargo run --release -p smtp-sansio-tokio --example demo-server -- --help`

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use smtp_sansio::{LineEndingPolicy, PortMode};
use smtp_sansio_tokio::server::store::{Inbox, MailDir};
use smtp_sansio_tokio::server::{self, Connection, Decision, Handler, Message, Session};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

const USAGE: &str = "usage: demo-server [--relay ADDR] [--submission ADDR] [--implicit-tls ADDR] \
[--hostname NAME] [--cert PEM --key PEM] [--maildir DIR] [--user NAME:PASS]... [--discard] [--quiet] \
[--threads N] [--trace DIR] [--timeout SECS] [--max-connections N] [--message-size OCTETS] \
[--bare-lf reject|normalize] [--lenient OPT,...] [--proxy-protocol]
  ADDR may be \"off\" to disable a listener (defaults 127.0.0.1:2525, :2587, :2465)
  --maildir DIR         where messages go (default ./mail); --discard drops them
  --user NAME:PASS      accepted credentials, repeatable (default alice:secret)
  --trace DIR           each session as a transcript, streamed to its file
  --threads N           runtime worker threads (default: one per core)
  --timeout SECS        every server timeout (default: RFC 5321 4.5.3.2)
  --max-connections N   sessions at once (default 500); beyond: 421 4.7.0 and close
  --bare-lf POLICY      bare LF/CR: reject (default, RFC 5321 2.3.8) or normalize
  --lenient OPTS        space-after-colon,missing-brackets,trailing-whitespace
  --proxy-protocol      every listener expects a PROXY protocol header (v1 or v2)
                        first; the envelope's peer is the client it names
  -h, --help            this text";

/// The command line: `--flag value` options (the last one wins, `--user`
/// repeats), switches, or `None` for `--help`.
type Opts = (HashMap<String, String>, Vec<(String, String)>);

fn parse_args() -> Result<Option<Opts>, String> {
    let (mut o, mut users) = (HashMap::new(), Vec::new());
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        match f.as_str() {
            "-h" | "--help" => return Ok(None),
            "--discard" | "--quiet" | "--proxy-protocol" => drop(o.insert(f, String::new())),
            "--relay" | "--submission" | "--implicit-tls" | "--hostname" | "--cert" | "--key"
            | "--maildir" | "--user" | "--trace" | "--threads" | "--timeout"
            | "--max-connections" | "--message-size" | "--bare-lf" | "--lenient" => {
                let v = it.next().ok_or_else(|| format!("{f} needs a value"))?;
                match (f.as_str(), v.split_once(':')) {
                    ("--user", Some((u, p))) => users.push((u.into(), p.into())),
                    ("--user", None) => return Err(format!("--user {v}: expected NAME:PASS")),
                    _ => drop(o.insert(f, v)),
                }
            }
            _ => return Err(format!("unknown option {f}\n{USAGE}")),
        }
    }
    if users.is_empty() {
        users.push(("alice".into(), "secret".into()));
    }
    Ok(Some((o, users)))
}

/// A positive number option.
fn num(o: &HashMap<String, String>, flag: &str) -> Result<Option<u64>, String> {
    o.get(flag).map_or(Ok(None), |v| match v.parse() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(format!("{flag} {v}: not a positive number")),
    })
}

/// What every session shares: the users and the mail folder (`--discard`: none).
type Shared = Arc<(Vec<(String, String)>, Option<Arc<MailDir>>)>;
struct Demo(Shared);
struct Demoed(Shared, Option<Inbox>);

impl Handler for Demo {
    type Session = Demoed;
    async fn connect(&self, _: &Connection) -> Result<Demoed, smtp_sansio::OwnedReply> {
        Ok(Demoed(self.0.clone(), self.0.1.as_ref().map(|d| d.inbox())))
    }
}

impl Session for Demoed {
    async fn auth(&mut self, user: &str, password: &str) -> Decision {
        Decision::credentials(self.0.0.iter().any(|(u, p)| u == user && p == password))
    }
    async fn data(&mut self, piece: &[u8]) {
        if let Some(inbox) = &mut self.1 {
            inbox.write(piece).await;
        }
    }
    async fn message(&mut self, msg: &Message<'_>) -> Decision {
        match &mut self.1 {
            Some(inbox) => inbox.commit(msg).await.into(),
            None => Decision::Accept, // --discard
        }
    }
    fn aborted(&mut self, _: smtp_sansio::AbortReason) {
        if let Some(inbox) = &mut self.1 {
            inbox.discard();
        }
    }
}

/// The server the options ask for (bound by `listen` inside the runtime).
fn build((o, users): Opts) -> Result<server::Server<Demo>, String> {
    let host = o.get("--hostname").cloned().unwrap_or("localhost".into());
    let tls = match (o.get("--cert"), o.get("--key")) {
        (Some(c), Some(k)) => server::tls_config_from_pem(c.as_ref(), k.as_ref()),
        (None, None) => {
            let names = vec![host.clone(), "localhost".into(), "127.0.0.1".into()];
            let ck = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
            server::tls_config(vec![ck.cert.der().clone()], key).map_err(std::io::Error::other)
        }
        _ => return Err("--cert and --key go together".into()),
    }
    .map_err(|e| e.to_string())?;
    let mut store = None;
    if !o.contains_key("--discard") {
        let dir = o.get("--maildir").map_or("./mail", |d| d.as_str());
        let (md, removed) = MailDir::open(dir).map_err(|e| format!("{dir}: {e}"))?;
        for (name, why) in removed {
            eprintln!("removed leftover {name}: {why}");
        }
        eprintln!("storing messages in {dir}");
        store = Some(md);
    }
    let bare_lf = match o.get("--bare-lf").map(String::as_str) {
        None | Some("reject") => LineEndingPolicy::Reject,
        Some("normalize") => LineEndingPolicy::Normalize,
        Some(v) => return Err(format!("--bare-lf {v}: reject or normalize")),
    };
    let mut lenient = smtp_sansio::Lenient::default();
    for opt in o.get("--lenient").into_iter().flat_map(|v| v.split(',')) {
        match opt {
            "space-after-colon" => lenient.space_after_colon = true,
            "missing-brackets" => lenient.missing_brackets = true,
            "trailing-whitespace" => lenient.trailing_whitespace = true,
            _ => return Err(format!("--lenient {opt}: unknown option\n{USAGE}")),
        }
    }
    for (u, p) in &users {
        eprintln!("user {u}:{p}");
    }
    let mut srv = server::Server::new(Demo(Arc::new((users, store))))
        .hostname(host)
        .tls(tls)
        .configure(move |c| (c.line_ending, c.lenient) = (bare_lf, lenient));
    if let Some(s) = num(&o, "--timeout")? {
        srv = srv.timeouts(server::Timeouts::all(Duration::from_secs(s)));
    }
    if let Some(n) = num(&o, "--max-connections")? {
        srv = srv.max_connections(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if let Some(n) = num(&o, "--message-size")? {
        srv = srv.message_size(n);
    }
    if o.contains_key("--proxy-protocol") {
        srv = srv.proxy_protocol(smtp_sansio::ProxyConfig::DEFAULT);
    }
    if let Some(t) = o.get("--trace") {
        std::fs::create_dir_all(t).map_err(|e| format!("{t}: {e}"))?;
        srv = srv.trace(t);
    }
    Ok(srv)
}

async fn run(mut srv: server::Server<Demo>, o: HashMap<String, String>) -> Result<(), String> {
    for (mode, flag, default) in [
        (PortMode::Relay, "--relay", "127.0.0.1:2525"),
        (PortMode::Submission, "--submission", "127.0.0.1:2587"),
        (PortMode::ImplicitTls, "--implicit-tls", "127.0.0.1:2465"),
    ] {
        let addr = o.get(flag).map_or(default, |a| a.as_str());
        if addr != "off" {
            let local = srv
                .listen(mode, addr)
                .await
                .map_err(|e| format!("bind {addr}: {e}"))?;
            eprintln!("listening {} on {local}", server::mode_name(mode));
        }
    }
    let stop = srv.shutdown_handle();
    tokio::spawn(async move {
        #[cfg(unix)]
        if let Ok(mut t) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = t.recv() => {} }
            return stop.shutdown();
        }
        let _ = tokio::signal::ctrl_c().await;
        stop.shutdown();
    });
    srv.serve().await;
    Ok(())
}

fn main() -> ExitCode {
    let r = parse_args().and_then(|opts| {
        let Some(opts) = opts else {
            println!("{USAGE}");
            return Ok(());
        };
        if !opts.0.contains_key("--quiet") {
            let fmt = tracing_subscriber::fmt().with_writer(std::io::stderr);
            fmt.without_time().with_target(false).init();
        }
        let threads = num(&opts.0, "--threads")?;
        let o = opts.0.clone();
        let srv = build(opts)?;
        let mut rt = match threads {
            Some(1) => tokio::runtime::Builder::new_current_thread(),
            _ => tokio::runtime::Builder::new_multi_thread(),
        };
        if let Some(n) = threads.filter(|&n| n > 1) {
            rt.worker_threads(usize::try_from(n).unwrap_or(1));
        }
        let rt = rt.enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(run(srv, o))
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-server: {e}");
            ExitCode::from(2)
        }
    }
}
