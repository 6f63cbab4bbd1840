//! Filling the DTSEN ground-check form for a [`Family`]: the answers an enumerator would enter.
//!
//! Housing, assets and members are drawn together so that they agree with each other and with the form's rules:
//! no electric appliance without electricity, a ≥5.5 kg cylinder exactly when cooking on LPG 5.5/12 kg, schooling
//! and certificates that fit the age, work only from age 5, caregiver exactly when someone is 60+ or has great
//! difficulty, and so on.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::family::{Family, Person, marital, rel, status};
use super::geo;
use tepat_form::identity::{self, Sex};
use tepat_protocol::{Answers, hex};

/// How a ground-check visit ended (G26 R16, plus Regsosek's refused and moved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Outcome {
    #[default]
    Found,
    NotFound,
    Died,
    NotEligible,
    NotReachable,
    Refused,
    Moved,
    /// Nobody at home today: visited again later.
    NobodyHome,
}

impl Outcome {
    /// The `visit_outcome` code.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Found => "1",
            Outcome::NotFound => "0",
            Outcome::Died => "3",
            Outcome::NotEligible => "4",
            Outcome::NotReachable => "5",
            Outcome::Refused => "6",
            Outcome::Moved => "7",
            Outcome::NobodyHome => "8",
        }
    }

    /// Whether the form asks for a photo of the place (found, not found, refused, moved).
    pub fn needs_photo(self) -> bool {
        matches!(
            self,
            Outcome::Found | Outcome::NotFound | Outcome::Refused | Outcome::Moved
        )
    }

    pub const ALL: [Outcome; 8] = [
        Outcome::Found,
        Outcome::NotFound,
        Outcome::Died,
        Outcome::NotEligible,
        Outcome::NotReachable,
        Outcome::Refused,
        Outcome::Moved,
        Outcome::NobodyHome,
    ];
}

/// Picks one of weighted options (the first, or the default, if the weights are all zero).
pub(crate) fn weighted<T: Copy + Default>(rng: &mut impl Rng, options: &[(T, u32)]) -> T {
    let total: u32 = options.iter().map(|(_, w)| *w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (value, weight) in options {
        if roll < *weight {
            return *value;
        }
        roll -= weight;
    }
    options.first().map(|(v, _)| *v).unwrap_or_default()
}

/// `a` with probability `p`, else `b`.
pub(crate) fn either(rng: &mut impl Rng, p: f64, a: &'static str, b: &'static str) -> &'static str {
    if rng.random_bool(p) { a } else { b }
}

fn rupiah(rng: &mut impl Rng, low: u32, high: u32, step: u32) -> u64 {
    let steps = (high - low) / step;
    u64::from(low + rng.random_range(0..=steps) * step)
}

fn date(d: NaiveDate) -> Value {
    Value::String(d.format("%Y-%m-%d").to_string())
}

fn yes(b: bool) -> Value {
    Value::String(if b { "1" } else { "2" }.to_string())
}

fn s(code: &str) -> Value {
    Value::String(code.to_string())
}

/// A photo reference: a file name and the SHA-256 of (synthetic) bytes.
pub fn photo(visit_key: &str, slot: &str, on: NaiveDate, n: u32) -> Value {
    let mut h = Sha256::new();
    h.update(visit_key.as_bytes());
    h.update(b"/");
    h.update(slot.as_bytes());
    json!({
        "file": format!("IMG_{}_{:04}_{slot}.jpg", on.format("%Y%m%d"), n),
        "sha256": hex(&h.finalize()),
    })
}

/// A GPS fix near a region.
pub fn gps(rng: &mut impl Rng, code: &str) -> Value {
    let (lat, lon, accuracy) = geo::fix(rng, code);
    json!({ "lat": lat, "lon": lon, "accuracy_m": accuracy })
}

/// An Indonesian mobile number.
pub fn phone(rng: &mut impl Rng) -> String {
    let prefix = [
        "0811", "0812", "0813", "0821", "0822", "0852", "0853", "0857", "0878", "0896",
    ]
    .choose(rng)
    .copied()
    .unwrap_or("0812");
    let rest: String = (0..rng.random_range(7..=8))
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    format!("{prefix}{rest}")
}

