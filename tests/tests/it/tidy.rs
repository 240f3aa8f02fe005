//! The tidy test (after rust-analyzer's `xtask/src/tidy.rs`): the project's
//! conventions checked by reading the repository's files, so that CI fails
//! when they drift. It reads files only: no network, no cargo.

use std::fs;
use std::path::{Path, PathBuf};

/// The crates whose Rust sources are checked.
const CRATES: &[&str] = &["shared", "node", "hub", "tests"];

/// The most lines a source file may have unless `LONG_FILES` lists it.
const MAX_LINES: usize = 600;

/// The files over `MAX_LINES`, each with the length it may not pass (its
/// length when the check came in). ARCHITECTURE.md ("Long files") says why
/// they are long. This list only shrinks: split a file rather than raise its
/// ceiling, and remove its entry once it is under `MAX_LINES` (the test says
/// when).
const LONG_FILES: &[(&str, usize)] = &[
    ("hub/src/cli.rs", 1275),
    ("hub/src/demo.rs", 935),
    ("hub/src/main.rs", 763),
    ("hub/src/reconcile/projections.rs", 609),
    ("hub/src/reconcile/tiers.rs", 2516),
    ("hub/src/state.rs", 1170),
    ("hub/src/web/pages.rs", 1609),
    ("hub/tests/it/cli.rs", 1111),
    ("node/src/certs.rs", 661),
    ("node/src/cli.rs", 866),
    ("node/src/main.rs", 650),
    ("node/src/deploy/mod.rs", 946),
    ("node/tests/it/certs_tls.rs", 626),
    ("shared/src/history.rs", 1111),
    ("shared/src/log/mod.rs", 951),
    ("shared/src/log/writer.rs", 822),
    ("shared/src/period.rs", 801),
    ("shared/src/topology.rs", 1191),
    ("shared/src/unit.rs", 701),
    ("shared/src/validate/mod.rs", 859),
    ("shared/src/validate/tests.rs", 893),
    ("tests/src/bin/bench.rs", 627),
    ("tests/tests/it/reconcile_tiers.rs", 744),
    ("tests/tests/it/web_e2e.rs", 956),
];

/// The modules that parse network or file input (a path ending in `/` is
/// every file below it): a bad input there must be an error naming what and
/// where, never a panic, so their non-test code has no `.unwrap()` or
/// `.expect(`. No file here needs an exception today, so there is no
/// allowlist; a panic that truly cannot happen is written as a match with a
/// comment, or as an error all the same.
const INPUT_PATHS: &[&str] = &[
    "shared/src/validate/",
    "shared/src/event.rs",
    "shared/src/topology.rs",
    "shared/src/history.rs",
    "shared/src/unit.rs",
    "shared/src/period.rs",
    "shared/src/log/",
    "shared/src/forms/",
    "shared/src/revocation.rs",
    "shared/src/tls.rs",
    "shared/src/dial.rs",
    "node/src/ingest.rs",
    "node/src/sync.rs",
    "node/src/recover.rs",
    "node/src/uplink.rs",
    "node/src/feed.rs",
    "node/src/backup.rs",
    "node/src/config.rs",
    "node/src/revocation.rs",
    "node/src/cli.rs",
    "node/src/numbers.rs",
    "node/src/deploy/",
    "hub/src/follower.rs",
    "hub/src/store.rs",
    "hub/src/config.rs",
    "hub/src/reconcile/",
    "hub/src/web/",
];

/// What a path named in ARCHITECTURE.md may end with to be checked (besides
/// `/`, a directory).
const DOC_PATH_ENDINGS: &[&str] = &[".rs", ".md", ".toml", ".sh", ".proto"];

/// The repository: the parent of this crate's folder.
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("the tests crate lies in the repository")
        .to_path_buf()
}

/// A source file: its path from the repository's root (with `/`) and text.
struct Source {
    path: String,
    text: String,
}

