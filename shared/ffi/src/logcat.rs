//! Rust panics on the phone, in logcat. An Android app's stderr goes nowhere, so without this a panic on a sync
//! thread or in a callback leaves no trace on the device. [`install_panic_hook`] (called when a `FieldCore` opens)
//! adds a hook, once per process, that writes the panic's thread, place and message to logcat (tag `tepat`,
//! priority error) and then runs the hook that was there before (stderr on the host).

use std::panic::PanicHookInfo;
use std::sync::Once;

static INSTALL: Once = Once::new();

pub(crate) fn install_panic_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            log_error(&panic_report(info));
            previous(info);
        }));
    });
}

/// One line: which thread panicked, where, and with what message.
pub(crate) fn panic_report(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    let place = info
        .location()
        .map(|at| format!(" at {}:{}", at.file(), at.line()))
        .unwrap_or_default();
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed");
    format!("Rust panic on thread '{name}'{place}: {message}")
}

#[cfg(target_os = "android")]
fn log_error(text: &str) {
    use std::ffi::{CString, c_char, c_int};

    #[link(name = "log")]
    unsafe extern "C" {
        fn __android_log_write(priority: c_int, tag: *const c_char, text: *const c_char) -> c_int;
    }
    const ANDROID_LOG_ERROR: c_int = 6;
    // The logcat tag of everything the core writes there.
    let Ok(tag) = CString::new("tepat") else {
        return;
    };
    let Ok(text) = CString::new(text.replace('\0', " ")) else {
        return;
    };
    // SAFETY: both pointers are NUL-terminated strings that live until the call returns; liblog copies them.
    unsafe {
        __android_log_write(ANDROID_LOG_ERROR, tag.as_ptr(), text.as_ptr());
    }
}

/// Off Android the previous hook prints the panic to stderr; tests see the report here.
#[cfg(not(target_os = "android"))]
fn log_error(text: &str) {
    #[cfg(test)]
    tests::REPORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(text.to_owned());
    #[cfg(not(test))]
    let _ = text;
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    pub(crate) static REPORTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    #[test]
    fn a_panic_on_any_thread_is_reported_with_its_thread_place_and_message() {
        super::install_panic_hook();
        super::install_panic_hook(); // once per process, however many cores open
        let joined = std::thread::Builder::new()
            .name("tepat-sync-test".into())
            .spawn(|| panic!("the sync client exploded: {}", 42))
            .unwrap()
            .join();
        assert!(joined.is_err());
        let reports = REPORTS.lock().unwrap();
        let report = reports
            .iter()
            .find(|r| r.contains("the sync client exploded: 42"))
            .expect("the panic was reported");
        assert!(
            report.starts_with("Rust panic on thread 'tepat-sync-test' at "),
            "{report}"
        );
        assert!(report.contains("logcat.rs:"), "{report}");
    }
}
