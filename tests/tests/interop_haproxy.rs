//! Interop with HAProxy as the PROXY protocol sender (issue 15): the real
//! demo-server binary runs with `--proxy-protocol` on 127.0.0.1 port 0;
//! `haproxy -db` forwards a TCP frontend to its relay listener with
//! `send-proxy` (version 1, PROXY protocol section 2.1) and another with
//! `send-proxy-v2` (section 2.2). A message sent through each frontend is
//! stored, its envelope's `peer:` the original client (127.0.0.1 and the
//! client socket's own port), `via:` the proxy's side of the connection.
//!
//! Needs `haproxy` (`bash scripts/install-peers.sh`); missing, the test
//! fails with that step.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use smtp_sansio::PortMode;

/// The haproxy binary (often in /usr/sbin, outside a user's PATH).
fn haproxy() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/haproxy");
    if sbin.is_file() {
        return sbin;
    }
    require_tool("haproxy", "apt-get install haproxy");
    PathBuf::from("haproxy")
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// haproxy in the foreground (`-db`), killed on drop.
struct Haproxy {
    child: Child,
    conf: PathBuf,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.conf);
    }
}

/// Starts haproxy with frontend `v1` -> `backend` with `send-proxy` and
/// frontend `v2` -> `backend` with `send-proxy-v2`.
fn start_haproxy(backend: SocketAddr, v1: u16, v2: u16) -> Haproxy {
    let conf = std::env::temp_dir().join(format!(
        "smtp-sansio-haproxy-{}-{v1}.cfg",
        std::process::id()
    ));
    let text = format!(
        "global\n    maxconn 64\n\n\
         defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
         frontend smtp_v1\n    bind 127.0.0.1:{v1}\n    default_backend mx_v1\n\n\
         frontend smtp_v2\n    bind 127.0.0.1:{v2}\n    default_backend mx_v2\n\n\
         backend mx_v1\n    server mx {backend} send-proxy\n\n\
         backend mx_v2\n    server mx {backend} send-proxy-v2\n"
    );
    std::fs::write(&conf, text).expect("write haproxy config");
    let child = Command::new(haproxy())
        .arg("-f")
        .arg(&conf)
        .arg("-db")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn haproxy");
    let h = Haproxy { child, conf };
    // Ready once both frontends accept.
    let deadline = Instant::now() + Duration::from_secs(20);
    for p in [v1, v2] {
        while std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen on {p}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    h
}

/// One transaction through `front`; returns the client socket's address.
fn send_through(front: u16, tag: &str) -> SocketAddr {
    let mut w = Wire::greeted(SocketAddr::from(([127, 0, 0, 1], front)));
    let me = w.s.local_addr().expect("client address");
    assert!(w.cmd("EHLO client.example").starts_with("250"));
    assert!(w.cmd("MAIL FROM:<alice@example.org>").starts_with("250"));
    assert!(w.cmd("RCPT TO:<bob@example.net>").starts_with("250"));
    assert!(w.cmd("DATA").starts_with("354"));
    // Dot-stuffed (RFC 5321 4.5.2): the message has lines starting with a dot.
    let mut stuffed = Vec::new();
    for line in message(tag).split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            stuffed.push(b'.');
        }
        stuffed.extend_from_slice(line);
    }
    w.send(&stuffed);
    let r = w.cmd(".");
    assert!(r.starts_with("250"), "end of data: {r}");
    assert!(w.cmd("QUIT").starts_with("221"));
    me
}

/// Waits (bounded) for `n` stored messages.
fn stored(demo: &DemoProcess, n: usize) -> Vec<(String, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = demo.messages();
        if m.len() >= n {
            return m;
        }
        assert!(Instant::now() < deadline, "{n} stored message(s) expected");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn haproxy_send_proxy_v1_and_v2_give_the_original_client() {
    let bin = haproxy();
    let demo = DemoProcess::start(&["--proxy-protocol"]);
    let (v1, v2) = (free_port(), free_port());
    let _h = start_haproxy(demo.addr(PortMode::Relay), v1, v2);
    // The readiness probes above were proxied connections closed right
    // after the header: the server closed them without storing anything.
    let a = send_through(v1, "haproxy-v1");
    let b = send_through(v2, "haproxy-v2");
    let msgs = stored(&demo, 2);
    assert_eq!(msgs.len(), 2, "{bin:?}");
    for ((env, content), (client, tag)) in msgs.iter().zip([(a, "haproxy-v1"), (b, "haproxy-v2")]) {
        assert_eq!(content, &message(tag), "{env}");
        assert!(
            env.contains(&format!("peer: 127.0.0.1:{}\n", client.port())),
            "the original client {client} in {env}"
        );
        assert!(env.contains("\nvia: 127.0.0.1:"), "{env}");
        assert!(env.starts_with("mode: relay\n"), "{env}");
    }
    // The driver logged the header.
    demo.wait_log("proxy header");
}

#[test]
fn without_a_header_the_proxied_listener_closes_silently() {
    let demo = DemoProcess::start(&["--proxy-protocol"]);
    let mut w = Wire::connect(demo.addr(PortMode::Relay));
    w.send(b"EHLO client.example\r\n");
    assert_eq!(
        w.closed_within(Duration::from_secs(10)).as_deref(),
        Some(""),
        "no greeting, nothing"
    );
    demo.wait_log("proxy header refused");
    assert!(demo.messages().is_empty());
}

#[test]
fn a_proxied_session_trace_replays_with_its_header() {
    let tdir = fresh_dir("proxy-trace");
    let demo = DemoProcess::start(&["--proxy-protocol", "--trace", path_str(&tdir)]);
    let mut w = Wire::connect(demo.addr(PortMode::Relay));
    // The header with a (refused) RCPT behind it in the same write.
    w.send(b"PROXY TCP4 192.0.2.1 198.51.100.2 40000 25\r\nRCPT TO:<bob@example.net>\r\n");
    assert!(w.reply().starts_with("220"));
    let r = w.reply();
    assert!(r.starts_with("503"), "{r}");
    assert!(w.cmd("EHLO client.example").starts_with("250"));
    assert!(w.cmd("QUIT").starts_with("221"));
    assert!(w.closed_within(Duration::from_secs(5)).is_some());
    // The refused command is logged with its own verb: the greeting is
    // paired with no command although the RCPT was read before it.
    demo.wait_log("refused RCPT");
    let deadline = Instant::now() + Duration::from_secs(10);
    let file = loop {
        let done = std::fs::read_dir(&tdir)
            .expect("trace dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.trim_end().ends_with("CLOSE")));
        if let Some(f) = done {
            break f;
        }
        assert!(Instant::now() < deadline, "no finished trace");
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&file).expect("trace");
    assert!(text.contains("# set: proxy=yes\n"), "{text}");
    assert!(text.contains("captured from 192.0.2.1:40000"), "{text}");
    assert!(text.contains("C: PROXY TCP4 "), "{text}");
    let out = Command::new(example_binary("replay"))
        .arg(&file)
        .output()
        .expect("run replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().last(),
        Some("1 passed, 0 failed"),
        "{stdout}\n{text}"
    );
    drop(demo);
    let _ = std::fs::remove_dir_all(&tdir);
}
