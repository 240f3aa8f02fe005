//! `query`'s view flags read the same before and after the question
//! (`query kpi p33 2024 --as-recorded`), as `--json` and `--csv` do: clap
//! never refuses the position (its exit 2), the command goes on to the hub.

use std::process::Command;

/// Runs `sync178-hub query` with certificates that do not exist, so it stops
/// once past parsing: exit code and stderr.
fn query(dir: &std::path::Path, tail: &[&str]) -> (Option<i32>, String) {
    let missing = |name: &str| dir.join(name).display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_sync178-hub"))
        .env_remove("SYNC178_LANG")
        .args(["--lang", "en", "query", "--endpoint", "https://127.0.0.1:9"])
        .args(["--ca", &missing("ca.pem"), "--cert", &missing("op.pem")])
        .args(["--key", &missing("op.key")])
        .args(tail)
        .output()
        .expect("runs sync178-hub");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn view_flags_work_after_the_question_as_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let query = |tail: &[&str]| query(dir.path(), tail);
    for flag in ["--as-recorded", "--no-suppress"] {
        let before = query(&[flag, "kpi", "p33", "2024"]);
        let after = query(&["kpi", "p33", "2024", flag]);
        assert_ne!(after.0, Some(2), "{flag} after the question: {}", after.1);
        assert!(!after.1.contains("unexpected argument"), "{}", after.1);
        assert_eq!(before, after, "{flag}: the same run either way");
    }
    // A flag the question does not know is still clap's usage error.
    let (code, stderr) = query(&["kpi", "p33", "2024", "--as-of-yesterday"]);
    assert_eq!(code, Some(2), "{stderr}");
}
