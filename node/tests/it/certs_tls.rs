//! Certificates issued by `certs` exercised over real mutual TLS with a tiny tonic `Admin` service.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sync178_node::certs::{CertAuthority, CertError, issue_province, province_files};
use sync178_shared::proto::v1::admin_client::AdminClient;
use sync178_shared::proto::v1::admin_server::{Admin, AdminServer};
use sync178_shared::proto::v1::{StatusRequest, StatusResponse};
use sync178_shared::tls::{
    Identity, LoadedTls, Role, TlsError, dns_name, identity_of_cert_der, peer_identity,
};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Server};

/// A small 2024-format topology: Hưng Yên with two districts and three communes.
const TOPOLOGY: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11953,Phường Hiến Nam
33,Tỉnh Hưng Yên,329,Huyện Ân Thi,12142,Thị trấn Ân Thi
";

/// Upper bound on any one connection attempt, so a regression fails instead of hanging.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

fn unit(s: &str) -> UnitId {
    s.parse().unwrap_or_else(|e| panic!("bad unit id {s}: {e}"))
}

fn node(s: &str) -> Identity {
    Identity::new(unit(s), Role::Node)
}

/// A province PKI issued into a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn issue() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let topology = topology(dir.path());
        let out = dir.path().join("pki");
        issue_province(&topology, unit("p33"), &out).expect("issue province");
        Pki { dir }
    }

    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("pki")
    }

    fn load(&self, id: Identity) -> LoadedTls {
        province_files(&self.out(), id)
            .load()
            .unwrap_or_else(|e| panic!("load {id}: {e}"))
    }
}

fn topology(dir: &Path) -> Topology {
    let path = dir.join("topology.csv");
    std::fs::write(&path, TOPOLOGY).expect("write topology");
    Topology::from_csv_path(&path).unwrap_or_else(|e| panic!("topology: {e}"))
}

/// `Admin.Status` answering with the caller's verified identity URI.
#[derive(Default)]
struct WhoAmI {
    calls: AtomicUsize,
}

#[tonic::async_trait]
impl Admin for WhoAmI {
    async fn status(
        &self,
        req: tonic::Request<StatusRequest>,
    ) -> Result<tonic::Response<StatusResponse>, tonic::Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let peer = peer_identity(&req)?;
        Ok(tonic::Response::new(StatusResponse {
            unit: peer.uri(),
            ..Default::default()
        }))
    }
    async fn verify(
        &self,
        _req: tonic::Request<sync178_shared::proto::v1::VerifyRequest>,
    ) -> Result<tonic::Response<sync178_shared::proto::v1::VerifyResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not part of this test"))
    }

    type BackupStream = tokio_stream::wrappers::ReceiverStream<
        Result<sync178_shared::proto::v1::BackupChunk, tonic::Status>,
    >;

    async fn backup(
        &self,
        _req: tonic::Request<sync178_shared::proto::v1::BackupRequest>,
    ) -> Result<tonic::Response<Self::BackupStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not part of this test"))
    }
}

/// A running TLS server on 127.0.0.1 with an ephemeral port.
struct TestServer {
    port: u16,
    service: Arc<WhoAmI>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl TestServer {
    async fn start(tls: &LoadedTls) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let service = Arc::new(WhoAmI::default());
        let (tx, rx) = oneshot::channel::<()>();
        let router = Server::builder()
            .tls_config(tls.server_config())
            .expect("server tls config")
            .add_service(AdminServer::from_arc(service.clone()));
        let task = tokio::spawn(router.serve_with_incoming_shutdown(
            TcpListenerStream::new(listener),
            async {
                let _ = rx.await;
            },
        ));
        TestServer {
            port,
            service,
            shutdown: Some(tx),
            task,
        }
    }

    fn calls(&self) -> usize {
        self.service.calls.load(Ordering::SeqCst)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = tokio::time::timeout(CALL_TIMEOUT, &mut self.task)
            .await
            .expect("server stops");
        served.expect("server task").expect("server ran");
    }
}

/// Connects with `cfg` and calls `Admin.Status`; the identity URI the server saw, or why it failed.
async fn call(port: u16, cfg: ClientTlsConfig) -> Result<String, String> {
    let attempt = async {
        let channel = Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
            .map_err(|e| format!("endpoint: {e}"))?
            .tls_config(cfg)
            .map_err(|e| format!("client tls config: {e}"))?
            .connect()
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        let resp = AdminClient::new(channel)
            .status(StatusRequest {})
            .await
            .map_err(|e| format!("status: {e:?}"))?;
        Ok(resp.into_inner().unit)
    };
    tokio::time::timeout(CALL_TIMEOUT, attempt)
        .await
        .map_err(|_| "timed out".to_owned())?
}

