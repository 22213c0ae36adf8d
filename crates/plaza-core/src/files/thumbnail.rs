//! Server-made thumbnails, decoded under hard limits so that a small hostile file (a
//! decompression bomb) cannot make the server allocate gigabytes.

use std::io::Cursor;

use image::{ImageReader, Limits};

/// The longest side of a thumbnail, in pixels.
const SIDE: u32 = 320;
/// The largest image decoded, per side and in memory.
const MAX_SIDE: u32 = 12_000;
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// Whether Plaza makes thumbnails for this MIME type.
pub(super) fn supported(mime: &str) -> bool {
    matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// A JPEG thumbnail of `bytes`, at most `SIDE` pixels on its longer side.
pub(super) fn make(bytes: &[u8]) -> Result<bytes::Bytes, image::ImageError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits);
    let image = reader.decode()?;
    let small = image.thumbnail(SIDE, SIDE).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&small)?;
    Ok(bytes::Bytes::from(out.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn thumbnails_fit_the_box_and_keep_the_aspect() {
        let thumbnail = make(&png(1000, 500)).unwrap();
        let decoded = image::load_from_memory(&thumbnail).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 160));
        assert!(make(b"not an image").is_err());
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_it_is_decoded() {
        // A valid PNG header claiming 100 000 × 100 000 pixels (40 GB decoded).
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(make(&bomb).is_err());
        // The limits themselves, on valid images: a side past the limit is refused.
        assert!(make(&png(MAX_SIDE + 1, 1)).is_err());
        assert!(make(&png(MAX_SIDE, 1)).is_ok());
    }
}
