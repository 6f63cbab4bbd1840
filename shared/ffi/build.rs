//! libshared.so is linked for 16 KB memory pages: Android 15+ devices with 16 KB pages refuse to load a library
//! whose LOAD segments are aligned to 4 KB (and Play requires it of apps targeting API 35). Harmless with 4 KB
//! pages. The host build is linked the same way, so `make test-android` checks on every commit that the flag is in
//! effect (android/check-page-size.sh).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "android" || os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,max-page-size=16384");
    }
}
