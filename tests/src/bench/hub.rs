//! Hub figures of the benchmark: apply rate from feed bytes (verify, decode,
//! apply), a large replay, and `kpi` query latency p50/p99 on Hà Nội (526
//! communes) over five years. The measuring code is
//! `sync178_tests::hub_bench`; figure names start with `hub `.

use sync178_tests::report::Report;

/// Measures the hub figures and records them on `r`.
pub fn bench_hub(r: &mut Report, runs: usize, quick: bool) -> anyhow::Result<()> {
    sync178_tests::hub_bench::section(r, runs, quick);
    Ok(())
}
