//! Server-made thumbnails, decoded under hard limits so that a small hostile file (a
//! decompression bomb) cannot make the server allocate gigabytes.

use std::io::Cursor;

use image::{ImageReader, Limits};

/// The longest side of a thumbnail, in pixels.
const SIDE: u32 = 320;
/// The largest image decoded, per side and in memory.
const MAX_SIDE: u32 = 12_000;
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// What all decodes in progress may hold together, and how many may run at once:
/// ten small files each claiming a huge image wait for each other instead of adding up.
const TOTAL_DECODE_BYTES: u64 = 512 * 1024 * 1024;
const CONCURRENT_DECODES: usize = 2;
const MIB: u64 = 1024 * 1024;

/// Bounds the thumbnail decodes of one server: in number, and in the memory they hold
/// together, reckoned from each image's header before anything is decoded.
pub(super) struct DecodeBudget {
    slots: tokio::sync::Semaphore,
    memory_mib: tokio::sync::Semaphore,
}

impl Default for DecodeBudget {
    fn default() -> Self {
        DecodeBudget {
            slots: tokio::sync::Semaphore::new(CONCURRENT_DECODES),
            memory_mib: tokio::sync::Semaphore::new((TOTAL_DECODE_BYTES / MIB) as usize),
        }
    }
}

impl DecodeBudget {
    /// A thumbnail of `bytes` once a slot and the memory its decode needs are free; an
    /// image whose header claims more than one decode may hold is refused unread.
    pub(super) async fn thumbnail(&self, bytes: bytes::Bytes) -> Result<bytes::Bytes, String> {
        let need = decoded_size(&bytes).map_err(|e| e.to_string())?;
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        // The decoded pixels, the working copy of the thumbnail, and a margin.
        let mib = u32::try_from(need.div_ceil(MIB) + 1).unwrap_or(u32::MAX);
        let _memory = self.memory_mib.acquire_many(mib).await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(move || make(&bytes))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// The bytes the image in `bytes` takes decoded, read from its header alone; refused
/// when past the limits of one decode.
pub(super) fn decoded_size(bytes: &[u8]) -> Result<u64, image::ImageError> {
    use image::ImageDecoder;
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits());
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    limits().check_dimensions(width, height)?;
    let total = decoder.total_bytes();
    if total > MAX_ALLOC {
        return Err(image::ImageError::Limits(image::error::LimitError::from_kind(
            image::error::LimitErrorKind::InsufficientMemory,
        )));
    }
    Ok(total)
}

/// Whether Plaza makes thumbnails for this MIME type.
pub(super) fn supported(mime: &str) -> bool {
    matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// A JPEG thumbnail of `bytes`, at most `SIDE` pixels on its longer side.
pub(super) fn make(bytes: &[u8]) -> Result<bytes::Bytes, image::ImageError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits());
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

    /// A PNG whose header claims `width` × `height` (with a valid checksum), though it
    /// holds one pixel's data.
    fn claiming(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        // CRC-32 of the IHDR chunk's type and data (bytes 12..29), stored after it.
        let mut crc = 0xffff_ffffu32;
        for byte in &bytes[12..29] {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
        bytes
    }

    #[test]
    fn the_decoded_size_comes_from_the_header_alone() {
        assert_eq!(decoded_size(&claiming(4_000, 3_000)).unwrap(), 4_000 * 3_000 * 3);
        let refused = decoded_size(&claiming(100_000, 3_000));
        assert!(refused.is_err(), "past one decode's limits: refused unread");
        assert!(decoded_size(&claiming(11_000, 11_000)).is_err(), "363 MB decoded: refused");
    }

    #[tokio::test]
    async fn decodes_share_one_memory_budget() {
        let budget = std::sync::Arc::new(DecodeBudget::default());
        // Ten images claiming 12 000 × 4 000 RGB (144 MB each, 1.4 GB together) run
        // at most three at a time by the memory budget, two by the slots.
        let mut held = Vec::new();
        let per_decode = u32::try_from((12_000u64 * 4_000 * 3).div_ceil(MIB) + 1).unwrap();
        for _ in 0..3 {
            match budget.memory_mib.try_acquire_many(per_decode) {
                Ok(permit) => held.push(permit),
                Err(_) => break,
            }
        }
        assert_eq!(held.len(), 3, "512 MiB holds three 144 MB decodes, not ten");
        drop(held);
        let small = bytes::Bytes::from(png(64, 64));
        let thumbnails = futures_util::future::join_all((0..10).map(|_| {
            let budget = budget.clone();
            let small = small.clone();
            async move { budget.thumbnail(small).await }
        }))
        .await;
        assert!(thumbnails.iter().all(Result::is_ok));
        assert_eq!(budget.memory_mib.available_permits() as u64, TOTAL_DECODE_BYTES / MIB);
        assert_eq!(budget.slots.available_permits(), CONCURRENT_DECODES);
    }
}
