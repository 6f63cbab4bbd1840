//! Tepat's shared core.
//!
//! One crate, one module per concept, used by the phone (through `ffi`), the terminal shell and the server:
//! - [`form`]: form definitions, expressions, validation, identity checks, region codes (no I/O);
//! - [`protocol`]: the wire types of sync protocol v1, shared by phone and server;
//! - [`synth`]: seeded synthetic households for tests, the demo and benchmarks.

pub mod app;
pub mod ffi;
pub mod form;
pub mod protocol;
pub mod runtime;
pub mod store;
pub mod synth;

uniffi::setup_scaffolding!();
