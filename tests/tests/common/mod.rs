//! Harness for the interop tests: a server on the driver crate
//! (`smtp-sansio-tokio`) runs in-process (one tokio runtime per test,
//! listeners on 127.0.0.1 port 0, a fresh mail folder, the demo's user and
//! storage), peers run as child processes with a deadline and are killed
//! when it passes.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use smtp_sansio::PortMode;
use smtp_sansio_tokio::server::store::{MailDir, MessageWriter, envelope_text};
use smtp_sansio_tokio::server::{self, Connection, Decision, Handler, Message, Session};

/// How long one peer process may run.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// The message every client sends (CRLF line endings, a leading dot to
/// exercise dot-stuffing, an empty line, a line that is only a dot, a
/// longer line and 8-bit-free text).
pub fn message(tag: &str) -> Vec<u8> {
    let mut m = format!(
        "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: interop {tag}\r\n\
         Message-ID: <{tag}@interop.test>\r\n\r\n\
         first line\r\n.leading dot\r\n..two dots\r\n\r\n.\r\nafter the dot line\r\n"
    )
    .into_bytes();
    for i in 0..40 {
        m.extend_from_slice(format!("line {i:03} {}\r\n", "x".repeat(60)).as_bytes());
    }
    m.extend_from_slice(b"end\r\n");
    m
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// Counters the tests read, kept by [`Demo`]'s sessions.
#[derive(Default, Debug)]
pub struct Stats {
    /// Sessions started (the handler's `connect`).
    pub sessions: AtomicU64,
    /// MAIL commands handed to the application.
    pub mail_events: AtomicU64,
    /// Messages accepted with 250.
    pub messages: AtomicU64,
    /// Protocol violations the core reported.
    pub violations: AtomicU64,
    /// TLS handshakes completed (implicit TLS and STARTTLS).
    pub tls_handshakes: AtomicU64,
    /// Successful AUTH exchanges.
    pub auth_ok: AtomicU64,
    /// Sessions that ended (whatever the reason).
    pub sessions_ended: AtomicU64,
}

/// The demo's behaviour as a driver handler: user `alice:secret`, every
/// message stored durably in a [`MailDir`], counters for the tests.
pub struct Demo {
    /// The counters.
    pub stats: Arc<Stats>,
    store: Arc<MailDir>,
}

/// One session of [`Demo`].
pub struct DemoSession {
    stats: Arc<Stats>,
    store: Arc<MailDir>,
    writer: Option<MessageWriter>,
}

impl Handler for Demo {
    type Session = DemoSession;
    async fn connect(&self, _: &Connection) -> Result<DemoSession, smtp_sansio::OwnedReply> {
        self.stats.sessions.fetch_add(1, Ordering::SeqCst);
        Ok(DemoSession {
            stats: self.stats.clone(),
            store: self.store.clone(),
            writer: None,
        })
    }
}

impl Session for DemoSession {
    async fn auth(&mut self, user: &str, password: &str) -> Decision {
        if user == "alice" && password == "secret" {
            self.stats.auth_ok.fetch_add(1, Ordering::SeqCst);
            Decision::Accept
        } else {
            Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
        }
    }
    async fn mail(
        &mut self,
        _: &smtp_sansio::ReversePath<'_>,
        _: &smtp_sansio::MailParams<'_>,
    ) -> Decision {
        self.stats.mail_events.fetch_add(1, Ordering::SeqCst);
        Decision::Accept
    }
    async fn data_start(&mut self, _: smtp_sansio::ContentKind) {
        self.writer = Some(self.store.writer());
    }
    async fn data(&mut self, piece: &[u8]) {
        if let Some(w) = &mut self.writer {
            w.write(piece).await;
        }
    }
    async fn message(&mut self, msg: &Message<'_>) -> Decision {
        let Some(w) = self.writer.take() else {
            return Decision::reply(451, (4, 3, 0), "no writer");
        };
        match w.commit(envelope_text(msg)).await {
            Ok(_) => {
                self.stats.messages.fetch_add(1, Ordering::SeqCst);
                Decision::Accept
            }
            Err(_) => Decision::reply(451, (4, 3, 0), "Local error in processing"),
        }
    }
    fn aborted(&mut self, _: smtp_sansio::AbortReason) {
        self.writer = None;
    }
    fn tls_started(&mut self) {
        self.stats.tls_handshakes.fetch_add(1, Ordering::SeqCst);
    }
    fn violation(&mut self, _: smtp_sansio::Violation) {
        self.stats.violations.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for DemoSession {
    fn drop(&mut self) {
        self.stats.sessions_ended.fetch_add(1, Ordering::SeqCst);
    }
}

/// A self-signed rustls configuration for `localhost` and `127.0.0.1`.
pub fn self_signed_tls() -> Arc<tokio_rustls::rustls::ServerConfig> {
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let ck = rcgen::generate_simple_self_signed(names).expect("self-signed certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    server::tls_config(vec![ck.cert.der().clone()], key).expect("TLS config")
}

/// A driver-based demo server with the three listeners on port 0 and its
/// own folder.
pub struct TestServer {
    rt: Option<tokio::runtime::Runtime>,
    stop: server::Shutdown,
    addrs: Vec<(PortMode, SocketAddr)>,
    /// The mail folder.
    pub dir: PathBuf,
    /// The counters.
    pub stats: Arc<Stats>,
}

impl TestServer {
    /// Starts a server (storage on) with the user `alice:secret`.
    pub fn start() -> TestServer {
        let dir = std::env::temp_dir().join(format!(
            "smtp-sansio-interop-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, _) = MailDir::open(&dir).expect("mail folder");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let stats = Arc::new(Stats::default());
        let demo = Demo {
            stats: stats.clone(),
            store,
        };
        let mut srv = server::Server::new(demo)
            .hostname("localhost")
            .tls(self_signed_tls());
        let mut addrs = Vec::new();
        rt.block_on(async {
            for mode in [PortMode::Relay, PortMode::Submission, PortMode::ImplicitTls] {
                let a = srv
                    .listen(mode, "127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                addrs.push((mode, a));
            }
        });
        let stop = srv.shutdown_handle();
        rt.spawn(srv.serve());
        TestServer {
            rt: Some(rt),
            stop,
            addrs,
            dir,
            stats,
        }
    }

    /// The listener of a mode.
    pub fn addr(&self, mode: PortMode) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, a)| *a)
            .expect("listener for mode")
    }

    /// The runtime (for in-test async helpers such as the MITM proxy).
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime")
    }

    /// Stored messages, oldest first: (envelope text, content bytes).
    pub fn messages(&self) -> Vec<(String, Vec<u8>)> {
        stored_pairs(&self.dir)
    }

    /// Every file in the folder (including temporary ones).
    pub fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.dir)
            .expect("read mail folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect()
    }

    /// Waits (bounded) until every session that started has ended.
    pub fn wait_sessions_ended(&self) {
        let s = &self.stats;
        let deadline = Instant::now() + Duration::from_secs(10);
        while s.sessions_ended.load(Ordering::SeqCst) < s.sessions.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "sessions did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A counter's value.
    pub fn stat(&self, f: impl Fn(&Stats) -> &AtomicU64) -> u64 {
        f(&self.stats).load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(self.dir.with_extension("in"));
    }
}

/// Fails the test, naming the install step, when `tool` is missing.
pub fn require_tool(tool: &str, install: &str) {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(tool);
            p.is_file()
        })
    });
    assert!(
        found,
        "interop peer `{tool}` is missing: run `bash scripts/install-peers.sh` (or `{install}`)"
    );
}

