//! The event log's invariants under any interleaving of own and replicated
//! appends, retries and reopenings, and its refusals of bad input.

use std::collections::HashMap;

use bytes::Bytes;
use proptest::prelude::*;
use sync178_shared::event::{self, Hash};
use sync178_shared::log::{Log, LogError, RefusalKind};
use sync178_shared::testing::{chain, draft};
use sync178_shared::unit::UnitId;

fn unit(s: &str) -> UnitId {
    s.parse().expect("valid unit id")
}

const ME: &str = "d008";
const CHILDREN: [&str; 3] = ["c00292", "c00295", "c00298"];

/// One step of a random history.
#[derive(Debug, Clone)]
enum Op {
    /// Append `n` own events.
    Own(usize),
    /// Replicate the next `n` events of child `c`.
    Rep(usize, usize),
    /// Resend events `[sent - back, sent)` of child `c`: all duplicates.
    Resend(usize, usize),
    /// Retry the last own request with the same ids.
    RetryOwn,
    /// Submit `k` small own and replicated requests at once (one group commit).
    Burst(usize),
    /// Close and reopen the log.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1usize..5).prop_map(Op::Own),
        3 => (0usize..3, 1usize..15).prop_map(|(c, n)| Op::Rep(c, n)),
        1 => (0usize..3, 1usize..6).prop_map(|(c, b)| Op::Resend(c, b)),
        1 => Just(Op::RetryOwn),
        2 => (2usize..8).prop_map(Op::Burst),
        1 => Just(Op::Reopen),
    ]
}

/// What the test expects the log to hold.
struct Model {
    chains: Vec<Vec<Bytes>>,
    sent: Vec<usize>,
    own: Vec<(event::EventId, u64, Hash, u64)>,
    last_own: Vec<sync178_shared::proto::v1::Event>,
    len: u64,
}

fn allow_children(o: UnitId) -> bool {
    CHILDREN.iter().any(|c| unit(c) == o)
}

fn check_everything(log: &Log, m: &Model) {
    let report = log.verify().expect("log verifies");
    assert_eq!(report.events, m.len);
    assert_eq!(log.len(), m.len);
    for (i, c) in CHILDREN.iter().enumerate() {
        let sent = m.sent[i];
        match log.head(unit(c)) {
            None => assert_eq!(sent, 0),
            Some(h) => assert_eq!(h.seq, sent as u64),
        }
        for (k, bytes) in m.chains[i][..sent].iter().enumerate() {
            let (_, got) = log
                .get_by_origin_seq(unit(c), k as u64 + 1)
                .expect("reads")
                .expect("replicated event is held");
            assert_eq!(&got, bytes, "stored verbatim");
        }
    }
    for (seq, (id, s, hash, pos)) in m.own.iter().enumerate() {
        assert_eq!(*s, seq as u64 + 1);
        let (p, bytes) = log.get_by_id(id).expect("reads").expect("own event held");
        assert_eq!(p, *pos);
        assert_eq!(event::open(bytes).expect("verifies").header.hash, *hash);
    }
}

