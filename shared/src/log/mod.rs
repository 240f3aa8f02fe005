//! The append-only, hash-chained event log of one node, in sled.
//!
//! Own events get the next `seq` of this node's chain; events of the subtree
//! are stored verbatim after their chain is checked. Writes go through one
//! writer thread that coalesces concurrent appends into one segment, one
//! atomic sled batch and one flush (group commit); nothing is acknowledged
//! before that flush. Readers see only flushed events: [`Log::len`] moves
//! after the flush.
//!
//! Invariants (DESIGN.md §5), pinned by the tests here and in
//! `shared/tests/it/log_*.rs`:
//! 1. per origin, seqs are contiguous from 1 and the hash chain is unbroken;
//! 2. an event id is stored once; a retried own append returns the first result;
//! 3. a request is atomic and durable before it is acknowledged;
//! 4. nothing acknowledged is lost across kill -9 and restart;
//! 5. a stored event is never changed or dropped.

pub mod anchor;
mod open;
pub mod segment;
pub mod store;
mod writer;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use tokio::sync::{oneshot, watch};

use crate::event::{self, EventId, Hash, Verified, ZERO_HASH};
use crate::proto::v1::Event;
use crate::unit::UnitId;
use store::{Store, StoreError, prefix};

/// The latest event of one origin held by this log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Its seq (the number of events of the origin held).
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// Its position in this log.
    pub position: u64,
}

impl Head {
    /// The head of an origin with no events.
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: ZERO_HASH,
        position: u64::MAX,
    };

    fn encode(&self) -> [u8; 48] {
        let mut v = [0u8; 48];
        v[..8].copy_from_slice(&self.seq.to_be_bytes());
        v[8..40].copy_from_slice(&self.hash);
        v[40..].copy_from_slice(&self.position.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> Option<Head> {
        Some(Head {
            seq: store::be_u64(v, 0)?,
            hash: v.get(8..40)?.try_into().ok()?,
            position: store::be_u64(v, 40)?,
        })
    }
}

/// Why this log records no own events for now, and what reopens it.
///
/// A log closes its own chain when it may have lost events of it: a damaged
/// store (found against the anchor at open), a new store of a node that has a
/// parent (which may hold an earlier chain of the same unit), a restored
/// backup. It reopens by itself once it holds seq `need_own_seq` of its own
/// chain and that figure is confirmed (by the anchor or by the parent):
/// until then, no seq is assigned that might have been assigned before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Own seq the log must hold before it records again.
    pub need_own_seq: u64,
    /// True once `need_own_seq` is known to be all that was acknowledged.
    pub confirmed: bool,
    /// What happened, for people.
    pub reason: String,
}

/// The result of appending one own event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Event id.
    pub id: EventId,
    /// Seq assigned in this node's chain.
    pub seq: u64,
    /// Position in the log.
    pub position: u64,
    /// Hash of the stored bytes.
    pub hash: Hash,
    /// True when the id was already stored: this is the first result again.
    pub duplicate: bool,
}

/// The result of appending a batch of replicated events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replicated {
    /// Events newly stored.
    pub applied: u32,
    /// Events already held with the same hash.
    pub duplicates: u32,
    /// Heads after the batch, for every origin in it.
    pub heads: Vec<(UnitId, Head)>,
}

/// Why a replicated batch was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not decodable, or header fields wrong.
    Malformed,
    /// The bytes do not hash to the hash they state.
    Tampered,
    /// The seq skips ahead of what is held.
    Gap,
    /// The same (origin, seq) is held with a different hash.
    Diverged,
    /// The origin may not be replicated into this log.
    ForbiddenOrigin,
    /// `prev_hash` is not the hash of the previous event held.
    Chain,
}

/// A replicated batch refused; nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {index} of the batch{at}: {reason}", at = match (.origin, .seq) { (Some(o), Some(s)) => format!(" ({o} seq {s})"), _ => String::new() })]
pub struct Refusal {
    /// What kind of fault.
    pub kind: RefusalKind,
    /// Index of the offending event in the batch.
    pub index: usize,
    /// Its origin, when readable.
    pub origin: Option<UnitId>,
    /// Its seq, when readable.
    pub seq: Option<u64>,
    /// What is wrong, for people.
    pub reason: String,
}