/// swaks with TLS (`--tls`, `--tlsc`): swaks itself and Perl's
/// Net::SSLeay, without which swaks exits before connecting.
pub fn require_swaks_tls() {
    require_tool("swaks", "apt-get install -y swaks");
    let ok = std::process::Command::new("perl")
        .args(["-MNet::SSLeay", "-e1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "swaks cannot do TLS without Perl's Net::SSLeay: run `bash scripts/install-peers.sh` (or `apt-get install -y libnet-ssleay-perl`)"
    );
}

/// The interpreter of the Python peers' virtual environment that
/// `scripts/install-peers.sh` makes under the target folder:
/// `$CARGO_TARGET_DIR/peers-venv` (relative to the workspace root when
/// relative) or `target/peers-venv`. Python peers (aiosmtpd) run with it;
/// nothing is installed system-wide.
pub fn peers_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    };
    target.join("peers-venv").join("bin").join("python")
}

/// Fails the test, naming the install step, when a Python module is
/// missing from the peers' virtual environment ([`peers_python`]).
pub fn require_python_module(module: &str, install: &str) {
    let python = peers_python();
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Python module `{module}` is missing from {}: run `bash scripts/install-peers.sh` \
         (it runs `{install}` in that virtual environment)",
        python.display()
    );
}