fn digits(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|i| {
            char::from(
                b'0' + if i == 0 {
                    rng.random_range(1..10u8)
                } else {
                    rng.random_range(0..10u8)
                },
            )
        })
        .collect()
}

/// Answers and warning notes of a visit.
pub struct Filled {
    pub answers: Answers,
    pub notes: BTreeMap<String, String>,
}

/// The answers of a visit whose outcome is not "found": the outcome and the short "why / where to" section.
pub fn not_found(rng: &mut impl Rng, family: &Family, outcome: Outcome, on: NaiveDate) -> Answers {
    let mut a = Answers::new();
    a.insert("visit_outcome".into(), s(outcome.code()));
    let head = family
        .head()
        .map(|p| p.name.as_str())
        .unwrap_or("kepala keluarga");
    let (reason, informant) = match outcome {
        Outcome::NotFound => (
            format!(
                "Rumah di alamat tercatat tidak ditemukan; tetangga tidak mengenal keluarga {head}."
            ),
            "Ketua RT setempat",
        ),
        Outcome::Died => (
            format!("Seluruh anggota keluarga {head} sudah meninggal dunia."),
            "Tetangga sebelah",
        ),
        Outcome::NotEligible => (
            format!("Keluarga {head} memiliki usaha toko besar dan mobil; tidak memenuhi syarat."),
            "Kepala dusun",
        ),
        Outcome::NotReachable => (
            format!("Keluarga {head} sedang merantau sampai akhir masa pendataan; rumah terkunci."),
            "Ketua RT setempat",
        ),
        Outcome::Refused => (
            format!(
                "Keluarga {head} menolak diwawancarai walau sudah dijelaskan tujuan kunjungan."
            ),
            "Responden sendiri",
        ),
        Outcome::NobodyHome => (
            format!("Rumah keluarga {head} terkunci; kata tetangga sedang ke kebun."),
            "Tetangga sebelah",
        ),
        Outcome::Moved | Outcome::Found => (
            format!("Keluarga {head} sudah pindah; rumah sekarang ditempati keluarga lain."),
            "Penghuni baru rumah",
        ),
    };
    if outcome != Outcome::NobodyHome || rng.random_bool(0.5) {
        a.insert("outcome_reason".into(), s(&reason));
    }
    a.insert("informant".into(), s(informant));
    match outcome {
        Outcome::Moved => {
            let province = family.village.get(..2).unwrap_or("17");
            if let Some(v) = super::family::pick_village(rng, province) {
                a.insert("moved_to_region".into(), s(v.get(..8).unwrap_or(&v)));
            }
            if rng.random_bool(0.5) {
                let street = super::names::STREETS
                    .choose(rng)
                    .copied()
                    .unwrap_or("Jl. Merdeka");
                a.insert(
                    "moved_to_address".into(),
                    s(&format!("{street} No. {}", rng.random_range(1..=99))),
                );
            }
        }
        Outcome::Died => {
            a.insert(
                "death_date".into(),
                date(on - Duration::days(rng.random_range(30..900))),
            );
        }
        Outcome::NotFound | Outcome::Refused | Outcome::NobodyHome => {
            let again = outcome == Outcome::NobodyHome
                || (outcome == Outcome::NotFound && rng.random_bool(0.7))
                || rng.random_bool(0.3);
            a.insert("revisit_planned".into(), yes(again));
            if again && rng.random_bool(0.5) {
                a.insert(
                    "revisit_note".into(),
                    s("Datang lagi hari Minggu pagi, keluarga ada di rumah."),
                );
            }
        }
        _ => {}
    }
    a
}

