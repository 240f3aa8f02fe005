//! Who may see the web page.
//!
//! - A peer on loopback needs nothing (the page is bound to 127.0.0.1 by default).
//! - Off loopback, every request must authenticate: a client certificate of
//!   the province CA with role `operator` (when the page runs HTTPS), a
//!   per-operator token as `Authorization: Bearer <token>`, or the session
//!   cookie the `/login` form sets after checking a token.
//!
//! Tokens are stored hashed: the tokens file holds lines
//! `name:sha256-hex-of-token` (`#` starts a comment; make one with
//! `printf %s "$TOKEN" | sha256sum`). A token is checked by hashing it and
//! comparing with every stored hash in constant time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use subtle::ConstantTimeEq;
use sync178_shared::tls::{Identity, Role};

/// Longest token accepted, in bytes.
pub const MAX_TOKEN: usize = 512;
/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; the oldest goes first.
pub const MAX_SESSIONS: usize = 1024;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sync178_session";

/// A tokens file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file could not be read.
    #[error("cannot read tokens file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `name:sha256-hex`.
    #[error("tokens file {path} line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// No operator in the file.
    #[error("tokens file {0} holds no token")]
    Empty(PathBuf),
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The tokens-file line for operator `name` and `token`: `name:sha256-hex`.
pub fn token_line(name: &str, token: &str) -> String {
    format!("{name}:{}", hex::encode(sha256(token.as_bytes())))
}

/// A new random token (32 bytes, hex) and its tokens-file line for `name`.
pub fn new_token(name: &str) -> (String, String) {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    let token = hex::encode(b);
    let line = token_line(name, &token);
    (token, line)
}

/// Whether `name` may name an operator: 1–64 of `A–Z a–z 0–9 . _ - @`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

/// The operators' token hashes.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("operators", &self.entries.len())
            .finish()
    }
}

impl Tokens {
    /// Reads a tokens file.
    pub fn load(path: &Path) -> Result<Tokens, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let t = Tokens::parse(&text).map_err(|(line, reason)| TokensError::Line {
            path: path.to_path_buf(),
            line,
            reason,
        })?;
        if t.entries.is_empty() {
            return Err(TokensError::Empty(path.to_path_buf()));
        }
        Ok(t)
    }

    /// Parses the text of a tokens file; an error gives the line number and why.
    pub fn parse(text: &str) -> Result<Tokens, (usize, String)> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, hash) = line
                .split_once(':')
                .ok_or((i + 1, "expected name:sha256-hex".to_string()))?;
            let name = name.trim();
            if !valid_name(name) {
                return Err((i + 1, "the name must be 1–64 of A–Z a–z 0–9 . _ - @".into()));
            }
            let bytes = hex::decode(hash.trim())
                .map_err(|_| (i + 1, "the hash must be hexadecimal".to_string()))?;
            let hash: [u8; 32] = bytes.try_into().map_err(|_| {
                (
                    i + 1,
                    "the hash must be a SHA-256 (64 hex digits), not the token itself".to_string(),
                )
            })?;
            entries.push((name.to_string(), hash));
        }
        Ok(Tokens { entries })
    }

    /// Whether the file holds an operator called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| n == name)
    }

    /// The operator whose token this is. Compares the token's hash with every
    /// stored hash in constant time, whichever matches.
    pub fn verify(&self, token: &str) -> Option<&str> {
        if token.is_empty() || token.len() > MAX_TOKEN {
            return None;
        }
        let h = sha256(token.as_bytes());
        let mut found = None;
        for (i, (_, stored)) in self.entries.iter().enumerate() {
            if bool::from(stored.ct_eq(&h)) && found.is_none() {
                found = Some(i);
            }
        }
        found.map(|i| self.entries[i].0.as_str())
    }
}

/// Signed-in operators, by the SHA-256 of their session id.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

impl Sessions {
    /// Starts a session for `operator`; returns the id to put in the cookie.
    pub fn start(&self, operator: &str) -> String {
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        let id = hex::encode(b);
        let now = Instant::now();
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, (_, at)| now.duration_since(*at) < SESSION_TTL);
        while m.len() >= MAX_SESSIONS {
            let Some(oldest) = m.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k) else {
                break;
            };
            m.remove(&oldest);
        }
        m.insert(sha256(id.as_bytes()), (operator.to_string(), now));
        id
    }

    /// The operator of a live session.
    pub fn check(&self, id: &str) -> Option<String> {
        if id.len() != 64 {
            return None;
        }
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&sha256(id.as_bytes()))
            .filter(|(_, at)| at.elapsed() < SESSION_TTL)
            .map(|(name, _)| name.clone())
    }

    /// Ends a session.
    pub fn end(&self, id: &str) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(&sha256(id.as_bytes()));
    }
}

/// What a request presented.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// The TCP peer, when known.
    pub peer: Option<SocketAddr>,
    /// The verified client certificate's identity (HTTPS only).
    pub cert: Option<Identity>,
    /// `Authorization: Bearer …`.
    pub bearer: Option<String>,
    /// The session cookie.
    pub session: Option<String>,
}

