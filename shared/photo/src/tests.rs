use super::synthetic::{CAMERA_COMMENT, CAMERA_MAKER, camera_photo};
use super::*;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The segment markers before the scan (start of frame etc.), in order.
fn markers_before_scan(jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        out.push(marker);
        if marker == 0xDA {
            break;
        }
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        at += 2 + length;
    }
    out
}

fn decode(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8()
}

fn is_red(p: &image::Rgb<u8>) -> bool {
    p[0] > 180 && p[1] < 80 && p[2] < 80
}

#[test]
fn a_camera_photo_becomes_1600_px_under_300_kb_without_its_metadata() {
    let original = camera_photo(4000, 3000, 1, 7);
    assert!(contains(&original, CAMERA_MAKER.as_bytes()));
    assert!(contains(&original, CAMERA_COMMENT.as_bytes()));
    assert!(
        original.len() > 1_500_000,
        "camera file {} bytes",
        original.len()
    );
    let prepared = prepare(&original, &PhotoSettings::default()).unwrap();
    assert_eq!((prepared.width, prepared.height), (1600, 1200));
    assert!(
        prepared.jpeg.len() <= 300_000,
        "{} bytes",
        prepared.jpeg.len()
    );
    assert!(!prepared.over_target);
    assert!(prepared.quality >= 60, "quality {}", prepared.quality);
    assert_eq!(prepared.original_bytes, original.len() as u64);
    assert_eq!(prepared.sha256, sha256_hex(&prepared.jpeg));
    // Nothing of the camera's metadata: no EXIF/APPn block but the encoder's JFIF header, no comment.
    assert!(!contains(&prepared.jpeg, b"Exif"));
    assert!(!contains(&prepared.jpeg, CAMERA_MAKER.as_bytes()));
    assert!(!contains(&prepared.jpeg, CAMERA_COMMENT.as_bytes()));
    let markers = markers_before_scan(&prepared.jpeg);
    assert!(
        markers
            .iter()
            .all(|m| *m == 0xE0 || !(0xE1..=0xEF).contains(m) && *m != 0xFE),
        "markers {markers:02x?}"
    );
    let pixels = decode(&prepared.jpeg);
    assert_eq!(pixels.dimensions(), (1600, 1200));
    assert!(
        is_red(pixels.get_pixel(20, 20)),
        "the upright photo keeps its marker top-left"
    );
}

#[test]
fn the_orientation_tag_is_applied_to_the_pixels() {
    // Stored landscape as the sensor saw it, tagged "turn 90° clockwise to view": the result is portrait, and
    // the marker the sensor had top-left is top-right.
    let original = camera_photo(2000, 1500, 6, 3);
    let prepared = prepare(&original, &PhotoSettings::default()).unwrap();
    assert_eq!((prepared.width, prepared.height), (1200, 1600));
    let pixels = decode(&prepared.jpeg);
    assert!(is_red(pixels.get_pixel(1200 - 20, 20)));
    assert!(!is_red(pixels.get_pixel(20, 20)));
    // Counter-clockwise: the marker ends bottom-left.
    let prepared = prepare(&camera_photo(2000, 1500, 8, 3), &PhotoSettings::default()).unwrap();
    let pixels = decode(&prepared.jpeg);
    assert_eq!(pixels.dimensions(), (1200, 1600));
    assert!(is_red(pixels.get_pixel(20, 1600 - 20)));
    // Upside down: bottom-right.
    let prepared = prepare(&camera_photo(2000, 1500, 3, 3), &PhotoSettings::default()).unwrap();
    let pixels = decode(&prepared.jpeg);
    assert_eq!(pixels.dimensions(), (1600, 1200));
    assert!(is_red(pixels.get_pixel(1600 - 20, 1200 - 20)));
}

#[test]
fn a_small_photo_is_not_enlarged_and_the_long_edge_is_configurable() {
    let prepared = prepare(&camera_photo(800, 600, 1, 1), &PhotoSettings::default()).unwrap();
    assert_eq!((prepared.width, prepared.height), (800, 600));
    let settings = PhotoSettings {
        max_long_edge: 640,
        ..PhotoSettings::default()
    };
    let prepared = prepare(&camera_photo(1000, 3000, 1, 1), &settings).unwrap();
    assert_eq!((prepared.width, prepared.height), (213, 640));
}

