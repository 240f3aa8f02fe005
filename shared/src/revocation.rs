//! The province's certificate revocation list: checked (CA signature, issuer,
//! number) before it is believed, held in memory for the per-request checks,
//! and replaced only by a strictly newer list of the same CA.
//!
//! A list is valid until a newer one replaces it: its `nextUpdate` is
//! informational, so an old list never "expires" into revoking nothing.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use x509_parser::certificate::X509Certificate;

use crate::tls::{identity_of_cert_der, serial_of_der, trim_serial};

/// Why a revocation list was refused; the list held before is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    /// The bytes are not a DER (or PEM `X509 CRL`) revocation list, or it is cut short.
    #[error("is not a valid revocation list (truncated or corrupt): {0}")]
    Malformed(String),
    /// Signed in the name of another CA (e.g. another province).
    #[error("was issued by `{issuer}`, not by this province's ca `{ca}`")]
    ForeignIssuer {
        /// The issuer the list names.
        issuer: String,
        /// Our CA's subject.
        ca: String,
    },
    /// The signature does not verify with the province CA's key.
    #[error("has a signature that does not verify with the province ca's key")]
    BadSignature,
    /// No CRL number extension (or one too large).
    #[error("carries no usable crl number")]
    NoNumber,
    /// Older than the list held.
    #[error("has number {got}, older than the list held (number {held})")]
    Older {
        /// The number of the offered list.
        got: u64,
        /// The number of the list held.
        held: u64,
    },
    /// The same number as the list held but other content.
    #[error("has number {0} like the list held, but different content")]
    Conflict(u64),
    /// The CA certificate itself does not parse.
    #[error("cannot be checked: ca certificate: {0}")]
    Ca(String),
}

/// A verified revocation list.
#[derive(Clone, PartialEq, Eq)]
pub struct RevocationList {
    number: u64,
    serials: HashSet<Vec<u8>>,
    der: Vec<u8>,
}

impl fmt::Debug for RevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationList")
            .field("number", &self.number)
            .field("revoked", &self.serials.len())
            .finish_non_exhaustive()
    }
}

impl RevocationList {
    /// Parses `bytes` (DER, or PEM `X509 CRL`) and checks it was issued and
    /// signed by the CA `ca_der` and carries a CRL number.
    pub fn verify(bytes: &[u8], ca_der: &[u8]) -> Result<RevocationList, RevocationError> {
        let der = der_of(bytes)?;
        let ca = parse_ca(ca_der)?;
        let crl = match x509_parser::parse_x509_crl(&der) {
            Ok(([], crl)) => crl,
            Ok((rest, _)) => {
                return Err(RevocationError::Malformed(format!(
                    "{} trailing bytes",
                    rest.len()
                )));
            }
            Err(e) => return Err(RevocationError::Malformed(e.to_string())),
        };
        if crl.issuer().as_raw() != ca.subject().as_raw() {
            return Err(RevocationError::ForeignIssuer {
                issuer: crl.issuer().to_string(),
                ca: ca.subject().to_string(),
            });
        }
        crl.verify_signature(ca.public_key())
            .map_err(|_| RevocationError::BadSignature)?;
        let number = crl
            .crl_number()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or(RevocationError::NoNumber)?;
        let serials = crl
            .iter_revoked_certificates()
            .map(|r| trim_serial(r.raw_serial()))
            .collect();
        Ok(RevocationList {
            number,
            serials,
            der,
        })
    }

    /// The CRL number: higher is newer.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// How many certificates it revokes.
    pub fn len(&self) -> usize {
        self.serials.len()
    }

    /// Whether it revokes nothing.
    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
    }

    /// Whether the certificate with `serial` (as [`trim_serial`] gives it) is revoked.
    pub fn revokes(&self, serial: &[u8]) -> bool {
        self.serials.contains(&trim_serial(serial))
    }

    /// The list as signed by the CA, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// DER of a CRL given as DER or as PEM `X509 CRL`.