/// Errors of the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The storage engine failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log directory holds another unit's log or an unknown format.
    #[error("event log at {path}: {reason}")]
    Incompatible {
        /// The log directory.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// A stored value is not in the expected layout: the store was altered.
    #[error("event log is corrupt at {at}: {reason}")]
    Corrupt {
        /// Where (key or position).
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// An own event could not be appended; nothing of its request was stored.
    #[error("event {index} of the request: {reason}")]
    Rejected {
        /// Index in the request.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A replicated batch was refused.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// An earlier write failed; the log accepts no more writes until restarted.
    #[error("event log stopped after a storage failure: {0}")]
    Poisoned(String),
    /// The disk refused a write (full, read-only, failing); nothing of the
    /// request was acknowledged, and the log takes no more writes until it
    /// is reopened.
    #[error("the disk refused the write, nothing was acknowledged: {0}")]
    Storage(String),
    /// The own chain is closed until lost events are back (see [`Gate`]).
    #[error("recording is closed: {0}")]
    Gated(String),
    /// An own event id is already stored with different content.
    #[error(
        "event {index} of the request: id {id} is already stored as seq {seq} with different content"
    )]
    Conflict {
        /// Index in the request.
        index: usize,
        /// The id, in hex.
        id: String,
        /// Seq of the stored event.
        seq: u64,
    },
    /// The writer has shut down.
    #[error("event log is closed")]
    Closed,
}

impl LogError {
    /// True when sled could not read its files at all (corrupted, cut short)
    /// — not when they are locked or unreadable for permissions.
    pub fn is_damaged_store(&self) -> bool {
        matches!(
            self,
            LogError::Store(StoreError::Open {
                source: sled::Error::Corruption { .. }
                    | sled::Error::Unsupported(_)
                    | sled::Error::ReportableBug(_),
                ..
            })
        )
    }
}

/// Moves a log directory sled cannot read aside, to `<path>.damaged-<ms>`
/// (nothing is deleted), and starts an empty one in its place that keeps
/// the durability anchor: the next open then knows what was acknowledged
/// and keeps the own chain closed until it is back. Returns where the
/// damaged files are now.
pub fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".damaged-{}", crate::event::now_ms()));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)?;
    std::fs::create_dir_all(path)?;
    for name in anchor::FILE_NAMES {
        match std::fs::copy(aside.join(name), path.join(name)) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(aside)
}

/// Options of [`Log::open`].
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// sled page cache, bytes.
    pub cache_bytes: u64,
    /// Most events one group commit takes.
    pub max_group_events: usize,
    /// Most bytes one group commit takes.
    pub max_group_bytes: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            cache_bytes: 256 << 20,
            max_group_events: 20_000,
            max_group_bytes: 16 << 20,
        }
    }
}

/// The result of a queued append, available once it is durable (or refused).
#[derive(Debug)]
pub struct Pending<T>(oneshot::Receiver<Result<T, LogError>>);

impl<T> Pending<T> {
    /// Blocks the thread until the result is there (outside async code only).
    pub fn wait(self) -> Result<T, LogError> {
        self.0.blocking_recv().map_err(|_| LogError::Closed)?
    }
}

impl<T> std::future::Future for Pending<T> {
    type Output = Result<T, LogError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.map_err(|_| LogError::Closed).and_then(|r| r))
    }
}

/// What readers share with the writer.
#[derive(Debug)]
struct Shared {
    store: Store,
    unit: UnitId,
    /// Durable heads.
    heads: RwLock<HashMap<UnitId, Head>>,
    /// Durable length (next position).
    len: watch::Sender<u64>,
    /// The gate of the own chain, if closed.
    gate: watch::Sender<Option<Gate>>,
    /// What the open found wrong and did about it.
    notices: Vec<String>,
    /// The store was created by the open.
    fresh: bool,
    /// Set when the disk refused a write: the log takes no more.
    failure: watch::Sender<Option<String>>,
}

/// A node's event log. Cheap to clone; the writer stops when the last clone drops.
#[derive(Debug, Clone)]
pub struct Log {
    shared: Arc<Shared>,
    writer: Arc<writer::Handle>,
    path: PathBuf,
}

impl Log {
    /// Opens (or creates) the log of `unit` in `path`.
    pub fn open(path: &Path, unit: UnitId) -> Result<Log, LogError> {
        Log::open_with(path, unit, LogOptions::default())
    }

