//! `sync178-node`: placeholder.
fn main() {}
