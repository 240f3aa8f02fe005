//! `certs revoke`: the province CA revokes a certificate by adding it to the
//! province's revocation list (a CRL signed by the CA, with a number one
//! higher than the last), kept in the CA directory as `revocations.crl`.
//!
//! The list is then given to the province node (copied to its data directory
//! as `revocations.incoming.crl`) and flows down the tree from there.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use sync178_shared::revocation::RevocationList;
use sync178_shared::tls::{Identity, serial_of_der, trim_serial};
use time::{Duration, OffsetDateTime};

use crate::certs::{CA_CERT_FILE, CertAuthority, CertError, io_err, layout, pem_der, write_file};
use crate::i18n::{Lang, Msg, t};

/// The province's revocation list in a CA directory.
pub const CRL_FILE: &str = "revocations.crl";

/// How long `nextUpdate` is set ahead; informational only (a list is in
/// force until a newer one replaces it).
const CRL_VALIDITY: Duration = Duration::days(3653);

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The certificate issued for this identity in the CA directory.
    Identity(Identity),
    /// A certificate serial number (big-endian bytes).
    Serial(Vec<u8>),
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeReport {
    /// The serial revoked, hex.
    pub serial: String,
    /// The number of the list written (or held, when already revoked).
    pub number: u64,
    /// How many certificates the list revokes.
    pub revoked: usize,
    /// Whether the serial was already on the list (then nothing changed).
    pub already: bool,
    /// The list file.
    pub crl: PathBuf,
    /// Where the revoked certificate's files were moved, so `certs` issues
    /// a fresh one for the identity.
    pub moved: Vec<PathBuf>,
}

impl fmt::Display for RevokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already {
            write!(
                f,
                "serial {} was already revoked by list {} ({})",
                self.serial,
                self.number,
                self.crl.display()
            )
        } else {
            write!(
                f,
                "serial {} revoked: list {} revokes {} certificates ({})",
                self.serial,
                self.number,
                self.revoked,
                self.crl.display()
            )
        }
    }
}

/// Parses a serial given in hex (colons allowed, as `openssl x509 -serial` prints).
pub fn parse_serial(s: &str) -> Result<Vec<u8>, String> {
    let clean: String = s
        .trim()
        .trim_start_matches("serial=")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let bytes = hex::decode(&clean).map_err(|e| format!("serial `{s}` is not hex: {e}"))?;
    let serial = trim_serial(&bytes);
    if serial.is_empty() {
        return Err(format!("serial `{s}` is zero"));
    }
    Ok(serial)
}

/// Adds `target` to the revocation list of the CA in `ca_dir` and writes the
/// list, signed, numbered one higher than before, to `ca_dir/revocations.crl`.
pub fn revoke(ca_dir: &Path, target: &Target) -> Result<RevokeReport, CertError> {
    let ca = CertAuthority::load(ca_dir)?;
    let ca_path = ca_dir.join(CA_CERT_FILE);
    let ca_der = pem_der(ca.ca_pem()).map_err(|reason| CertError::BadCa {
        path: ca_path.clone(),
        reason,
    })?;
    let mut cert_files = Vec::new();
    let serial = match target {
        Target::Serial(s) => trim_serial(s),
        Target::Identity(id) => {
            let (dir, stem) = layout(ca_dir, *id);
            let cert = dir.join(format!("{stem}.pem"));
            let pem = fs::read_to_string(&cert).map_err(io_err("read", &cert))?;
            let der = pem_der(&pem).map_err(|reason| CertError::WrongLeaf {
                path: cert.clone(),
                expected: id.uri(),
                found: reason,
            })?;
            cert_files.push(cert.clone());
            cert_files.push(dir.join(format!("{stem}.key")));
            serial_of_der(&der).ok_or_else(|| CertError::WrongLeaf {
                path: cert,
                expected: id.uri(),
                found: "not a certificate".to_owned(),
            })?
        }
    };
    let crl_path = ca_dir.join(CRL_FILE);
    let (number, mut entries) = read_list(&crl_path, &ca_der)?;
    let hex_serial = hex::encode(&serial);
    if entries.iter().any(|(s, _)| *s == serial) {
        return Ok(RevokeReport {
            serial: hex_serial,
            number,
            revoked: entries.len(),
            already: true,
            crl: crl_path,
            moved: Vec::new(),
        });
    }
    let now = OffsetDateTime::now_utc();
    entries.push((serial, now));
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + CRL_VALIDITY,
        crl_number: SerialNumber::from(number + 1),
        issuing_distribution_point: None,
        revoked_certs: entries
            .iter()
            .map(|(s, at)| RevokedCertParams {
                serial_number: SerialNumber::from_slice(s),
                revocation_time: *at,
                reason_code: Some(RevocationReason::Unspecified),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let generate = |error| CertError::Generate {
        what: format!("revocation list {}", number + 1),
        error,
    };
    let crl = params.signed_by(ca.issuer()).map_err(generate)?;
    let pem = crl.pem().map_err(generate)?;
    write_file(&crl_path, pem.as_bytes(), false)?;
    let mut moved = Vec::new();
    for file in cert_files {
        if file.exists() {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let to = file.with_file_name(format!("revoked-{hex_serial}-{name}"));
            fs::rename(&file, &to).map_err(io_err("move", &file))?;
            moved.push(to);
        }
    }
    Ok(RevokeReport {
        serial: hex_serial,
        number: number + 1,
        revoked: entries.len(),
        already: false,
        crl: crl_path,
        moved,
    })
}

/// A revoked serial and when it was revoked.
type Entry = (Vec<u8>, OffsetDateTime);

/// The number and entries (serial, revocation time) of the list at `path`;
/// `(0, [])` when there is none yet. A list that does not verify is an error.
fn read_list(path: &Path, ca_der: &[u8]) -> Result<(u64, Vec<Entry>), CertError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, Vec::new())),
        Err(e) => return Err(io_err("read", path)(e)),
    };
    let bad = |reason: String| CertError::BadCa {
        path: path.to_owned(),
        reason,
    };
    let list = RevocationList::verify(&bytes, ca_der)
        .map_err(|e| bad(format!("the revocation list {e}")))?;
    let parsed = x509_parser::parse_x509_crl(list.der())
        .map_err(|e| bad(format!("the revocation list: {e}")))?
        .1;
    let mut entries = Vec::new();
    for r in parsed.iter_revoked_certificates() {
        let at = OffsetDateTime::from_unix_timestamp(r.revocation_date.timestamp())
            .map_err(|e| bad(format!("the revocation list: revocation date: {e}")))?;
        entries.push((trim_serial(r.raw_serial()), at));
    }
    Ok((list.number(), entries))
}

/// What `certs revoke` prints.
pub fn render(report: &RevokeReport, lang: Lang) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let what = if report.already {
        Msg::AlreadyRevoked
    } else {
        Msg::Revoked
    };
    let _ = writeln!(out, "{}: {}", t(lang, what), report.serial);
    let _ = writeln!(
        out,
        "{}: {} ({})",
        t(lang, Msg::RevocationList),
        report.number,
        report.crl.display()
    );
    for p in &report.moved {
        let _ = writeln!(out, "{}: {}", t(lang, Msg::RevokedFilesMoved), p.display());
    }
    let _ = writeln!(out, "{}", t(lang, Msg::RevocationNext));
    out
}
