//! sync178-tests's integration tests, one binary with a module per topic, so that a
//! change links one test executable for this crate, not one per file (README,
//! "Working on sync178"). Run one topic with
//! `cargo nextest run -p sync178-tests -E 'test(/^<topic>::/)'`.

mod bench_smoke;
mod client_refs;
mod hub_follow;
mod local_cluster;
mod log_crash;
mod node_bad_input;
mod reconcile_projections;
mod reconcile_tiers;
mod recovery;
mod reform_switch;
mod roles_revocation;
mod same_request_fixes;
mod sync_topology;
mod tidy;
mod web_e2e;