#[test]
fn the_highest_quality_that_fits_is_chosen() {
    let settings = PhotoSettings::default();
    let by_quality = |q: u8| Ok(vec![0u8; usize::from(q) * 5000]);
    // 57 × 5000 = 285,000 fits 300,000; 61 × 5000 = 305,000 does not.
    let (quality, jpeg, over) = choose_quality(&settings, by_quality).unwrap();
    assert_eq!((quality, jpeg.len(), over), (60, 300_000, false));
    let small = |_q: u8| Ok(vec![0u8; 10]);
    assert_eq!(
        choose_quality(&settings, small).unwrap().0,
        settings.max_quality
    );
    let huge = |_q: u8| Ok(vec![0u8; 400_000]);
    let (quality, _, over) = choose_quality(&settings, huge).unwrap();
    assert_eq!((quality, over), (settings.min_quality, true));
}

#[test]
fn a_photo_that_cannot_fit_is_kept_at_the_lowest_quality_and_says_so() {
    let settings = PhotoSettings {
        target_bytes: 2_000,
        ..PhotoSettings::default()
    };
    let prepared = prepare(&camera_photo(1200, 900, 1, 9), &settings).unwrap();
    assert!(prepared.over_target);
    assert_eq!(prepared.quality, settings.min_quality);
}

#[test]
fn the_same_photo_prepares_to_the_same_bytes() {
    let original = camera_photo(1000, 750, 6, 5);
    let a = prepare(&original, &PhotoSettings::default()).unwrap();
    let b = prepare(&original, &PhotoSettings::default()).unwrap();
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(a.jpeg, b.jpeg);
}

#[test]
fn what_is_not_a_usable_jpeg_is_refused_with_the_reason() {
    let settings = PhotoSettings::default();
    assert!(matches!(
        prepare(b"GIF89a....", &settings),
        Err(PhotoError::NotJpeg)
    ));
    assert!(matches!(prepare(b"", &settings), Err(PhotoError::NotJpeg)));
    let original = camera_photo(400, 300, 1, 2);
    let truncated = &original[..original.len() / 3];
    assert!(matches!(
        prepare(truncated, &settings),
        Err(PhotoError::Truncated)
    ));
    let mut garbage = original[..200].to_vec();
    garbage.extend_from_slice(&[0xFF, 0xD9]);
    assert!(matches!(
        prepare(&garbage, &settings),
        Err(PhotoError::Truncated | PhotoError::Decode(_))
    ));
    // A trailer after the end marker, as some phones write, is fine.
    let mut trailer = original.clone();
    trailer.extend_from_slice(b"SEFHtrailer");
    assert!(prepare(&trailer, &settings).is_ok());
    let small = PhotoSettings {
        max_input_bytes: 1000,
        ..PhotoSettings::default()
    };
    assert!(matches!(
        prepare(&original, &small),
        Err(PhotoError::TooLarge { limit: 1000, .. })
    ));
    // A header that claims 60000 × 60000 pixels is refused before any pixel is decoded.
    let mut bomb = original.clone();
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame");
    bomb[sof + 5..sof + 7].copy_from_slice(&60000u16.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
    assert!(matches!(
        prepare(&bomb, &settings),
        Err(PhotoError::TooManyPixels {
            width: 60000,
            height: 60000,
            ..
        })
    ));
    let bad = PhotoSettings {
        min_quality: 90,
        max_quality: 80,
        ..PhotoSettings::default()
    };
    assert!(matches!(
        prepare(&original, &bad),
        Err(PhotoError::Settings(_))
    ));
}

#[test]
fn a_prepared_file_is_named_by_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let camera = dir.path().join("IMG_0001.jpg");
    std::fs::write(&camera, camera_photo(900, 600, 1, 4)).unwrap();
    let outbox = dir.path().join("outbox");
    let (path, prepared) = prepare_file(&camera, &outbox, &PhotoSettings::default()).unwrap();
    assert_eq!(path, outbox.join(format!("{}.jpg", prepared.sha256)));
    let written = std::fs::read(&path).unwrap();
    assert_eq!(sha256_hex(&written), prepared.sha256);
    assert_eq!(
        std::fs::read_dir(&outbox).unwrap().count(),
        1,
        "no temporary file left"
    );
    let missing = prepare_file(
        &dir.path().join("none.jpg"),
        &outbox,
        &PhotoSettings::default(),
    );
    assert!(matches!(missing, Err(PhotoError::Read { .. })));
}
