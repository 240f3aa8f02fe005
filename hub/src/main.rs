//! `sync178-hub`: the hub daemon and the operator's command line.
fn main() {}
