//! sync178-shared's integration tests, one binary with a module per topic, so that a
//! change links one test executable for this crate, not one per file (README,
//! "Working on sync178"). Run one topic with
//! `cargo nextest run -p sync178-shared -E 'test(/^<topic>::/)'`.

mod history;
mod log_damage;
mod log_invariants;
mod topology_listings;