/// The answers of a visit that found the family, with notes for the warnings the data honestly raises.
pub fn found(
    rng: &mut impl Rng,
    family: &Family,
    on: NaiveDate,
    visit_key: &str,
    work_area: &str,
) -> Filled {
    let mut a = Answers::new();
    let mut notes = BTreeMap::new();
    a.insert("visit_outcome".into(), s("1"));
    // Members who left for their own KK make this the parent family; now and then the family visited is
    // itself the part that split off, with a new KK of its own (issued recently, same district).
    let parent = family.members.iter().any(|p| p.status == status::SPLIT_OFF);
    if parent {
        a.insert("family_split".into(), s("1"));
    } else if rng.random_bool(0.03) {
        a.insert("family_split".into(), s("2"));
        let issued = on - Duration::days(rng.random_range(30..400));
        if let Some(kk) = identity::make_kk(family.district(), issued, rng.random_range(1..=9999)) {
            a.insert("new_kk_number".into(), s(&kk));
        }
    } else {
        a.insert("family_split".into(), s("0"));
    }
    identity(rng, family, &mut a, work_area);
    location(
        rng,
        family,
        on,
        visit_key,
        Outcome::Found,
        &mut a,
        &mut notes,
    );
    let lighting = housing(rng, family, &mut a);
    assets(rng, family, &lighting, &mut a);
    let members: Vec<Value> = family
        .members
        .iter()
        .map(|p| Value::Object(member(rng, family, p, on)))
        .collect();
    if members.len() as u32 != family.kk_member_count {
        notes.insert(
            "members".to_string(),
            "Ada anggota baru (bayi lahir setelah KK terbit), belum tercatat di KK.".to_string(),
        );
    }
    a.insert("members".into(), Value::Array(members));
    programmes(rng, family, &mut a);
    Filled { answers: a, notes }
}

fn identity(rng: &mut impl Rng, family: &Family, a: &mut Answers, work_area: &str) {
    if let Some(head) = family.head() {
        a.insert("head_name".into(), s(&head.name));
        if let Some(nik) = &head.nik {
            a.insert("head_nik".into(), s(nik));
        }
    }
    a.insert("kk_number".into(), s(&family.kk_number));
    a.insert("kk_member_count".into(), json!(family.kk_member_count));
    if !work_area.is_empty() {
        a.insert("work_area".into(), s(work_area));
    }
    a.insert("region".into(), s(&family.village));
    a.insert("dusun".into(), s(&family.dusun));
    a.insert("rt".into(), s(&family.rt));
    a.insert("rw".into(), s(&family.rw));
    a.insert("street_address".into(), s(&family.street_address));
    a.insert("address_matches_kk".into(), yes(rng.random_bool(0.9)));
    let respondent = family
        .members
        .iter()
        .filter(|p| {
            p.is_present() && (p.relationship == rel::HEAD || p.relationship == rel::SPOUSE)
        })
        .collect::<Vec<_>>()
        .choose(rng)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    a.insert("respondent_name".into(), s(&respondent));
    if rng.random_bool(0.8) {
        a.insert("respondent_phone".into(), s(&phone(rng)));
    }
    if !family.programmes.is_empty() {
        a.insert("kpm_programmes".into(), s(&family.programmes.join(" ")));
    }
}

/// The evidence every outcome leaves: (usually) a GPS point, with a note when there is none or it is worse than
/// the form's 20 m; a photo of the place where the outcome needs one; the inside of the house when found.
pub fn location(
    rng: &mut impl Rng,
    family: &Family,
    on: NaiveDate,
    visit_key: &str,
    outcome: Outcome,
    a: &mut Answers,
    notes: &mut BTreeMap<String, String>,
) {
    let n = rng.random_range(1..9000);
    if rng.random_bool(0.97) {
        let fix = gps(rng, &family.village);
        if fix["accuracy_m"].as_f64().is_some_and(|m| m > 20.0) {
            notes.insert(
                "gps".to_string(),
                "Di bawah pohon rindang, akurasi tidak membaik setelah ditunggu.".to_string(),
            );
        }
        a.insert("gps".into(), fix);
        a.insert("gps_method".into(), s("1"));
    } else {
        a.insert("gps_method".into(), s("3"));
        notes.insert(
            "gps".to_string(),
            "Sinyal GPS tidak didapat di dalam gang; titik diambil ulang nanti.".to_string(),
        );
    }
    if outcome.needs_photo() {
        a.insert("photo_front".into(), photo(visit_key, "front", on, n));
    }
    if outcome != Outcome::Found {
        return;
    }
    a.insert("photo_living".into(), photo(visit_key, "living", on, n + 1));
    if rng.random_bool(0.6) {
        a.insert(
            "photo_bathroom".into(),
            photo(visit_key, "bathroom", on, n + 2),
        );
    }
    if rng.random_bool(0.7) {
        a.insert("photo_kk".into(), photo(visit_key, "kk", on, n + 3));
    }
}

