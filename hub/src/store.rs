//! The hub's own sled: the projection state and its feed checkpoint, written
//! together as one value, so a restart resumes exactly where the state stands.

use std::path::{Path, PathBuf};

use crate::state::State;

/// Format of the stored state; bumped on any incompatible change.
pub const FORMAT: u32 = 1;

const STATE_KEY: &[u8] = b"state";
const META_KEY: &[u8] = b"meta";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled could not open the folder (locked, corrupted).
    #[error("cannot open hub store at {path}: {source}")]
    Open {
        /// The folder.
        path: PathBuf,
        /// What sled said.
        source: sled::Error,
    },
    /// A read or write failed.
    #[error("hub store: {0}")]
    Io(#[from] sled::Error),
    /// The stored state is unreadable or of another node or format.
    #[error("hub store at {path}: {reason}")]
    Incompatible {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The opened store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the store in `path` for the feed of `node`.
    pub fn open(path: &Path, node: &str) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .flush_every_ms(None)
            .open()
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let meta = format!("{FORMAT} {node}");
        match db.get(META_KEY)? {
            None => {
                db.insert(META_KEY, meta.as_bytes())?;
                db.flush()?;
            }
            Some(v) if v.as_ref() == meta.as_bytes() => {}
            Some(v) => {
                return Err(StoreError::Incompatible {
                    path: path.to_path_buf(),
                    reason: format!(
                        "holds \"{}\" (format and followed node), not \"{meta}\"",
                        String::from_utf8_lossy(&v)
                    ),
                });
            }
        }
        Ok(Store {
            db,
            path: path.to_path_buf(),
        })
    }

    /// The stored state, or a fresh one.
    pub fn load(&self) -> Result<State, StoreError> {
        match self.db.get(STATE_KEY)? {
            None => Ok(State::default()),
            Some(v) => postcard::from_bytes(&v).map_err(|e| StoreError::Incompatible {
                path: self.path.clone(),
                reason: format!("stored state is unreadable: {e}"),
            }),
        }
    }

    /// Writes `state` with its checkpoint as one value and flushes.
    pub fn save(&self, state: &State) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(state).map_err(|e| StoreError::Incompatible {
            path: self.path.clone(),
            reason: format!("state cannot be encoded: {e}"),
        })?;
        self.db.insert(STATE_KEY, bytes)?;
        self.db.flush()?;
        Ok(())
    }

    /// Overwrites the stored state behind the hub's back (fault-injection tests only).
    #[doc(hidden)]
    pub fn put_raw_state(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.db.insert(STATE_KEY, bytes)?;
        self.db.flush()?;
        Ok(())
    }
}