/// Dials `port` as `client`, accepting only `expected` behind it, and calls
/// `Admin.Status`; the identity URI the server saw, or why it failed.
async fn dial(port: u16, client: &LoadedTls, expected: Identity) -> Result<String, String> {
    let attempt = async {
        let dialer = client
            .dialer(expected, None)
            .map_err(|e| format!("dialer: {e}"))?;
        let ep = dialer
            .endpoint(&format!("https://127.0.0.1:{port}"))
            .map_err(|e| format!("endpoint: {e}"))?;
        let channel = dialer
            .connect(ep)
            .await
            .map_err(|e| format!("connect: {}", chain(&e)))?;
        let resp = AdminClient::new(channel)
            .status(StatusRequest {})
            .await
            .map_err(|e| format!("status: {e:?}"))?;
        Ok(resp.into_inner().unit)
    };
    tokio::time::timeout(CALL_TIMEOUT, attempt)
        .await
        .map_err(|_| "timed out".to_owned())?
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Whether a failed call was the server refusing the handshake with `alert`; a
/// reset is accepted too, since the client may write before it reads the alert.
fn refused_with(err: &str, alert: &str) -> bool {
    err.contains(&format!("received fatal alert: {alert}"))
        || err.contains("ConnectionReset")
        || err.contains("BrokenPipe")
}

#[tokio::test]
async fn commune_node_is_identified_by_its_parent() {
    let pki = Pki::issue();
    let server = TestServer::start(&pki.load(node("d323"))).await;

    let client = pki.load(node("c11950"));
    assert_eq!(client.identity, node("c11950"));
    let seen = dial(server.port, &client, node("d323")).await;
    assert_eq!(seen.as_deref(), Ok("sync178://node/c11950"));
    assert_eq!(
        Identity::from_uri(&seen.unwrap_or_default()),
        Some(node("c11950"))
    );

    // Another role of another unit on the same server is told apart.
    let recorder = pki.load(Identity::new(unit("c11953"), Role::Recorder));
    let seen = dial(server.port, &recorder, node("d323")).await;
    assert_eq!(seen.as_deref(), Ok("sync178://recorder/c11953"));

    assert_eq!(server.calls(), 2);
    server.stop().await;
}

#[tokio::test]
async fn client_from_another_province_ca_is_refused() {
    let pki = Pki::issue();
    let server = TestServer::start(&pki.load(node("d323"))).await;

    let foreign_ca = CertAuthority::create(unit("p22"), "Tỉnh Quảng Ninh").expect("foreign ca");
    let foreign = foreign_ca.issue(node("c06649")).expect("foreign leaf");
    // Trust our CA (so the client gets as far as presenting its certificate),
    // but present the foreign one.
    let ca_pem = std::fs::read(pki.out().join("ca.pem")).expect("read ca");
    let cfg = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name(dns_name(unit("d323")))
        .identity(tonic::transport::Identity::from_pem(
            &foreign.cert_pem,
            &foreign.key_pem,
        ));
    let err = call(server.port, cfg)
        .await
        .expect_err("foreign client was served");
    assert!(refused_with(&err, "UnknownCA"), "unexpected failure: {err}");
    assert_eq!(server.calls(), 0);

    // `TlsFiles::load` refuses the same mix up front.
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = foreign.write(dir.path(), "node").expect("write foreign");
    let err = paths.with_ca(pki.out().join("ca.pem")).load().err();
    assert!(matches!(err, Some(TlsError::WrongIssuer { .. })), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let pki = Pki::issue();
    let server = TestServer::start(&pki.load(node("d323"))).await;

    let ca = pki.load(node("c11950")).ca_certificate();
    let cfg = ClientTlsConfig::new()
        .ca_certificate(ca)
        .domain_name(dns_name(unit("d323")));
    let err = call(server.port, cfg)
        .await
        .expect_err("anonymous client was served");
    assert!(
        refused_with(&err, "CertificateRequired"),
        "unexpected failure: {err}"
    );
    assert_eq!(server.calls(), 0);
    server.stop().await;
}

#[tokio::test]
async fn client_verifies_the_server_unit() {
    let pki = Pki::issue();
    let server = TestServer::start(&pki.load(node("d323"))).await;
    let client = pki.load(node("c12142"));

    // c12142's parent is d329; a server presenting d323 must not be accepted.
    let result = dial(server.port, &client, node("d329")).await;
    let err = result.expect_err("client accepted the wrong server");
    assert!(
        err.contains("server certificate is the node of d323, expected the node of d329"),
        "unexpected failure: {err}"
    );
    assert_eq!(server.calls(), 0);

    // The right expectation against the same server works.
    let seen = dial(server.port, &client, node("d323")).await;
    assert_eq!(seen.as_deref(), Ok("sync178://node/c12142"));
    server.stop().await;
}

#[tokio::test]
async fn certificates_of_other_roles_cannot_serve() {
    let pki = Pki::issue();
    let client = pki.load(node("c11950"));
    for (id, found) in [
        (
            Identity::new(unit("d323"), Role::Recorder),
            "a recorder certificate of d323",
        ),
        (
            Identity::new(unit("p33"), Role::Operator),
            "an operator certificate of p33",
        ),
        (Identity::new(unit("p33"), Role::Hub), "the hub of p33"),
    ] {
        let server = TestServer::start(&pki.load(id)).await;
        let expected = if id.role == Role::Hub {
            node("p33")
        } else {
            node(&id.unit.to_string())
        };
        let err = dial(server.port, &client, expected)
            .await
            .expect_err("a certificate of another role served");
        let want = format!(
            "server certificate is {found}, expected the node of {}",
            expected.unit
        );
        assert!(err.contains(&want), "{id}: unexpected failure: {err}");
        assert_eq!(server.calls(), 0, "{id}");
        server.stop().await;
    }

    // The hub is reached as the hub.
    let operator = pki.load(Identity::new(unit("p33"), Role::Operator));
    let hub = TestServer::start(&pki.load(Identity::new(unit("p33"), Role::Hub))).await;
    let seen = dial(hub.port, &operator, Identity::new(unit("p33"), Role::Hub)).await;
    assert_eq!(seen.as_deref(), Ok("sync178://operator/p33"));
    hub.stop().await;
}

#[test]
fn only_serving_roles_carry_server_auth() {
    let pki = Pki::issue();
    for (id, serves) in [
        (node("c11950"), true),
        (Identity::new(unit("p33"), Role::Hub), true),
        (Identity::new(unit("c11950"), Role::Recorder), false),
        (Identity::new(unit("p33"), Role::Operator), false),
    ] {
        let pem = std::fs::read(province_files(&pki.out(), id).cert).expect("read cert");
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("pem");
        let cert = pem.parse_x509().expect("x509");
        let eku = cert
            .extended_key_usage()
            .expect("eku parses")
            .expect("eku present")
            .value;
        assert_eq!(eku.server_auth, serves, "{id}: serverAuth");
        assert!(eku.client_auth, "{id}: clientAuth");
        let dns = cert
            .subject_alternative_name()
            .expect("san parses")
            .expect("san present")
            .value
            .general_names
            .iter()
            .any(|n| matches!(n, x509_parser::extensions::GeneralName::DNSName(_)));
        assert_eq!(dns, serves, "{id}: server names");
    }
}

#[test]
fn issue_province_writes_the_layout_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topology = topology(dir.path());
    let out = dir.path().join("pki");

    let first = issue_province(&topology, unit("p33"), &out).expect("first run");
    assert!(first.ca_created);
    // 6 units × (node, recorder) + hub + operator.
    assert_eq!(first.created.len(), 14, "{first:?}");
    assert!(first.kept.is_empty());

    let mut expected = vec!["ca.pem".to_owned(), "ca.key".to_owned()];
    for u in ["p33", "d323", "d329", "c11950", "c11953", "c12142"] {
        for f in ["node.pem", "node.key", "recorder.pem", "recorder.key"] {
            expected.push(format!("{u}/{f}"));
        }
    }
    for f in [
        "hub/hub.pem",
        "hub/hub.key",
        "operator/operator.pem",
        "operator/operator.key",
    ] {
        expected.push(f.to_owned());
    }
    for f in &expected {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in expected.iter().filter(|f| f.ends_with(".key")) {
            let mode = std::fs::metadata(out.join(f))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f} has mode {mode:o}");
        }
    }

    let ca_before = std::fs::read(out.join("ca.pem")).expect("read ca");
    let leaf_before = std::fs::read(out.join("c11950/node.pem")).expect("read leaf");

    // A lost key makes that one certificate be reissued; everything else is kept.
    std::fs::remove_file(out.join("c11953/recorder.key")).expect("remove key");
    let second = issue_province(&topology, unit("p33"), &out).expect("second run");
    assert!(!second.ca_created);
    assert_eq!(second.created, vec![out.join("c11953/recorder.pem")]);
    assert_eq!(second.kept.len(), 13);
    assert_eq!(
        std::fs::read(out.join("ca.pem")).expect("read ca"),
        ca_before
    );
    assert_eq!(
        std::fs::read(out.join("c11950/node.pem")).expect("read leaf"),
        leaf_before
    );

    let third = issue_province(&topology, unit("p33"), &out).expect("third run");
    assert!(
        third.created.is_empty() && third.kept.len() == 14,
        "{third}"
    );

    // Every file set loads and carries the identity its place in the layout says.
    for u in ["p33", "d323", "d329", "c11950", "c11953", "c12142"] {
        for role in [Role::Node, Role::Recorder] {
            let id = Identity::new(unit(u), role);
            let loaded = province_files(&out, id).load().expect("load");
            assert_eq!(loaded.identity, id);
        }
    }
    for role in [Role::Hub, Role::Operator] {
        let id = Identity::new(unit("p33"), role);
        assert_eq!(province_files(&out, id).load().expect("load").identity, id);
    }

    // The saved CA loads back and still issues certificates the tree accepts.
    let ca = CertAuthority::load(&out).expect("load ca");
    assert_eq!(ca.ca_pem().as_bytes(), ca_before.as_slice());
    let extra = ca.issue(node("c11950")).expect("issue");
    let paths = extra
        .write(&dir.path().join("extra"), "node")
        .expect("write");
    let loaded = paths
        .with_ca(out.join("ca.pem"))
        .load()
        .expect("load extra");
    assert_eq!(loaded.identity, node("c11950"));
}