fn der_of(bytes: &[u8]) -> Result<Vec<u8>, RevocationError> {
    if bytes.starts_with(b"-----BEGIN") {
        return match x509_parser::pem::parse_x509_pem(bytes) {
            Ok((_, pem)) if pem.label == "X509 CRL" => Ok(pem.contents),
            Ok((_, pem)) => Err(RevocationError::Malformed(format!(
                "holds a pem `{}`, not `X509 CRL`",
                pem.label
            ))),
            Err(e) => Err(RevocationError::Malformed(e.to_string())),
        };
    }
    if bytes.is_empty() {
        return Err(RevocationError::Malformed("empty".to_owned()));
    }
    Ok(bytes.to_vec())
}

fn parse_ca(ca_der: &[u8]) -> Result<X509Certificate<'_>, RevocationError> {
    x509_parser::parse_x509_certificate(ca_der)
        .map(|(_, c)| c)
        .map_err(|e| RevocationError::Ca(e.to_string()))
}

/// What [`Revocations::offer`] did with a list that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// It is newer than what was held and is now the current list.
    Adopted(u64),
    /// The very list already held.
    AlreadyHeld(u64),
}

struct Inner {
    ca_der: Vec<u8>,
    current: RwLock<Option<Arc<RevocationList>>>,
    changed: watch::Sender<u64>,
}

/// The revocation list a process currently believes, shared by every check;
/// cheap to clone.
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocations")
            .field("number", &self.number())
            .finish_non_exhaustive()
    }
}

impl Revocations {
    /// No list yet; lists must be issued by the CA `ca_der`.
    pub fn new(ca_der: Vec<u8>) -> Revocations {
        Revocations {
            inner: Arc::new(Inner {
                ca_der,
                current: RwLock::new(None),
                changed: watch::channel(0).0,
            }),
        }
    }

    /// The list held, if any.
    pub fn current(&self) -> Option<Arc<RevocationList>> {
        match self.inner.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The number of the list held; 0 when none.
    pub fn number(&self) -> u64 {
        self.current().map_or(0, |l| l.number)
    }

    /// The number of the list revoking `serial`, if the list held does.
    pub fn revokes(&self, serial: &[u8]) -> Option<u64> {
        self.current()
            .filter(|l| l.revokes(serial))
            .map(|l| l.number)
    }

    /// Verifies `bytes` against the CA and adopts it when strictly newer than
    /// the list held. On any error the list held stays.
    pub fn offer(&self, bytes: &[u8]) -> Result<(Offered, Arc<RevocationList>), RevocationError> {
        self.offer_with(bytes, |_| {})
    }

    /// [`Revocations::offer`], calling `persist` with a newer list before it
    /// is put in force (so whoever sees it in force can rely on it being stored).
    pub fn offer_with(
        &self,
        bytes: &[u8],
        persist: impl FnOnce(&RevocationList),
    ) -> Result<(Offered, Arc<RevocationList>), RevocationError> {
        let list = Arc::new(RevocationList::verify(bytes, &self.inner.ca_der)?);
        let mut guard = match self.inner.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(held) = guard.as_ref() {
            if list.number < held.number {
                return Err(RevocationError::Older {
                    got: list.number,
                    held: held.number,
                });
            }
            if list.number == held.number {
                return if list.der == held.der {
                    Ok((Offered::AlreadyHeld(held.number), held.clone()))
                } else {
                    Err(RevocationError::Conflict(held.number))
                };
            }
        }
        persist(&list);
        *guard = Some(list.clone());
        drop(guard);
        self.inner.changed.send_replace(list.number);
        Ok((Offered::Adopted(list.number), list))
    }

    /// Wakes on every adopted list (the value is its number).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }
}

/// A tonic interceptor refusing any request whose client certificate is on
/// `list`: every service of a daemon is wrapped in one, so a revocation takes
/// effect on the next request, on new and existing connections alike.
pub fn refuse_revoked(
    list: Revocations,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    move |req: tonic::Request<()>| {
        if let Some(certs) = req.peer_certs()
            && let Some(leaf) = certs.first()
            && let Some(serial) = serial_of_der(leaf)
            && let Some(number) = list.revokes(&serial)
        {
            let who = identity_of_cert_der(leaf)
                .map(|id| id.to_string())
                .unwrap_or_else(|_| "unknown".to_owned());
            tracing::warn!(peer = %who, serial = %hex::encode(&serial), number, "revoked certificate refused");
            return Err(tonic::Status::permission_denied(format!(
                "certificate of {who} (serial {}) is revoked by revocation list {number}",
                hex::encode(&serial)
            )));
        }
        Ok(req)
    }
}
