//! `tepat-form`: the form author's tool (`check`, `validate`).
fn main() {}
