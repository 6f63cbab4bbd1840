//! Synthetic 6T monitoring visits (`schemas/forms/monitoring_6t.json`): a pendamping PKH or a TKSK at a
//! distribution point (e-Warong, bank agent, post office, bank branch) on distribution day, interviewing a few KPM.
//! Most KPM got what was due, on time, with papers in order; some did not, and the problems recorded are exactly
//! the criteria that failed (the form's `problems_recorded` rule), so every visit validates with no finding.

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use super::family::{birth_date_for_age, nik_for};
use super::names;
use super::visit::{photo, weighted};
use tepat_form::identity::{self, Sex};
use tepat_protocol::Answers;

/// What went wrong for one KPM (at most one lapse each, so each problem code has one cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lapse {
    /// Everything as due.
    #[default]
    None,
    /// Not on this stage's list, yet collected (tepat sasaran not met).
    NotOnList,
    /// Less money or goods than due (tepat jumlah).
    LessThanDue,
    /// Goods of poor quality (tepat kualitas; only where goods are given).
    PoorQuality,
    /// A levy or cut taken (tepat harga).
    Levy,
    /// Made to buy a package (tepat harga).
    ForcedPurchase,
    /// No signature / slip (tepat administrasi).
    NoReceipt,
    /// Not received yet (tepat waktu once the schedule has passed; otherwise unknown).
    NotReceived,
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn date(d: NaiveDate) -> Value {
    Value::String(d.format("%Y-%m-%d").to_string())
}

/// What the KPM is entitled to, by programme: `1` money (PKH), `2` goods (Sembako), `3` both.
fn aid_form(programme: &str) -> &'static str {
    match programme {
        "1" => "1",
        "2" => "2",
        _ => "3",
    }
}

/// The point: kind, name and code as written on site.
fn point(
    rng: &mut impl Rng,
    programme: &str,
    village: &str,
    n: u32,
) -> (&'static str, String, String) {
    let place = tepat_form::region::regions()
        .name(village)
        .unwrap_or("Sejahtera")
        .to_string();
    let digits = village.replace('.', "");
    let kind = match programme {
        "2" => weighted(rng, &[("1", 80), ("2", 20)]),
        "1" => weighted(rng, &[("3", 45), ("2", 35), ("4", 20)]),
        _ => weighted(rng, &[("3", 60), ("1", 40)]),
    };
    let (name, code) = match kind {
        "1" => (
            format!("e-Warong {place} {n}"),
            format!("EW-{digits}-{n:02}"),
        ),
        "2" => {
            let brand = ["BRILink", "Agen46", "Agen Mandiri", "Agen BTN"]
                .choose(rng)
                .copied()
                .unwrap_or("BRILink");
            (
                format!("{brand} {place}"),
                format!("AG{}", rng.random_range(100_000..999_999)),
            )
        }
        "3" => (format!("Kantor Pos {place}"), format!("POS.{digits}")),
        _ => (
            format!("BRI Unit {place}"),
            format!("BRI/{}", rng.random_range(1000..9999)),
        ),
    };
    (kind, name, code)
}

