//! Builders of valid events for tests and benchmarks (not for production paths).

use bytes::Bytes;

use crate::event::{self, Hash, ZERO_HASH};
use crate::proto::v1::{Audience, AwarenessActivityHeld, AwarenessForm, Body, Event, body::Kind};
use crate::unit::UnitId;

/// A valid own-event draft for `unit`: an awareness meeting with `n` participants.
pub fn draft(unit: &str, n: u32) -> Event {
    Event {
        id: event::new_id().to_vec(),
        unit: unit.to_string(),
        occurred_on: "2024-05-01".into(),
        recorded_at: 1_714_521_600_000,
        recorded_by: "officer-1".into(),
        schema: 1,
        body: Some(Body {
            kind: Some(Kind::AwarenessActivityHeld(AwarenessActivityHeld {
                activity_id: format!("a-{n}"),
                form: AwarenessForm::Meeting as i32,
                audience: Audience::Residents as i32,
                participants: n,
                leaflets: 0,
            })),
        }),
        ..Event::default()
    }
}

/// A sealed chain of `n` events recorded by `origin`, seqs `1..=n`, as the
/// bytes its log would store.
pub fn chain(origin: UnitId, n: u64) -> Vec<Bytes> {
    chain_from(origin, 1, ZERO_HASH, n)
}

/// `n` sealed events of `origin` continuing after `(seq - 1, prev)`.
pub fn chain_from(origin: UnitId, seq: u64, prev: Hash, n: u64) -> Vec<Bytes> {
    let mut prev = prev;
    (seq..seq + n)
        .map(|s| {
            let mut ev = draft(&origin.to_string(), (s % 1000) as u32);
            ev.origin = origin.to_string();
            ev.seq = s;
            ev.prev_hash = prev.to_vec();
            let (bytes, hash) = event::seal(&mut ev);
            prev = hash;
            bytes
        })
        .collect()
}
