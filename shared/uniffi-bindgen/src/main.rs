//! `uniffi-bindgen`: writes the Kotlin bindings of the `shared` library (`make bindings`), built from the same
//! uniffi version as the library so the two always agree.

fn main() {
    uniffi::uniffi_bindgen_main()
}
