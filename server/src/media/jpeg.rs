//! A JPEG checked by its bytes, without decoding it: the start marker, the segments up to the first scan read by
//! their lengths (one of them a frame header with a sane size), and the end marker as the last two bytes. Phones
//! send JPEGs they encoded themselves (`tepat-photo`), which always pass; anything else stored under a photo's
//! name would be evidence nobody can open.

/// Pixels of a photo's edge, at most (phones send at most 1600; a camera's full size is far below this).
pub const MAX_EDGE: u16 = 16_384;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegProblem {
    #[error("it does not start with the JPEG start-of-image marker")]
    NoStart,
    #[error("its segments are cut short or malformed at byte {0}")]
    BadSegment(usize),
    #[error("it has no frame header (no image size) before its first scan")]
    NoFrame,
    #[error("its frame header says {width}×{height} pixels; each edge must be 1 to {MAX_EDGE}")]
    BadSize { width: u16, height: u16 },
    #[error("it has no image data (no start-of-scan marker)")]
    NoScan,
    #[error("it does not end with the JPEG end-of-image marker (cut short?)")]
    NoEnd,
}

/// Checks that `bytes` are one whole JPEG image.
pub fn check(bytes: &[u8]) -> Result<(), JpegProblem> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(JpegProblem::NoStart);
    }
    let mut at = 2;
    let mut frame = None;
    loop {
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(if at >= bytes.len() {
                JpegProblem::NoScan
            } else {
                JpegProblem::BadSegment(at)
            });
        };
        match marker {
            // Fill byte before a marker.
            0xFF => {
                at += 1;
                continue;
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                at += 2;
                continue;
            }
            0xD8 | 0xD9 | 0x00 => return Err(JpegProblem::BadSegment(at)),
            _ => {}
        }
        let (Some(&high), Some(&low)) = (bytes.get(at + 2), bytes.get(at + 3)) else {
            return Err(JpegProblem::BadSegment(at));
        };
        let length = usize::from(u16::from_be_bytes([high, low]));
        if length < 2 || at + 2 + length > bytes.len() {
            return Err(JpegProblem::BadSegment(at));
        }
        // Start of frame: every C0–CF but DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let segment = &bytes[at + 4..at + 2 + length];
            let (Some(h), Some(w)) = (segment.get(1..3), segment.get(3..5)) else {
                return Err(JpegProblem::BadSegment(at));
            };
            let height = u16::from_be_bytes([h[0], h[1]]);
            let width = u16::from_be_bytes([w[0], w[1]]);
            if width == 0 || height == 0 || width > MAX_EDGE || height > MAX_EDGE {
                return Err(JpegProblem::BadSize { width, height });
            }
            frame = Some((width, height));
        }
        if marker == 0xDA {
            if frame.is_none() {
                return Err(JpegProblem::NoFrame);
            }
            break;
        }
        at += 2 + length;
    }
    if !bytes.ends_with(&[0xFF, 0xD9]) {
        return Err(JpegProblem::NoEnd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest baseline JPEG shape: SOI, a frame header, a scan header, one byte of data, EOI.
    fn tiny(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46]);
        let w = width.to_be_bytes();
        let h = height.to_be_bytes();
        out.extend_from_slice(&[
            0xFF, 0xC0, 0x00, 0x0B, 0x08, h[0], h[1], w[0], w[1], 0x01, 0x01, 0x11, 0x00,
        ]);
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        out.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn a_whole_jpeg_passes() {
        assert_eq!(check(&tiny(1600, 1200)), Ok(()));
    }

    #[test]
    fn what_is_not_a_whole_jpeg_is_named() {
        assert_eq!(check(b"\x89PNG\r\n\x1a\n"), Err(JpegProblem::NoStart));
        assert_eq!(check(&[]), Err(JpegProblem::NoStart));
        let whole = tiny(1600, 1200);
        assert_eq!(check(&whole[..whole.len() - 2]), Err(JpegProblem::NoEnd));
        assert_eq!(check(&whole[..7]), Err(JpegProblem::BadSegment(2)));
        assert_eq!(check(&whole[..8]), Err(JpegProblem::NoScan));
        assert_eq!(check(&whole[..2]), Err(JpegProblem::NoScan));
        assert_eq!(
            check(&tiny(0, 10)),
            Err(JpegProblem::BadSize {
                width: 0,
                height: 10
            })
        );
        assert_eq!(
            check(&tiny(60000, 10)),
            Err(JpegProblem::BadSize {
                width: 60000,
                height: 10
            })
        );
        let mut no_frame = whole.clone();
        no_frame.drain(8..21);
        assert_eq!(check(&no_frame), Err(JpegProblem::NoFrame));
        let mut bad_length = whole.clone();
        bad_length[5] = 0x01;
        assert_eq!(check(&bad_length), Err(JpegProblem::BadSegment(2)));
    }
}
