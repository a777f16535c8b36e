//! Durable message storage in a folder, with group commit (RFC 5321 6.1:
//! a `250` to the end of the content means the server took responsibility
//! for the message, so it must be on disk first).
//!
//! Each message is one file `ID.eml` (the content exactly as the core
//! handed it out) with its envelope in `ID.env`, the `.env` written last
//! as the commit marker; each is written to a dot-prefixed temporary name,
//! fsynced and renamed. The folder fsync that makes the renames durable is
//! shared: one fsync serves every message that became ready while the
//! previous one ran (group commit), and [`MessageWriter::commit`] returns
//! only after it. [`MailDir::open`] removes what a crash left incomplete.
//!
//! The `.env` format ([`envelope_text`]): one `key: value` field per line
//! (`mode`, `peer`, `helo`, `tls`, `auth`, `from`, one `to` per recipient,
//! `size`, and `via` with the proxy's address when the connection came
//! through a PROXY protocol header, `peer` then being the original client),
//! each value escaped by [`super::escape`] to printable ASCII, so one field
//! is one line whatever the client sent.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

use super::handler::Message;
use super::names::{escape, mode_name, unique_id};

/// Content kept in memory before it is spilled to the message's file.
const SPILL: usize = 64 * 1024;

/// A file [`MailDir::open`] removed, with the reason.
pub type Leftover = (String, &'static str);

type Waiter = oneshot::Sender<Result<(), String>>;

/// A mail folder with a group committer (see the [module docs](self)).
#[derive(Debug)]
pub struct MailDir {
    dir: PathBuf,
    tx: std::sync::Mutex<std::sync::mpsc::Sender<Waiter>>,
    syncs: Arc<AtomicU64>,
}

impl MailDir {
    /// Opens (creating) the folder, removes the leftovers of a crash (a
    /// temporary file, an `.eml` without its `.env`, an `.env` without its
    /// `.eml`: none of them got a 250) and starts the committer thread.
    /// Returns the removed names with the reason.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<(Arc<MailDir>, Vec<Leftover>)> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let removed = recover(&dir)?;
        let (tx, rx) = std::sync::mpsc::channel::<Waiter>();
        let syncs = Arc::new(AtomicU64::new(0));
        let (d, s) = (dir.clone(), syncs.clone());
        std::thread::Builder::new()
            .name("maildir-commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    let r = std::fs::File::open(&d)
                        .and_then(|f| f.sync_all())
                        .map_err(|e| e.to_string());
                    s.fetch_add(1, Ordering::Relaxed);
                    for w in batch {
                        let _ = w.send(r.clone());
                    }
                }
            })?;
        let md = MailDir {
            dir,
            tx: std::sync::Mutex::new(tx),
            syncs,
        };
        Ok((Arc::new(md), removed))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Folder fsyncs run so far (at most one per message; fewer under
    /// concurrency, which is the point).
    pub fn dir_syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// A writer for one message.
    pub fn writer(self: &Arc<Self>) -> MessageWriter {
        MessageWriter {
            store: self.clone(),
            id: unique_id(),
            buf: Vec::new(),
            file: None,
            error: None,
        }
    }

    /// A per-session spool of messages into this folder ([`Inbox`]).
    pub fn inbox(self: &Arc<Self>) -> Inbox {
        Inbox {
            dir: self.clone(),
            writer: None,
        }
    }

    async fn folder_sync(&self) -> io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .lock()
            .map_err(|_| io::Error::other("committer lock poisoned"))?
            .send(tx)
            .map_err(|_| io::Error::other("committer gone"))?;
        rx.await
            .map_err(|_| io::Error::other("committer gone"))?
            .map_err(io::Error::other)
    }
}

/// One message on its way to disk: content is buffered up to 64 KiB, then
/// appended to the message's temporary file, so memory stays bounded.
/// Dropped without [`MessageWriter::commit`], it removes its file.
#[derive(Debug)]
pub struct MessageWriter {
    store: Arc<MailDir>,
    id: String,
    buf: Vec<u8>,
    file: Option<std::fs::File>,
    error: Option<io::Error>,
}

impl MessageWriter {
    fn tmp(&self, ext: &str) -> PathBuf {
        self.store.dir.join(format!(".{}.{ext}.tmp", self.id))
    }

    /// Appends content (an error is kept and reported by `commit`).
    pub async fn write(&mut self, piece: &[u8]) {
        self.buf.extend_from_slice(piece);
        if self.buf.len() >= SPILL && self.error.is_none() {
            if let Err(e) = self.spill().await {
                self.error = Some(e);
            }
            self.buf.clear();
        }
    }

