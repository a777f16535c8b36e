//! Interop: the demo server (server machine + tokio + rustls, in-process
//! on port 0) receiving from real clients: swaks, curl and Python smtplib,
//! in every port mode. Each accepted message must be stored byte-exact.
//!
//! A missing peer fails the test with the install step
//! (`bash scripts/install-peers.sh`).

mod common;

use std::process::Command;

use common::*;
use smtp_sansio::PortMode;

const SWAKS: (&str, &str) = ("swaks", "apt-get install -y swaks");
const CURL: (&str, &str) = ("curl", "apt-get install -y curl");

// ----- swaks ---------------------------------------------------------------

fn swaks(server: &TestServer, mode: PortMode, tag: &str, extra: &[&str]) -> (PeerOutput, Vec<u8>) {
    require_tool(SWAKS.0, SWAKS.1);
    if extra.iter().any(|a| a.starts_with("--tls")) {
        require_swaks_tls();
    }
    let msg = message(tag);
    // swaks treats its DATA as not ending in a line break: it always adds
    // CRLF before the terminating dot (`$data .= "\r\n."`). Handing it the
    // message without its last CRLF puts exactly `msg` on the wire.
    let file = temp_file(server, &format!("{tag}.eml"), &msg[..msg.len() - 2]);
    let addr = server.addr(mode);
    let data = format!("@{}", path_str(&file));
    let mut cmd = Command::new("swaks");
    cmd.args([
        "--server",
        "127.0.0.1",
        "--port",
        &port(addr),
        "--helo",
        "client.example.org",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.net",
        "--data",
        &data,
        "--timeout",
        "20",
    ])
    .args(extra);
    (run_peer(&mut cmd, b""), msg)
}

fn swaks_ok(mode: PortMode, tag: &str, extra: &[&str], tls: bool, auth: Option<&str>) {
    let server = TestServer::start();
    let (out, msg) = swaks(&server, mode, tag, extra);
    assert!(
        out.success(),
        "swaks failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_stored(&server, &msg, tls, auth);
}

const AUTH_PLAIN: &[&str] = &[
    "--auth",
    "PLAIN",
    "--auth-user",
    "alice",
    "--auth-password",
    "secret",
];
const AUTH_LOGIN: &[&str] = &[
    "--auth",
    "LOGIN",
    "--auth-user",
    "alice",
    "--auth-password",
    "secret",
];

fn with(a: &[&'static str], b: &[&'static str]) -> Vec<&'static str> {
    a.iter().chain(b).copied().collect()
}

#[test]
fn swaks_relay_plain() {
    swaks_ok(PortMode::Relay, "swaks-relay-plain", &[], false, None);
}

#[test]
fn swaks_relay_starttls() {
    swaks_ok(PortMode::Relay, "swaks-relay-tls", &["--tls"], true, None);
}

#[test]
fn swaks_relay_pipeline() {
    swaks_ok(
        PortMode::Relay,
        "swaks-relay-pipe",
        &["--pipeline"],
        false,
        None,
    );
}

#[test]
fn swaks_submission_starttls_auth_plain() {
    let args = with(&["--tls"], AUTH_PLAIN);
    swaks_ok(
        PortMode::Submission,
        "swaks-sub-plain",
        &args,
        true,
        Some("alice"),
    );
}

#[test]
fn swaks_submission_starttls_auth_login_pipeline() {
    let args = with(&["--tls", "--pipeline"], AUTH_LOGIN);
    swaks_ok(
        PortMode::Submission,
        "swaks-sub-login",
        &args,
        true,
        Some("alice"),
    );
}

#[test]
fn swaks_implicit_tls_auth_plain() {
    let args = with(&["--tlsc"], AUTH_PLAIN);
    swaks_ok(
        PortMode::ImplicitTls,
        "swaks-465-plain",
        &args,
        true,
        Some("alice"),
    );
}

#[test]
fn swaks_implicit_tls_auth_login_pipeline() {
    let args = with(&["--tlsc", "--pipeline"], AUTH_LOGIN);
    swaks_ok(
        PortMode::ImplicitTls,
        "swaks-465-login",
        &args,
        true,
        Some("alice"),
    );
}

#[test]
fn swaks_submission_wrong_password_stores_nothing() {
    let server = TestServer::start();
    let args = [
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "wrong",
    ];
    let (out, _) = swaks(&server, PortMode::Submission, "swaks-wrong", &args);
    assert!(!out.success(), "swaks succeeded with a wrong password");
    assert!(out.stdout.contains("535"), "{}", out.stdout);
    server.wait_sessions_ended();
    assert!(server.messages().is_empty());
    assert_eq!(server.stat(|s| &s.mail_events), 0);
}

