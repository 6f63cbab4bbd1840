//! Indonesian identity numbers: NIK (Nomor Induk Kependudukan) and No. KK (Nomor Kartu Keluarga).
//!
//! NIK = `PPKKCC DDMMYY SSSS`: the district where it was *first registered*, the birth date (day + 40 for
//! women), and a serial from 0001. A NIK is not reissued when someone moves or a birth date is corrected, so an
//! unknown prefix (an older district code) is a warning, and a mismatch with the stated birth date or sex is left
//! to the forms' warning constraints (`nik-birth-date(.)`, `nik-sex(.)`). No. KK = 16 digits starting with the
//! district of issue.

use chrono::{Datelike, NaiveDate};

use super::model::{Level, Text};
use super::region::{self, code_from_nik_prefix};

/// Sex as the member roster codes it: `1` male, `2` female.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The roster code: `"1"` male, `"2"` female.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
        }
    }

    pub fn from_code(code: &str) -> Option<Sex> {
        match code {
            "1" => Some(Sex::Male),
            "2" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// One problem with an identity number. `rule` is stable (`nik_format`, `nik_date`, `nik_serial`, `nik_prefix`,
/// `kk_format`, `kk_prefix`); the message does not name the field (the engine adds its label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProblem {
    pub rule: &'static str,
    pub level: Level,
    pub message: Text,
}

impl IdentityProblem {
    fn error(rule: &'static str, id: String, en: String) -> Self {
        IdentityProblem {
            rule,
            level: Level::Error,
            message: Text { id, en },
        }
    }
}

/// What a well-formed NIK says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NikInfo {
    /// Dotted district code of first registration, e.g. `17.71.01`.
    pub district_code: String,
    /// Whether that district is in the current Kemendagri list.
    pub prefix_known: bool,
    pub sex: Sex,
    pub birth_day: u32,
    pub birth_month: u32,
    /// Two-digit birth year; the century follows from the date it is read on ([`NikInfo::birth_date`]).
    pub birth_yy: u32,
    pub serial: u16,
}

impl NikInfo {
    /// The birth date: the latest of 19YY / 20YY that is a real date not after `on` (the visit date).
    pub fn birth_date(&self, on: NaiveDate) -> Option<NaiveDate> {
        resolve_century(self.birth_day, self.birth_month, self.birth_yy, on)
    }

    /// Warnings that do not make the NIK unusable (an unknown region prefix).
    pub fn warnings(&self) -> Vec<IdentityProblem> {
        if self.prefix_known {
            return Vec::new();
        }
        vec![unknown_prefix("nik_prefix", "NIK", &self.district_code)]
    }
}

fn unknown_prefix(rule: &'static str, what: &str, district: &str) -> IdentityProblem {
    IdentityProblem {
        rule,
        level: Level::Warning,
        message: Text {
            id: format!(
                "Awalan {what} {district} tidak ada dalam daftar kecamatan Kemendagri 2025 (mungkin kode lama); periksa kembali"
            ),
            en: format!(
                "{what} prefix {district} is not a district in the 2025 Kemendagri list (possibly an older code); please check"
            ),
        },
    }
}

fn resolve_century(day: u32, month: u32, yy: u32, on: NaiveDate) -> Option<NaiveDate> {
    [2000, 1900]
        .into_iter()
        .filter_map(|century| NaiveDate::from_ymd_opt(century + yy as i32, month, day))
        .find(|d| *d <= on)
}

fn digits_problem(rule: &'static str, what: &str, value: &str) -> Option<IdentityProblem> {
    let chars = value.chars().count();
    if chars == 16 && value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (id, en) = if value.chars().all(|c| c.is_ascii_digit()) {
        (
            format!("{what} harus 16 angka (tertulis {chars} angka)"),
            format!("{what} must be 16 digits (it has {chars})"),
        )
    } else {
        (
            format!("{what} hanya boleh berisi 16 angka"),
            format!("{what} must contain only its 16 digits"),
        )
    };
    Some(IdentityProblem::error(rule, id, en))
}

fn two_digits(s: &str, at: usize) -> u32 {
    s.as_bytes()
        .get(at..at + 2)
        .map(|b| {
            b.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d.wrapping_sub(b'0')))
        })
        .unwrap_or(0)
}

