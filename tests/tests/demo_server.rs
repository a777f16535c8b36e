//! Socket tests against the real demo-server binary
//! (`examples/demo-server`, built by the test and run as a process on
//! 127.0.0.1 port 0): BDAT framing (issue 11 items 1-2), timeouts (8),
//! connection limit (10), crash leftovers (11), envelope escaping (12),
//! streamed traces (13), logs and `--help` of the examples (14), storage
//! under concurrency (group commit).
//!
//! Timeouts run with `--timeout 1` or `2`; the bounds asserted are
//! generous (a session must be closed within several times its timeout),
//! so these are behaviour tests, not speed tests.

mod common;

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use smtp_sansio::PortMode;

fn relay_txn(w: &mut Wire) {
    let r = w.cmd("EHLO client.example.org");
    assert!(r.starts_with("250"), "{r}");
    let r = w.cmd("MAIL FROM:<alice@example.org>");
    assert!(r.starts_with("250"), "{r}");
    let r = w.cmd("RCPT TO:<bob@example.net>");
    assert!(r.starts_with("250"), "{r}");
}

// ----- items 1 and 2: BDAT that cannot be framed / refused BDAT ----------

/// Item 1: a BDAT line refused before its size is known ends the session
/// after a 5xx; nothing behind it runs and nothing is stored.
#[test]
fn bdat_unframable_size_closes_without_running_the_chunk() {
    let demo = DemoProcess::start(&["--timeout", "5"]);
    let smuggled = "RSET\r\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@target.example>\r\nBDAT 8 LAST\r\nSMUGGLED";
    for bad in [
        "BDAT 18446744073709551616 LAST",
        "BDAT -8 LAST",
        "BDAT +8 LAST",
        "BDAT 0x10 LAST",
        "BDAT 1e3 LAST",
        "BDAT",
        "BDAT 8  LAST",
        "BDAT 8 LAST X",
        "BDAT\t8 LAST",
    ] {
        let mut w = Wire::greeted(demo.addr(PortMode::Relay));
        relay_txn(&mut w);
        w.send(format!("{bad}\r\n{smuggled}").as_bytes());
        let all = w
            .closed_within(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("{bad:?}: the session stayed open"));
        let codes: Vec<&str> = all.lines().map(|l| &l[..l.len().min(3)]).collect();
        assert!(
            codes.first().is_some_and(|c| c.starts_with('5')),
            "{bad:?}: expected a 5xx first, got {all:?}"
        );
        assert!(
            codes.iter().all(|c| !c.starts_with('2')),
            "{bad:?}: a smuggled command was accepted: {all:?}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        demo.messages().is_empty(),
        "a smuggled message was stored: {:?}",
        demo.messages()
    );
}

/// Item 2: on submission before TLS, a refused well-formed BDAT skips
/// exactly its chunk: the chunk's bytes are never run as commands.
#[test]
fn bdat_refused_before_tls_skips_its_chunk() {
    let demo = DemoProcess::start(&["--timeout", "5"]);
    for (write, forbidden) in [
        ("BDAT 10 LAST\r\nSTARTTLS\r\n", "220"),
        ("BDAT 6 LAST\r\nHELP\r\n", "214"),
    ] {
        let mut w = Wire::greeted(demo.addr(PortMode::Submission));
        let r = w.cmd("EHLO client.example.org");
        assert!(r.starts_with("250"), "{r}");
        w.send(write.as_bytes());
        let refusal = w.reply();
        assert!(
            refusal.starts_with('5'),
            "{write:?}: expected a refusal, got {refusal:?}"
        );
        // The next command is answered as itself: the chunk was skipped.
        let r = w.cmd("NOOP");
        assert!(
            !r.starts_with(forbidden),
            "{write:?}: the chunk ran as a command: {r:?}"
        );
        assert!(r.starts_with("250"), "{write:?}: NOOP got {r:?}");
    }
}

// ----- item 8: timeouts -------------------------------------------------

/// An idle session gets 421 4.4.2 and is closed once its timeout passed.
#[test]
fn idle_session_times_out() {
    let demo = DemoProcess::start(&["--timeout", "1"]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    let t = Instant::now();
    let rest = w
        .closed_within(Duration::from_secs(10))
        .expect("idle session not closed within 10 s (timeout 1 s)");
    assert!(rest.starts_with("421 4.4.2"), "{rest:?}");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "closed too early"
    );
    demo.wait_log("timeout");
}

/// A command between idle periods restarts the wait (RFC: "awaiting the
/// next command"), but only once: the session is closed one timeout after
/// the NOOP's reply, not held open.
#[test]
fn noop_then_silence_times_out() {
    let demo = DemoProcess::start(&["--timeout", "2"]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    std::thread::sleep(Duration::from_millis(1200));
    let r = w.cmd("NOOP");
    assert!(r.starts_with("250"), "NOOP within the timeout: {r:?}");
    let t = Instant::now();
    let rest = w
        .closed_within(Duration::from_secs(12))
        .expect("session not closed within 12 s of its last command (timeout 2 s)");
    assert!(rest.starts_with("421 4.4.2"), "{rest:?}");
    assert!(
        t.elapsed() >= Duration::from_millis(1800),
        "closed too early"
    );
}

/// Slowloris: a command trickled one octet every 0.3 s does not push the
/// deadline back.
#[test]
fn trickled_command_times_out() {
    let demo = DemoProcess::start(&["--timeout", "2"]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    let t = Instant::now();
    let line = format!("NOOP {}", "x".repeat(200));
    let mut closed = false;
    for b in line.bytes() {
        if w.s.write_all(&[b]).is_err() {
            closed = true;
            break;
        }
        if let Some(rest) = w.closed_within(Duration::from_millis(300)) {
            assert!(rest.starts_with("421 4.4.2"), "{rest:?}");
            closed = true;
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "trickled session still open after 15 s (timeout 2 s)"
        );
    }
    assert!(closed, "the trickle ended before the server closed");
    assert!(t.elapsed() < Duration::from_secs(15));
}

/// A stall inside DATA: 421 and close; nothing stored.
#[test]
fn stall_inside_data_times_out() {
    let demo = DemoProcess::start(&["--timeout", "1"]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    relay_txn(&mut w);
    let r = w.cmd("DATA");
    assert!(r.starts_with("354"), "{r}");
    w.send(b"Subject: stalled\r\n\r\npart of a body\r\n");
    let rest = w
        .closed_within(Duration::from_secs(10))
        .expect("stalled DATA not closed within 10 s (timeout 1 s)");
    assert!(rest.starts_with("421 4.4.2"), "{rest:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(demo.messages().is_empty());
}

/// Content trickled an octet at a time (slowloris inside DATA) times out
/// as well.
#[test]
fn trickled_content_times_out() {
    let demo = DemoProcess::start(&["--timeout", "2"]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    relay_txn(&mut w);
    let r = w.cmd("DATA");
    assert!(r.starts_with("354"), "{r}");
    let t = Instant::now();
    let mut closed = false;
    for _ in 0..100 {
        if w.s.write_all(b"x").is_err() {
            closed = true;
            break;
        }
        if let Some(rest) = w.closed_within(Duration::from_millis(250)) {
            assert!(rest.starts_with("421 4.4.2"), "{rest:?}");
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "trickled DATA held the session for {:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(15));
}

/// A complete message still goes through with a short timeout (the
/// timeouts do not cut off a client that keeps up).
#[test]
fn message_within_timeout_is_stored() {
    let demo = DemoProcess::start(&["--timeout", "2"]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    relay_txn(&mut w);
    let r = w.cmd("DATA");
    assert!(r.starts_with("354"), "{r}");
    // 200 KiB in several writes: each block restarts the data-block wait.
    for i in 0..200 {
        w.send(format!("line {i:04} {}\r\n", "y".repeat(1000)).as_bytes());
    }
    let r = w.cmd(".");
    assert!(r.starts_with("250"), "{r}");
    let r = w.cmd("QUIT");
    assert!(r.starts_with("221"), "{r}");
    assert_eq!(demo.messages().len(), 1);
}

// ----- item 10: connection limit ------------------------------------------

#[test]
fn connections_beyond_the_limit_get_421_and_the_others_are_served() {
    let demo = DemoProcess::start(&["--max-connections", "2", "--timeout", "20"]);
    let addr = demo.addr(PortMode::Relay);
    let mut a = Wire::greeted(addr);
    let mut b = Wire::greeted(demo.addr(PortMode::Submission));
    // The limit is over every listener.
    for over in [addr, demo.addr(PortMode::Submission)] {
        let mut c = Wire::connect(over);
        let rest = c
            .closed_within(Duration::from_secs(10))
            .expect("over-limit connection not closed");
        assert!(rest.starts_with("421 4.7.0"), "{rest:?}");
    }
    // The others go on as before.
    let r = b.cmd("NOOP");
    assert!(r.starts_with("250"), "{r}");
    relay_txn(&mut a);
    let r = a.cmd("DATA");
    assert!(r.starts_with("354"), "{r}");
    let r = a.cmd("Subject: limit\r\n\r\nbody\r\n.");
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(demo.messages().len(), 1);
    // A slot freed is a slot again.
    let r = a.cmd("QUIT");
    assert!(r.starts_with("221"), "{r}");
    assert!(a.closed_within(Duration::from_secs(5)).is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut d = Wire::connect(addr);
        let g = d.reply();
        if g.starts_with("220") {
            break;
        }
        assert!(g.starts_with("421 4.7.0"), "{g:?}");
        assert!(Instant::now() < deadline, "the freed slot never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    demo.wait_log("max-connections");
}

// ----- item 11: crash leftovers ------------------------------------------

fn mtime(p: &std::path::Path) -> std::time::SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .expect("mtime")
}

#[test]
fn leftovers_are_removed_at_start_and_complete_pairs_kept() {
    let dir = fresh_dir("leftovers");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    w("100.1.eml", "Subject: kept\r\n\r\nkept\r\n");
    w("100.1.env", "mode: relay\nfrom: <a@example.org>\n");
    w(".100.2.eml.tmp", "half");
    w(".100.3.env.tmp", "half");
    w("100.4.eml", "Subject: no envelope\r\n\r\n");
    w("100.5.env", "mode: relay\n");
    w("README", "not ours");
    let kept_eml = mtime(&dir.join("100.1.eml"));
    let kept_env = mtime(&dir.join("100.1.env"));
    let demo = DemoProcess::start_in(&dir, &[]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    assert_eq!(names, ["100.1.eml", "100.1.env", "README"]);
    assert_eq!(
        std::fs::read(dir.join("100.1.eml")).expect("kept"),
        b"Subject: kept\r\n\r\nkept\r\n"
    );
    assert_eq!(mtime(&dir.join("100.1.eml")), kept_eml);
    assert_eq!(mtime(&dir.join("100.1.env")), kept_env);
    let log = demo.log().join("\n");
    for gone in ["100.4.eml", "100.5.env", ".100.2.eml.tmp", ".100.3.env.tmp"] {
        assert!(log.contains(&format!("removed leftover {gone}")), "{log}");
    }
    drop(demo);
    let _ = std::fs::remove_dir_all(&dir);
}

/// kill -9 while clients deliver: after a restart every message that got
/// a 250 is there, complete, and nothing incomplete is left.
#[test]
fn kill9_during_delivery_loses_nothing_accepted() {
    let dir = fresh_dir("kill9");
    let demo = DemoProcess::start_in(&dir, &["--quiet"]);
    let addr = demo.addr(PortMode::Relay);
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for c in 0..4 {
        let accepted = accepted.clone();
        clients.push(std::thread::spawn(move || {
            let Ok(s) = std::net::TcpStream::connect(addr) else {
                return;
            };
            let mut w = Wire::from_stream(s);
            if !w.reply().starts_with("220") || !w.cmd("EHLO c").starts_with("250") {
                return;
            }
            for i in 0..10_000 {
                let tag = format!("k9-{c}-{i}");
                if !w.cmd("MAIL FROM:<a@example.org>").starts_with("250")
                    || !w.cmd("RCPT TO:<b@example.net>").starts_with("250")
                    || !w.cmd("DATA").starts_with("354")
                {
                    return;
                }
                let r = w.cmd(&format!("Subject: {tag}\r\n\r\n{}\r\n.", "z".repeat(3000)));
                if !r.starts_with("250") {
                    return;
                }
                accepted.lock().expect("lock").push(tag);
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    demo.kill9();
    for c in clients {
        let _ = c.join();
    }
    let accepted = accepted.lock().expect("lock").clone();
    assert!(
        !accepted.is_empty(),
        "no message got through before the kill"
    );
    let demo = DemoProcess::start_in(&dir, &[]);
    let stored = stored_pairs(&dir);
    for tag in &accepted {
        let needle = format!("Subject: {tag}\r\n");
        assert!(
            stored.iter().any(
                |(_, m)| m.starts_with(needle.as_bytes()) && m.len() == needle.len() + 2 + 3002
            ),
            "{tag} got a 250 but is missing or incomplete"
        );
    }
    for name in std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
    {
        assert!(!name.ends_with(".tmp"), "leftover {name}");
        let (id, ext) = name.rsplit_once('.').expect("id.ext");
        let partner = if ext == "eml" { "env" } else { "eml" };
        assert!(
            dir.join(format!("{id}.{partner}")).is_file(),
            "{name} without its partner"
        );
    }
    drop(demo);
    let _ = std::fs::remove_dir_all(&dir);
}

// ----- item 12: envelope escaping ----------------------------------------

/// Unescapes a `.env` value (`\\` and `\xHH`).
fn unescape(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn envelope_fields_cannot_be_forged_from_the_wire() {
    let demo = DemoProcess::start(&[]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    let r = w.cmd("EHLO client.example.org");
    assert!(r.contains("SMTPUTF8"), "{r}");
    let local = "\"x\u{2028}to: <victim@evil.example>\u{2029}auth: alice\u{85}size: 1\"";
    let from = format!("<{local}@b.example>");
    let r = w.cmd(&format!("MAIL FROM:{from} SMTPUTF8"));
    assert!(r.starts_with("250"), "{r}");
    let r = w.cmd("RCPT TO:<bob@example.net>");
    assert!(r.starts_with("250"), "{r}");
    let r = w.cmd("DATA");
    assert!(r.starts_with("354"), "{r}");
    let r = w.cmd("Subject: forged?\r\n\r\nbody\r\n.");
    assert!(r.starts_with("250"), "{r}");
    let msgs = demo.messages();
    assert_eq!(msgs.len(), 1);
    let env = &msgs[0].0;
    // Printable ASCII and the LF ending each field, nothing else: one
    // field is one line under any line-splitting rule.
    assert!(
        env.bytes()
            .all(|b| b == b'\n' || (0x20..=0x7e).contains(&b)),
        "{env:?}"
    );
    let fields: Vec<&str> = env.lines().collect();
    let keys: Vec<&str> = fields
        .iter()
        .map(|l| l.split_once(": ").expect("key: value").0)
        .collect();
    assert_eq!(
        keys,
        ["mode", "peer", "helo", "tls", "auth", "from", "to", "size"],
        "{env}"
    );
    assert!(env.contains("\nauth: -\n"), "{env}");
    assert!(env.contains("\nto: <bob@example.net>\n"), "{env}");
    let value = fields[5].strip_prefix("from: ").expect("from");
    assert_eq!(unescape(value), from.as_bytes(), "{value}");
}

// ----- item 9: memory back to idle ----------------------------------------

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// Sessions that each had an oversized message refused go back to their
/// idle cost: ten of them do not hold ten content buffers.
#[test]
fn refused_big_messages_do_not_keep_their_buffers() {
    let demo = DemoProcess::start(&["--quiet", "--threads", "1"]);
    let addr = demo.addr(PortMode::Relay);
    let before = rss_kib(demo.pid());
    let chunk = vec![b'a'; 1 << 20];
    let mut sessions = Vec::new();
    for _ in 0..6 {
        let mut w = Wire::greeted(addr);
        relay_txn(&mut w);
        let r = w.cmd("DATA");
        assert!(r.starts_with("354"), "{r}");
        for _ in 0..11 {
            let mut line = chunk.clone();
            line.extend_from_slice(b"\r\n");
            w.send(&line);
        }
        let r = w.cmd(".");
        assert!(r.starts_with("552") || r.starts_with('5'), "{r}");
        let r = w.cmd("NOOP");
        assert!(
            r.starts_with("250"),
            "session usable after the refusal: {r}"
        );
        sessions.push(w);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kib(demo.pid());
    // Six sessions at a 10 MiB high-water mark would hold 60 MiB.
    assert!(
        after.saturating_sub(before) < 24 * 1024,
        "idle sessions hold {} KiB after refused 11 MiB messages",
        after.saturating_sub(before)
    );
}

// ----- item 13: --trace streams ------------------------------------------

#[test]
fn trace_is_streamed_to_its_file() {
    let tdir = fresh_dir("trace");
    let demo = DemoProcess::start(&["--trace", path_str(&tdir), "--discard"]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    relay_txn(&mut w);
    let r = w.cmd("DATA");
    assert!(r.starts_with("354"), "{r}");
    for _ in 0..64 {
        w.send(format!("{}\r\n", "t".repeat(998)).as_bytes());
    }
    // The session is still open: the trace is on disk already.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let size: u64 = std::fs::read_dir(&tdir)
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        if size > 32 * 1024 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "trace not written while the session runs ({size} octets)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = w.cmd(".");
    assert!(r.starts_with("250"), "{r}");
    let r = w.cmd("QUIT");
    assert!(r.starts_with("221"), "{r}");
    assert!(w.closed_within(Duration::from_secs(5)).is_some());
    std::thread::sleep(Duration::from_millis(200));
    let file = std::fs::read_dir(&tdir)
        .expect("trace dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .next()
        .expect("a trace file");
    let text = std::fs::read_to_string(&file).expect("trace");
    assert!(text.starts_with("# side: server\n"), "{text:.200}");
    assert!(text.contains("S: 354\n"), "no 354 in the trace");
    assert!(
        text.trim_end().ends_with("CLOSE"),
        "{}",
        &text[text.len() - 100..]
    );
    drop(demo);
    let _ = std::fs::remove_dir_all(&tdir);
}

// ----- item 14: logs, --help, send, replay ------------------------------

#[test]
fn failed_auth_and_refused_mail_are_logged_without_the_password() {
    let demo = DemoProcess::start(&[]);
    let mut w = Wire::greeted(demo.addr(PortMode::Relay));
    let r = w.cmd("EHLO client.example.org");
    assert!(r.starts_with("250"), "{r}");
    // A refused MAIL (syntax) and RCPT (no transaction).
    let r = w.cmd("MAIL FROM:<no closing bracket");
    assert!(r.starts_with('5'), "{r}");
    let r = w.cmd("RCPT TO:<bob@example.net>");
    assert!(r.starts_with('5'), "{r}");
    drop(w);
    demo.wait_log("refused MAIL: 5");
    demo.wait_log("refused RCPT: 5");
    // A failed AUTH (submission offers AUTH after STARTTLS): through
    // `send --insecure`.
    let send = example_binary("send");
    let out = Command::new(send)
        .args([
            "--mode",
            "submission",
            "--server",
            &demo.addr(PortMode::Submission).to_string(),
            "--insecure",
            "--auth",
            "mallory:hunter2-secret",
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.net",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"Subject: x\r\n\r\nx\r\n")?;
            c.wait_with_output()
        })
        .expect("run send");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // send prints the server's reply text, not only its code.
    assert!(err.contains("535"), "{err}");
    assert!(err.contains("credentials invalid"), "{err}");
    let line = demo.wait_log("auth failed");
    assert!(line.contains("user=mallory"), "{line}");
    let log = demo.log().join("\n");
    assert!(
        !log.contains("hunter2"),
        "the password is in the log:\n{log}"
    );
}

#[test]
fn send_prints_the_reply_text_on_refusal() {
    let demo = DemoProcess::start(&[]);
    // Submission without AUTH: the MAIL is refused 530 with its text.
    let out = Command::new(example_binary("send"))
        .args([
            "--mode",
            "submission",
            "--server",
            &demo.addr(PortMode::Submission).to_string(),
            "--insecure",
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.net",
            "--body",
            "/dev/null",
        ])
        .output()
        .expect("run send");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("530"))
        .unwrap_or_else(|| panic!("{err}"));
    // Code, enhanced code and some text after them.
    let after = line.split("530").nth(1).unwrap_or("");
    assert!(
        after.chars().filter(|c| c.is_ascii_alphabetic()).count() > 5,
        "no reply text: {line}"
    );
}

#[test]
fn every_example_prints_help_on_stdout_and_exits_0() {
    for ex in ["demo-server", "send", "replay", "dissect"] {
        let out = Command::new(example_binary(ex))
            .arg("--help")
            .output()
            .expect("run example");
        assert!(out.status.success(), "{ex} --help: {:?}", out.status);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.starts_with("usage:"),
            "{ex} --help printed {stdout:?}"
        );
    }
}

#[test]
fn replay_ends_with_a_summary_line() {
    let dir = fresh_dir("replay");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/sessions/server");
    let mut good: Vec<std::path::PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus/sessions")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("captured-") && n.ends_with(".txt"))
        })
        .collect();
    good.sort();
    good.truncate(2);
    assert_eq!(good.len(), 2, "two transcripts in corpus/sessions");
    // A transcript that must fail: the greeting is not 554.
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "# side: server\n# mode: relay\n\nS: 554\n").expect("write");
    let out = Command::new(example_binary("replay"))
        .args(&good)
        .arg(&bad)
        .output()
        .expect("run replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().last(),
        Some("2 passed, 1 failed"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

// ----- group commit ------------------------------------------------------

/// Parallel sessions through the group committer: every 250 is a stored,
/// complete pair.
#[test]
fn parallel_sessions_all_stored() {
    let demo = DemoProcess::start(&["--quiet"]);
    let addr = demo.addr(PortMode::Relay);
    let threads: Vec<_> = (0..8)
        .map(|c| {
            std::thread::spawn(move || {
                let mut w = Wire::greeted(addr);
                assert!(w.cmd("EHLO c").starts_with("250"));
                for i in 0..20 {
                    assert!(w.cmd("MAIL FROM:<a@example.org>").starts_with("250"));
                    assert!(w.cmd("RCPT TO:<b@example.net>").starts_with("250"));
                    assert!(w.cmd("DATA").starts_with("354"));
                    let r = w.cmd(&format!("Subject: gc-{c}-{i}\r\n\r\nbody\r\n."));
                    assert!(r.starts_with("250"), "{r}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let msgs = demo.messages();
    assert_eq!(msgs.len(), 160);
    for c in 0..8 {
        for i in 0..20 {
            let s = format!("Subject: gc-{c}-{i}\r\n\r\nbody\r\n");
            assert!(
                msgs.iter().any(|(_, m)| m == s.as_bytes()),
                "gc-{c}-{i} missing"
            );
        }
    }
}
