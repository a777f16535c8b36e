//! The README's client example: the code between the markers is in
//! README.md verbatim (checked, and run against an in-test server, by
//! `tests/readme.rs`).
//!
//! `cargo run -p smtp-sansio-tokio --example readme_client -- HOST:PORT CA.pem`

// README begin
use smtp_sansio::client::{ClientCredentials, Envelope};
use smtp_sansio::{ClientConfig, PortMode};
use smtp_sansio_tokio::client::{SmtpClient, TlsTrust};

pub async fn send(server: &str, ca: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let cfg = ClientConfig::new(PortMode::Submission, "client.example.org")
        .with_credentials(ClientCredentials::new("alice", "secret"));
    let trust = TlsTrust::from_pem_file(ca.as_ref())?; // or TlsTrust::WebPki
    let mut smtp = SmtpClient::connect(server, "localhost", cfg, trust).await?;
    let to = Envelope::new("alice@example.org", ["bob@example.net"]);
    let report = smtp.send(to, &b"Subject: hi\r\n\r\nhello\r\n"[..]).await?;
    smtp.quit().await?;
    Ok(report.is_delivered())
}
// README end

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (server, ca) = (
        args.get(1).ok_or("HOST:PORT")?,
        args.get(2).ok_or("CA.pem")?,
    );
    println!("delivered: {}", send(server, ca).await?);
    Ok(())
}