/// Checks a NIK: 16 digits, a real birth date (DD + 40 for women), serial not 0000. Errors make it `Err`;
/// an unknown region prefix is only a warning ([`NikInfo::warnings`]).
pub fn check_nik(nik: &str) -> Result<NikInfo, Vec<IdentityProblem>> {
    if let Some(p) = digits_problem("nik_format", "NIK", nik) {
        return Err(vec![p]);
    }
    let mut problems = Vec::new();
    let raw_day = two_digits(nik, 6);
    let (day, sex) = if raw_day > 40 {
        (raw_day - 40, Sex::Female)
    } else {
        (raw_day, Sex::Male)
    };
    let month = two_digits(nik, 8);
    let yy = two_digits(nik, 10);
    let real = [2000, 1900]
        .into_iter()
        .any(|c| NaiveDate::from_ymd_opt(c + yy as i32, month, day).is_some());
    if !real {
        let ddmmyy = nik.get(6..12).unwrap_or_default();
        problems.push(IdentityProblem::error(
            "nik_date",
            format!(
                "Digit 7–12 NIK ({ddmmyy}) bukan tanggal lahir yang benar (DDMMYY, tanggal +40 untuk perempuan)"
            ),
            format!("NIK digits 7–12 ({ddmmyy}) are not a real birth date (DDMMYY, day +40 for women)"),
        ));
    }
    let serial = nik
        .get(12..16)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    if serial == 0 {
        problems.push(IdentityProblem::error(
            "nik_serial",
            "Nomor urut NIK (4 digit terakhir) tidak boleh 0000".to_owned(),
            "The NIK serial (last 4 digits) cannot be 0000".to_owned(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let district_code = code_from_nik_prefix(nik).unwrap_or_default();
    let prefix_known = region::regions().contains(&district_code);
    Ok(NikInfo {
        district_code,
        prefix_known,
        sex,
        birth_day: day,
        birth_month: month,
        birth_yy: yy,
        serial,
    })
}

/// Every problem of a NIK, errors and warnings together.
pub fn nik_problems(nik: &str) -> Vec<IdentityProblem> {
    match check_nik(nik) {
        Ok(info) => info.warnings(),
        Err(problems) => problems,
    }
}

/// The birth date a NIK encodes, read on `on` (the visit date decides the century); `None` if malformed.
pub fn nik_birth_date(nik: &str, on: NaiveDate) -> Option<NaiveDate> {
    check_nik(nik).ok()?.birth_date(on)
}

/// The sex a NIK encodes (day + 40 = female); `None` if malformed.
pub fn nik_sex(nik: &str) -> Option<Sex> {
    check_nik(nik).ok().map(|i| i.sex)
}

/// Builds a NIK for a district code (`17.71.01`, or a village code under it), birth date, sex and serial
/// (1–9999). `None` if the code is not district-level or deeper, or the serial is out of range.
pub fn make_nik(district_code: &str, birth: NaiveDate, sex: Sex, serial: u16) -> Option<String> {
    let prefix = region::nik_prefix(district_code)?;
    if !(1..=9999).contains(&serial) {
        return None;
    }
    let day = birth.day() + if sex == Sex::Female { 40 } else { 0 };
    Some(format!(
        "{prefix}{day:02}{:02}{:02}{serial:04}",
        birth.month(),
        birth.year().rem_euclid(100)
    ))
}

/// What a well-formed No. KK says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KkInfo {
    /// Dotted district code of issue, e.g. `17.71.01`.
    pub district_code: String,
    pub prefix_known: bool,
}

impl KkInfo {
    pub fn warnings(&self) -> Vec<IdentityProblem> {
        if self.prefix_known {
            return Vec::new();
        }
        vec![unknown_prefix("kk_prefix", "No. KK", &self.district_code)]
    }
}

/// Checks a No. KK: 16 digits (error otherwise); an unknown district prefix is a warning.
pub fn check_kk(kk: &str) -> Result<KkInfo, Vec<IdentityProblem>> {
    if let Some(p) = digits_problem("kk_format", "No. KK", kk) {
        return Err(vec![p]);
    }
    let district_code = code_from_nik_prefix(kk).unwrap_or_default();
    let prefix_known = region::regions().contains(&district_code);
    Ok(KkInfo {
        district_code,
        prefix_known,
    })
}

/// Every problem of a No. KK, errors and warnings together.
pub fn kk_problems(kk: &str) -> Vec<IdentityProblem> {
    match check_kk(kk) {
        Ok(info) => info.warnings(),
        Err(problems) => problems,
    }
}

/// Builds a No. KK: district prefix, issue date `DDMMYY`, family serial (1–9999).
pub fn make_kk(district_code: &str, issued: NaiveDate, serial: u16) -> Option<String> {
    let prefix = region::nik_prefix(district_code)?;
    if !(1..=9999).contains(&serial) {
        return None;
    }
    Some(format!(
        "{prefix}{:02}{:02}{:02}{serial:04}",
        issued.day(),
        issued.month(),
        issued.year().rem_euclid(100)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const VISIT: fn() -> NaiveDate = || date(2026, 11, 23);

    #[test]
    fn a_womans_nik() {
        // 17.71.01 (Kota Bengkulu district), born 1 Jan 1990, female (41), serial 0001.
        let info = check_nik("1771014101900001").unwrap();
        assert_eq!(info.district_code, "17.71.01");
        assert!(info.prefix_known);
        assert_eq!(info.sex, Sex::Female);
        assert_eq!(info.birth_date(VISIT()), Some(date(1990, 1, 1)));
        assert!(info.warnings().is_empty());
        assert_eq!(nik_sex("1771014101900001"), Some(Sex::Female));
        assert_eq!(
            nik_birth_date("1771011512200001", VISIT()),
            Some(date(2020, 12, 15))
        );
        assert_eq!(nik_sex("1771011512200001"), Some(Sex::Male));
    }

    #[test]
    fn century_follows_the_visit_date() {
        // Born 2026-12-01 would be after the visit: it must be 1926.
        assert_eq!(
            nik_birth_date("1771010112260001", VISIT()),
            Some(date(1926, 12, 1))
        );
        assert_eq!(
            nik_birth_date("1771010111260001", VISIT()),
            Some(date(2026, 11, 1))
        );
    }

    #[test]
    fn malformed_niks_are_errors() {
        let rules = |nik: &str| {
            check_nik(nik)
                .unwrap_err()
                .iter()
                .map(|p| p.rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(rules("177101410190000"), ["nik_format"]);
        assert_eq!(rules("17710141019000011"), ["nik_format"]);
        assert_eq!(rules("17710141019O0001"), ["nik_format"]);
        assert_eq!(rules("１７７１０１４１０１９０００１"), ["nik_format"]);
        assert_eq!(rules("1771013201900001"), ["nik_date"]); // day 32
        assert_eq!(rules("1771017201900001"), ["nik_date"]); // day 72 (woman, 32)
        assert_eq!(rules("1771010013900001"), ["nik_date"]); // day 0, month 13
        assert_eq!(rules("1771013002900001"), ["nik_date"]); // 30 February
        assert_eq!(rules("1771014101900000"), ["nik_serial"]);
        assert_eq!(rules("1771013202900000"), ["nik_date", "nik_serial"]);
        // 29 Feb 2000 is real (and so a NIK with 290200 is well-formed).
        assert!(check_nik("1771012902000001").is_ok());
        let msg = &check_nik("12345").unwrap_err()[0].message;
        assert!(
            msg.id.contains("16 angka") && msg.en.contains("16 digits"),
            "{msg:?}"
        );
    }

    #[test]
    fn unknown_prefix_is_only_a_warning() {
        let info = check_nik("9999994101900001").unwrap();
        assert!(!info.prefix_known);
        let w = info.warnings();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].rule, "nik_prefix");
        assert_eq!(w[0].level, Level::Warning);
        assert_eq!(nik_problems("9999994101900001"), w);
    }

    #[test]
    fn kk_numbers() {
        assert!(check_kk("1771010101200003").unwrap().prefix_known);
        assert_eq!(check_kk("17710101012000").unwrap_err()[0].rule, "kk_format");
        let w = kk_problems("9999990101200003");
        assert_eq!(
            (w.len(), w[0].rule, w[0].level),
            (1, "kk_prefix", Level::Warning)
        );
        assert_eq!(
            make_kk("17.71.01.1001", date(2020, 1, 1), 3).as_deref(),
            Some("1771010101200003")
        );
        assert_eq!(make_kk("17.71", date(2020, 1, 1), 3), None);
    }

    #[test]
    fn make_nik_round_trips() {
        let nik = make_nik("17.71.01", date(1990, 1, 1), Sex::Female, 1).unwrap();
        assert_eq!(nik, "1771014101900001");
        assert_eq!(make_nik("17.71.01", date(1990, 1, 1), Sex::Male, 0), None);
        assert_eq!(Sex::from_code(Sex::Female.code()), Some(Sex::Female));
    }

    proptest! {
        #[test]
        fn made_niks_check_out(day in 0i64..36_000, female: bool, serial in 1u16..=9999, d in 0usize..7285) {
            // Within a century of the visit: older people's two-digit years are ambiguous.
            let birth = date(1927, 1, 1) + chrono::Duration::days(day);
            let district = region::regions().list(crate::RegionLevel::District)[d].code;
            let sex = if female { Sex::Female } else { Sex::Male };
            let nik = make_nik(district, birth, sex, serial).unwrap();
            let info = check_nik(&nik).unwrap();
            prop_assert!(info.prefix_known);
            prop_assert_eq!(info.sex, sex);
            prop_assert_eq!(info.birth_date(VISIT()), Some(birth));
        }

        #[test]
        fn checking_never_panics(s in "\\PC{0,20}") {
            let _ = check_nik(&s);
            let _ = check_kk(&s);
            let _ = nik_birth_date(&s, VISIT());
        }
    }
}