/// What the housing section decided that the assets depend on.
pub(crate) struct Lighting {
    electric: bool,
    fuel: &'static str,
}

fn housing<R: Rng>(rng: &mut R, family: &Family, a: &mut Answers) -> Lighting {
    let w = family.wealth;
    let poor = w < 0.3;
    let urban = family.village.get(9..10) == Some("1");
    a.insert(
        "families_in_house".into(),
        json!(weighted(rng, &[(1, 90), (2, 9), (3, 1)])),
    );
    let building = if urban {
        weighted(rng, &[("1", 86), ("4", 8), ("5", 3), ("3", 3)])
    } else {
        "1"
    };
    a.insert("building_type".into(), s(building));
    let tenure = weighted(rng, &[("1", 75), ("2", 12), ("3", 10), ("4", 1), ("5", 2)]);
    a.insert("tenure".into(), s(tenure));
    if tenure == "1" {
        let proof = if poor {
            weighted(rng, &[("1", 15), ("3", 35), ("4", 50)])
        } else {
            weighted(rng, &[("1", 50), ("2", 10), ("3", 30), ("4", 10)])
        };
        a.insert("tenure_proof".into(), s(proof));
    }
    if tenure == "2" {
        a.insert(
            "rent_value".into(),
            json!(rupiah(rng, 250_000, 1_500_000, 50_000)),
        );
    }
    let area = (18.0 + w * 90.0 + rng.random_range(-8.0..20.0))
        .round()
        .max(9.0) as u32;
    a.insert("floor_area".into(), json!(area));
    let floor = if poor {
        weighted(
            rng,
            &[("6", 40), ("8", 20), ("5", 20), ("7", 10), ("2", 10)],
        )
    } else {
        weighted(rng, &[("2", 55), ("4", 15), ("6", 20), ("5", 7), ("1", 3)])
    };
    a.insert("floor_material".into(), s(floor));
    let condition = |rng: &mut R| -> &'static str {
        if poor {
            weighted(rng, &[("1", 20), ("2", 40), ("3", 25), ("4", 15)])
        } else {
            weighted(rng, &[("1", 60), ("2", 30), ("3", 10)])
        }
    };
    a.insert("floor_condition".into(), s(condition(rng)));
    let wall = if poor {
        weighted(rng, &[("1", 40), ("3", 25), ("4", 25), ("6", 10)])
    } else {
        weighted(rng, &[("1", 85), ("3", 12), ("2", 3)])
    };
    a.insert("wall_material".into(), s(wall));
    a.insert("wall_condition".into(), s(condition(rng)));
    let roof = weighted(
        rng,
        &[
            ("3", 45),
            ("2", 30),
            ("4", 15),
            ("1", 3),
            ("7", 4),
            ("6", 3),
        ],
    );
    a.insert("roof_material".into(), s(roof));
    a.insert("roof_condition".into(), s(condition(rng)));
    let toilet = if poor {
        weighted(rng, &[("1", 60), ("2", 15), ("3", 10), ("4", 5), ("6", 10)])
    } else {
        weighted(rng, &[("1", 92), ("2", 5), ("3", 3)])
    };
    a.insert("toilet".into(), s(toilet));
    if matches!(toilet, "1" | "2" | "3") {
        a.insert(
            "closet_type".into(),
            s(weighted(rng, &[("1", 80), ("2", 8), ("3", 7), ("4", 5)])),
        );
    }
    if toilet != "6" {
        a.insert(
            "sewage".into(),
            s(weighted(
                rng,
                &[("1", 75), ("4", 12), ("3", 10), ("5", 2), ("2", 1)],
            )),
        );
    }
    let water = weighted(
        rng,
        &[
            ("2", 30),
            ("4", 25),
            ("5", 18),
            ("3", 10),
            ("6", 5),
            ("7", 5),
            ("9", 3),
            ("1", 2),
            ("10", 2),
        ],
    );
    a.insert("water_source".into(), s(water));
    if matches!(water, "4" | "5" | "6" | "7" | "8") {
        a.insert(
            "septic_distance".into(),
            s(weighted(rng, &[("2", 60), ("1", 25), ("8", 15)])),
        );
    }
    let lighting = if poor && !urban {
        weighted(rng, &[("1", 70), ("2", 8), ("3", 7), ("4", 15)])
    } else {
        weighted(rng, &[("1", 93), ("2", 5), ("3", 2)])
    };
    a.insert("lighting".into(), s(lighting));
    let mut electricity_spend = (20_000, 80_000);
    if lighting == "1" {
        let power = if w < 0.5 {
            weighted(rng, &[("1", 60), ("2", 40)])
        } else {
            weighted(rng, &[("1", 20), ("2", 55), ("3", 18), ("4", 5), ("5", 2)])
        };
        a.insert("meter_power".into(), s(power));
        electricity_spend = match power {
            "1" => (30_000, 100_000),
            "2" => (80_000, 250_000),
            "3" => (200_000, 450_000),
            _ => (350_000, 900_000),
        };
        if rng.random_bool(0.8) {
            a.insert("pln_customer_id".into(), s(&digits(rng, 12)));
        }
        if rng.random_bool(0.5) {
            a.insert("pln_meter_number".into(), s(&digits(rng, 11)));
        }
    }
    let electric = lighting != "4";
    let fuel = if !electric {
        weighted(rng, &[("10", 60), ("07", 15), ("04", 25)])
    } else if poor {
        weighted(rng, &[("04", 70), ("10", 20), ("07", 5), ("00", 5)])
    } else {
        weighted(
            rng,
            &[
                ("04", 68),
                ("02", 8),
                ("03", 7),
                ("01", 5),
                ("10", 7),
                ("05", 2),
                ("00", 3),
            ],
        )
    };
    a.insert("cooking_fuel".into(), s(fuel));
    if electric {
        let (lo, hi) = electricity_spend;
        a.insert(
            "spend_electricity".into(),
            json!(rupiah(rng, lo, hi, 5_000)),
        );
    }
    a.insert("spend_phone".into(), json!(rupiah(rng, 0, 200_000, 5_000)));
    a.insert(
        "spend_internet".into(),
        json!(if rng.random_bool(0.6) {
            rupiah(rng, 20_000, 300_000, 5_000)
        } else {
            0
        }),
    );
    Lighting { electric, fuel }
}