#[test]
fn issue_province_refuses_stale_or_wrong_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topology = topology(dir.path());
    let out = dir.path().join("pki");

    assert!(matches!(
        issue_province(&topology, unit("p22"), &out),
        Err(CertError::NotInTopology(_))
    ));
    assert!(matches!(
        issue_province(&topology, unit("d323"), &out),
        Err(CertError::NotAProvince(_))
    ));

    issue_province(&topology, unit("p33"), &out).expect("first run");

    // A leaf from another CA is not silently kept.
    let other = CertAuthority::create(unit("p33"), "Tỉnh Hưng Yên").expect("other ca");
    other
        .issue(node("c11950"))
        .expect("issue")
        .write(&out.join("c11950"), "node")
        .expect("write");
    let err = issue_province(&topology, unit("p33"), &out).err();
    assert!(
        matches!(err, Some(CertError::ForeignLeaf { .. })),
        "{err:?}"
    );

    // Nor is a leaf carrying another identity.
    let ca = CertAuthority::load(&out).expect("load ca");
    ca.issue(node("c11953"))
        .expect("issue")
        .write(&out.join("c11950"), "node")
        .expect("write");
    let err = issue_province(&topology, unit("p33"), &out)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("c11950/node.pem carries identity sync178://node/c11953"),
        "{err}"
    );

    // A CA with its key missing is an error, never silently replaced.
    std::fs::remove_file(out.join("ca.key")).expect("remove ca key");
    assert!(matches!(
        issue_province(&topology, unit("p33"), &out),
        Err(CertError::IncompleteCa { .. })
    ));
    assert!(matches!(ca.save(&out), Err(CertError::CaExists(_))));
}

