//! The storage engine behind the log: one sled tree, typed keys, atomic batches.
//!
//! Everything engine-specific lives here, so the engine could change in one
//! place. Keys are a one-byte prefix followed by big-endian fields, so sled's
//! byte order is the logical order.

use std::path::{Path, PathBuf};

/// Stored format of the log; bumped on any incompatible change of keys or values.
pub const FORMAT_VERSION: u32 = 1;

/// Key prefixes of the one tree.
pub mod prefix {
    /// position (u64) → segment.
    pub const SEGMENT: u8 = b'S';
    /// origin (4) + first seq in a segment (u64) → segment position (u64) + index (u32).
    pub const ORIGIN: u8 = b'O';
    /// event id (16) → position (u64); own events only.
    pub const ID: u8 = b'I';
    /// origin (4) → head seq (u64) + head hash (32) + head position (u64).
    pub const HEAD: u8 = b'H';
    /// name → value.
    pub const META: u8 = b'M';
}

/// Why the storage engine failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory could not be opened (locked by another process, corrupted, unreadable).
    #[error("cannot open event log at {path}: {source}")]
    Open {
        /// The log directory.
        path: PathBuf,
        /// What sled said.
        source: sled::Error,
    },
    /// A read or write failed after opening.
    #[error("event log storage failed: {0}")]
    Io(#[from] sled::Error),
}

/// The opened engine.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Writes applied together, atomically, by [`Store::commit`].
#[derive(Default)]
pub struct WriteBatch {
    inner: sled::Batch,
    keys: usize,
}

impl WriteBatch {
    /// Adds a write of `value` at `key`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.inner.insert(key.as_ref(), value.as_ref());
        self.keys += 1;
    }

    /// Adds a removal of `key` (derived keys only: heads, indexes, meta).
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.inner.remove(key.as_ref());
        self.keys += 1;
    }

    /// Number of writes in the batch.
    pub fn len(&self) -> usize {
        self.keys
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }
}

impl Store {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        clear_incomplete_snapshots(path);
        let open = || -> Result<Store, sled::Error> {
            let db = sled::Config::new()
                .path(path)
                .cache_capacity(cache_bytes)
                .flush_every_ms(None)
                .open()?;
            let tree = db.open_tree("log")?;
            Ok(Store { db, tree })
        };
        // sled releases its file lock from a background IO thread shortly
        // after the last handle drops: a restart in the same process may
        // briefly find it held. Retry a lock conflict for up to two seconds.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let open = || loop {
            match open() {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("lock") && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other,
            }
        };
        // sled panics on some corrupt files instead of returning an error;
        // turn that into the same clear error.
        match std::panic::catch_unwind(open) {
            Ok(r) => r.map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            }),
            Err(_) => Err(StoreError::Open {
                path: path.to_path_buf(),
                source: sled::Error::Unsupported("the files are corrupted".into()),
            }),
        }
    }

    /// Reads one key.
    pub fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.tree.get(key)?)
    }

    /// The last entry whose key is in `[start, end]`.
    pub fn last_in(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<(sled::IVec, sled::IVec)>, StoreError> {
        Ok(self.tree.range(start..=end).next_back().transpose()?)
    }

    /// Entries from `start` (inclusive) while they share `prefix`.
    pub fn scan_from<'a>(
        &'a self,
        prefix: &'a [u8],
        start: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> + 'a {
        self.tree
            .range(start.to_vec()..)
            .take_while(move |r| r.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
            .map(|r| r.map_err(StoreError::from))
    }

    /// Every entry under `prefix`.
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> + use<> {
        self.tree
            .scan_prefix(prefix)
            .map(|r| r.map_err(StoreError::from))
    }

    /// Applies `batch` atomically and flushes it to disk before returning.
    pub fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.apply(batch)?;
        self.flush()
    }

    /// Applies `batch` atomically, in memory: readers of the store see it,
    /// the disk does not until [`Store::flush`].
    pub fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.tree.apply_batch(batch.inner)?;
        Ok(())
    }

    /// Makes everything applied so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        #[cfg(feature = "fault-injection")]
        if faults::take_flush_failure() {
            return Err(StoreError::Io(sled::Error::Io(std::io::Error::other(
                "No space left on device (injected)",
            ))));
        }
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Writes one key outside the log's batches (test hooks and repairs only).
    #[doc(hidden)]
    pub fn put_raw(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.tree.insert(key, value)?;
        self.db.flush()?;
        Ok(())
    }
}

/// Removes the snapshot files sled left unfinished: an open on a full disk
/// leaves an empty `snap.*.generating`, which the next open reads as
/// corruption although the log itself is whole. Snapshots are derived from
/// sled's log and regenerated; no event is in them alone.
fn clear_incomplete_snapshots(path: &Path) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let empty = e.metadata().is_ok_and(|m| m.len() == 0);
        if name.starts_with("snap.") && (name.ends_with(".generating") || empty) {
            match std::fs::remove_file(e.path()) {
                Ok(()) => {
                    tracing::warn!(file = %e.path().display(), "removed an unfinished sled snapshot")
                }
                Err(err) => {
                    tracing::warn!(file = %e.path().display(), error = %err, "cannot remove an unfinished sled snapshot")
                }
            }
        }
    }
}

/// Faults a test can inject into the store (feature `fault-injection`).
#[cfg(feature = "fault-injection")]
pub mod faults {
    use std::sync::atomic::{AtomicU32, Ordering};

    static FLUSH_FAILURES: AtomicU32 = AtomicU32::new(0);

    /// The next `n` flushes of every store in this process fail after the
    /// batch was applied in memory, as a full disk makes them fail.
    pub fn fail_next_flushes(n: u32) {
        FLUSH_FAILURES.store(n, Ordering::SeqCst);
    }

    pub(super) fn take_flush_failure() -> bool {
        FLUSH_FAILURES
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Key of the segment starting at `pos`.
pub fn segment_key(pos: u64) -> [u8; 9] {
    let mut k = [prefix::SEGMENT; 9];
    k[1..].copy_from_slice(&pos.to_be_bytes());
    k
}

/// Key of origin's index entry for the run starting at `seq`.
pub fn origin_key(origin: [u8; 4], seq: u64) -> [u8; 13] {
    let mut k = [prefix::ORIGIN; 13];
    k[1..5].copy_from_slice(&origin);
    k[5..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Key of an event id.
pub fn id_key(id: &[u8; 16]) -> [u8; 17] {
    let mut k = [prefix::ID; 17];
    k[1..].copy_from_slice(id);
    k
}

/// Key of origin's head.
pub fn head_key(origin: [u8; 4]) -> [u8; 5] {
    let mut k = [prefix::HEAD; 5];
    k[1..].copy_from_slice(&origin);
    k
}

/// Key of a meta entry.
pub fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![prefix::META];
    k.extend_from_slice(name.as_bytes());
    k
}

/// Reads a big-endian u64 at `at`, if the slice is long enough.
pub fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a big-endian u32 at `at`, if the slice is long enough.
pub fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
