//! Synthetic PPKS asesmen cases: a person of one of the 26 PPKS types, with an age and a story that fit it.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use super::family::{birth_date_for_age, nik_for};
use super::names::{self};
use super::visit::{gps, phone, photo, weighted};
use tepat_form::identity::{self, Sex};
use tepat_protocol::Answers;

/// A PPKS type: code, ATENSI cluster, age range (inclusive), only women, a problem story (Bahasa Indonesia).
pub(crate) struct PpksType {
    pub code: &'static str,
    pub cluster: &'static str,
    pub ages: (i32, i32),
    pub female_only: bool,
    pub story: &'static str,
}

const fn t(
    code: &'static str,
    cluster: &'static str,
    lo: i32,
    hi: i32,
    story: &'static str,
) -> PpksType {
    PpksType {
        code,
        cluster,
        ages: (lo, hi),
        female_only: false,
        story,
    }
}

/// The 26 types with the ages the form's constraints allow (adults without a bound: 18–85).
pub(crate) const TYPES: &[PpksType] = &[
    t(
        "1",
        "1",
        0,
        5,
        "Balita ditemukan ditinggalkan orang tuanya di rumah tetangga, tidak ada keluarga yang merawat.",
    ),
    t(
        "2",
        "1",
        6,
        17,
        "Anak tinggal sendiri setelah orang tua meninggal, tidak bersekolah dan kurang makan.",
    ),
    t(
        "3",
        "1",
        12,
        17,
        "Anak sedang menjalani proses diversi karena kasus pencurian, perlu pendampingan.",
    ),
    t(
        "4",
        "1",
        6,
        17,
        "Anak menghabiskan hari di perempatan jalan mengamen, pulang larut malam.",
    ),
    t(
        "5",
        "1",
        2,
        17,
        "Anak dengan disabilitas fisik belum mendapat alat bantu dan tidak bersekolah.",
    ),
    t(
        "6",
        "1",
        4,
        17,
        "Anak mengalami kekerasan fisik berulang di rumah, dilaporkan oleh guru.",
    ),
    t(
        "7",
        "1",
        3,
        17,
        "Anak korban perundungan dan eksploitasi, membutuhkan perlindungan khusus.",
    ),
    t(
        "8",
        "3",
        60,
        90,
        "Lansia tinggal sendiri, anak-anak merantau dan tidak pernah mengirim kabar maupun uang.",
    ),
    t(
        "9",
        "2",
        18,
        80,
        "Penyandang disabilitas netra tidak memiliki pekerjaan dan kesulitan mengakses layanan.",
    ),
    t(
        "10",
        "5",
        18,
        45,
        "Klien ingin berhenti dari pekerjaan seks dan membutuhkan pelatihan keterampilan.",
    ),
    t(
        "11",
        "5",
        18,
        75,
        "Klien tidur di emperan pasar, tidak memiliki tempat tinggal tetap sejak setahun lalu.",
    ),
    t(
        "12",
        "5",
        18,
        80,
        "Klien mengemis di lampu merah setiap hari untuk memenuhi kebutuhan makan.",
    ),
    t(
        "13",
        "5",
        18,
        70,
        "Klien memulung di tempat pembuangan akhir, penghasilan tidak menentu.",
    ),
    t(
        "14",
        "7",
        18,
        80,
        "Keluarga kelompok minoritas mengalami pengucilan dalam kegiatan masyarakat.",
    ),
    t(
        "15",
        "5",
        18,
        70,
        "Klien baru bebas dari lapas, ditolak keluarga dan belum memiliki pekerjaan.",
    ),
    t(
        "16",
        "7",
        18,
        65,
        "Klien ODHA putus obat ARV karena tidak memiliki biaya transportasi ke layanan.",
    ),
    t(
        "17",
        "4",
        15,
        60,
        "Klien pengguna NAPZA ingin menjalani rehabilitasi atas dorongan keluarga.",
    ),
    t(
        "18",
        "5",
        15,
        50,
        "Klien dipulangkan setelah menjadi korban perdagangan orang di luar negeri.",
    ),
    t(
        "19",
        "7",
        18,
        80,
        "Klien korban kekerasan dalam rumah tangga, saat ini tinggal sementara di rumah saudara.",
    ),
    t(
        "20",
        "7",
        20,
        55,
        "Pekerja migran dipulangkan tanpa gaji dan mengalami tekanan psikologis.",
    ),
    t(
        "21",
        "6",
        0,
        85,
        "Rumah klien rusak berat akibat banjir bandang, keluarga mengungsi.",
    ),
    t(
        "22",
        "6",
        0,
        85,
        "Keluarga klien mengungsi akibat konflik sosial di kampungnya.",
    ),
    PpksType {
        code: "23",
        cluster: "7",
        ages: (18, 59),
        female_only: true,
        story: "Perempuan kepala keluarga tanpa penghasilan tetap menanggung tiga anak.",
    },
    t(
        "24",
        "7",
        18,
        85,
        "Keluarga fakir miskin tanpa penghasilan tetap, rumah tidak layak huni.",
    ),
    t(
        "25",
        "7",
        18,
        80,
        "Keluarga mengalami konflik berkepanjangan yang menelantarkan anak-anak.",
    ),
    t(
        "26",
        "7",
        0,
        85,
        "Keluarga komunitas adat terpencil belum terjangkau layanan dasar.",
    ),
];

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn date(d: NaiveDate) -> Value {
    Value::String(d.format("%Y-%m-%d").to_string())
}

