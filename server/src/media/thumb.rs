//! Small previews of stored photos for the console's visit page, so a page with its photos stays light
//! (a phone's photo is 100–300 KB; its preview a few KB). Made on request from the stored JPEG, never stored:
//! the browser keeps it (`Cache-Control: private, immutable`; the photo's hash names it).

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, ImageReader, Limits};

/// The preview's longer edge, in pixels.
pub const THUMB_EDGE: u32 = 320;
/// JPEG quality of a preview: enough to recognise a house front.
const THUMB_QUALITY: u8 = 70;
/// Largest photo decoded for a preview: phones send at most 1600 px a side; a stranger's 16,384² JPEG (which
/// the upload check lets through) would need a gigabyte.
const MAX_DECODE_EDGE: u32 = 6_000;
const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    #[error("the photo cannot be decoded for a preview: {0}")]
    Decode(#[from] image::ImageError),
    #[error("the preview cannot be encoded: {0}")]
    Encode(image::ImageError),
}

/// A JPEG preview of `jpeg`, its longer edge at most [`THUMB_EDGE`] (a smaller photo keeps its size).
pub fn thumbnail(jpeg: &[u8]) -> Result<Vec<u8>, ThumbError> {
    let mut reader = ImageReader::with_format(Cursor::new(jpeg), ImageFormat::Jpeg);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_EDGE);
    limits.max_image_height = Some(MAX_DECODE_EDGE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let photo = reader.decode()?;
    let small = photo.thumbnail(THUMB_EDGE, THUMB_EDGE).into_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY)
        .encode_image(&small)
        .map_err(ThumbError::Encode)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, RgbImage};

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let photo = RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&photo)
            .unwrap();
        out
    }

    #[test]
    fn a_preview_keeps_the_aspect_with_its_longer_edge_at_320_and_is_a_jpeg() {
        let photo = jpeg(1600, 1200);
        let preview = thumbnail(&photo).unwrap();
        let decoded = image::load_from_memory_with_format(&preview, ImageFormat::Jpeg).unwrap();
        assert_eq!(decoded.dimensions(), (320, 240));
        assert!(preview.len() < photo.len() / 4, "{} bytes", preview.len());
    }

    #[test]
    fn bytes_that_are_no_jpeg_get_an_error_not_a_panic() {
        assert!(matches!(
            thumbnail(b"\xFF\xD8 not really a photo"),
            Err(ThumbError::Decode(_))
        ));
    }
}
