//! Harness for end-to-end tests and the demo: a real server process, simulated phones, a faulty proxy.
