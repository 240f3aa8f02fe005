//! Identities carried in sync178 certificates, the PEM files every process is given, and the tonic mutual-TLS configurations built from them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity as TonicIdentity, ServerTlsConfig};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use crate::unit::UnitId;

/// Scheme of the SAN URI that names a sync178 identity: `sync178://<role>/<unit>`.
pub const URI_SCHEME: &str = "sync178";

/// DNS suffix of the name every node certificate carries and every client verifies.
pub const DNS_SUFFIX: &str = "sync178.internal";

/// How long a server waits for a client to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a certificate holder is allowed to do (DESIGN §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A node daemon: pushes its subtree's log to its parent, serves its children.
    Node,
    /// A recorder: submits events to the node of its unit.
    Recorder,
    /// A hub: subscribes to a node's feed.
    Hub,
    /// A provincial operator: queries the hub's projections.
    Operator,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 4] = [Role::Node, Role::Recorder, Role::Hub, Role::Operator];

    /// The lowercase name used in URIs, configs and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Recorder => "recorder",
            Role::Hub => "hub",
            Role::Operator => "operator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of `node`, `recorder`, `hub`, `operator`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected node, recorder, hub or operator)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Who holds a certificate: a unit and the role it acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The administrative unit the holder belongs to.
    pub unit: UnitId,
    /// What the holder is allowed to do.
    pub role: Role,
}

impl Identity {
    /// An identity from its parts.
    pub fn new(unit: UnitId, role: Role) -> Identity {
        Identity { unit, role }
    }

    /// The SAN URI form, e.g. `sync178://node/c00292`.
    pub fn uri(&self) -> String {
        format!("{URI_SCHEME}://{}/{}", self.role, self.unit)
    }

    /// Parses the SAN URI form; `None` unless `s` is exactly what [`Identity::uri`] produces.
    pub fn from_uri(s: &str) -> Option<Identity> {
        let rest = s.strip_prefix(URI_SCHEME)?.strip_prefix("://")?;
        let (role, unit) = rest.split_once('/')?;
        let id = Identity {
            unit: unit.parse().ok()?,
            role: role.parse().ok()?,
        };
        (id.uri() == s).then_some(id)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role, self.unit)
    }
}

/// The DNS name every certificate of `unit` carries and the name a client verifies,
/// e.g. `c00292.sync178.internal`, `c00004-2025.sync178.internal` for
/// `c00004@2025` (a DNS label cannot hold `@`).
pub fn dns_name(unit: UnitId) -> String {
    format!("{}.{DNS_SUFFIX}", unit.to_string().replace('@', "-"))
}

/// Why a certificate does not name a sync178 identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The bytes are not a DER X.509 certificate.
    #[error("is not a valid x509 certificate: {0}")]
    NotX509(String),
    /// No `sync178://` SAN URI.
    #[error("carries no sync178 identity")]
    Missing,
    /// More than one `sync178://` SAN URI.
    #[error("carries {0} sync178 identities, expected exactly one")]
    Several(usize),
    /// A `sync178://` SAN URI that does not parse.
    #[error("carries a malformed sync178 identity `{0}`")]
    Malformed(String),
}

/// Errors loading TLS material; each names the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} {path}: {error}")]
    Read {
        /// `ca certificate`, `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A certificate file holds no PEM certificate (or a broken one).
    #[error("{what} {path} holds no valid pem certificate{detail}")]
    NoCertificate {
        /// `ca certificate` or `certificate`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Extra detail, empty or starting with `: `.
        detail: String,
    },
    /// A key file holds no usable private key.
    #[error("private key {path} is unusable: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The private key file may be read by other users.
    #[error(
        "private key {path} is readable by group or others (mode {mode:04o}); make it private with `chmod 600 {path}`"
    )]
    KeyMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The private key does not belong to the certificate.
    #[error("private key {key} does not match certificate {cert}")]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// The certificate was not issued by the CA it is configured with.
    #[error("certificate {cert} was not issued by the ca in {ca}")]
    WrongIssuer {
        /// The certificate file.
        cert: PathBuf,
        /// The CA file.
        ca: PathBuf,
    },
    /// A certificate file whose leaf does not carry exactly one identity.
    #[error("certificate {path} {problem}")]
    FileIdentity {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong with its identity.
        problem: IdentityError,
    },
    /// A DER certificate that does not carry exactly one identity.
    #[error("certificate {0}")]
    Identity(IdentityError),
}

/// Paths of the three PEM files every sync178 process is given.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The province CA certificate: the only trust anchor.
    pub ca: PathBuf,
    /// This process's certificate (leaf first, PEM).
    pub cert: PathBuf,
    /// This process's private key (PKCS#8, PEM).
    pub key: PathBuf,
}

