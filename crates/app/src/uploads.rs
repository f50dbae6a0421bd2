//! Checks of an uploaded file (B6): the type is decided by content (JPEG, PNG or PDF magic),
//! images are decoded and re-encoded (so EXIF and anything appended is gone) after their
//! header showed sane dimensions, and the stored bytes get a SHA-256.

use crate::{AppError, AppResult};
use sha2::{Digest, Sha256};

/// Largest width or height of an accepted image, in pixels.
pub const MAX_SIDE: u32 = 10_000;

/// A checked file, ready to store.
#[derive(Clone)]
pub struct CheckedFile {
    /// `image/jpeg`, `image/png` or `application/pdf`.
    pub mime: &'static str,
    /// The bytes to store (re-encoded for images).
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, hex.
    pub sha256: String,
}

/// Which of the accepted types `bytes` starts like.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Checks and normalises a file whose whole content is `bytes` (already limited in size by
/// the caller while reading). `field` names the form field for errors.
pub fn check(field: &'static str, bytes: &[u8]) -> AppResult<CheckedFile> {
    if bytes.is_empty() {
        return Err(AppError::invalid(field, "文件为空,请重新选择文件"));
    }
    let Some(mime) = sniff(bytes) else {
        return Err(AppError::invalid(
            field,
            "文件格式不支持,请上传JPG、PNG图片或PDF文件",
        ));
    };
    let out = match mime {
        "application/pdf" => {
            if !bytes.windows(5).rev().take(2048).any(|w| w == b"%%EOF") {
                return Err(AppError::invalid(field, "PDF文件不完整,请重新导出后上传"));
            }
            bytes.to_vec()
        }
        _ => reencode(field, mime, bytes)?,
    };
    let sha256 = hex::encode(Sha256::digest(&out));
    Ok(CheckedFile {
        mime,
        bytes: out,
        sha256,
    })
}

fn reencode(field: &'static str, mime: &'static str, bytes: &[u8]) -> AppResult<Vec<u8>> {
    use image::{ImageDecoder, ImageFormat, ImageReader};
    use std::io::Cursor;
    let format = if mime == "image/png" {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    let broken = || AppError::invalid(field, "图片无法识别或已损坏,请重新拍摄或扫描后上传");
    // The header first: refuse absurd dimensions before any pixel is decoded.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.no_limits();
    let decoder = reader.into_decoder().map_err(|_| broken())?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(broken());
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(AppError::invalid(
            field,
            format!("图片尺寸过大({w}×{h}像素),宽和高均不能超过{MAX_SIDE}像素"),
        ));
    }
    let img = image::DynamicImage::from_decoder(decoder).map_err(|_| broken())?;
    let mut out = Cursor::new(Vec::new());
    let written = if format == ImageFormat::Png {
        img.write_to(&mut out, ImageFormat::Png)
    } else {
        img.to_rgb8().write_to(&mut out, ImageFormat::Jpeg)
    };
    written.map_err(|e| AppError::Internal(format!("re-encode: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::new(w, h);
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decides_by_content_and_reencodes() {
        assert!(check("f", b"").is_err());
        assert!(check("f", b"GIF89a....").is_err());
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        assert_eq!(check("f", pdf).unwrap().mime, "application/pdf");
        let p = check("f", &png(3, 2)).unwrap();
        assert_eq!(p.mime, "image/png");
        assert_eq!(p.sha256.len(), 64);
        // A JPEG with an EXIF segment loses it.
        let mut jpeg = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(4, 4)
            .write_to(&mut jpeg, image::ImageFormat::Jpeg)
            .unwrap();
        let mut j = jpeg.into_inner();
        let exif: &[u8] = b"\xFF\xE1\x00\x10Exif\x00\x00GPSDATA!";
        j.splice(2..2, exif.iter().copied());
        let out = check("f", &j).unwrap();
        assert!(!out.bytes.windows(7).any(|w| w == b"GPSDATA"));
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for b in data {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn refuses_absurd_dimensions_from_the_header() {
        // A PNG header claiming 30000×30000 pixels, with no pixel data at all.
        let mut p = png(1, 1);
        p[16..20].copy_from_slice(&30000u32.to_be_bytes());
        p[20..24].copy_from_slice(&30000u32.to_be_bytes());
        let crc = crc32(&p[12..29]);
        p[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = check("f", &p).err().unwrap().to_string();
        assert!(e.contains("30000×30000"), "{e}");
    }
}
