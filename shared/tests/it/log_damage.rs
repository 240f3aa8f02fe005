//! A damaged store never loses acknowledged events silently: flipped bytes,
//! a file cut short, a store emptied under its anchor, a flush the disk
//! refused, heads past the end. Each case either opens whole, or opens with
//! its own chain closed (and says why), or refuses to open with a clear
//! error; never a shorter log that records at a reused seq.

use bytes::Bytes;
use sync178_shared::event;
use sync178_shared::log::store::faults;
use sync178_shared::log::{Log, LogError};
use sync178_shared::testing::draft;
use sync178_shared::unit::UnitId;

const ME: &str = "c00292";
const ACKED: u64 = 40;

fn me() -> UnitId {
    ME.parse().expect("unit id")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A stopped log with `ACKED` own events, each acknowledged by its own flush.
fn stopped_log(dir: &std::path::Path) -> Vec<Bytes> {
    let log = Log::open(dir, me()).expect("opens");
    for i in 0..ACKED {
        log.append_own_blocking(vec![draft(ME, i as u32)])
            .expect("appends");
    }
    let events = log
        .read(0, usize::MAX, usize::MAX)
        .expect("reads")
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    drop(log);
    events
}

/// sled's own files (not the anchor).
fn sled_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sync178-anchor"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// What reopening a damaged store gave: the only acceptable outcomes.
fn check_reopened(dir: &std::path::Path, case: &str) -> &'static str {
    let log = match Log::open(dir, me()) {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&dir.display().to_string()) || msg.contains("corrupt"),
                "{case}: the error names neither the store nor the damage: {msg}"
            );
            return "refused to open";
        }
        Ok(log) => log,
    };
    let own = log.head(me()).map_or(0, |h| h.seq);
    if own >= ACKED {
        // Whole: it must verify and continue at the next seq.
        log.verify()
            .unwrap_or_else(|e| panic!("{case}: whole but unsound: {e}"));
        let a = log
            .append_own_blocking(vec![draft(ME, 999)])
            .expect("appends");
        assert_eq!(a[0].seq, ACKED + 1, "{case}");
        return "whole";
    }
    // Shorter: closed, saying so, and never sound.
    let gate = log
        .gate()
        .unwrap_or_else(|| panic!("{case}: own chain cut to seq {own} and recording is open"));
    assert!(
        gate.reason.contains("lost") || gate.reason.contains("anchor"),
        "{case}: {}",
        gate.reason
    );
    assert!(!log.notices().is_empty(), "{case}: no notice");
    match log.append_own_blocking(vec![draft(ME, 999)]) {
        Err(LogError::Gated(_)) => {}
        other => panic!("{case}: a cut log recorded: {other:?}"),
    }
    assert!(
        log.verify().is_err(),
        "{case}: verify calls a cut log sound"
    );
    "closed"
}

#[test]
fn flipped_bytes_and_cut_files_never_leave_a_shorter_log_that_records() {
    let mut outcomes = std::collections::BTreeMap::<&str, u32>::new();
    let mut rng_state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    for trial in 0..24 {
        let dir = tempfile::tempdir().expect("tempdir");
        stopped_log(dir.path());
        let files = sled_files(dir.path());
        let file = &files[(next() as usize) % files.len()];
        let mut bytes = std::fs::read(file).expect("reads");
        if bytes.is_empty() {
            continue;
        }
        let case = match trial % 3 {
            0 => {
                let at = (next() as usize) % bytes.len();
                bytes[at] ^= 0x5a;
                format!(
                    "trial {trial}: one byte flipped at {at} of {}",
                    file.display()
                )
            }
            1 => {
                for _ in 0..8 {
                    let at = (next() as usize) % bytes.len();
                    bytes[at] ^= 0xff;
                }
                format!("trial {trial}: eight bytes flipped in {}", file.display())
            }
            _ => {
                let keep = bytes.len() / 2;
                bytes.truncate(keep);
                format!("trial {trial}: {} cut to {keep} bytes", file.display())
            }
        };
        std::fs::write(file, &bytes).expect("writes");
        *outcomes
            .entry(check_reopened(dir.path(), &case))
            .or_default() += 1;
    }
    // The damage is real: some trials must have cut the log.
    assert!(
        outcomes.get("closed").copied().unwrap_or(0)
            + outcomes.get("refused to open").copied().unwrap_or(0)
            > 0,
        "no trial damaged anything: {outcomes:?}"
    );
}

