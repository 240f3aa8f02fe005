//! Tier reconciliation: prove that every parent node holds exactly what its
//! children hold for their subtree — nothing missing, nothing extra, nothing
//! altered — without shipping the logs.
//!
//! For each parent←child link the job reads, parent first, each node's
//! per-origin heads and chain checkpoints (`Sync.Digest`) and the child's
//! uplink (`Admin.Status`), then classifies every origin of the child's
//! subtree ([`OriginClass`]). Where the hashes differ, it narrows down to the
//! first differing seq with further `Sync.Digest` calls restricted to that
//! origin (k-ary search with a smaller `checkpoint_every`, down to 1; on long
//! chains, where such a digest would cost the node thousands of look-ups, by
//! bisecting with single events from `Feed.Fetch`), and fetches the two
//! copies of that event to say which copy is altered, or whether both are
//! valid chains (a fork).
//!
//! Snapshots are taken level by level, a parent before its children: events
//! only flow upward, so a parent can never look *ahead* of its child because
//! of the timing of the reads, only behind.
//!
//! What the digest can see: the stored hash of each event at every
//! checkpoint and at the head. An event rewritten in place between two
//! checkpoints, or altered without its hash field, is not visible in the
//! digest (the node does not re-verify its chain to answer). With
//! [`TierOptions::verify`] every node also re-reads its whole log
//! (`Admin.Verify`: each event's hash, every chain, the indexes and heads),
//! once per node, and the report names the first broken invariant.
//!
//! `--repair` ([`repair_tiers`]) never writes anything itself: a
//! reconciliation job must not impersonate a child, and the parent accepts
//! events only from its child's certificate. For a behind parent whose child's
//! uplink is up, it waits (bounded) for the uplink to deliver, then re-verifies
//! and reports what moved. Divergence is never repaired.
//!
//! Wiring it into a command line (`sync178-hub reconcile tiers …`):
//!
//! ```text
//! let mut opts = TierOptions::new(root, endpoints, tls_files, topology);
//! opts.walk = walk; opts.repair = repair;            // --walk, --repair
//! match check_tiers(&opts).await {
//!     Err(e) => { eprintln!("{e}"); exit(e.exit_code()) }          // 2
//!     Ok(r) => { print!("{}", r.render_text(lang));  // or r.to_json(), r.to_csv()
//!                exit(r.exit_code()) }                               // 0 or 1
//! }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde::Serialize;
use sync178_node::sync::DEFAULT_CHECKPOINT_EVERY;
use sync178_shared::event::{self, Hash, ZERO_HASH, hex_hash, now_ms};
use sync178_shared::exit::error_chain;
use sync178_shared::i18n::Lang;
use sync178_shared::proto::v1::admin_client::AdminClient;
use sync178_shared::proto::v1::feed_client::FeedClient;
use sync178_shared::proto::v1::sync_client::SyncClient;
use sync178_shared::proto::v1::{
    DigestRequest, FetchRequest, LinkState, OriginDigest, StatusRequest, StatusResponse,
    VerifyRequest,
};
use sync178_shared::tls::{Identity, LoadedTls, Role, TlsFiles};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;
use tonic::transport::Channel;

use super::{EXIT_CONSISTENT, EXIT_DISCREPANCIES, ReconcileError};

/// Time allowed to open a connection to one node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one call (a digest of a big log takes a few seconds).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Time allowed for calls when whole logs are verified (millions of events each).
const VERIFY_TIMEOUT: Duration = Duration::from_secs(3600);
/// Largest answer accepted from a node (nodes send at most 4 MiB by default).
const MAX_MESSAGE: usize = 64 << 20;
/// Nodes read at the same time.
const CONCURRENCY: usize = 8;
/// `checkpoint_every` that yields heads only.
const HEADS_ONLY: u64 = u64::MAX;
/// Most checkpoints asked for in one digest call (~34 bytes each on the wire).
const MAX_CHECKPOINTS_PER_CALL: u64 = 50_000;
/// Most origins named in one digest call.
const MAX_ORIGINS_PER_CALL: usize = 2_000;
/// Points compared per narrowing round.
const NARROW_FANOUT: u64 = 16;
/// Most checkpoints one narrowing digest may cost a node (each is one look-up
/// in its log); above it, the interval is bisected with single events fetched
/// instead, which costs one look-up per side and round.
const NARROW_MAX_ENTRIES: u64 = 64;
/// How often a repair looks at the parent's heads.
const REPAIR_POLL: Duration = Duration::from_millis(100);

// ------------------------------------------------------------------ options

/// What to check and how.
#[derive(Debug, Clone)]
pub struct TierOptions {
    /// The node to start from.
    pub root: UnitId,
    /// The `https://` URL of each node to read.
    pub endpoints: HashMap<UnitId, String>,
    /// An operator (or hub) certificate of the province.
    pub tls: TlsFiles,
    /// The administrative tree the nodes should follow.
    pub topology: Arc<Topology>,
    /// Check the whole subtree of `root`, walking down; otherwise `root` and
    /// its direct children only.
    pub walk: bool,
    /// Wait for behind parents whose child's link is up to receive what they
    /// lack, then re-verify ([`repair_tiers`]).
    pub repair: bool,
    /// Distance between digest checkpoints, in seqs; 0 means the node default (1,000).
    pub checkpoint_every: u64,
    /// A link up but without an acknowledgement for this long, with a backlog,
    /// is flagged stale; a repair gives up after this long without progress.
    pub stale_after: Duration,
    /// Also have every node read its whole log and check every event's hash,
    /// chain and index (`Admin.Verify`, operator certificate): finds events
    /// altered between checkpoints, which digests cannot see.
    pub verify: bool,
}

impl TierOptions {
    /// Options to check `root` and its children, without repair, with the
    /// default checkpoint distance and a 60 s staleness bound.
    pub fn new(
        root: UnitId,
        endpoints: HashMap<UnitId, String>,
        tls: TlsFiles,
        topology: Arc<Topology>,
    ) -> TierOptions {
        TierOptions {
            root,
            endpoints,
            tls,
            topology,
            walk: false,
            repair: false,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            stale_after: Duration::from_secs(60),
            verify: false,
        }
    }

    fn every(&self) -> u64 {
        if self.checkpoint_every == 0 {
            DEFAULT_CHECKPOINT_EVERY
        } else {
            self.checkpoint_every
        }
    }
}

// ------------------------------------------------------------------- report

/// How one origin compares across one parent←child link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginClass {
    /// Same head seq and hash, and the same hashes at every common checkpoint.
    InStep,
    /// The parent holds fewer events than the child (a prefix of them).
    Behind,
    /// The parent holds more events than the child: the child lost events it
    /// had sent (typically restored from an older copy). Nothing is pulled
    /// down; the child's children re-fill it.
    ChildBehindParent,
    /// The two chains differ at some seq both hold: the first differing seq
    /// and both hashes are reported. Never repaired.
    Diverged,
    /// Held by a node although not in its subtree (or not in the topology).
    Unknown,
    /// In the topology under the child, seen at neither tier: a unit that
    /// never connected.
    Missing,
    /// The child's own unit: it answers and its link is up, but it has not
    /// recorded anything yet. Not a discrepancy.
    Empty,
    /// Could not be compared: a node did not answer.
    Unverified,
}

impl OriginClass {
    /// Every class, in report order.
    pub const ALL: [OriginClass; 8] = [
        OriginClass::Diverged,
        OriginClass::Behind,
        OriginClass::ChildBehindParent,
        OriginClass::Missing,
        OriginClass::Unknown,
        OriginClass::Unverified,
        OriginClass::Empty,
        OriginClass::InStep,
    ];

    /// Whether this class is not a discrepancy.
    pub fn is_consistent(self) -> bool {
        matches!(self, OriginClass::InStep | OriginClass::Empty)
    }

    /// The machine key (as in JSON and CSV).
    pub fn key(self) -> &'static str {
        match self {
            OriginClass::InStep => "in_step",
            OriginClass::Behind => "behind",
            OriginClass::ChildBehindParent => "child_behind_parent",
            OriginClass::Diverged => "diverged",
            OriginClass::Unknown => "unknown",
            OriginClass::Missing => "missing",
            OriginClass::Empty => "empty",
            OriginClass::Unverified => "unverified",
        }
    }

    /// The label people read.
    pub fn label(self, lang: Lang) -> &'static str {
        let (vi, en) = match self {
            OriginClass::InStep => ("khớp", "in step"),
            OriginClass::Behind => ("cấp trên thiếu", "parent behind"),
            OriginClass::ChildBehindParent => {
                ("cấp dưới thiếu so với cấp trên", "child behind parent")
            }
            OriginClass::Diverged => ("sai lệch", "diverged"),
            OriginClass::Unknown => ("nguồn lạ", "unknown origin"),
            OriginClass::Missing => ("chưa từng thấy", "missing"),
            OriginClass::Empty => ("chưa ghi nhận gì", "nothing recorded yet"),
            OriginClass::Unverified => ("không kiểm tra được", "unverified"),
        };
        pick(lang, vi, en)
    }
}

/// What a check found about one copy of the first differing event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum CopyCheck {
    /// Its bytes hash to its stated hash, it chains onto the seq before (as
    /// both tiers hold it) and the next event held chains onto it.
    Sound,
    /// Its bytes do not hash to the hash they state: altered in place.
    Altered(String),
    /// Its `prev_hash` is not the hash both tiers hold at the seq before.
    BreaksChainBefore,
    /// The next event of this copy does not chain onto it: it was rewritten
    /// (and re-hashed) after the next one was recorded.
    NextDoesNotChain,
    /// Could not be checked (call failed or not permitted).
    Unchecked(String),
}

impl CopyCheck {
    fn is_sound(&self) -> bool {
        matches!(self, CopyCheck::Sound)
    }
}

/// Where two chains of one origin part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The first seq whose hashes differ (both tiers agree on every seq before
    /// it that was compared, and on the one just before it).
    pub seq: u64,
    /// The parent's hash at `seq`, hex.
    pub parent_hash: String,
    /// The child's hash at `seq`, hex.
    pub child_hash: String,
    /// The parent's copy of the event at `seq`.
    pub parent_copy: CopyCheck,
    /// The child's copy of the event at `seq`.
    pub child_copy: CopyCheck,
    /// `Sync.Digest` calls spent narrowing down (both sides).
    pub narrowing_calls: u32,
}

