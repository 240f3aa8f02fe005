//! sync178-hub: follows a node's feed, keeps projections (roll-ups by unit
//! and period, registries, KPIs against targets) in its own sled, answers the
//! provincial operator's queries, and reconciles tiers and projections.

pub mod reconcile;
