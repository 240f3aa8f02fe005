//! Client references: the per-node secret kept in the data folder, and `client_ref = hex(HMAC-SHA256(secret, case number))`.
//!
//! A commune's officers know a client by a local case number; events carry
//! only the pseudonym [`ClientSecret::reference`] computes from it. The secret
//! is 32 random bytes in `<data_dir>/client-ref.key` (mode 0600), created on
//! the node's first start (or by `deploy` for a commune) and never put in an
//! event, a log line, a status, an export or anything sent to the parent:
//! without it, nobody above the commune can link a reference back to a case
//! number, even by trying every case number. The file travels only in the
//! node's own backup (`backup --config`).
//!
//! **Why HMAC-SHA256 through `ring`:** DESIGN.md and the event schema
//! promise "the hex HMAC of the local case number", and HMAC-SHA256 is what
//! other tools compute (`openssl dgst -sha256 -hmac`, any spreadsheet
//! add-in), so a commune can check a reference without sync178. `ring` is
//! already in every build (rustls's provider, the hub's token hashes), so
//! this adds no crate; `hmac` + `sha2` would add two, and `blake3`'s keyed
//! mode, though as sound a PRF, is not the HMAC the schema names.
//!
//! **Key id:** the first 8 bytes of `HMAC(secret, "sync178 client key id")`
//! in hex (16 characters). It names the secret without revealing it, so a
//! reference printed with its key id shows when the secret changed (a new
//! key id means references no longer match the old ones for the same case).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};
use sync178_shared::i18n::{Lang, Localized};

/// The secret's file name inside the node's data folder.
pub const SECRET_FILE: &str = "client-ref.key";
/// Bytes of the secret.
pub const SECRET_LEN: usize = 32;
/// Characters of a case number at most (after normalization).
pub const MAX_CASE_CHARS: usize = 100;

/// Why a secret could not be read or made, or a case number is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ClientRefError {
    /// The secret's file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The node has no secret yet.
    #[error(
        "{path} does not exist: start the node once (or run `deploy`) to create the client-reference secret"
    )]
    Missing {
        /// The file expected.
        path: PathBuf,
    },
    /// The file is not a secret of this format.
    #[error("{path} holds {len} bytes, not a {SECRET_LEN}-byte client-reference secret")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The system's random source failed.
    #[error("the system's random source failed")]
    Random,
    /// An empty case number.
    #[error("the case number is empty")]
    EmptyCase,
    /// A case number over [`MAX_CASE_CHARS`].
    #[error("the case number is over {MAX_CASE_CHARS} characters")]
    CaseTooLong,
    /// A case number with a control character.
    #[error("the case number holds a control character")]
    CaseControl,
}

impl Localized for ClientRefError {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (_, Lang::En) => self.to_string(),
            (ClientRefError::Io { path, source }, Lang::Vi) => {
                format!("{}: {source}", path.display())
            }
            (ClientRefError::Missing { path }, Lang::Vi) => format!(
                "chưa có {}: hãy chạy nút một lần (hoặc `deploy`) để tạo khoá bí mật của mã khách hàng",
                path.display()
            ),
            (ClientRefError::Damaged { path, len }, Lang::Vi) => format!(
                "{} có {len} byte, không phải khoá bí mật {SECRET_LEN} byte của mã khách hàng",
                path.display()
            ),
            (ClientRefError::Random, Lang::Vi) => "nguồn số ngẫu nhiên của hệ thống bị lỗi".into(),
            (ClientRefError::EmptyCase, Lang::Vi) => "số hồ sơ trống".into(),
            (ClientRefError::CaseTooLong, Lang::Vi) => {
                format!("số hồ sơ dài quá {MAX_CASE_CHARS} ký tự")
            }
            (ClientRefError::CaseControl, Lang::Vi) => "số hồ sơ chứa ký tự điều khiển".into(),
        }
    }
}

/// A node's client-reference secret. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct ClientSecret {
    key: hmac::Key,
    bytes: [u8; SECRET_LEN],
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// The secret's path in a data folder.
pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// The case number as it is hashed: spaces at the ends dropped, runs of
/// whitespace inside made one space, letters upper-cased — so `hs-2025-0042`,
/// ` HS-2025-0042 ` and `HS-2025-0042` are one client.
pub fn normalize_case(case: &str) -> Result<String, ClientRefError> {
    if case.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(ClientRefError::CaseControl);
    }
    let joined = case.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        return Err(ClientRefError::EmptyCase);
    }
    let upper = joined.to_uppercase();
    if upper.chars().count() > MAX_CASE_CHARS {
        return Err(ClientRefError::CaseTooLong);
    }
    Ok(upper)
}

