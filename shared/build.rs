//! Generates Rust code for `proto/sync178/v1/*.proto` with a pure-Rust protoc
//! (protox), so a fresh machine needs no system protoc.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    let files = [
        "sync178/v1/events.proto",
        "sync178/v1/node.proto",
        "sync178/v1/hub.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("sync178_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .bytes(".sync178.v1.PushBatch.events")
        .bytes(".sync178.v1.RecoverBatch.events")
        .bytes(".sync178.v1.BackupChunk.events")
        .bytes(".sync178.v1.FeedItem.event")
        .bytes(".sync178.v1.FetchResponse.event")
        .compile_fds(fds.clone())?;

    pbjson_build::Builder::new()
        .register_descriptors(&fds.encode_to_vec())?
        .preserve_proto_field_names()
        .build(&[".sync178.v1"])?;
    Ok(())
}
