//! `sync178-node run` refuses a config or files it cannot trust, before it
//! serves anything: exit 64 with the key or file named. Run as a process,
//! as operators and systemd run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sync178_node::certs::{issue_province, province_files};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;

/// How long a refusing node may take to exit.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

const TOPOLOGY: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn
";

fn unit(s: &str) -> UnitId {
    s.parse().unwrap_or_else(|e| panic!("bad unit id {s}: {e}"))
}

/// A commune's files: topology, certificates, and a good config's text.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let topo = dir.path().join("topology.csv");
        std::fs::write(&topo, TOPOLOGY).expect("writes topology");
        let t = Topology::from_csv_path(&topo).unwrap_or_else(|e| panic!("{e}"));
        issue_province(&t, unit("p33"), &dir.path().join("pki"))
            .unwrap_or_else(|e| panic!("certs: {e}"));
        Setup { dir }
    }

    fn key(&self) -> PathBuf {
        province_files(
            &self.dir.path().join("pki"),
            Identity::new(unit("c11950"), Role::Node),
        )
        .key
    }

    /// A config that starts: the commune's node on a free loopback port.
    fn good(&self) -> String {
        let f = province_files(
            &self.dir.path().join("pki"),
            Identity::new(unit("c11950"), Role::Node),
        );
        format!(
            "unit = \"c11950\"\ntopology = \"topology.csv\"\ndata_dir = \"data\"\nlisten = \"127.0.0.1:0\"\n[parent]\nendpoint = \"https://127.0.0.1:9\"\n[tls]\nca = {:?}\ncert = {:?}\nkey = {:?}\n",
            f.ca, f.cert, f.key
        )
    }

    /// Runs the node with `config`; it must exit by itself within [`EXIT_WITHIN`].
    fn run(&self, config: &str) -> Output {
        let path = self.dir.path().join("node.toml");
        std::fs::write(&path, config).expect("writes config");
        run_to_exit(
            Command::new(env!("CARGO_BIN_EXE_sync178-node"))
                .args(["--lang", "en", "run", "--config"])
                .arg(&path),
        )
    }
}

/// Runs `cmd` to its exit, or kills it after [`EXIT_WITHIN`] and fails.
fn run_to_exit(cmd: &mut Command) -> Output {
    cmd.env_remove("SYNC178_NODE_CONFIG")
        .env_remove("SYNC178_LANG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("starts");
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
    let config = s
        .good()
        .replace("[tls]\n", "[tls]\npassword = \"hunter2\"\n");
    refused(
        &s.run(&config),
        &["tls.password", "unknown field `password`"],
    );
}

#[test]
fn endpoint_without_host_exits_64() {
    let s = Setup::new();
    for endpoint in ["https://", "https://:7000", "https://127.0.0.1:7000/sync"] {
        let config = s.good().replace("https://127.0.0.1:9", endpoint);
        refused(&s.run(&config), &["parent.endpoint", endpoint]);
    }
}

#[cfg(unix)]
#[test]
fn key_mode_0644_refused() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let key = s.key();
    let secret = std::fs::read_to_string(&key).expect("reads key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = s.run(&s.good());
    let shown = key.display().to_string();
    refused(&out, &[&shown, "0644", &format!("chmod 600 {shown}")]);
    // Nothing of the key's text is printed.
    let body: String = secret.lines().filter(|l| !l.starts_with("-----")).collect();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(&body[..body.len().min(32)]), "{all}");
    assert!(Path::new(&key).exists());
}

#[test]
fn a_data_entry_page_off_loopback_exits_64_and_a_busy_one_69() {
    let s = Setup::new();
    let open = format!("{}[entry]\nlisten = \"0.0.0.0:0\"\n", s.good());
    refused(&s.run(&open), &["entry.listen", "0.0.0.0:0", "loopback"]);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let taken = busy.local_addr().expect("addr").to_string();
    let out = s.run(&format!("{}[entry]\nlisten = \"{taken}\"\n", s.good()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(
        stderr.contains(&taken) && stderr.contains("entry.listen"),
        "{stderr}"
    );
}
