//! Kemendagri administrative region codes (province → regency → district → village), embedded in the core.
//!
//! Data: `shared/form/data/wilayah_kemendagri_2025.csv.gz`, the Kemendagri list of Kepmendagri 300.2.2-2138/2025
//! (38 provinces, 514 regencies/cities, 7,285 districts, 83,762 villages), converted from the MIT-licensed dump
//! `db/wilayah.sql` of the public repository cahyadsn/wilayah (copyright (c) 2025 cahya dsn, MIT License).
//!
//! Codes are written dotted, `PP.KK.CC.DDDD` (e.g. `17.71.01.1001`). Regencies 01–69 are kabupaten, 71–99 kota;
//! a village code starting with 1 is an urban kelurahan, 2 a rural desa. A NIK or No. KK starts with the six
//! digits of a district code without dots ([`nik_prefix`]).

use std::io::Read;
use std::sync::OnceLock;

use super::model::RegionLevel;

const DATA_GZ: &[u8] = include_bytes!("../data/wilayah_kemendagri_2025.csv.gz");

/// One region of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Dotted Kemendagri code, e.g. `17.71.01.1001`.
    pub code: &'static str,
    pub name: &'static str,
    pub level: RegionLevel,
}

/// The whole list, parsed once ([`regions`]). Each level is sorted by code, so the children of a region are one
/// contiguous slice of the next level.
#[derive(Debug)]
pub struct Regions {
    by_level: [Vec<Region>; 4],
}

/// The embedded region list, decompressed and parsed on first use.
pub fn regions() -> &'static Regions {
    static REGIONS: OnceLock<Regions> = OnceLock::new();
    REGIONS.get_or_init(|| Regions::parse(&decompress()))
}

fn decompress() -> String {
    let mut text = String::with_capacity(2_400_000);
    // The data is compiled in and checked by tests, so a failure here cannot come from input; an empty list
    // (every code unknown) is the safe outcome if it ever did.
    if flate2::read::GzDecoder::new(DATA_GZ)
        .read_to_string(&mut text)
        .is_err()
    {
        text.clear();
    }
    text
}

fn level_index(level: RegionLevel) -> usize {
    match level {
        RegionLevel::Province => 0,
        RegionLevel::Regency => 1,
        RegionLevel::District => 2,
        RegionLevel::Village => 3,
    }
}

impl Regions {
    fn parse(text: &str) -> Regions {
        // Leaked once: the list lives as long as the process, and borrowing from one buffer saves ~180k small
        // allocations on the phone.
        let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
        let mut by_level: [Vec<Region>; 4] = Default::default();
        for line in text.lines().skip(1) {
            let Some((code, name)) = line.split_once(',') else {
                continue;
            };
            let Some(level) = level_of_code(code) else {
                continue;
            };
            let name = unquote(name.trim_end_matches('\r'));
            by_level[level_index(level)].push(Region { code, name, level });
        }
        for level in &mut by_level {
            level.sort_unstable_by(|a, b| a.code.cmp(b.code));
            level.dedup_by(|a, b| a.code == b.code);
        }
        Regions { by_level }
    }

    /// The region with this exact dotted code.
    pub fn get(&self, code: &str) -> Option<&Region> {
        let level = level_of_code(code)?;
        let list = self.list(level);
        list.binary_search_by(|r| r.code.cmp(code))
            .ok()
            .and_then(|i| list.get(i))
    }

