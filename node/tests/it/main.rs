//! sync178-node's integration tests, one binary with a module per topic, so that a
//! change links one test executable for this crate, not one per file (README,
//! "Working on sync178"). Run one topic with
//! `cargo nextest run -p sync178-node -E 'test(/^<topic>::/)'`.

mod certs_tls;
mod cli;
mod client_ref;
mod common;
mod deploy_history;
mod entry;
mod revocation_lists;
mod startup;
mod submit;