/// The child's link to its parent, as its `Admin.Status` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UplinkInfo {
    /// `live`, `catching_up`, `connecting`, `backing_off`, `stopped`, `no_parent`.
    pub state: &'static str,
    /// Connected now (live or catching up).
    pub up: bool,
    /// The parent the child's uplink is configured for.
    pub parent: String,
    /// The last error on the link, as the child wrote it.
    pub last_error: String,
    /// When, ms since the Unix epoch; 0 when never.
    pub last_error_at: i64,
    /// Last acknowledgement from the parent, ms; 0 when never.
    pub last_ack_at: i64,
    /// Events held by the child that the parent has not acknowledged.
    pub backlog: u64,
    /// Reconnections so far.
    pub reconnects: u32,
    /// Up with a backlog but no acknowledgement for longer than `stale_after`.
    pub stale: bool,
}

impl UplinkInfo {
    fn from_status(s: &StatusResponse, stale_after: Duration) -> Option<UplinkInfo> {
        let u = s.uplink.as_ref()?;
        let state = u.state();
        let up = matches!(state, LinkState::Live | LinkState::CatchingUp);
        let since = if u.last_ack_at > 0 {
            u.last_ack_at
        } else {
            u.connected_since
        };
        let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
        Some(UplinkInfo {
            state: state_key(state),
            up,
            parent: u.parent.clone(),
            last_error: u.last_error.clone(),
            last_error_at: u.last_error_at,
            last_ack_at: u.last_ack_at,
            backlog: u.backlog,
            reconnects: u.reconnects,
            stale: up && u.backlog > 0 && now_ms().saturating_sub(since) > stale_ms,
        })
    }
}

/// One origin across one link (or, for [`TierReport::unknown_at_root`], at the root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginReport {
    /// The origin, as the nodes spell it.
    pub origin: String,
    /// Its name in the topology.
    pub name: Option<String>,
    /// The classification.
    pub class: OriginClass,
    /// Events the parent holds; `None` when the parent could not be read.
    pub parent_seq: Option<u64>,
    /// Events the child holds; `None` when the child could not be read.
    pub child_seq: Option<u64>,
    /// The parent's head hash, hex.
    pub parent_head: Option<String>,
    /// The child's head hash, hex.
    pub child_head: Option<String>,
    /// How many events one tier holds more than the other (behind classes).
    pub difference: u64,
    /// Where the chains part (diverged).
    pub divergence: Option<Divergence>,
    /// Why the child's uplink does not offer this origin, if it says so.
    pub stalled: Option<String>,
    /// The node holding an unknown origin.
    pub held_by: Option<UnitId>,
    /// Anything else people should know (an unreadable node, an index that
    /// disagrees with the stored event, …), in English.
    pub note: Option<String>,
}

impl OriginReport {
    fn new(origin: &str, topology: &Topology, class: OriginClass) -> OriginReport {
        OriginReport {
            origin: origin.to_string(),
            name: origin
                .parse::<UnitId>()
                .ok()
                .and_then(|u| topology.name(u))
                .map(str::to_string),
            class,
            parent_seq: None,
            child_seq: None,
            parent_head: None,
            child_head: None,
            difference: 0,
            divergence: None,
            stalled: None,
            held_by: None,
            note: None,
        }
    }
}

/// One parent←child link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    /// The parent node.
    pub parent: UnitId,
    /// The child node.
    pub child: UnitId,
    /// The child's name in the topology.
    pub child_name: Option<String>,
    /// Why the parent could not be read.
    pub parent_error: Option<String>,
    /// Why the child could not be read.
    pub child_error: Option<String>,
    /// The child's uplink.
    pub uplink: Option<UplinkInfo>,
    /// A problem with the link itself (the child's uplink is configured for
    /// another parent), in English.
    pub note: Option<String>,
    /// Every origin of the child's subtree, and anything unknown the child holds.
    pub origins: Vec<OriginReport>,
}

impl LinkReport {
    /// Whether every origin of the link is consistent and both nodes answered.
    pub fn is_consistent(&self) -> bool {
        self.parent_error.is_none()
            && self.child_error.is_none()
            && self.note.is_none()
            && self.origins.iter().all(|o| o.class.is_consistent())
    }
}

/// A node that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreachable {
    /// The node.
    pub unit: UnitId,
    /// What failed.
    pub error: String,
}

/// One node's whole-log verification (`--verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogCheck {
    /// The node.
    pub unit: UnitId,
    /// Every invariant holds.
    pub ok: bool,
    /// Events read.
    pub events: u64,
    /// Where the first broken invariant is (position, origin and seq).
    pub at: Option<String>,
    /// What is broken there, or why the node could not verify.
    pub problem: Option<String>,
    /// How long the node took, ms.
    pub took_ms: u64,
}

/// What a repair did, or why it could not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairOutcome {
    /// The tier that was short now holds at least what the other held.
    Repaired,
    /// Some events moved, not all.
    Partial,
    /// Nothing moved.
    NotRepaired,
}

/// Why a repair ended as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum RepairNote {
    /// The child's uplink delivered what the parent lacked.
    CaughtUp,
    /// The child's uplink is down; its last error.
    LinkDown(String),
    /// The child's uplink does not offer this origin; why.
    Stalled(String),
    /// A node could not be read; what failed.
    NodeUnreachable(String),
    /// The link was up but nothing (more) moved within `stale_after`, ms.
    NoProgress(u64),
    /// A divergence is reported for a person to decide, never overwritten.
    DivergenceNeverRepaired,
    /// A parent ahead of its child is not pulled down; the child's own
    /// children re-fill it (or a newer copy of its store is needed).
    NothingPulledDown,
    /// The child was re-filled from below while the repair waited.
    RefilledFromBelow,
    /// No tier holds anything of the origin: nothing can move.
    NothingToMove,
    /// Held where it does not belong; needs a person.
    NotInSubtree,
}

/// One origin a repair acted on or looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// The parent of the link.
    pub parent: UnitId,
    /// The child of the link.
    pub child: UnitId,
    /// The origin.
    pub origin: String,
    /// The class found before the repair.
    pub class_before: OriginClass,
    /// The class found when re-verifying (`None` when not re-verified).
    pub class_after: Option<OriginClass>,
    /// The node that held fewer events.
    pub short_at: UnitId,
    /// Its seq before.
    pub seq_before: u64,
    /// What it should reach (the other tier's seq at the check).
    pub target_seq: u64,
    /// Its seq after.
    pub seq_after: u64,
    /// Events that moved (`seq_after - seq_before`).
    pub moved: u64,
    /// The outcome.
    pub outcome: RepairOutcome,
    /// Why.
    pub note: RepairNote,
}

/// Counts of origins per class, over every link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Links checked.
    pub links: usize,
    /// Nodes that could not be read.
    pub unreachable: usize,
    /// Origins per class key.
    pub classes: BTreeMap<&'static str, usize>,
}

impl Summary {
    /// Origins of `class`.
    pub fn count(&self, class: OriginClass) -> usize {
        self.classes.get(class.key()).copied().unwrap_or(0)
    }
}

/// The result of a tier check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierReport {
    /// The node the check started from.
    pub root: UnitId,
    /// Whether the whole subtree was walked.
    pub walk: bool,
    /// Checkpoint distance used.
    pub checkpoint_every: u64,
    /// When the check started, ms since the Unix epoch.
    pub started_at: i64,
    /// How long it took, ms (repair and re-verification included).
    pub elapsed_ms: u64,
    /// Nodes read.
    pub nodes: usize,
    /// Nodes that could not be read.
    pub unreachable: Vec<Unreachable>,
    /// One per parent←child link, top down.
    pub links: Vec<LinkReport>,
    /// Origins the root holds although not in its subtree.
    pub unknown_at_root: Vec<OriginReport>,
    /// Whether `--repair` ran; then `links` are as re-verified after it.
    pub repair_attempted: bool,
    /// What the repair did, per origin that was not consistent before it.
    pub repaired: Vec<Repair>,
    /// The counts found before the repair.
    pub before_repair: Option<Summary>,
    /// Each node's whole-log verification, when asked for (`--verify`).
    pub log_checks: Vec<LogCheck>,
}

impl TierReport {
    /// Whether every link is consistent and every node answered.
    pub fn is_consistent(&self) -> bool {
        self.unreachable.is_empty()
            && self.unknown_at_root.is_empty()
            && self.links.iter().all(LinkReport::is_consistent)
            && self.log_checks.iter().all(|c| c.ok)
    }

    /// 0 when consistent, 1 when discrepancies were found.
    pub fn exit_code(&self) -> u8 {
        if self.is_consistent() {
            EXIT_CONSISTENT
        } else {
            EXIT_DISCREPANCIES
        }
    }