fn assets(rng: &mut impl Rng, family: &Family, lighting: &Lighting, a: &mut Answers) {
    let w = family.wealth;
    let electric = lighting.electric;
    let lpg_big = matches!(lighting.fuel, "02" | "03");
    let gas_3kg = if lighting.fuel == "04" {
        rng.random_range(1..=2)
    } else {
        u32::from(!lpg_big && rng.random_bool(0.2))
    };
    a.insert("gas_3kg".into(), json!(gas_3kg));
    a.insert(
        "gas_55kg".into(),
        json!(if lpg_big { rng.random_range(1..=2) } else { 0 }),
    );
    let fridge = electric && rng.random_bool((0.2 + w).min(0.95));
    a.insert("fridge".into(), json!(u32::from(fridge)));
    a.insert(
        "ac".into(),
        json!(if electric && w > 0.7 && rng.random_bool(0.4) {
            rng.random_range(1..=2)
        } else {
            0
        }),
    );
    a.insert(
        "water_heater".into(),
        yes(electric && w > 0.8 && rng.random_bool(0.3)),
    );
    a.insert("landline".into(), yes(w > 0.6 && rng.random_bool(0.1)));
    a.insert(
        "flat_tv".into(),
        yes(electric && rng.random_bool((w * 0.8).min(0.8))),
    );
    let computers = if electric && w > 0.5 && rng.random_bool(0.4) {
        1
    } else {
        0
    };
    a.insert("computer".into(), json!(computers));
    if computers > 0 {
        a.insert(
            "computer_value".into(),
            json!(rupiah(rng, 1_500_000, 9_000_000, 250_000)),
        );
    }
    let gold = if rng.random_bool(0.25) {
        f64::from(rng.random_range(1..=40)) / 2.0
    } else {
        0.0
    };
    a.insert("gold_grams".into(), json!(gold));
    let bikes = weighted(rng, &[(0u32, 20), (1, 55), (2, 22), (3, 3)]);
    a.insert("motorbike".into(), json!(bikes));
    if bikes > 0 {
        a.insert(
            "motorbike_value".into(),
            json!(u64::from(bikes) * rupiah(rng, 2_000_000, 14_000_000, 500_000)),
        );
    }
    let cars = u32::from(w > 0.85 && rng.random_bool(0.3));
    a.insert("car".into(), json!(cars));
    if cars > 0 {
        a.insert(
            "car_value".into(),
            json!(rupiah(rng, 40_000_000, 160_000_000, 5_000_000)),
        );
    }
    a.insert("bicycle".into(), yes(rng.random_bool(0.35)));
    let boat = rng.random_bool(0.04);
    a.insert("boat".into(), yes(boat));
    a.insert("motor_boat".into(), yes(boat && rng.random_bool(0.5)));
    a.insert("smartphone".into(), yes(rng.random_bool(0.85)));
    a.insert("land_elsewhere".into(), yes(rng.random_bool(0.1 + w * 0.2)));
    a.insert(
        "building_elsewhere".into(),
        yes(w > 0.6 && rng.random_bool(0.1)),
    );
    let rural = family.village.get(9..10) == Some("2");
    for (id, share, max) in [
        ("cattle", 0.08, 4),
        ("buffalo", 0.02, 3),
        ("horse", 0.01, 2),
        ("pig", 0.0, 5),
        ("goat_sheep", 0.12, 8),
    ] {
        let share = if id == "pig"
            && matches!(
                family.culture,
                super::names::Culture::Ntt
                    | super::names::Culture::Papuan
                    | super::names::Culture::Batak
                    | super::names::Culture::Minahasa
                    | super::names::Culture::Balinese
            ) {
            0.3
        } else {
            share
        };
        let n = if rural && rng.random_bool(share) {
            rng.random_range(1..=max)
        } else {
            0
        };
        a.insert(id.into(), json!(n));
    }
}

