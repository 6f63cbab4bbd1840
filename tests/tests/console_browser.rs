//! The web console in a real browser (Debian's headless `chromium`, driven by playwright-core from npm:
//! `tests/console/console.mjs`), against the real server with a simulated phone through the real core:
//! the supervisor logs in, filters the queue, opens a visit and returns it with a comment pinned to a field; the
//! phone receives it and sends a correction; the supervisor approves revision 2; the admin imports an assignment
//! file with an error and creates an enrolment code, which enrols a new phone. Security: answers holding
//! `<script>`/`<img onerror>` render as text, a POST without the CSRF token is refused, a supervisor of another
//! region gets 404 by URL (the visit and its photo), and the session cookie is refused after log-out. The visit
//! page shows the photos that reached the server as previews that load (each linking to the photo) and marks the
//! others "belum tiba". Every page weighs ≤ 200 KB on first load (HTML, stylesheet, script and images).
//!
//! Screenshots go to `target/console-screenshots/` (or `$TEPAT_CONSOLE_SHOTS`). Needs `chromium` and
//! `npm ci --prefix tests/console` (`make test` does both; see tests/README.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use tepat_app::ItemStatus;
use tepat_e2e::field::{Field, REGION, SUPERVISOR, morning};
use tepat_e2e::phone::Phone;
use tepat_runtime::{Clock, FixedClock};
use tepat_store::VisitState;
use tepat_synth::Outcome;

const PASSWORD: &str = "sandi-konsol-2026";
/// The simulated camera's photo size: made ready to send by `tepat-photo` like a real one.
const CAMERA: (u32, u32) = (1200, 900);
const PAYLOAD: &str = "Jl. <script>alert(1)</script> <img src=x onerror=alert(2)>";

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console")
}

fn shots_dir() -> PathBuf {
    std::env::var_os("TEPAT_CONSOLE_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
                .join("console-screenshots")
        })
}

