//! Backup and restore of a node's log: `sync178-node backup` and `restore`.
//!
//! A backup is every event the node held when it began (`Admin.Backup`): a
//! log is append-only, so positions `[0, n)` read at any later time are the
//! same bytes, and a backup of a running node is consistent. The file is
//! written beside its final name and renamed once complete and synced.
//!
//! File layout: magic `S178BAK2` · unit (4 bytes) · created at (ms, i64) ·
//! event count (u64) · the length of the client-reference secret (u8, 0 or
//! 32) and its bytes · per event its length (u32) and bytes · BLAKE3 of
//! everything before (32), integers big-endian. Files of the first layout
//! (`S178BAK1`, no secret) are still read.
//!
//! The secret ([`crate::client_ref`]) never travels over the network: the
//! backup command reads it from the node's data folder when it runs on the
//! node's machine (`backup --config node.toml`), and writes the file with
//! mode 0600 then. A backup taken from afar (an operator's certificate)
//! holds no secret. A restore puts the secret back beside the log, and
//! refuses a data folder that already holds a different one.
//!
//! A restore reads and checks the whole file before it writes anything,
//! refuses a store that already holds events (nothing is overwritten), and
//! stores the events verbatim, each hash and chain checked. A restored node
//! with a parent records only once the parent has said what it holds of the
//! unit's chain, and fetches what the backup lacks (see [`crate::recover`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sync178_shared::log::{Log, LogError};
use sync178_shared::proto::v1::BackupRequest;
use sync178_shared::proto::v1::admin_client::AdminClient;
use sync178_shared::unit::UnitId;
use tonic::transport::Channel;

use crate::client_ref::{ClientRefError, ClientSecret, SECRET_LEN};

const MAGIC_V1: &[u8; 8] = b"S178BAK1";
const MAGIC: &[u8; 8] = b"S178BAK2";
const HEADER: usize = 8 + 4 + 8 + 8;
const SUM: usize = 32;
/// Events stored per restore batch.
const RESTORE_BATCH: usize = 1000;

