//! API tests against the real router (in-process `oneshot`; the concurrency test uses a real loopback listener).
//! Every response is checked against `schemas/openapi.yaml` by the test kit.

mod bad_input;
mod concurrency;
mod enrol;
mod export;
mod monitoring;
mod routes;
mod signals;
mod supervisor;
mod sync;
