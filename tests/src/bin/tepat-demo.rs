//! `make demo`: one field day in Kota Bengkulu, end to end, on this machine.
//!
//! A server on an embedded SQLite database in a temporary directory; a supervisor and four enumerators
//! (Pendamping PKH) with 12 assigned households each, imported from CSV through the admin CLI; a field day on
//! each phone while offline, through the real core; the link back over a slow, flaky 2G connection; the
//! supervisor's pull, one visit returned for correction, fixed on the phone, re-sent and approved; a fifth
//! enumerator's day with photos (12 households, front and living room each) whose answers go first and whose
//! photos follow over the same 2G link while it drops, arriving at the supervisor byte-identical and once
//! (`tepat_e2e::photo_day`); a TKSK assessor's day in the same region: an urgent Satgas Tanggap Cepat report, the
//! PPKS asesmen opened from it (with the report's data) and two more asesmen of other clients, synced over the
//! same 2G link; a summary, with the report → asesmen link as the supervisor pulls and exports it.
//! Everything goes over HTTPS: the server serves a certificate from a throw-away CA made for the run, which
//! the phones and the supervisor pin.
//!
//! At the end it prints the web console's address and a supervisor's login and keeps the server running until
//! Enter is pressed — only when stdin is a terminal, and not with `--no-wait` or `TEPAT_DEMO_WAIT=0`, so CI and
//! scripts never block.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tepat_e2e::Error;
use tepat_e2e::assessor_day;
use tepat_e2e::field::{Field, REGION, SUPERVISOR};
use tepat_e2e::photo_day;
use tepat_e2e::proxy::{Cut, Link};
use tepat_protocol::{Decision, PrefillReview, ReviewStatus};
use tepat_runtime::WireStats;
use tepat_synth::Outcome;

const ENUMERATORS: [&str; 4] = [
    "Siti Rahma",
    "Bambang Supriadi",
    "Yuliana Putri",
    "Rudi Hartono",
];
const HOUSEHOLDS: usize = 12;
/// The enumerator whose day is photographed (section 6).
const PHOTO_ENUMERATOR: &str = "Dewi Lestari";
/// The TKSK assessor of section 7 (user id, name).
const ASSESSOR: (&str, &str) = ("tksk01", "Agus Salim");
const DTSEN_FORM: &str = "dtsen_groundcheck";
/// The supervisor's web console password in the demo (a demo only: the data is synthetic and local).
const CONSOLE_PASSWORD: &str = "korkab-demo-2026";

/// Whether to keep the server running for a look at the console: a person at a terminal, not told otherwise.
fn wait_for_enter() -> bool {
    let told_not_to = std::env::args().any(|a| a == "--no-wait")
        || std::env::var("TEPAT_DEMO_WAIT").is_ok_and(|v| v == "0");
    !told_not_to && std::io::stdin().is_terminal()
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\ndemo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn outcome_name(code: &str) -> &'static str {
    match code {
        "1" => "found (ditemukan)",
        "0" => "not found (tidak ditemukan)",
        "3" => "died (meninggal)",
        "4" => "not eligible (tidak memenuhi syarat)",
        "5" => "not reachable (tidak dapat ditemui)",
        "6" => "refused (menolak)",
        "7" => "moved (pindah)",
        _ => "other",
    }
}

/// A day's outcomes: mostly found, one not found, one moved, one not reachable, exactly one refused.
fn day_outcomes(rng: &mut StdRng) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Found; HOUSEHOLDS];
    for (slot, outcome) in outcomes.iter_mut().zip([
        Outcome::Refused,
        Outcome::NotFound,
        Outcome::Moved,
        Outcome::NotReachable,
    ]) {
        *slot = outcome;
    }
    outcomes.shuffle(rng);
    outcomes
}

