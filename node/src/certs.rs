//! Certificate tooling: a province CA, the leaf certificates it issues, and the idempotent issuance of everything a province needs.

use std::fmt;
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::string::{Ia5String, PrintableString};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SanType,
};
use sync178_shared::history::History;
use sync178_shared::tls::{Identity, Role, TlsFiles, dns_name};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::ParsedExtension;

/// File name of the CA certificate in a CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key in a CA directory.
pub const CA_KEY_FILE: &str = "ca.key";

/// How long a CA certificate is valid.
const CA_VALIDITY: Duration = Duration::days(3653);
/// How long a leaf certificate is valid.
const LEAF_VALIDITY: Duration = Duration::days(731);
/// How far back `not_before` is set, to tolerate clock skew between machines.
const BACKDATE: Duration = Duration::hours(1);

/// Errors of certificate tooling; each names the file, unit or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file or directory could not be read or written.
    #[error("cannot {action} {path}: {error}")]
    Io {
        /// `read`, `write`, `create directory`, …
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// rcgen refused to generate a key or certificate.
    #[error("cannot generate {what}: {error}")]
    Generate {
        /// What was being generated, e.g. `certificate node c00292`.
        what: String,
        /// The underlying error.
        error: rcgen::Error,
    },
    /// An existing CA certificate or key is unusable.
    #[error("ca {path} is unusable: {reason}")]
    BadCa {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Only one of the CA certificate and key exists.
    #[error("ca in {dir} is incomplete: {present} exists but {missing} does not")]
    IncompleteCa {
        /// The CA directory.
        dir: PathBuf,
        /// The file that exists.
        present: &'static str,
        /// The file that is missing.
        missing: &'static str,
    },
    /// Saving would overwrite an existing CA file.
    #[error("refusing to overwrite existing ca file {0}")]
    CaExists(PathBuf),
    /// An existing leaf certificate was not issued by this CA.
    #[error("certificate {path} was not issued by the ca in {ca}; remove it to reissue")]
    ForeignLeaf {
        /// The leaf certificate.
        path: PathBuf,
        /// The CA certificate.
        ca: PathBuf,
    },
    /// An existing leaf certificate carries another identity than expected.
    #[error(
        "certificate {path} carries identity {found}, expected {expected}; remove it to reissue"
    )]
    WrongLeaf {
        /// The leaf certificate.
        path: PathBuf,
        /// What it should carry.
        expected: String,
        /// What it carries (or why it has none).
        found: String,
    },
    /// The province is not a root of the topology.
    #[error("province {0} is not a root of the topology")]
    NotInTopology(UnitId),
    /// The unit given as a province is not a province.
    #[error("unit {0} is not a province")]
    NotAProvince(UnitId),
}

pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> CertError {
    let path = path.to_owned();
    move |error| CertError::Io {
        action,
        path,
        error,
    }
}

/// A province certificate authority: its certificate and key (PEM), and an
/// rcgen issuer built from them.
pub struct CertAuthority {
    cert_pem: String,
    key_pem: String,
    /// Subject key identifier of the CA certificate.
    key_id: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for CertAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAuthority")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl CertAuthority {
    /// Creates a new CA for `province`: ECDSA P-256, CN `sync178 CA <name> (p33)`,
    /// valid 10 years, allowed to issue leaf certificates only.
    pub fn create(province: UnitId, name: &str) -> Result<CertAuthority, CertError> {
        let what = || format!("ca for {province}");
        let gen_err = |error| CertError::Generate {
            what: what(),
            error,
        };
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            format!("sync178 CA {name} ({province})"),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + CA_VALIDITY;
        let cert = params.self_signed(&key).map_err(gen_err)?;
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        // Re-read what we produced so a created and a loaded CA are the same thing.
        CertAuthority::from_pem(
            cert_pem,
            key_pem,
            Path::new(CA_CERT_FILE),
            Path::new(CA_KEY_FILE),
        )
    }