    async fn spill(&mut self) -> io::Result<()> {
        let mut file = match self.file.take() {
            Some(f) => f,
            None => std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.tmp("eml"))?,
        };
        let buf = std::mem::take(&mut self.buf);
        let (file, buf) = tokio::task::spawn_blocking(move || {
            let r = file.write_all(&buf);
            r.map(|()| (file, buf))
        })
        .await
        .map_err(io::Error::other)??;
        self.file = Some(file);
        self.buf = buf;
        Ok(())
    }

    /// Makes the message durable with `envelope` as its `.env` and returns
    /// its id; returns only after the shared folder fsync (RFC 5321 6.1).
    pub async fn commit(mut self, envelope: String) -> io::Result<String> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let file = self.file.take();
        let buf = std::mem::take(&mut self.buf);
        let (dir, id) = (self.store.dir.clone(), self.id.clone());
        let (eml_tmp, env_tmp) = (self.tmp("eml"), self.tmp("env"));
        tokio::task::spawn_blocking(move || -> io::Result<()> {
            let mut f = match file {
                Some(f) => f,
                None => std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&eml_tmp)?,
            };
            f.write_all(&buf)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&eml_tmp, dir.join(format!("{id}.eml")))?;
            let r = (|| {
                let mut e = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&env_tmp)?;
                e.write_all(envelope.as_bytes())?;
                e.sync_all()?;
                std::fs::rename(&env_tmp, dir.join(format!("{id}.env")))
            })();
            if r.is_err() {
                let _ = std::fs::remove_file(&env_tmp);
                let _ = std::fs::remove_file(dir.join(format!("{id}.eml")));
            }
            r
        })
        .await
        .map_err(io::Error::other)??;
        let id = std::mem::take(&mut self.id);
        self.store.folder_sync().await?;
        Ok(id)
    }
}

impl Drop for MessageWriter {
    fn drop(&mut self) {
        // Not committed (or commit failed before the rename): no 250 went
        // out, so the partial file goes.
        if !self.id.is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(self.tmp("eml"));
        }
    }
}

/// One session's messages on their way into a [`MailDir`]: the content
/// pieces of [`Session::data`](super::Session::data) go to
/// [`Inbox::write`], the message decision to [`Inbox::commit`], an abort
/// to [`Inbox::discard`]. Memory stays bounded (see [`MessageWriter`]).
#[derive(Debug)]
pub struct Inbox {
    dir: Arc<MailDir>,
    writer: Option<MessageWriter>,
}

impl Inbox {
    /// Appends content to the message in progress (starting one).
    pub async fn write(&mut self, piece: &[u8]) {
        let dir = &self.dir;
        self.writer
            .get_or_insert_with(|| dir.writer())
            .write(piece)
            .await;
    }

    /// Stores the message in progress durably with the envelope of `m`
    /// (RFC 5321 6.1) and returns its id; the next write starts a new one.
    pub async fn commit(&mut self, m: &Message<'_>) -> io::Result<String> {
        let w = self.writer.take().unwrap_or_else(|| self.dir.writer());
        let r = w.commit(envelope_text(m)).await;
        if let Err(e) = &r {
            tracing::error!(dir = %self.dir.dir.display(), "storing a message failed: {e}");
        }
        r
    }

    /// Drops the message in progress (its partial file goes).
    pub fn discard(&mut self) {
        self.writer = None;
    }
}

/// The `.env` text of a message (format: see the [module docs](self)).
pub fn envelope_text(m: &Message<'_>) -> String {
    let mut s = format!(
        "mode: {}\npeer: {}\nhelo: {}\ntls: {}\nauth: {}\nfrom: {}\n",
        mode_name(m.connection.mode),
        m.connection.peer,
        escape(m.helo),
        if m.tls { "yes" } else { "no" },
        m.auth.map_or("-".into(), |u| escape(u.as_bytes())),
        escape(m.from),
    );
    for t in m.to {
        s.push_str(&format!("to: {}\n", escape(t)));
    }
    s.push_str(&format!("size: {}\n", m.size));
    if let Some(p) = &m.connection.proxy {
        s.push_str(&format!("via: {}\n", p.via));
    }
    s
}

fn recover(dir: &Path) -> io::Result<Vec<Leftover>> {
    let names: std::collections::BTreeSet<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let mut removed = Vec::new();
    for name in &names {
        let why = if name.starts_with('.') && name.ends_with(".tmp") {
            Some("temporary file of an unfinished delivery")
        } else if let Some(id) = name.strip_suffix(".eml") {
            (!names.contains(&format!("{id}.env"))).then_some("message without its envelope")
        } else if let Some(id) = name.strip_suffix(".env") {
            (!names.contains(&format!("{id}.eml"))).then_some("envelope without its message")
        } else {
            None
        };
        if let Some(why) = why {
            std::fs::remove_file(dir.join(name))?;
            removed.push((name.clone(), why));
        }
    }
    if !removed.is_empty() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(removed)
}
