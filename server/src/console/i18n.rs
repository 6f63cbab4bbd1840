//! The console's words, Bahasa Indonesia first and English by choice (a cookie set from the header's switch).
//! Templates look every text up by key (`t.get("queue.title")`); a test checks that every key a template uses is
//! in the table, so a missing translation fails the build's tests rather than showing a key to a supervisor.

use tepat_form::Lang;

/// The console's language for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The text of `key`; the key itself when the table lacks it (a test keeps that from happening).
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        match TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
            Ok(i) => match self.lang {
                Lang::Id => TEXTS[i].1,
                Lang::En => TEXTS[i].2,
            },
            Err(_) => key,
        }
    }

    /// `id` or `en`, for `<html lang>` and the form engine's texts.
    pub fn code(&self) -> &'static str {
        match self.lang {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// A form text (labels, titles, findings' messages) in this language.
    pub fn text<'a>(&self, text: &'a tepat_form::Text) -> &'a str {
        text.get(self.lang)
    }
}

/// The language a cookie value names; Bahasa Indonesia otherwise.
pub fn parse_lang(value: Option<&str>) -> Lang {
    match value {
        Some("en") => Lang::En,
        _ => Lang::Id,
    }
}

/// (key, Bahasa Indonesia, English), sorted by key (a test checks the order, for the binary search).
pub const TEXTS: &[(&str, &str, &str)] = &[
    (
        "admin.assign.done",
        "Penugasan diimpor",
        "Assignments imported",
    ),
    (
        "admin.assign.file",
        "Berkas CSV penugasan",
        "Assignment CSV file",
    ),
    (
        "admin.assign.help",
        "Format: schemas/assignments.md. Semua atau tidak sama sekali: satu baris salah, tidak ada yang diimpor.",
        "Format: schemas/assignments.md. All or nothing: one bad row and nothing is imported.",
    ),
    (
        "admin.assign.paste",
        "atau tempel isinya",
        "or paste its content",
    ),
    (
        "admin.assign.submit",
        "Impor penugasan",
        "Import assignments",
    ),
    (
        "admin.assign.title",
        "Impor penugasan",
        "Import assignments",
    ),
    (
        "admin.code.create",
        "Buat kode pendaftaran",
        "Create enrolment code",
    ),
    ("admin.code.expires", "Berlaku sampai", "Valid until"),
    (
        "admin.code.help",
        "Ketik kode ini di HP atau pindai kode QR. Kode hanya berlaku sekali dan hanya ditampilkan sekarang.",
        "Type this code on the phone or scan the QR code. It works once and is shown only now.",
    ),
    (
        "admin.code.title",
        "Kode pendaftaran perangkat",
        "Device enrolment code",
    ),
    ("admin.devices.active", "aktif", "active"),
    ("admin.devices.enrolled", "Terdaftar", "Enrolled"),
    ("admin.devices.last_seen", "Terakhir terlihat", "Last seen"),
    ("admin.devices.revoke", "Cabut", "Revoke"),
    ("admin.devices.revoked", "dicabut", "revoked"),
    ("admin.devices.title", "Perangkat", "Devices"),
    ("admin.form.done", "Formulir diterbitkan", "Form published"),
    ("admin.form.file", "Berkas JSON formulir", "Form JSON file"),
    (
        "admin.form.problems",
        "Masalah formulir (tidak diterbitkan)",
        "Form problems (not published)",
    ),
    ("admin.form.submit", "Terbitkan formulir", "Publish form"),
    ("admin.form.title", "Terbitkan formulir", "Publish a form"),
    (
        "admin.form.unchanged",
        "Versi ini sudah diterbitkan; tidak ada perubahan",
        "This version is already published; nothing changed",
    ),
    ("admin.password.set", "Atur kata sandi", "Set password"),
    (
        "admin.problems",
        "Masalah (tidak ada yang disimpan)",
        "Problems (nothing was saved)",
    ),
    ("admin.title", "Administrasi", "Administration"),
    ("admin.users.create", "Tambah pengguna", "Add user"),
    ("admin.users.created", "Pengguna ditambahkan", "User added"),
    ("admin.users.devices", "Perangkat aktif", "Active devices"),
    (
        "admin.users.regions_help",
        "Kode wilayah Kemendagri, dipisah spasi (mis. 17.71)",
        "Kemendagri region codes, space-separated (e.g. 17.71)",
    ),
    (
        "admin.users.title",
        "Pengguna dan wilayah",
        "Users and regions",
    ),
    ("common.all", "Semua", "All"),
    ("common.apply", "Terapkan", "Apply"),
    ("common.back", "Kembali", "Back"),
    ("common.date", "Tanggal", "Date"),
    ("common.enumerator", "Pencacah", "Enumerator"),
    ("common.errors", "Kesalahan", "Errors"),
    ("common.from", "Dari", "From"),
    ("common.id", "ID", "ID"),
    ("common.name", "Nama", "Name"),
    ("common.next", "Berikutnya", "Next"),
    ("common.no", "Tidak", "No"),
    ("common.none", "Tidak ada", "None"),
    ("common.notes", "Catatan", "Notes"),
    ("common.outcome", "Hasil", "Outcome"),
    ("common.region", "Wilayah", "Region"),
    ("common.regions", "Wilayah", "Regions"),
    ("common.role", "Peran", "Role"),
    (
        "common.signals",
        "Tanda pemalsuan",
        "Signals of fabrication",
    ),
    ("common.status", "Status", "Status"),
    ("common.to", "Sampai", "To"),
    ("common.user", "Pengguna", "User"),
    ("common.village", "Desa/Kelurahan", "Village"),
    ("common.warnings", "Peringatan", "Warnings"),
    ("common.yes", "Ya", "Yes"),
    (
        "conflicts.empty",
        "Tidak ada salinan yang bertentangan.",
        "No conflicting copies.",
    ),
    (
        "conflicts.help",
        "Perangkat mengirim isi berbeda untuk revisi yang sama. Pilih salinan yang disimpan; yang lain dibuang.",
        "A device sent different content under the same revision. Choose the copy to keep; the other is discarded.",
    ),
    ("conflicts.keep", "Simpan salinan ini", "Keep this copy"),
    ("conflicts.kept", "Salinan dipilih", "Copy kept"),
    (
        "conflicts.other",
        "Salinan bertentangan",
        "Conflicting copy",
    ),
    ("conflicts.stored", "Salinan tersimpan", "Stored copy"),
    ("conflicts.title", "Konflik", "Conflicts"),
    (
        "error.csrf",
        "Formulir ini kedaluwarsa atau tidak berasal dari konsol. Muat ulang halaman dan coba lagi.",
        "This form expired or did not come from the console. Reload the page and try again.",
    ),
    (
        "error.forbidden",
        "Halaman ini bukan untuk peran Anda.",
        "This page is not for your role.",
    ),
    (
        "error.internal",
        "Terjadi kesalahan di server. Coba lagi sebentar lagi.",
        "Something went wrong on the server. Try again shortly.",
    ),
    (
        "error.not_found",
        "Tidak ditemukan (atau di luar wilayah Anda).",
        "Not found (or outside your regions).",
    ),
    ("error.title", "Tidak dapat ditampilkan", "Cannot be shown"),
    (
        "export.codebook",
        "Buku kode (label setiap kolom dan kode)",
        "Codebook (labels of every column and code)",
    ),
    (
        "export.findings",
        "Temuan (CSV, dengan catatan pencacah)",
        "Findings (CSV, with the enumerator's notes)",
    ),
    (
        "export.help",
        "Kunjungan di wilayah Anda, revisi terakhir, hanya jawaban yang relevan.",
        "Visits in your regions, latest revision, relevant answers only.",
    ),
    (
        "export.households",
        "Rumah tangga (CSV)",
        "Households (CSV)",
    ),
    ("export.members", "Anggota (CSV)", "Members (CSV)"),
    ("export.title", "Ekspor", "Exports"),
    (
        "export.xlsx",
        "Excel (XLSX, rumah tangga + anggota + temuan + buku kode)",
        "Excel (XLSX, households + members + findings + codebook)",
    ),
    ("lang.switch", "English", "Bahasa Indonesia"),
    (
        "login.failed",
        "Nama pengguna atau kata sandi salah.",
        "Wrong user name or password.",
    ),
    (
        "login.no_console",
        "Akun ini tidak memakai konsol (hanya pengawas dan admin).",
        "This account does not use the console (supervisors and admins only).",
    ),
    ("login.password", "Kata sandi", "Password"),
    (
        "login.slow",
        "Terlalu banyak percobaan gagal. Coba lagi dalam (detik):",
        "Too many failed attempts. Try again in (seconds):",
    ),
    ("login.submit", "Masuk", "Log in"),
    (
        "login.title",
        "Masuk ke konsol Tepat",
        "Log in to the Tepat console",
    ),
    ("login.user", "ID pengguna", "User id"),
    ("nav.admin", "Administrasi", "Administration"),
    ("nav.conflicts", "Konflik", "Conflicts"),
    ("nav.exports", "Ekspor", "Exports"),
    ("nav.logout", "Keluar", "Log out"),
    ("nav.progress", "Kemajuan", "Progress"),
    ("nav.queue", "Antrean periksa", "Review queue"),
    ("progress.approved", "Disetujui", "Approved"),
    ("progress.assigned", "Ditugaskan", "Assigned"),
    (
        "progress.by_day",
        "Per pencacah per hari (target 12)",
        "Per enumerator per day (target 12)",
    ),
    ("progress.by_village", "Per desa/kelurahan", "Per village"),
    ("progress.completeness", "Kelengkapan", "Completeness"),
    ("progress.final", "Final", "Final"),
    ("progress.form", "Formulir", "Form"),
    (
        "progress.gps_rate",
        "Kunjungan dengan GPS",
        "Visits with GPS",
    ),
    (
        "progress.no_error_rate",
        "Kunjungan tanpa kesalahan",
        "Visits without errors",
    ),
    (
        "progress.photo_rate",
        "Kunjungan dengan foto",
        "Visits with a photo",
    ),
    ("progress.returned", "Dikembalikan", "Returned"),
    ("progress.revisit", "Perlu dikunjungi ulang", "To revisit"),
    (
        "progress.signals",
        "Tanda pemalsuan per pencacah",
        "Signals of fabrication per enumerator",
    ),
    (
        "progress.signals.visits",
        "Kunjungan bertanda",
        "Visits with signals",
    ),
    ("progress.title", "Kemajuan", "Progress"),
    ("progress.visited", "Dikunjungi", "Visited"),
    ("progress.visits", "Kunjungan", "Visits"),
    ("queue.conflicts", "Ada konflik", "Has conflicts"),
    ("queue.count", "kunjungan cocok", "matching visits"),
    (
        "queue.empty",
        "Tidak ada kunjungan yang cocok.",
        "No matching visits.",
    ),
    (
        "queue.evidence",
        "Bukti kurang (GPS atau foto)",
        "Evidence missing (GPS or photo)",
    ),
    ("queue.filter", "Saring", "Filter"),
    ("queue.has_errors", "Ada kesalahan", "Has errors"),
    ("queue.has_notes", "Ada catatan", "Has notes"),
    (
        "queue.has_signals",
        "Ada tanda pemalsuan",
        "Has signals of fabrication",
    ),
    ("queue.has_warnings", "Ada peringatan", "Has warnings"),
    ("queue.household", "Rumah tangga", "Household"),
    ("queue.received", "Diterima", "Received"),
    ("queue.title", "Antrean periksa", "Review queue"),
    ("queue.waiting", "Menunggu diperiksa", "Waiting for review"),
    ("status.approved", "Disetujui", "Approved"),
    ("status.conflict", "Konflik", "Conflict"),
    ("status.returned", "Dikembalikan", "Returned"),
    ("status.submitted", "Menunggu", "Waiting"),
    ("visit.accuracy", "akurasi", "accuracy"),
    ("visit.answers", "Jawaban", "Answers"),
    ("visit.approve", "Setujui", "Approve"),
    ("visit.changed", "Berubah", "Changed"),
    (
        "visit.comment",
        "Catatan supervisor untuk pendamping",
        "Supervisor's note for the enumerator",
    ),
    ("visit.decided", "Keputusan tersimpan", "Decision saved"),
    (
        "visit.distance",
        "jarak ke kunjungan lain rumah tangga ini",
        "distance to this household's other visits",
    ),
    ("visit.findings", "Temuan", "Findings"),
    ("visit.gps", "Lokasi GPS", "GPS location"),
    ("visit.history", "Riwayat revisi", "Revision history"),
    (
        "visit.latest_only",
        "Hanya revisi terakhir yang menunggu dapat diputuskan.",
        "Only the latest revision, while waiting, can be decided.",
    ),
    ("visit.member", "Anggota", "Member"),
    (
        "visit.no_changes",
        "tidak ada perubahan jawaban",
        "no answer changed",
    ),
    ("visit.no_field", "(seluruh kunjungan)", "(the whole visit)"),
    ("visit.note", "Catatan pencacah", "Enumerator's note"),
    ("visit.other_visit", "kunjungan lain", "other visit"),
    (
        "visit.paradata",
        "Paradata (dari jejak audit)",
        "Paradata (from the audit trail)",
    ),
    (
        "visit.paradata_changed",
        "Jawaban diubah setelah diisi",
        "Answers changed after entry",
    ),
    (
        "visit.paradata_confirmed",
        "Data registrasi dikonfirmasi tanpa perubahan",
        "Registered answers confirmed unchanged",
    ),
    ("visit.paradata_duration", "Lama pengisian", "Duration"),
    (
        "visit.paradata_gps_final",
        "GPS saat selesai",
        "GPS at finalising",
    ),
    ("visit.paradata_gps_start", "GPS pertama", "First GPS fix"),
    (
        "visit.paradata_none",
        "Tidak ada jejak audit untuk revisi ini.",
        "No audit trail for this revision.",
    ),
    (
        "visit.paradata_sections",
        "Waktu per bagian",
        "Time per section",
    ),
    ("visit.photo_not_arrived", "belum tiba", "not arrived yet"),
    ("visit.photos", "Foto", "Photos"),
    (
        "visit.photos_pending",
        "Foto yang belum tiba masih di HP pencacah; terkirim saat HP sinkron.",
        "Photos not arrived yet are still on the enumerator's phone; they come with its next sync.",
    ),
    ("visit.pin", "Sematkan ke isian", "Pin to field"),
    (
        "visit.received",
        "Diterima server",
        "Received by the server",
    ),
    (
        "visit.return",
        "Kembalikan untuk diperbaiki",
        "Return for correction",
    ),
    ("visit.review", "Keputusan", "Decision"),
    ("visit.revision", "Revisi", "Revision"),
    ("visit.roster", "Daftar anggota", "Roster"),
    ("visit.title", "Kunjungan", "Visit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_without_duplicates_so_lookups_find_every_key() {
        for pair in TEXTS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        let id = Tr::new(Lang::Id);
        let en = Tr::new(Lang::En);
        for (key, text_id, text_en) in TEXTS {
            assert_eq!(id.get(key), *text_id);
            assert_eq!(en.get(key), *text_en);
        }
    }

    #[test]
    fn every_key_a_template_uses_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console/templates");
        let mut missing = Vec::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t.get(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                seen += 1;
                if TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)).is_err() {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(seen > 50, "templates use the table ({seen} uses)");
        assert!(missing.is_empty(), "keys missing from TEXTS: {missing:?}");
    }
}
