//! What the node knows about its links, for status and logs.

use std::collections::HashMap;
use std::sync::Mutex;

use sync178_shared::event::{Hash, now_ms};
use sync178_shared::proto::v1::{ChildStatus, Head as WireHead, LinkState};
use sync178_shared::unit::UnitId;

/// Why the uplink stopped offering an origin.
#[derive(Debug, Clone)]
pub struct Stall {
    /// What the parent (or the handshake) said.
    pub reason: String,
    /// When, ms since the epoch.
    pub since: i64,
}

/// The uplink as status shows it.
#[derive(Debug, Clone, Default)]
pub struct UplinkState {
    /// Current state.
    pub state: LinkState,
    /// Last error, for people.
    pub last_error: String,
    /// When it happened.
    pub last_error_at: i64,
    /// Start of the current connection.
    pub connected_since: i64,
    /// Last acknowledgement.
    pub last_ack_at: i64,
    /// Reconnections so far.
    pub reconnects: u32,
    /// What the parent holds, per origin, as of the last handshake or ack.
    pub acked: HashMap<UnitId, (u64, Hash)>,
    /// Origins not offered to the parent, and why.
    pub stalled: HashMap<UnitId, Stall>,
    /// Events fetched back from the parent since start.
    pub recovered: u64,
}

/// A child as the parent saw it.
#[derive(Debug, Clone, Default)]
pub struct ChildState {
    /// Push stream open now.
    pub connected: bool,
    /// Last message from it, ms since the epoch.
    pub last_contact: i64,
    /// Heads we hold for its subtree after its last batch.
    pub heads: HashMap<UnitId, (u64, Hash)>,
    /// The last batch of it we refused, and why.
    pub last_refusal: String,
}

/// Shared, mutable link state of a node.
#[derive(Debug, Default)]
pub struct NodeState {
    /// The uplink.
    pub uplink: Mutex<UplinkState>,
    children: Mutex<HashMap<UnitId, ChildState>>,
}

impl NodeState {
    /// Runs `f` on the uplink state.
    pub fn uplink<R>(&self, f: impl FnOnce(&mut UplinkState) -> R) -> R {
        f(&mut self.uplink.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs `f` on the state of `child`.
    pub fn child<R>(&self, child: UnitId, f: impl FnOnce(&mut ChildState) -> R) -> R {
        let mut map = self.children.lock().unwrap_or_else(|p| p.into_inner());
        let c = map.entry(child).or_default();
        c.last_contact = now_ms();
        f(c)
    }

    /// Every child seen, for status.
    pub fn children(&self) -> Vec<ChildStatus> {
        let map = self.children.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<ChildStatus> = map
            .iter()
            .map(|(u, c)| ChildStatus {
                unit: u.to_string(),
                connected: c.connected,
                last_contact: c.last_contact,
                heads: wire_heads(c.heads.iter().map(|(o, (s, h))| (*o, *s, *h))),
                last_refusal: c.last_refusal.clone(),
            })
            .collect();
        v.sort_by(|a, b| a.unit.cmp(&b.unit));
        v
    }
}

/// Heads in wire form, sorted by origin.
pub fn wire_heads(heads: impl Iterator<Item = (UnitId, u64, Hash)>) -> Vec<WireHead> {
    let mut v: Vec<WireHead> = heads
        .map(|(o, seq, hash)| WireHead {
            origin: o.to_string(),
            seq,
            hash: hash.to_vec(),
        })
        .collect();
    v.sort_by(|a, b| a.origin.cmp(&b.origin));
    v
}