    /// Opens with explicit options.
    pub fn open_with(path: &Path, unit: UnitId, opts: LogOptions) -> Result<Log, LogError> {
        let store = Store::open(path, opts.cache_bytes)?;
        let opened = open::open(&store, path, unit)?;
        let (len_tx, _) = watch::channel(opened.len);
        let (gate_tx, _) = watch::channel(opened.gate.clone());
        let shared = Arc::new(Shared {
            store,
            unit,
            heads: RwLock::new(opened.heads.clone()),
            len: len_tx,
            gate: gate_tx,
            notices: opened.notices,
            fresh: opened.fresh,
            failure: watch::channel(None).0,
        });
        let writer = writer::spawn(
            shared.clone(),
            opened.heads,
            opened.len,
            opened.gate,
            opened.anchor,
            opts,
        )?;
        Ok(Log {
            shared,
            writer: Arc::new(writer),
            path: path.to_path_buf(),
        })
    }

    /// True when this open created the store.
    pub fn is_fresh(&self) -> bool {
        self.shared.fresh
    }

    /// What the open found wrong with the store and did about it (empty when sound).
    pub fn notices(&self) -> &[String] {
        &self.shared.notices
    }

    /// The gate of the own chain, when recording is closed.
    pub fn gate(&self) -> Option<Gate> {
        self.shared.gate.borrow().clone()
    }

    /// Watches for a storage failure: once the disk refused a write the log
    /// refuses every write; the daemon should stop so that it is restarted
    /// (and reopened) once the disk takes writes again.
    pub fn failure(&self) -> watch::Receiver<Option<String>> {
        self.shared.failure.subscribe()
    }

    /// Watches the gate.
    pub fn subscribe_gate(&self) -> watch::Receiver<Option<Gate>> {
        self.shared.gate.subscribe()
    }

    /// Closes the own chain until a parent confirms what it holds of it (a
    /// new store of a node with a parent, a restored backup). Durable.
    pub async fn close_until_confirmed(&self, reason: String) -> Result<Option<Gate>, LogError> {
        self.gate_op(writer::GateOp::Close { reason }).await
    }

    /// The parent holds `parent_seq` of the own chain: the gate (if any)
    /// needs at least that, and is confirmed; a parent ahead of a log with
    /// no gate closes it. Returns the gate after the change.
    pub async fn confirm_own(&self, parent_seq: u64) -> Result<Option<Gate>, LogError> {
        self.gate_op(writer::GateOp::Confirm { parent_seq }).await
    }

    async fn gate_op(&self, op: writer::GateOp) -> Result<Option<Gate>, LogError> {
        let (tx, rx) = oneshot::channel();
        self.writer.send(writer::Request::Gate { op, reply: tx })?;
        Pending(rx).await
    }

    /// Appends events of this node's own chain (and of others that `allow`
    /// admits) fetched back from a parent or a backup: verbatim, each
    /// continuing its chain, own ids indexed. How a closed chain is refilled.
    pub async fn append_recovered(
        &self,
        events: Vec<Bytes>,
        allow: impl Fn(UnitId) -> bool,
    ) -> Result<Replicated, LogError> {
        let unit = self.shared.unit;
        let events = verify_incoming(&self.shared, events, |o| o == unit || allow(o))?;
        let (tx, rx) = oneshot::channel();
        self.writer.send(writer::Request::Replicated {
            events,
            own: true,
            reply: tx,
        })?;
        Pending(rx).await
    }

    /// The unit whose log this is.
    pub fn unit(&self) -> UnitId {
        self.shared.unit
    }

    /// The log directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of durable events (the next position).
    pub fn len(&self) -> u64 {
        *self.shared.len.borrow()
    }

