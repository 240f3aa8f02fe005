//! The hub's own sled: the projection state and its feed checkpoint, written
//! together as one value, so a restart resumes exactly where the state stands.

use std::path::{Path, PathBuf};

use crate::state::State;

/// Format of the stored state; bumped on any incompatible change.
pub const FORMAT: u32 = 3;

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
                let held = String::from_utf8_lossy(&v).into_owned();
                let reason = match held.split_once(' ') {
                    Some((format, of)) if of == node && format != FORMAT.to_string() => format!(
                        "written by another sync178-hub version (state format {format}, this \
                         build reads {FORMAT}); the state is derived from the node's feed, so \
                         move the folder aside and start the hub: it rebuilds from position 0"
                    ),
                    _ => format!(
                        "holds \"{held}\" (format and followed node), not \"{meta}\"; \
                         each hub keeps its own folder"
                    ),
                };
                return Err(StoreError::Incompatible {
                    path: path.to_path_buf(),
                    reason,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: Result<Store, StoreError>) -> String {
        match r {
            Err(StoreError::Incompatible { reason, .. }) => reason,
            other => panic!("expected an incompatible store, got {other:?}"),
        }
    }

    #[test]
    fn a_store_of_another_node_or_format_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        let store = Store::open(&path, "p33").expect("opens");
        let state = State {
            checkpoint: 7,
            ..State::default()
        };
        store.save(&state).expect("saves");
        drop(store);
        assert_eq!(
            Store::open(&path, "p33")
                .expect("reopens")
                .load()
                .expect("loads"),
            state
        );

        let other = reason(Store::open(&path, "p01"));
        let held = format!("\"{FORMAT} p33\"");
        assert!(
            other.contains(&held) && other.contains("own folder"),
            "{other}"
        );

        // A folder written by an older build, same node.
        let db = sled::open(&path).expect("sled");
        db.insert(META_KEY, b"1 p33".as_slice()).expect("insert");
        db.flush().expect("flush");
        drop(db);
        let older = reason(Store::open(&path, "p33"));
        assert!(
            older.contains("state format 1") && older.contains("rebuilds from position 0"),
            "{older}"
        );
    }
}