    /// Counts per class.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            links: self.links.len(),
            unreachable: self.unreachable.len(),
            classes: BTreeMap::new(),
        };
        for c in OriginClass::ALL {
            s.classes.insert(c.key(), 0);
        }
        let all = self
            .links
            .iter()
            .flat_map(|l| l.origins.iter())
            .chain(self.unknown_at_root.iter());
        for o in all {
            *s.classes.entry(o.class.key()).or_insert(0) += 1;
        }
        s
    }

    /// Every origin report with its link, `None` for the root's unknown ones.
    fn rows(&self) -> impl Iterator<Item = (Option<&LinkReport>, &OriginReport)> {
        self.links
            .iter()
            .flat_map(|l| l.origins.iter().map(move |o| (Some(l), o)))
            .chain(self.unknown_at_root.iter().map(|o| (None, o)))
    }

    /// The report as JSON, with `consistent` and `summary` added.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }));
        if let Some(m) = v.as_object_mut() {
            m.insert("consistent".into(), self.is_consistent().into());
            m.insert(
                "summary".into(),
                serde_json::to_value(self.summary()).unwrap_or_default(),
            );
        }
        v
    }

    /// One CSV row per (link, origin), UTF-8 with a byte-order mark (so
    /// spreadsheets read the Vietnamese names right), CRLF line ends.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        let header = [
            "parent",
            "child",
            "origin",
            "origin_name",
            "class",
            "class_vi",
            "parent_seq",
            "child_seq",
            "difference",
            "link_state",
            "link_up",
            "link_last_error",
            "backlog",
            "stalled",
            "first_differing_seq",
            "parent_hash",
            "child_hash",
            "parent_copy",
            "child_copy",
            "held_by",
            "note",
        ];
        csv_row(&mut out, header.iter().map(|s| s.to_string()));
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        for (link, o) in self.rows() {
            let up = link.and_then(|l| l.uplink.as_ref());
            let d = o.divergence.as_ref();
            let row = [
                link.map_or(self.root.to_string(), |l| l.parent.to_string()),
                link.map(|l| l.child.to_string()).unwrap_or_default(),
                o.origin.clone(),
                o.name.clone().unwrap_or_default(),
                o.class.key().to_string(),
                o.class.label(Lang::Vi).to_string(),
                opt(o.parent_seq),
                opt(o.child_seq),
                o.difference.to_string(),
                up.map(|u| u.state.to_string()).unwrap_or_default(),
                up.map(|u| u.up.to_string()).unwrap_or_default(),
                up.map(|u| u.last_error.clone()).unwrap_or_default(),
                up.map(|u| u.backlog.to_string()).unwrap_or_default(),
                o.stalled.clone().unwrap_or_default(),
                d.map(|d| d.seq.to_string()).unwrap_or_default(),
                d.map(|d| d.parent_hash.clone())
                    .or_else(|| o.parent_head.clone())
                    .unwrap_or_default(),
                d.map(|d| d.child_hash.clone())
                    .or_else(|| o.child_head.clone())
                    .unwrap_or_default(),
                d.map(|d| copy_text(&d.parent_copy, Lang::En))
                    .unwrap_or_default(),
                d.map(|d| copy_text(&d.child_copy, Lang::En))
                    .unwrap_or_default(),
                o.held_by.map(|u| u.to_string()).unwrap_or_default(),
                o.note.clone().unwrap_or_default(),
            ];
            csv_row(&mut out, row.into_iter());
        }
        // Nodes whose whole log does not verify (`--verify`): one row each.
        for c in self.log_checks.iter().filter(|c| !c.ok) {
            let mut row = vec![String::new(); header.len()];
            row[1] = c.unit.to_string();
            row[4] = "log_corrupt".into();
            row[5] = "nhật ký hỏng".into();
            row[20] = log_check_text(c, Lang::En);
            csv_row(&mut out, row.into_iter());
        }
        out
    }

    /// A readable summary: the verdict, counts, every discrepancy with what to
    /// know about it, and what a repair did. Origins in step are counted, not listed.
    pub fn render_text(&self, lang: Lang) -> String {
        let mut s = String::new();
        let scope = if self.walk {
            pick(lang, "toàn bộ cây", "whole subtree")
        } else {
            pick(
                lang,
                "đơn vị gốc và các đơn vị trực thuộc",
                "root and its children",
            )
        };
        let sum = self.summary();
        let _ = writeln!(
            s,
            "{} — {} {} ({scope}): {} {}, {} {}, {:.1} s",
            pick(lang, "Đối soát dữ liệu giữa các cấp", "Tier reconciliation"),
            pick(lang, "gốc", "root"),
            self.root,
            self.nodes,
            pick(lang, "nút", "nodes"),
            sum.links,
            pick(lang, "liên kết", "links"),
            self.elapsed_ms as f64 / 1000.0,
        );
        if self.is_consistent() {
            let _ = writeln!(
                s,
                "{}",
                pick(
                    lang,
                    "KẾT QUẢ: KHỚP — mỗi cấp giữ đúng và đủ dữ liệu của các cấp dưới.",
                    "RESULT: CONSISTENT — every tier holds exactly its subtree."
                )
            );
        } else {
            let _ = writeln!(
                s,
                "{}",
                pick(
                    lang,
                    "KẾT QUẢ: CÓ SAI KHÁC — xem chi tiết dưới đây.",
                    "RESULT: DISCREPANCIES FOUND — details below."
                )
            );
        }
        let counts: Vec<String> = OriginClass::ALL
            .iter()
            .filter(|c| sum.count(**c) > 0)
            .map(|c| format!("{} {}", c.label(lang), sum.count(*c)))
            .collect();
        if !counts.is_empty() {
            let _ = writeln!(
                s,
                "{}: {}",
                pick(lang, "Nguồn", "Origins"),
                counts.join(", ")
            );
        }
        if let Some(before) = &self.before_repair {
            let counts: Vec<String> = OriginClass::ALL
                .iter()
                .filter(|c| before.count(**c) > 0)
                .map(|c| format!("{} {}", c.label(lang), before.count(*c)))
                .collect();
            let _ = writeln!(
                s,
                "{}: {}",
                pick(lang, "Trước khi sửa", "Before the repair"),
                counts.join(", ")
            );
        }
        for u in &self.unreachable {
            let _ = writeln!(
                s,
                "{} {}: {}",
                pick(lang, "Không đọc được nút", "Cannot read node"),
                u.unit,
                u.error
            );
        }
        if !self.log_checks.is_empty() {
            let sound = self.log_checks.iter().filter(|c| c.ok).count();
            let events: u64 = self.log_checks.iter().map(|c| c.events).sum();
            let _ = writeln!(
                s,
                "{}: {sound}/{} {}, {events} {}",
                pick(
                    lang,
                    "Kiểm tra toàn bộ nhật ký (--verify)",
                    "Whole logs verified (--verify)"
                ),
                self.log_checks.len(),
                pick(lang, "nút toàn vẹn", "nodes sound"),
                pick(lang, "sự kiện đã đọc", "events read"),
            );
            for c in self.log_checks.iter().filter(|c| !c.ok) {
                let _ = writeln!(s, "  - {}", log_check_text(c, lang));
            }
        }
        for l in &self.links {
            if l.is_consistent() {
                continue;
            }
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "{} ← {}{}",
                l.parent,
                l.child,
                l.child_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            if let Some(e) = &l.parent_error {
                let _ = writeln!(
                    s,
                    "  {}: {e}",
                    pick(lang, "cấp trên không trả lời", "parent unreadable")
                );
            }
            if let Some(e) = &l.child_error {
                let _ = writeln!(
                    s,
                    "  {}: {e}",
                    pick(lang, "cấp dưới không trả lời", "child unreadable")
                );
            }
            if let Some(u) = &l.uplink {
                let _ = writeln!(s, "  {}", uplink_text(u, lang));
            }
            if let Some(n) = &l.note {
                let _ = writeln!(s, "  {}: {n}", pick(lang, "lưu ý", "note"));
            }
            let in_step = l.origins.iter().filter(|o| o.class.is_consistent()).count();
            for o in l.origins.iter().filter(|o| !o.class.is_consistent()) {
                let _ = writeln!(s, "  - {}", origin_text(o, l, lang));
            }
            if in_step > 0 {
                let _ = writeln!(
                    s,
                    "  {}: {in_step}",
                    pick(lang, "số nguồn khác đều khớp", "other origins, all in step")
                );
            }
        }
        if !self.unknown_at_root.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "{}", self.root);
            for o in &self.unknown_at_root {
                let _ = writeln!(s, "  - {}", unknown_text(o, lang));
            }
        }
        if self.repair_attempted {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "{}",
                pick(lang, "Sửa chữa (--repair):", "Repair (--repair):")
            );
            if self.repaired.is_empty() {
                let _ = writeln!(
                    s,
                    "  {}",
                    pick(lang, "không có gì cần sửa", "nothing to repair")
                );
            }
            for r in &self.repaired {
                let _ = writeln!(s, "  - {}", repair_text(r, lang));
            }
        }
        s
    }
}

// --------------------------------------------------------------- rendering

fn pick(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    lang.pick(vi, en)
}

fn state_key(s: LinkState) -> &'static str {
    match s {
        LinkState::Unspecified => "unspecified",
        LinkState::NoParent => "no_parent",
        LinkState::Connecting => "connecting",
        LinkState::CatchingUp => "catching_up",
        LinkState::Live => "live",
        LinkState::BackingOff => "backing_off",
        LinkState::Stopped => "stopped",
    }
}

fn state_label(key: &str, lang: Lang) -> &'static str {
    match key {
        "no_parent" => pick(lang, "không có cấp trên", "no parent"),
        "connecting" => pick(lang, "đang kết nối", "connecting"),
        "catching_up" => pick(lang, "đang gửi bù", "catching up"),
        "live" => pick(lang, "đang đồng bộ", "live"),
        "backing_off" => pick(lang, "mất kết nối, chờ thử lại", "down, backing off"),
        "stopped" => pick(lang, "đã dừng", "stopped"),
        _ => pick(lang, "không rõ", "unknown"),
    }
}

fn uplink_text(u: &UplinkInfo, lang: Lang) -> String {
    let mut t = format!(
        "{}: {}, {} {}",
        pick(lang, "liên kết lên", "uplink"),
        state_label(u.state, lang),
        pick(lang, "tồn", "backlog"),
        u.backlog
    );
    if u.stale {
        t.push_str(pick(
            lang,
            ", lâu không được xác nhận",
            ", no acknowledgement for too long",
        ));
    }
    if !u.last_error.is_empty() {
        let _ = write!(
            t,
            "; {}: {}",
            pick(lang, "lỗi gần nhất", "last error"),
            u.last_error
        );
    }
    t
}

fn named(o: &OriginReport) -> String {
    match &o.name {
        Some(n) => format!("{} ({n})", o.origin),
        None => o.origin.clone(),
    }
}

fn seq_text(v: Option<u64>) -> String {
    v.map_or("?".into(), |n| n.to_string())
}

fn link_state_text(l: &LinkReport, lang: Lang) -> String {
    match &l.uplink {
        Some(u) if u.up => pick(
            lang,
            "liên kết lên đang hoạt động",
            "the child's link is up",
        )
        .into(),
        Some(u) => format!(
            "{}: {}",
            pick(lang, "liên kết lên bị ngắt", "the child's link is down"),
            if u.last_error.is_empty() {
                state_label(u.state, lang)
            } else {
                &u.last_error
            }
        ),
        None => pick(lang, "không rõ trạng thái liên kết", "link state unknown").into(),
    }
}