    /// Loads `ca.pem` and `ca.key` from `dir`, checking that the certificate is a
    /// CA and that the key belongs to it.
    pub fn load(dir: &Path) -> Result<CertAuthority, CertError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let cert_pem = fs::read_to_string(&cert_path).map_err(io_err("read", &cert_path))?;
        let key_pem = fs::read_to_string(&key_path).map_err(io_err("read", &key_path))?;
        CertAuthority::from_pem(cert_pem, key_pem, &cert_path, &key_path)
    }

    /// Loads the CA in `dir` if both files exist, `None` if neither does, and an
    /// error if only one does.
    pub fn load_if_present(dir: &Path) -> Result<Option<CertAuthority>, CertError> {
        let cert = dir.join(CA_CERT_FILE).exists();
        let key = dir.join(CA_KEY_FILE).exists();
        match (cert, key) {
            (true, true) => CertAuthority::load(dir).map(Some),
            (false, false) => Ok(None),
            (true, false) => Err(CertError::IncompleteCa {
                dir: dir.to_owned(),
                present: CA_CERT_FILE,
                missing: CA_KEY_FILE,
            }),
            (false, true) => Err(CertError::IncompleteCa {
                dir: dir.to_owned(),
                present: CA_KEY_FILE,
                missing: CA_CERT_FILE,
            }),
        }
    }

    fn from_pem(
        cert_pem: String,
        key_pem: String,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<CertAuthority, CertError> {
        let bad = |path: &Path, reason: String| CertError::BadCa {
            path: path.to_owned(),
            reason,
        };
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| bad(key_path, format!("not a usable private key: {e}")))?;
        let der = pem_der(&cert_pem).map_err(|reason| bad(cert_path, reason))?;
        let cert = parse_cert(&der).map_err(|reason| bad(cert_path, reason))?;
        if !cert.is_ca() {
            return Err(bad(cert_path, "not a ca certificate".to_owned()));
        }
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(bad(
                key_path,
                format!("key does not match certificate {}", cert_path.display()),
            ));
        }
        let distinguished_name = distinguished_name(&cert)
            .map_err(|reason| bad(cert_path, format!("subject: {reason}")))?;
        let key_id = subject_key_id(&cert)
            .ok_or_else(|| bad(cert_path, "no subject key identifier".to_owned()))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name;
        params.key_identifier_method = KeyIdMethod::PreSpecified(key_id.clone());
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ok(CertAuthority {
            cert_pem,
            key_pem,
            key_id,
            issuer: Issuer::new(params, key),
        })
    }

    /// Writes `ca.pem` and `ca.key` (mode 0600 on unix) into `dir`, creating it;
    /// refuses to overwrite either file.
    pub fn save(&self, dir: &Path) -> Result<(), CertError> {
        fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        for path in [&cert_path, &key_path] {
            if path.exists() {
                return Err(CertError::CaExists(path.clone()));
            }
        }
        write_file(&key_path, self.key_pem.as_bytes(), true)?;
        write_file(&cert_path, self.cert_pem.as_bytes(), false)
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The rcgen issuer (signs certificates and revocation lists).
    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// Issues a leaf certificate for `id`: a fresh ECDSA P-256 key, CN
    /// `<role> <unit>`, SAN URI [`Identity::uri`], valid 2 years. Only the
    /// roles that serve ([`serves`]: node and hub) get `serverAuth` and the
    /// server names (SAN DNS [`dns_name`] and `localhost`, SAN IP 127.0.0.1);
    /// a recorder or operator certificate is `clientAuth` only, so it cannot
    /// pose as a server even to a client that checked names alone.
    pub fn issue(&self, id: Identity) -> Result<IssuedCert, CertError> {
        let gen_err = |error| CertError::Generate {
            what: format!("certificate {id}"),
            error,
        };
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, id.to_string());
        params.distinguished_name = dn;
        params.subject_alt_names = vec![SanType::URI(
            Ia5String::try_from(id.uri()).map_err(gen_err)?,
        )];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if serves(id.role) {
            params.subject_alt_names.extend([
                SanType::DnsName(Ia5String::try_from(dns_name(id.unit)).map_err(gen_err)?),
                SanType::DnsName(Ia5String::try_from("localhost").map_err(gen_err)?),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ]);
            params
                .extended_key_usages
                .insert(0, ExtendedKeyUsagePurpose::ServerAuth);
        }
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + LEAF_VALIDITY;
        let cert = params.signed_by(&key, &self.issuer).map_err(gen_err)?;
        Ok(IssuedCert {
            identity: id,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Checks that the existing leaf at `path` was issued by this CA for `id`;
    /// `Ok(false)` when it was, but with the key usages of before roles were
    /// enforced (a recorder or operator certificate that may serve), so it is
    /// to be reissued.
    fn check_leaf(&self, path: &Path, ca_path: &Path, id: Identity) -> Result<bool, CertError> {
        let pem = fs::read_to_string(path).map_err(io_err("read", path))?;
        let wrong = |found: String| CertError::WrongLeaf {
            path: path.to_owned(),
            expected: id.uri(),
            found,
        };
        let der = pem_der(&pem).map_err(wrong)?;
        match sync178_shared::tls::identity_of_cert_der(&der) {
            Ok(found) if found == id => {}
            Ok(found) => return Err(wrong(found.uri())),
            Err(e) => return Err(wrong(e.to_string())),
        }
        let cert = parse_cert(&der).map_err(wrong)?;
        if authority_key_id(&cert).as_deref() != Some(self.key_id.as_slice()) {
            return Err(CertError::ForeignLeaf {
                path: path.to_owned(),
                ca: ca_path.to_owned(),
            });
        }
        let server_auth =
            matches!(cert.extended_key_usage(), Ok(Some(eku)) if eku.value.server_auth);
        Ok(server_auth == serves(id.role))
    }
}

/// Whether certificates of `role` may serve TLS (carry `serverAuth`): nodes
/// serve their children, recorders and hubs; the hub serves its operators.
pub fn serves(role: Role) -> bool {
    matches!(role, Role::Node | Role::Hub)
}

/// A freshly issued leaf certificate and its private key, PEM.
#[derive(Clone)]
pub struct IssuedCert {
    /// The identity the certificate carries.
    pub identity: Identity,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("identity", &self.identity)
            .field("key_pem", &"[elided]")
            .finish_non_exhaustive()
    }
}

/// Where a leaf certificate and its key were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// `<stem>.pem`.
    pub cert: PathBuf,
    /// `<stem>.key`.
    pub key: PathBuf,
}