#[test]
fn load_names_the_file_at_fault() {
    let pki = Pki::issue();
    let out = pki.out();

    let mut files = province_files(&out, node("c11950"));
    files.key = out.join("c11953/node.key");
    let err = files
        .load()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        err,
        format!(
            "private key {} does not match certificate {}",
            out.join("c11953/node.key").display(),
            out.join("c11950/node.pem").display()
        )
    );

    let mut files = province_files(&out, node("c11950"));
    files.cert = out.join("nope.pem");
    let err = files
        .load()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(&format!(
            "cannot read certificate {}: ",
            files.cert.display()
        )),
        "{err}"
    );

    // The CA certificate carries no identity, so it cannot be used as a leaf.
    let mut files = province_files(&out, node("c11950"));
    files.cert = out.join("ca.pem");
    files.key = out.join("ca.key");
    let err = files
        .load()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        err,
        format!(
            "certificate {} carries no sync178 identity",
            files.cert.display()
        )
    );
}

#[test]
fn identity_needs_exactly_one_well_formed_uri() {
    let key = rcgen::KeyPair::generate().expect("key");
    let der_with = |uris: &[&str]| {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        for uri in uris {
            params.subject_alt_names.push(rcgen::SanType::URI(
                rcgen::string::Ia5String::try_from(*uri).expect("ia5"),
            ));
        }
        params
            .self_signed(&key)
            .expect("self signed")
            .der()
            .to_vec()
    };

    assert_eq!(
        identity_of_cert_der(&der_with(&["sync178://hub/p33", "https://example.org/x"]))
            .expect("one identity"),
        Identity::new(unit("p33"), Role::Hub)
    );
    let msg = |der: Vec<u8>| identity_of_cert_der(&der).err().map(|e| e.to_string());
    assert_eq!(
        msg(der_with(&[])).as_deref(),
        Some("certificate carries no sync178 identity")
    );
    assert_eq!(
        msg(der_with(&["sync178://node/c11950", "sync178://hub/p33"])).as_deref(),
        Some("certificate carries 2 sync178 identities, expected exactly one")
    );
    assert_eq!(
        msg(der_with(&["sync178://admin/p33"])).as_deref(),
        Some("certificate carries a malformed sync178 identity `sync178://admin/p33`")
    );
}