fn yes(b: bool) -> Value {
    s(if b { "1" } else { "2" })
}

/// Who the person of a case is: their primary type, their age and (when it matters) their sex.
pub(crate) struct Client<'a> {
    pub kind: &'a PpksType,
    pub age: i32,
    pub sex: Option<Sex>,
}

/// Other types that often come with `kind` at `age` (an abandoned elderly person who also has a disability and is
/// poor), each within its own age range.
fn extra_types(rng: &mut impl Rng, kind: &PpksType, age: i32) -> Vec<&'static str> {
    let mut extra = Vec::new();
    if matches!(kind.code, "8" | "9" | "11" | "12" | "13" | "23" | "25") && rng.random_bool(0.4) {
        extra.push("24");
    }
    if kind.code == "8" && rng.random_bool(0.3) {
        extra.push("9");
    }
    if kind.code == "2" && age >= 6 && rng.random_bool(0.3) {
        extra.push("4");
    }
    extra
}

/// The answers of one asesmen of `client`, living in `village`, who consented.
pub(crate) fn case(
    rng: &mut impl Rng,
    client: &Client<'_>,
    village: &str,
    work_area: &str,
    on: NaiveDate,
    visit_key: &str,
) -> Answers {
    let (kind, age) = (client.kind, client.age);
    let mut a = Answers::new();
    let sex = match client.sex {
        _ if kind.female_only => Sex::Female,
        Some(sex) => sex,
        None if rng.random_bool(0.5) => Sex::Female,
        None => Sex::Male,
    };
    let culture = names::pick_culture(rng, village.get(..2).unwrap_or("17"));
    let birth = birth_date_for_age(rng, age, on);
    let family_name = names::family_name(rng, culture);
    let name = names::person_name(
        rng,
        culture,
        sex,
        chrono::Datelike::year(&birth),
        0,
        family_name,
    );
    let undocumented = matches!(kind.code, "1" | "11" | "12" | "26") && rng.random_bool(0.5);
    a.insert("consent".into(), s("1"));
    let consent_by = if age < 18 {
        "2"
    } else if matches!(kind.code, "8" | "9") && rng.random_bool(0.3) {
        "3"
    } else {
        "1"
    };
    a.insert("consent_by".into(), s(consent_by));
    let photo_ok = rng.random_bool(0.75);
    a.insert("consent_photo".into(), yes(photo_ok));
    let source = weighted(rng, &[("1", 30), ("2", 30), ("3", 25), ("4", 10), ("5", 5)]);
    a.insert("case_source".into(), s(source));
    a.insert("full_name".into(), s(&name));
    let district = village.get(..8).unwrap_or(village).to_string();
    a.insert("has_nik".into(), yes(!undocumented));
    if !undocumented {
        a.insert("nik".into(), s(&nik_for(rng, &district, birth, sex)));
        let issued = on - Duration::days(rng.random_range(60..3000));
        if let Some(kk) = identity::make_kk(&district, issued, rng.random_range(1..=9999)) {
            a.insert("kk_number".into(), s(&kk));
        }
    }
    let regions = tepat_form::region::regions();
    let birth_place = regions
        .name(village.get(..5).unwrap_or(village))
        .unwrap_or("Bengkulu");
    let birth_place = birth_place
        .trim_start_matches("Kabupaten ")
        .trim_start_matches("Kota ");
    a.insert("birth_place".into(), s(birth_place));
    if undocumented && rng.random_bool(0.6) {
        a.insert("birth_date_known".into(), s("2"));
        a.insert("age_estimate".into(), json!(age));
    } else {
        a.insert("birth_date_known".into(), s("1"));
        a.insert("birth_date".into(), date(birth));
    }
    a.insert("sex".into(), s(sex.code()));
    if rng.random_bool(0.8) {
        let mother = names::person_name(
            rng,
            culture,
            Sex::Female,
            chrono::Datelike::year(&birth) - 25,
            0,
            "",
        );
        a.insert("mother_name".into(), s(&mother));
    }
    let relationship = if age < 18 {
        "3"
    } else {
        weighted(rng, &[("1", 60), ("2", 20), ("6", 10), ("8", 10)])
    };
    a.insert("relationship".into(), s(relationship));
    a.insert("region".into(), s(village));
    if !work_area.is_empty() {
        a.insert("work_area".into(), s(work_area));
    }
    let street = names::STREETS.choose(rng).copied().unwrap_or("Jl. Merdeka");
    a.insert(
        "address".into(),
        s(&format!("{street} No. {}", rng.random_range(1..=150))),
    );
    a.insert("rt".into(), s(&format!("{:03}", rng.random_range(1..=15))));
    a.insert("rw".into(), s(&format!("{:03}", rng.random_range(1..=8))));
    if age >= 17 && rng.random_bool(0.5) {
        a.insert("phone".into(), s(&phone(rng)));
    }
    if photo_ok && rng.random_bool(0.9) {
        a.insert(
            "photo_client".into(),
            photo(visit_key, "client", on, rng.random_range(1..9000)),
        );
    }
    a.insert("gps".into(), gps(rng, village));

    let registered = if undocumented {
        "2"
    } else {
        weighted(rng, &[("1", 55), ("2", 25), ("9", 20)])
    };
    a.insert("dtsen_registered".into(), s(registered));
    if registered == "1" && rng.random_bool(0.7) {
        a.insert("dtsen_decile".into(), json!(rng.random_range(1..=4)));
    }

    let extra = if client.sex.is_some() {
        Vec::new()
    } else {
        extra_types(rng, kind, age)
    };
    let types: Vec<Value> = std::iter::once(kind.code)
        .chain(extra.iter().copied())
        .map(s)
        .collect();
    a.insert("ppks_types".into(), Value::Array(types));
    a.insert("ppks_primary".into(), s(kind.code));

    a.insert("problem_description".into(), s(kind.story));
    let since = on - Duration::days(rng.random_range(7..(365 * 3)));
    // People often remember the year alone; the problem then counts from 1 January of that year.
    let since = if rng.random_bool(0.25) {
        let year = chrono::Datelike::year(&since);
        a.insert("problem_since_year".into(), json!(year));
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(since)
    } else {
        a.insert("problem_since".into(), date(since));
        since
    };
    let urgency = if matches!(kind.code, "1" | "6" | "18" | "19") {
        "1"
    } else {
        weighted(rng, &[("2", 40), ("3", 60)])
    };
    a.insert("urgency".into(), s(urgency));

    let living = match kind.code {
        "11" | "4" => "4",
        "1" | "2" => weighted(rng, &[("3", 50), ("5", 50)]),
        "8" => "2",
        _ => weighted(rng, &[("1", 75), ("2", 10), ("5", 15)]),
    };
    a.insert("living_with".into(), s(living));
    if living == "1" || living == "5" {
        a.insert("household_size".into(), json!(rng.random_range(2..=7)));
    }
    let relation = if matches!(kind.code, "1" | "2" | "8" | "15") {
        weighted(rng, &[("3", 60), ("4", 40)])
    } else {
        weighted(rng, &[("1", 50), ("2", 50)])
    };
    a.insert("family_relation".into(), s(relation));
    if age < 18 || (age >= 60 && rng.random_bool(0.5)) {
        let carer = names::person_name(rng, culture, Sex::Female, 1975, 0, "");
        a.insert("caregiver_name".into(), s(&carer));
    }

    if age >= 5 {
        let schooling = if age <= 17 && !matches!(kind.code, "2" | "4") {
            "1"
        } else if age < 7 {
            "0"
        } else {
            "2"
        };
        a.insert("schooling".into(), s(schooling));
        if schooling != "0" {
            let level = match age {
                ..12 => "0",
                12..=14 => "1",
                15..=17 => "2",
                _ => weighted(rng, &[("0", 15), ("1", 40), ("2", 25), ("3", 20)]),
            };
            a.insert("education_level".into(), s(level));
        }
    }
    if age >= 10 {
        let works = age >= 18 && rng.random_bool(0.45);
        a.insert("works".into(), yes(works));
        if works {
            let job = [
                "Buruh harian",
                "Pemulung",
                "Pedagang asongan",
                "Tukang parkir",
                "Buruh cuci",
            ]
            .choose(rng)
            .copied()
            .unwrap_or("Buruh harian");
            a.insert("occupation".into(), s(job));
            a.insert(
                "monthly_income".into(),
                json!(rng.random_range(2..=30) * 50_000),
            );
        }
    }

    a.insert(
        "religion".into(),
        s(weighted(
            rng,
            &[("1", 85), ("2", 7), ("3", 3), ("4", 2), ("5", 1), ("7", 2)],
        )),
    );
    let health = if matches!(kind.code, "16" | "17") {
        "2"
    } else {
        weighted(rng, &[("1", 60), ("2", 25), ("3", 15)])
    };
    a.insert("health_condition".into(), s(health));
    if health != "1" {
        a.insert(
            "illness_notes".into(),
            s("Sering sakit, belum pernah diperiksa lengkap."),
        );
    }
    let disability = if matches!(kind.code, "5" | "9") || extra.contains(&"9") {
        vec![s(["a", "d", "e", "c"].choose(rng).copied().unwrap_or("a"))]
    } else {
        vec![s("0")]
    };
    a.insert("disability".into(), Value::Array(disability));
    // The DTSEN form's codes (Regsosek 431a): 1 PBI-JKN, 2 self-paying, 4 through an employer, 8 Jamkesda, 0 none.
    let insurance = if undocumented {
        "0"
    } else {
        weighted(
            rng,
            &[
                ("1", 55),
                ("2", 10),
                ("4", 5),
                ("8", 5),
                ("16", 1),
                ("0", 24),
            ],
        )
    };
    a.insert("health_insurance".into(), json!([insurance]));

    let how_many = rng.random_range(0..=2);
    let mut psych: Vec<&str> = ["anxious", "sad", "trauma", "withdrawn"]
        .choose_multiple(rng, how_many)
        .copied()
        .collect();
    if psych.is_empty() {
        psych.push("stable");
    }
    if urgency == "1" && rng.random_bool(0.1) {
        psych.push("suicidal");
    }
    a.insert(
        "psych_state".into(),
        Value::Array(psych.into_iter().map(s).collect()),
    );
    a.insert(
        "social_participation".into(),
        s(weighted(rng, &[("1", 20), ("2", 50), ("3", 30)])),
    );
    for need in ["need_food", "need_clothing", "need_shelter", "need_water"] {
        a.insert(
            need.into(),
            s(weighted(rng, &[("1", 30), ("2", 45), ("3", 25)])),
        );
    }
    let mut documents: Vec<&str> = Vec::new();
    if !undocumented {
        if age >= 17 {
            documents.push("ktp");
        }
        documents.push("kk");
        if rng.random_bool(0.6) {
            documents.push("akta");
        }
        if age < 17 && rng.random_bool(0.3) {
            documents.push("kia");
        }
        if rng.random_bool(0.5) {
            documents.push("kis");
        }
    } else if rng.random_bool(0.3) {
        documents.push("akta");
    }
    if documents.is_empty() {
        documents.push("none");
    }
    a.insert(
        "documents".into(),
        Value::Array(documents.into_iter().map(s).collect()),
    );
    let legal = matches!(kind.code, "3" | "18" | "19");
    a.insert("legal_issue".into(), yes(legal));
    if legal {
        a.insert(
            "legal_notes".into(),
            s("Kasus sedang ditangani kepolisian setempat; klien butuh pendampingan hukum."),
        );
    }
    let how_many = rng.random_range(1..=2);
    let strengths: Vec<Value> = ["skills", "family", "motivation", "community"]
        .choose_multiple(rng, how_many)
        .map(|v| s(v))
        .collect();
    a.insert("client_strengths".into(), Value::Array(strengths));
    let mut needs: Vec<&str> = vec!["1"];
    match kind.cluster {
        "1" => needs.extend(["2", "10"]),
        "2" => needs.extend(["4", "7"]),
        "3" => needs.extend(["2", "9"]),
        "4" => needs.extend(["4", "3"]),
        "5" => needs.extend(["5", "6"]),
        "6" => needs.extend(["6", "13"]),
        _ => needs.extend(["6", "3"]),
    }
    if undocumented {
        needs.push("8");
    }
    a.insert(
        "service_needs".into(),
        Value::Array(needs.iter().map(|v| s(v)).collect()),
    );

    a.insert(
        "referred_from".into(),
        s(weighted(
            rng,
            &[
                ("1", 10),
                ("2", 15),
                ("3", 30),
                ("4", 20),
                ("5", 5),
                ("6", 5),
                ("7", 5),
                ("8", 10),
            ],
        )),
    );
    let count = weighted(rng, &[(0usize, 25), (1, 45), (2, 22), (3, 8)]);
    a.insert("referral_needed".into(), yes(count > 0));
    if count > 0 {
        let referrals: Vec<Value> = referral_options(kind.cluster, undocumented)
            .choose_multiple(rng, count)
            .map(|(to, agency, service)| {
                let after = (on - since).num_days().max(0);
                let when = since + Duration::days(rng.random_range(0..=after));
                let status = weighted(rng, &[("1", 50), ("2", 30), ("3", 15), ("4", 5)]);
                let mut referral = json!({
                    "referral_to": to,
                    "referral_service": service,
                    "referral_date": when.format("%Y-%m-%d").to_string(),
                    "referral_status": status,
                });
                if !agency.is_empty() {
                    referral["referral_agency"] = json!(agency);
                }
                if status == "4" {
                    referral["referral_refusal"] = json!(REFUSAL);
                }
                referral
            })
            .collect();
        a.insert("referrals".into(), Value::Array(referrals));
    }
    let actions: Vec<Value> = needs
        .iter()
        .take(rng.random_range(1..=3))
        .map(|need| {
            let (text, by) = match *need {
                "1" => ("Penyaluran bantuan permakanan", "4"),
                "2" => ("Penempatan pengasuhan / perawatan sosial", "2"),
                "3" => ("Konseling dan mediasi keluarga", "2"),
                "4" => ("Rujukan terapi psikososial", "2"),
                "5" => ("Pendaftaran pelatihan keterampilan", "4"),
                "6" => ("Pengusulan bantuan sosial", "1"),
                "7" => ("Pengusulan alat bantu", "1"),
                "8" => ("Pendampingan perekaman KTP/KK ke Dukcapil", "1"),
                "9" => ("Pendampingan berobat ke puskesmas", "1"),
                "10" => ("Pendampingan kembali bersekolah", "1"),
                "13" => ("Penempatan di tempat tinggal sementara", "4"),
                _ => ("Kunjungan lanjutan", "1"),
            };
            json!({
                "action": text,
                "action_need": need,
                "action_by": by,
                "action_due": (on + Duration::days(rng.random_range(3..90))).format("%Y-%m-%d").to_string(),
                "action_status": if rng.random_bool(0.8) { "1" } else { "2" },
            })
        })
        .collect();
    a.insert("actions".into(), Value::Array(actions));
    a
}

