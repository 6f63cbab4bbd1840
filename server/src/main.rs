//! `tepat-server`: the sync server.
fn main() {}