/// One KPM interviewed at the point, with `lapse`. Returns the member's answers.
fn kpm(
    rng: &mut impl Rng,
    lapse: Lapse,
    aid: &str,
    village: &str,
    on: NaiveDate,
    distributed: NaiveDate,
) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let sex = if rng.random_bool(0.8) {
        Sex::Female // the KPM of record is usually the mother
    } else {
        Sex::Male
    };
    let age = rng.random_range(24..70);
    let birth = birth_date_for_age(rng, age, on);
    let culture = names::pick_culture(rng, village.get(..2).unwrap_or("17"));
    let family = names::family_name(rng, culture);
    let name = names::person_name(rng, culture, sex, birth.year(), 0, family);
    m.insert("kpm_name".into(), s(&name));
    let district = village.get(..8).unwrap_or(village);
    if rng.random_bool(0.8) {
        m.insert("kpm_nik".into(), s(&nik_for(rng, district, birth, sex)));
    }
    if rng.random_bool(0.6) {
        let issued = on - Duration::days(rng.random_range(200..4000));
        if let Some(kk) = identity::make_kk(district, issued, rng.random_range(1..=9999)) {
            m.insert("kpm_kk".into(), s(&kk));
        }
    }
    m.insert(
        "on_list".into(),
        s(if lapse == Lapse::NotOnList { "2" } else { "1" }),
    );
    m.insert("aid_form".into(), s(aid));
    let cash = aid == "1" || aid == "3";
    let goods = aid == "2" || aid == "3";
    let cash_due: i64 = [450_000, 600_000, 750_000, 900_000, 1_500_000, 2_250_000]
        .choose(rng)
        .copied()
        .unwrap_or(750_000);
    let goods_due: i64 = if rng.random_bool(0.8) {
        600_000
    } else {
        400_000
    };
    if cash {
        m.insert("cash_due".into(), json!(cash_due));
    }
    if goods {
        m.insert("goods_value_due".into(), json!(goods_due));
    }
    if lapse == Lapse::NotReceived {
        m.insert("received".into(), s("2"));
        // Before the schedule ends, waiting is no lapse of time yet ([`visit`] records a passed schedule).
        m.insert("problems".into(), json!(["8"]));
        m.insert(
            "problem_notes".into(),
            s("KPM belum menerima: saldo belum masuk menurut petugas."),
        );
        return m;
    }
    m.insert("received".into(), s("1"));
    m.insert(
        "collected_by".into(),
        s(weighted(rng, &[("1", 80), ("2", 15), ("3", 5)])),
    );
    m.insert("received_date".into(), date(distributed));
    let short = lapse == Lapse::LessThanDue;
    if cash {
        let cut = if short && !goods {
            rng.random_range(1..=4) * 50_000
        } else {
            0
        };
        m.insert("cash_received".into(), json!(cash_due - cut));
    }
    if goods {
        let mut items = vec!["beras", "telur"];
        for extra in ["ayam", "ikan", "tahu_tempe", "kacang", "sayur", "buah"] {
            if rng.random_bool(0.3) {
                items.push(extra);
            }
        }
        m.insert("goods_items".into(), json!(items));
        m.insert(
            "rice_kg".into(),
            json!(if goods_due >= 600_000 { 15 } else { 10 }),
        );
        let less = if short {
            rng.random_range(1..=6) * 25_000
        } else {
            0
        };
        m.insert("goods_value_received".into(), json!(goods_due - less));
        let quality = if lapse == Lapse::PoorQuality {
            weighted(rng, &[("2", 70), ("3", 30)])
        } else {
            "1"
        };
        m.insert("goods_quality".into(), s(quality));
        m.insert("price_fair".into(), s("1"));
    }
    let levy = lapse == Lapse::Levy;
    m.insert("paid_charge".into(), s(if levy { "1" } else { "2" }));
    if levy {
        m.insert(
            "paid_amount".into(),
            json!(rng.random_range(1..=10) * 5_000),
        );
    }
    m.insert(
        "forced_purchase".into(),
        s(if lapse == Lapse::ForcedPurchase {
            "1"
        } else {
            "2"
        }),
    );
    m.insert("shown_kks".into(), s("1"));
    m.insert("shown_ktp".into(), s("1"));
    m.insert(
        "signed_receipt".into(),
        s(if lapse == Lapse::NoReceipt { "2" } else { "1" }),
    );
    m.insert("data_match".into(), s("1"));
    let (problem, note) = match lapse {
        Lapse::None => ("0", None),
        Lapse::NotOnList => ("1", Some("Nama tidak ada di daftar penerima tahap ini.")),
        Lapse::LessThanDue => ("2", Some("Jumlah yang diterima kurang dari hak KPM.")),
        Lapse::PoorQuality => ("4", Some("Beras berkutu dan telur sebagian pecah.")),
        Lapse::Levy => ("5", Some("Diminta uang 'administrasi' oleh petugas.")),
        Lapse::ForcedPurchase => ("6", Some("Harus membeli paket minyak goreng.")),
        Lapse::NoReceipt => ("9", Some("Tidak ada tanda terima atau struk.")),
        Lapse::NotReceived => ("3", None),
    };
    m.insert("problems".into(), json!([problem]));
    if let Some(note) = note {
        m.insert("problem_notes".into(), s(note));
    }
    m
}