/// Occupation, Regsosek 417 sector, R37 status, and whether it is a business (35b) or paid work (35a).
const JOBS: &[(&str, &str, &str, bool)] = &[
    ("Petani padi", "1", "1", true),
    ("Buruh tani", "1", "5", false),
    ("Pekebun karet / sawit", "3", "1", true),
    ("Pedagang sayur", "12", "1", true),
    ("Pedagang warung kelontong", "12", "1", true),
    ("Nelayan", "4", "1", true),
    ("Buruh bangunan", "11", "5", false),
    ("Tukang ojek", "13", "1", true),
    ("Karyawan toko", "12", "3", false),
    ("Guru honorer", "21", "3", false),
    ("Sopir angkot", "13", "3", false),
    ("Penjahit", "8", "1", true),
    ("Asisten rumah tangga", "25", "3", false),
    ("Buruh pabrik", "8", "3", false),
    ("Peternak kambing", "5", "1", true),
    ("Warung makan", "14", "2", true),
    ("Montir bengkel motor", "24", "3", false),
    ("Tukang cukur", "24", "1", true),
    ("Satpam", "19", "3", false),
    ("Perangkat desa", "20", "4", false),
    ("Kuli angkut pasar", "13", "5", false),
    ("Pembantu usaha keluarga", "12", "6", false),
];

