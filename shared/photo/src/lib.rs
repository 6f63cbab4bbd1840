//! `tepat-photo`: a photo made ready to send from a phone on a 2G link.
//!
//! The camera's file (any JPEG a phone camera writes, often 3–6 MB at 12 MP) becomes a JPEG whose
//! - **orientation is applied**: the EXIF orientation tag is read and the pixels are turned, so the photo looks
//!   right in any viewer without that tag;
//! - **long edge is at most** [`PhotoSettings::max_long_edge`] pixels (1600 by default; never enlarged);
//! - **size is at most** [`PhotoSettings::target_bytes`] where the quality range allows: the highest quality in
//!   `min_quality..=max_quality` whose encoding fits is chosen by bisection (a typical house photo at 1600 px
//!   fits at quality 80 or so; see the tests);
//! - **metadata is gone**: the photo is decoded to pixels and encoded anew, so no EXIF (maker, model, serial
//!   number, GPS, time), XMP, ICC profile, thumbnail or comment of the camera's file survives. The visit already
//!   records the time and the GPS fix it needs.
//!
//! What a stranger's file could make this cost is bounded before decoding: [`PhotoSettings::max_input_bytes`]
//! and [`PhotoSettings::max_input_pixels`] (the decoder's own limits refuse a header claiming more).
//!
//! The result is content-addressed: [`Prepared::sha256`] is the SHA-256 of the bytes to send, the key the server
//! stores and the upload resumes by.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::{DynamicImage, ImageDecoder, imageops::FilterType};
use sha2::{Digest, Sha256};

/// How photos are prepared. The defaults suit a house photo sent over 2G.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoSettings {
    /// Pixels of the longer edge, at most (a smaller photo keeps its size).
    pub max_long_edge: u32,
    /// Bytes of the prepared JPEG the quality is chosen for.
    pub target_bytes: usize,
    /// The quality tried first, and the highest used.
    pub max_quality: u8,
    /// The lowest quality used: a photo still larger there is kept at this quality (see [`Prepared::quality`]),
    /// since evidence a supervisor can read matters more than the bytes.
    pub min_quality: u8,
    /// Bytes of the camera's file, at most.
    pub max_input_bytes: u64,
    /// Pixels (width × height) of the camera's photo, at most.
    pub max_input_pixels: u64,
}

impl Default for PhotoSettings {
    fn default() -> Self {
        Self {
            max_long_edge: 1600,
            target_bytes: 300 * 1000,
            max_quality: 85,
            min_quality: 40,
            max_input_bytes: 40 * 1024 * 1024,
            max_input_pixels: 64_000_000,
        }
    }
}

/// Why a photo could not be prepared. The camera's file is never changed.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("reading the photo {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the prepared photo {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the photo is {bytes} bytes; at most {limit} are taken")]
    TooLarge { bytes: u64, limit: u64 },
    #[error("the photo is {width}×{height} pixels; at most {limit} pixels are taken")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the file is not a JPEG photo (it does not start with a JPEG marker)")]
    NotJpeg,
    #[error(
        "the photo is cut short (no end-of-image marker): the camera may not have finished writing it"
    )]
    Truncated,
    #[error("the photo cannot be read as a JPEG: {0}")]
    Decode(image::ImageError),
    #[error("the photo could not be encoded: {0}")]
    Encode(image::ImageError),
    #[error("the settings are unusable: {0}")]
    Settings(&'static str),
}

/// A photo ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The JPEG to send.
    pub jpeg: Vec<u8>,
    /// SHA-256 of `jpeg`, lower-case hex.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    /// The JPEG quality chosen.
    pub quality: u8,
    /// Bytes of the camera's file.
    pub original_bytes: u64,
    /// True when the photo is larger than `target_bytes` even at `min_quality` (kept at `min_quality`).
    pub over_target: bool,
}

/// Prepares a photo from the camera's bytes.
pub fn prepare(original: &[u8], settings: &PhotoSettings) -> Result<Prepared, PhotoError> {
    check_settings(settings)?;
    let original_bytes = original.len() as u64;
    if original_bytes > settings.max_input_bytes {
        return Err(PhotoError::TooLarge {
            bytes: original_bytes,
            limit: settings.max_input_bytes,
        });
    }
    if !original.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(PhotoError::NotJpeg);
    }
    // The decoder fills a cut-off photo with grey rather than failing; evidence must be whole.
    if !has_end_marker(original) {
        return Err(PhotoError::Truncated);
    }
    let mut decoder = JpegDecoder::new(Cursor::new(original)).map_err(PhotoError::Decode)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > settings.max_input_pixels {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: settings.max_input_pixels,
        });
    }
    let mut limits = image::Limits::default();
    // Decoded pixels (at most 4 bytes each) and the decoder's working memory stay within the pixel bound.
    limits.max_alloc = Some(settings.max_input_pixels.saturating_mul(4));
    decoder.set_limits(limits).map_err(PhotoError::Decode)?;
    // A missing or unreadable orientation tag means the pixels are stored upright.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut photo = DynamicImage::from_decoder(decoder).map_err(PhotoError::Decode)?;
    photo.apply_orientation(orientation);
    let photo = shrink(photo, settings.max_long_edge).into_rgb8();
    let (width, height) = photo.dimensions();
    let encode = |quality: u8| -> Result<Vec<u8>, PhotoError> {
        let mut out = Vec::with_capacity(settings.target_bytes);
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&photo)
            .map_err(PhotoError::Encode)?;
        Ok(out)
    };
    let (quality, jpeg, over_target) = choose_quality(settings, encode)?;
    Ok(Prepared {
        sha256: sha256_hex(&jpeg),
        jpeg,
        width,
        height,
        quality,
        original_bytes,
        over_target,
    })
}

