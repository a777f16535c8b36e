//! The README's 30-line server: the copy in README.md is the example file
//! byte for byte, and the example, run as a process, takes a message from
//! a client (STARTTLS, a refused then an accepted password, DATA) and
//! stores it in `./mail`.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn readme_shows_the_example_file_and_it_is_at_most_30_lines() {
    let code = std::fs::read_to_string(root().join("examples/readme_server.rs")).expect("example");
    let readme = std::fs::read_to_string(root().join("../README.md")).expect("README");
    assert!(
        readme.contains(&format!("```rust,no_run\n{code}```\n")),
        "README.md's server differs from examples/readme_server.rs"
    );
    assert!(code.lines().count() <= 30, "{} lines", code.lines().count());
}

/// Reads one whole reply.
fn reply(r: &mut impl Read, buf: &mut Vec<u8>) -> String {
    loop {
        let mut start = 0;
        while let Some(i) = buf[start..].windows(2).position(|w| w == b"\r\n") {
            let end = start + i + 2;
            if buf.get(start + 3) != Some(&b'-') {
                let r: Vec<u8> = buf.drain(..end).collect();
                return String::from_utf8_lossy(&r).into_owned();
            }
            start = end;
        }
        let mut chunk = [0u8; 4096];
        match r.read(&mut chunk) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&std::mem::take(buf)).into_owned(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn cmd(s: &mut (impl Read + Write), buf: &mut Vec<u8>, line: &str) -> String {
    s.write_all(format!("{line}\r\n").as_bytes())
        .expect("write");
    s.flush().expect("flush");
    reply(s, buf)
}

/// Kills the example when the test ends, however it ends.
struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_readme_server_checks_the_password_and_stores_the_message() {
    // Build the example in this test's profile.
    let exe = std::env::current_exe().expect("test exe");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "-q",
        "-p",
        "smtp-sansio-tokio",
        "--example",
        "readme_server",
    ]);
    if profile.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(build.status().expect("cargo build").success());
    let bin = profile.join("examples/readme_server");

    let dir = std::env::temp_dir().join(format!("smtp-tokio-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).expect("cert.pem");
    std::fs::write(dir.join("key.pem"), ck.key_pair.serialize_pem()).expect("key.pem");
    let mut child = Kill(
        Command::new(bin)
            .arg("127.0.0.1:0")
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the example"),
    );
    let mut line = String::new();
    let out = child.0.stdout.take().expect("stdout");
    std::io::BufReader::new(out)
        .read_line(&mut line)
        .expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("address line");

    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut buf = Vec::new();
    assert!(reply(&mut tcp, &mut buf).starts_with("220"));
    assert!(cmd(&mut tcp, &mut buf, "EHLO c.example").contains("STARTTLS"));
    assert!(cmd(&mut tcp, &mut buf, "STARTTLS").starts_with("220"));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let c = rustls::ClientConnection::new(Arc::new(cfg), name).expect("client");
    let mut s = rustls::StreamOwned::new(c, tcp);
    assert!(cmd(&mut s, &mut buf, "EHLO c.example").contains("AUTH"));
    // \0alice\0wrong, then \0alice\0secret
    let no = cmd(&mut s, &mut buf, "AUTH PLAIN AGFsaWNlAHdyb25n");
    assert!(no.starts_with("535 5.7.8"), "{no}");
    let ok = cmd(&mut s, &mut buf, "AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    assert!(ok.starts_with("235"), "{ok}");
    assert!(cmd(&mut s, &mut buf, "MAIL FROM:<alice@example.org>").starts_with("250"));
    assert!(cmd(&mut s, &mut buf, "RCPT TO:<bob@example.net>").starts_with("250"));
    assert!(cmd(&mut s, &mut buf, "DATA").starts_with("354"));
    let done = cmd(&mut s, &mut buf, "Subject: readme\r\n\r\nhello\r\n.");
    assert!(done.starts_with("250"), "{done}");

    let mail = dir.join("mail");
    let stored: Vec<_> = std::fs::read_dir(&mail)
        .expect("mail dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let content = std::fs::read(&stored[0]).expect("message");
    assert_eq!(content, b"Subject: readme\r\n\r\nhello\r\n");
    let env = std::fs::read_to_string(stored[0].with_extension("env")).expect("envelope");
    assert!(
        env.contains("auth: alice\n") && env.contains("tls: yes\n"),
        "{env}"
    );
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