    /// True when no event is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Watches the durable length: changes after every flush.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.len.subscribe()
    }

    /// The durable head of `origin`.
    pub fn head(&self, origin: UnitId) -> Option<Head> {
        read_heads(&self.shared).get(&origin).copied()
    }

    /// Every durable head, sorted by origin.
    pub fn heads(&self) -> Vec<(UnitId, Head)> {
        let mut v: Vec<_> = read_heads(&self.shared)
            .iter()
            .map(|(o, h)| (*o, *h))
            .collect();
        v.sort_by_key(|(o, _)| *o);
        v
    }

    /// Appends own events (drafts with `id` set to 16 bytes and the content
    /// fields filled; `origin`, `seq`, `prev_hash` and `hash` are assigned
    /// here). Atomic and durable before it returns; idempotent by id.
    pub async fn append_own(&self, drafts: Vec<Event>) -> Result<Vec<Appended>, LogError> {
        self.submit_own(drafts)?.await
    }

    /// Queues an own append now and returns its pending result: requests
    /// are applied in the order they were submitted.
    pub fn submit_own(&self, drafts: Vec<Event>) -> Result<Pending<Vec<Appended>>, LogError> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(writer::Request::Own { drafts, reply: tx })?;
        Ok(Pending(rx))
    }

    /// [`Log::append_own`] for callers outside an async runtime.
    pub fn append_own_blocking(&self, drafts: Vec<Event>) -> Result<Vec<Appended>, LogError> {
        self.submit_own(drafts)?.wait()
    }

    /// Appends events of other origins verbatim. Each must verify, have an
    /// origin other than this log's unit for which `allow` is true, and
    /// continue its origin's chain; duplicates with the same hash are
    /// counted, not stored. Atomic: a refused batch stores nothing.
    pub async fn append_replicated(
        &self,
        events: Vec<Bytes>,
        allow: impl Fn(UnitId) -> bool,
    ) -> Result<Replicated, LogError> {
        self.submit_replicated(events, allow)?.await
    }

    /// Checks hashes and origins now, then queues the append and returns its
    /// pending result: requests are applied in the order they were submitted.
    pub fn submit_replicated(
        &self,
        events: Vec<Bytes>,
        allow: impl Fn(UnitId) -> bool,
    ) -> Result<Pending<Replicated>, LogError> {
        let unit = self.shared.unit;
        let events = verify_incoming(&self.shared, events, |o| o != unit && allow(o))?;
        let (tx, rx) = oneshot::channel();
        self.writer.send(writer::Request::Replicated {
            events,
            own: false,
            reply: tx,
        })?;
        Ok(Pending(rx))
    }

    /// [`Log::append_replicated`] for callers outside an async runtime.
    pub fn append_replicated_blocking(
        &self,
        events: Vec<Bytes>,
        allow: impl Fn(UnitId) -> bool,
    ) -> Result<Replicated, LogError> {
        self.submit_replicated(events, allow)?.wait()
    }

    /// The event at `pos`, if durable.
    pub fn get(&self, pos: u64) -> Result<Option<Bytes>, LogError> {
        if pos >= self.len() {
            return Ok(None);
        }
        Ok(self
            .read(pos, 1, usize::MAX)?
            .into_iter()
            .next()
            .map(|(_, b)| b))
    }

    /// Up to `max_events` durable events from `from` on, stopping once
    /// `max_bytes` is reached (at least one event is returned if any).
    pub fn read(
        &self,
        from: u64,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Bytes)>, LogError> {
        read_range(&self.shared.store, from, self.len(), max_events, max_bytes)
    }

    /// Position and bytes of origin's event `seq`, if held.
    pub fn get_by_origin_seq(
        &self,
        origin: UnitId,
        seq: u64,
    ) -> Result<Option<(u64, Bytes)>, LogError> {
        match self.head(origin) {
            Some(h) if seq >= 1 && seq <= h.seq => {}
            _ => return Ok(None),
        }
        find_origin_seq(&self.shared.store, origin, seq)
    }

    /// Position of origin's event `seq`, if held.
    pub fn position_of(&self, origin: UnitId, seq: u64) -> Result<Option<u64>, LogError> {
        Ok(self.get_by_origin_seq(origin, seq)?.map(|(p, _)| p))
    }

    /// Position and bytes of an own event by id. Ids are indexed for this
    /// node's own events only (DESIGN.md §5: the index exists where
    /// idempotent ingest needs it).
    pub fn get_by_id(&self, id: &EventId) -> Result<Option<(u64, Bytes)>, LogError> {
        let Some(pos) = id_position(&self.shared.store, id)? else {
            return Ok(None);
        };
        Ok(self.get(pos)?.map(|b| (pos, b)))
    }

    /// Reads the whole log and checks every invariant: hashes, per-origin
    /// contiguity and chains, the origin and id indexes, and the heads.
    pub fn verify(&self) -> Result<VerifyReport, LogError> {
        // A store that lost acknowledged events of its own chain is not
        // sound, however well what it still holds hangs together.
        if let Some(g) = self.gate()
            && g.confirmed
            && self.head(self.shared.unit).map_or(0, |h| h.seq) < g.need_own_seq
        {
            return Err(LogError::Corrupt {
                at: format!("own chain of {}", self.shared.unit),
                reason: g.reason,
            });
        }
        verify(&self.shared)
    }

    /// Bytes the log takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, LogError> {
        Ok(self.shared.store.size_on_disk()?)
    }

    /// The raw store, for fault-injection tests and repair tools.
    #[doc(hidden)]
    pub fn raw_store(&self) -> &Store {
        &self.shared.store
    }
}

