//! Seeded synthetic households: realistic filled visits for tests, the demo and benchmarks.