/// Runs one phase of the browser scenario; its JSON result.
fn browser(phase: &str, cfg: &Value) -> Value {
    let script = console_dir().join("console.mjs");
    assert!(
        console_dir().join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci --prefix tests/console` (make test does)"
    );
    let chromium = std::env::var("TEPAT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: apt-get install -y chromium (make test does, as root)"
    );
    let mut cfg = cfg.clone();
    cfg["chromium"] = json!(chromium);
    let output = Command::new("node")
        .arg(&script)
        .arg(phase)
        .env("TEPAT_CONSOLE", cfg.to_string())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "{phase}: no result ({e}); stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        output.status.success() && result["ok"] == json!(true),
        "{phase}: {}",
        result["error"].as_str().unwrap_or(line)
    );
    eprintln!("console {phase}: {result}");
    result
}

#[test]
fn the_supervisor_returns_and_approves_in_a_browser_and_the_phone_follows() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start_plain_http(dir.path(), 61).unwrap();
    field.add_enumerators(&["Sri Wahyuni"], 3, &[]).unwrap();
    let assignments = field.enumerators[0].assignments.clone();
    // Photos are camera JPEGs: those of the first two visits reach the server, the third's stay on the phone.
    field.enumerators[0]
        .phone
        .use_camera(CAMERA.0, CAMERA.1, false);
    let mut entered = Vec::new();
    for (i, a) in assignments.iter().enumerate() {
        let mut doc = field.visit_for(a, Outcome::Found).unwrap();
        if i == 1 {
            doc.answers.insert("street_address".into(), json!(PAYLOAD));
        }
        let phone = &field.enumerators[0].phone;
        if i == 2 {
            phone.sync_until_clean(3).unwrap();
            let report = phone.upload_photos();
            assert!(
                phone.waiting_photos().unwrap().is_empty(),
                "photos still waiting: {report:?}"
            );
        }
        entered.push(phone.enter(&a.assignment_id, &doc).unwrap());
    }
    let phone = &field.enumerators[0].phone;
    phone.sync_until_clean(3).unwrap();
    assert!(
        !phone.waiting_photos().unwrap().is_empty(),
        "the third visit's photos wait on the phone"
    );

    field.admin.set_password(SUPERVISOR, PASSWORD).unwrap();
    field
        .admin
        .create_user(
            "korkab1701",
            "Korkab Bengkulu Selatan",
            "supervisor",
            &["17.01"],
        )
        .unwrap();
    field.admin.set_password("korkab1701", PASSWORD).unwrap();
    field
        .admin
        .create_user("dinsos", "Operator Dinas Sosial", "admin", &[])
        .unwrap();
    field.admin.set_password("dinsos", PASSWORD).unwrap();

    let shots = shots_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let rev1 = &entered[0];
    let assignment = &assignments[0];
    let comment = "Alamat kurang lengkap: tambahkan nomor rumah";
    let bad_csv = dir.path().join("tugas-salah.csv");
    std::fs::write(
        &bad_csv,
        format!(
            "assignment_id,user_id,form_id,form_version,region_code,label\n\
             BARU-1,pkh01,dtsen_groundcheck,1,{village},Keluarga baru\n\
             BARU-2,pkh01,dtsen_groundcheck,1,{REGION}.01.9999,Desa tidak ada\n",
            village = assignment.region_code
        ),
    )
    .unwrap();
    let mut cfg = json!({
        "base": field.server.url(),
        "shots": shots,
        "supervisor": SUPERVISOR,
        "other_supervisor": "korkab1701",
        "admin": "dinsos",
        "password": PASSWORD,
        "enumerator": "pkh01",
        "village": assignment.region_code,
        "visit": rev1.visit_id.to_string(),
        "xss_visit": entered[1].visit_id.to_string(),
        "xss_payload": PAYLOAD,
        "missing_photo_visit": entered[2].visit_id.to_string(),
        "comment": comment,
        "field": "street_address",
        "bad_csv": bad_csv,
    });

    let returned = browser("return", &cfg);
    assert_eq!(returned["total"], json!(3));
    assert_eq!(returned["no_csrf_status"], json!(403));
    assert!(returned["photos"]["previews"].as_u64().unwrap() >= 1);

    // The phone, through the real core, receives the return with the supervisor's words.
    phone.sync_until_clean(3).unwrap();
    assert_eq!(
        phone.status(&assignment.assignment_id).unwrap(),
        Some(ItemStatus::Returned)
    );
    assert_eq!(
        phone.supervisor_comment(rev1.visit_id).unwrap().as_deref(),
        Some(comment)
    );
    // The comment is pinned to the address: the visit screen shows it at that field.
    assert_eq!(
        phone
            .comment_at_field(&assignment.assignment_id, "street_address")
            .unwrap()
            .as_deref(),
        Some(comment)
    );
    let corrected = format!(
        "{} No. 12A",
        rev1.answers["street_address"].as_str().unwrap()
    );
    let rev2 = phone
        .correct(&assignment.assignment_id, "street_address", &corrected)
        .unwrap();
    assert_eq!(rev2.revision, 2);
    phone.sync_until_clean(3).unwrap();

    cfg["corrected"] = json!(corrected);
    cfg["photo_link"] = returned["photos"]["link"].clone();
    let approved = browser("approve", &cfg);
    assert_eq!(approved["other_region_status"], json!(404));
    assert_eq!(approved["other_region_photo_status"], json!(404));
    assert_eq!(approved["after_logout_status"], json!(303));
    for (page, bytes) in approved["weights"]
        .as_object()
        .unwrap()
        .iter()
        .chain(returned["weights"].as_object().unwrap())
    {
        assert!(
            bytes.as_u64().unwrap() <= 200 * 1024,
            "{page}: {bytes} bytes"
        );
    }
    phone.sync_until_clean(3).unwrap();
    assert_eq!(
        phone.visit_state(rev1.visit_id).unwrap(),
        (2, VisitState::Approved)
    );

    // The code the admin made in the browser enrols a new phone.
    let code = approved["code"].as_str().unwrap();
    let clock = Arc::new(FixedClock::new(
        morning(field.generator.visit_date()).unwrap(),
    ));
    let new_phone = Phone::open(
        &dir.path().join("hp-baru"),
        &field.server.url(),
        clock as Arc<dyn Clock>,
    )
    .unwrap();
    new_phone.enrol(code, "HP baru").unwrap();
    eprintln!("screenshots: {}", shots.display());
}