/// What a peer process did.
#[derive(Debug)]
pub struct PeerOutput {
    /// Exit status (None: killed at the deadline).
    pub status: Option<std::process::ExitStatus>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl PeerOutput {
    /// Whether the process exited 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs a peer with `stdin` as its input; kills it after [`PEER_TIMEOUT`].
pub fn run_peer(cmd: &mut Command, stdin: &[u8]) -> PeerOutput {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let r_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let r_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + PEER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&r_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&r_err.join().unwrap_or_default()).into_owned();
    PeerOutput {
        status,
        stdout,
        stderr,
    }
}

/// Writes `bytes` to a fresh file in the server's folder's sibling temp
/// folder and returns its path (removed when the server is dropped).
pub fn temp_file(server: &TestServer, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = server.dir.with_extension("in");
    std::fs::create_dir_all(&dir).expect("input dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write input");
    p
}

/// Asserts that exactly one message was stored, byte-exact, with this
/// envelope sender, recipient and TLS/AUTH state.
pub fn assert_stored(server: &TestServer, expected: &[u8], tls: bool, auth: Option<&str>) {
    server.wait_sessions_ended();
    assert_eq!(server.stat(|s| &s.mail_events), 1);
    let msgs = server.messages();
    assert_eq!(
        msgs.len(),
        1,
        "expected one stored message, got {}",
        msgs.len()
    );
    let (env, content) = &msgs[0];
    if content != expected {
        panic!(
            "stored message differs\n--- stored ---\n{}\n--- sent ---\n{}",
            String::from_utf8_lossy(content).escape_debug(),
            String::from_utf8_lossy(expected).escape_debug()
        );
    }
    assert!(env.contains("from: <alice@example.org>\n"), "{env}");
    assert!(env.contains("to: <bob@example.net>\n"), "{env}");
    let tls_line = if tls { "tls: yes\n" } else { "tls: no\n" };
    assert!(env.contains(tls_line), "{env}");
    let auth_line = format!("auth: {}\n", auth.unwrap_or("-"));
    assert!(env.contains(&auth_line), "{env}");
    assert!(
        server
            .files()
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".tmp")),
        "temporary files left behind"
    );
}

/// Port of a socket address as a string.
pub fn port(a: SocketAddr) -> String {
    a.port().to_string()
}

/// A path as &str (the temp dir is UTF-8 here).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

// ----- the real demo-server binary ----------------------------------------

/// The examples' folder of the profile this test was built with
/// (`target/<profile>/examples`), after building `name` there: the tests
/// run the example binaries themselves, not a copy of their code.
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|n| n == name) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // The example's package: the driver crate's examples live in
        // smtp-tokio/examples, the core's in smtp-proto/examples.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ex = root.join("smtp-tokio/examples");
        let package = if ex.join(name).is_dir() || ex.join(format!("{name}.rs")).is_file() {
            "smtp-sansio-tokio"
        } else {
            "smtp-sansio"
        };
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", package, "--example", name]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --example {name} failed");
        built.push(name.to_string());
    }
    let bin = profile_dir.join("examples").join(name);
    assert!(bin.is_file(), "{} missing", bin.display());
    bin
}

/// A demo-server process (`examples/demo-server`) on 127.0.0.1 port 0,
/// its own mail folder, killed on drop. Its stderr (log lines) is
/// collected.
pub struct DemoProcess {
    child: std::process::Child,
    log: Arc<std::sync::Mutex<Vec<String>>>,
    addrs: Vec<(PortMode, SocketAddr)>,
    /// The mail folder.
    pub dir: PathBuf,
    remove_dir: bool,
}

/// A fresh folder name under the temp dir.
pub fn fresh_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "smtp-sansio-demo-{tag}-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

impl DemoProcess {
    /// Starts the binary with a fresh mail folder and `extra` options.
    pub fn start(extra: &[&str]) -> DemoProcess {
        let dir = fresh_dir("mail");
        let mut p = DemoProcess::start_in(&dir, extra);
        p.remove_dir = true;
        p
    }

