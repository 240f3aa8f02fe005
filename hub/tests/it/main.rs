//! sync178-hub's integration tests, one binary with a module per topic, so that a
//! change links one test executable for this crate, not one per file (README,
//! "Working on sync178"). Run one topic with
//! `cargo nextest run -p sync178-hub -E 'test(/^<topic>::/)'`.

mod cli;
mod common;
mod demo;
mod deploy_hub;
mod digest_replay;
mod history_views;
mod kpi_scenario;
mod merged_units;
mod query_flags;
mod startup;
mod sync_status;
mod web_signin;
