//! Real mail servers as client-interop peers: a private Postfix instance
//! (`smtpd` with STARTTLS, CHUNKING, PIPELINING, DSN; messages kept in its
//! hold queue and read back with `postcat`) and a private Exim daemon
//! (CHUNKING, PRDR, DSN; messages appended byte-exact to a file). Each runs
//! from its own temporary folder on a free loopback port and is stopped
//! (with every process it started) when its guard is dropped. A missing
//! peer fails the test with the install step. Set
//! `SMTP_SANSIO_KEEP_PEER_DIRS=1` to keep the temp folders (configuration,
//! queue, logs) for a look after a failure.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The install step named by every missing-peer failure.
pub const INSTALL: &str = "bash scripts/install-peers.sh";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty folder under the temp dir (removed by the peer's guard).
pub fn fresh_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "smtp-sansio-peer-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("peer folder");
    d
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct loopback ports nothing listens on right now (all bound at
/// once, so none is handed out twice).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local address").port())
}

/// A path as &str (the temp dir is UTF-8 here).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Writes a self-signed certificate for `localhost` (PEM) into `dir`.
fn write_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).expect("cert");
    std::fs::write(&key, ck.key_pair.serialize_pem()).expect("key");
    (cert, key)
}

fn chown(user: &str, path: &Path) {
    let ok = Command::new("chown")
        .args(["-R", user, s(path)])
        .status()
        .is_ok_and(|st| st.success());
    assert!(ok, "chown -R {user} {}", path.display());
}