/// Who is asking, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A peer on loopback, not signed in.
    Local,
    /// An authenticated operator (token name or certificate identity).
    Operator(String),
    /// Refused, and why (for the 401 answer).
    Denied(&'static str),
}

/// Whether `addr` is a loopback address (IPv4-mapped IPv6 included).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// Decides a request: certificate, bearer token, session, then loopback.
/// A peer that is unknown or not loopback must authenticate.
pub fn decide(p: &Presented, tokens: Option<&Tokens>, sessions: &Sessions) -> Access {
    if let Some(id) = &p.cert
        && id.role == Role::Operator
    {
        return Access::Operator(id.to_string());
    }
    if let Some(t) = &p.bearer {
        return match tokens.and_then(|ts| ts.verify(t)) {
            Some(name) => Access::Operator(name.to_string()),
            None => Access::Denied("invalid token"),
        };
    }
    if let Some(s) = &p.session
        && tokens.is_some()
        && let Some(name) = sessions.check(s)
    {
        return Access::Operator(name);
    }
    match &p.peer {
        Some(a) if is_loopback(a) => Access::Local,
        _ => Access::Denied(
            "authentication required: a client certificate with role operator, Authorization: Bearer <token>, or sign in at /login",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync178_shared::unit::UnitId;

    fn tokens() -> Tokens {
        let text = format!(
            "# operators\n\n{}\n{}\n",
            token_line("lan", "secret-lan"),
            token_line("minh.tran", "secret-minh")
        );
        Tokens::parse(&text).expect("parses")
    }

    #[test]
    fn tokens_verify_by_hash() {
        let t = tokens();
        assert_eq!(t.verify("secret-lan"), Some("lan"));
        assert_eq!(t.verify("secret-minh"), Some("minh.tran"));
        assert_eq!(t.verify("secret"), None);
        assert_eq!(t.verify(""), None);
        assert_eq!(t.verify(&"x".repeat(MAX_TOKEN + 1)), None);
        // The file stores hashes, never the tokens.
        assert!(!token_line("lan", "secret-lan").contains("secret"));
        assert_eq!(
            token_line("a", "abc"),
            "a:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            Tokens::parse("lan\n").map(|_| ()).expect_err("refused").0,
            1
        );
        assert!(
            Tokens::parse("#\nlan:abcd\n")
                .map(|_| ())
                .expect_err("refused")
                .1
                .contains("SHA-256")
        );
        assert!(Tokens::parse("l an:00\n").is_err());
        assert!(Tokens::parse("lan:zz\n").is_err());
        let (token, line) = new_token("ops");
        assert_eq!(
            Tokens::parse(&line).expect("parses").verify(&token),
            Some("ops")
        );
    }

    #[test]
    fn off_loopback_needs_authentication() {
        let t = tokens();
        let s = Sessions::default();
        let lan: SocketAddr = "192.0.2.10:50000".parse().expect("addr");
        let lo: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let lo6: SocketAddr = "[::ffff:127.0.0.1]:1".parse().expect("addr");
        let p = |peer: SocketAddr| Presented {
            peer: Some(peer),
            ..Presented::default()
        };
        assert_eq!(decide(&p(lo), Some(&t), &s), Access::Local);
        assert_eq!(decide(&p(lo6), None, &s), Access::Local);
        assert!(matches!(decide(&p(lan), Some(&t), &s), Access::Denied(_)));
        assert!(
            matches!(decide(&Presented::default(), None, &s), Access::Denied(_)),
            "unknown peer"
        );
        let with = Presented {
            bearer: Some("secret-lan".into()),
            ..p(lan)
        };
        assert_eq!(decide(&with, Some(&t), &s), Access::Operator("lan".into()));
        let wrong = Presented {
            bearer: Some("nope".into()),
            ..p(lo)
        };
        assert!(
            matches!(decide(&wrong, Some(&t), &s), Access::Denied(_)),
            "a wrong token is refused even on loopback"
        );
        let id = s.start("lan");
        let cookie = Presented {
            session: Some(id.clone()),
            ..p(lan)
        };
        assert_eq!(
            decide(&cookie, Some(&t), &s),
            Access::Operator("lan".into())
        );
        s.end(&id);
        assert!(matches!(decide(&cookie, Some(&t), &s), Access::Denied(_)));
    }

    #[test]
    fn operator_certificates_are_accepted_other_roles_not() {
        let s = Sessions::default();
        let lan: SocketAddr = "192.0.2.10:50000".parse().expect("addr");
        let unit: UnitId = "p33".parse().expect("unit");
        let op = Presented {
            peer: Some(lan),
            cert: Some(Identity::new(unit, Role::Operator)),
            ..Presented::default()
        };
        assert!(matches!(decide(&op, None, &s), Access::Operator(_)));
        let node = Presented {
            peer: Some(lan),
            cert: Some(Identity::new(unit, Role::Node)),
            ..Presented::default()
        };
        assert!(matches!(decide(&node, None, &s), Access::Denied(_)));
    }
}
