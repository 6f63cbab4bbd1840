//! The App's own words (screens, statuses, errors), Bahasa Indonesia first, and how values are written for people.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc, Weekday};

use super::effects::TransportErrorKind;
use tepat_form::{FieldRole, Lang, RegionLevel};
use tepat_protocol::Role;
use tepat_records::StoreError;

/// Picks the words for the language.
pub fn say(lang: Lang, id: &str, en: &str) -> String {
    match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    }
}

/// `23-11-2026`, as dates are written in Indonesia (also in English, to match the paper forms).
pub fn date(d: NaiveDate) -> String {
    d.format("%d-%m-%Y").to_string()
}

/// `Senin, 23-11-2026`.
pub fn day(lang: Lang, d: NaiveDate) -> String {
    let (id, en) = match d.weekday() {
        Weekday::Mon => ("Senin", "Monday"),
        Weekday::Tue => ("Selasa", "Tuesday"),
        Weekday::Wed => ("Rabu", "Wednesday"),
        Weekday::Thu => ("Kamis", "Thursday"),
        Weekday::Fri => ("Jumat", "Friday"),
        Weekday::Sat => ("Sabtu", "Saturday"),
        Weekday::Sun => ("Minggu", "Sunday"),
    };
    format!("{}, {}", say(lang, id, en), date(d))
}

/// `23-11-2026 14:05` in the phone's local time (`offset`), or UTC when the offset is unknown.
pub fn moment(at: DateTime<Utc>, offset: Option<FixedOffset>) -> String {
    match offset {
        Some(offset) => at
            .with_timezone(&offset)
            .format("%d-%m-%Y %H:%M")
            .to_string(),
        None => at.format("%d-%m-%Y %H:%M UTC").to_string(),
    }
}

pub fn role(lang: Lang, role: Role) -> String {
    match role {
        Role::Admin => say(lang, "Admin", "Admin"),
        Role::Supervisor => say(lang, "Supervisor", "Supervisor"),
        Role::Enumerator => say(lang, "Pendamping PKH", "PKH companion"),
        Role::Assessor => say(lang, "TKSK (asesor)", "TKSK assessor"),
    }
}

/// A field role as a form names it (`start_without_assignment`), in the words of [`role`].
pub fn field_role(lang: Lang, role: FieldRole) -> String {
    match role {
        FieldRole::Enumerator => self::role(lang, Role::Enumerator),
        FieldRole::Assessor => self::role(lang, Role::Assessor),
    }
}

pub fn region_level(lang: Lang, level: RegionLevel) -> String {
    match level {
        RegionLevel::Province => say(lang, "Provinsi", "Province"),
        RegionLevel::Regency => say(lang, "Kabupaten/Kota", "Regency/City"),
        RegionLevel::District => say(lang, "Kecamatan", "District"),
        RegionLevel::Village => say(lang, "Desa/Kelurahan", "Village"),
    }
}

/// A sync failure in words a person understands (what happened, and that the data is safe).
pub fn transport_error(lang: Lang, kind: TransportErrorKind) -> String {
    match kind {
        TransportErrorKind::Offline => say(
            lang,
            "Tidak ada koneksi internet. Data aman di ponsel dan akan dikirim saat ada sinyal.",
            "No internet connection. Your data is safe on the phone and will be sent when there is signal.",
        ),
        TransportErrorKind::Timeout => say(
            lang,
            "Koneksi terlalu lambat atau terputus. Data aman di ponsel; coba lagi nanti.",
            "The connection was too slow or dropped. Your data is safe on the phone; try again later.",
        ),
        TransportErrorKind::Unauthorized => say(
            lang,
            "Server tidak mengenali perangkat ini. Hubungi admin untuk mendaftarkan ulang perangkat.",
            "The server does not recognise this device. Ask your admin to enrol it again.",
        ),
        TransportErrorKind::TooLarge => say(
            lang,
            "Kiriman terlalu besar untuk server. Hubungi admin; data aman di ponsel.",
            "The upload is too large for the server. Contact your admin; your data is safe on the phone.",
        ),
        TransportErrorKind::Refused => say(
            lang,
            "Server menolak kiriman. Hubungi admin; data aman di ponsel.",
            "The server refused the upload. Contact your admin; your data is safe on the phone.",
        ),
        TransportErrorKind::Server => say(
            lang,
            "Server sedang bermasalah. Data aman di ponsel; coba lagi nanti.",
            "The server has a problem. Your data is safe on the phone; try again later.",
        ),
        TransportErrorKind::BadResponse => say(
            lang,
            "Jawaban server tidak dapat dibaca. Coba lagi nanti atau hubungi admin.",
            "The server's answer could not be read. Try again later or contact your admin.",
        ),
        TransportErrorKind::UntrustedCertificate => say(
            lang,
            "Sertifikat server tidak dipercaya (tidak dikenal, kedaluwarsa, atau untuk alamat lain): tidak ada \
             yang dikirim. Periksa tanggal dan jam ponsel, lalu hubungi admin; data aman di ponsel.",
            "The server's certificate is not trusted (unknown, expired, or for another address): nothing was \
             sent. Check the phone's date and time, then contact your admin; your data is safe on the phone.",
        ),
        TransportErrorKind::PhoneError => say(
            lang,
            "Ponsel tidak dapat menjalankan sinkronisasi. Data aman di ponsel; tutup aplikasi lain lalu coba lagi.",
            "The phone could not run the sync. Your data is safe on the phone; close other apps and try again.",
        ),
    }
}