/// Prepares the photo in `original` and writes it as `<sha256>.jpg` into `dir` (created if missing), whole or
/// not at all: written to a temporary name, synced, then renamed. The same photo again finds its file there.
pub fn prepare_file(
    original: &Path,
    dir: &Path,
    settings: &PhotoSettings,
) -> Result<(PathBuf, Prepared), PhotoError> {
    let read_error = |source| PhotoError::Read {
        path: original.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(original).map_err(read_error)?.len();
    if size > settings.max_input_bytes {
        return Err(PhotoError::TooLarge {
            bytes: size,
            limit: settings.max_input_bytes,
        });
    }
    let bytes = std::fs::read(original).map_err(read_error)?;
    let prepared = prepare(&bytes, settings)?;
    let path = dir.join(format!("{}.jpg", prepared.sha256));
    write_atomically(dir, &path, &prepared.jpeg)?;
    Ok((path, prepared))
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), PhotoError> {
    let write_error = |source| PhotoError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let temporary = path.with_extension("jpg.part");
    let mut file = std::fs::File::create(&temporary).map_err(write_error)?;
    file.write_all(bytes).map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)?;
    // The rename itself is durable once the directory is synced (a failure here leaves a complete file).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn check_settings(settings: &PhotoSettings) -> Result<(), PhotoError> {
    if settings.max_long_edge == 0 {
        return Err(PhotoError::Settings("max_long_edge must be at least 1"));
    }
    if settings.min_quality == 0
        || settings.max_quality > 100
        || settings.min_quality > settings.max_quality
    {
        return Err(PhotoError::Settings(
            "qualities must satisfy 1 <= min_quality <= max_quality <= 100",
        ));
    }
    Ok(())
}

/// The photo with its longer edge at most `max_long_edge`, proportions kept; never enlarged.
fn shrink(photo: DynamicImage, max_long_edge: u32) -> DynamicImage {
    let (w, h) = (photo.width(), photo.height());
    let long = w.max(h);
    if long <= max_long_edge {
        return photo;
    }
    let scale = |edge: u32| {
        let scaled =
            (u64::from(edge) * u64::from(max_long_edge) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled.max(1)).unwrap_or(max_long_edge)
    };
    // Triangle (bilinear) filtering: close to Lanczos for a photo shrunk 2–3×, several times faster on a phone.
    photo.resize_exact(scale(w), scale(h), FilterType::Triangle)
}

/// The highest quality whose encoding fits `target_bytes` (bisection: about 4 encodings), or `min_quality` when
/// none fits.
fn choose_quality(
    settings: &PhotoSettings,
    encode: impl Fn(u8) -> Result<Vec<u8>, PhotoError>,
) -> Result<(u8, Vec<u8>, bool), PhotoError> {
    let best = encode(settings.max_quality)?;
    if best.len() <= settings.target_bytes {
        return Ok((settings.max_quality, best, false));
    }
    let lowest = encode(settings.min_quality)?;
    if lowest.len() > settings.target_bytes {
        return Ok((settings.min_quality, lowest, true));
    }
    // Invariant: `low` fits (its encoding is `fitting`), `high` does not.
    let (mut low, mut high, mut fitting) = (settings.min_quality, settings.max_quality, lowest);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        let jpeg = encode(middle)?;
        if jpeg.len() <= settings.target_bytes {
            low = middle;
            fitting = jpeg;
        } else {
            high = middle;
        }
    }
    Ok((low, fitting, false))
}

/// True when the image data ends with an end-of-image marker. The segments before the first scan are skipped by
/// their lengths (an EXIF thumbnail holds a marker of its own); inside the scans a 0xFF byte is always followed by
/// 0x00 or a restart/scan marker, so `FF D9` there is the real end. Bytes after it (some phones append their own
/// trailer) are allowed.
fn has_end_marker(jpeg: &[u8]) -> bool {
    let mut at = 2;
    loop {
        let (Some(&0xFF), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) else {
            return false;
        };
        if marker == 0xFF {
            // Fill bytes before a marker.
            at += 1;
            continue;
        }
        if marker == 0xDA {
            break;
        }
        let (Some(&high), Some(&low)) = (jpeg.get(at + 2), jpeg.get(at + 3)) else {
            return false;
        };
        at += 2 + usize::from(u16::from_be_bytes([high, low]));
    }
    jpeg.get(at..)
        .is_some_and(|scans| scans.windows(2).any(|w| w == [0xFF, 0xD9]))
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub mod http;
pub mod synthetic;
pub mod upload;

#[cfg(test)]
mod tests;
