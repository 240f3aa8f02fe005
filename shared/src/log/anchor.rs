//! The durability anchor: a witness, kept beside sled's files, of what the
//! log had made durable when it last acknowledged anything.
//!
//! sled recovers whatever its files still hold: after flipped bytes or a
//! file cut short it may come back with a shorter log and call it sound. The
//! anchor is written (and fsynced) after every flush and before any answer,
//! so at open the log can tell "sled lost something I acknowledged" from "a
//! new store". Two slots are written in turn, each with a checksum, so a
//! write torn by a crash leaves the other slot readable.
//!
//! Layout of a slot: magic (8) · counter (u64) · length (u64) · own seq
//! (u64) · own hash (32) · blake3 of everything before (32), big-endian.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::event::Hash;

const MAGIC: &[u8; 8] = b"S178ANC1";
const BODY: usize = 8 + 8 + 8 + 8 + 32;
const SLOT: usize = BODY + 32;
/// The two slot files, in the log directory.
pub const FILE_NAMES: [&str; 2] = ["sync178-anchor.0", "sync178-anchor.1"];
const NAMES: [&str; 2] = FILE_NAMES;

/// What the log had made durable at its last acknowledged write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Number of durable events (the next position).
    pub len: u64,
    /// Seq of the last durable own event (0: none).
    pub own_seq: u64,
    /// Its hash.
    pub own_hash: Hash,
}

/// The two slot files of a log directory and the counter of the last write.
#[derive(Debug)]
pub struct AnchorFile {
    dir: PathBuf,
    counter: u64,
    /// The slot files, opened at the first write and overwritten in place
    /// (same size, so `fdatasync` has no metadata to journal).
    open: [Option<File>; 2],
}

/// What reading the anchor found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No slot file exists: a new store, or one written before anchors.
    Absent,
    /// The newest readable slot.
    Read(Anchor),
    /// Slot files exist but none is readable.
    Unreadable(String),
}

impl AnchorFile {
    /// Reads the anchor of the log in `dir`.
    pub fn read(dir: &Path) -> (AnchorFile, Found) {
        let mut best: Option<(u64, Anchor)> = None;
        let mut present = false;
        let mut why = String::new();
        for name in NAMES {
            let path = dir.join(name);
            let mut bytes = Vec::new();
            match File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)) {
                Ok(_) => present = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    present = true;
                    why = format!("{}: {e}", path.display());
                    continue;
                }
            }
            match decode(&bytes) {
                Some((counter, a)) if best.is_none_or(|(c, _)| counter > c) => {
                    best = Some((counter, a));
                }
                Some(_) => {}
                None => why = format!("{} is damaged", path.display()),
            }
        }
        let file = |counter| AnchorFile {
            dir: dir.to_path_buf(),
            counter,
            open: [None, None],
        };
        match best {
            Some((counter, a)) => (file(counter), Found::Read(a)),
            None if present => (file(0), Found::Unreadable(why)),
            None => (file(0), Found::Absent),
        }
    }

    /// Writes `a` durably into the older slot.
    pub fn write(&mut self, a: &Anchor) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let counter = self.counter + 1;
        let slot = (counter % 2) as usize;
        if self.open[slot].is_none() {
            let path = self.dir.join(NAMES[slot]);
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)?;
            // A slot of another size (new, or torn) is made whole once,
            // with its name durable; afterwards it is only overwritten.
            if f.metadata()?.len() != SLOT as u64 {
                f.set_len(SLOT as u64)?;
                f.sync_all()?;
                File::open(&self.dir)?.sync_all()?;
            }
            self.open[slot] = Some(f);
        }
        let f = self.open[slot]
            .as_ref()
            .ok_or_else(|| std::io::Error::other("anchor slot not open"))?;
        f.write_all_at(&encode(counter, a), 0)?;
        f.sync_data()?;
        self.counter = counter;
        Ok(())
    }
}

fn encode(counter: u64, a: &Anchor) -> [u8; SLOT] {
    let mut v = [0u8; SLOT];
    v[..8].copy_from_slice(MAGIC);
    v[8..16].copy_from_slice(&counter.to_be_bytes());
    v[16..24].copy_from_slice(&a.len.to_be_bytes());
    v[24..32].copy_from_slice(&a.own_seq.to_be_bytes());
    v[32..64].copy_from_slice(&a.own_hash);
    let sum = blake3::hash(&v[..BODY]);
    v[BODY..].copy_from_slice(sum.as_bytes());
    v
}

fn decode(v: &[u8]) -> Option<(u64, Anchor)> {
    if v.len() != SLOT || &v[..8] != MAGIC {
        return None;
    }
    if blake3::hash(&v[..BODY]).as_bytes() != &v[BODY..] {
        return None;
    }
    let u = |at: usize| Some(u64::from_be_bytes(v.get(at..at + 8)?.try_into().ok()?));
    Some((
        u(8)?,
        Anchor {
            len: u(16)?,
            own_seq: u(24)?,
            own_hash: v[32..64].try_into().ok()?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(len: u64) -> Anchor {
        Anchor {
            len,
            own_seq: len / 2,
            own_hash: [len as u8; 32],
        }
    }

    #[test]
    fn newest_slot_wins_and_a_torn_slot_falls_back_to_the_other() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut f, found) = AnchorFile::read(dir.path());
        assert_eq!(found, Found::Absent);
        f.write(&anchor(10)).expect("writes");
        f.write(&anchor(20)).expect("writes");
        f.write(&anchor(30)).expect("writes");
        assert_eq!(AnchorFile::read(dir.path()).1, Found::Read(anchor(30)));
        // Slot 1 holds counter 3 (len 30); tear it: slot 0 (len 20) remains.
        std::fs::write(dir.path().join(NAMES[1]), b"S178ANC1 torn").expect("writes");
        assert_eq!(AnchorFile::read(dir.path()).1, Found::Read(anchor(20)));
        // Both damaged: unreadable, not absent.
        std::fs::write(dir.path().join(NAMES[0]), [0u8; SLOT]).expect("writes");
        assert!(matches!(
            AnchorFile::read(dir.path()).1,
            Found::Unreadable(_)
        ));
    }

    #[test]
    fn a_flipped_byte_is_caught_by_the_checksum() {
        let mut v = encode(7, &anchor(44));
        assert_eq!(decode(&v), Some((7, anchor(44))));
        v[20] ^= 1;
        assert_eq!(decode(&v), None);
    }
}