    /// Starts the binary on the mail folder `dir` (left in place).
    pub fn start_in(dir: &Path, extra: &[&str]) -> DemoProcess {
        let bin = example_binary("demo-server");
        let mut child = Command::new(bin)
            .args([
                "--relay",
                "127.0.0.1:0",
                "--submission",
                "127.0.0.1:0",
                "--implicit-tls",
                "127.0.0.1:0",
                "--maildir",
                path_str(dir),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn demo-server");
        let err = child.stderr.take().expect("stderr");
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    if line.starts_with("listening ") {
                        let _ = tx.send(line.clone());
                    }
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let mut addrs = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while addrs.len() < 3 {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("demo-server did not listen: {:?}", log.lock()));
            // "listening relay on 127.0.0.1:PORT"
            let mut w = line.split_whitespace().skip(1);
            let mode = match w.next() {
                Some("relay") => PortMode::Relay,
                Some("submission") => PortMode::Submission,
                _ => PortMode::ImplicitTls,
            };
            let addr = w.nth(1).and_then(|a| a.parse().ok()).expect("address");
            addrs.push((mode, addr));
        }
        DemoProcess {
            child,
            log,
            addrs,
            dir: dir.to_path_buf(),
            remove_dir: false,
        }
    }

    /// The listener of a mode.
    pub fn addr(&self, mode: PortMode) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, a)| *a)
            .expect("listener for mode")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (bounded) for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(l) = self.log().into_iter().find(|l| l.contains(needle)) {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}: {:#?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, no cleanup of the folder (crash tests).
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.remove_dir = false;
    }

    /// Stored messages (complete pairs), oldest first: (envelope, content).
    pub fn messages(&self) -> Vec<(String, Vec<u8>)> {
        stored_pairs(&self.dir)
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The complete `.eml`/`.env` pairs of a mail folder, oldest first.
pub fn stored_pairs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter(|p| p.with_extension("env").is_file())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            let env = std::fs::read_to_string(p.with_extension("env")).expect("envelope");
            (env, std::fs::read(&p).expect("message"))
        })
        .collect()
}

/// A plain SMTP client socket with a read deadline.
pub struct Wire {
    /// The socket.
    pub s: std::net::TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    /// Connects (5 s read timeout per call).
    pub fn connect(addr: SocketAddr) -> Wire {
        let s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        s.set_nodelay(true).expect("nodelay");
        Wire { s, buf: Vec::new() }
    }

    /// Wraps a connected socket (5 s read timeout per call).
    pub fn from_stream(s: std::net::TcpStream) -> Wire {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.set_nodelay(true);
        Wire { s, buf: Vec::new() }
    }

    /// Connects and reads the greeting (asserted 220).
    pub fn greeted(addr: SocketAddr) -> Wire {
        let mut w = Wire::connect(addr);
        let g = w.reply();
        assert!(g.starts_with("220"), "greeting {g:?}");
        w
    }

    /// Sends bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// The next whole reply (all its lines), or "" at EOF / read error.
    pub fn reply(&mut self) -> String {
        let mut start = 0;
        loop {
            // A complete reply ends with a line whose 4th octet is a space
            // (or that is only the code).
            while let Some(i) = self.buf[start..].windows(2).position(|w| w == b"\r\n") {
                let end = start + i + 2;
                let line = &self.buf[start..end];
                if line.get(3) != Some(&b'-') {
                    let r: Vec<u8> = self.buf.drain(..end).collect();
                    return String::from_utf8_lossy(&r).into_owned();
                }
                start = end;
            }
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => {
                    let rest: Vec<u8> = std::mem::take(&mut self.buf);
                    return String::from_utf8_lossy(&rest).into_owned();
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a command and returns its reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Whether the server closed: reads until EOF within `within`
    /// (returning everything read) or None if the connection stayed open.
    pub fn closed_within(&mut self, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        let mut all = std::mem::take(&mut self.buf);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.buf = all;
                return None;
            }
            self.s
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("read timeout");
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) => return Some(String::from_utf8_lossy(&all).into_owned()),
                Ok(n) => all.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                // A reset is a close too.
                Err(_) => return Some(String::from_utf8_lossy(&all).into_owned()),
            }
        }
    }
}