/// What [`Log::verify`] found in a sound log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events read.
    pub events: u64,
    /// Origins seen.
    pub origins: usize,
}

fn read_heads(shared: &Shared) -> std::sync::RwLockReadGuard<'_, HashMap<UnitId, Head>> {
    // A poisoned lock only means a panic elsewhere; the map itself is intact.
    shared.heads.read().unwrap_or_else(|p| p.into_inner())
}

/// Position of an own event by id, from the id index.
pub(crate) fn id_position(store: &Store, id: &EventId) -> Result<Option<u64>, LogError> {
    let Some(v) = store.get(&store::id_key(id))? else {
        return Ok(None);
    };
    store::be_u64(&v, 0)
        .map(Some)
        .ok_or_else(|| LogError::Corrupt {
            at: format!("id {}", hex::encode(id)),
            reason: "index value is not a position".into(),
        })
}

/// Checks hashes and origins of incoming events; `allow` decides origins.
fn verify_incoming(
    shared: &Shared,
    events: Vec<Bytes>,
    allow: impl Fn(UnitId) -> bool,
) -> Result<Vec<Verified>, Refusal> {
    events
        .into_iter()
        .enumerate()
        .map(|(index, bytes)| {
            let v = event::open(bytes).map_err(|e| Refusal {
                kind: match e {
                    event::EventError::HashMismatch { .. } => RefusalKind::Tampered,
                    _ => RefusalKind::Malformed,
                },
                index,
                origin: None,
                seq: None,
                reason: e.to_string(),
            })?;
            let origin = v.header.origin;
            if !allow(origin) {
                return Err(Refusal {
                    kind: RefusalKind::ForbiddenOrigin,
                    index,
                    origin: Some(origin),
                    seq: Some(v.header.seq),
                    reason: format!(
                        "origin {origin} may not be replicated into the log of {}",
                        shared.unit
                    ),
                });
            }
            Ok(v)
        })
        .collect()
}

/// Checks (or, on a new store, writes) format and unit; true when new.
fn check_meta(store: &Store, path: &Path, unit: UnitId) -> Result<bool, LogError> {
    let incompatible = |reason: String| LogError::Incompatible {
        path: path.to_path_buf(),
        reason,
    };
    let fkey = store::meta_key("format");
    let ukey = store::meta_key("unit");
    match (store.get(&fkey)?, store.get(&ukey)?) {
        (None, None) => {
            let mut b = store::WriteBatch::default();
            b.put(fkey, store::FORMAT_VERSION.to_be_bytes());
            b.put(ukey, unit.to_bytes());
            store.commit(b)?;
            Ok(true)
        }
        (Some(f), Some(u)) => {
            let format = store::be_u32(&f, 0).unwrap_or(0);
            if format != store::FORMAT_VERSION {
                return Err(incompatible(format!(
                    "stored format {format}, this build reads format {}",
                    store::FORMAT_VERSION
                )));
            }
            let stored = <[u8; 4]>::try_from(&u[..])
                .ok()
                .and_then(UnitId::from_bytes)
                .ok_or_else(|| incompatible("unit entry is unreadable".into()))?;
            if stored != unit {
                return Err(incompatible(format!(
                    "belongs to unit {stored}, not {unit}"
                )));
            }
            Ok(false)
        }
        _ => Err(incompatible("meta entries are incomplete".into())),
    }
}