const REFUSAL: &str =
    "Persyaratan administrasi belum lengkap, diminta melengkapi surat keterangan.";

/// Destinations for a client of `cluster`: destination, the agency's name, the service.
fn referral_options(
    cluster: &str,
    undocumented: bool,
) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut options = vec![
        ("2", "SLRT kabupaten/kota", "pkh"),
        ("3", "Puskesos desa", "sembako"),
        ("5", "BPJS Kesehatan cabang", "pbi"),
        ("1", "Dinas Sosial kabupaten/kota", "daerah"),
    ];
    if undocumented {
        options.push(("4", "Disdukcapil kabupaten/kota", "adminduk"));
    }
    options.push(match cluster {
        "1" => ("9", "UPTD PPA kabupaten/kota", "legal"),
        "2" => ("6", "Sentra Kemensos terdekat", "atensi"),
        "3" => ("7", "LKS Lanjut Usia setempat", "rehab"),
        "4" => ("11", "IPWL / BNN kabupaten/kota", "rehab"),
        "6" => ("1", "Posko bencana Dinas Sosial", "shelter"),
        _ => ("8", "", "health"),
    });
    options
}

/// The referrals a follow-up of the case carries, as the records the form's `referral_followups` prefill reads
/// (by each child's `prefill` key): those carried to the earlier visit (with their updated status) and those made
/// at it. The phone builds the same records (`tepat-app`, follow-up of a case).
pub fn carried_referrals(earlier: &Answers) -> Vec<serde_json::Map<String, Value>> {
    let mut out = Vec::new();
    let list = |key: &str| {
        earlier
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let pairs: [(&str, &str); 5] = [
        ("prev_referral_to", "referral_to"),
        ("prev_referral_agency", "referral_agency"),
        ("prev_referral_service", "referral_service"),
        ("prev_referral_date", "referral_date"),
        ("referral_update", "referral_status"),
    ];
    for old in list("referral_followups") {
        let mut record = serde_json::Map::new();
        for (from, to) in pairs {
            if let Some(v) = old.get(from) {
                record.insert(to.to_string(), v.clone());
            }
        }
        if let Some(v) = old.get("referral_update_reason") {
            record.insert("referral_refusal".into(), v.clone());
        }
        out.push(record);
    }
    for new in list("referrals") {
        if let Some(record) = new.as_object() {
            out.push(record.clone());
        }
    }
    out
}

/// A carried referral as the follow-up's member: its record under the member's field ids, the status moved on
/// (referred → accepted → served / refused) or kept.
pub(crate) fn update_referral(rng: &mut impl Rng, record: serde_json::Map<String, Value>) -> Value {
    let get = |k: &str| record.get(k).cloned();
    let before = get("referral_status")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let now = match before.as_str() {
        "1" => weighted(rng, &[("1", 20), ("2", 40), ("3", 30), ("4", 10)]),
        "2" => weighted(rng, &[("2", 30), ("3", 60), ("4", 10)]),
        other => {
            if other == "3" {
                "3"
            } else {
                "4"
            }
        }
    };
    let mut member = serde_json::Map::new();
    for (key, field) in [
        ("referral_to", "prev_referral_to"),
        ("referral_agency", "prev_referral_agency"),
        ("referral_service", "prev_referral_service"),
        ("referral_date", "prev_referral_date"),
        ("referral_status", "prev_referral_status"),
    ] {
        if let Some(v) = get(key) {
            member.insert(field.to_string(), v);
        }
    }
    member.insert("referral_update".into(), s(now));
    if now == "4" {
        let reason = get("referral_refusal").unwrap_or_else(|| s(REFUSAL));
        member.insert("referral_update_reason".into(), reason);
    }
    Value::Object(member)
}

/// A type drawn with field-like frequencies (poverty and elderly cases are the most common).
pub(crate) fn pick_type(rng: &mut impl Rng) -> &'static PpksType {
    let weights: &[(usize, u32)] = &[
        (23, 20),
        (7, 15),
        (8, 10),
        (22, 6),
        (1, 5),
        (3, 4),
        (4, 4),
        (10, 4),
        (11, 4),
        (12, 4),
        (18, 4),
        (25, 4),
        (0, 3),
        (2, 3),
        (5, 3),
        (6, 2),
        (9, 2),
        (14, 1),
        (15, 2),
        (16, 2),
        (17, 2),
        (19, 2),
        (20, 3),
        (21, 2),
        (24, 3),
        (13, 1),
    ];
    let index = weighted(rng, weights);
    TYPES.get(index).unwrap_or(&TYPES[0])
}