#[test]
fn swaks_submission_auth_without_tls_is_not_offered() {
    let server = TestServer::start();
    let (out, _) = swaks(&server, PortMode::Submission, "swaks-notls", AUTH_PLAIN);
    assert!(!out.success(), "swaks authenticated without TLS");
    server.wait_sessions_ended();
    assert!(server.messages().is_empty());
    assert_eq!(server.stat(|s| &s.auth_ok), 0);
}

// ----- curl ----------------------------------------------------------------

fn curl_ok(mode: PortMode, tag: &str, tls: bool, auth: bool) {
    require_tool(CURL.0, CURL.1);
    let server = TestServer::start();
    let msg = message(tag);
    let file = temp_file(&server, &format!("{tag}.eml"), &msg);
    let addr = server.addr(mode);
    let scheme = if mode == PortMode::ImplicitTls {
        "smtps"
    } else {
        "smtp"
    };
    let url = format!("{scheme}://127.0.0.1:{}/client.example.org", addr.port());
    let mut cmd = Command::new("curl");
    cmd.args([
        "--silent",
        "--show-error",
        "--max-time",
        "20",
        "--url",
        &url,
        "--mail-from",
        "alice@example.org",
        "--mail-rcpt",
        "bob@example.net",
        "-T",
        path_str(&file),
    ]);
    if mode == PortMode::Submission || (tls && mode == PortMode::Relay) {
        cmd.arg("--ssl-reqd");
    }
    if tls {
        // The demo's certificate is self-signed.
        cmd.arg("-k");
    }
    if auth {
        cmd.args(["-u", "alice:secret"]);
    }
    let out = run_peer(&mut cmd, b"");
    assert!(
        out.success(),
        "curl failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_stored(&server, &msg, tls, auth.then_some("alice"));
}

#[test]
fn curl_relay_plain() {
    curl_ok(PortMode::Relay, "curl-relay", false, false);
}

#[test]
fn curl_relay_starttls() {
    curl_ok(PortMode::Relay, "curl-relay-tls", true, false);
}

#[test]
fn curl_submission_starttls_auth() {
    curl_ok(PortMode::Submission, "curl-sub", true, true);
}

#[test]
fn curl_implicit_tls_auth() {
    curl_ok(PortMode::ImplicitTls, "curl-465", true, true);
}

// ----- Python smtplib ------------------------------------------------------

const SMTPLIB: &str = r#"
import smtplib, ssl, sys
mode, port, msgfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
auth = len(sys.argv) > 4
msg = open(msgfile, "rb").read()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "implicit-tls":
    s = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="client.example.org", timeout=20, context=ctx)
else:
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.org", timeout=20)
s.ehlo()
if mode in ("submission", "relay-tls"):
    s.starttls(context=ctx)
    s.ehlo()
if auth:
    s.login("alice", "secret")
refused = s.sendmail("alice@example.org", ["bob@example.net"], msg)
assert not refused, refused
s.quit()
"#;

fn smtplib_ok(mode: PortMode, arg: &str, tag: &str, tls: bool, auth: bool) {
    require_tool("python3", "apt-get install -y python3");
    let server = TestServer::start();
    let msg = message(tag);
    let file = temp_file(&server, &format!("{tag}.eml"), &msg);
    let script = temp_file(&server, "send.py", SMTPLIB.as_bytes());
    let mut cmd = Command::new("python3");
    cmd.args([
        path_str(&script),
        arg,
        &port(server.addr(mode)),
        path_str(&file),
    ]);
    if auth {
        cmd.arg("auth");
    }
    let out = run_peer(&mut cmd, b"");
    assert!(
        out.success(),
        "smtplib failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_stored(&server, &msg, tls, auth.then_some("alice"));
}

#[test]
fn smtplib_relay_plain() {
    smtplib_ok(PortMode::Relay, "relay", "py-relay", false, false);
}

#[test]
fn smtplib_relay_starttls() {
    smtplib_ok(PortMode::Relay, "relay-tls", "py-relay-tls", true, false);
}

#[test]
fn smtplib_submission_starttls_login() {
    smtplib_ok(PortMode::Submission, "submission", "py-sub", true, true);
}

#[test]
fn smtplib_implicit_tls_login() {
    smtplib_ok(PortMode::ImplicitTls, "implicit-tls", "py-465", true, true);
}