fn load_heads(store: &Store) -> Result<HashMap<UnitId, Head>, LogError> {
    let mut heads = HashMap::new();
    for r in store.scan_prefix(&[prefix::HEAD]) {
        let (k, v) = r?;
        let origin = k
            .get(1..5)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .and_then(UnitId::from_bytes);
        match (origin, Head::decode(&v)) {
            (Some(o), Some(h)) => {
                heads.insert(o, h);
            }
            _ => {
                return Err(LogError::Corrupt {
                    at: format!("head key {}", hex::encode(&k)),
                    reason: "unreadable head".into(),
                });
            }
        }
    }
    Ok(heads)
}

fn load_len(store: &Store) -> Result<u64, LogError> {
    let start = store::segment_key(0);
    let end = store::segment_key(u64::MAX);
    let Some((k, v)) = store.last_in(&start, &end)? else {
        return Ok(0);
    };
    let (pos, events) = load_segment(&k, &v)?;
    Ok(pos + events.len() as u64)
}

fn load_segment(key: &[u8], value: &[u8]) -> Result<(u64, Vec<Bytes>), LogError> {
    let pos = store::be_u64(key, 1).unwrap_or(0);
    let events = segment::decode(Bytes::copy_from_slice(value)).map_err(|e| LogError::Corrupt {
        at: format!("segment {pos}"),
        reason: e.to_string(),
    })?;
    Ok((pos, events))
}

pub(crate) fn read_range(
    store: &Store,
    from: u64,
    len: u64,
    max_events: usize,
    max_bytes: usize,
) -> Result<Vec<(u64, Bytes)>, LogError> {
    let mut out = Vec::new();
    if from >= len || max_events == 0 {
        return Ok(out);
    }
    // The segment holding `from` starts at or before it.
    let start = match store.last_in(&store::segment_key(0), &store::segment_key(from))? {
        Some((k, _)) => store::be_u64(&k, 1).unwrap_or(0),
        None => 0,
    };
    let mut bytes = 0usize;
    for r in store.scan_from(&[prefix::SEGMENT], &store::segment_key(start)) {
        let (k, v) = r?;
        let (seg_pos, events) = load_segment(&k, &v)?;
        for (i, ev) in events.into_iter().enumerate() {
            let pos = seg_pos + i as u64;
            if pos < from {
                continue;
            }
            if pos >= len || out.len() >= max_events || (bytes >= max_bytes && !out.is_empty()) {
                return Ok(out);
            }
            bytes += ev.len();
            out.push((pos, ev));
        }
    }
    Ok(out)
}

pub(crate) fn find_origin_seq(
    store: &Store,
    origin: UnitId,
    seq: u64,
) -> Result<Option<(u64, Bytes)>, LogError> {
    let o = origin.to_bytes();
    let Some((_, v)) = store.last_in(&store::origin_key(o, 0), &store::origin_key(o, seq))? else {
        return Ok(None);
    };
    let (Some(seg_pos), Some(index)) = (store::be_u64(&v, 0), store::be_u32(&v, 8)) else {
        return Err(LogError::Corrupt {
            at: format!("origin index of {origin}"),
            reason: "unreadable entry".into(),
        });
    };
    let Some(value) = store.get(&store::segment_key(seg_pos))? else {
        return Err(LogError::Corrupt {
            at: format!("origin index of {origin}"),
            reason: format!("points at missing segment {seg_pos}"),
        });
    };
    let (_, events) = load_segment(&store::segment_key(seg_pos), &value)?;
    for (i, ev) in events.into_iter().enumerate().skip(index as usize) {
        let h = event::peek(&ev).map_err(|e| LogError::Corrupt {
            at: format!("position {}", seg_pos + i as u64),
            reason: e.to_string(),
        })?;
        if h.origin == origin && h.seq == seq {
            return Ok(Some((seg_pos + i as u64, ev)));
        }
    }
    Ok(None)
}