/// TLS material read and checked by [`TlsFiles::load`], ready to build tonic configs.
#[derive(Clone)]
pub struct LoadedTls {
    /// The identity our certificate carries.
    pub identity: Identity,
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl fmt::Debug for LoadedTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedTls")
            .field("identity", &self.identity)
            .field("key", &"[elided]")
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// Reads the three files and checks them: the certificates parse, the leaf
    /// carries exactly one identity, the key matches the leaf, and the leaf was
    /// issued by the CA.
    pub fn load(&self) -> Result<LoadedTls, TlsError> {
        let ca_pem = read(&self.ca, "ca certificate")?;
        let cert_pem = read(&self.cert, "certificate")?;
        let key_pem = read(&self.key, "private key")?;
        key_is_private(&self.key)?;

        let ca = first_cert(&ca_pem, &self.ca, "ca certificate")?;
        let chain = certs(&cert_pem, &self.cert, "certificate")?;
        let leaf = &chain[0];
        let identity = identity_of_der(leaf).map_err(|problem| TlsError::FileIdentity {
            path: self.cert.clone(),
            problem,
        })?;

        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Key {
            path: self.key.clone(),
            reason: e.to_string(),
        })?;
        let provider = rustls::crypto::ring::default_provider();
        rustls::sign::CertifiedKey::from_der(chain.clone(), key, &provider).map_err(
            |e| match e {
                rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                    key: self.key.clone(),
                    cert: self.cert.clone(),
                },
                other => TlsError::Key {
                    path: self.key.clone(),
                    reason: other.to_string(),
                },
            },
        )?;

        if !issued_by(leaf, &ca) {
            return Err(TlsError::WrongIssuer {
                cert: self.cert.clone(),
                ca: self.ca.clone(),
            });
        }

        Ok(LoadedTls {
            identity,
            ca_pem,
            cert_pem,
            key_pem,
        })
    }
}

impl LoadedTls {
    /// Server config: presents our certificate and requires a client certificate
    /// issued by the CA; the handshake must finish within [`HANDSHAKE_TIMEOUT`].
    pub fn server_config(&self) -> ServerTlsConfig {
        init_crypto();
        ServerTlsConfig::new()
            .identity(self.tonic_identity())
            .client_ca_root(self.ca_certificate())
            .client_auth_optional(false)
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// The CA certificate, as tonic wants it.
    pub fn ca_certificate(&self) -> Certificate {
        Certificate::from_pem(&self.ca_pem)
    }

    pub(crate) fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    pub(crate) fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    pub(crate) fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }

    /// The CA certificate, DER (the issuer revocation lists must come from).
    pub fn ca_der(&self) -> Result<CertificateDer<'static>, TlsError> {
        CertificateDer::from_pem_slice(&self.ca_pem).map_err(|e| TlsError::NoCertificate {
            what: "ca certificate",
            path: PathBuf::new(),
            detail: format!(": {e}"),
        })
    }

    fn tonic_identity(&self) -> TonicIdentity {
        TonicIdentity::from_pem(&self.cert_pem, &self.key_pem)
    }
}

/// Installs ring as the process-wide rustls crypto provider, once; later calls
/// and an already-installed provider are fine. [`LoadedTls`] calls it itself.
pub fn init_crypto() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: some provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The verified identity of the peer of a request, from the SAN URI of the leaf
/// certificate it presented during the mutual-TLS handshake.
pub fn peer_identity<T>(req: &tonic::Request<T>) -> Result<Identity, tonic::Status> {
    let certs: Arc<Vec<CertificateDer<'static>>> = req
        .peer_certs()
        .ok_or_else(|| tonic::Status::unauthenticated("no client certificate"))?;
    let leaf = certs
        .first()
        .ok_or_else(|| tonic::Status::unauthenticated("no client certificate"))?;
    identity_of_der(leaf)
        .map_err(|e| tonic::Status::unauthenticated(format!("client certificate {e}")))
}

/// The identity carried by a DER certificate: its one `sync178://<role>/<unit>` SAN URI.
pub fn identity_of_cert_der(der: &[u8]) -> Result<Identity, TlsError> {
    identity_of_der(der).map_err(TlsError::Identity)
}

/// The serial number of a DER certificate, big-endian without leading zero
/// bytes; `None` when the bytes are not a certificate.
pub fn serial_of_der(der: &[u8]) -> Option<Vec<u8>> {
    parse(der).ok().map(|c| trim_serial(c.raw_serial()))
}

