//! Camera-like photos made here, for tests, the demo and the benchmark: a house front (sky, roof tiles, a
//! plastered wall with a door and windows, grass) with sensor noise, encoded at a camera's quality, carrying the
//! metadata a phone camera writes (EXIF maker and model, an orientation tag, a comment with a serial number).
//! Deterministic for a seed.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

/// The maker written into the EXIF block (tests look for it in prepared photos: it must be gone).
pub const CAMERA_MAKER: &str = "TepatCam";
/// The comment segment's text (a device serial number, as some phones write).
pub const CAMERA_COMMENT: &str = "SERIAL-4F2A-99C1";

/// A house photo of `width`×`height` pixels as a camera would store it: JPEG at quality 92 with an EXIF block
/// whose orientation tag is `orientation` (1 = upright, 6 = turn 90° clockwise to view, 8 = counter-clockwise,
/// 3 = 180°). The pixels are stored as the sensor saw them, so a viewer must apply the tag.
pub fn camera_photo(width: u32, height: u32, orientation: u16, seed: u64) -> Vec<u8> {
    let pixels = house(width, height, seed);
    let mut jpeg = Vec::new();
    // Encoding pixels we just made into memory cannot fail but for allocation, which aborts anyway.
    if JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&pixels)
        .is_err()
    {
        return Vec::new();
    }
    with_camera_metadata(&jpeg, orientation)
}

/// The pixels of a house front. A marker in the top-left corner (a red square) shows which way is up.
pub fn house(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (w, h) = (width as f32, height as f32);
    let sky_end = 0.3 * h;
    let roof_end = 0.45 * h;
    let ground = 0.85 * h;
    let tile = (h / 60.0).max(2.0);
    let mut out = RgbImage::new(width, height);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let mut rgb: [f32; 3] = if fy < sky_end {
            let t = fy / sky_end;
            [120.0 + 60.0 * t, 170.0 + 40.0 * t, 235.0 - 10.0 * t]
        } else if fy < roof_end {
            // Rows of clay tiles: a darker line between rows, each tile a little different.
            let row = ((fy - sky_end) / tile) as u32;
            let col = ((fx + (row % 2) as f32 * tile) / (2.0 * tile)) as u32;
            let shade = ((row.wrapping_mul(31) ^ col.wrapping_mul(17)) % 23) as f32;
            let edge = if (fy - sky_end) % tile < 1.5 {
                -40.0
            } else {
                0.0
            };
            [150.0 + shade + edge, 70.0 + shade / 2.0 + edge, 50.0 + edge]
        } else if fy < ground {
            let door = fx > 0.42 * w && fx < 0.55 * w && fy > 0.55 * h;
            let window =
                |x0: f32| fx > x0 * w && fx < (x0 + 0.14) * w && fy > 0.52 * h && fy < 0.7 * h;
            if door {
                [95.0, 60.0, 35.0]
            } else if window(0.12) || window(0.72) {
                let bars = (fx as u32 / (width / 80).max(1)) % 6 == 0;
                if bars {
                    [60.0, 60.0, 60.0]
                } else {
                    [40.0, 55.0, 70.0]
                }
            } else {
                // Plaster: slow blotches over a pale wall.
                let blotch = ((fx * 0.013).sin() * (fy * 0.021).cos()) * 10.0;
                [215.0 + blotch, 205.0 + blotch, 180.0 + blotch]
            }
        } else {
            let blade = (rng.next() % 40) as f32;
            [50.0 + blade / 2.0, 110.0 + blade, 40.0]
        };
        if x < width / 12 && y < height / 12 {
            rgb = [230.0, 20.0, 20.0];
        }
        // Sensor noise on every channel.
        for c in &mut rgb {
            *c += (rng.next() % 9) as f32 - 4.0;
        }
        *px = Rgb(rgb.map(|c| c.clamp(0.0, 255.0) as u8));
    }
    out
}

/// `jpeg` with an EXIF block (maker, model, orientation) and a comment segment inserted after its start marker.
pub fn with_camera_metadata(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let Some(rest) = jpeg.strip_prefix(&[0xFF, 0xD8]) else {
        return jpeg.to_vec();
    };
    let exif = exif_block(orientation);
    let mut out = Vec::with_capacity(jpeg.len() + exif.len() + 64);
    out.extend_from_slice(&[0xFF, 0xD8]);
    push_segment(&mut out, 0xE1, &exif);
    push_segment(&mut out, 0xFE, CAMERA_COMMENT.as_bytes());
    out.extend_from_slice(rest);
    out
}

fn push_segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    let length = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
}

/// `Exif\0\0` and a little-endian TIFF structure with one IFD: Make, Model, Orientation.
fn exif_block(orientation: u16) -> Vec<u8> {
    let maker = format!("{CAMERA_MAKER}\0");
    let model = "Model X1 Pro\0";
    let entries = 3u16;
    // TIFF header (8) + entry count (2) + entries (12 each) + next-IFD offset (4); strings follow.
    let data_start = 8 + 2 + 12 * u32::from(entries) + 4;
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II");
    tiff.extend_from_slice(&42u16.to_le_bytes());
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&entries.to_le_bytes());
    let entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value);
    };
    entry(
        &mut tiff,
        0x010F,
        2,
        maker.len() as u32,
        data_start.to_le_bytes(),
    );
    let model_at = data_start + maker.len() as u32;
    entry(
        &mut tiff,
        0x0110,
        2,
        model.len() as u32,
        model_at.to_le_bytes(),
    );
    let o = orientation.to_le_bytes();
    entry(&mut tiff, 0x0112, 3, 1, [o[0], o[1], 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(maker.as_bytes());
    tiff.extend_from_slice(model.as_bytes());
    let mut block = b"Exif\0\0".to_vec();
    block.extend_from_slice(&tiff);
    block
}

/// A small, fast, seedable generator (xorshift64): the pictures need variety, not statistics.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
