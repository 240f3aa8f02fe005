//! Builders of events and a small topology for the hub's tests.
#![allow(dead_code)]

use std::collections::HashMap;

use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{Body, Event, EventCorrected, EventVoided};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;

/// Province 33 with districts 323 (communes 11950, 11953, 11956) and 324
/// (communes 12142, 12145, 12148).
pub const CSV: &str = "province_code,province_name,district_code,district_name,commune_code,commune_name\n\
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn\n\
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11953,Phường Hiến Nam\n\
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11956,Phường An Tảo\n\
33,Tỉnh Hưng Yên,324,Huyện Văn Lâm,12142,Thị trấn Như Quỳnh\n\
33,Tỉnh Hưng Yên,324,Huyện Văn Lâm,12145,Xã Lạc Đạo\n\
33,Tỉnh Hưng Yên,324,Huyện Văn Lâm,12148,Xã Chỉ Đạo\n";

pub fn topology() -> Topology {
    Topology::from_csv_reader(CSV.as_bytes(), "test").expect("topology")
}

pub fn u(s: &str) -> UnitId {
    s.parse().expect("unit id")
}

/// Builds events with per-origin seqs and deterministic ids.
#[derive(Default)]
pub struct Script {
    pub events: Vec<Event>,
    seqs: HashMap<String, u64>,
    clock: i64,
}

impl Script {
    /// Records `kind` by `origin` at `unit` on `date`; returns its index.
    pub fn add(&mut self, origin: &str, unit: &str, date: &str, kind: Kind) -> usize {
        let seq = self.seqs.entry(origin.to_string()).or_default();
        *seq += 1;
        self.clock += 1000;
        let seed = format!("{origin}/{seq}/{}", self.events.len());
        let id: [u8; 16] = blake3::hash(seed.as_bytes()).as_bytes()[..16]
            .try_into()
            .expect("16 bytes");
        self.events.push(Event {
            id: id.to_vec(),
            origin: origin.into(),
            seq: *seq,
            unit: unit.into(),
            occurred_on: date.into(),
            recorded_at: 1_700_000_000_000 + self.clock,
            recorded_by: "officer-1".into(),
            schema: 1,
            prev_hash: vec![],
            body: Some(Body { kind: Some(kind) }),
            hash: vec![],
        });
        self.events.len() - 1
    }

    /// Voids event `target` (recorded by the same origin).
    pub fn void(&mut self, target: usize, date: &str) -> usize {
        let t = self.events[target].clone();
        self.add(
            &t.origin,
            &t.unit,
            date,
            Kind::EventVoided(EventVoided {
                target_id: t.id.clone(),
                reason: "entered by mistake".into(),
                target_seq: t.seq,
            }),
        )
    }

    /// Corrects event `target` to `kind` at `unit` on `date`.
    pub fn correct(&mut self, target: usize, unit: &str, date: &str, kind: Kind) -> usize {
        let t = self.events[target].clone();
        let origin = t.origin.clone();
        self.add(
            &origin,
            &t.unit.clone(),
            date,
            Kind::EventCorrected(Box::new(EventCorrected {
                target_id: t.id.clone(),
                unit: unit.into(),
                occurred_on: date.into(),
                body: Some(Box::new(Body { kind: Some(kind) })),
                reason: "wrong date".into(),
                target_seq: t.seq,
            })),
        )
    }

    /// A fetcher over these events, as the node's `Feed.Fetch` would answer.
    pub fn fetcher(&self) -> impl FnMut(UnitId, u64) -> Option<Event> + '_ {
        move |o, s| {
            self.events
                .iter()
                .find(|e| e.origin == o.to_string() && e.seq == s)
                .cloned()
        }
    }
}
