use smtp_sansio::{AbortReason, PortMode};
use smtp_sansio_tokio::server::store::{Inbox, MailDir};
use smtp_sansio_tokio::server::*;
struct Conn(Inbox);
impl Session for Conn {
    async fn auth(&mut self, user: &str, password: &str) -> Decision {
        Decision::credentials(user == "alice" && password == "secret")
    }
    async fn data(&mut self, piece: &[u8]) {
        self.0.write(piece).await;
    }
    async fn message(&mut self, m: &Message<'_>) -> Decision {
        self.0.commit(m).await.into()
    }
    fn aborted(&mut self, _: AbortReason) {
        self.0.discard();
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let tls = tls_config_from_pem("cert.pem".as_ref(), "key.pem".as_ref())?;
    let store = MailDir::open("mail")?.0;
    let mut server = Server::new(move |_: &Connection| Conn(store.inbox())).tls(tls);
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:2587".into());
    let local = server.listen(PortMode::Submission, addr).await?;
    println!("listening on {local}");
    server.serve().await;
    Ok(())
}