fn verify(shared: &Shared) -> Result<VerifyReport, LogError> {
    let store = &shared.store;
    // What was durable when the check began; events appended while it runs
    // are left to the next check, so a live log verifies too.
    let len = *shared.len.borrow();
    let mut chains: HashMap<UnitId, Head> = HashMap::new();
    let mut expected_origin_index: Vec<(UnitId, u64, u64, u32)> = Vec::new();
    let mut own_ids: Vec<(EventId, u64)> = Vec::new();
    let mut next = 0u64;
    for r in store.scan_prefix(&[prefix::SEGMENT]) {
        let (k, v) = r?;
        let (seg_pos, events) = load_segment(&k, &v)?;
        if seg_pos >= len {
            break;
        }
        if seg_pos != next {
            return Err(LogError::Corrupt {
                at: format!("segment {seg_pos}"),
                reason: format!("expected a segment at position {next}"),
            });
        }
        let count = events.len() as u64;
        let mut seen_in_segment: HashSet<UnitId> = HashSet::new();
        for (i, ev) in events.into_iter().enumerate() {
            let pos = seg_pos + i as u64;
            // Name the event by origin and seq where its header still reads.
            let at = match event::peek(&ev) {
                Ok(h) => format!("position {pos} ({} seq {})", h.origin, h.seq),
                Err(_) => format!("position {pos}"),
            };
            let corrupt = |reason: String| LogError::Corrupt {
                at: at.clone(),
                reason,
            };
            let v = event::open(ev).map_err(|e| corrupt(e.to_string()))?;
            let h = v.header;
            let prev = chains.get(&h.origin).copied().unwrap_or(Head::EMPTY);
            if h.seq != prev.seq + 1 {
                return Err(corrupt(format!(
                    "{} seq {} follows seq {}",
                    h.origin, h.seq, prev.seq
                )));
            }
            if h.prev_hash != prev.hash {
                return Err(corrupt(format!("{} seq {}: chain broken", h.origin, h.seq)));
            }
            if seen_in_segment.insert(h.origin) {
                expected_origin_index.push((h.origin, h.seq, seg_pos, i as u32));
            }
            if h.origin == shared.unit {
                own_ids.push((h.id, pos));
            }
            chains.insert(
                h.origin,
                Head {
                    seq: h.seq,
                    hash: h.hash,
                    position: pos,
                },
            );
        }
        next = seg_pos + count;
    }
    if next != len {
        return Err(LogError::Corrupt {
            at: "end of log".into(),
            reason: format!("segments hold {next} events, the log says {len}"),
        });
    }
    // Indexes and heads agree with the segments.
    for (origin, seq, seg_pos, index) in &expected_origin_index {
        let v = store
            .get(&store::origin_key(origin.to_bytes(), *seq))?
            .ok_or_else(|| LogError::Corrupt {
                at: format!("origin index of {origin}"),
                reason: format!("no entry for seq {seq}"),
            })?;
        if store::be_u64(&v, 0) != Some(*seg_pos) || store::be_u32(&v, 8) != Some(*index) {
            return Err(LogError::Corrupt {
                at: format!("origin index of {origin}"),
                reason: format!("entry for seq {seq} points elsewhere"),
            });
        }
    }
    for (id, pos) in &own_ids {
        let v = store.get(&store::id_key(id))?;
        if v.as_deref().and_then(|v| store::be_u64(v, 0)) != Some(*pos) {
            return Err(LogError::Corrupt {
                at: format!("id {}", hex::encode(id)),
                reason: format!("id index does not point at position {pos}"),
            });
        }
    }
    // Heads agree with the chains. A head may have moved on by appends
    // since the check began: onto an event durable now, which must match,
    // or onto one still being written (past the published length). A head
    // past the end of a log at rest is found, and rebuilt, when it opens.
    let stored_heads = load_heads(store)?;
    let len_now = *shared.len.borrow();
    let head_differs = |origin: &UnitId, why: &str| LogError::Corrupt {
        at: format!("head of {origin}"),
        reason: format!("the stored head {why}"),
    };
    for (origin, h) in &stored_heads {
        match chains.get(origin) {
            Some(chain) if h == chain => {}
            _ if h.position >= len_now => {}
            _ if h.position >= len => {
                let moved = read_range(store, h.position, len_now, 1, usize::MAX)?
                    .into_iter()
                    .next()
                    .and_then(|(_, b)| event::peek(&b).ok());
                if !moved.is_some_and(|e| e.origin == *origin && e.seq == h.seq && e.hash == h.hash)
                {
                    return Err(head_differs(
                        origin,
                        "does not match the event it points at",
                    ));
                }
            }
            _ => {
                return Err(head_differs(
                    origin,
                    "differs from the chain in the segments",
                ));
            }
        }
    }
    if let Some(origin) = chains.keys().find(|o| !stored_heads.contains_key(o)) {
        return Err(head_differs(origin, "is missing"));
    }
    Ok(VerifyReport {
        events: next,
        origins: chains.len(),
    })
}
