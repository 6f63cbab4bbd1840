//! Unit tests of the generator that need no form engine; the rule tests against the real forms are in
//! `shared/form/tests/forms.rs`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::family::{Family, age_at, marital, rel, status};
use super::*;
use tepat_form::RegionLevel;
use tepat_form::identity::{self, Sex};

fn families(seed: u64, region: &str, n: usize) -> (Vec<Family>, NaiveDate) {
    let mut g = Generator::new(seed);
    let on = g.visit_date();
    let list = (0..n)
        .map(|_| {
            g.family(region, Variety::Field)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    (list, on)
}

#[test]
fn niks_encode_birth_date_sex_and_a_real_district() {
    let (list, on) = families(1, "17.71", 400);
    let (mut home, mut elsewhere) = (0, 0);
    for family in &list {
        for p in &family.members {
            let Some(nik) = &p.nik else {
                assert_eq!(p.status, status::NEW, "only a new baby may lack a NIK");
                continue;
            };
            let info = identity::check_nik(nik).unwrap_or_else(|e| panic!("{nik}: {e:?}"));
            assert_eq!(
                info.birth_date(on),
                Some(p.birth_date),
                "{nik} vs {}",
                p.birth_date
            );
            assert_eq!(info.sex, p.sex, "{nik}");
            assert!(info.prefix_known, "{nik}: district {}", info.district_code);
            if info.district_code == family.district() {
                home += 1;
            } else {
                elsewhere += 1;
            }
        }
        let kk = identity::check_kk(&family.kk_number).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            kk.district_code,
            family.district(),
            "a KK starts with the family's district"
        );
    }
    assert!(
        home > elsewhere * 4,
        "usually the district of the address ({home} vs {elsewhere})"
    );
    assert!(elsewhere > 0, "sometimes another district");
}

#[test]
fn villages_are_real_and_inside_the_region_asked_for() {
    for region in ["17.71", "35", "51.71.01", "94.01"] {
        let (list, _) = families(2, region, 30);
        for f in &list {
            assert_eq!(
                region::regions().level(&f.village),
                Some(RegionLevel::Village),
                "{}",
                f.village
            );
            assert!(
                region::is_within(&f.village, region),
                "{} in {region}",
                f.village
            );
        }
    }
    let mut g = Generator::new(2);
    assert_eq!(
        g.household("17.99"),
        Err(SynthError::UnknownRegion("17.99".into()))
    );
    assert!(g.ppks_case("nowhere").is_err());
}

#[test]
fn rosters_are_plausible() {
    let (list, on) = families(3, "17", 1500);
    let mut shapes = BTreeSet::new();
    for f in &list {
        let present: Vec<_> = f.members.iter().filter(|p| p.is_present()).collect();
        let heads: Vec<_> = present
            .iter()
            .filter(|p| p.relationship == rel::HEAD)
            .collect();
        assert_eq!(heads.len(), 1, "{f:#?}");
        let head = heads[0];
        let head_age = head.age(on);
        assert!((19..=95).contains(&head_age));
        let spouses: Vec<_> = present
            .iter()
            .filter(|p| p.relationship == rel::SPOUSE)
            .collect();
        assert!(spouses.len() <= 1);
        if let Some(spouse) = spouses.first() {
            assert_ne!(spouse.sex, head.sex, "opposite sex");
            assert_eq!(spouse.marital, marital::MARRIED);
            assert_eq!(head.marital, marital::MARRIED);
            shapes.insert("couple");
        }
        for p in &f.members {
            let age = p.age(on);
            assert!((0..=95).contains(&age), "{p:?}");
            match p.relationship {
                rel::CHILD => {
                    assert!(head_age - age >= 16, "child {age}, head {head_age}");
                    shapes.insert("child");
                }
                rel::PARENT | rel::PARENT_IN_LAW => {
                    assert!(age > head_age, "parent {age}, head {head_age}");
                    shapes.insert("parent");
                }
                rel::GRANDCHILD => {
                    assert!(head_age - age >= 30, "grandchild {age}, head {head_age}");
                    shapes.insert("grandchild");
                }
                _ => {}
            }
            if age < 19 {
                assert_eq!(p.marital, marital::NEVER, "{p:?}");
            }
            if p.status == status::NEW {
                assert!(age <= 1);
                shapes.insert("new baby");
            }
            if !p.is_present() {
                shapes.insert("departed");
            }
        }
        let listed = f.members.iter().filter(|p| p.status != status::NEW).count() as u32;
        assert_eq!(f.kk_member_count, listed);
    }
    for shape in [
        "couple",
        "child",
        "parent",
        "grandchild",
        "new baby",
        "departed",
    ] {
        assert!(shapes.contains(shape), "no {shape} in 1,500 families");
    }
}

#[test]
fn ages_are_counted_as_the_form_counts_them() {
    let on = NaiveDate::from_ymd_opt(2026, 3, 16).unwrap_or_default();
    let birth = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    assert_eq!(age_at(birth(2000, 3, 16), on), 26);
    assert_eq!(age_at(birth(2000, 3, 17), on), 25);
    assert_eq!(age_at(birth(2026, 5, 1), on), -1);
    let mut g = Generator::new(4);
    for age in [0, 1, 5, 17, 54, 60, 98] {
        for _ in 0..50 {
            let b = family::birth_date_for_age(&mut g.rng, age, on);
            assert_eq!(age_at(b, on), age);
        }
    }
}

#[test]
fn names_follow_the_region() {
    let (bali, _) = families(5, "51", 200);
    let balinese = bali
        .iter()
        .flat_map(|f| &f.members)
        .filter(|p| p.name.starts_with("I ") || p.name.starts_with("Ni "))
        .count();
    let all = bali.iter().map(|f| f.members.len()).sum::<usize>();
    assert!(
        balinese * 10 > all * 7,
        "Bali: {balinese} of {all} Balinese names"
    );

    let (sumut, _) = families(6, "12", 300);
    let mut batak_children = 0;
    for f in sumut.iter().filter(|f| f.culture == names::Culture::Batak) {
        let Some(head) = f.head().filter(|h| h.sex == Sex::Male) else {
            continue;
        };
        let marga = head.name.rsplit(' ').next().unwrap_or_default();
        for child in f.members.iter().filter(|p| p.relationship == rel::CHILD) {
            assert!(
                child.name.ends_with(marga),
                "{} / {}",
                child.name,
                head.name
            );
            batak_children += 1;
        }
    }
    assert!(batak_children > 20);
    let (mixed, _) = families(7, "17.71", 300);
    let distinct: BTreeSet<&str> = mixed
        .iter()
        .flat_map(|f| &f.members)
        .map(|p| p.name.as_str())
        .collect();
    assert!(distinct.len() > 700, "varied names: {}", distinct.len());
}

#[test]
fn found_visits_are_consistent_inside() {
    let mut g = Generator::new(8);
    let mut ids = BTreeSet::new();
    for _ in 0..300 {
        let doc = g
            .household_with("17.71", Outcome::Found)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.visit_id.get_version_num(), 7);
        assert!(ids.insert(doc.visit_id), "unique ids");
        assert_eq!((doc.form_id.as_str(), doc.form_version), DTSEN_FORM);
        let a = &doc.answers;
        let get = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("");
        let count = |k: &str| a.get(k).and_then(Value::as_u64).unwrap_or(0);
        if get("lighting") == "4" {
            for k in ["fridge", "ac"] {
                assert_eq!(count(k), 0, "{k} without electricity");
            }
            assert_eq!(get("water_heater"), "2");
            assert_eq!(get("flat_tv"), "2");
        }
        assert_eq!(
            count("gas_55kg") > 0,
            matches!(get("cooking_fuel"), "02" | "03")
        );
        assert_eq!(a.contains_key("tenure_proof"), get("tenure") == "1");
        assert_eq!(a.contains_key("meter_power"), get("lighting") == "1");
        for slot in ["photo_front", "photo_living"] {
            let sha = a
                .get(slot)
                .and_then(|p| p.get("sha256"))
                .and_then(Value::as_str)
                .unwrap_or("");
            assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        if let Some(gps) = a.get("gps") {
            let lat = gps.get("lat").and_then(Value::as_f64).unwrap_or(0.0);
            let lon = gps.get("lon").and_then(Value::as_f64).unwrap_or(0.0);
            assert!(
                (lat + 3.8).abs() < 0.2 && (lon - 102.28).abs() < 0.2,
                "near Kota Bengkulu: {lat},{lon}"
            );
        }
        let head_nik = get("head_nik");
        let members = a
            .get("members")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let roster_head = members
            .iter()
            .find(|m| m.get("relationship").and_then(Value::as_str) == Some(rel::HEAD))
            .and_then(|m| m.get("member_nik"))
            .and_then(Value::as_str);
        assert_eq!(roster_head, Some(head_nik));
        device_times_are_ordered(&doc);
    }
}

fn device_times_are_ordered(doc: &VisitDoc) {
    let t = &doc.device_times;
    assert!(t.finalised_at.is_some_and(|f| f > t.started_at));
    assert_eq!(t.started_at.date_naive(), doc.visit_date);
}

#[test]
fn the_outcome_mix_is_mostly_found() {
    let mut g = Generator::new(9);
    let mut found = 0;
    let mut others = BTreeSet::new();
    for _ in 0..1000 {
        let doc = g.household("17.71").unwrap_or_else(|e| panic!("{e}"));
        let outcome = doc
            .answers
            .get("visit_outcome")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if outcome == "1" {
            found += 1;
        } else {
            assert!(
                !doc.answers.contains_key("members"),
                "a visit that ended early has no roster"
            );
            others.insert(outcome);
        }
    }
    assert!((800..900).contains(&found), "{found}");
    assert_eq!(others.len(), 6, "every other outcome appears: {others:?}");
}

#[test]
fn the_same_seed_and_calls_give_the_same_documents() {
    let run = |seed| {
        let mut g = Generator::new(seed);
        let a = g.assignments("17.71", 3).unwrap_or_default();
        let v = a
            .iter()
            .map(|x| g.visit_for(x, Outcome::Found).ok())
            .collect::<Vec<_>>();
        let p = g.ppks_case("17.71").ok();
        let b = g.broken(Rule::OneHead).0;
        serde_json::to_string(&(a, v, p, b)).unwrap_or_default()
    };
    assert_eq!(run(10), run(10));
    assert_ne!(run(10), run(11));
}

#[test]
fn a_later_visit_date_ages_everyone() {
    let later = NaiveDate::from_ymd_opt(2027, 8, 1).unwrap_or_default();
    let mut g = Generator::new(12).with_visit_date(later);
    let doc = g
        .household_with("17.71", Outcome::Found)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.visit_date, later);
    let f = g
        .family("17.71", Variety::Tidy)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(f.members.iter().all(|p| p.status == status::LIVES_HERE));
    for p in &f.members {
        let nik = p.nik.as_deref().unwrap_or_default();
        assert_eq!(identity::nik_birth_date(nik, later), Some(p.birth_date));
    }
}
