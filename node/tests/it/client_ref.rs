//! `sync178-node client-ref` through the real binary: one node's references are the same on every run and survive a backup and restore; two nodes' differ; the secret file is private.

use sync178_node::certs::province_files;
use sync178_node::client_ref::{ClientSecret, SECRET_FILE};
use sync178_shared::tls::{Identity, Role};

use crate::cli::{event_line, has_all};
use crate::common::{Node, args, result, sync178_node, unit};

/// Writes `name` (a node.toml of `commune` in the node's folder, data in
/// `data`) and returns its path.
fn node_toml(node: &Node, name: &str, commune: &str, data: &str) -> String {
    let files = province_files(&node.pki(), Identity::new(unit(commune), Role::Node));
    node.write(
        name,
        &format!(
            "unit = \"{commune}\"\ntopology = \"topology.csv\"\ndata_dir = \"{data}\"\n\
             listen = \"127.0.0.1:0\"\n[tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            files.ca.display(),
            files.cert.display(),
            files.key.display()
        ),
    )
}

/// `client-ref` with `extra` arguments: exit code, stdout, stderr.
fn client_ref(config: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut a = vec!["client-ref", "--config", config];
    a.extend_from_slice(extra);
    result(&sync178_node(&args(&a, &[], &[])))
}