fn apply_own(log: &Log, m: &mut Model, drafts: Vec<sync178_shared::proto::v1::Event>) {
    let res = log.append_own_blocking(drafts.clone()).expect("own append");
    for a in res {
        assert!(!a.duplicate);
        assert_eq!(a.seq, m.own.len() as u64 + 1);
        assert_eq!(a.position, m.len);
        m.own.push((a.id, a.seq, a.hash, a.position));
        m.len += 1;
    }
    m.last_own = drafts;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn any_history_keeps_every_invariant(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), unit(ME)).expect("opens");
        let mut m = Model {
            chains: CHILDREN.iter().map(|c| chain(unit(c), 120)).collect(),
            sent: vec![0; 3],
            own: Vec::new(),
            last_own: Vec::new(),
            len: 0,
        };
        for op in ops {
            match op {
                Op::Own(n) => apply_own(&log, &mut m, (0..n).map(|i| draft(ME, i as u32)).collect()),
                Op::Rep(c, n) => {
                    let from = m.sent[c];
                    let to = (from + n).min(m.chains[c].len());
                    let r = log.append_replicated_blocking(m.chains[c][from..to].to_vec(), allow_children).expect("replicates");
                    prop_assert_eq!(r.applied as usize, to - from);
                    prop_assert_eq!(r.duplicates, 0);
                    m.sent[c] = to;
                    m.len += (to - from) as u64;
                }
                Op::Resend(c, back) => {
                    let to = m.sent[c];
                    let from = to.saturating_sub(back);
                    let r = log.append_replicated_blocking(m.chains[c][from..to].to_vec(), allow_children).expect("duplicates are acknowledged");
                    prop_assert_eq!(r.applied, 0);
                    prop_assert_eq!(r.duplicates as usize, to - from);
                }
                Op::RetryOwn => {
                    let before = log.len();
                    let res = log.append_own_blocking(m.last_own.clone()).expect("retry");
                    prop_assert_eq!(log.len(), before, "a retry stores nothing new");
                    for (a, d) in res.iter().zip(&m.last_own) {
                        prop_assert!(a.duplicate);
                        let first = m.own.iter().find(|o| o.0.as_slice() == d.id.as_slice()).expect("first result known");
                        prop_assert_eq!((a.seq, a.hash, a.position), (first.1, first.2, first.3));
                    }
                }
                Op::Burst(k) => {
                    // Several requests in flight at once: one group commit.
                    let mut own = Vec::new();
                    let mut reps = Vec::new();
                    for i in 0..k {
                        if i % 2 == 0 {
                            let d = vec![draft(ME, i as u32)];
                            own.push((log.submit_own(d.clone()).expect("queued"), d));
                        } else {
                            let c = i % 3;
                            let from = m.sent[c];
                            let to = (from + 2).min(m.chains[c].len());
                            reps.push((log.submit_replicated(m.chains[c][from..to].to_vec(), allow_children).expect("queued"), to - from));
                            m.sent[c] = to;
                        }
                    }
                    let mut positions = Vec::new();
                    for (p, d) in own {
                        let a = p.wait().expect("own append")[0];
                        prop_assert_eq!(a.seq, m.own.len() as u64 + 1);
                        m.own.push((a.id, a.seq, a.hash, a.position));
                        positions.push(a.position);
                        m.last_own = d;
                    }
                    for (p, n) in reps {
                        let r = p.wait().expect("replicates");
                        prop_assert_eq!(r.applied as usize, n);
                    }
                    m.len += (m.own.len() as u64 + m.sent.iter().sum::<usize>() as u64) - m.len;
                    prop_assert!(positions.windows(2).all(|w| w[0] < w[1]));
                }
                Op::Reopen => {
                    drop(log);
                    log = Log::open(dir.path(), unit(ME)).expect("reopens");
                }
            }
            prop_assert_eq!(log.len(), m.len);
        }
        check_everything(&log, &m);
        drop(log);
        let log = Log::open(dir.path(), unit(ME)).expect("reopens");
        check_everything(&log, &m);
    }
}

fn open(dir: &tempfile::TempDir) -> Log {
    Log::open(dir.path(), unit(ME)).expect("opens")
}