fn copy_text(c: &CopyCheck, lang: Lang) -> String {
    match c {
        CopyCheck::Sound => pick(
            lang,
            "nguyên vẹn, nối chuỗi đúng",
            "sound, chains correctly",
        )
        .into(),
        CopyCheck::Altered(e) => format!(
            "{} ({e})",
            pick(
                lang,
                "bị sửa: nội dung không khớp mã băm ghi trong đó",
                "altered: its bytes do not hash to the hash they state"
            )
        ),
        CopyCheck::BreaksChainBefore => pick(
            lang,
            "không nối vào sự kiện trước (mà hai cấp giống nhau)",
            "does not chain onto the seq before (which both tiers agree on)",
        )
        .into(),
        CopyCheck::NextDoesNotChain => pick(
            lang,
            "bị ghi đè: sự kiện kế tiếp không nối vào nó",
            "rewritten: the next event does not chain onto it",
        )
        .into(),
        CopyCheck::Unchecked(e) => {
            format!("{} ({e})", pick(lang, "không kiểm tra được", "not checked"))
        }
    }
}

fn divergence_verdict(d: &Divergence, l: &LinkReport, lang: Lang) -> String {
    match (d.parent_copy.is_sound(), d.child_copy.is_sound()) {
        (true, false) => format!(
            "{} {}",
            pick(lang, "Bản bị sửa nằm ở cấp dưới", "The altered copy is at the child"),
            l.child
        ),
        (false, true) => format!(
            "{} {}",
            pick(lang, "Bản bị sửa nằm ở cấp trên", "The altered copy is at the parent"),
            l.parent
        ),
        (true, true) => pick(
            lang,
            "Hai chuỗi đều hợp lệ (rẽ nhánh): đơn vị ghi nhận đã ghi các sự kiện khác nhau với cùng số thứ tự — thường do khôi phục từ bản sao cũ rồi ghi tiếp",
            "Both chains are valid (a fork): the origin recorded different events under the same seqs — typically restored from an older copy, then recorded on",
        )
        .into(),
        (false, false) => pick(
            lang,
            "Cả hai bản đều không qua kiểm tra",
            "Neither copy passes the checks",
        )
        .into(),
    }
}

fn origin_text(o: &OriginReport, l: &LinkReport, lang: Lang) -> String {
    let p = seq_text(o.parent_seq);
    let c = seq_text(o.child_seq);
    let mut t = match o.class {
        OriginClass::Behind => format!(
            "{}: {} {} {} ({} {p}, {} {c}); {}",
            named(o),
            pick(lang, "cấp trên thiếu", "parent behind by"),
            o.difference,
            pick(lang, "sự kiện", "events"),
            pick(lang, "cấp trên có", "parent holds"),
            pick(lang, "cấp dưới có", "child holds"),
            link_state_text(l, lang)
        ),
        OriginClass::ChildBehindParent => format!(
            "{}: {} {} {} ({} {p}, {} {c}). {}",
            named(o),
            pick(
                lang,
                "cấp dưới ít hơn cấp trên",
                "the child holds fewer than its parent by"
            ),
            o.difference,
            pick(lang, "sự kiện", "events"),
            pick(lang, "cấp trên có", "parent holds"),
            pick(lang, "cấp dưới có", "child holds"),
            pick(
                lang,
                "Cấp dưới có lẽ đã được khôi phục từ bản sao cũ hoặc mất dữ liệu. Dữ liệu không được kéo xuống: các đơn vị trực thuộc sẽ gửi bù; nếu là chuỗi của chính đơn vị đó thì cần khôi phục từ bản sao mới hơn.",
                "The child was probably restored from an older copy or lost its store. Nothing is pulled down: its own children re-fill it; for its own chain, restore a newer copy.",
            )
        ),
        OriginClass::Diverged => match &o.divergence {
            Some(d) => format!(
                "{}: {} {} — {} {}, {} {}; {}: {}; {}: {}. {}. {}",
                named(o),
                pick(lang, "sai lệch từ số thứ tự", "diverged at seq"),
                d.seq,
                pick(lang, "cấp trên", "parent"),
                d.parent_hash,
                pick(lang, "cấp dưới", "child"),
                d.child_hash,
                pick(lang, "bản của cấp trên", "parent's copy"),
                copy_text(&d.parent_copy, lang),
                pick(lang, "bản của cấp dưới", "child's copy"),
                copy_text(&d.child_copy, lang),
                divergence_verdict(d, l, lang),
                pick(
                    lang,
                    "Không tự sửa: cần người quyết định.",
                    "Not repaired: a person must decide.",
                )
            ),
            None => format!("{}: {}", named(o), OriginClass::Diverged.label(lang)),
        },
        OriginClass::Unknown => unknown_text(o, lang),
        OriginClass::Missing => format!(
            "{}: {} {} {} {}",
            named(o),
            pick(lang, "chưa từng thấy ở", "never seen at"),
            l.child,
            pick(lang, "lẫn", "nor at"),
            l.parent
        ),
        OriginClass::Unverified => format!(
            "{}: {} ({} {p}, {} {c})",
            named(o),
            OriginClass::Unverified.label(lang),
            pick(lang, "cấp trên có", "parent holds"),
            pick(lang, "cấp dưới có", "child holds"),
        ),
        OriginClass::InStep | OriginClass::Empty => {
            format!("{}: {}", named(o), o.class.label(lang))
        }
    };
    if let Some(st) = &o.stalled {
        let _ = write!(
            t,
            "; {}: {st}",
            pick(lang, "cấp dưới tạm dừng gửi", "stalled at the child")
        );
    }
    if let Some(n) = &o.note {
        let _ = write!(t, " [{n}]");
    }
    t
}

fn unknown_text(o: &OriginReport, lang: Lang) -> String {
    format!(
        "{}: {} {} {} ({} {})",
        o.origin,
        pick(lang, "nguồn lạ, đang nằm ở", "unknown origin held by"),
        o.held_by.map(|u| u.to_string()).unwrap_or_default(),
        pick(
            lang,
            "nhưng không thuộc cây đơn vị đó trong danh mục",
            "although not in that node's subtree in the topology",
        ),
        seq_text(o.child_seq.or(o.parent_seq)),
        pick(lang, "sự kiện", "events"),
    )
}

fn note_text(n: &RepairNote, lang: Lang) -> String {
    match n {
        RepairNote::CaughtUp => pick(lang, "liên kết đã gửi bù xong", "the link caught up").into(),
        RepairNote::LinkDown(e) => format!(
            "{}: {e}",
            pick(
                lang,
                "không sửa được: liên kết bị ngắt",
                "cannot repair: link down"
            )
        ),
        RepairNote::Stalled(e) => format!(
            "{}: {e}",
            pick(
                lang,
                "không sửa được: cấp dưới tạm dừng gửi nguồn này",
                "cannot repair: the child does not offer it"
            )
        ),
        RepairNote::NodeUnreachable(e) => format!(
            "{}: {e}",
            pick(
                lang,
                "không sửa được: không đọc được nút",
                "cannot repair: node unreadable"
            )
        ),
        RepairNote::NoProgress(ms) => format!(
            "{} {:.1} s",
            pick(lang, "không có tiến triển trong", "no progress within"),
            *ms as f64 / 1000.0
        ),
        RepairNote::DivergenceNeverRepaired => pick(
            lang,
            "sai lệch không bao giờ được tự sửa: cần người quyết định",
            "a divergence is never repaired: a person must decide",
        )
        .into(),
        RepairNote::NothingPulledDown => pick(
            lang,
            "không kéo dữ liệu xuống: các đơn vị trực thuộc của cấp dưới sẽ gửi bù",
            "nothing is pulled down: the child's own children re-fill it",
        )
        .into(),
        RepairNote::RefilledFromBelow => pick(
            lang,
            "cấp dưới đã được gửi bù từ các đơn vị trực thuộc",
            "the child was re-filled from below",
        )
        .into(),
        RepairNote::NothingToMove => pick(
            lang,
            "không cấp nào có dữ liệu để chuyển",
            "no tier holds anything to move",
        )
        .into(),
        RepairNote::NotInSubtree => pick(
            lang,
            "nằm sai chỗ: cần người xử lý",
            "held where it does not belong: needs a person",
        )
        .into(),
    }
}

fn repair_text(r: &Repair, lang: Lang) -> String {
    let head = format!(
        "{} ← {}, {} {}",
        r.parent,
        r.child,
        pick(lang, "nguồn", "origin"),
        r.origin
    );
    match r.outcome {
        RepairOutcome::Repaired | RepairOutcome::Partial => format!(
            "{head}: {} {} {} {} ({} → {}, {} {}){}; {}",
            r.short_at,
            pick(lang, "đã nhận thêm", "received"),
            r.moved,
            pick(lang, "sự kiện", "events"),
            r.seq_before,
            r.seq_after,
            pick(lang, "cần", "target"),
            r.target_seq,
            if r.outcome == RepairOutcome::Partial {
                pick(lang, ", chưa đủ", ", not all")
            } else {
                ""
            },
            note_text(&r.note, lang)
        ),
        RepairOutcome::NotRepaired => format!(
            "{head} ({}): {}",
            r.class_before.label(lang),
            note_text(&r.note, lang)
        ),
    }
}

