//! When a photo says it was taken: the EXIF `DateTimeOriginal` (else `DateTimeDigitized`) of a stored JPEG, with
//! its `OffsetTimeOriginal` when the camera wrote one. Read with the `kamadak-exif` crate, once, when the photo
//! is stored; a photo without EXIF (phones may strip it) simply has no capture time.

use std::io::Cursor;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime};
use exif::{In, Tag, Value};

/// Bytes of a JPEG read for its EXIF: the APP1 segment comes first and holds at most 64 KiB.
pub const EXIF_PREFIX_BYTES: usize = 128 * 1024;

/// A photo's capture time as its EXIF says: the camera's local clock, and its offset when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Captured {
    pub local: NaiveDateTime,
    pub offset: Option<FixedOffset>,
}

/// The capture time of a JPEG (its first bytes are enough), or `None` without a usable one.
pub fn captured(jpeg: &[u8]) -> Option<Captured> {
    let prefix = &jpeg[..jpeg.len().min(EXIF_PREFIX_BYTES)];
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(prefix))
        .ok()?;
    let ascii = |tag: Tag| match exif.get_field(tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(parts)) => parts.first().cloned(),
        _ => None,
    };
    let mut time = [Tag::DateTimeOriginal, Tag::DateTimeDigitized]
        .into_iter()
        .find_map(|tag| ascii(tag).and_then(|raw| exif::DateTime::from_ascii(&raw).ok()))?;
    if let Some(raw) = ascii(Tag::OffsetTimeOriginal) {
        // An offset that does not parse leaves the time local to the visit's province.
        let _ = time.parse_offset(&raw);
    }
    let local = NaiveDate::from_ymd_opt(
        i32::from(time.year),
        u32::from(time.month),
        u32::from(time.day),
    )?
    .and_hms_opt(
        u32::from(time.hour),
        u32::from(time.minute),
        u32::from(time.second),
    )?;
    let offset = time
        .offset
        .and_then(|minutes| FixedOffset::east_opt(i32::from(minutes) * 60));
    Some(Captured { local, offset })
}

/// Test support: a JPEG (the given one) with an EXIF segment carrying `DateTimeOriginal` (`YYYY:MM:DD HH:MM:SS`).
#[cfg(test)]
pub fn with_capture_time(jpeg: &[u8], when: &str) -> Vec<u8> {
    assert_eq!(when.len(), 19, "EXIF times are YYYY:MM:DD HH:MM:SS");
    // Big-endian TIFF: IFD0 with one entry pointing at the Exif IFD, which holds DateTimeOriginal.
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&[0x00, 0x01]); // IFD0: one entry
    tiff.extend_from_slice(&[
        0x87, 0x69, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 26,
    ]);
    tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    tiff.extend_from_slice(&[0x00, 0x01]); // Exif IFD at 26: one entry
    tiff.extend_from_slice(&[
        0x90, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 20, 0x00, 0x00, 0x00, 44,
    ]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(when.as_bytes());
    tiff.push(0);
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let length = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest JPEG shape the media checks accept: SOI, a frame header, a scan, EOI.
    fn jpeg() -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x04, 0xB0, 0x06, 0x40, 0x01, 0x01, 0x11, 0x00,
        ]);
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        out.extend_from_slice(&[1, 2, 3, 4, 0xFF, 0xD9]);
        out
    }

    #[test]
    fn the_capture_time_of_a_photo_with_exif_is_read() {
        let photo = with_capture_time(&jpeg(), "2026:11:20 09:30:15");
        assert!(
            crate::media::jpeg::check(&photo).is_ok(),
            "still a whole JPEG"
        );
        let c = captured(&photo).expect("a capture time");
        assert_eq!(c.local.to_string(), "2026-11-20 09:30:15");
        assert_eq!(c.offset, None);
    }

    #[test]
    fn a_photo_without_exif_has_no_capture_time() {
        assert_eq!(captured(&jpeg()), None);
        assert_eq!(captured(b"not a jpeg"), None);
        let bad_time = with_capture_time(&jpeg(), "2026:13:45 99:30:15");
        assert_eq!(captured(&bad_time), None);
    }
}
