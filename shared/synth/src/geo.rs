//! Plausible GPS points for a region code.
//!
//! The Kemendagri list has no coordinates, so this keeps an approximate centre and spread for each province
//! (and the exact centre of a few cities used in demos). A regency gets a stable offset from its province
//! centre, derived from its code, so that all villages of one regency cluster together; a village gets a smaller
//! stable offset from that. Points are for synthetic data only: near the region, always on Indonesian territory's
//! bounding box, not on the precise boundary.

use rand::Rng;

/// Province code → (latitude, longitude, spread in degrees).
const PROVINCES: &[(&str, f64, f64, f64)] = &[
    ("11", 4.4, 96.9, 1.0),
    ("12", 2.2, 99.1, 1.0),
    ("13", -0.8, 100.5, 0.8),
    ("14", 0.5, 101.6, 0.9),
    ("15", -1.6, 103.2, 0.8),
    ("16", -3.2, 104.3, 1.0),
    ("17", -3.6, 102.3, 0.6),
    ("18", -5.0, 105.1, 0.7),
    ("19", -2.4, 106.4, 0.6),
    ("21", 0.9, 104.4, 0.5),
    ("31", -6.2, 106.83, 0.08),
    ("32", -6.9, 107.6, 0.7),
    ("33", -7.2, 110.2, 0.6),
    ("34", -7.85, 110.4, 0.15),
    ("35", -7.6, 112.3, 0.8),
    ("36", -6.4, 106.1, 0.35),
    ("51", -8.4, 115.2, 0.3),
    ("52", -8.6, 117.3, 0.6),
    ("53", -9.4, 121.0, 1.2),
    ("61", 0.0, 110.6, 1.2),
    ("62", -1.7, 113.4, 1.2),
    ("63", -2.9, 115.3, 0.6),
    ("64", 0.6, 116.4, 1.2),
    ("65", 3.0, 116.5, 0.8),
    ("71", 1.2, 124.6, 0.5),
    ("72", -1.2, 121.2, 1.0),
    ("73", -4.1, 120.0, 0.9),
    ("74", -4.1, 122.3, 0.7),
    ("75", 0.6, 122.6, 0.4),
    ("76", -2.5, 119.2, 0.5),
    ("81", -3.3, 129.4, 1.2),
    ("82", 0.8, 127.8, 0.8),
    ("91", -2.6, 139.6, 1.0),
    ("92", -1.3, 133.4, 0.8),
    ("93", -7.2, 139.6, 1.0),
    ("94", -3.7, 136.5, 0.8),
    ("95", -4.0, 138.9, 0.5),
    ("96", -1.0, 131.9, 0.6),
];

/// Regency code → (latitude, longitude, spread): cities used in demos, where the point should be right.
const REGENCIES: &[(&str, f64, f64, f64)] = &[
    ("17.71", -3.80, 102.28, 0.05),
    ("35.77", -7.63, 111.52, 0.03),
    ("32.73", -6.91, 107.61, 0.05),
    ("31.75", -6.23, 106.90, 0.05),
    ("34.71", -7.80, 110.37, 0.03),
    ("73.71", -5.15, 119.43, 0.05),
    ("51.71", -8.65, 115.22, 0.04),
];

/// A small number in [-1, 1] fixed by a string (FNV-1a), for stable offsets.
fn stable_unit(key: &str, salt: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % 2_000_001) as f64 / 1_000_000.0 - 1.0
}

/// The approximate centre of a region (any level) and how far its points spread, in degrees.
pub fn centre(code: &str) -> (f64, f64, f64) {
    let regency = code.get(..5).unwrap_or(code);
    let (lat, lon, spread) =
        if let Some((_, lat, lon, s)) = REGENCIES.iter().find(|(c, ..)| *c == regency) {
            (*lat, *lon, *s)
        } else {
            let province = code.get(..2).unwrap_or(code);
            let (lat, lon, s) = PROVINCES
                .iter()
                .find(|(c, ..)| *c == province)
                .map(|(_, lat, lon, s)| (*lat, *lon, *s))
                .unwrap_or((-2.5, 118.0, 3.0));
            if code.len() >= 5 {
                (
                    lat + stable_unit(regency, 1) * s * 0.7,
                    lon + stable_unit(regency, 2) * s * 0.7,
                    s * 0.25,
                )
            } else {
                (lat, lon, s)
            }
        };
    if code.len() > 5 {
        // Districts and villages: a stable spot inside the regency.
        (
            lat + stable_unit(code, 3) * spread * 0.6,
            lon + stable_unit(code, 4) * spread * 0.6,
            spread * 0.1,
        )
    } else {
        (lat, lon, spread)
    }
}

/// A GPS fix near a region, with a phone-like accuracy: `{lat, lon, accuracy_m}`.
pub fn fix(rng: &mut impl Rng, code: &str) -> (f64, f64, f64) {
    let (lat, lon, spread) = centre(code);
    let lat = lat + rng.random_range(-1.0..1.0) * spread;
    let lon = lon + rng.random_range(-1.0..1.0) * spread;
    let accuracy = if rng.random_bool(0.85) {
        rng.random_range(3.0..15.0)
    } else {
        rng.random_range(15.0..60.0)
    };
    (round(lat, 6), round(lon, 6), round(accuracy, 1))
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn every_province_has_a_centre_inside_indonesia() {
        for region in tepat_form::region::regions().children(None) {
            assert!(
                PROVINCES.iter().any(|(c, ..)| *c == region.code),
                "no centre for {}",
                region.code
            );
        }
        let mut rng = StdRng::seed_from_u64(7);
        for region in tepat_form::region::regions().list(tepat_form::RegionLevel::Regency) {
            let (lat, lon, acc) = fix(&mut rng, region.code);
            assert!(
                (-11.5..=6.5).contains(&lat) && (94.0..=141.5).contains(&lon),
                "{}: {lat},{lon}",
                region.code
            );
            assert!(acc > 0.0);
        }
    }

    #[test]
    fn kota_bengkulu_points_are_in_the_city() {
        let mut rng = StdRng::seed_from_u64(8);
        let (lat, lon, _) = fix(&mut rng, "17.71.01.1001");
        assert!(
            (lat + 3.8).abs() < 0.1 && (lon - 102.28).abs() < 0.1,
            "{lat},{lon}"
        );
    }
}