fn member(rng: &mut impl Rng, family: &Family, p: &Person, on: NaiveDate) -> Answers {
    let mut m = Answers::new();
    m.insert("member_name".into(), s(&p.name));
    if let Some(nik) = &p.nik {
        m.insert("member_nik".into(), s(nik));
    }
    m.insert("member_status".into(), s(p.status));
    if !p.is_present() {
        return m;
    }
    let age = p.age(on);
    let w = family.wealth;
    if age >= 17 && rng.random_bool(0.4) {
        m.insert("member_phone".into(), s(&phone(rng)));
    }
    m.insert(
        "domicile".into(),
        s(weighted(rng, &[("1", 88), ("2", 6), ("3", 3), ("4", 3)])),
    );
    m.insert("sex".into(), s(p.sex.code()));
    m.insert("birth_date".into(), date(p.birth_date));
    m.insert("marital_status".into(), s(p.marital));
    m.insert("relationship".into(), s(p.relationship));

    // Education.
    let mut in_school = false;
    if age >= 5 {
        let schooling = match age {
            5..=6 => either(rng, 0.6, "1", "0"),
            7..=12 => "1",
            13..=15 => either(rng, 0.95, "1", "2"),
            16..=18 => either(rng, 0.75, "1", "2"),
            19..=23 => either(rng, 0.2, "1", "2"),
            a if a >= 50 => either(rng, 0.12, "0", "2"),
            _ => "2",
        };
        m.insert("schooling".into(), s(schooling));
        in_school = schooling == "1";
        if schooling != "0" {
            let level = if in_school {
                level_while_in_school(age)
            } else {
                attained_level(rng, age, w)
            };
            m.insert("education_level".into(), s(level));
        }
    }

    // Work and income.
    let mut job: Option<(&str, &str, &str, bool)> = None;
    if age >= 5 {
        let works = match age {
            5..=14 => false,
            15..=17 => !in_school && rng.random_bool(0.4),
            18..=64 => match p.relationship {
                rel::HEAD => rng.random_bool(0.95),
                rel::SPOUSE => rng.random_bool(0.5),
                _ => !in_school && rng.random_bool(0.6),
            },
            _ => rng.random_bool(0.3),
        };
        if works {
            job = JOBS.choose(rng).copied();
        }
        let business = job.is_some_and(|j| j.3);
        let work = job.is_some_and(|j| !j.3);
        m.insert("income_work".into(), yes(work));
        if work {
            m.insert(
                "income_work_amount".into(),
                json!(rupiah(rng, 400_000, 4_000_000, 50_000)),
            );
        }
        m.insert("income_business".into(), yes(business));
        if business {
            m.insert(
                "income_business_amount".into(),
                json!(rupiah(rng, 300_000, 5_000_000, 50_000)),
            );
        }
        let other = age >= 60 && rng.random_bool(0.3);
        m.insert("income_other".into(), yes(other));
        if other {
            m.insert(
                "income_other_amount".into(),
                json!(rupiah(rng, 200_000, 2_000_000, 50_000)),
            );
        }
        if let Some((occupation, sector, status, is_business)) = job {
            m.insert("occupation".into(), s(occupation));
            m.insert("work_sector".into(), s(sector));
            m.insert("work_status".into(), s(status));
            if is_business && rng.random_bool(0.5) {
                m.insert(
                    "business_turnover".into(),
                    json!(rupiah(rng, 500_000, 15_000_000, 100_000)),
                );
            }
        }
        let account = if age < 17 {
            "4"
        } else {
            weighted(rng, &[("2", 40), ("4", 50), ("1", 4), ("3", 4), ("9", 2)])
        };
        m.insert("account".into(), s(account));
    }

    // Health and disability.
    let old = age >= 60;
    let disability = if rng.random_bool(if old { 0.08 } else { 0.02 }) {
        vec![s(if old {
            "a"
        } else {
            ["a", "b", "c", "d", "e", "f"]
                .choose(rng)
                .copied()
                .unwrap_or("a")
        })]
    } else {
        vec![s("0")]
    };
    let disabled = disability.first() != Some(&s("0"));
    m.insert("disability".into(), Value::Array(disability));
    let illness = if age >= 40 && rng.random_bool(if old { 0.5 } else { 0.2 }) {
        let how_many = rng.random_range(1..=2);
        let mut picks: Vec<&str> = ["a", "b", "e", "d", "l", "c"]
            .choose_multiple(rng, how_many)
            .copied()
            .collect();
        picks.sort_unstable();
        picks.into_iter().map(s).collect()
    } else {
        vec![s("0")]
    };
    m.insert("chronic_illness".into(), Value::Array(illness));

    if p.sex == Sex::Female && (10..=54).contains(&age) && p.marital != marital::NEVER {
        let pregnant =
            p.marital == marital::MARRIED && (18..=40).contains(&age) && rng.random_bool(0.06);
        m.insert("pregnant".into(), yes(pregnant));
    }
    if age < 5 {
        m.insert(
            "child_nutrition".into(),
            s(weighted(rng, &[("1", 85), ("2", 7), ("4", 6), ("3", 2)])),
        );
    }
    let mut great_difficulty = false;
    for (letter, min_age) in [
        ("a", 2),
        ("b", 2),
        ("c", 2),
        ("d", 2),
        ("e", 2),
        ("f", 2),
        ("g", 5),
        ("h", 5),
        ("i", 5),
        ("j", 5),
    ] {
        if age < min_age {
            continue;
        }
        let answer = if disabled && (letter == "c" || letter == "a") {
            weighted(rng, &[("2", 60), ("1", 20), ("3", 20)])
        } else if age >= 70 {
            weighted(rng, &[("4", 65), ("3", 30), ("2", 5)])
        } else {
            weighted(rng, &[("4", 96), ("3", 4)])
        };
        great_difficulty |= answer == "1" || answer == "2";
        m.insert(format!("difficulty_{letter}"), s(answer));
    }
    if age >= 60 || great_difficulty {
        m.insert(
            "caregiver".into(),
            yes(rng.random_bool(if age >= 75 || great_difficulty {
                0.6
            } else {
                0.2
            })),
        );
    }
    if (5..=30).contains(&age) {
        m.insert(
            "pip".into(),
            yes(in_school && w < 0.5 && rng.random_bool(0.35)),
        );
    }
    if age >= 15 {
        let formal = job.is_some_and(|j| j.2 == "3" || j.2 == "4");
        m.insert("bpjs_tk".into(), yes(formal && rng.random_bool(0.6)));
    }
    let employed = job.is_some_and(|j| j.2 == "3" || j.2 == "4");
    let jkn = if employed && rng.random_bool(0.5) {
        "4"
    } else if w < 0.5 {
        weighted(rng, &[("1", 65), ("0", 25), ("2", 10)])
    } else {
        weighted(rng, &[("1", 35), ("2", 30), ("0", 30), ("8", 5)])
    };
    m.insert("jkn".into(), Value::Array(vec![s(jkn)]));
    m
}

