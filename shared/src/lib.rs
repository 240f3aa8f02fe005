//! sync178-shared: what every sync178 process shares — the event schema,
//! units and topology, periods, validation, the sled event log and TLS
//! identity, and the plumbing every binary shares: exit codes, the
//! language switch and how numbers are written for people.

pub mod backoff;
pub mod dial;
pub mod event;
pub mod exit;
pub mod forms;
pub mod history;
pub mod html;
pub mod i18n;
pub mod log;
pub mod period;
pub mod proto;
pub mod revocation;
pub mod testing;
pub mod tls;
pub mod topology;
pub mod unit;
pub mod validate;