/// A serial as compared everywhere: big-endian, leading zero bytes dropped.
pub fn trim_serial(raw: &[u8]) -> Vec<u8> {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    raw[start..].to_vec()
}

fn identity_of_der(der: &[u8]) -> Result<Identity, IdentityError> {
    let cert = parse(der)?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::NotX509(e.to_string()))?;
    let prefix = format!("{URI_SCHEME}:");
    let uris: Vec<&str> = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) if uri.starts_with(&prefix) => Some(*uri),
            _ => None,
        })
        .collect();
    match uris.as_slice() {
        [] => Err(IdentityError::Missing),
        [uri] => Identity::from_uri(uri).ok_or_else(|| IdentityError::Malformed((*uri).to_owned())),
        several => Err(IdentityError::Several(several.len())),
    }
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, IdentityError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(IdentityError::NotX509("trailing bytes".to_owned())),
        Err(e) => Err(IdentityError::NotX509(e.to_string())),
    }
}

/// Whether `leaf` names `ca` as its issuer: same distinguished name and, when
/// both carry key identifiers, the same key.
fn issued_by(leaf: &[u8], ca: &[u8]) -> bool {
    let (Ok(leaf), Ok(ca)) = (parse(leaf), parse(ca)) else {
        return false;
    };
    if leaf.issuer().as_raw() != ca.subject().as_raw() {
        return false;
    }
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0)
            }
            _ => None,
        });
    let ski = ca
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
            _ => None,
        });
    match (aki, ski) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        what,
        path: path.to_owned(),
        error,
    })
}

/// Refuses a private key file that group or others may read or write
/// (mode wider than 0600; a symbolic link is judged by its target).
fn key_is_private(path: &Path) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|error| TlsError::Read {
                what: "private key",
                path: path.to_owned(),
                error,
            })?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TlsError::KeyMode {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

fn certs(
    pem: &[u8],
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let no_cert = |detail: String| TlsError::NoCertificate {
        what,
        path: path.to_owned(),
        detail,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_cert(format!(": {e}")))?;
    if certs.is_empty() {
        return Err(no_cert(String::new()));
    }
    for cert in &certs {
        parse(cert).map_err(|problem| TlsError::FileIdentity {
            path: path.to_owned(),
            problem,
        })?;
    }
    Ok(certs)
}

fn first_cert(
    pem: &[u8],
    path: &Path,
    what: &'static str,
) -> Result<CertificateDer<'static>, TlsError> {
    let mut all = certs(pem, path, what)?;
    Ok(all.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(s: &str) -> UnitId {
        s.parse().unwrap_or_else(|e| panic!("bad unit {s}: {e}"))
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert!("Node".parse::<Role>().is_err());
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn uri_round_trips() {
        let id = Identity::new(unit("c00292"), Role::Node);
        assert_eq!(id.uri(), "sync178://node/c00292");
        assert_eq!(Identity::from_uri(&id.uri()), Some(id));
        let hub = Identity::new(unit("p01"), Role::Hub);
        assert_eq!(Identity::from_uri("sync178://hub/p01"), Some(hub));
    }

    #[test]
    fn bad_uris_are_refused() {
        for s in [
            "",
            "sync178://",
            "sync178://node",
            "sync178://node/",
            "sync178://node/c00292/",
            "sync178://admin/c00292",
            "sync178://NODE/c00292",
            "https://node/c00292",
            "sync178:/node/c00292",
            "sync178://node/x1",
        ] {
            assert_eq!(Identity::from_uri(s), None, "{s}");
        }
    }

    #[test]
    fn dns_name_form() {
        assert_eq!(dns_name(unit("d008")), "d008.sync178.internal");
        assert_eq!(
            dns_name(unit("c00004@2025")),
            "c00004-2025.sync178.internal"
        );
        let new = Identity::new(unit("c00004@2025"), Role::Node);
        assert_eq!(new.uri(), "sync178://node/c00004@2025");
        assert_eq!(Identity::from_uri(&new.uri()), Some(new));
    }

    #[test]
    fn garbage_der_is_refused() {
        let err = identity_of_cert_der(b"not a certificate").err();
        assert!(
            matches!(err, Some(TlsError::Identity(IdentityError::NotX509(_)))),
            "{err:?}"
        );
    }

    #[test]
    fn load_names_the_missing_file() {
        let files = TlsFiles {
            ca: "/nonexistent/ca.pem".into(),
            cert: "/nonexistent/node.pem".into(),
            key: "/nonexistent/node.key".into(),
        };
        let err = files
            .load()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("cannot read ca certificate /nonexistent/ca.pem: "),
            "{err}"
        );
    }
}
