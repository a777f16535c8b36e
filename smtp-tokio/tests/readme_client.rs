//! The README's client example: the block in README.md is the marked part
//! of `examples/readme_client.rs` verbatim, and it delivers a message to
//! the in-test server over submission (STARTTLS, AUTH).

mod support;

#[path = "../examples/readme_client.rs"]
mod readme_client;

use std::path::PathBuf;

use smtp_sansio::PortMode;
use support::{Setup, TestServer};

#[test]
fn the_readme_block_is_the_example_verbatim() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(dir.join("../README.md")).expect("README");
    let src = std::fs::read_to_string(dir.join("examples/readme_client.rs")).expect("example");
    let begin = "// README begin\n";
    let start = src.find(begin).expect("begin marker") + begin.len();
    let code = &src[start..src.find("// README end").expect("end marker")];
    assert!(
        readme.contains(&format!("```rust,ignore\n{code}```")),
        "README.md's client block differs from examples/readme_client.rs"
    );
    // A client send in at most 10 lines.
    let f = &code[code.find("pub async fn send").expect("fn")..];
    let lines = f.lines().count() - 2;
    assert!(lines <= 10, "{lines} lines");
}

#[tokio::test]
async fn the_readme_example_delivers_a_message() {
    let server = TestServer::start(Setup::new(PortMode::Submission)).await;
    let dir = std::env::temp_dir().join(format!("readme-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &server.cert_pem).expect("ca");
    let delivered = readme_client::send(&server.addr.to_string(), ca.to_str().expect("path"))
        .await
        .expect("send");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(delivered);
    assert_eq!(
        server.messages(),
        [b"Subject: hi\r\n\r\nhello\r\n".to_vec()]
    );
}
