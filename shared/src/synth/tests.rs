//! Unit tests of the generator that need no form engine; the rule tests against the real forms are in
//! `shared/tests/forms.rs`.