/// Every `.rs` file of the crates, `target/` and hidden folders left out,
/// in path order.
fn rust_sources() -> Vec<Source> {
    let root = root();
    let mut files = Vec::new();
    for krate in CRATES {
        walk(&root.join(krate), &mut files);
    }
    assert!(
        !files.is_empty(),
        "no Rust sources under {}",
        root.display()
    );
    let mut sources: Vec<Source> = files
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            Source {
                path: relative(&root, &file),
                text,
            }
        })
        .collect();
    sources.sort_by(|a, b| a.path.cmp(&b.path));
    sources
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn relative(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("a file below the root");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Fails with every violation, one `file:line: what` per line.
fn report(what: &str, violations: Vec<String>) {
    assert!(violations.is_empty(), "{what}:\n{}", violations.join("\n"));
}

#[test]
fn every_rust_file_starts_with_a_doc_header() {
    let bad = rust_sources()
        .into_iter()
        .filter(|s| !s.text.starts_with("//!"))
        .map(|s| {
            format!(
                "{}:1: no `//!` header saying what lives in this file",
                s.path
            )
        })
        .collect();
    report("files without a `//!` header", bad);
}

#[test]
fn no_ignored_tests() {
    // Written in two pieces so that this file does not match itself.
    let attribute = concat!("#[", "ignore");
    let mut bad = Vec::new();
    for s in rust_sources() {
        for (i, line) in s.text.lines().enumerate() {
            if line.contains(attribute) {
                bad.push(format!(
                    "{}:{}: a test is ignored; make it pass or delete it",
                    s.path,
                    i + 1
                ));
            }
        }
    }
    report("ignored tests", bad);
}

#[test]
fn no_file_over_600_lines_unless_listed() {
    let sources = rust_sources();
    let mut bad = Vec::new();
    for s in &sources {
        let lines = s.text.lines().count();
        match LONG_FILES.iter().find(|(path, _)| *path == s.path) {
            Some((_, ceiling)) if lines > *ceiling => bad.push(format!(
                "{}:{}: {lines} lines, over its ceiling of {ceiling} in LONG_FILES; \
                 split it instead of raising the ceiling",
                s.path,
                ceiling + 1
            )),
            Some(_) if lines <= MAX_LINES => bad.push(format!(
                "{}:1: {lines} lines now; remove it from LONG_FILES",
                s.path
            )),
            Some(_) => {}
            None if lines > MAX_LINES => bad.push(format!(
                "{}:{}: {lines} lines, over {MAX_LINES}; split it along its seams",
                s.path,
                MAX_LINES + 1
            )),
            None => {}
        }
    }
    for (path, _) in LONG_FILES {
        if !sources.iter().any(|s| s.path == *path) {
            bad.push(format!(
                "{path}: listed in LONG_FILES but not in the tree; remove it"
            ));
        }
    }
    report("files too long", bad);
}

/// Whether a span of inline code in ARCHITECTURE.md names a path of the
/// repository: it has a `/` and ends in a known extension or `/`. URLs
/// (`sync178://…`), web routes (`/api/`) and dates (`31/12/2023`) do not.
fn names_a_path(span: &str) -> bool {
    span.contains('/')
        && !span.contains("://")
        && !span.starts_with('/')
        && !span.contains(char::is_whitespace)
        && (span.ends_with('/') || DOC_PATH_ENDINGS.iter().any(|e| span.ends_with(e)))
}

/// Whether `path` (from the root; `*` allowed in its last part, `<crate>`
/// standing for every crate) names what is in the tree.
fn exists(root: &Path, path: &str) -> bool {
    if path.contains("<crate>") {
        return CRATES
            .iter()
            .all(|k| exists(root, &path.replace("<crate>", k)));
    }
    let (dir, last) = path.rsplit_once('/').unwrap_or(("", path));
    if let Some((before, after)) = last.split_once('*') {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            return false;
        };
        return entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(before) && name.ends_with(after)
        });
    }
    let full = root.join(path);
    if path.ends_with('/') {
        full.is_dir()
    } else {
        full.is_file()
    }
}

#[test]
fn architecture_names_only_paths_in_the_repository() {
    let root = root();
    let text = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut bad = Vec::new();
    let mut in_fence = false;
    // An open span of inline code: the line it began on and its text; spans
    // may run over a line break.
    let mut span: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.contains("../") {
            bad.push(format!(
                "ARCHITECTURE.md:{n}: points outside the repository; \
                 what it cites must live in the repository"
            ));
        }
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        for (j, piece) in line.split('`').enumerate() {
            if j > 0 {
                // A backtick: it closes the open span or opens one.
                match span.take() {
                    Some((start, code)) => {
                        if names_a_path(&code) && !exists(&root, &code) {
                            bad.push(format!(
                                "ARCHITECTURE.md:{start}: `{code}` is not in the tree \
                                 (paths are written from the repository's root)"
                            ));
                        }
                    }
                    None => span = Some((n, String::new())),
                }
            }
            if let Some((_, code)) = span.as_mut() {
                code.push_str(piece);
            }
        }
        if let Some((_, code)) = span.as_mut() {
            code.push(' ');
        }
    }
    report("ARCHITECTURE.md names what is not in the repository", bad);
}

/// The part of a file that is not test code. Approximation: everything after
/// the first `#[cfg(test)]` at column 0 is the test module (every file here
/// keeps it last); a `#[cfg(test)]` item above it, indented, is checked as if
/// it were not a test.
fn non_test_code(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| !line.starts_with("#[cfg(test)]"))
        .map(|(i, line)| (i + 1, line))
}

#[test]
fn no_unwrap_on_input_paths() {
    let root = root();
    let mut bad = Vec::new();
    for path in INPUT_PATHS {
        if !root.join(path).exists() {
            bad.push(format!(
                "{path}: in INPUT_PATHS but not in the tree; name where it went"
            ));
        }
    }
    let on_input_path = |file: &str| {
        INPUT_PATHS
            .iter()
            .any(|p| file == *p || p.ends_with('/') && file.starts_with(p))
    };
    let panics = [concat!(".unwrap", "()"), concat!(".expect", "(")];
    for s in rust_sources() {
        // `tests.rs` and `*_tests.rs` are modules declared under
        // `#[cfg(test)]` in their parent.
        if !on_input_path(&s.path) || s.path.ends_with("tests.rs") {
            continue;
        }
        for (n, line) in non_test_code(&s.text) {
            if line.trim_start().starts_with("//") {
                continue;
            }
            if let Some(p) = panics.iter().find(|p| line.contains(**p)) {
                bad.push(format!(
                    "{}:{n}: `{p}` on an input path; return an error naming what and where",
                    s.path
                ));
            }
        }
    }
    report("panics on input paths", bad);
}
