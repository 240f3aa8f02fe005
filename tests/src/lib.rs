//! sync178-tests: helpers shared by the cross-crate tests and the benchmarks.

pub mod cluster;
pub mod hub_bench;
pub mod proxy;
pub mod report;