    /// The name of the region with this code.
    pub fn name(&self, code: &str) -> Option<&'static str> {
        self.get(code).map(|r| r.name)
    }

    /// The level of a code that is in the list (`None` for unknown codes, even well-formed ones).
    pub fn level(&self, code: &str) -> Option<RegionLevel> {
        self.get(code).map(|r| r.level)
    }

    pub fn contains(&self, code: &str) -> bool {
        self.get(code).is_some()
    }

    /// The regions directly under `parent` (all provinces when `None`), sorted by code. Empty for unknown
    /// parents and for villages.
    pub fn children(&self, parent: Option<&str>) -> &[Region] {
        let Some(parent) = parent else {
            return self.list(RegionLevel::Province);
        };
        let child_level = match level_of_code(parent) {
            Some(RegionLevel::Province) => RegionLevel::Regency,
            Some(RegionLevel::Regency) => RegionLevel::District,
            Some(RegionLevel::District) => RegionLevel::Village,
            Some(RegionLevel::Village) | None => return &[],
        };
        let list = self.list(child_level);
        // Children are `parent.` + more digits; '.' < '0', so they sort right after any code equal to `parent`.
        let start = list.partition_point(|r| r.code <= parent);
        let len = list
            .get(start..)
            .unwrap_or_default()
            .partition_point(|r| is_within(r.code, parent) && r.code != parent);
        list.get(start..start + len).unwrap_or_default()
    }

    /// Every region of one level, sorted by code.
    pub fn list(&self, level: RegionLevel) -> &[Region] {
        &self.by_level[level_index(level)]
    }

    /// Number of regions in the list (all levels).
    pub fn len(&self) -> usize {
        self.by_level.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The region and its ancestors, province first (only the known ones).
    pub fn lineage(&self, code: &str) -> Vec<&Region> {
        let mut out = Vec::with_capacity(4);
        let mut current = Some(code);
        while let Some(c) = current {
            if let Some(r) = self.get(c) {
                out.push(r);
            }
            current = parent_code(c);
        }
        out.reverse();
        out
    }
}

fn unquote(name: &'static str) -> &'static str {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        // Doubled quotes inside a quoted CSV value are rare (none in the 2025 list); leak the one-off copy.
        Some(inner) if inner.contains("\"\"") => {
            Box::leak(inner.replace("\"\"", "\"").into_boxed_str())
        }
        Some(inner) => inner,
        None => name,
    }
}

/// The level a code has by its shape (`PP`, `PP.KK`, `PP.KK.CC`, `PP.KK.CC.DDDD`, digits only), whether or not
/// it is in the list.
pub fn level_of_code(code: &str) -> Option<RegionLevel> {
    let mut level = None;
    for (i, part) in code.split('.').enumerate() {
        let width = if i == 3 { 4 } else { 2 };
        if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        level = Some(match i {
            0 => RegionLevel::Province,
            1 => RegionLevel::Regency,
            2 => RegionLevel::District,
            3 => RegionLevel::Village,
            _ => return None,
        });
    }
    level
}

/// The code of the region directly above (by shape): `17.71.01` → `17.71`; `None` for provinces.
pub fn parent_code(code: &str) -> Option<&str> {
    level_of_code(code)?;
    code.rfind('.').and_then(|i| code.get(..i))
}

/// True when `code` is `ancestor` itself or lies under it (`17.71.01.1001` is within `17.71`).
pub fn is_within(code: &str, ancestor: &str) -> bool {
    code == ancestor
        || (code.starts_with(ancestor) && code.as_bytes().get(ancestor.len()) == Some(&b'.'))
}

/// The six-digit NIK / No. KK prefix of a district (or deeper) code: `"17.71.01"` → `"177101"`.
/// `None` for province/regency codes and malformed ones.
pub fn nik_prefix(code: &str) -> Option<String> {
    match level_of_code(code)? {
        RegionLevel::Province | RegionLevel::Regency => None,
        RegionLevel::District | RegionLevel::Village => Some(code.get(..8)?.replace('.', "")),
    }
}

