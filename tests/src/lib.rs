//! sync178-tests: helpers shared by the cross-crate tests and the benchmarks.

pub mod cluster;
pub mod hub_bench;
pub mod proxy;
pub mod report;

use std::path::PathBuf;

/// The workspace binary `name` (`sync178-node`, `sync178-hub`) as the test
/// command built it: beside the running test executable's `deps/` folder
/// (`target/debug/`). No test runs cargo itself; `cargo nextest run
/// --workspace` builds every package's binaries because node and hub have
/// tests of their own, so this is never stale under the README's command.
///
/// # Panics
///
/// When the binary is not there, with the command that builds it.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/debug/deps/it-HASH → target/debug/NAME
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable lies in target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} is missing: the process-level tests run the binaries the test command builds. \
         Run them through the workspace (`cargo nextest run --workspace -E 'test(local_cluster)'`), \
         or build first: `cargo build -p sync178-node -p sync178-hub`",
        bin.display()
    );
    bin
}
