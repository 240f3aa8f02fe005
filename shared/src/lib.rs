//! sync178-shared: what every sync178 process shares — the event schema,
//! units and topology, periods, validation, the sled event log and TLS
//! identity.

pub mod dial;
pub mod event;
pub mod history;
pub mod log;
pub mod period;
pub mod proto;
pub mod revocation;
pub mod testing;
pub mod tls;
pub mod topology;
pub mod unit;
pub mod validate;