/// The dotted district code of a NIK / No. KK prefix: `"177101"` (or a whole NIK) → `"17.71.01"`.
pub fn code_from_nik_prefix(prefix: &str) -> Option<String> {
    let digits = prefix.get(..6)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}.{}.{}",
        digits.get(..2)?,
        digits.get(2..4)?,
        digits.get(4..6)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_list_is_embedded() {
        let r = regions();
        assert_eq!(r.list(RegionLevel::Province).len(), 38);
        assert_eq!(r.list(RegionLevel::Regency).len(), 514);
        assert_eq!(r.list(RegionLevel::District).len(), 7285);
        assert_eq!(r.list(RegionLevel::Village).len(), 83762);
        assert_eq!(r.len(), 38 + 514 + 7285 + 83762);
    }

    #[test]
    fn lookups_by_code() {
        let r = regions();
        assert_eq!(r.name("11"), Some("Aceh"));
        assert_eq!(r.name("11.01"), Some("Kabupaten Aceh Selatan"));
        assert_eq!(r.name("11.01.01.2001"), Some("Keude Bakongan"));
        assert_eq!(r.level("11.01.01"), Some(RegionLevel::District));
        assert!(r.contains("17.71.01"));
        assert!(!r.contains("17.71.99.9999"));
        assert!(!r.contains("1771"));
        assert_eq!(r.get(""), None);
        // Quoted names lose their quotes.
        assert_eq!(r.name("14.02.09.2010"), Some("Lambang Sari I, II, III"));
    }

    #[test]
    fn children_cascade_level_by_level() {
        let r = regions();
        assert_eq!(r.children(None).len(), 38);
        let aceh = r.children(Some("11"));
        assert!(!aceh.is_empty());
        assert!(
            aceh.iter()
                .all(|c| c.level == RegionLevel::Regency && c.code.starts_with("11."))
        );
        // Every regency is the child of exactly one province, and so on down.
        let total: usize = r
            .children(None)
            .iter()
            .map(|p| r.children(Some(p.code)).len())
            .sum();
        assert_eq!(total, 514);
        let districts: usize = r
            .list(RegionLevel::Regency)
            .iter()
            .map(|k| r.children(Some(k.code)).len())
            .sum();
        assert_eq!(districts, 7285);
        let villages: usize = r
            .list(RegionLevel::District)
            .iter()
            .map(|d| r.children(Some(d.code)).len())
            .sum();
        assert_eq!(villages, 83762);
        assert!(r.children(Some("17.71.01.1001")).is_empty());
        assert!(r.children(Some("nonsense")).is_empty());
        assert!(r.children(Some("99.99")).is_empty());
    }

    #[test]
    fn code_shapes() {
        assert_eq!(level_of_code("17"), Some(RegionLevel::Province));
        assert_eq!(level_of_code("17.71.01.1001"), Some(RegionLevel::Village));
        assert_eq!(level_of_code("17.71.01.100"), None);
        assert_eq!(level_of_code("17.7a"), None);
        assert_eq!(level_of_code("17.71.01.1001.1"), None);
        assert_eq!(level_of_code(""), None);
        assert_eq!(parent_code("17.71.01.1001"), Some("17.71.01"));
        assert_eq!(parent_code("17"), None);
        assert!(is_within("17.71.01.1001", "17.71"));
        assert!(is_within("17.71", "17.71"));
        assert!(!is_within("17.711", "17.71"));
        let lineage: Vec<&str> = regions()
            .lineage("11.01.01.2001")
            .iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(lineage, ["11", "11.01", "11.01.01", "11.01.01.2001"]);
    }

    #[test]
    fn nik_prefix_both_ways() {
        assert_eq!(nik_prefix("17.71.01").as_deref(), Some("177101"));
        assert_eq!(nik_prefix("17.71.01.1001").as_deref(), Some("177101"));
        assert_eq!(nik_prefix("17.71"), None);
        assert_eq!(code_from_nik_prefix("177101").as_deref(), Some("17.71.01"));
        assert_eq!(
            code_from_nik_prefix("1771014101900001").as_deref(),
            Some("17.71.01")
        );
        assert_eq!(code_from_nik_prefix("17710"), None);
        assert_eq!(code_from_nik_prefix("17a101"), None);
        assert_eq!(code_from_nik_prefix("é77101"), None);
    }
}
