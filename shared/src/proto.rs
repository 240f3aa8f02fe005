//! Code generated from `proto/sync178/v1/*.proto`, with its JSON mapping.
#![allow(clippy::all, missing_docs, rust_2018_idioms)]

/// Package `sync178.v1`.
pub mod v1 {
    tonic::include_proto!("sync178.v1");
    include!(concat!(env!("OUT_DIR"), "/sync178.v1.serde.rs"));
}
