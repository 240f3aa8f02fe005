//! `sync178-hub run` refuses a config or files it cannot trust before it
//! serves anything: exit 64 with the key or file named (unknown `[tls]`
//! keys, an endpoint without a host, a tokens file it cannot use, a private
//! key others may read). Run as a process, as operators and systemd run it.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sync178_node::certs::{issue_province, province_files};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;

/// How long a refusing hub may take to exit.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

const TOPOLOGY: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn
";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let topo = dir.path().join("topology.csv");
        std::fs::write(&topo, TOPOLOGY).expect("writes topology");
        let t = Topology::from_csv_path(&topo).unwrap_or_else(|e| panic!("{e}"));
        let p33: UnitId = "p33".parse().expect("unit");
        issue_province(&t, p33, &dir.path().join("pki")).unwrap_or_else(|e| panic!("certs: {e}"));
        std::fs::write(
            dir.path().join("web-tokens"),
            format!(
                "{}\n",
                sync178_hub::web::auth::token_line("lan", "a-token-0123456789")
            ),
        )
        .expect("writes tokens");
        Setup { dir }
    }

    fn key(&self) -> PathBuf {
        self.files().key
    }

    fn files(&self) -> sync178_shared::tls::TlsFiles {
        province_files(
            &self.dir.path().join("pki"),
            Identity::new("p33".parse().expect("unit"), Role::Hub),
        )
    }

    /// A config that starts: the hub and its web page on free loopback ports.
    fn good(&self) -> String {
        let f = self.files();
        format!(
            "data_dir = \"hub\"\ntopology = \"topology.csv\"\nlisten = \"127.0.0.1:0\"\n[node]\nendpoint = \"https://127.0.0.1:9\"\nunit = \"p33\"\n[tls]\nca = {:?}\ncert = {:?}\nkey = {:?}\n[web]\nlisten = \"127.0.0.1:0\"\ntokens_file = \"web-tokens\"\n",
            f.ca, f.cert, f.key
        )
    }

    fn run(&self, config: &str) -> Output {
        let path = self.dir.path().join("hub.toml");
        std::fs::write(&path, config).expect("writes config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync178-hub"))
            .args(["--lang", "en", "run", "--config"])
            .arg(&path)
            .env_remove("SYNC178_HUB_CONFIG")
            .env_remove("SYNC178_LANG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let deadline = Instant::now() + EXIT_WITHIN;
        loop {
            if child.try_wait().expect("waits").is_some() {
                return child.wait_with_output().expect("output");
            }
            if Instant::now() >= deadline {
                // Our own child, by its handle.
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "still running after {EXIT_WITHIN:?}: the bad config was accepted\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn refused(out: &Output, says: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    for w in says {
        assert!(stderr.contains(w), "{w:?} missing in:\n{stderr}");
    }
}

#[test]
fn unknown_tls_key_exits_64() {
    let s = Setup::new();
    let config = s.good().replace("[tls]\n", "[tls]\nkey_password = \"x\"\n");
    refused(&s.run(&config), &["unknown field `key_password`"]);
}

#[test]
fn endpoint_without_host_exits_64() {
    let s = Setup::new();
    let config = s.good().replace("https://127.0.0.1:9", "https://");
    refused(&s.run(&config), &["node.endpoint", "no host"]);
}

#[test]
fn bad_tokens_file_exits_64() {
    let s = Setup::new();
    // The token itself instead of its hash.
    std::fs::write(s.dir.path().join("web-tokens"), "lan:secret\n").expect("writes");
    refused(&s.run(&s.good()), &["web.tokens_file", "line 1"]);
    // No such file.
    let config = s.good().replace("\"web-tokens\"", "\"missing-tokens\"");
    refused(&s.run(&config), &["web.tokens_file", "missing-tokens"]);
}

#[cfg(unix)]
#[test]
fn key_mode_0644_refused() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let key = s.key();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let shown = key.display().to_string();
    refused(
        &s.run(&s.good()),
        &[&shown, "0644", &format!("chmod 600 {shown}")],
    );
}
