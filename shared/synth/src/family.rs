//! A synthetic family as it stands on its Kartu Keluarga: who is in it, their identity numbers, where it lives.
//!
//! Rosters follow how Indonesian families are made up: a head (usually a married man), a spouse of the opposite
//! sex a few years apart, children born when their mother was 18–42, sometimes a widowed parent of the head or a
//! grandchild, now and then a member who died, moved away or split off to a new KK since the KK was issued, or a
//! baby born after it.

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::names::{self, Culture};
use super::visit::either;
use tepat_form::RegionLevel;
use tepat_form::identity::{self, Sex};
use tepat_form::region;

/// Relationship codes of R32.
pub mod rel {
    pub const HEAD: &str = "1";
    pub const SPOUSE: &str = "2";
    pub const CHILD: &str = "3";
    pub const CHILD_IN_LAW: &str = "4";
    pub const GRANDCHILD: &str = "5";
    pub const PARENT: &str = "6";
    pub const PARENT_IN_LAW: &str = "7";
    pub const OTHER_RELATIVE: &str = "8";
}

/// Marital status codes of R31.
pub mod marital {
    pub const NEVER: &str = "1";
    pub const MARRIED: &str = "2";
    pub const DIVORCED: &str = "3";
    pub const WIDOWED: &str = "4";
}

/// Member status codes of R27a (plus Regsosek's 5 = new member).
pub mod status {
    pub const LIVES_HERE: &str = "1";
    pub const DIED: &str = "2";
    pub const MOVED: &str = "3";
    pub const ABROAD: &str = "4";
    pub const NEW: &str = "5";
    pub const SPLIT_OFF: &str = "6";
    pub const NOT_FOUND: &str = "7";
}

/// One person of the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    /// `None` only for a new baby whose NIK is not issued yet.
    pub nik: Option<String>,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// R32 code ([`rel`]).
    pub relationship: &'static str,
    /// R31 code ([`marital`]).
    pub marital: &'static str,
    /// R27a code ([`status`]): whether the person still lives here.
    pub status: &'static str,
}

impl Person {
    /// Lives here (listed or new): the rest of the roster questions apply.
    pub fn is_present(&self) -> bool {
        self.status == status::LIVES_HERE || self.status == status::NEW
    }

    /// Whole years at `on`, as the form's `age()` counts them.
    pub fn age(&self, on: NaiveDate) -> i32 {
        age_at(self.birth_date, on)
    }
}

/// A family on its KK, at its address.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Kemendagri village code of the address.
    pub village: String,
    pub culture: Culture,
    pub kk_number: String,
    /// Members on the KK (everyone but new members).
    pub kk_member_count: u32,
    pub dusun: String,
    pub rt: String,
    pub rw: String,
    pub street_address: String,
    pub members: Vec<Person>,
    /// KPM programmes on record (`PKH`, `SEMBAKO`), as the assignment carries them.
    pub programmes: Vec<&'static str>,
    /// 0 (poorest) … 1: drives housing, assets and work, so they stay consistent with each other.
    pub wealth: f64,
}

impl Family {
    pub fn head(&self) -> Option<&Person> {
        self.members
            .iter()
            .find(|p| p.relationship == rel::HEAD && p.is_present())
    }

    /// The district code (`PP.KK.CC`) of the address.
    pub fn district(&self) -> &str {
        self.village.get(..8).unwrap_or(&self.village)
    }
}

