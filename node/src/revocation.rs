//! The node's side of revocation: the province's revocation list held durably
//! in the data directory, taken in from an operator's file (the province
//! node) or from the parent's handshake (every other node), and checked on
//! every request a client makes.
//!
//! Files in `data_dir`:
//! - `revocations.crl` — the list in force, written only by the node (atomically);
//! - `revocations.incoming.crl` — dropped there by an operator (`certs revoke`
//!   output); the node takes it in within [`POLL`], then removes it, or, when
//!   it is refused, renames it to `revocations.refused.crl` and says why in
//!   `status` and the log. The list in force is kept on every refusal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use sync178_shared::revocation::refuse_revoked;
use sync178_shared::revocation::{Offered, RevocationError, Revocations};
use tokio_util::sync::CancellationToken;

/// The list in force, in the data directory.
pub const HELD_FILE: &str = "revocations.crl";
/// Where an operator drops a new list for the node to take in.
pub const INCOMING_FILE: &str = "revocations.incoming.crl";
/// Where a refused incoming list is moved, for the operator to inspect.
pub const REFUSED_FILE: &str = "revocations.refused.crl";
/// How often the node looks for an incoming list.
pub const POLL: Duration = Duration::from_millis(500);
/// How long an incoming list must be left unchanged before it is read.
pub const SETTLE: Duration = Duration::from_secs(1);

/// The node's revocation list and where it keeps it.
#[derive(Debug, Clone)]
pub struct NodeRevocations {
    list: Revocations,
    dir: PathBuf,
    last_error: Arc<Mutex<String>>,
}

/// Why the list in the data directory cannot be used at start.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct HeldListError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

impl NodeRevocations {
    /// Loads the list held in `dir` (if any), checked against the CA `ca_der`.
    pub fn open(dir: &Path, ca_der: Vec<u8>) -> Result<NodeRevocations, HeldListError> {
        let list = Revocations::new(ca_der);
        let path = dir.join(HELD_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                list.offer(&bytes).map_err(|e| HeldListError {
                    path: path.clone(),
                    reason: format!("the revocation list {e}"),
                })?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(HeldListError {
                    path,
                    reason: e.to_string(),
                });
            }
        }
        Ok(NodeRevocations {
            list,
            dir: dir.to_owned(),
            last_error: Arc::default(),
        })
    }

    /// The list in force, DER-encoded, or empty: what goes on the wire.
    pub fn current_der(&self) -> Vec<u8> {
        self.list()
            .current()
            .map(|l| l.der().to_vec())
            .unwrap_or_default()
    }

    /// The shared in-memory list (for checks and dialers).
    pub fn list(&self) -> &Revocations {
        &self.list
    }

    /// Why the last offered list was refused; empty when none was.
    pub fn last_error(&self) -> String {
        self.last_error
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default()
    }

    /// Offers `bytes` from `source` (e.g. `parent d008`): adopted and stored
    /// durably when it verifies and is newer; otherwise refused, logged and
    /// noted for `status`, and the list in force kept.
    pub fn install(&self, bytes: &[u8], source: &str) -> Result<Offered, RevocationError> {
        let held = self.dir.join(HELD_FILE);
        let persist = |list: &sync178_shared::revocation::RevocationList| {
            if let Err(e) = write_atomic(&held, list.der()) {
                // Still put in force; the parent offers it again at the next contact.
                tracing::error!(error = %e, "cannot store the revocation list");
            }
        };
        match self.list.offer_with(bytes, persist) {
            Ok((offered, list)) => {
                if let Offered::Adopted(number) = offered {
                    tracing::info!(number, revoked = list.len(), %source, "revocation list adopted");
                    self.note(String::new());
                }
                Ok(offered)
            }
            Err(e) => {
                let reason = format!(
                    "revocation list from {source} refused: it {e}; list {} kept",
                    self.list.number()
                );
                tracing::warn!(%reason, "revocation list refused");
                self.note(reason);
                Err(e)
            }
        }
    }

    fn note(&self, reason: String) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = reason;
        }
    }

    /// Takes in `revocations.incoming.crl` if an operator put one there and
    /// it has not changed for [`SETTLE`] (so a file still being copied is
    /// not refused as truncated).
    pub fn take_incoming(&self) {
        let path = self.dir.join(INCOMING_FILE);
        let settled = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= SETTLE);
        if !settled {
            return;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.note(format!("cannot read {}: {e}", path.display()));
                return;
            }
        };
        let done = match self.install(&bytes, &format!("file {}", path.display())) {
            Ok(_) => std::fs::remove_file(&path),
            Err(_) => std::fs::rename(&path, self.dir.join(REFUSED_FILE)),
        };
        if let Err(e) = done {
            tracing::error!(error = %e, path = %path.display(), "cannot move the incoming revocation list away");
        }
    }

    /// Looks for an incoming list every [`POLL`] until `shutdown`.
    pub async fn watch_incoming(self, shutdown: CancellationToken) {
        loop {
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.take_incoming()).await;
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("crl.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}