fn run() -> Result<(), Error> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("tepat-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("Tepat demo — one field day in Kota Bengkulu (region {REGION})\n");

    println!("1. Server");
    let mut field = Field::start(&dir, 2026)?;
    println!(
        "   tepat-server is running on {} with its SQLite database in {}",
        field.server.url(),
        field.server.data().display()
    );
    if let Some(tls) = &field.tls {
        println!(
            "   HTTPS (TLS 1.2+): its certificate comes from a throw-away CA made for this run ({}); the phones \
             and the supervisor trust only that CA",
            tls.ca.display()
        );
    }
    println!(
        "   forms published: DTSEN ground check v1, PPKS asesmen v3, Satgas Tanggap Cepat report v1; supervisor: \
         Korkab Kota Bengkulu"
    );

    println!("\n2. Enumerators and their assignments");
    // Registered families: each assignment carries the members DTSEN holds, so the roster opens prefilled.
    field.registered_families = true;
    field.add_enumerators(&ENUMERATORS, HOUSEHOLDS, &[])?;
    for e in &field.enumerators {
        println!(
            "   {:<18} ({}) — {} registered households (+ members) imported from CSV, phone enrolled and synced",
            e.name,
            e.user_id,
            e.assignments.len()
        );
    }

    println!("\n3. A field day with no signal");
    field.proxy.set_offline(true)?;
    let mut rng = StdRng::seed_from_u64(17);
    let mut entered = BTreeMap::new();
    for i in 0..field.enumerators.len() {
        let outcomes = day_outcomes(&mut rng);
        let assignments = field.enumerators[i].assignments.clone();
        let mut mix: BTreeMap<&str, u32> = BTreeMap::new();
        for (assignment, outcome) in assignments.iter().zip(outcomes) {
            let doc = field.visit_for(assignment, outcome)?;
            let frozen = field.enumerators[i]
                .phone
                .enter(&assignment.assignment_id, &doc)?;
            *mix.entry(outcome_name(outcome.code())).or_default() += 1;
            entered.insert(frozen.visit_id, (i, frozen));
        }
        let e = &field.enumerators[i];
        let view = e.phone.sync();
        let mix: Vec<String> = mix.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "   {:<18} {} visits: {}",
            e.name,
            HOUSEHOLDS,
            mix.join(", ")
        );
        println!(
            "   {:<18} tried to sync: \"{}\"",
            "",
            view.last_error.unwrap_or_default()
        );
    }

    println!("\n4. Back in signal: a slow, flaky 2G link (30 kB/s, 300 ms, connections dropping)");
    if field.tls.is_some() {
        println!(
            "   every sync is HTTPS to {}; the link cuts TLS records mid-way",
            field.phone_url()
        );
    }
    field.proxy.set_offline(false)?;
    field.proxy.set_link(Link::edge());
    // The first connections break half-way, one on the way up and one on the way back.
    field.proxy.plan_cuts([
        Some(Cut::Up(2_500)),
        Some(Cut::Down(300)),
        None,
        Some(Cut::Up(900)),
    ]);
    let link_start = field.proxy.stats();
    let phones_start: Vec<WireStats> = field.enumerators.iter().map(|e| e.phone.wire()).collect();
    let sync_started = Instant::now();
    for e in &field.enumerators {
        let attempts = e.phone.sync_until_clean(10)?;
        println!("   {:<18} outbox empty after {attempts} sync(s)", e.name);
    }
    let flaky = field.proxy.stats();
    let (mut round_trips, mut failed) = (0, 0);
    for (e, before) in field.enumerators.iter().zip(&phones_start) {
        let after = e.phone.wire();
        round_trips += after.round_trips - before.round_trips;
        failed += after.failed_round_trips - before.failed_round_trips;
    }
    println!(
        "   {} connections, {} cut mid-way; {:.1} s for all four phones",
        flaky.connections - link_start.connections,
        flaky.cuts - link_start.cuts,
        sync_started.elapsed().as_secs_f64()
    );
    field.proxy.set_link(Link::default());

    println!("\n5. The supervisor");
    let pulled = field.supervisor.pull_all()?;
    let submitted = pulled
        .iter()
        .filter(|v| v.status == ReviewStatus::Submitted)
        .count();
    println!(
        "   pulled {} visits ({} waiting for review), {} expected",
        pulled.len(),
        submitted,
        entered.len()
    );
    if pulled.len() != entered.len() {
        return Err(Error::Setup(format!(
            "the supervisor sees {} visits, {} were entered",
            pulled.len(),
            entered.len()
        )));
    }
    let found = pulled
        .iter()
        .find(|v| {
            v.visit
                .answers
                .get("visit_outcome")
                .and_then(|o| o.as_str())
                == Some("1")
        })
        .ok_or_else(|| Error::Setup("no visit found a family".into()))?;
    let visit_id = found.visit.visit_id;
    let (who, rev1) = entered
        .get(&visit_id)
        .cloned()
        .ok_or_else(|| Error::Setup("pulled a visit nobody entered".into()))?;
    let comment = "Alamat kurang lengkap: tambahkan nomor rumah";
    field
        .supervisor
        .review(visit_id, 1, Decision::Return, comment)?;
    let enumerator = &field.enumerators[who];
    println!(
        "   returned one of {}'s visits: \"{comment}\"",
        enumerator.name
    );
    enumerator.phone.sync_until_clean(5)?;
    let on_phone = enumerator.phone.supervisor_comment(visit_id)?;
    println!(
        "   {}'s phone shows it as returned, with the comment: \"{}\"",
        enumerator.name,
        on_phone.unwrap_or_default()
    );
    let assignment_id = rev1.assignment_id.clone().unwrap_or_default();
    let address = rev1
        .answers
        .get("street_address")
        .and_then(|a| a.as_str())
        .unwrap_or_default();
    let rev2 = enumerator.phone.correct(
        &assignment_id,
        "street_address",
        &format!("{address} No. 12A"),
    )?;
    enumerator.phone.sync_until_clean(5)?;
    println!(
        "   corrected on the phone and sent again as revision {}",
        rev2.revision
    );
    field
        .supervisor
        .review(visit_id, rev2.revision, Decision::Approve, "")?;
    enumerator.phone.sync_until_clean(5)?;
    let (revision, state) = enumerator.phone.visit_state(visit_id)?;
    println!("   approved; the phone now shows revision {revision} as {state}");

    println!(
        "\n6. Photos over 2G: {PHOTO_ENUMERATOR}'s day, {} households with the front of the house and the living \
         room each",
        photo_day::VISITS
    );
    let photos = photo_day::run(&mut field, PHOTO_ENUMERATOR, 13, &mut |line| {
        println!("   {line}")
    })?;
    let photo_user = &photos.user_id;
    println!(
        "   the supervisor's progress for {photo_user}: {}/{} photos arrived, {}/{} visits with every photo",
        photos.held.supervisor.photos_arrived,
        photos.held.supervisor.photos,
        photos.held.supervisor.visits_complete,
        photos.held.supervisor.visits_with_photos
    );
    println!(
        "   on the server: {} of {} photos byte-identical (the stored file and the supervisor's download), {} \
         stored, no upload left open",
        photos.held.byte_identical, photos.photos, photos.held.stored_rows
    );
    if !photos.all_arrived_once() {
        return Err(Error::Setup(format!(
            "the photos did not all arrive exactly once: {photos:?}"
        )));
    }

    println!(
        "\n7. A TKSK assessor's day: a Satgas Tanggap Cepat report, the PPKS asesmen it asks for, two more asesmen"
    );
    let tksk_day = assessor_day::run(&mut field, ASSESSOR, &mut |line| println!("   {line}"))?;

    let exports = dir.join("exports");
    std::fs::create_dir_all(&exports)?;
    let households = exports.join("households.csv");
    let members = exports.join("members.csv");
    let findings = exports.join("findings.csv");
    let codebook = exports.join("codebook.csv");
    for (table, file) in [
        ("households", &households),
        ("members", &members),
        ("findings", &findings),
        ("codebook", &codebook),
    ] {
        field.supervisor.export(table, "dtsen_groundcheck", file)?;
    }
    // The assessor's forms: one row a visit; the asesmen's `laporan_id` column names the report it follows.
    let reports_csv = exports.join("satgas_laporan.csv");
    let asesmen_csv = exports.join("ppks_asesmen.csv");
    field
        .supervisor
        .export("households", assessor_day::SATGAS_FORM, &reports_csv)?;
    field
        .supervisor
        .export("households", assessor_day::PPKS_FORM, &asesmen_csv)?;
    let linked = std::fs::read_to_string(&asesmen_csv)?;
    let header_has_link = linked
        .lines()
        .next()
        .is_some_and(|h| h.split(',').any(|c| c == "laporan_id"));
    if !header_has_link || !linked.contains(&tksk_day.report.to_string()) {
        return Err(Error::Setup(format!(
            "the asesmen export does not name the report {} in a laporan_id column",
            tksk_day.report
        )));
    }

    println!("\nSummary");
    let pulled = field.supervisor.pull_all()?;
    // The households (DTSEN ground checks); the assessor's visits are summed up below them.
    let latest: BTreeMap<_, _> = pulled
        .iter()
        .filter(|v| v.visit.form_id == DTSEN_FORM)
        .map(|v| (v.visit.visit_id, v))
        .collect::<BTreeMap<_, _>>();
    let mut by_outcome: BTreeMap<&str, u32> = BTreeMap::new();
    for v in latest.values() {
        let code = v
            .visit
            .answers
            .get("visit_outcome")
            .and_then(|o| o.as_str())
            .unwrap_or("?");
        *by_outcome.entry(outcome_name(code)).or_default() += 1;
    }
    println!("   visits by outcome ({} households):", latest.len());
    for (outcome, n) in &by_outcome {
        println!("     {n:>3}  {outcome}");
    }
    // What became of the registered record's answers (the assignments' prefill), as the supervisor sees it.
    let mut reviews: BTreeMap<&str, u32> = BTreeMap::new();
    for v in latest.values() {
        for review in v.visit.prefill_review.values() {
            let said = match review {
                PrefillReview::Confirmed => "confirmed unchanged",
                PrefillReview::Changed => "changed",
                PrefillReview::Unconfirmed => "left unconfirmed",
            };
            *reviews.entry(said).or_default() += 1;
        }
    }
    let reviews: Vec<String> = reviews.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "   registered answers (prefilled from DTSEN): {}",
        reviews.join(", ")
    );
    let progress = field.supervisor.progress()?;
    println!(
        "   progress against {} visits a day:",
        progress.daily_target
    );
    for day in &progress.enumerator_days {
        let bar = "#".repeat(day.visits.min(30) as usize);
        match day.target {
            Some(target) => println!(
                "     {:<18} {}  {:>2}/{target}  {bar}",
                day.name, day.date, day.visits
            ),
            None => println!(
                "     {:<18} {}  {:>2} {} (no daily target: a TKSK's asesmen take what they take)",
                day.name, day.date, day.visits, day.form_id
            ),
        }
    }
    for line in assessor_day::summary(&pulled, &tksk_day)? {
        println!("   {line}");
    }
    let framing = if field.tls.is_some() {
        "TLS and HTTP"
    } else {
        "HTTP"
    };
    println!(
        "   the day's sync over 2G: {:.1} kB up, {:.1} kB down (every byte on the wire, {framing} included), \
         {round_trips} round trips, {failed} of them cut and retried",
        (flaky.bytes_up - link_start.bytes_up) as f64 / 1000.0,
        (flaky.bytes_down - link_start.bytes_down) as f64 / 1000.0,
    );
    println!(
        "   photos over 2G: {} photos ({:.2} MB ready to send, from {:.1} MB out of the camera) took {:.2} MB up \
         ({:.3}× the photos) in {:.0} s with {} drops; {}/{} at the supervisor, each byte-identical and stored once",
        photos.photos,
        photos.photo_bytes as f64 / 1e6,
        photos.camera_bytes as f64 / 1e6,
        photos.upload.bytes_up as f64 / 1e6,
        photos.upload.bytes_up as f64 / photos.photo_bytes.max(1) as f64,
        photos.upload.seconds,
        photos.upload.drops,
        photos.held.supervisor.photos_arrived,
        photos.photos
    );
    println!(
        "   nothing lost, nothing doubled: {} visits entered, {} on the server, every outbox empty",
        entered.len() + photos.visits,
        latest.len()
    );
    println!("   CSV exports: {}", households.display());
    println!("                {}", members.display());
    println!(
        "                {} (with the enumerators' notes)",
        findings.display()
    );
    println!("   codebook:    {}", codebook.display());
    println!(
        "   the TKSK's:  {} and {} (its laporan_id column names the report)",
        reports_csv.display(),
        asesmen_csv.display()
    );
    println!(
        "   everything (server database, phones, logs) is in {}",
        dir.display()
    );
    field.admin.set_password(SUPERVISOR, CONSOLE_PASSWORD)?;
    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
    println!("\nThe web console (review queue, visits, progress, exports)");
    println!(
        "   open {}/ and log in as {SUPERVISOR} with password {CONSOLE_PASSWORD}",
        field.server.url()
    );
    if let Some(tls) = &field.tls {
        println!(
            "   the certificate comes from this run's throw-away CA ({}): the browser asks once whether to trust it",
            tls.ca.display()
        );
    }
    if wait_for_enter() {
        println!("   the server keeps running: press Enter to stop it");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    } else {
        println!("   (not waiting: stdin is not a terminal, or --no-wait / TEPAT_DEMO_WAIT=0)");
    }
    field.server.stop()?;
    Ok(())
}