/// Whole years from `birth` to `on` (0 before the first birthday; negative for a date after `on`).
pub fn age_at(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// A birth date giving exactly `age` whole years on `on` (day 1–28, so no leap-day births).
pub fn birth_date_for_age(rng: &mut impl Rng, age: i32, on: NaiveDate) -> NaiveDate {
    // Born between `on` minus (age+1) years (exclusive) and `on` minus age years (inclusive).
    let latest = on.with_year(on.year() - age).unwrap_or(on);
    for _ in 0..8 {
        let back = rng.random_range(0..365);
        let d = latest - Duration::days(back);
        let d = NaiveDate::from_ymd_opt(d.year(), d.month(), d.day().min(28)).unwrap_or(d);
        if age_at(d, on) == age {
            return d;
        }
    }
    NaiveDate::from_ymd_opt(on.year() - age - 1, on.month(), 28)
        .filter(|d| age_at(*d, on) == age)
        .or_else(|| NaiveDate::from_ymd_opt(on.year() - age, 1, 1))
        .unwrap_or(on)
}

/// Picks a village under `within` (any level; a village code picks itself). `None` if the code is unknown.
pub fn pick_village(rng: &mut impl Rng, within: &str) -> Option<String> {
    let regions = region::regions();
    let mut code = regions.get(within)?.code;
    loop {
        match regions.level(code)? {
            RegionLevel::Village => return Some(code.to_string()),
            _ => {
                let children = regions.children(Some(code));
                code = children.choose(rng)?.code;
            }
        }
    }
}

/// A district for a NIK: usually the address's, sometimes another of the same province, rarely anywhere.
fn nik_district(rng: &mut impl Rng, home_district: &str) -> String {
    let regions = region::regions();
    if rng.random_bool(0.85) {
        return home_district.to_string();
    }
    let elsewhere = if rng.random_bool(0.7) {
        home_district.get(..2).and_then(|p| pick_village(rng, p))
    } else {
        regions
            .children(None)
            .choose(rng)
            .and_then(|p| pick_village(rng, p.code))
    };
    elsewhere
        .and_then(|v| v.get(..8).map(str::to_string))
        .unwrap_or_else(|| home_district.to_string())
}

/// A NIK consistent with the person (serial random, district as [`nik_district`]).
pub fn nik_for(rng: &mut impl Rng, home_district: &str, birth: NaiveDate, sex: Sex) -> String {
    let district = nik_district(rng, home_district);
    let serial = rng.random_range(1..=9999);
    identity::make_nik(&district, birth, sex, serial).unwrap_or_default()
}

/// The shape of a family: who lives in it before names and numbers are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    CoupleWithChildren,
    SingleParent,
    Elderly,
    Couple,
    SingleAdult,
}

struct Draft {
    sex: Sex,
    age: i32,
    relationship: &'static str,
    marital: &'static str,
    status: &'static str,
    /// Order among siblings (Balinese names), 0 for the others.
    order: usize,
    /// Carries the head's family name.
    family_name: bool,
}

impl Draft {
    fn new(sex: Sex, age: i32, relationship: &'static str, marital: &'static str) -> Self {
        Draft {
            sex,
            age,
            relationship,
            marital,
            status: status::LIVES_HERE,
            order: 0,
            family_name: false,
        }
    }
}

/// Female with probability `p`, else male.
pub fn female_with(rng: &mut impl Rng, p: f64) -> Sex {
    if rng.random_bool(p) {
        Sex::Female
    } else {
        Sex::Male
    }
}

fn other(sex: Sex) -> Sex {
    match sex {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    }
}

/// How varied a family may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variety {
    /// Everything that happens in the field: departed members, new babies (roster size ≠ KK, with a note).
    Field,
    /// Everyone on the KK lives here, nobody new: a family that triggers no warning at all.
    Tidy,
}