impl CertPaths {
    /// `dir/<stem>.pem` and `dir/<stem>.key`.
    pub fn new(dir: &Path, stem: &str) -> CertPaths {
        CertPaths {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
        }
    }

    /// The [`TlsFiles`] of this certificate with the CA certificate at `ca`.
    pub fn with_ca(self, ca: PathBuf) -> TlsFiles {
        TlsFiles {
            ca,
            cert: self.cert,
            key: self.key,
        }
    }
}

impl IssuedCert {
    /// Writes `dir/<stem>.pem` and `dir/<stem>.key` (mode 0600 on unix), creating
    /// `dir`; existing files are replaced atomically.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<CertPaths, CertError> {
        fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let paths = CertPaths::new(dir, stem);
        write_file(&paths.key, self.key_pem.as_bytes(), true)?;
        write_file(&paths.cert, self.cert_pem.as_bytes(), false)?;
        Ok(paths)
    }
}

/// What [`issue_province`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueReport {
    /// Whether a new CA was created (otherwise the one in `out` was reused).
    pub ca_created: bool,
    /// Certificate files newly written.
    pub created: Vec<PathBuf>,
    /// Certificate files that already existed and were kept.
    pub kept: Vec<PathBuf>,
    /// Certificate files replaced because their key usages did not fit their
    /// role (issued before roles were enforced); also in `created`.
    pub reissued: Vec<PathBuf>,
}

impl fmt::Display for IssueReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ca {}, {} certificates created ({} of them reissued), {} kept",
            if self.ca_created { "created" } else { "reused" },
            self.created.len(),
            self.reissued.len(),
            self.kept.len()
        )
    }
}

/// Where [`issue_province`] puts the certificate of `id` under `out`:
/// `<unit>/node` and `<unit>/recorder`, `hub/hub`, `operator/operator`, all
/// with the CA at `out/ca.pem`. A province of a later listing (one CA may
/// serve a province across a reform) has `hub-<unit>/hub` and
/// `operator-<unit>/operator`, e.g. `hub-p33@2025/hub.pem`.
pub fn province_files(out: &Path, id: Identity) -> TlsFiles {
    let (dir, stem) = layout(out, id);
    CertPaths::new(&dir, stem).with_ca(out.join(CA_CERT_FILE))
}

pub(crate) fn layout(out: &Path, id: Identity) -> (PathBuf, &'static str) {
    match id.role {
        Role::Node | Role::Recorder => (out.join(id.unit.to_string()), id.role.as_str()),
        Role::Hub | Role::Operator if id.unit.edition().is_first() => {
            (out.join(id.role.as_str()), id.role.as_str())
        }
        Role::Hub | Role::Operator => (
            out.join(format!("{}-{}", id.role.as_str(), id.unit)),
            id.role.as_str(),
        ),
    }
}

/// Issues everything a province needs, from its topology: the CA, a `node` and
/// a `recorder` certificate per unit of the province's tree, and a `hub` and an
/// `operator` certificate for the province. Layout (see [`province_files`]):
/// `out/ca.pem`, `out/ca.key`, `out/<unit>/{node,recorder}.{pem,key}`,
/// `out/hub/hub.{pem,key}`, `out/operator/operator.{pem,key}`.
///
/// Idempotent: an existing CA in `out` is reused and existing leaf files are
/// kept (after checking they carry the right identity and come from this CA);
/// a leaf missing either file is reissued, and so is one whose key usages do
/// not fit its role (a recorder or operator certificate with `serverAuth`,
/// from before roles were enforced): re-running this is how a province's
/// certificates are brought up to date.
pub fn issue_province(
    topology: &Topology,
    province: UnitId,
    out: &Path,
) -> Result<IssueReport, CertError> {
    if province.level() != Level::Province {
        return Err(CertError::NotAProvince(province));
    }
    if !topology.roots().contains(&province) {
        return Err(CertError::NotInTopology(province));
    }
    let name = topology.name(province).unwrap_or("");
    issue_units(name, &topology.subtree(province), province, out)
}