/// Highest certificate of someone still at school, by age (they finish SD at 12, SMP at 15, SMA at 18).
fn level_while_in_school(age: i32) -> &'static str {
    match age {
        ..12 => "0",
        12..=14 => "1",
        15..=17 => "2",
        18..=21 => "3",
        22..=23 => "5",
        _ => "5",
    }
}

/// Highest certificate of someone who left school, never more than the age allows.
fn attained_level(rng: &mut impl Rng, age: i32, wealth: f64) -> &'static str {
    let max = match age {
        ..12 => 0,
        12..=14 => 1,
        15..=17 => 2,
        18..=20 => 3,
        21 => 4,
        22..=24 => 5,
        _ => 6,
    };
    let older = age >= 50;
    let options: &[(u8, u32)] = if older {
        &[(0, 20), (1, 45), (2, 18), (3, 14), (4, 2), (5, 1)]
    } else if wealth < 0.3 {
        &[(0, 5), (1, 30), (2, 30), (3, 32), (4, 2), (5, 1)]
    } else {
        &[(0, 2), (1, 15), (2, 23), (3, 42), (4, 8), (5, 9), (6, 1)]
    };
    let level = weighted(rng, options).min(max);
    ["0", "1", "2", "3", "4", "5", "6"]
        .get(usize::from(level))
        .copied()
        .unwrap_or("0")
}

fn programmes(rng: &mut impl Rng, family: &Family, a: &mut Answers) {
    let w = family.wealth;
    let on_record = |p: &str| family.programmes.contains(&p);
    a.insert("prog_sembako".into(), yes(on_record("SEMBAKO")));
    a.insert("prog_pkh".into(), yes(on_record("PKH")));
    a.insert(
        "prog_blt_dd".into(),
        yes(family.village.get(9..10) == Some("2") && w < 0.4 && rng.random_bool(0.3)),
    );
    let subsidised_power = a
        .get("meter_power")
        .and_then(Value::as_str)
        .is_some_and(|p| p == "1" || p == "2");
    a.insert(
        "prog_electricity".into(),
        yes(subsidised_power && rng.random_bool(0.5)),
    );
    a.insert(
        "prog_local_aid".into(),
        yes(w < 0.4 && rng.random_bool(0.1)),
    );
    let rural = family.village.get(9..10) == Some("2");
    a.insert(
        "prog_fertiliser".into(),
        yes(rural && w < 0.6 && rng.random_bool(0.15)),
    );
    a.insert(
        "prog_lpg".into(),
        yes(a
            .get("gas_3kg")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0)
            && rng.random_bool(0.6)),
    );
}