fn refusal(r: Result<sync178_shared::log::Replicated, LogError>) -> (RefusalKind, usize, String) {
    match r {
        Err(LogError::Refused(f)) => (f.kind, f.index, f.to_string()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_retried_append_returns_the_first_result_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    let batch: Vec<_> = (0..3).map(|i| draft(ME, i)).collect();
    let first = log.append_own_blocking(batch.clone()).expect("appends");
    let len = log.len();
    let again = log
        .append_own_blocking(batch.clone())
        .expect("retry answers");
    assert_eq!(log.len(), len);
    for (a, b) in first.iter().zip(&again) {
        assert!(!a.duplicate && b.duplicate);
        assert_eq!(
            (a.id, a.seq, a.position, a.hash),
            (b.id, b.seq, b.position, b.hash)
        );
    }
    // The same id with different content is a conflict naming the id and
    // the stored seq; nothing of its request is stored.
    let mut changed = batch[1].clone();
    changed.recorded_by = "someone-else".into();
    match log.append_own_blocking(vec![draft(ME, 9), changed.clone()]) {
        Err(LogError::Conflict { index, id, seq }) => {
            assert_eq!((index, seq), (1, first[1].seq));
            assert_eq!(id, hex::encode(&changed.id));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(log.len(), len);
    // In one request: the second draft with the first one's id but other content.
    let mut twin = draft(ME, 10);
    twin.id = draft(ME, 11).id;
    let mut other = twin.clone();
    other.recorded_by = "another-officer".into();
    assert!(matches!(
        log.append_own_blocking(vec![twin.clone(), other]),
        Err(LogError::Conflict { index: 1, .. })
    ));
    assert_eq!(log.len(), len);
    // A retry differing only in what the node assigns is the same event.
    let mut same = batch[1].clone();
    same.recorded_at += 12_345;
    let r = log
        .append_own_blocking(vec![same, draft(ME, 9)])
        .expect("appends");
    assert!(r[0].duplicate && r[0].seq == first[1].seq);
    assert!(!r[1].duplicate && r[1].seq == 4);
    // After a restart too.
    drop(log);
    let log = open(&dir);
    let again = log.append_own_blocking(batch).expect("retry answers");
    assert_eq!(again[2].seq, first[2].seq);
    assert!(again.iter().all(|a| a.duplicate));
    assert_eq!(log.len(), 4);
}

#[test]
fn a_tampered_event_is_refused_and_nothing_of_its_batch_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    let c = unit("c00292");
    let mut events = chain(c, 3);
    let mut bad = events[2].to_vec();
    let n = bad.len();
    bad[n / 2] ^= 0x20;
    events[2] = Bytes::from(bad);
    let (kind, index, msg) = refusal(log.append_replicated_blocking(events, allow_children));
    assert_eq!((kind, index), (RefusalKind::Tampered, 2));
    assert!(msg.contains("hash mismatch"), "{msg}");
    assert_eq!(log.len(), 0);
    assert_eq!(log.head(c), None);
    log.verify().expect("still readable and sound");
}

#[test]
fn a_gap_a_broken_chain_and_a_divergence_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    let c = unit("c00292");
    let good = chain(c, 5);
    log.append_replicated_blocking(good[..2].to_vec(), allow_children)
        .expect("applies");

    // Gap: seq 4 after seq 2, behind a valid seq 3 in the same batch.
    let (kind, index, msg) = refusal(
        log.append_replicated_blocking(vec![good[2].clone(), good[4].clone()], allow_children),
    );
    assert_eq!((kind, index), (RefusalKind::Gap, 1));
    assert!(
        msg.contains("c00292 seq 5") && msg.contains("expected seq 4"),
        "{msg}"
    );
    assert_eq!(
        log.head(c).expect("head").seq,
        2,
        "nothing of the batch stored"
    );

    // Chain: a validly sealed seq 3 that does not chain onto seq 2.
    let other = chain(c, 3);
    let (kind, _, msg) =
        refusal(log.append_replicated_blocking(vec![other[2].clone()], allow_children));
    assert_eq!(kind, RefusalKind::Chain, "{msg}");

    // Divergence: a different seq 2.
    let (kind, index, msg) =
        refusal(log.append_replicated_blocking(vec![other[1].clone()], allow_children));
    assert_eq!((kind, index), (RefusalKind::Diverged, 0));
    assert!(msg.contains("diverged"), "{msg}");

    // The honest continuation still applies; duplicates are acknowledged.
    let r = log
        .append_replicated_blocking(good[1..].to_vec(), allow_children)
        .expect("applies");
    assert_eq!((r.applied, r.duplicates), (3, 1));
    assert_eq!(log.len(), 5);
    log.verify().expect("sound");
}

#[test]
fn forged_origins_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    // Our own origin can only be appended as own events.
    let (kind, _, msg) =
        refusal(log.append_replicated_blocking(chain(unit(ME), 1), allow_children));
    assert_eq!(kind, RefusalKind::ForbiddenOrigin);
    assert!(msg.contains("d008"), "{msg}");
    // An origin outside what the caller allows (a sibling's commune).
    let mut batch = chain(unit("c00292"), 2);
    batch.extend(chain(unit("c09999"), 1));
    let (kind, index, _) = refusal(log.append_replicated_blocking(batch, allow_children));
    assert_eq!((kind, index), (RefusalKind::ForbiddenOrigin, 2));
    assert_eq!(log.len(), 0);
}

#[test]
fn garbage_truncated_and_oversized_events_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    let good = chain(unit("c00292"), 1);
    for bad in [
        Bytes::from_static(b"\xff\xff\xff garbage"),
        good[0].slice(..good[0].len() - 5),
        Bytes::from(vec![0u8; 70 * 1024]),
    ] {
        let (kind, index, _) =
            refusal(log.append_replicated_blocking(vec![good[0].clone(), bad], allow_children));
        assert_eq!((kind, index), (RefusalKind::Malformed, 1));
    }
    // An own event over 64 KiB.
    let mut big = draft(ME, 1);
    big.recorded_by = "x".repeat(70 * 1024);
    match log.append_own_blocking(vec![draft(ME, 0), big]) {
        Err(LogError::Rejected { index: 1, reason }) => {
            assert!(reason.contains("over the limit"), "{reason}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(log.len(), 0);
    log.verify().expect("sound");
}

#[test]
fn reads_by_position_origin_seq_and_id_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    let c = unit("c00295");
    log.append_replicated_blocking(chain(c, 50), allow_children)
        .expect("applies");
    let own = log
        .append_own_blocking((0..10).map(|i| draft(ME, i)).collect())
        .expect("appends");
    let all = log.read(0, usize::MAX, usize::MAX).expect("reads");
    assert_eq!(all.len(), 60);
    for (pos, bytes) in &all {
        let h = event::open(bytes.clone()).expect("verifies").header;
        let (p, b) = log
            .get_by_origin_seq(h.origin, h.seq)
            .expect("reads")
            .expect("held");
        assert_eq!((p, &b), (*pos, bytes));
        assert_eq!(log.get(*pos).expect("reads").as_ref(), Some(bytes));
    }
    for a in own {
        assert_eq!(
            log.get_by_id(&a.id).expect("reads").map(|(p, _)| p),
            Some(a.position)
        );
    }
    // Reading from the middle, with limits.
    let part = log.read(45, 7, usize::MAX).expect("reads");
    assert_eq!(
        part.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        (45..52).collect::<Vec<_>>()
    );
    assert_eq!(
        log.read(10, 100, 1).expect("reads").len(),
        1,
        "byte limit still returns one"
    );
    assert!(log.get(60).expect("reads").is_none());
    assert!(log.get_by_origin_seq(c, 51).expect("reads").is_none());
}

#[test]
fn a_log_opened_twice_or_for_another_unit_gives_one_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    log.append_own_blocking(vec![draft(ME, 1)])
        .expect("appends");
    let err = Log::open(dir.path(), unit(ME)).expect_err("locked by the first handle");
    let msg = err.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    drop(log);
    let err = Log::open(dir.path(), unit("d009")).expect_err("belongs to d008");
    assert!(
        err.to_string().contains("belongs to unit d008, not d009"),
        "{err}"
    );
}

#[test]
fn a_corrupted_directory_gives_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let log = open(&dir);
        log.append_replicated_blocking(chain(unit("c00292"), 20), allow_children)
            .expect("applies");
    }
    // Overwrite every file sled wrote with garbage.
    let mut files = 0;
    for entry in walk(dir.path()) {
        std::fs::write(&entry, vec![0xa5u8; 4096]).expect("overwrites");
        files += 1;
    }
    assert!(files > 0);
    match Log::open(dir.path(), unit(ME)) {
        Err(e) => assert!(
            e.to_string().contains(&dir.path().display().to_string())
                || e.to_string().contains("corrupt"),
            "{e}"
        ),
        Ok(log) => {
            // sled may treat the garbage as an empty store: then nothing is claimed.
            assert_eq!(log.len(), 0);
        }
    }
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).expect("readable").flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn heads_survive_reopen_and_group_commits_keep_per_origin_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    let chains: HashMap<&str, Vec<Bytes>> =
        CHILDREN.iter().map(|c| (*c, chain(unit(c), 40))).collect();
    // Many requests in flight together, each continuing its origin's chain.
    let mut reps = Vec::new();
    let mut own = Vec::new();
    for k in 0..10 {
        for c in CHILDREN {
            reps.push(
                log.submit_replicated(chains[c][k * 4..k * 4 + 4].to_vec(), allow_children)
                    .expect("queued"),
            );
        }
        own.push(log.submit_own(vec![draft(ME, k as u32)]).expect("queued"));
    }
    for p in reps {
        assert_eq!(p.wait().expect("applies").applied, 4);
    }
    let seqs: Vec<u64> = own
        .into_iter()
        .map(|p| p.wait().expect("appends")[0].seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=10).collect::<Vec<_>>(),
        "own seqs follow submission order"
    );
    drop(log);
    let log = open(&dir);
    assert_eq!(log.verify().expect("sound").origins, 4);
    for c in CHILDREN {
        assert_eq!(log.head(unit(c)).expect("head").seq, 40);
    }
    assert_eq!(log.len(), 130);
}

#[test]
fn verify_passes_on_a_live_log_while_appends_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(&dir);
    let done = std::sync::atomic::AtomicBool::new(false);
    let checks = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..300 {
                log.append_own_blocking(vec![draft(ME, i), draft(ME, i + 1000)])
                    .expect("own append");
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut checks = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let r = log.verify().expect("a live log verifies");
            assert!(r.events <= log.len());
            assert_eq!(r.events % 2, 0, "whole group commits only");
            checks += 1;
        }
        checks
    });
    assert!(checks > 0);
    assert_eq!(log.verify().expect("sound").events, 600);
}