/// [`issue_province`] for today's `province` of a history: `node` and
/// `recorder` certificates for its units and for every unit of an older
/// listing whose place today lies in it (the old districts and communes,
/// and whole old provinces that merged into it, so their nodes can hand
/// over what they hold under this CA), and `hub` and `operator` for
/// `province` alone. With a history of one listing, or a province of an
/// older listing, it is [`issue_province`] on the units of every listing.
pub fn issue_history(
    history: &History,
    province: UnitId,
    out: &Path,
) -> Result<IssueReport, CertError> {
    if province.level() != Level::Province {
        return Err(CertError::NotAProvince(province));
    }
    if !history.topology().roots().contains(&province) {
        return Err(CertError::NotInTopology(province));
    }
    if history.is_retired(province) {
        return issue_province(history.topology(), province, out);
    }
    let cut = history
        .province(province)
        .map_err(|_| CertError::NotInTopology(province))?;
    let units: Vec<UnitId> = cut.topology().units().collect();
    let name = history.topology().name(province).unwrap_or("");
    issue_units(name, &units, province, out)
}

/// Issues `node` and `recorder` for `units` and `hub` and `operator` for
/// `province` from the CA in `out` (created, named after `province`, if
/// absent).
fn issue_units(
    name: &str,
    units: &[UnitId],
    province: UnitId,
    out: &Path,
) -> Result<IssueReport, CertError> {
    let mut report = IssueReport::default();
    let ca = match CertAuthority::load_if_present(out)? {
        Some(ca) => ca,
        None => {
            let ca = CertAuthority::create(province, name)?;
            ca.save(out)?;
            report.ca_created = true;
            ca
        }
    };
    let ca_path = out.join(CA_CERT_FILE);

    let mut ids: Vec<Identity> = units
        .iter()
        .flat_map(|&u| {
            [
                Identity::new(u, Role::Node),
                Identity::new(u, Role::Recorder),
            ]
        })
        .collect();
    ids.push(Identity::new(province, Role::Hub));
    ids.push(Identity::new(province, Role::Operator));

    for id in ids {
        let (dir, stem) = layout(out, id);
        let paths = CertPaths::new(&dir, stem);
        if paths.cert.exists() && paths.key.exists() {
            if ca.check_leaf(&paths.cert, &ca_path, id)? {
                report.kept.push(paths.cert);
            } else {
                let written = ca.issue(id)?.write(&dir, stem)?;
                report.reissued.push(written.cert.clone());
                report.created.push(written.cert);
            }
        } else {
            let written = ca.issue(id)?.write(&dir, stem)?;
            report.created.push(written.cert);
        }
    }
    Ok(report)
}

/// Writes `path` through a temporary file and a rename, so a crash never leaves
/// a truncated file; `secret` files get mode 0600 on unix.
pub(crate) fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), CertError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(&tmp).map_err(io_err("write", &tmp))?;
    #[cfg(unix)]
    if secret {
        // `mode` only applies when the file is created; a stale temporary may exist.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err("write", &tmp))?;
    }
    file.write_all(contents).map_err(io_err("write", &tmp))?;
    file.sync_all().map_err(io_err("write", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err("write", path))
}

/// The DER of the first certificate in a PEM string.
pub(crate) fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    match x509_parser::pem::parse_x509_pem(pem.as_bytes()) {
        Ok((_, pem)) if pem.label == "CERTIFICATE" => Ok(pem.contents),
        Ok((_, pem)) => Err(format!("holds a pem `{}`, not a certificate", pem.label)),
        Err(e) => Err(format!("no valid pem certificate: {e}")),
    }
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c)
        .map_err(|e| format!("not a valid x509 certificate: {e}"))
}

fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
}

fn authority_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
}

/// The subject of `cert` as an rcgen name, so leaves name their issuer with the
/// exact same encoding.
fn distinguished_name(cert: &X509Certificate<'_>) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    for rdn in cert.subject().iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            return Err("multi-valued or empty relative distinguished name".to_owned());
        };
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or("attribute type oid too large")?
            .collect();
        let value = attr.attr_value();
        let text = std::str::from_utf8(value.data).map_err(|e| e.to_string())?;
        let value = match value.header.tag() {
            Tag::Utf8String => DnValue::Utf8String(text.to_owned()),
            Tag::PrintableString => DnValue::PrintableString(
                PrintableString::try_from(text).map_err(|e| e.to_string())?,
            ),
            Tag::Ia5String => {
                DnValue::Ia5String(Ia5String::try_from(text).map_err(|e| e.to_string())?)
            }
            other => return Err(format!("unsupported string type {other}")),
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    Ok(dn)
}
