//! The client side of every sync178 connection: a rustls configuration whose
//! server-certificate verifier checks, beyond the province CA's chain and the
//! DNS name, that the server is exactly the identity the caller expects
//! (`sync178://node/<unit>`) and that its certificate is not revoked.
//!
//! tonic's own `ClientTlsConfig` cannot take a custom verifier, so a
//! [`Dialer`] does the TLS itself in a connector and hands tonic the
//! encrypted stream (tonic then sees a plain `http://` endpoint).

use std::fmt;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{VerifierBuilderError, WebPkiServerVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::codegen::http::Uri;
use tonic::transport::{Channel, Endpoint};

use crate::revocation::Revocations;
use crate::tls::{Identity, LoadedTls, Role, dns_name, identity_of_cert_der, serial_of_der};

/// Why a [`Dialer`] could not be built or an endpoint is unusable.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// Our own certificate, key or CA could not be turned into a rustls config.
    #[error("tls: {0}")]
    Config(String),
    /// The endpoint is not an `https://host:port` URL.
    #[error("endpoint `{endpoint}` {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// How a certificate is named in messages: "the node of d008", "a recorder
/// certificate of d008".
pub fn describe(id: Identity) -> String {
    match id.role {
        Role::Node => format!("the node of {}", id.unit),
        Role::Hub => format!("the hub of {}", id.unit),
        Role::Recorder => format!("a recorder certificate of {}", id.unit),
        Role::Operator => format!("an operator certificate of {}", id.unit),
    }
}

/// A server certificate that is not the one the client dialled for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerRefused {
    /// The certificate names another identity (role or unit).
    #[error("server certificate is {}, expected {}", describe(*.found), describe(*.expected))]
    WrongIdentity {
        /// What the certificate carries.
        found: Identity,
        /// What the client expected.
        expected: Identity,
    },
    /// The certificate carries no usable sync178 identity.
    #[error("server certificate {problem}, expected {}", describe(*.expected))]
    NoIdentity {
        /// Why the identity is unusable.
        problem: String,
        /// What the client expected.
        expected: Identity,
    },
    /// The certificate is on the province's revocation list.
    #[error("server certificate of {} (serial {serial}) is revoked by revocation list {number}", describe(*.found))]
    Revoked {
        /// The (verified) identity of the server.
        found: Identity,
        /// The certificate serial, hex.
        serial: String,
        /// The number of the list that revokes it.
        number: u64,
    },
}

fn refuse(e: ServerRefused) -> rustls::Error {
    rustls::Error::Other(rustls::OtherError(Arc::new(e)))
}

/// Verifies a server certificate: identity first (so a wrong role is named
/// even when the certificate lacks the server usage), then webpki (chain to
/// the province CA, validity, `serverAuth`, DNS name), then revocation.
struct IdentityVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expected: Identity,
    revocations: Option<Revocations>,
}

impl fmt::Debug for IdentityVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityVerifier")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for IdentityVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let expected = self.expected;
        let found = identity_of_cert_der(end_entity).map_err(|e| {
            refuse(ServerRefused::NoIdentity {
                problem: e.to_string().trim_start_matches("certificate ").to_owned(),
                expected,
            })
        })?;
        if found != expected {
            return Err(refuse(ServerRefused::WrongIdentity { found, expected }));
        }
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if let Some(revocations) = &self.revocations
            && let Some(serial) = serial_of_der(end_entity)
            && let Some(number) = revocations.revokes(&serial)
        {
            return Err(refuse(ServerRefused::Revoked {
                found,
                serial: hex::encode(&serial),
                number,
            }));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Connects to one expected server identity over mutual TLS.
#[derive(Clone)]
pub struct Dialer {
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
    expected: Identity,
}

impl fmt::Debug for Dialer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialer")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl LoadedTls {
    /// A dialer that presents our certificate and accepts only `expected`
    /// behind the endpoint (and, with `revocations`, only if not revoked).
    pub fn dialer(
        &self,
        expected: Identity,
        revocations: Option<Revocations>,
    ) -> Result<Dialer, DialError> {
        crate::tls::init_crypto();
        let cfg = |e: &dyn fmt::Display| DialError::Config(e.to_string());
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(self.ca_pem()) {
            roots.add(ca.map_err(|e| cfg(&e))?).map_err(|e| cfg(&e))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e: VerifierBuilderError| cfg(&e))?;
        let chain = CertificateDer::pem_slice_iter(self.cert_pem())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| cfg(&e))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem()).map_err(|e| cfg(&e))?;
        let verifier = IdentityVerifier {
            inner,
            expected,
            revocations,
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| cfg(&e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(chain, key)
            .map_err(|e| cfg(&e))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        let server_name = ServerName::try_from(dns_name(expected.unit)).map_err(|e| cfg(&e))?;
        Ok(Dialer {
            config: Arc::new(config),
            server_name,
            expected,
        })
    }
}

impl Dialer {
    /// The identity this dialer accepts.
    pub fn expected(&self) -> Identity {
        self.expected
    }

    /// A tonic endpoint for `url` (`https://host:port`), to be connected with
    /// [`Dialer::connect`] or [`Dialer::connect_lazy`].
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, DialError> {
        let bad = |reason: &str| DialError::Endpoint {
            endpoint: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("is not a url"))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad("must start with https://"));
        }
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .ok_or_else(|| bad("has no host"))?;
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        // The TLS is ours (in the connector); tonic sees plain HTTP/2 over it.
        Endpoint::from_shared(format!("http://{authority}{path}"))
            .map_err(|e| bad(&format!("is not a url: {e}")))
    }

    /// Connects `endpoint` (from [`Dialer::endpoint`]) now.
    pub async fn connect(&self, endpoint: Endpoint) -> Result<Channel, tonic::transport::Error> {
        endpoint.connect_with_connector(self.connector()).await
    }

    /// A channel to `endpoint` that connects on first use.
    pub fn connect_lazy(&self, endpoint: Endpoint) -> Channel {
        endpoint.connect_with_connector_lazy(self.connector())
    }

    fn connector(
        &self,
    ) -> impl tower::Service<
        Uri,
        Response = TokioIo<TlsStream<TcpStream>>,
        Error = std::io::Error,
        Future = impl Future<Output = std::io::Result<TokioIo<TlsStream<TcpStream>>>> + Send,
    > + Send
    + Clone
    + 'static {
        let connector = TlsConnector::from(self.config.clone());
        let name = self.server_name.clone();
        tower::service_fn(move |uri: Uri| {
            let connector = connector.clone();
            let name = name.clone();
            async move {
                let host = uri
                    .host()
                    .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
                    .ok_or_else(|| std::io::Error::other("endpoint has no host"))?;
                let port = uri.port_u16().unwrap_or(443);
                let tcp = TcpStream::connect((host.as_str(), port)).await?;
                tcp.set_nodelay(true)?;
                let tls = connector.connect(name, tcp).await?;
                Ok(TokioIo::new(tls))
            }
        })
    }
}
