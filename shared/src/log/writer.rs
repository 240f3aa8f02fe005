//! The log's single writer: group commit of concurrent appends.
//!
//! Requests queue on a channel; the writer takes every request waiting (up
//! to a cap), checks each against the heads as they stand after the requests
//! before it, puts the accepted ones into one segment, writes segment,
//! indexes and heads in one sled batch, flushes, and only then answers. A
//! request that fails its checks is answered at once and leaves no trace.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::segment::SegmentBuilder;
use super::store::{self, WriteBatch};
use super::{Appended, Head, LogError, LogOptions, Refusal, RefusalKind, Replicated, Shared};
use crate::event::{self, EventId, Hash, Verified};
use crate::proto::v1::Event;
use crate::unit::UnitId;
use crate::validate::MAX_EVENT_BYTES;

/// One append request.
pub(super) enum Request {
    Own {
        drafts: Vec<Event>,
        reply: oneshot::Sender<Result<Vec<Appended>, LogError>>,
    },
    Replicated {
        events: Vec<Verified>,
        reply: oneshot::Sender<Result<Replicated, LogError>>,
    },
}

impl Request {
    fn events(&self) -> usize {
        match self {
            Request::Own { drafts, .. } => drafts.len(),
            Request::Replicated { events, .. } => events.len(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Request::Own { drafts, .. } => drafts.len() * 256,
            Request::Replicated { events, .. } => events.iter().map(|e| e.bytes.len()).sum(),
        }
    }
}

/// The writer thread and the way to reach it. Dropping it stops the thread
/// after the requests already queued.
#[derive(Debug)]
pub(super) struct Handle {
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Handle {
    pub(super) fn send(&self, r: Request) -> Result<(), LogError> {
        let guard = self.tx.lock().map_err(|_| LogError::Closed)?;
        guard
            .as_ref()
            .ok_or(LogError::Closed)?
            .send(r)
            .map_err(|_| LogError::Closed)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut t) = self.thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
    }
}

pub(super) fn spawn(
    shared: Arc<Shared>,
    heads: HashMap<UnitId, Head>,
    len: u64,
    opts: LogOptions,
) -> Result<Handle, LogError> {
    let (tx, rx) = mpsc::channel();
    let mut w = Writer {
        shared,
        heads,
        next_pos: len,
        opts,
        poisoned: None,
    };
    let thread = std::thread::Builder::new()
        .name("sync178-log-writer".into())
        .spawn(move || w.run(rx))
        .map_err(|e| LogError::Poisoned(format!("cannot start the writer thread: {e}")))?;
    Ok(Handle {
        tx: Mutex::new(Some(tx)),
        thread: Mutex::new(Some(thread)),
    })
}

struct Writer {
    shared: Arc<Shared>,
    /// Durable heads.
    heads: HashMap<UnitId, Head>,
    /// Durable length.
    next_pos: u64,
    opts: LogOptions,
    poisoned: Option<String>,
}

/// An event accepted by a request, not yet placed in the segment.
struct Pending {
    origin: UnitId,
    seq: u64,
    hash: Hash,
    own_id: Option<EventId>,
    bytes: Bytes,
}

/// What one group commit collects.
struct Group {
    base: u64,
    segment: SegmentBuilder,
    /// (origin, seq, hash) of every event in the segment, in order.
    entries: Vec<(UnitId, u64, Hash)>,
    /// Heads changed by the group.
    heads: HashMap<UnitId, Head>,
    /// Own ids stored by the group.
    ids: HashMap<EventId, Appended>,
    /// First event of each origin in the segment: (origin, seq, index).
    firsts: Vec<(UnitId, u64, u32)>,
    seen: HashSet<UnitId>,
}

/// Answers waiting for the flush.
enum Answer {
    Own(
        oneshot::Sender<Result<Vec<Appended>, LogError>>,
        Vec<Appended>,
    ),
    Replicated(oneshot::Sender<Result<Replicated, LogError>>, Replicated),
}

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut events = first.events();
            let mut bytes = first.bytes();
            let mut group = vec![first];
            while events < self.opts.max_group_events && bytes < self.opts.max_group_bytes {
                match rx.try_recv() {
                    Ok(r) => {
                        events += r.events();
                        bytes += r.bytes();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            self.commit(group);
        }
    }

    fn commit(&mut self, requests: Vec<Request>) {
        if let Some(why) = &self.poisoned {
            for r in requests {
                match r {
                    Request::Own { reply, .. } => {
                        let _ = reply.send(Err(LogError::Poisoned(why.clone())));
                    }
                    Request::Replicated { reply, .. } => {
                        let _ = reply.send(Err(LogError::Poisoned(why.clone())));
                    }
                }
            }
            return;
        }
        let mut g = Group {
            base: self.next_pos,
            segment: SegmentBuilder::new(),
            entries: Vec::new(),
            heads: HashMap::new(),
            ids: HashMap::new(),
            firsts: Vec::new(),
            seen: HashSet::new(),
        };
        let mut answers = Vec::with_capacity(requests.len());
        for r in requests {
            match r {
                Request::Own { drafts, reply } => match self.stage_own(&mut g, drafts) {
                    Ok(res) => answers.push(Answer::Own(reply, res)),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                },
                Request::Replicated { events, reply } => {
                    match self.stage_replicated(&mut g, events) {
                        Ok(res) => answers.push(Answer::Replicated(reply, res)),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                }
            }
        }
        let added = u64::from(g.segment.len());
        let changed: Vec<(UnitId, Head)> = g.heads.iter().map(|(o, h)| (*o, *h)).collect();
        if added > 0 {
            if let Err(e) = self.write(g) {
                let why = e.to_string();
                tracing::error!(error = %why, "event log write failed; refusing further writes");
                self.poisoned = Some(why.clone());
                for a in answers {
                    match a {
                        Answer::Own(tx, _) => {
                            let _ = tx.send(Err(LogError::Poisoned(why.clone())));
                        }
                        Answer::Replicated(tx, _) => {
                            let _ = tx.send(Err(LogError::Poisoned(why.clone())));
                        }
                    }
                }
                return;
            }
            self.heads.extend(changed.iter().copied());
            {
                let mut shared = self.shared.heads.write().unwrap_or_else(|p| p.into_inner());
                shared.extend(changed.iter().copied());
            }
            self.next_pos += added;
            self.shared.len.send_replace(self.next_pos);
        }
        for a in answers {
            match a {
                Answer::Own(tx, res) => {
                    let _ = tx.send(Ok(res));
                }
                Answer::Replicated(tx, res) => {
                    let _ = tx.send(Ok(res));
                }
            }
        }
    }

    fn write(&self, g: Group) -> Result<(), LogError> {
        let mut batch = WriteBatch::default();
        for (origin, seq, index) in &g.firsts {
            let mut v = [0u8; 12];
            v[..8].copy_from_slice(&g.base.to_be_bytes());
            v[8..].copy_from_slice(&index.to_be_bytes());
            batch.put(store::origin_key(origin.to_bytes(), *seq), v);
        }
        for (id, a) in &g.ids {
            batch.put(store::id_key(id), a.position.to_be_bytes());
        }
        for (origin, h) in &g.heads {
            batch.put(store::head_key(origin.to_bytes()), h.encode());
        }
        batch.put(store::segment_key(g.base), g.segment.finish());
        self.shared.store.commit(batch)?;
        Ok(())
    }

    /// The head of `origin` as it stands after what is staged.
    fn head(&self, g: &Group, local: &HashMap<UnitId, Head>, origin: UnitId) -> Head {
        local
            .get(&origin)
            .or_else(|| g.heads.get(&origin))
            .or_else(|| self.heads.get(&origin))
            .copied()
            .unwrap_or(Head::EMPTY)
    }

    /// Places accepted events in the group's segment; returns their heads.
    fn place(&self, g: &mut Group, pending: Vec<Pending>) -> Vec<(Option<EventId>, Head)> {
        let mut placed = Vec::with_capacity(pending.len());
        for p in pending {
            let index = g.segment.len();
            let position = g.base + u64::from(index);
            g.segment.push(&p.bytes);
            g.entries.push((p.origin, p.seq, p.hash));
            if g.seen.insert(p.origin) {
                g.firsts.push((p.origin, p.seq, index));
            }
            let head = Head {
                seq: p.seq,
                hash: p.hash,
                position,
            };
            g.heads.insert(p.origin, head);
            placed.push((p.own_id, head));
        }
        placed
    }

    fn stage_own(&self, g: &mut Group, drafts: Vec<Event>) -> Result<Vec<Appended>, LogError> {
        let me = self.shared.unit;
        let mut local: HashMap<UnitId, Head> = HashMap::new();
        let mut local_ids: HashMap<EventId, usize> = HashMap::new();
        // Per draft: Ok(first result) for a duplicate, Err(index into pending) for a new event.
        let mut slots: Vec<Result<Appended, usize>> = Vec::with_capacity(drafts.len());
        let mut pending = Vec::new();
        for (index, mut ev) in drafts.into_iter().enumerate() {
            let reject = |reason: String| LogError::Rejected { index, reason };
            let id: EventId = ev
                .id
                .as_slice()
                .try_into()
                .map_err(|_| reject(format!("id must be 16 bytes, got {}", ev.id.len())))?;
            if let Some(&i) = local_ids.get(&id) {
                slots.push(Err(i));
                continue;
            }
            if let Some(first) = self.find_own(g, &id)? {
                slots.push(Ok(first));
                continue;
            }
            let head = self.head(g, &local, me);
            ev.origin = me.to_string();
            ev.seq = head.seq + 1;
            ev.prev_hash = head.hash.to_vec();
            let (bytes, hash) = event::seal(&mut ev);
            if bytes.len() > MAX_EVENT_BYTES {
                return Err(reject(format!(
                    "event is {} bytes, over the limit of {MAX_EVENT_BYTES}",
                    bytes.len()
                )));
            }
            local.insert(
                me,
                Head {
                    seq: ev.seq,
                    hash,
                    position: u64::MAX,
                },
            );
            local_ids.insert(id, pending.len());
            slots.push(Err(pending.len()));
            pending.push(Pending {
                origin: me,
                seq: ev.seq,
                hash,
                own_id: Some(id),
                bytes,
            });
        }
        let placed = self.place(g, pending);
        let mut fresh = vec![false; placed.len()];
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            match slot {
                Ok(first) => out.push(first),
                Err(i) => {
                    let (id, head) = placed[i];
                    let id = id.unwrap_or_default();
                    let a = Appended {
                        id,
                        seq: head.seq,
                        position: head.position,
                        hash: head.hash,
                        duplicate: fresh[i],
                    };
                    fresh[i] = true;
                    g.ids.insert(
                        id,
                        Appended {
                            duplicate: false,
                            ..a
                        },
                    );
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// The first result of an own event already stored or staged with `id`.
    fn find_own(&self, g: &Group, id: &EventId) -> Result<Option<Appended>, LogError> {
        if let Some(a) = g.ids.get(id) {
            return Ok(Some(Appended {
                duplicate: true,
                ..*a
            }));
        }
        let Some(pos) = super::id_position(&self.shared.store, id)? else {
            return Ok(None);
        };
        let found = super::read_range(&self.shared.store, pos, self.next_pos, 1, usize::MAX)?;
        let (_, bytes) = found.into_iter().next().ok_or_else(|| LogError::Corrupt {
            at: format!("id {}", hex::encode(id)),
            reason: format!("points at missing position {pos}"),
        })?;
        let h = event::peek(&bytes).map_err(|e| LogError::Corrupt {
            at: format!("position {pos}"),
            reason: e.to_string(),
        })?;
        Ok(Some(Appended {
            id: *id,
            seq: h.seq,
            position: pos,
            hash: h.hash,
            duplicate: true,
        }))
    }

    fn stage_replicated(
        &self,
        g: &mut Group,
        events: Vec<Verified>,
    ) -> Result<Replicated, LogError> {
        let mut local: HashMap<UnitId, Head> = HashMap::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut duplicates = 0u32;
        let mut origins: Vec<UnitId> = Vec::new();
        for (index, v) in events.into_iter().enumerate() {
            let h = v.header;
            let refuse = |kind: RefusalKind, reason: String| {
                LogError::Refused(Refusal {
                    kind,
                    index,
                    origin: Some(h.origin),
                    seq: Some(h.seq),
                    reason,
                })
            };
            if !origins.contains(&h.origin) {
                origins.push(h.origin);
            }
            let cur = self.head(g, &local, h.origin);
            if h.seq <= cur.seq {
                let held = if h.seq == cur.seq {
                    Some(cur.hash)
                } else {
                    self.held_hash(g, &pending, h.origin, h.seq)?
                };
                match held {
                    Some(held) if held == h.hash => {
                        duplicates += 1;
                        continue;
                    }
                    Some(held) => {
                        return Err(refuse(
                            RefusalKind::Diverged,
                            format!(
                                "diverged: held hash {}, received {}",
                                event::hex_hash(&held),
                                event::hex_hash(&h.hash)
                            ),
                        ));
                    }
                    None => {
                        return Err(LogError::Corrupt {
                            at: format!("{} seq {}", h.origin, h.seq),
                            reason: "below the head but not found".into(),
                        });
                    }
                }
            }
            if h.seq > cur.seq + 1 {
                return Err(refuse(
                    RefusalKind::Gap,
                    format!("gap: expected seq {}, got {}", cur.seq + 1, h.seq),
                ));
            }
            if h.prev_hash != cur.hash {
                return Err(refuse(
                    RefusalKind::Chain,
                    format!(
                        "chain broken: prev_hash {} is not the hash of seq {} ({})",
                        event::hex_hash(&h.prev_hash),
                        cur.seq,
                        event::hex_hash(&cur.hash)
                    ),
                ));
            }
            local.insert(
                h.origin,
                Head {
                    seq: h.seq,
                    hash: h.hash,
                    position: u64::MAX,
                },
            );
            pending.push(Pending {
                origin: h.origin,
                seq: h.seq,
                hash: h.hash,
                own_id: None,
                bytes: v.bytes,
            });
        }
        let applied = pending.len() as u32;
        self.place(g, pending);
        let heads = origins
            .into_iter()
            .map(|o| (o, self.head(g, &HashMap::new(), o)))
            .collect();
        Ok(Replicated {
            applied,
            duplicates,
            heads,
        })
    }

    /// The hash held (stored, staged or pending) for origin's `seq`.
    fn held_hash(
        &self,
        g: &Group,
        pending: &[Pending],
        origin: UnitId,
        seq: u64,
    ) -> Result<Option<Hash>, LogError> {
        if let Some(p) = pending.iter().find(|p| p.origin == origin && p.seq == seq) {
            return Ok(Some(p.hash));
        }
        if let Some(e) = g.entries.iter().find(|e| e.0 == origin && e.1 == seq) {
            return Ok(Some(e.2));
        }
        let found = super::find_origin_seq(&self.shared.store, origin, seq)?;
        match found {
            Some((pos, bytes)) => {
                let h = event::peek(&bytes).map_err(|e| LogError::Corrupt {
                    at: format!("position {pos}"),
                    reason: e.to_string(),
                })?;
                Ok(Some(h.hash))
            }
            None => Ok(None),
        }
    }
}