/// The answers of one monitoring visit at a point in `village`, on `on`. `late`: the point paid out after its
/// schedule ended (every KPM who received was paid late).
pub(crate) fn visit(
    rng: &mut impl Rng,
    village: &str,
    work_area: &str,
    on: NaiveDate,
    visit_key: &str,
    lapses: &[Lapse],
    late: bool,
) -> Answers {
    let mut a = Answers::new();
    a.insert(
        "monitor_role".into(),
        s(weighted(rng, &[("1", 70), ("2", 30)])),
    );
    let programme = weighted(rng, &[("1", 40), ("2", 45), ("3", 15)]);
    a.insert("programme".into(), s(programme));
    a.insert("period_year".into(), json!(on.year()));
    a.insert(
        "period_stage".into(),
        s(&((on.month0() / 3) + 1).to_string()),
    );
    let distributed = on - Duration::days(rng.random_range(0..=2));
    a.insert("distribution_date".into(), date(distributed));
    let schedule_end = if late {
        distributed - Duration::days(rng.random_range(3..=20))
    } else {
        distributed + Duration::days(rng.random_range(0..=14))
    };
    a.insert("schedule_end".into(), date(schedule_end));
    let number = rng.random_range(1..=12);
    let (kind, name, code) = point(rng, programme, village, number);
    a.insert("point_type".into(), s(kind));
    a.insert("point_name".into(), s(&name));
    a.insert("point_code".into(), s(&code));
    if !work_area.is_empty() {
        a.insert("work_area".into(), s(work_area));
    }
    a.insert("region".into(), s(village));
    let street = names::STREETS.choose(rng).copied().unwrap_or("Jl. Merdeka");
    a.insert(
        "point_address".into(),
        s(&format!("{street} No. {}", rng.random_range(1..=150))),
    );
    let (lat, lon, _) = super::geo::fix(rng, village);
    let accuracy = (rng.random_range(3.0..15.0_f64) * 10.0).round() / 10.0;
    a.insert(
        "gps".into(),
        json!({"lat": lat, "lon": lon, "accuracy_m": accuracy}),
    );
    a.insert(
        "photo_point".into(),
        photo(visit_key, "point", on, rng.random_range(1..9000)),
    );
    if kind == "1" {
        a.insert(
            "point_pedum".into(),
            s(weighted(rng, &[("1", 85), ("9", 15)])),
        );
    }
    let aid = aid_form(programme);
    let goods = aid != "1";
    let members: Vec<Value> = lapses
        .iter()
        .map(|lapse| {
            // Quality is judged only where goods are given.
            let lapse = match lapse {
                Lapse::PoorQuality if !goods => Lapse::LessThanDue,
                other => *other,
            };
            let mut member = kpm(rng, lapse, aid, village, on, distributed);
            if late && lapse != Lapse::NotReceived {
                // Paid after the schedule: tepat waktu not met, recorded beside any other problem.
                let mut problems: Vec<Value> = member
                    .get("problems")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| p != "0")
                    .collect();
                problems.push(s("3"));
                member.insert("problems".into(), Value::Array(problems));
                member
                    .entry("problem_notes")
                    .or_insert_with(|| s("Penyaluran melewati jadwal tahap ini."));
            }
            if lapse == Lapse::NotReceived && schedule_end < on {
                // The schedule has passed while the KPM still waits: late, recorded as such.
                member.insert("problems".into(), json!(["3"]));
            }
            Value::Object(member)
        })
        .collect();
    a.insert("kpm".into(), Value::Array(members));
    if rng.random_bool(0.3) {
        a.insert(
            "monitor_notes".into(),
            s("Antrean tertib, petugas bank hadir sejak pagi."),
        );
    }
    a
}

/// Draws the lapses of a point's `n` KPM: most have none.
pub(crate) fn lapses(rng: &mut impl Rng, n: usize) -> Vec<Lapse> {
    (0..n)
        .map(|_| {
            weighted(
                rng,
                &[
                    (Lapse::None, 72),
                    (Lapse::NotOnList, 3),
                    (Lapse::LessThanDue, 6),
                    (Lapse::PoorQuality, 5),
                    (Lapse::Levy, 4),
                    (Lapse::ForcedPurchase, 3),
                    (Lapse::NoReceipt, 3),
                    (Lapse::NotReceived, 4),
                ],
            )
        })
        .collect()
}

impl super::Generator {
    /// A 6T monitoring visit at a distribution point in a village under `region` (no assignment: a pendamping
    /// PKH or TKSK starts it), 3–8 KPM interviewed, most with no lapse; one point in ten paid out late.
    pub fn monitoring_visit(
        &mut self,
        region: &str,
    ) -> Result<tepat_protocol::VisitDoc, super::SynthError> {
        let n = self.rng.random_range(3..=8);
        let lapses = lapses(&mut self.rng, n);
        let late = self.rng.random_bool(0.1);
        self.monitoring_visit_with(region, &lapses, late)
    }

    /// A 6T monitoring visit whose KPM have these `lapses` (one KPM each), `late` if the point paid out after
    /// its schedule. Every such visit validates with no finding.
    pub fn monitoring_visit_with(
        &mut self,
        region: &str,
        lapses: &[Lapse],
        late: bool,
    ) -> Result<tepat_protocol::VisitDoc, super::SynthError> {
        let village = self.village(region)?;
        let (visit_id, times) = self.identity_and_times();
        let answers = visit(
            &mut self.rng,
            &village,
            &super::regency_of(region),
            self.visit_date,
            &visit_id.to_string(),
            lapses,
            late,
        );
        Ok(tepat_protocol::VisitDoc {
            visit_id,
            revision: 1,
            form_id: super::MONITORING_FORM.0.to_string(),
            form_version: super::MONITORING_FORM.1,
            assignment_id: None,
            visit_date: self.visit_date,
            answers,
            warning_notes: Default::default(),
            prefill_review: Default::default(),
            device_times: times,
        })
    }
}
