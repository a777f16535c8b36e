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
    /// LMTP, or a message split into several transactions (RFC 9422,
    /// RFC 5321 4.5.3.1.10): a result per accepted recipient, in
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
    /// The reply after the content for this recipient: LMTP (RFC 2033
    /// 4.2), and for a message split into several transactions
    /// ([`Outcome::PerRecipient`]; RFC 9422, RFC 5321 4.5.3.1.10) the
    /// final reply of the transaction that carried it.
    pub delivery: Option<OwnedReply>,
    /// No transaction carried it (recipient limit with a streamed body,
    /// the server's MAILMAX, ...): the message must be sent to it again
    /// ([`smtp_sansio::ClientEvent::RecipientsUnsent`]).
    pub unsent: bool,
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
    /// Recipients accepted in the transaction in flight.
    batch: Vec<usize>,
    /// Transactions of the message ended so far, and the first one's
    /// recipients and final reply (kept until a second one shows the
    /// message was split).
    transactions: usize,
    first: (Vec<usize>, Option<OwnedReply>),
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
            batch: Vec::new(),
            transactions: 0,
            first: (Vec::new(), None),
        }
    }

    /// One transaction of the message ended with `outcome` (its final
    /// reply `reply`): a split message's report turns per recipient.
    fn transaction_ended(&mut self, outcome: Outcome, reply: Option<OwnedReply>) {
        let batch = std::mem::take(&mut self.batch);
        self.finished = true;
        let Some(r) = self.report.as_mut() else {
            return;
        };
        self.transactions += 1;
        if self.transactions == 1 {
            r.outcome = outcome;
            self.first = (batch, reply);
            return;
        }
        let mut set = |batch: Vec<usize>, reply: Option<OwnedReply>| {
            for i in batch {
                if let Some(rr) = r.recipients.get_mut(i) {
                    rr.delivery = reply.clone();
                }
            }
        };
        if self.transactions == 2 {
            let (b, first) = std::mem::take(&mut self.first);
            set(b, first);
        }
        set(batch, reply);
        r.outcome = Outcome::PerRecipient;
    }

    /// A new transaction's report.
    pub(crate) fn begin(&mut self, envelope: &Envelope) {
        self.ready = false;
        self.finished = false;
        self.batch.clear();
        self.transactions = 0;
        self.first = (Vec::new(), None);
        self.report = Some(SendReport {
            recipients: envelope
                .to
                .iter()
                .map(|a| RecipientReport {
                    address: a.clone(),
                    rcpt: None,
                    delivery: None,
                    unsent: false,
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
                    if accepted {
                        self.batch.push(index);
                    }
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
                    self.transaction_ended(Outcome::Delivered(reply.clone()), Some(reply));
                }
                ClientEvent::LmtpResult {
                    index,
                    delivered,
                    reply,
                } => {
                    tracing::info!(target: "smtp_sansio_tokio::client", index, delivered, "LMTP result");
                    self.batch.retain(|&i| i != index);
                    if let Some(r) = self.report.as_mut() {
                        r.outcome = Outcome::PerRecipient;
                    }
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
                    self.transaction_ended(
                        Outcome::Failed {
                            stage,
                            reply: reply.clone(),
                        },
                        reply,
                    );
                }
                ClientEvent::RecipientsUnsent { recipients } => {
                    tracing::info!(target: "smtp_sansio_tokio::client", count = recipients.len(), "recipients left for another transaction");
                    for i in recipients {
                        if let Some(r) = self.report.as_mut().and_then(|r| r.recipients.get_mut(i))
                        {
                            r.unsent = true;
                        }
                    }
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

/// The rounds of a message sent again for the recipients a transaction
/// did not carry ([`RecipientReport::unsent`]; RFC 5321 4.5.3.1.10, RFC
/// 9422): each round's envelope, and the message's report merged from
/// the rounds' (per recipient from the second round on).
#[derive(Debug)]
pub(crate) struct Rounds {
    envelope: Envelope,
    /// Envelope indices of the round in flight.
    round: Vec<usize>,
    rounds: usize,
    report: Option<SendReport>,
}

impl Rounds {
    pub(crate) fn new(envelope: Envelope) -> Rounds {
        let round = (0..envelope.to.len()).collect();
        Rounds {
            envelope,
            round,
            rounds: 0,
            report: None,
        }
    }

    /// The envelope of the round in flight: the message's, restricted to
    /// its recipients.
    pub(crate) fn envelope(&self) -> Envelope {
        let mut sub = self.envelope.clone();
        sub.to = self
            .round
            .iter()
            .filter_map(|&i| self.envelope.to.get(i).cloned())
            .collect();
        sub.recipient_dsn = self
            .round
            .iter()
            .map(|&i| {
                self.envelope
                    .recipient_dsn
                    .get(i)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        sub
    }

    /// Takes the report of the round in flight; the next round's envelope,
    /// or `None` when done. Each round carries a recipient to an answer,
    /// or is the last: no loop.
    pub(crate) fn next(&mut self, r: SendReport) -> Option<Envelope> {
        self.rounds += 1;
        let unsent: Vec<usize> = r
            .recipients
            .iter()
            .zip(&self.round)
            .filter(|(rr, _)| rr.unsent)
            .map(|(_, &i)| i)
            .collect();
        match self.report.as_mut() {
            None => self.report = Some(r),
            Some(whole) => {
                if self.rounds == 2 {
                    let first = deliveries(whole);
                    for (rr, d) in whole.recipients.iter_mut().zip(first) {
                        rr.delivery = d;
                    }
                    whole.outcome = Outcome::PerRecipient;
                }
                for ((sub, d), &i) in r.recipients.iter().zip(deliveries(&r)).zip(&self.round) {
                    if let Some(rr) = whole.recipients.get_mut(i) {
                        rr.rcpt = sub.rcpt.clone();
                        rr.delivery = d;
                        rr.unsent = sub.unsent;
                    }
                }
            }
        }
        if unsent.is_empty() || unsent.len() >= self.round.len() {
            return None;
        }
        self.round = unsent;
        Some(self.envelope())
    }

    /// The message's report.
    pub(crate) fn report(self) -> Option<SendReport> {
        self.report
    }
}

/// The final reply of each recipient's transaction in a report.
fn deliveries(r: &SendReport) -> Vec<Option<OwnedReply>> {
    r.recipients
        .iter()
        .map(|rr| match &r.outcome {
            Outcome::PerRecipient => rr.delivery.clone(),
            Outcome::Delivered(reply) if rr.accepted() => Some(reply.clone()),
            Outcome::Failed { reply, .. } if rr.accepted() => reply.clone(),
            _ => None,
        })
        .collect()
}