/// Draws a realistic family living in `village`, as of `on`.
pub fn random_family(rng: &mut impl Rng, village: &str, on: NaiveDate, variety: Variety) -> Family {
    let shape = {
        let roll = rng.random_range(0..100);
        match roll {
            0..65 => Shape::CoupleWithChildren,
            65..80 => Shape::SingleParent,
            80..90 => Shape::Elderly,
            90..95 => Shape::Couple,
            _ => Shape::SingleAdult,
        }
    };
    let mut drafts = Vec::new();
    let head_age = match shape {
        Shape::CoupleWithChildren => rng.random_range(24..=66),
        Shape::SingleParent => rng.random_range(28..=72),
        Shape::Elderly => rng.random_range(60..=90),
        Shape::Couple => rng.random_range(20..=70),
        Shape::SingleAdult => rng.random_range(19..=50),
    };
    let head_sex = match shape {
        Shape::SingleParent => female_with(rng, 0.85),
        Shape::Elderly | Shape::SingleAdult => female_with(rng, 0.5),
        _ => female_with(rng, 0.03),
    };
    let married = matches!(shape, Shape::CoupleWithChildren | Shape::Couple)
        || (shape == Shape::Elderly && rng.random_bool(0.45));
    let head_marital = match shape {
        _ if married => marital::MARRIED,
        Shape::SingleAdult => either(rng, 0.8, marital::NEVER, marital::DIVORCED),
        _ => either(rng, 0.65, marital::WIDOWED, marital::DIVORCED),
    };
    drafts.push(Draft::new(head_sex, head_age, rel::HEAD, head_marital));
    let mut mother_age = if head_sex == Sex::Female { head_age } else { 0 };
    if married {
        let gap = rng.random_range(0..=8);
        let spouse_age = match head_sex {
            Sex::Male => (head_age - gap).max(19),
            Sex::Female => (head_age + gap).min(95),
        }
        .min(95);
        if head_sex == Sex::Male {
            mother_age = spouse_age;
        }
        drafts.push(Draft::new(
            other(head_sex),
            spouse_age,
            rel::SPOUSE,
            marital::MARRIED,
        ));
    }
    if mother_age == 0 {
        mother_age = head_age;
    }
    // Children: born when both the head and the mother were at least 17–18.
    let oldest_possible = (head_age.min(mother_age) - 18).min(42);
    let wants = match shape {
        Shape::CoupleWithChildren => rng.random_range(1..=5),
        Shape::SingleParent => rng.random_range(1..=4),
        Shape::Elderly => usize::from(rng.random_bool(0.3)),
        _ => 0,
    };
    let mut child_ages: Vec<i32> = Vec::new();
    if oldest_possible >= 0 {
        let mut age = rng.random_range(0..=oldest_possible);
        for _ in 0..wants {
            if age < 0 {
                break;
            }
            child_ages.push(age);
            age -= rng.random_range(1..=5);
        }
    }
    // Older children have often left; keep mostly those under 30 at home.
    child_ages.retain(|a| *a < 30 || rng.random_bool(0.3));
    child_ages.sort_unstable_by(|a, b| b.cmp(a));
    let mut married_child: Option<(i32, Sex)> = None;
    for (order, age) in child_ages.iter().enumerate() {
        let sex = female_with(rng, 0.5);
        let child_married = *age >= 22 && married_child.is_none() && rng.random_bool(0.3);
        let m = if child_married {
            marital::MARRIED
        } else {
            marital::NEVER
        };
        let mut d = Draft::new(sex, *age, rel::CHILD, m);
        d.order = order;
        d.family_name = true;
        drafts.push(d);
        if child_married {
            married_child = Some((*age, sex));
        }
    }
    if let Some((child_age, child_sex)) = married_child {
        let in_law_age = (child_age + rng.random_range(-3..=4)).clamp(20, 95);
        drafts.push(Draft::new(
            other(child_sex),
            in_law_age,
            rel::CHILD_IN_LAW,
            marital::MARRIED,
        ));
        let parent_age = child_age.min(in_law_age);
        if parent_age >= 20 && rng.random_bool(0.6) {
            let g_age = rng.random_range(0..=(parent_age - 19).min(10));
            let mut d = Draft::new(
                female_with(rng, 0.5),
                g_age,
                rel::GRANDCHILD,
                marital::NEVER,
            );
            d.family_name = child_sex == Sex::Male;
            drafts.push(d);
        }
    }
    if shape == Shape::Elderly && rng.random_bool(0.25) {
        // A grandchild raised by the grandparents.
        let top = (head_age - 36).clamp(2, 14);
        let mut d = Draft::new(
            female_with(rng, 0.5),
            rng.random_range(2..=top),
            rel::GRANDCHILD,
            marital::NEVER,
        );
        d.family_name = true;
        drafts.push(d);
    }
    if head_age <= 60 && rng.random_bool(0.12) {
        let parent_age = (head_age + rng.random_range(19..=34)).min(95);
        let relationship = either(rng, 0.6, rel::PARENT, rel::PARENT_IN_LAW);
        let sex = female_with(rng, 0.7);
        let m = either(rng, 0.8, marital::WIDOWED, marital::MARRIED);
        drafts.push(Draft::new(sex, parent_age, relationship, m));
    }
    if rng.random_bool(0.03) {
        let sex = female_with(rng, 0.5);
        let age = rng.random_range(6..=24);
        let m = if age >= 20 && rng.random_bool(0.2) {
            marital::MARRIED
        } else {
            marital::NEVER
        };
        drafts.push(Draft::new(sex, age, rel::OTHER_RELATIVE, m));
    }
    if variety == Variety::Field {
        add_field_changes(rng, &mut drafts);
    }
    build(rng, village, on, drafts)
}