/// Why a backup or a restore failed; nothing was overwritten.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The backup file is not a whole sync178 backup.
    #[error("{path} is not a usable backup: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The backup is of another unit.
    #[error("{path} is a backup of {found}, not of {unit}")]
    OtherUnit {
        /// The file.
        path: PathBuf,
        /// The unit in the file.
        found: UnitId,
        /// The unit being restored.
        unit: UnitId,
    },
    /// The store to restore into already holds events.
    #[error(
        "{path} already holds {events} events: a restore never overwrites a store; \
         stop the node and move that folder aside first"
    )]
    StoreNotEmpty {
        /// The log folder.
        path: PathBuf,
        /// Events it holds.
        events: u64,
    },
    /// The node refused or broke off the backup call.
    #[error("backup call to {endpoint}: {reason}")]
    Call {
        /// The node's endpoint.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The data folder already holds another client-reference secret.
    #[error(
        "{path} holds another client-reference secret (key id {found}, the backup's is {backup}): \
         a restore never replaces it; move it aside first if the backup's is the one to keep"
    )]
    SecretDiffers {
        /// The secret's file.
        path: PathBuf,
        /// Key id of the secret in the folder.
        found: String,
        /// Key id of the backup's secret.
        backup: String,
    },
    /// The client-reference secret could not be read or written.
    #[error(transparent)]
    Secret(#[from] ClientRefError),
    /// The log refused the events.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// A backup read and checked.
#[derive(Debug, Clone)]
pub struct Backup {
    /// The unit whose log it is.
    pub unit: UnitId,
    /// When it was taken, ms since the epoch.
    pub created_at: i64,
    /// Events in position order.
    pub events: Vec<Bytes>,
    /// The node's client-reference secret, when the backup was taken on
    /// the node's machine.
    pub secret: Option<ClientSecret>,
}

/// Asks the node behind `channel` for every event it holds and writes them
/// to `out`, with `secret` (the unit's, read from its data folder) if given;
/// a node of another unit than the secret's is refused, nothing written.
pub async fn backup(
    channel: Channel,
    endpoint: &str,
    out: &Path,
    secret: Option<(UnitId, ClientSecret)>,
) -> Result<Backup, BackupError> {
    let call = |reason: String| BackupError::Call {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let mut stream = AdminClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .backup(BackupRequest {})
        .await
        .map_err(|s| call(s.message().to_owned()))?
        .into_inner();
    let mut unit = None;
    let mut total = 0u64;
    let mut events = Vec::new();
    while let Some(chunk) = stream
        .message()
        .await
        .map_err(|s| call(s.message().to_owned()))?
    {
        if unit.is_none() {
            unit = Some(
                chunk
                    .unit
                    .parse::<UnitId>()
                    .map_err(|_| call(format!("the node named itself {:?}", chunk.unit)))?,
            );
            total = chunk.events_total;
        }
        events.extend(chunk.events);
    }
    let unit = unit.ok_or_else(|| call("the node sent nothing".into()))?;
    let secret = match secret {
        Some((of, _)) if of != unit => {
            return Err(BackupError::OtherUnit {
                path: out.to_path_buf(),
                found: unit,
                unit: of,
            });
        }
        Some((_, s)) => Some(s),
        None => None,
    };
    if events.len() as u64 != total {
        return Err(call(format!(
            "the node announced {total} events and sent {}",
            events.len()
        )));
    }
    let b = Backup {
        unit,
        created_at: sync178_shared::event::now_ms(),
        events,
        secret,
    };
    write_file(out, &b)?;
    Ok(b)
}

/// Writes `b` to `path` (via `path.partial`, synced, then renamed).
pub fn write_file(path: &Path, b: &Backup) -> Result<(), BackupError> {
    let io = |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut buf = Vec::with_capacity(HEADER + b.events.iter().map(|e| e.len() + 4).sum::<usize>());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&b.unit.to_bytes());
    buf.extend_from_slice(&b.created_at.to_be_bytes());
    buf.extend_from_slice(&(b.events.len() as u64).to_be_bytes());
    match &b.secret {
        None => buf.push(0),
        Some(s) => {
            buf.push(SECRET_LEN as u8);
            buf.extend_from_slice(s.bytes());
        }
    }
    for e in &b.events {
        buf.extend_from_slice(&(e.len() as u32).to_be_bytes());
        buf.extend_from_slice(e);
    }
    let sum = blake3::hash(&buf);
    buf.extend_from_slice(sum.as_bytes());
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if b.secret.is_some() {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut f = options.open(&partial).map_err(io)?;
    f.write_all(&buf).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}

/// Reads and checks a whole backup file.
pub fn read_file(path: &Path) -> Result<Backup, BackupError> {
    let bytes = std::fs::read(path).map_err(|source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let damaged = |reason: &str| BackupError::Damaged {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    if bytes.len() < HEADER + SUM || (&bytes[..8] != MAGIC && &bytes[..8] != MAGIC_V1) {
        return Err(damaged("not a sync178 backup (wrong start or too short)"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - SUM);
    if blake3::hash(body).as_bytes() != sum {
        return Err(damaged(
            "its checksum does not match: the file is truncated or altered",
        ));
    }
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_be_bytes(body.get(at..at + 8)?.try_into().ok()?))
    };
    let unit = <[u8; 4]>::try_from(&body[8..12])
        .ok()
        .and_then(UnitId::from_bytes)
        .ok_or_else(|| damaged("its unit is unreadable"))?;
    let created_at = u64_at(12).ok_or_else(|| damaged("short header"))? as i64;
    let count = u64_at(20).ok_or_else(|| damaged("short header"))?;
    // A second-layout file has the secret's section after the header.
    let (at, secret) = if &body[..8] == MAGIC {
        let section = body.get(HEADER).copied().map(usize::from);
        match section {
            Some(0) => (HEADER + 1, None),
            Some(SECRET_LEN) => {
                let key = body
                    .get(HEADER + 1..HEADER + 1 + SECRET_LEN)
                    .and_then(|k| <[u8; SECRET_LEN]>::try_from(k).ok())
                    .ok_or_else(|| damaged("its secret's section is cut"))?;
                (HEADER + 1 + SECRET_LEN, Some(ClientSecret::from_bytes(key)))
            }
            _ => return Err(damaged("its secret's section is unreadable")),
        }
    } else {
        (HEADER, None)
    };
    let mut events = Vec::new();
    let mut at = at;
    while at < body.len() {
        let len = body
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| damaged("an event length is cut"))? as usize;
        let ev = body
            .get(at + 4..at + 4 + len)
            .ok_or_else(|| damaged("an event is cut"))?;
        events.push(Bytes::copy_from_slice(ev));
        at += 4 + len;
    }
    if events.len() as u64 != count {
        return Err(damaged(&format!(
            "it announces {count} events and holds {}",
            events.len()
        )));
    }
    Ok(Backup {
        unit,
        created_at,
        events,
        secret,
    })
}

/// Restores `from` into the data folder `data_dir` of `unit` (its log, and
/// its client-reference secret when the backup holds one). With
/// `has_parent` the own chain stays closed until the parent confirms it.
/// Returns the events stored.
pub async fn restore(
    data_dir: &Path,
    unit: UnitId,
    from: &Path,
    has_parent: bool,
) -> Result<u64, BackupError> {
    let b = read_file(from)?;
    if b.unit != unit {
        return Err(BackupError::OtherUnit {
            path: from.to_path_buf(),
            found: b.unit,
            unit,
        });
    }
    if let Some(secret) = &b.secret {
        match ClientSecret::load(data_dir) {
            Ok(found) if found.bytes() != secret.bytes() => {
                return Err(BackupError::SecretDiffers {
                    path: crate::client_ref::secret_path(data_dir),
                    found: found.key_id(),
                    backup: secret.key_id(),
                });
            }
            Ok(_) | Err(ClientRefError::Missing { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let log_dir = data_dir.join("log");
    let log_dir = log_dir.as_path();
    let dir = log_dir.to_path_buf();
    let log = tokio::task::spawn_blocking(move || Log::open(&dir, unit))
        .await
        .map_err(|e| LogError::Poisoned(e.to_string()))??;
    if !log.is_empty() {
        return Err(BackupError::StoreNotEmpty {
            path: log_dir.to_path_buf(),
            events: log.len(),
        });
    }
    if has_parent {
        log.close_until_confirmed(format!(
            "restored from a backup taken at {} ms: waiting for the parent to confirm what it holds \
             of this unit's chain",
            b.created_at
        ))
        .await?;
    }
    if let Some(secret) = &b.secret {
        secret.store(data_dir)?;
    }
    let mut stored = 0u64;
    for chunk in b.events.chunks(RESTORE_BATCH) {
        // Every origin the backup holds was admitted by this node once.
        let r = log.append_recovered(chunk.to_vec(), |_| true).await?;
        stored += u64::from(r.applied);
    }
    Ok(stored)
}