fn csv_row(out: &mut String, fields: impl Iterator<Item = String>) {
    let mut first = true;
    for f in fields {
        if !first {
            out.push(',');
        }
        first = false;
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push_str("\r\n");
}

// ------------------------------------------------------------------ clients

/// A connection to one node.
#[derive(Clone)]
struct NodeClient {
    unit: UnitId,
    endpoint: String,
    channel: Channel,
}

impl NodeClient {
    async fn connect(unit: UnitId, endpoint: &str, tls: &LoadedTls) -> Result<NodeClient, String> {
        NodeClient::connect_for(unit, endpoint, tls, CALL_TIMEOUT).await
    }

    async fn connect_for(
        unit: UnitId,
        endpoint: &str,
        tls: &LoadedTls,
        timeout: Duration,
    ) -> Result<NodeClient, String> {
        if !endpoint.starts_with("https://") {
            return Err(format!(
                "endpoint {endpoint} must be an https:// URL (every link is mutual TLS)"
            ));
        }
        let dialer = tls
            .dialer(Identity::new(unit, Role::Node), None)
            .map_err(|e| format!("tls for {endpoint}: {e}"))?;
        let ep = dialer
            .endpoint(endpoint)
            .map_err(|e| format!("bad endpoint {endpoint}: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout);
        let channel = dialer
            .connect(ep)
            .await
            .map_err(|e| format!("cannot connect to {endpoint}: {}", error_chain(&e)))?;
        Ok(NodeClient {
            unit,
            endpoint: endpoint.to_string(),
            channel,
        })
    }

    fn call_error(&self, what: &str, s: &tonic::Status) -> String {
        format!(
            "{what} at {} ({}): {:?}: {}",
            self.unit,
            self.endpoint,
            s.code(),
            s.message()
        )
    }

    /// The node's whole-log verification; a refusal or failure is a check
    /// that did not pass, with the reason.
    async fn verify(&self) -> LogCheck {
        let r = AdminClient::new(self.channel.clone())
            .verify(VerifyRequest {})
            .await
            .map_err(|s| self.call_error("Admin.Verify", &s));
        match r {
            Ok(r) => {
                let r = r.into_inner();
                LogCheck {
                    unit: self.unit,
                    ok: r.ok,
                    events: r.events,
                    at: (!r.ok).then_some(r.at),
                    problem: (!r.ok).then_some(r.problem),
                    took_ms: r.took_ms,
                }
            }
            Err(e) => LogCheck {
                unit: self.unit,
                ok: false,
                events: 0,
                at: None,
                problem: Some(e),
                took_ms: 0,
            },
        }
    }

    async fn digest(&self, origins: Vec<String>, every: u64) -> Result<Vec<OriginDigest>, String> {
        let r = SyncClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .digest(DigestRequest {
                origins,
                checkpoint_every: every,
            })
            .await
            .map_err(|s| self.call_error("Sync.Digest", &s))?
            .into_inner();
        if r.unit != self.unit.to_string() {
            return Err(format!(
                "the node at {} says it is {}, not {}",
                self.endpoint, r.unit, self.unit
            ));
        }
        Ok(r.origins)
    }

    async fn status(&self) -> Result<StatusResponse, String> {
        AdminClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .status(StatusRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.call_error("Admin.Status", &s))
    }

    /// The bytes of origin's event `seq`, if held.
    async fn fetch(&self, origin: &str, seq: u64) -> Result<Option<bytes::Bytes>, String> {
        let r = FeedClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .fetch(FetchRequest {
                origin: origin.to_string(),
                seq,
            })
            .await
            .map_err(|s| self.call_error("Feed.Fetch", &s))?
            .into_inner();
        Ok((!r.event.is_empty()).then_some(r.event))
    }

    /// The stored hash of origin's event `seq`: one event fetched, or, when
    /// fetching is not allowed, a digest with `checkpoint_every = seq`.
    async fn hash_at(&self, origin: &str, seq: u64) -> Result<Hash, String> {
        if let Ok(Some(b)) = self.fetch(origin, seq).await {
            return trailer(&b)
                .ok_or_else(|| format!("{origin} seq {seq} at {}: too short", self.unit));
        }
        let d = self.digest(vec![origin.to_string()], seq).await?;
        d.iter()
            .find(|d| d.origin == origin)
            .and_then(|d| d.checkpoints.first())
            .and_then(|h| <Hash>::try_from(h.as_slice()).ok())
            .ok_or_else(|| format!("{} does not hold {origin} seq {seq}", self.unit))
    }
}

fn trailer(b: &[u8]) -> Option<Hash> {
    b.len()
        .checked_sub(32)
        .and_then(|at| b.get(at..))
        .and_then(|h| h.try_into().ok())
}

// ---------------------------------------------------------------- snapshots

/// One origin's chain as a node's digest shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chain {
    head_seq: u64,
    head_hash: Hash,
    /// Hash per seq: checkpoints and the head.
    points: BTreeMap<u64, Hash>,
    /// The head index disagrees with the stored event at the head seq.
    head_mismatch: bool,
}

impl Chain {
    fn from_digest(d: &OriginDigest) -> Result<Chain, String> {
        let bad = |what: &str| format!("digest of {}: {what}", d.origin);
        let head_hash: Hash = d
            .head_hash
            .as_slice()
            .try_into()
            .map_err(|_| bad("head hash is not 32 bytes"))?;
        let mut points = BTreeMap::new();
        for (i, h) in d.checkpoints.iter().enumerate() {
            let seq = (i as u64 + 1)
                .checked_mul(d.checkpoint_every)
                .filter(|s| *s <= d.head_seq)
                .ok_or_else(|| bad("checkpoint beyond the head"))?;
            let h: Hash = h
                .as_slice()
                .try_into()
                .map_err(|_| bad("checkpoint is not 32 bytes"))?;
            points.insert(seq, h);
        }
        let mut head_mismatch = false;
        match points.get(&d.head_seq) {
            Some(h) => head_mismatch = *h != head_hash,
            None => {
                points.insert(d.head_seq, head_hash);
            }
        }
        Ok(Chain {
            head_seq: d.head_seq,
            head_hash,
            points,
            head_mismatch,
        })
    }
}

/// What one node showed.
struct Snapshot {
    unit: UnitId,
    client: Option<NodeClient>,
    chains: Result<BTreeMap<String, Chain>, String>,
    status: Result<StatusResponse, String>,
    log_check: Option<LogCheck>,
}

async fn probe(
    unit: UnitId,
    endpoint: Option<&String>,
    tls: &LoadedTls,
    every: u64,
    verify: bool,
) -> Snapshot {
    let failed = |e: String| Snapshot {
        unit,
        client: None,
        chains: Err(e.clone()),
        status: Err(e),
        log_check: None,
    };
    let Some(endpoint) = endpoint else {
        return failed(format!("no endpoint given for {unit}"));
    };
    let timeout = if verify { VERIFY_TIMEOUT } else { CALL_TIMEOUT };
    let client = match NodeClient::connect_for(unit, endpoint, tls, timeout).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let chains = read_chains(&client, every).await;
    let status = client.status().await;
    let log_check = if verify {
        Some(client.verify().await)
    } else {
        None
    };
    Snapshot {
        unit,
        client: Some(client),
        chains,
        status,
        log_check,
    }
}

/// Every origin a node holds, with checkpoints: heads first (to size the
/// calls), then checkpoints in chunks that stay well under the message limit.
async fn read_chains(client: &NodeClient, every: u64) -> Result<BTreeMap<String, Chain>, String> {
    let heads = client.digest(Vec::new(), HEADS_ONLY).await?;
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut load = 0u64;
    for h in &heads {
        let n = h.head_seq / every;
        if !cur.is_empty()
            && (load.saturating_add(n) > MAX_CHECKPOINTS_PER_CALL
                || cur.len() >= MAX_ORIGINS_PER_CALL)
        {
            chunks.push(std::mem::take(&mut cur));
            load = 0;
        }
        cur.push(h.origin.clone());
        load = load.saturating_add(n);
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    let mut out = BTreeMap::new();
    for chunk in chunks {
        for d in client.digest(chunk, every).await? {
            out.insert(d.origin.clone(), Chain::from_digest(&d)?);
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------- checks

/// Checks the tiers as `opts` says: reads every node (a parent before its
/// children), classifies every origin of every parent←child link, and, with
/// `opts.repair`, runs [`repair_tiers`] on the result.
///
/// Errors only when the job cannot run: the certificate does not load, the
/// root is not in the topology, or the root cannot be read. Any other node
/// that cannot be read is in the report.
pub async fn check_tiers(opts: &TierOptions) -> Result<TierReport, ReconcileError> {
    let started = Instant::now();
    let tls = opts.tls.load()?;
    let mut report = inspect(opts, &tls).await?;
    report.elapsed_ms = elapsed_ms(started);
    if opts.repair {
        report = repair_with(opts, &tls, report, started).await?;
    }
    Ok(report)
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What classifying needs besides the two snapshots.
struct Ctx<'a> {
    topology: &'a Topology,
    walk: bool,
    stale_after: Duration,
}

async fn inspect(opts: &TierOptions, tls: &LoadedTls) -> Result<TierReport, ReconcileError> {
    let started = Instant::now();
    let started_at = now_ms();
    let topo = &*opts.topology;
    let root = opts.root;
    if !topo.contains(root) {
        return Err(ReconcileError::Options {
            field: "root",
            reason: format!("{root} is not in the topology"),
        });
    }
    let every = opts.every();
    let mut snaps: HashMap<UnitId, Snapshot> = HashMap::new();
    let mut order: Vec<UnitId> = Vec::new();
    let mut level = vec![root];
    let mut depth = 0usize;
    while !level.is_empty() {
        let probed: Vec<Snapshot> = stream::iter(level.iter().copied())
            .map(|u| probe(u, opts.endpoints.get(&u), tls, every, opts.verify))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for s in probed {
            snaps.insert(s.unit, s);
        }
        if depth == 0
            && let Some(Err(e)) = snaps.get(&root).map(|s| &s.chains)
        {
            return Err(ReconcileError::Unreachable {
                unit: root,
                reason: e.clone(),
            });
        }
        order.extend(level.iter().copied());
        level = if depth == 0 || opts.walk {
            let mut next: Vec<UnitId> = level
                .iter()
                .flat_map(|u| topo.children(*u).iter().copied())
                .collect();
            next.sort_unstable();
            next
        } else {
            Vec::new()
        };
        depth += 1;
    }
    let ctx = Ctx {
        topology: topo,
        walk: opts.walk,
        stale_after: opts.stale_after,
    };
    let pairs: Vec<(&Snapshot, &Snapshot)> = order
        .iter()
        .filter(|u| **u != root)
        .filter_map(|c| {
            let p = topo.parent(*c)?;
            Some((snaps.get(&p)?, snaps.get(c)?))
        })
        .collect();
    let links: Vec<LinkReport> = stream::iter(pairs)
        .map(|(p, c)| check_link(&ctx, p, c))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let unknown_at_root = match snaps.get(&root).map(|s| &s.chains) {
        Some(Ok(chains)) => chains
            .iter()
            .filter(|(o, _)| !within(topo, o, root))
            .map(|(o, ch)| {
                let mut r = OriginReport::new(o, topo, OriginClass::Unknown);
                r.parent_seq = Some(ch.head_seq);
                r.parent_head = Some(hex_hash(&ch.head_hash));
                r.held_by = Some(root);
                r.note = Some(not_in_subtree_note(topo, o, root));
                r
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut unreachable: Vec<Unreachable> = order
        .iter()
        .filter_map(|u| {
            let s = snaps.get(u)?;
            s.chains.as_ref().err().map(|e| Unreachable {
                unit: *u,
                error: e.clone(),
            })
        })
        .collect();
    unreachable.sort_by_key(|u| u.unit);
    let mut log_checks: Vec<LogCheck> = order
        .iter()
        .filter_map(|u| snaps.get(u)?.log_check.clone())
        .collect();
    log_checks.sort_by_key(|c| c.unit);
    Ok(TierReport {
        root,
        walk: opts.walk,
        checkpoint_every: every,
        started_at,
        elapsed_ms: elapsed_ms(started),
        nodes: order.len(),
        unreachable,
        links,
        unknown_at_root,
        repair_attempted: false,
        repaired: Vec::new(),
        before_repair: None,
        log_checks,
    })
}

/// What a failed whole-log verification found, for people.
fn log_check_text(c: &LogCheck, lang: Lang) -> String {
    let problem = c.problem.as_deref().unwrap_or("?");
    match &c.at {
        Some(at) => format!(
            "{} {} {} {at}: {problem}",
            pick(lang, "Nhật ký của nút", "The log of node"),
            c.unit,
            pick(lang, "BỊ HỎNG tại", "is CORRUPT at"),
        ),
        None => format!(
            "{} {}: {problem}",
            pick(
                lang,
                "Không kiểm tra được nhật ký của nút",
                "Could not verify the log of node"
            ),
            c.unit,
        ),
    }
}

fn within(topo: &Topology, origin: &str, ancestor: UnitId) -> bool {
    origin
        .parse::<UnitId>()
        .is_ok_and(|o| topo.is_within(o, ancestor))
}

fn not_in_subtree_note(topo: &Topology, origin: &str, holder: UnitId) -> String {
    match origin.parse::<UnitId>() {
        Ok(o) if topo.contains(o) => format!("{o} is in the topology, but not under {holder}"),
        Ok(o) => format!("{o} is not in the topology"),
        Err(e) => format!("{origin:?} is not a unit id: {e}"),
    }
}

async fn check_link(ctx: &Ctx<'_>, p: &Snapshot, c: &Snapshot) -> LinkReport {
    let topo = ctx.topology;
    let child = c.unit;
    let status = c.status.as_ref().ok();
    let uplink = status.and_then(|s| UplinkInfo::from_status(s, ctx.stale_after));
    let stalled: HashMap<&str, &str> = status
        .map(|s| {
            s.origins
                .iter()
                .filter(|o| !o.stalled.is_empty())
                .map(|o| (o.origin.as_str(), o.stalled.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut origins: BTreeSet<String> = topo.subtree(child).iter().map(|u| u.to_string()).collect();
    if let Ok(m) = &p.chains {
        origins.extend(m.keys().filter(|o| within(topo, o, child)).cloned());
    }
    if let Ok(m) = &c.chains {
        origins.extend(m.keys().cloned());
    }
    // What the child's uplink believes the parent holds (its last handshake or ack).
    let acked: HashMap<&str, u64> = status
        .map(|s| {
            s.origins
                .iter()
                .map(|o| (o.origin.as_str(), o.parent_seq))
                .collect()
        })
        .unwrap_or_default();
    let classified: Vec<Option<OriginReport>> = stream::iter(origins.iter())
        .map(|o| classify(ctx, p, c, uplink.as_ref(), o))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut rows = Vec::new();
    for (o, r) in origins.iter().zip(classified) {
        if let Some(mut r) = r {
            r.stalled = stalled.get(o.as_str()).map(|s| s.to_string());
            if let (OriginClass::Behind, Some(held), Some(believed)) =
                (r.class, r.parent_seq, acked.get(o.as_str()).copied())
                && believed > held
            {
                let lost = format!(
                    "{} acknowledged seq {believed} to {child} but now holds {held}: \
                     it lost acknowledged events (restored from an older copy?); \
                     {child} sends them again when its link reconnects",
                    p.unit
                );
                r.note = Some(match r.note.take() {
                    Some(n) => format!("{n}; {lost}"),
                    None => lost,
                });
            }
            rows.push(r);
        }
    }
    let mut link_note: Option<String> = None;
    if let Some(u) = &uplink
        && !u.parent.is_empty()
        && u.parent != p.unit.to_string()
    {
        link_note = Some(format!(
            "{child}'s uplink is configured for {}, not {}",
            u.parent, p.unit
        ));
    }
    LinkReport {
        parent: p.unit,
        child,
        child_name: topo.name(child).map(str::to_string),
        parent_error: p.chains.as_ref().err().cloned(),
        child_error: c.chains.as_ref().err().cloned(),
        uplink,
        note: link_note,
        origins: rows,
    }
}

/// Classifies one origin of one link; `None` when it is reported elsewhere
/// (a unit missing below the child, in a walk, is reported at its own link).
async fn classify(
    ctx: &Ctx<'_>,
    p: &Snapshot,
    c: &Snapshot,
    uplink: Option<&UplinkInfo>,
    o: &str,
) -> Option<OriginReport> {
    let topo = ctx.topology;
    let child = c.unit;
    let pch = p.chains.as_ref().map(|m| m.get(o));
    let cch = c.chains.as_ref().map(|m| m.get(o));
    let mut r = OriginReport::new(o, topo, OriginClass::InStep);
    if let Ok(Some(x)) = pch {
        r.parent_seq = Some(x.head_seq);
        r.parent_head = Some(hex_hash(&x.head_hash));
    } else if pch.is_ok() {
        r.parent_seq = Some(0);
    }
    if let Ok(Some(x)) = cch {
        r.child_seq = Some(x.head_seq);
        r.child_head = Some(hex_hash(&x.head_hash));
    } else if cch.is_ok() {
        r.child_seq = Some(0);
    }
    if !within(topo, o, child) {
        // Only the child's own keys get here (the parent's are filtered).
        r.class = OriginClass::Unknown;
        r.held_by = Some(child);
        r.parent_seq = None;
        r.parent_head = None;
        r.note = Some(not_in_subtree_note(topo, o, child));
        return Some(r);
    }
    match (pch, cch) {
        (Err(e), _) => {
            r.class = OriginClass::Unverified;
            r.note = Some(format!("parent unreadable: {e}"));
        }
        (Ok(None), Ok(None)) | (Ok(None), Err(_)) => {
            let is_child = o == child.to_string();
            if !is_child && ctx.walk {
                return None;
            }
            let up = uplink.is_some_and(|u| u.up);
            r.class = if is_child && cch.is_ok() && up {
                OriginClass::Empty
            } else {
                OriginClass::Missing
            };
            if let Err(e) = cch {
                r.note = Some(format!("child unreadable: {e}"));
            } else if is_child && !up {
                r.note = Some(format!(
                    "{child} answers but its link has not connected{}",
                    uplink
                        .filter(|u| !u.last_error.is_empty())
                        .map(|u| format!(": {}", u.last_error))
                        .unwrap_or_default()
                ));
            }
        }
        (Ok(Some(x)), Err(e)) => {
            r.class = OriginClass::Unverified;
            r.note = Some(format!(
                "child unreadable (parent holds seq {}): {e}",
                x.head_seq
            ));
        }
        (Ok(None), Ok(Some(y))) => {
            r.class = OriginClass::Behind;
            r.difference = y.head_seq;
        }
        (Ok(Some(x)), Ok(None)) => {
            r.class = OriginClass::ChildBehindParent;
            r.difference = x.head_seq;
        }
        (Ok(Some(x)), Ok(Some(y))) => {
            compare(p, c, o, x, y, &mut r).await;
        }
    }
    Some(r)
}

/// Compares two chains of one origin: common checkpoints, then the hash at
/// the shorter head; narrows a difference down to the first differing seq.
async fn compare(p: &Snapshot, c: &Snapshot, o: &str, x: &Chain, y: &Chain, r: &mut OriginReport) {
    let mut notes: Vec<String> = Vec::new();
    if x.head_mismatch {
        notes.push(format!(
            "{}: its head index disagrees with the stored event at seq {}",
            p.unit, x.head_seq
        ));
    }
    if y.head_mismatch {
        notes.push(format!(
            "{}: its head index disagrees with the stored event at seq {}",
            c.unit, y.head_seq
        ));
    }
    let m = x.head_seq.min(y.head_seq);
    let found = match first_difference(&x.points, &y.points, m) {
        Found::Differ { lo, lo_hash, hi } => Some((lo, lo_hash, hi)),
        Found::Agree { lo, lo_hash } => {
            // Both agree up to `lo`; compare at `m`, the shorter head.
            match futures::join!(hash_of(p, x, o, m), hash_of(c, y, o, m)) {
                (Ok(a), Ok(b)) if a == b => None,
                (Ok(_), Ok(_)) => Some((lo, lo_hash, m)),
                (Err(e), _) | (_, Err(e)) => {
                    r.class = OriginClass::Unverified;
                    notes.push(format!("cannot read the hash at seq {m}: {e}"));
                    r.note = Some(notes.join("; "));
                    return;
                }
            }
        }
    };
    if let Some((lo, lo_hash, hi)) = found {
        r.class = OriginClass::Diverged;
        match (&p.client, &c.client) {
            (Some(pc), Some(cc)) => {
                match narrow(pc, cc, o, lo, lo_hash, hi, x.head_seq.max(y.head_seq)).await {
                    Ok(n) => {
                        let (parent_copy, child_copy) = futures::join!(
                            check_copy(pc, o, n.seq, &n.prev, x.head_seq),
                            check_copy(cc, o, n.seq, &n.prev, y.head_seq),
                        );
                        r.divergence = Some(Divergence {
                            seq: n.seq,
                            parent_hash: hex_hash(&n.parent_hash),
                            child_hash: hex_hash(&n.child_hash),
                            parent_copy,
                            child_copy,
                            narrowing_calls: n.calls,
                        });
                    }
                    Err(e) => notes.push(format!("could not narrow down below seq {hi}: {e}")),
                }
            }
            _ => notes.push("not connected: could not narrow down".into()),
        }
    } else {
        match x.head_seq.cmp(&y.head_seq) {
            std::cmp::Ordering::Equal => r.class = OriginClass::InStep,
            std::cmp::Ordering::Less => {
                r.class = OriginClass::Behind;
                r.difference = y.head_seq - x.head_seq;
            }
            std::cmp::Ordering::Greater => {
                r.class = OriginClass::ChildBehindParent;
                r.difference = x.head_seq - y.head_seq;
            }
        }
    }
    if !notes.is_empty() {
        r.note = Some(notes.join("; "));
    }
}

/// The hash of `o` at `seq` on `side`: from its digest when there, else asked for.
async fn hash_of(side: &Snapshot, ch: &Chain, o: &str, seq: u64) -> Result<Hash, String> {
    match (ch.points.get(&seq), &side.client) {
        (Some(h), _) => Ok(*h),
        (None, Some(cl)) => cl.hash_at(o, seq).await,
        (None, None) => Err(format!("{} not connected", side.unit)),
    }
}

/// The outcome of comparing two sets of checkpoints up to a seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Every common seq ≤ the bound agrees; the last one (0 if none) and its hash.
    Agree { lo: u64, lo_hash: Hash },
    /// The first common seq that differs, and the last agreeing one before it.
    Differ { lo: u64, lo_hash: Hash, hi: u64 },
}

fn first_difference(a: &BTreeMap<u64, Hash>, b: &BTreeMap<u64, Hash>, upto: u64) -> Found {
    let mut lo = 0;
    let mut lo_hash = ZERO_HASH;
    for (s, ha) in a.range(..=upto) {
        let Some(hb) = b.get(s) else { continue };
        if ha != hb {
            return Found::Differ {
                lo,
                lo_hash,
                hi: *s,
            };
        }
        lo = *s;
        lo_hash = *ha;
    }
    Found::Agree { lo, lo_hash }
}

/// Where narrowing ended.
#[derive(Debug)]
struct Narrowed {
    seq: u64,
    /// The hash both hold at `seq - 1` (zero for seq 1).
    prev: Hash,
    parent_hash: Hash,
    child_hash: Hash,
    calls: u32,
}

/// The seqs a narrowing round compares in `(lo, hi)` with checkpoint distance `e`.
fn round_points(lo: u64, hi: u64, e: u64) -> impl Iterator<Item = u64> {
    let first = (lo / e + 1).saturating_mul(e);
    (first..hi).step_by(usize::try_from(e).unwrap_or(usize::MAX))
}

/// The checkpoint distance of a narrowing round over `(lo, hi]`, or `None`
/// when a digest would cost a node too many lookups (then single events are fetched).
fn round_every(lo: u64, hi: u64, longest_head: u64) -> Option<u64> {
    let e = (hi - lo).div_ceil(NARROW_FANOUT).max(1);
    (longest_head / e <= NARROW_MAX_ENTRIES).then_some(e)
}

/// Narrows `(lo, hi]` — hashes agree at `lo` (`lo_hash`), differ at `hi` —
/// down to one seq: each round asks both nodes for a digest of that origin
/// alone with a smaller checkpoint distance (about 16 points in the
/// interval) and keeps the first sub-interval that differs, down to a
/// distance of 1. A digest costs a node one look-up per checkpoint up to its
/// head, so when that would exceed [`NARROW_MAX_ENTRIES`] the round instead
/// bisects, fetching the one event in the middle from each side.
#[allow(clippy::too_many_arguments)]
async fn narrow(
    pc: &NodeClient,
    cc: &NodeClient,
    o: &str,
    mut lo: u64,
    mut lo_hash: Hash,
    mut hi: u64,
    longest_head: u64,
) -> Result<Narrowed, String> {
    let mut calls = 0u32;
    let (mut ph, mut ch) = futures::try_join!(pc.hash_at(o, hi), cc.hash_at(o, hi))?;
    while hi - lo > 1 {
        match round_every(lo, hi, longest_head) {
            Some(e) => {
                let (pd, cd) = futures::try_join!(
                    pc.digest(vec![o.to_string()], e),
                    cc.digest(vec![o.to_string()], e)
                )?;
                calls += 2;
                let pd = pick_digest(&pd, o, e, pc.unit)?;
                let cd = pick_digest(&cd, o, e, cc.unit)?;
                for s in round_points(lo, hi, e) {
                    let (a, b) = (pd.points.get(&s), cd.points.get(&s));
                    match (a, b) {
                        (Some(a), Some(b)) if a == b => {
                            lo = s;
                            lo_hash = *a;
                        }
                        (Some(a), Some(b)) => {
                            hi = s;
                            ph = *a;
                            ch = *b;
                            break;
                        }
                        _ => return Err(format!("digest at distance {e} lacks seq {s}")),
                    }
                }
            }
            None => {
                let mid = lo + (hi - lo) / 2;
                let (a, b) = futures::try_join!(pc.hash_at(o, mid), cc.hash_at(o, mid))?;
                if a == b {
                    lo = mid;
                    lo_hash = a;
                } else {
                    hi = mid;
                    ph = a;
                    ch = b;
                }
            }
        }
    }
    Ok(Narrowed {
        seq: hi,
        prev: lo_hash,
        parent_hash: ph,
        child_hash: ch,
        calls,
    })
}

fn pick_digest(d: &[OriginDigest], o: &str, e: u64, unit: UnitId) -> Result<Chain, String> {
    let d = d
        .iter()
        .find(|d| d.origin == o)
        .ok_or_else(|| format!("{unit} no longer holds {o}"))?;
    if d.checkpoint_every != e {
        return Err(format!(
            "{unit} answered with checkpoints every {}, not {e}",
            d.checkpoint_every
        ));
    }
    Chain::from_digest(d)
}

/// Fetches one copy of the event at `seq` (and the next) and checks it.
async fn check_copy(cl: &NodeClient, o: &str, seq: u64, prev: &Hash, head: u64) -> CopyCheck {
    let bytes = match cl.fetch(o, seq).await {
        Ok(Some(b)) => b,
        Ok(None) => return CopyCheck::Unchecked(format!("{} does not hold seq {seq}", cl.unit)),
        Err(e) => return CopyCheck::Unchecked(e),
    };
    let v = match event::open(bytes) {
        Ok(v) => v,
        Err(e) => return CopyCheck::Altered(e.to_string()),
    };
    if v.header.prev_hash != *prev {
        return CopyCheck::BreaksChainBefore;
    }
    if seq < head {
        match cl.fetch(o, seq + 1).await {
            Ok(Some(next)) => match event::peek(&next) {
                Ok(h) if h.prev_hash != v.header.hash => return CopyCheck::NextDoesNotChain,
                Ok(_) => {}
                Err(e) => return CopyCheck::Unchecked(format!("seq {}: {e}", seq + 1)),
            },
            Ok(None) => {}
            Err(e) => return CopyCheck::Unchecked(e),
        }
    }
    CopyCheck::Sound
}

// ------------------------------------------------------------------- repair

/// Repairs what `before` (a report of [`check_tiers`] without repair, for
/// the same `opts`) found repairable, then re-verifies.
///
/// For each origin whose parent is behind, the child's uplink is asked for
/// its state now: when it is up and offers the origin, the repair waits until
/// the parent holds what the child held at the check, giving up after
/// `opts.stale_after` without progress; when it is down, it reports "cannot
/// repair: link down" with the link's last error. Nothing is ever written
/// by this job. Every other discrepancy gets a [`Repair`] entry saying why
/// it is not repaired (or that it was resolved as a side effect, e.g. a
/// child re-filled from below).
pub async fn repair_tiers(
    opts: &TierOptions,
    before: TierReport,
) -> Result<TierReport, ReconcileError> {
    let started = Instant::now();
    let tls = opts.tls.load()?;
    repair_with(opts, &tls, before, started).await
}

/// One origin a repair waits for.
#[derive(Debug, Clone)]
struct Wait {
    parent: UnitId,
    child: UnitId,
    origin: String,
    class: OriginClass,
    before: u64,
    target: u64,
    current: u64,
    note: Option<RepairNote>,
}

async fn repair_with(
    opts: &TierOptions,
    tls: &LoadedTls,
    before: TierReport,
    started: Instant,
) -> Result<TierReport, ReconcileError> {
    let before_summary = before.summary();
    let mut waits: Vec<Wait> = Vec::new();
    let mut others: Vec<(UnitId, UnitId, OriginReport)> = Vec::new();
    for l in &before.links {
        for o in &l.origins {
            match o.class {
                OriginClass::Behind => waits.push(Wait {
                    parent: l.parent,
                    child: l.child,
                    origin: o.origin.clone(),
                    class: o.class,
                    before: o.parent_seq.unwrap_or(0),
                    target: o.child_seq.unwrap_or(0),
                    current: o.parent_seq.unwrap_or(0),
                    note: None,
                }),
                c if !c.is_consistent() => others.push((l.parent, l.child, o.clone())),
                _ => {}
            }
        }
    }
    for o in &before.unknown_at_root {
        others.push((before.root, before.root, o.clone()));
    }
    if waits.is_empty() && others.is_empty() {
        let mut r = before;
        r.repair_attempted = true;
        r.before_repair = Some(before_summary);
        return Ok(r);
    }

    // The child's link now: up, and offering the origin?
    let children: BTreeSet<UnitId> = waits.iter().map(|w| w.child).collect();
    let mut clients: HashMap<UnitId, NodeClient> = HashMap::new();
    for child in children {
        let now = match opts.endpoints.get(&child) {
            None => Err(format!("no endpoint given for {child}")),
            Some(ep) => match NodeClient::connect(child, ep, tls).await {
                Ok(cl) => cl.status().await,
                Err(e) => Err(e),
            },
        };
        for w in waits.iter_mut().filter(|w| w.child == child) {
            w.note = match &now {
                Err(e) => Some(RepairNote::NodeUnreachable(e.clone())),
                Ok(s) => {
                    let up = UplinkInfo::from_status(s, opts.stale_after);
                    let stall = s
                        .origins
                        .iter()
                        .find(|x| x.origin == w.origin && !x.stalled.is_empty());
                    match (up, stall) {
                        (_, Some(st)) => Some(RepairNote::Stalled(st.stalled.clone())),
                        (Some(u), None) if u.up => None,
                        (Some(u), None) => Some(RepairNote::LinkDown(if u.last_error.is_empty() {
                            u.state.to_string()
                        } else {
                            u.last_error
                        })),
                        (None, None) => Some(RepairNote::LinkDown("no uplink".into())),
                    }
                }
            };
        }
    }
    // Wait for the parents of the links that are up.
    let parents: BTreeSet<UnitId> = waits
        .iter()
        .filter(|w| w.note.is_none())
        .map(|w| w.parent)
        .collect();
    for parent in &parents {
        match opts.endpoints.get(parent) {
            None => mark_parent(
                &mut waits,
                *parent,
                format!("no endpoint given for {parent}"),
            ),
            Some(ep) => match NodeClient::connect(*parent, ep, tls).await {
                Ok(cl) => {
                    clients.insert(*parent, cl);
                }
                Err(e) => mark_parent(&mut waits, *parent, e),
            },
        }
    }
    let mut last_progress = Instant::now();
    loop {
        let pending: Vec<usize> = (0..waits.len())
            .filter(|i| waits[*i].note.is_none() && waits[*i].current < waits[*i].target)
            .collect();
        if pending.is_empty() {
            break;
        }
        if last_progress.elapsed() > opts.stale_after {
            let ms = u64::try_from(opts.stale_after.as_millis()).unwrap_or(u64::MAX);
            for i in pending {
                waits[i].note = Some(RepairNote::NoProgress(ms));
            }
            break;
        }
        let by_parent: BTreeMap<UnitId, Vec<String>> =
            pending.iter().fold(BTreeMap::new(), |mut m, i| {
                m.entry(waits[*i].parent)
                    .or_default()
                    .push(waits[*i].origin.clone());
                m
            });
        let polls = by_parent.into_iter().filter_map(|(parent, origins)| {
            let cl = clients.get(&parent)?.clone();
            Some(async move { (parent, cl.digest(origins, HEADS_ONLY).await) })
        });
        for (parent, res) in futures::future::join_all(polls).await {
            match res {
                Ok(heads) => {
                    let seqs: HashMap<&str, u64> = heads
                        .iter()
                        .map(|h| (h.origin.as_str(), h.head_seq))
                        .collect();
                    for w in waits
                        .iter_mut()
                        .filter(|w| w.parent == parent && w.note.is_none())
                    {
                        let now = seqs.get(w.origin.as_str()).copied().unwrap_or(0);
                        if now > w.current {
                            w.current = now;
                            last_progress = Instant::now();
                        }
                    }
                }
                Err(e) => mark_parent(&mut waits, parent, e),
            }
        }
        tokio::time::sleep(REPAIR_POLL).await;
    }

    // Re-verify everything in scope (repairs move events between nodes,
    // they change no stored event: the logs verified before still stand).
    let digests_only = TierOptions {
        verify: false,
        ..opts.clone()
    };
    let mut after = inspect(&digests_only, tls).await?;
    after.log_checks = before.log_checks.clone();
    let class_after = |parent: UnitId, child: UnitId, origin: &str| {
        after
            .links
            .iter()
            .find(|l| l.parent == parent && l.child == child)
            .and_then(|l| l.origins.iter().find(|o| o.origin == origin))
            .cloned()
    };
    let mut repaired = Vec::new();
    for w in &waits {
        let now = class_after(w.parent, w.child, &w.origin);
        let seq_after = now
            .as_ref()
            .and_then(|o| o.parent_seq)
            .unwrap_or(w.current)
            .max(w.current);
        let moved = seq_after.saturating_sub(w.before);
        let outcome = if seq_after >= w.target {
            RepairOutcome::Repaired
        } else if moved > 0 {
            RepairOutcome::Partial
        } else {
            RepairOutcome::NotRepaired
        };
        let note = match (&w.note, outcome) {
            (_, RepairOutcome::Repaired) => RepairNote::CaughtUp,
            (Some(n), _) => n.clone(),
            (None, _) => RepairNote::NoProgress(
                u64::try_from(opts.stale_after.as_millis()).unwrap_or(u64::MAX),
            ),
        };
        repaired.push(Repair {
            parent: w.parent,
            child: w.child,
            origin: w.origin.clone(),
            class_before: w.class,
            class_after: now.map(|o| o.class),
            short_at: w.parent,
            seq_before: w.before,
            target_seq: w.target,
            seq_after,
            moved,
            outcome,
            note,
        });
    }
    for (parent, child, o) in others {
        let now = if parent == child {
            after
                .unknown_at_root
                .iter()
                .find(|x| x.origin == o.origin)
                .cloned()
        } else {
            class_after(parent, child, &o.origin)
        };
        let (short_at, seq_before, target_seq, seq_after) = match o.class {
            OriginClass::ChildBehindParent => (
                child,
                o.child_seq.unwrap_or(0),
                o.parent_seq.unwrap_or(0),
                now.as_ref().and_then(|x| x.child_seq).unwrap_or(0),
            ),
            _ => (
                parent,
                o.parent_seq.unwrap_or(0),
                o.child_seq.unwrap_or(0),
                now.as_ref().and_then(|x| x.parent_seq).unwrap_or(0),
            ),
        };
        let resolved = now.as_ref().is_some_and(|x| x.class.is_consistent());
        let (outcome, note) = match o.class {
            OriginClass::ChildBehindParent if resolved => {
                (RepairOutcome::Repaired, RepairNote::RefilledFromBelow)
            }
            OriginClass::ChildBehindParent => (
                if seq_after > seq_before {
                    RepairOutcome::Partial
                } else {
                    RepairOutcome::NotRepaired
                },
                RepairNote::NothingPulledDown,
            ),
            OriginClass::Diverged => (
                RepairOutcome::NotRepaired,
                RepairNote::DivergenceNeverRepaired,
            ),
            OriginClass::Missing => (RepairOutcome::NotRepaired, RepairNote::NothingToMove),
            OriginClass::Unknown => (RepairOutcome::NotRepaired, RepairNote::NotInSubtree),
            _ => (
                RepairOutcome::NotRepaired,
                RepairNote::NodeUnreachable(o.note.clone().unwrap_or_default()),
            ),
        };
        repaired.push(Repair {
            parent,
            child,
            origin: o.origin.clone(),
            class_before: o.class,
            class_after: now.map(|x| x.class),
            short_at,
            seq_before,
            target_seq,
            seq_after,
            moved: if o.class == OriginClass::ChildBehindParent {
                seq_after.saturating_sub(seq_before)
            } else {
                0
            },
            outcome,
            note,
        });
    }
    after.repair_attempted = true;
    after.repaired = repaired;
    after.before_repair = Some(before_summary);
    after.started_at = before.started_at;
    after.elapsed_ms = before.elapsed_ms.saturating_add(elapsed_ms(started));
    Ok(after)
}

fn mark_parent(waits: &mut [Wait], parent: UnitId, error: String) {
    for w in waits
        .iter_mut()
        .filter(|w| w.parent == parent && w.note.is_none())
    {
        w.note = Some(RepairNote::NodeUnreachable(error.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: u8) -> Hash {
        [b; 32]
    }

    fn points(v: &[(u64, u8)]) -> BTreeMap<u64, Hash> {
        v.iter().map(|(s, b)| (*s, h(*b))).collect()
    }

    #[test]
    fn first_difference_compares_common_seqs_only() {
        let a = points(&[(4, 1), (8, 2), (12, 3), (13, 4)]);
        let b = points(&[(4, 1), (6, 9), (8, 7), (10, 5)]);
        assert_eq!(
            first_difference(&a, &b, 10),
            Found::Differ {
                lo: 4,
                lo_hash: h(1),
                hi: 8
            }
        );
        assert_eq!(
            first_difference(&a, &b, 7),
            Found::Agree {
                lo: 4,
                lo_hash: h(1)
            }
        );
        assert_eq!(
            first_difference(&a, &BTreeMap::new(), 13),
            Found::Agree {
                lo: 0,
                lo_hash: ZERO_HASH
            }
        );
    }

    #[test]
    fn narrowing_rounds_always_make_progress_and_stay_bounded() {
        for (lo, hi) in [
            (0u64, 2u64),
            (0, 1000),
            (4, 8),
            (999, 1017),
            (7, 9),
            (123, 4567),
        ] {
            let e = round_every(lo, hi, 2000).unwrap_or(1);
            let pts: Vec<u64> = round_points(lo, hi, e).collect();
            assert!(!pts.is_empty(), "({lo}, {hi}] e={e}");
            assert!(pts.iter().all(|s| *s > lo && *s < hi && s % e == 0));
            assert!(pts.len() as u64 <= NARROW_FANOUT + 1, "{pts:?}");
        }
        // Short chains are narrowed with digests all the way down to 1 …
        assert_eq!(round_every(4, 8, 12), Some(1));
        assert_eq!(round_every(0, 1000, 2000), Some(63));
        // … long ones would cost too many look-ups: single events are fetched.
        assert_eq!(round_every(0, 63, 2000), None);
        assert_eq!(round_every(0, 4, 10_000_000), None);
    }

    #[test]
    fn chain_from_digest_places_checkpoints_and_flags_a_disagreeing_head() {
        let d = OriginDigest {
            origin: "c00001".into(),
            head_seq: 8,
            head_hash: vec![2; 32],
            checkpoint_every: 4,
            checkpoints: vec![vec![1; 32], vec![3; 32]],
        };
        let c = Chain::from_digest(&d).expect("chain");
        assert_eq!(c.points, points(&[(4, 1), (8, 3)]));
        assert!(c.head_mismatch);
        let bad = OriginDigest {
            checkpoints: vec![vec![1; 32], vec![3; 32], vec![4; 32]],
            ..d
        };
        assert!(Chain::from_digest(&bad).is_err());
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut s = String::new();
        csv_row(
            &mut s,
            [
                "a".to_string(),
                "b,c".into(),
                "say \"hi\"".into(),
                "Xã Đông".into(),
            ]
            .into_iter(),
        );
        assert_eq!(s, "a,\"b,c\",\"say \"\"hi\"\"\",Xã Đông\r\n");
    }
}