/// Members who left since the KK was issued, and a baby born after it (a new member, not on the KK).
fn add_field_changes(rng: &mut impl Rng, drafts: &mut Vec<Draft>) {
    let mut couple_left = false;
    for d in drafts.iter_mut() {
        let may_leave = matches!(
            d.relationship,
            rel::CHILD | rel::PARENT | rel::PARENT_IN_LAW | rel::OTHER_RELATIVE
        );
        if !may_leave || !rng.random_bool(0.05) {
            continue;
        }
        d.status = match d.age {
            a if a >= 65 => status::DIED,
            a if a >= 20 && d.marital == marital::MARRIED => {
                couple_left |= d.relationship == rel::CHILD;
                status::SPLIT_OFF
            }
            a if (20..=40).contains(&a) && rng.random_bool(0.3) => status::ABROAD,
            a if a >= 15 && rng.random_bool(0.2) => status::NOT_FOUND,
            _ => status::MOVED,
        };
    }
    if couple_left {
        // A married child who made a KK of their own took their spouse and children along.
        for d in drafts.iter_mut() {
            if d.relationship == rel::CHILD_IN_LAW || d.relationship == rel::GRANDCHILD {
                d.status = status::SPLIT_OFF;
            }
        }
    }
    let mother_in_couple = drafts.iter().any(|d| {
        (d.relationship == rel::HEAD || d.relationship == rel::SPOUSE)
            && d.sex == Sex::Female
            && d.marital == marital::MARRIED
            && (18..=42).contains(&d.age)
    });
    let children = drafts
        .iter()
        .filter(|d| d.relationship == rel::CHILD)
        .count();
    let youngest = drafts
        .iter()
        .filter(|d| d.relationship == rel::CHILD)
        .map(|d| d.age)
        .min();
    if mother_in_couple && youngest.is_none_or(|a| a >= 2) && rng.random_bool(0.12) {
        let sex = female_with(rng, 0.5);
        let mut d = Draft::new(sex, 0, rel::CHILD, marital::NEVER);
        d.status = status::NEW;
        d.order = children;
        d.family_name = true;
        drafts.push(d);
    }
}

/// The family [`super::Generator::broken`] starts from: every §4 rule has a member to break it on.
/// Head (man, 40), spouse (woman, 36), children of 15, 9 and 1, the head's widowed mother (68); all on the KK.
pub fn standard_family(rng: &mut impl Rng, village: &str, on: NaiveDate) -> Family {
    let mut drafts = vec![
        Draft::new(Sex::Male, 40, rel::HEAD, marital::MARRIED),
        Draft::new(Sex::Female, 36, rel::SPOUSE, marital::MARRIED),
    ];
    for (order, age) in [15, 9, 1].into_iter().enumerate() {
        let mut d = Draft::new(female_with(rng, 0.5), age, rel::CHILD, marital::NEVER);
        d.order = order;
        d.family_name = true;
        drafts.push(d);
    }
    drafts.push(Draft::new(Sex::Female, 68, rel::PARENT, marital::WIDOWED));
    let mut family = build(rng, village, on, drafts);
    // Wealthy enough for a metered connection and a fridge, so the appliance and meter rules have something to
    // break; everything else stays as drawn.
    family.wealth = family.wealth.max(0.5);
    family
}