#[test]
fn a_store_emptied_under_its_anchor_is_closed_and_refilled_from_a_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = stopped_log(dir.path());
    // sled's files gone (a restore of the wrong folder, a careless cleanup).
    for f in sled_files(dir.path()) {
        std::fs::remove_file(f).expect("removes");
    }
    check_reopened(dir.path(), "emptied");
    let log = Log::open(dir.path(), me()).expect("opens");
    assert_eq!(log.gate().expect("closed").need_own_seq, ACKED);
    // A wrong copy (another chain of the same unit) is refused, nothing stored.
    let other = tempfile::tempdir().expect("tempdir");
    let forged = stopped_log(other.path());
    let rt = rt();
    assert!(
        rt.block_on(log.append_recovered(forged[10..].to_vec(), |_| false))
            .is_err()
    );
    assert_eq!(log.len(), 0);
    // The right copy reopens recording at the next seq.
    let r = rt
        .block_on(log.append_recovered(events.clone(), |_| false))
        .expect("recovers");
    assert_eq!(u64::from(r.applied), ACKED);
    assert_eq!(log.gate(), None);
    let a = log
        .append_own_blocking(vec![draft(ME, 1000)])
        .expect("records again");
    assert_eq!(a[0].seq, ACKED + 1);
    // Ids came back too: a retry of an old event is a duplicate, not a new seq.
    let first = event::decode(&events[0]).expect("decodes");
    let mut retry = first.clone();
    retry.origin.clear();
    retry.seq = 0;
    retry.prev_hash.clear();
    retry.hash.clear();
    let again = log.append_own_blocking(vec![retry]).expect("answers");
    assert!(again[0].duplicate && again[0].seq == 1);
    log.verify().expect("sound");
}

#[test]
fn a_refused_flush_acknowledges_nothing_stops_the_log_and_the_reopened_log_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path(), me()).expect("opens");
    log.append_own_blocking(vec![draft(ME, 0)])
        .expect("appends");
    let failure = log.failure();
    faults::fail_next_flushes(1);
    let pending = vec![draft(ME, 1), draft(ME, 2)];
    match log.append_own_blocking(pending.clone()) {
        Err(LogError::Storage(why)) => assert!(why.contains("No space"), "{why}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
    // Not acknowledged, not visible; the daemon is told.
    assert_eq!((log.len(), log.head(me()).map(|h| h.seq)), (1, Some(1)));
    assert!(
        failure
            .borrow()
            .as_deref()
            .is_some_and(|w| w.contains("No space"))
    );
    // Every later write is refused at once (sled is not asked again), even
    // though the disk would take it now.
    assert!(matches!(
        log.append_own_blocking(vec![draft(ME, 3)]),
        Err(LogError::Storage(_))
    ));
    // Restarted once the disk takes writes: the retry by id gets seqs 2 and 3
    // (new, or the first result if sled wrote the refused batch on the way out).
    drop(log);
    let log = Log::open(dir.path(), me()).expect("reopens");
    log.verify().expect("sound");
    let again = log.append_own_blocking(pending).expect("resumes");
    assert_eq!(again.iter().map(|a| a.seq).collect::<Vec<_>>(), vec![2, 3]);
    let next = log
        .append_own_blocking(vec![draft(ME, 4)])
        .expect("appends");
    assert_eq!(next[0].seq, 4);
    drop(log);
    let log = Log::open(dir.path(), me()).expect("reopens");
    assert_eq!(log.len(), 4);
    log.verify().expect("sound");
}

#[test]
fn a_stop_after_a_refused_flush_reopens_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path(), me()).expect("opens");
    log.append_own_blocking(vec![draft(ME, 0)])
        .expect("appends");
    faults::fail_next_flushes(1);
    let refused = vec![draft(ME, 1)];
    assert!(log.append_own_blocking(refused.clone()).is_err());
    // Stopped now: sled may or may not write the refused batch on the way out.
    drop(log);
    let log = Log::open(dir.path(), me()).expect("reopens");
    log.verify().expect("sound");
    let own = log.head(me()).expect("head").seq;
    assert!(own == 1 || own == 2, "own seq {own}");
    assert_eq!(log.gate(), None);
    // Either way the retry gets one seq, and the next event the one after.
    let r = log.append_own_blocking(refused).expect("answers");
    assert_eq!(r[0].seq, 2);
    let n = log
        .append_own_blocking(vec![draft(ME, 2)])
        .expect("appends");
    assert_eq!(n[0].seq, 3);
}

