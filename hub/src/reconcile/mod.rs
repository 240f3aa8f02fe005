//! Reconciliation jobs: tiers hold exactly their subtree; projections equal a replay.
//!
//! Every job returns a report that says whether everything is consistent, and
//! the command line maps it to an exit code made for cron: [`EXIT_CONSISTENT`]
//! (0), [`EXIT_DISCREPANCIES`] (1), or [`EXIT_CANNOT_RUN`] (2) when the job
//! could not run at all ([`ReconcileError`]).
//!
//! - [`tiers`]: per parent←child link, compare per-origin heads and chain
//!   checkpoints (`Sync.Digest`), classify every origin, and optionally wait
//!   for a behind parent to receive what its child holds (`--repair`).

pub mod projections;
pub mod tiers;

use sync178_shared::tls::TlsError;
use sync178_shared::unit::UnitId;

/// Exit code: every check passed.
pub const EXIT_CONSISTENT: u8 = 0;
/// Exit code: the job ran and found discrepancies (see the report).
pub const EXIT_DISCREPANCIES: u8 = 1;
/// Exit code: the job could not run ([`ReconcileError`]).
pub const EXIT_CANNOT_RUN: u8 = 2;

/// Why a reconciliation job could not run at all (exit code 2). Problems with
/// one node below the starting point are not errors: they are in the report.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The operator's (or hub's) certificate files could not be loaded.
    #[error("certificate: {0}")]
    Tls(#[from] TlsError),
    /// The options do not fit the topology or each other.
    #[error("{field}: {reason}")]
    Options {
        /// The option at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The node the job starts from could not be read.
    #[error("cannot read {unit}: {reason}")]
    Unreachable {
        /// The starting node.
        unit: UnitId,
        /// What failed (connection, TLS, call).
        reason: String,
    },
    /// The hub or node answered a call with an error or with what the
    /// protocol does not allow (a digest that is not 32 bytes).
    #[error("{unit} {call}: {reason}")]
    BadAnswer {
        /// The hub (or node) asked.
        unit: UnitId,
        /// The call, e.g. `Query.Rollup`.
        call: &'static str,
        /// What was wrong, naming the projection or cell.
        reason: String,
    },
}

impl ReconcileError {
    /// The exit code of a job that failed this way: always [`EXIT_CANNOT_RUN`].
    pub fn exit_code(&self) -> u8 {
        EXIT_CANNOT_RUN
    }
}