fn build(rng: &mut impl Rng, village: &str, on: NaiveDate, mut drafts: Vec<Draft>) -> Family {
    let province = village.get(..2).unwrap_or("");
    let culture = names::pick_culture(rng, province);
    let district = village.get(..8).unwrap_or(village).to_string();
    let family_name = if names::has_family_name(culture) {
        names::family_name(rng, culture)
    } else {
        ""
    };
    let head_sex = drafts.first().map(|d| d.sex).unwrap_or(Sex::Male);
    let wealth: f64 = rng.random::<f64>().powf(1.6);

    let mut members = Vec::with_capacity(drafts.len());
    for d in drafts.iter_mut() {
        let birth = birth_date_for_age(rng, d.age, on);
        let carried =
            if d.family_name && (head_sex == Sex::Male || d.relationship == rel::GRANDCHILD) {
                family_name
            } else if d.family_name {
                // Children of a female head carry their father's family name, which is not hers.
                names::family_name(rng, culture)
            } else if d.relationship == rel::HEAD {
                family_name
            } else if names::has_family_name(culture) {
                names::family_name(rng, culture)
            } else {
                ""
            };
        let name = names::person_name(rng, culture, d.sex, birth.year(), d.order, carried);
        // A new baby may not have its NIK yet.
        let nik = if d.status == status::NEW && rng.random_bool(0.5) {
            None
        } else {
            Some(nik_for(rng, &district, birth, d.sex))
        };
        members.push(Person {
            name,
            nik,
            sex: d.sex,
            birth_date: birth,
            relationship: d.relationship,
            marital: d.marital,
            status: d.status,
        });
    }
    let youngest_listed = members
        .iter()
        .filter(|p| p.status != status::NEW)
        .map(|p| p.birth_date)
        .max()
        .unwrap_or(on);
    let kk_member_count = members.iter().filter(|p| p.status != status::NEW).count() as u32;
    let issued_from = youngest_listed.max(on - Duration::days(365 * 12));
    // A KK issued after the youngest member on it was born, and before any new member was.
    let first_new = members
        .iter()
        .filter(|p| p.status == status::NEW)
        .map(|p| p.birth_date)
        .min();
    let issued_until = first_new.map_or(on - Duration::days(30), |b| b - Duration::days(1));
    let span = (issued_until - issued_from).num_days().max(1);
    let issued = issued_from + Duration::days(rng.random_range(0..span));
    let kk_number =
        identity::make_kk(&district, issued, rng.random_range(1..=9999)).unwrap_or_default();

    let kelurahan = village.get(9..10) == Some("1");
    let dusun = if kelurahan {
        format!("Lingkungan {}", roman(rng.random_range(1..=6)))
    } else {
        format!("Dusun {}", roman(rng.random_range(1..=5)))
    };
    let rt = format!("{:03}", rng.random_range(1..=15));
    let rw = format!("{:03}", rng.random_range(1..=8));
    let street = names::STREETS.choose(rng).copied().unwrap_or("Jl. Merdeka");
    let street_address = format!("{street} No. {}", rng.random_range(1..=150));
    let mut programmes = Vec::new();
    if rng.random_bool(0.45 * (1.0 - wealth) + 0.05) {
        programmes.push("PKH");
    }
    if rng.random_bool(0.6 * (1.0 - wealth) + 0.05) {
        programmes.push("SEMBAKO");
    }
    Family {
        village: village.to_string(),
        culture,
        kk_number,
        kk_member_count,
        dusun,
        rt,
        rw,
        street_address,
        members,
        programmes,
        wealth,
    }
}

fn roman(n: u32) -> &'static str {
    ["I", "II", "III", "IV", "V", "VI"]
        .get(n.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("I")
}