/// The runtime could not hand an effect's output to the App (a bug), with the technical detail for support.
pub fn runtime_failed(lang: Lang, detail: &str) -> String {
    format!(
        "{} ({detail})",
        say(
            lang,
            "Terjadi kesalahan di aplikasi; langkah terakhir mungkin tidak selesai. Periksa lalu coba lagi",
            "Something went wrong in the app; the last step may not have finished. Check and try again",
        )
    )
}

/// A store failure in words a person understands.
pub fn store_error(lang: Lang, error: &StoreError) -> String {
    match error {
        StoreError::DiskFull => say(
            lang,
            "Penyimpanan ponsel penuh: jawaban terakhir tidak tersimpan. Kosongkan ruang lalu coba lagi.",
            "The phone's storage is full: the last answer was not saved. Free some space and try again.",
        ),
        StoreError::FormNotInstalled { form_id, version } => format!(
            "{} ({form_id} v{version})",
            say(
                lang,
                "Formulir belum terpasang di ponsel ini",
                "The form is not installed on this phone"
            )
        ),
        StoreError::FormVersionConflict { form_id, version } => format!(
            "{} ({form_id} v{version})",
            say(
                lang,
                "Versi formulir ini sudah terpasang dengan isi berbeda; terbitkan versi baru",
                "This form version is already installed with different content; publish a new version"
            )
        ),
        StoreError::WrongState { .. } | StoreError::StaleRevision { .. } => say(
            lang,
            "Kunjungan ini sudah berubah status dan tidak dapat diubah lagi di sini.",
            "This visit has changed state and cannot be changed here any more.",
        ),
        StoreError::NotEnrolled => say(
            lang,
            "Perangkat belum terdaftar. Daftarkan perangkat dengan kode dari admin.",
            "This device is not enrolled yet. Enrol it with the code from your admin.",
        ),
        other => format!(
            "{}: {other}",
            say(
                lang,
                "Gagal menyimpan di ponsel",
                "Could not save on the phone"
            )
        ),
    }
}

/// Why the server refused a visit, from the stored `code: detail` (see the store's receipts), in words.
pub fn reject_reason(lang: Lang, stored: &str) -> String {
    let code = stored.split(':').next().unwrap_or_default().trim();
    match code {
        "conflict" => say(
            lang,
            "Server sudah menyimpan revisi ini dengan isi lain; supervisor akan memeriksanya. Data aman di ponsel.",
            "The server already holds this revision with different content; a supervisor will look at it. \
             Your data is safe on the phone.",
        ),
        "unknown_form" => say(
            lang,
            "Versi formulir ini belum diterbitkan di server. Hubungi admin; data aman di ponsel.",
            "This form version is not published on the server. Contact your admin; your data is safe on the phone.",
        ),
        "not_assigned" => say(
            lang,
            "Menurut server, rumah tangga ini bukan tugas Anda (mungkin sudah dialihkan). Tanyakan supervisor.",
            "The server says this household is not assigned to you (it may have been moved). Ask your supervisor.",
        ),
        "bad_revision" => say(
            lang,
            "Revisi kunjungan ini tidak cocok dengan yang ada di server. Tanyakan supervisor.",
            "This visit's revision does not match the server's. Ask your supervisor.",
        ),
        "invalid" => say(
            lang,
            "Server tidak dapat membaca isi kunjungan ini. Hubungi admin; data aman di ponsel.",
            "The server could not read this visit. Contact your admin; your data is safe on the phone.",
        ),
        _ => stored.to_string(),
    }
}