#[test]
fn a_head_past_the_end_is_rebuilt_from_the_events_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path(), me()).expect("opens");
    for i in 0..5 {
        log.append_own_blocking(vec![draft(ME, i)])
            .expect("appends");
    }
    // What a half-written batch left behind: a head 1,000 events ahead.
    let mut head = log
        .raw_store()
        .get(&sync178_shared::log::store::head_key(me().to_bytes()))
        .expect("reads")
        .expect("head")
        .to_vec();
    head[..8].copy_from_slice(&1005u64.to_be_bytes());
    head[40..].copy_from_slice(&1004u64.to_be_bytes());
    log.raw_store()
        .put_raw(
            &sync178_shared::log::store::head_key(me().to_bytes()),
            &head,
        )
        .expect("writes");
    drop(log);
    let log = Log::open(dir.path(), me()).expect("reopens");
    assert!(
        log.notices().iter().any(|n| n.contains("rebuilt")),
        "{:?}",
        log.notices()
    );
    assert_eq!(log.head(me()).expect("head").seq, 5);
    log.verify().expect("sound");
    let a = log
        .append_own_blocking(vec![draft(ME, 5)])
        .expect("appends");
    assert_eq!(a[0].seq, 6);
}

#[test]
fn a_closed_chain_opens_only_once_the_parent_confirms_and_it_holds_that() {
    let rt = rt();
    let parent_copy = tempfile::tempdir().expect("tempdir");
    let events = stopped_log(parent_copy.path());
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path(), me()).expect("opens");
    assert!(log.is_fresh());
    rt.block_on(log.close_until_confirmed("new store".into()))
        .expect("closes");
    assert!(matches!(
        log.append_own_blocking(vec![draft(ME, 0)]),
        Err(LogError::Gated(_))
    ));
    // Still closed after a restart.
    drop(log);
    let log = Log::open(dir.path(), me()).expect("reopens");
    assert!(!log.is_fresh() && log.gate().is_some());
    // The parent holds seq 40: closed until they are here.
    let gate = rt.block_on(log.confirm_own(ACKED)).expect("confirms");
    assert_eq!(
        gate.map(|g| (g.need_own_seq, g.confirmed)),
        Some((ACKED, true))
    );
    rt.block_on(log.append_recovered(events[..20].to_vec(), |_| false))
        .expect("first half");
    assert!(log.gate().is_some());
    rt.block_on(log.append_recovered(events[20..].to_vec(), |_| false))
        .expect("second half");
    assert_eq!(log.gate(), None);
    let a = log
        .append_own_blocking(vec![draft(ME, 77)])
        .expect("records");
    assert_eq!(a[0].seq, ACKED + 1);
    // A parent that holds nothing of a new unit's chain opens it at once.
    let fresh = tempfile::tempdir().expect("tempdir");
    let log = Log::open(fresh.path(), me()).expect("opens");
    rt.block_on(log.close_until_confirmed("new store".into()))
        .expect("closes");
    assert_eq!(rt.block_on(log.confirm_own(0)).expect("confirms"), None);
    assert_eq!(
        log.append_own_blocking(vec![draft(ME, 0)])
            .expect("records")[0]
            .seq,
        1
    );
}

#[test]
fn an_unfinished_snapshot_left_by_a_full_disk_does_not_hide_a_whole_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    stopped_log(dir.path());
    // What an open on a full disk leaves behind (seen on a 12 MB tmpfs).
    std::fs::write(dir.path().join("snap.00000000007EBDE2.generating"), b"").expect("writes");
    let log = Log::open(dir.path(), me()).expect("opens whole");
    assert_eq!(log.head(me()).map(|h| h.seq), Some(ACKED));
    assert!(log.gate().is_none());
    log.verify().expect("sound");
}
