//! The I/O-free half of the client drivers, shared by the async and the
//! blocking one: reads the core machine's events into flags and a
//! per-recipient report (RFC 5321 3.3, RFC 2033 4.2).

use smtp_sansio::client::{ClientError, Envelope, TransactionStage};
use smtp_sansio::{Client, ClientEvent, OwnedReply};

/// How a transaction ended (RFC 5321 4.1.1.4, RFC 3030 2, RFC 2033 4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took the message (250 after the final dot or to `BDAT
    /// LAST`).
    Delivered(OwnedReply),
    /// LMTP: a result per accepted recipient, in
    /// [`RecipientReport::delivery`].
    PerRecipient,
    /// The transaction failed; the connection stays usable.
    Failed {
        /// Where (MAIL, every RCPT, DATA, the content, or given up).
        stage: TransactionStage,
        /// The server's refusal, if any.
        reply: Option<OwnedReply>,
    },
}

/// What became of one recipient (RFC 5321 4.1.1.3; RFC 2033 4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientReport {
    /// The address, as in the envelope.
    pub address: String,
    /// The reply to its RCPT (none if RCPT was never answered).
    pub rcpt: Option<OwnedReply>,
    /// LMTP: the reply after the content for this recipient.
    pub delivery: Option<OwnedReply>,
}

impl RecipientReport {
    /// Whether its RCPT was accepted (2xx).
    pub fn accepted(&self) -> bool {
        self.rcpt
            .as_ref()
            .is_some_and(|r| r.code.first_digit() == 2)
    }
}

/// The result of one message: per recipient, and for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    /// One per envelope recipient, in order.
    pub recipients: Vec<RecipientReport>,
    /// How the transaction ended.
    pub outcome: Outcome,
}

impl SendReport {
    /// Whether the message reached at least one recipient: the SMTP
    /// transaction succeeded, or (LMTP) some recipient's delivery did.
    pub fn is_delivered(&self) -> bool {
        match &self.outcome {
            Outcome::Delivered(_) => true,
            Outcome::PerRecipient => self.recipients.iter().any(|r| {
                r.delivery
                    .as_ref()
                    .is_some_and(|d| d.code.first_digit() == 2)
            }),
            Outcome::Failed { .. } => false,
        }
    }

    /// The addresses the message was delivered to: every accepted
    /// recipient after a 250 (SMTP), or those whose delivery reply was
    /// 2xx (LMTP).
    pub fn delivered_to(&self) -> Vec<&str> {
        self.recipients
            .iter()
            .filter(|r| match &self.outcome {
                Outcome::Delivered(_) => r.accepted(),
                Outcome::PerRecipient => r
                    .delivery
                    .as_ref()
                    .is_some_and(|d| d.code.first_digit() == 2),
                Outcome::Failed { .. } => false,
            })
            .map(|r| r.address.as_str())
            .collect()
    }
}

/// The machine, its output, and what its events said.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) client: Client,
    pub(crate) out: Vec<u8>,
    /// `ClientEvent::Ready` came and no decision was taken since.
    pub(crate) ready: bool,
    /// `ClientEvent::StartTls`: the handshake is due.
    pub(crate) start_tls: bool,
    /// The first fatal error.
    pub(crate) error: Option<ClientError>,
    /// The transaction in flight, and how it ended.
    pub(crate) report: Option<SendReport>,
    pub(crate) finished: bool,
    /// The reply to the last NOOP/RSET.
    pub(crate) query_reply: Option<OwnedReply>,
}

impl Engine {
    pub(crate) fn new(client: Client) -> Engine {
        Engine {
            client,
            out: Vec::new(),
            ready: false,
            start_tls: false,
            error: None,
            report: None,
            finished: false,
            query_reply: None,
        }
    }

    /// A new transaction's report.
    pub(crate) fn begin(&mut self, envelope: &Envelope) {
        self.ready = false;
        self.finished = false;
        self.report = Some(SendReport {
            recipients: envelope
                .to
                .iter()
                .map(|a| RecipientReport {
                    address: a.clone(),
                    rcpt: None,
                    delivery: None,
                })
                .collect(),
            outcome: Outcome::PerRecipient,
        });
    }

    /// Reads every event, then takes the output.
    pub(crate) fn pump(&mut self) {
        while let Some(ev) = self.client.next_event() {
            tracing::trace!(target: "smtp_sansio_tokio::client", event = ?ev, "client event");
            match ev {
                ClientEvent::Greeting(r) => {
                    tracing::debug!(target: "smtp_sansio_tokio::client", code = r.code.get(), "greeting");
                }
                ClientEvent::Capabilities(c) => {
                    tracing::debug!(target: "smtp_sansio_tokio::client", server = %c.domain, extensions = ?c.extensions, "capabilities");
                }
                ClientEvent::StartTls => self.start_tls = true,
                ClientEvent::Authenticated(m) => {
                    tracing::info!(target: "smtp_sansio_tokio::client", mechanism = m.name(), "authenticated");
                }
                ClientEvent::Ready => self.ready = true,
                ClientEvent::Recipient {
                    index,
                    accepted,
                    reply,
                } => {
                    tracing::debug!(target: "smtp_sansio_tokio::client", index, accepted, code = reply.code.get(), "recipient");
                    if let Some(r) = self
                        .report
                        .as_mut()
                        .and_then(|r| r.recipients.get_mut(index))
                    {
                        r.rcpt = Some(reply);
                    }
                }
                // Deliver to the recipients that were accepted.
                ClientEvent::RecipientsPartial { .. } => {
                    let _ = self.client.proceed();
                }
                ClientEvent::Delivered(reply) => {
                    tracing::info!(target: "smtp_sansio_tokio::client", code = reply.code.get(), "delivered");
                    if let Some(r) = self.report.as_mut() {
                        r.outcome = Outcome::Delivered(reply);
                    }
                    self.finished = true;
                }
                ClientEvent::LmtpResult {
                    index,
                    delivered,
                    reply,
                } => {
                    tracing::info!(target: "smtp_sansio_tokio::client", index, delivered, "LMTP result");
                    if let Some(r) = self
                        .report
                        .as_mut()
                        .and_then(|r| r.recipients.get_mut(index))
                    {
                        r.delivery = Some(reply);
                    }
                    self.finished = true;
                }
                ClientEvent::TransactionFailed { stage, reply } => {
                    tracing::info!(target: "smtp_sansio_tokio::client", ?stage, code = reply.as_ref().map(|r| r.code.get()), "transaction failed");
                    if let Some(r) = self.report.as_mut() {
                        r.outcome = Outcome::Failed { stage, reply };
                    }
                    self.finished = true;
                }
                ClientEvent::QueryReply { reply, .. } => self.query_reply = Some(reply),
                ClientEvent::Error(e) => {
                    tracing::warn!(target: "smtp_sansio_tokio::client", error = %e, "session error");
                    if self.error.is_none() {
                        self.error = Some(e);
                    }
                }
                _ => {}
            }
        }
        if self.client.is_closed() {
            self.ready = false;
        }
        self.client.transmit(&mut self.out);
    }

    /// The report of a finished transaction, once the machine is Ready
    /// again (or closed right after: a 421 behind the 250 does not undo
    /// the delivery).
    pub(crate) fn take_report(&mut self) -> Option<SendReport> {
        if self.finished && (self.ready || self.client.is_closed()) {
            self.finished = false;
            self.report.take()
        } else {
            None
        }
    }
}