fn is_ref(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn one_nodes_references_are_stable_and_two_nodes_differ() {
    let a = Node::start("c11950");
    let b = Node::start("c11953");
    let a_toml = node_toml(&a, "node.toml", "c11950", "data");
    let b_toml = node_toml(&b, "node.toml", "c11953", "data");
    let fresh = node_toml(&a, "fresh.toml", "c11950", "never-started");
    let a_dir = a.stop();
    let _b_dir = b.stop();

    let (code, first, stderr) = client_ref(&a_toml, &["HS-2025-0042", "hs-2025-0043"]);
    assert_eq!(code, Some(0), "{stderr}");
    let refs: Vec<String> = first.lines().map(str::to_owned).collect();
    assert_eq!(refs.len(), 2, "{first}");
    assert!(refs.iter().all(|r| is_ref(r)), "{first}");
    assert_ne!(refs[0], refs[1]);
    has_all(&stderr, &["Mã khoá bí mật: "]);
    // Same case, same node: the same reference on every run, however typed.
    let (_, again, _) = client_ref(&a_toml, &[" hs-2025-0042 ", "HS-2025-0043"]);
    assert_eq!(again, first);
    // `-`: the case numbers from standard input, one per line.
    let piped = {
        use std::io::Write as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync178-node"))
            .args(["client-ref", "--config", &a_toml, "-"])
            .env_remove("SYNC178_LANG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs sync178-node");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"HS-2025-0042\n\nhs-2025-0043\n")
            .expect("writes");
        result(&child.wait_with_output().expect("waits"))
    };
    assert_eq!(piped.0, Some(0), "{}", piped.2);
    assert_eq!(piped.1, first);
    // Another node: another reference for the same case number.
    let (code, other, stderr) = client_ref(&b_toml, &["HS-2025-0042"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(is_ref(other.trim()));
    assert_ne!(other.trim(), refs[0]);

    // JSON carries the key id; English on request.
    let (code, json, _) = client_ref(&a_toml, &["--json", "HS-2025-0042"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("json");
    assert_eq!(v["client_ref"], refs[0].as_str());
    assert_eq!(v["case"], "HS-2025-0042");
    let secret = ClientSecret::load(&a_dir.path().join("data")).expect("secret");
    assert_eq!(v["client_key_id"], secret.key_id());
    let (code, _, stderr) = result(&sync178_node(&args(
        &[
            "--lang",
            "en",
            "client-ref",
            "--config",
            &a_toml,
            "HS-1",
            "  ",
        ],
        &[],
        &[],
    )));
    assert_eq!(code, Some(65), "{stderr}");
    has_all(&stderr, &["the case number is empty", "Nothing printed"]);
    let (code, stdout, stderr) = client_ref(&a_toml, &["HS-1", "a\u{7}b"]);
    assert_eq!((code, stdout.as_str()), (Some(65), ""), "{stderr}");
    has_all(&stderr, &["ký tự điều khiển", "Không in mã nào"]);
    // A node that never started has no secret: said, not invented.
    let (code, stdout, stderr) = client_ref(&fresh, &["HS-1"]);
    assert_eq!((code, stdout.as_str()), (Some(66), ""), "{stderr}");
    has_all(&stderr, &["chưa có", SECRET_FILE]);

    // The file is the node's alone, and a restart keeps it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(a_dir.path().join("data").join(SECRET_FILE)).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let _a_dir = Node::start_in(a_dir, "c11950").stop();
    let (_, after_restart, _) = client_ref(&a_toml, &["HS-2025-0042", "HS-2025-0043"]);
    assert_eq!(after_restart, first);
}

#[test]
fn a_backup_taken_on_the_node_keeps_its_references_through_a_restore() {
    let node = Node::start("c11950");
    let toml = node_toml(&node, "node.toml", "c11950", "data");
    let restored_toml = node_toml(&node, "restored.toml", "c11950", "restored");
    let other_toml = node_toml(&node, "other.toml", "c11950", "other");
    let input = node.write("one.ndjson", &format!("{}\n", event_line("c11950", "a1")));
    let recorder = node.conn_args(Identity::new(unit("c11950"), Role::Recorder));
    let operator = node.conn_args(Identity::new(unit("p33"), Role::Operator));
    let (code, _, stderr) = result(&sync178_node(&args(&["submit"], &recorder, &[&input])));
    assert_eq!(code, Some(0), "submit: {stderr}");
    let with = node.dir.path().join("with.backup").display().to_string();
    let without = node.dir.path().join("without.backup").display().to_string();
    let (code, stdout, stderr) = result(&sync178_node(&args(
        &["backup"],
        &operator,
        &["--node", "c11950", "--out", &with, "--config", &toml],
    )));
    assert_eq!(code, Some(0), "backup --config: {stderr}");
    has_all(&stdout, &["có cả khoá bí mật"]);
    let (code, stdout, stderr) = result(&sync178_node(&args(
        &["backup"],
        &operator,
        &["--node", "c11950", "--out", &without],
    )));
    assert_eq!(code, Some(0), "backup: {stderr}");
    has_all(&stdout, &["không có khoá bí mật"]);
    let dir = node.stop();
    let before = client_ref(&toml, &["HS-2025-0042"]);
    assert_eq!(before.0, Some(0), "{}", before.2);
    let secret = ClientSecret::load(&dir.path().join("data")).expect("secret");
    let raw = secret.bytes().to_vec();
    let has_secret = |path: &str| {
        let b = std::fs::read(path).expect("reads");
        b.windows(raw.len()).any(|w| w == raw.as_slice())
    };
    assert!(has_secret(&with));
    assert!(!has_secret(&without));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&with).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a backup with the secret is private");
    }

    // Restored into a new data folder: the same references.
    let (code, stdout, stderr) = result(&sync178_node(&args(
        &["restore", "--config", &restored_toml, "--from", &with],
        &[],
        &[],
    )));
    assert_eq!(code, Some(0), "restore: {stdout}{stderr}");
    assert_eq!(client_ref(&restored_toml, &["HS-2025-0042"]), before);
    // A folder holding another secret is refused, nothing overwritten.
    let other = dir.path().join("other");
    ClientSecret::generate()
        .expect("random")
        .store(&other)
        .expect("stores");
    let (code, _, stderr) = result(&sync178_node(&args(
        &[
            "--lang",
            "en",
            "restore",
            "--config",
            &other_toml,
            "--from",
            &with,
        ],
        &[],
        &[],
    )));
    assert_eq!(code, Some(1), "{stderr}");
    has_all(&stderr, &["another client-reference secret"]);
    assert!(
        !other.join("log").exists(),
        "a refused restore wrote a store"
    );
}

#[test]
fn backups_of_the_first_layout_still_read_and_a_secret_round_trips() {
    use sync178_node::backup::{Backup, read_file, write_file};
    let dir = tempfile::tempdir().expect("tempdir");
    let me = unit("c11950");
    let secret = ClientSecret::generate().expect("random");
    let with = dir.path().join("with.backup");
    write_file(
        &with,
        &Backup {
            unit: me,
            created_at: 7,
            events: vec![],
            secret: Some(secret.clone()),
        },
    )
    .expect("writes");
    let back = read_file(&with).expect("reads");
    assert_eq!(back.secret.map(|s| *s.bytes()), Some(*secret.bytes()));
    // The first layout: no secret section, magic S178BAK1.
    let mut v1 = b"S178BAK1".to_vec();
    v1.extend_from_slice(&me.to_bytes());
    v1.extend_from_slice(&7i64.to_be_bytes());
    v1.extend_from_slice(&0u64.to_be_bytes());
    let sum = blake3::hash(&v1);
    v1.extend_from_slice(sum.as_bytes());
    let old = dir.path().join("old.backup");
    std::fs::write(&old, v1).expect("writes");
    let b = read_file(&old).expect("a first-layout backup reads");
    assert_eq!((b.unit, b.created_at, b.events.len()), (me, 7, 0));
    assert!(b.secret.is_none());
}