impl ClientSecret {
    /// A secret from its bytes.
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> ClientSecret {
        ClientSecret {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
            bytes,
        }
    }

    /// 32 fresh random bytes.
    pub fn generate() -> Result<ClientSecret, ClientRefError> {
        let mut bytes = [0u8; SECRET_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| ClientRefError::Random)?;
        Ok(ClientSecret::from_bytes(bytes))
    }

    /// The secret's bytes, for a backup file only.
    pub fn bytes(&self) -> &[u8; SECRET_LEN] {
        &self.bytes
    }

    /// The secret of the node whose data folder is `data_dir`.
    pub fn load(data_dir: &Path) -> Result<ClientSecret, ClientRefError> {
        let path = secret_path(data_dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ClientRefError::Missing { path });
            }
            Err(source) => return Err(ClientRefError::Io { path, source }),
        };
        let len = bytes.len();
        let bytes = <[u8; SECRET_LEN]>::try_from(bytes.as_slice())
            .map_err(|_| ClientRefError::Damaged { path, len })?;
        Ok(ClientSecret::from_bytes(bytes))
    }

    /// The node's secret, created (and the data folder with it) when absent.
    /// Returns the secret and whether it was created now.
    pub fn load_or_create(data_dir: &Path) -> Result<(ClientSecret, bool), ClientRefError> {
        match ClientSecret::load(data_dir) {
            Ok(s) => Ok((s, false)),
            Err(ClientRefError::Missing { .. }) => {
                let s = ClientSecret::generate()?;
                s.store(data_dir)?;
                // Another process may have stored one first: the file decides.
                Ok((ClientSecret::load(data_dir)?, true))
            }
            Err(e) => Err(e),
        }
    }

    /// Writes the secret into `data_dir` (mode 0600, written aside, synced,
    /// then linked into place); an existing secret is never overwritten.
    pub fn store(&self, data_dir: &Path) -> Result<(), ClientRefError> {
        let path = secret_path(data_dir);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ClientRefError::Io { path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let partial = data_dir.join(format!("{SECRET_FILE}.partial"));
        let _ = std::fs::remove_file(&partial);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&partial).map_err(io(&partial))?;
        f.write_all(&self.bytes).map_err(io(&partial))?;
        f.sync_all().map_err(io(&partial))?;
        drop(f);
        // A hard link fails when the file exists: never two secrets.
        let linked = std::fs::hard_link(&partial, &path);
        let _ = std::fs::remove_file(&partial);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(source) => Err(ClientRefError::Io { path, source }),
        }
    }

    /// The key id: 16 hex characters naming this secret without revealing it.
    pub fn key_id(&self) -> String {
        let tag = hmac::sign(&self.key, b"sync178 client key id");
        hex::encode(&tag.as_ref()[..8])
    }

    /// The client reference of a case number: 64 lowercase hex characters.
    pub fn reference(&self, case: &str) -> Result<String, ClientRefError> {
        let case = normalize_case(case)?;
        Ok(hex::encode(hmac::sign(&self.key, case.as_bytes()).as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_hmac_sha256_of_the_normalized_case() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        assert_eq!(
            hex::encode(hmac::sign(&key, b"what do ya want for nothing?").as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let s = ClientSecret::from_bytes([7; SECRET_LEN]);
        let r = s.reference(" hs-2025-0042 ").expect("valid case");
        assert_eq!(r.len(), 64);
        assert!(
            r.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(r, s.reference("HS-2025-0042").expect("valid case"));
        assert_ne!(r, s.reference("HS-2025-0043").expect("valid case"));
        assert_eq!(s.key_id().len(), 16);
        assert!(!format!("{s:?}").contains(&hex::encode(s.bytes())));
    }

    #[test]
    fn bad_case_numbers_are_refused() {
        assert!(matches!(
            normalize_case("  "),
            Err(ClientRefError::EmptyCase)
        ));
        assert!(matches!(
            normalize_case("a\u{7}b"),
            Err(ClientRefError::CaseControl)
        ));
        assert!(matches!(
            normalize_case(&"9".repeat(MAX_CASE_CHARS + 1)),
            Err(ClientRefError::CaseTooLong)
        ));
        assert_eq!(normalize_case("hs  2025\t1").expect("valid"), "HS 2025 1");
    }
}