/// Waits (bounded) until `port` accepts connections; fails with `log()`
/// when the peer exits or the deadline passes.
fn wait_listening(port: u16, child: &mut Child, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{what} exited early ({st}):\n{}", log());
        }
        assert!(
            Instant::now() < deadline,
            "{what} never listened on {port}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ----- Postfix -----------------------------------------------------------------

/// A private Postfix instance (`postfix -c DIR start-fg`): its own
/// configuration, queue and data folders under one temp folder, `smtpd`
/// on `127.0.0.1:<free port>` with STARTTLS (self-signed certificate),
/// every message put on hold (`check_client_access static:HOLD`) so that
/// the test reads it back from the hold queue with `postcat`. With
/// [`Postfix::start_with_auth`], also submission (STARTTLS required, AUTH
/// only after TLS) and implicit TLS (`smtpd_tls_wrappermode`) listeners
/// that require AUTH (Cyrus SASL, user `alice`, password `secret`, in a
/// private sasldb).
pub struct Postfix {
    /// The temp folder (config in `conf/`, queue in `queue/`).
    pub dir: PathBuf,
    /// Where `smtpd` listens (relay: STARTTLS offered, no AUTH).
    pub addr: SocketAddr,
    /// Submission (RFC 6409): STARTTLS required, then AUTH required.
    pub submission: Option<SocketAddr>,
    /// Implicit TLS (RFC 8314): AUTH required.
    pub implicit_tls: Option<SocketAddr>,
    script: Child,
}

impl Postfix {
    /// Starts the instance; `extra` lines are appended to `main.cf`.
    pub fn start(extra: &str) -> Postfix {
        Postfix::launch(extra, false)
    }

    /// [`Postfix::start`] plus the submission and implicit-TLS listeners
    /// with SASL AUTH (`alice`/`secret`).
    pub fn start_with_auth() -> Postfix {
        Postfix::launch("", true)
    }

    fn launch(extra: &str, auth: bool) -> Postfix {
        for tool in [
            "/usr/sbin/postfix",
            "/usr/sbin/postcat",
            "/usr/lib/postfix/sbin/master",
        ] {
            assert!(
                Path::new(tool).is_file(),
                "Postfix peer missing ({tool}): run `{INSTALL}` (Debian package postfix)"
            );
        }
        assert!(
            is_root(),
            "the private Postfix instance needs root (postfix -c DIR start-fg); run the test as root after `{INSTALL}`"
        );
        let dir = fresh_dir("postfix");
        let conf = dir.join("conf");
        let queue = dir.join("queue");
        let data = dir.join("data");
        for d in [&conf, &queue, &data] {
            std::fs::create_dir_all(d).expect("postfix folder");
        }
        chown("postfix", &data);
        let (cert, key) = write_cert(&conf);
        let [port, sub, imp] = free_ports::<3>();
        let mut extra = extra.to_string();
        let mut services = String::new();
        let (mut submission, mut implicit_tls) = (None, None);
        if auth {
            assert!(
                Path::new("/usr/sbin/saslpasswd2").is_file(),
                "saslpasswd2 missing (Cyrus SASL for the Postfix AUTH tests): run `{INSTALL}` (Debian package sasl2-bin)"
            );
            // Debian's Postfix reads `$config_directory/sasl/smtpd.conf`
            // whatever cyrus_sasl_config_path says.
            let sasl = conf.join("sasl");
            std::fs::create_dir_all(&sasl).expect("sasl folder");
            let db = sasl.join("sasldb2");
            std::fs::write(
                sasl.join("smtpd.conf"),
                format!(
                    "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: {}\n",
                    s(&db)
                ),
            )
            .expect("smtpd.conf");
            let mut child = Command::new("/usr/sbin/saslpasswd2")
                .args(["-p", "-c", "-f", s(&db), "-u", "postfix.test", "alice"])
                .stdin(Stdio::piped())
                .spawn()
                .expect("spawn saslpasswd2");
            {
                use std::io::Write;
                let mut stdin = child.stdin.take().expect("stdin");
                stdin.write_all(b"secret").expect("password");
            }
            assert!(
                child.wait().is_ok_and(|st| st.success()),
                "saslpasswd2 failed"
            );
            chown("postfix", &sasl);
            extra.push_str(&format!(
                "cyrus_sasl_config_path = {}\nsmtpd_sasl_type = cyrus\nsmtpd_sasl_path = smtpd\n\
                 smtpd_sasl_local_domain = postfix.test\n",
                s(&sasl)
            ));
            // Without AUTH, RCPT is refused (client restrictions apply at
            // RCPT); the relay listener's HOLD rule stays first.
            let auth_opts = "  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
";
            services = format!(
                "127.0.0.1:{sub} inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
{auth_opts}127.0.0.1:{imp} inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
{auth_opts}"
            );
            submission = Some(([127, 0, 0, 1], sub).into());
            implicit_tls = Some(([127, 0, 0, 1], imp).into());
        }
        let main_cf = format!(
            "compatibility_level = 3.6
config_directory = {conf}
queue_directory = {queue}
data_directory = {data}
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {log}
maillog_file_prefixes = {root}
myhostname = postfix.test
mydomain = test
myorigin = postfix.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_header_rewrite_clients =
message_size_limit = 0
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_client_access static:HOLD, permit_mynetworks, reject
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
{extra}
",
            conf = s(&conf),
            queue = s(&queue),
            data = s(&data),
            log = s(&dir.join("maillog")),
            root = s(&dir),
            cert = s(&cert),
            key = s(&key),
        );
        std::fs::write(conf.join("main.cf"), main_cf).expect("main.cf");
        // Only the services an SMTP receiver needs, none chrooted.
        let master_cf = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
postlog unix-dgram n - n - 1 postlogd
{services}"
        );
        std::fs::write(conf.join("master.cf"), master_cf).expect("master.cf");
        let script = Command::new("/usr/sbin/postfix")
            .args(["-c", s(&conf), "start-fg"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn postfix start-fg");
        let mut p = Postfix {
            dir,
            addr: ([127, 0, 0, 1], port).into(),
            submission,
            implicit_tls,
            script,
        };
        let log = p.dir.join("maillog");
        let ports = [Some(p.addr), p.submission, p.implicit_tls];
        for a in ports.into_iter().flatten() {
            wait_listening(a.port(), &mut p.script, "postfix", || {
                std::fs::read_to_string(&log).unwrap_or_default()
            });
        }
        p
    }

    /// The instance's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// The `smtpd` line logged at the end of the session that sent MAIL,
    /// with its command counts (`ehlo=2 starttls=1 mail=1 rcpt=2 bdat=N
    /// quit=1 commands=...`): waits (bounded) for it, since `smtpd` logs it
    /// after the client has its 221; the harness's probe connection logs
    /// one too (without `mail=`), possibly later.
    pub fn session_line(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            if let Some(l) = log
                .lines()
                .rev()
                .find(|l| l.contains("disconnect from") && l.contains(" mail="))
            {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no disconnect line of a MAIL session in Postfix's log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The queue files on hold, waiting (bounded) until `n` are there.
    pub fn held(&self, n: usize) -> Vec<PathBuf> {
        let hold = self.dir.join("queue/hold");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&hold)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            if files.len() >= n {
                files.sort();
                return files;
            }
            assert!(
                Instant::now() < deadline,
                "postfix held {} messages, expected {n}:\n{}",
                files.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn postcat(&self, args: &[&str], file: &Path) -> Vec<u8> {
        let out = Command::new("/usr/sbin/postcat")
            .args(["-c", s(&self.dir.join("conf"))])
            .args(args)
            .arg(file)
            .output()
            .expect("run postcat");
        assert!(
            out.status.success(),
            "postcat failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The envelope records of a queue file (`postcat -e`), as text.
    pub fn envelope(&self, file: &Path) -> String {
        String::from_utf8_lossy(&self.postcat(&["-e"], file)).into_owned()
    }

    /// The message of a queue file as the client sent it: `postcat -hb`
    /// (header and body records, one line each) without the `Received:`
    /// header Postfix put first, lines ended in CRLF again. Postfix stores
    /// lines, not line endings, so for a CRLF message this is byte-exact.
    pub fn message(&self, file: &Path) -> Vec<u8> {
        let text = self.postcat(&["-hb"], file);
        let mut lines = text.split(|&b| b == b'\n').peekable();
        let first = lines.next().unwrap_or_default();
        assert!(
            first.starts_with(b"Received: "),
            "postfix did not add its Received header first: {:?}",
            String::from_utf8_lossy(first)
        );
        while lines
            .peek()
            .is_some_and(|l| l.starts_with(b"\t") || l.starts_with(b" "))
        {
            lines.next();
        }
        let mut out = Vec::with_capacity(text.len() + text.len() / 16);
        let rest: Vec<&[u8]> = lines.collect();
        // `split` yields an empty piece after the final LF.
        let n = rest.len().saturating_sub(1);
        for l in &rest[..n] {
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// The Received header Postfix added (first line).
    pub fn received(&self, file: &Path) -> String {
        let text = self.postcat(&["-h"], file);
        let t = String::from_utf8_lossy(&text);
        let mut r = String::new();
        for (i, l) in t.lines().enumerate() {
            if i > 0 && !l.starts_with('\t') && !l.starts_with(' ') {
                break;
            }
            r.push_str(l);
            r.push('\n');
        }
        r
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // `abort` stops the master (and with it every Postfix process of
        // this instance) at once; then the start-fg script ends.
        let _ = Command::new("/usr/sbin/postfix")
            .args(["-c", s(&self.dir.join("conf")), "abort"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.script.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.script.kill();
        let _ = self.script.wait();
        if std::env::var_os("SMTP_SANSIO_KEEP_PEER_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

// ----- Exim ----------------------------------------------------------------------

/// The Exim binary `scripts/install-peers.sh` unpacks under the target
/// folder (`target/peers/exim4/usr/sbin/exim4`, or under
/// `$CARGO_TARGET_DIR`): the Debian exim4-daemon-light package cannot be
/// installed next to Postfix (both are the system MTA), so its binary is
/// extracted and run with its own configuration (`-C`).
pub fn exim_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    };
    target.join("peers/exim4/usr/sbin/exim4")
}

/// A private Exim daemon (`exim4 -C CONF -bdf -oX PORT`) with an
/// accept-all ACL, CHUNKING, PRDR, DSN and PIPELINING advertised, STARTTLS
/// with a self-signed certificate, no Received header, and every message
/// appended byte-exact (CRLF, no mbox From line or escaping) to
/// `out/mail`.
pub struct Exim {
    /// The temp folder.
    pub dir: PathBuf,
    /// Where the daemon listens.
    pub addr: SocketAddr,
    child: Child,
}

impl Exim {
    /// Starts the daemon; `extra` lines go into the main section.
    pub fn start(extra: &str) -> Exim {
        let bin = exim_binary();
        assert!(
            bin.is_file(),
            "Exim peer missing ({}): run `{INSTALL}` (it unpacks exim4-daemon-light there)",
            bin.display()
        );
        assert!(
            is_root(),
            "the private Exim daemon needs root (exim4 -C); run the test as root after `{INSTALL}`"
        );
        let user = Command::new("getent")
            .args(["passwd", "Debian-exim"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            user,
            "the Exim peer needs its system user Debian-exim: run `{INSTALL}`"
        );
        let dir = fresh_dir("exim");
        let spool = dir.join("spool");
        let out = dir.join("out");
        std::fs::create_dir_all(&spool).expect("spool");
        std::fs::create_dir_all(&out).expect("out");
        let (cert, key) = write_cert(&dir);
        // The key is read after Exim dropped to its user.
        let _ = Command::new("chmod").args(["644", s(&key)]).status();
        chown("Debian-exim", &spool);
        chown("Debian-exim", &out);
        let port = free_port();
        let conf = format!(
            "exim_path = {bin}
primary_hostname = exim.test
spool_directory = {spool}
log_file_path = {spool}/%slog
exim_user = Debian-exim
exim_group = Debian-exim
local_interfaces = 127.0.0.1
host_lookup =
rfc1413_hosts =
keep_environment =
received_header_text =
chunking_advertise_hosts = *
prdr_enable = true
dsn_advertise_hosts = *
pipelining_advertise_hosts = *
tls_advertise_hosts = *
tls_certificate = {cert}
tls_privatekey = {key}
message_size_limit = 0
acl_smtp_rcpt = accept_all
acl_smtp_data = accept_all
acl_smtp_data_prdr = accept_all
{extra}

begin acl
accept_all:
  accept

begin routers
everything:
  driver = accept
  transport = to_file

begin transports
to_file:
  driver = appendfile
  file = {out}/mail
  user = Debian-exim
  group = Debian-exim
  mode = 0644
  use_crlf = true
  message_prefix =
  message_suffix =
  check_string =
  escape_string =
",
            bin = s(&bin),
            spool = s(&spool),
            out = s(&out),
            cert = s(&cert),
            key = s(&key),
        );
        let conf_path = dir.join("exim.conf");
        std::fs::write(&conf_path, conf).expect("exim.conf");
        let child = Command::new(&bin)
            .args([
                "-C",
                s(&conf_path),
                "-bdf",
                "-odi",
                "-oX",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn exim4");
        let mut e = Exim {
            dir,
            addr: ([127, 0, 0, 1], port).into(),
            child,
        };
        let d = e.dir.clone();
        wait_listening(port, &mut e.child, "exim", || {
            std::fs::read_to_string(d.join("spool/mainlog")).unwrap_or_default()
                + &std::fs::read_to_string(d.join("spool/paniclog")).unwrap_or_default()
        });
        e
    }

    /// The main log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("spool/mainlog")).unwrap_or_default()
    }

    /// The delivered mail file once `n` deliveries are logged as completed.
    pub fn delivered(&self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            if log.matches(" Completed").count() >= n {
                return std::fs::read(self.dir.join("out/mail")).expect("exim's mail file");
            }
            assert!(
                Instant::now() < deadline,
                "exim completed fewer than {n} deliveries:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Exim {
    fn drop(&mut self) {
        // SIGTERM to the daemon; its delivery processes are done (the test
        // waited for them) or end with it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("SMTP_SANSIO_KEEP_PEER_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
