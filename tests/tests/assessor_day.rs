//! A TKSK assessor's day as `make demo` shows it (`tepat_e2e::assessor_day`, issue 15): an urgent Satgas report,
//! the PPKS asesmen opened from it, two more asesmen, typed through the real core on an enrolled phone and synced
//! over 2G and HTTPS. The supervisor pulls all four, the asesmen names its report (`laporan_id`, also a column
//! of the asesmen's CSV export), and progress gives the assessor no daily target.

use tepat_e2e::assessor_day::{self, PPKS_FORM, SATGAS_FORM};
use tepat_e2e::field::Field;

#[test]
fn a_tksk_s_report_and_its_asesmen_reach_the_supervisor_linked() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 2027).unwrap();
    let day = assessor_day::run(&mut field, ("tksk01", "Agus Salim"), &mut |line| {
        eprintln!("{line}")
    })
    .unwrap();
    eprintln!("{day:#?}");
    // On the phone: the report listed with its urgency and its asesmen started; no target of 12.
    assert_eq!(day.case_list.len(), 4, "{:?}", day.case_list);
    let report_line = day
        .case_list
        .iter()
        .find(|l| l.starts_with("Laporan Satgas Tanggap Cepat: "))
        .unwrap_or_else(|| panic!("{:?}", day.case_list));
    assert!(report_line.contains("urgensi darurat"), "{report_line}");
    assert!(
        report_line.ends_with("Asesmen sudah dimulai"),
        "{report_line}"
    );
    assert_eq!(day.progress_text, "4 kunjungan selesai hari ini");
    // The report's data held: prefilled answers confirmed as they stood or changed by the asesmen, none left.
    assert!(
        day.prefill_review.get("confirmed").copied().unwrap_or(0) >= 5,
        "{:?}",
        day.prefill_review
    );
    assert!(
        !day.prefill_review.contains_key("left unconfirmed"),
        "{:?}",
        day.prefill_review
    );

    let pulled = field.supervisor.pull_all().unwrap();
    let lines = assessor_day::summary(&pulled, &day).unwrap();
    assert_eq!(lines.len(), 5, "{lines:?}");
    let theirs: Vec<_> = pulled.iter().filter(|v| v.user_id == "tksk01").collect();
    assert_eq!(theirs.len(), 4);
    for v in &theirs {
        assert_eq!(v.visit.assignment_id, None, "cases without an assignment");
        let errors: Vec<_> = v
            .findings
            .iter()
            .filter(|f| f.level == tepat_form::Level::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", v.visit.form_id);
    }
    assert_eq!(
        theirs
            .iter()
            .filter(|v| v.visit.form_id == SATGAS_FORM)
            .count(),
        1
    );

    // Progress: the TKSK's days have no target; the form's own rows.
    let progress = field.supervisor.progress().unwrap();
    let days: Vec<_> = progress
        .enumerator_days
        .iter()
        .filter(|d| d.user_id == "tksk01")
        .map(|d| (d.form_id.as_str(), d.visits, d.target))
        .collect();
    assert_eq!(days, [(PPKS_FORM, 3, None), (SATGAS_FORM, 1, None)]);

    // The export joins them: the asesmen's laporan_id column holds the report's id.
    let csv = dir.path().join("asesmen.csv");
    field
        .supervisor
        .export("households", PPKS_FORM, &csv)
        .unwrap();
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = header
        .iter()
        .position(|c| c == "laporan_id")
        .unwrap_or_else(|| panic!("{header:?}"));
    let linked: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().get(column).unwrap_or("").to_string())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(linked, [day.report.to_string()]);
    field.server.stop().unwrap();
}
