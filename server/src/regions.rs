//! Region codes (Kemendagri, dotted `PP.KK.CC.DDDD`): checks, names, and the region scope of a caller.
//!
//! A user's regions are code prefixes: a supervisor of `17.71` sees every district and village of Kota Bengkulu.
//! The match is on whole dotted segments (`17.7` covers nothing), as [`tepat_form::region::is_within`].

use tepat_form::RegionLevel;
use tepat_form::region::{self, level_of_code};

/// A region code a user may be scoped to: any level, and in the embedded Kemendagri list.
pub fn check_scope_code(code: &str) -> Result<(), String> {
    if level_of_code(code).is_none() {
        return Err(format!(
            "{code:?} is not a region code (PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD)"
        ));
    }
    if !region::regions().contains(code) {
        return Err(format!("{code:?} is not in the Kemendagri region list"));
    }
    Ok(())
}

/// A village code (where an assignment is): `PP.KK.CC.DDDD` and in the list.
pub fn check_village_code(code: &str) -> Result<(), String> {
    if level_of_code(code) != Some(RegionLevel::Village) {
        return Err(format!(
            "{code:?} is not a village code of the form PP.KK.CC.DDDD"
        ));
    }
    if !region::regions().contains(code) {
        return Err(format!("{code:?} is not in the Kemendagri region list"));
    }
    Ok(())
}

/// The name of a region, empty when the code is not in the list.
pub fn name(code: &str) -> &'static str {
    region::regions().name(code).unwrap_or("")
}

/// The province, regency, district and village (code, name) of a code, from the region list's lineage of it;
/// levels it does not reach (and codes not in the list) are empty.
pub fn levels(code: &str) -> [(String, &'static str); 4] {
    let mut out: [(String, &'static str); 4] = Default::default();
    for region in region::regions().lineage(code) {
        let depth = match region.level {
            RegionLevel::Province => 0,
            RegionLevel::Regency => 1,
            RegionLevel::District => 2,
            RegionLevel::Village => 3,
        };
        if let Some(slot) = out.get_mut(depth) {
            *slot = (region.code.to_string(), region.name);
        }
    }
    out
}

/// True when `code` lies within one of `scopes`.
pub fn in_scope(code: &str, scopes: &[String]) -> bool {
    scopes.iter().any(|scope| region::is_within(code, scope))
}

/// SQL condition: the region code column `column` lies within one of the regions of the user bound to `user_param`
/// (e.g. `?3`). Parameterised: the codes never become SQL text.
pub fn scope_sql(column: &str, user_param: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM user_regions scope WHERE scope.user_id = {user_param} AND \
         ({column} = scope.region_code OR substr({column}, 1, length(scope.region_code) + 1) = scope.region_code || '.'))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn village_codes_must_exist() {
        assert!(check_village_code("17.71.01.1001").is_ok());
        assert!(
            check_village_code("17.71.01")
                .unwrap_err()
                .contains("not a village code")
        );
        assert!(
            check_village_code("17.71.01.9999")
                .unwrap_err()
                .contains("not in the Kemendagri")
        );
        assert!(check_village_code("17.71.01.1001'--").is_err());
    }

    #[test]
    fn scope_codes_may_be_any_level() {
        assert!(check_scope_code("17").is_ok());
        assert!(check_scope_code("17.71").is_ok());
        assert!(check_scope_code("17.7").is_err());
        assert!(check_scope_code("99.99").is_err());
    }

    #[test]
    fn levels_name_every_ancestor() {
        let [p, r, d, v] = levels("17.71.01.1001");
        assert_eq!(p.0, "17");
        assert_eq!(p.1, "Bengkulu");
        assert_eq!(r.0, "17.71");
        assert_eq!(d.0, "17.71.01");
        assert_eq!(v.0, "17.71.01.1001");
        assert!(!v.1.is_empty());
        let [_, _, d, v] = levels("17.71");
        assert_eq!((d.0.as_str(), v.0.as_str()), ("", ""));
    }

    #[test]
    fn scope_matches_whole_segments() {
        let scopes = vec!["17.71".to_string()];
        assert!(in_scope("17.71.01.1001", &scopes));
        assert!(in_scope("17.71", &scopes));
        assert!(!in_scope("17.710", &scopes));
        assert!(!in_scope("17.72.01.1001", &scopes));
    }
}
