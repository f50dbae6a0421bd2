//! Checks of an uploaded file (B6): the type is decided by content (JPEG, PNG or PDF magic),
//! images are decoded and re-encoded (so EXIF and anything appended is gone) after their
//! header showed sane dimensions, and the stored bytes get a SHA-256.
//!
//! Decoding is bounded so one upload cannot exhaust the machine (image bombs: a few hundred
//! kilobytes that decode to gigabytes): by side and pixel count from the header before any
//! pixel is decoded, by the decoded size (bit depth and channels included) through the image
//! crate's allocation limit, and by how many decodes run at once (a semaphore; a busy hall
//! answers "请稍后重试" instead of queueing without end). Decoding runs on the blocking pool,
//! never on the request threads.

use crate::{AppError, AppResult};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Largest width or height of an accepted image, in pixels.
pub const MAX_SIDE: u32 = 10_000;
/// Most pixels of an accepted image: a 300 dpi scan of an A4 page is about 8.7 million
/// (2480×3508), a 24-megapixel phone photo 24 million.
pub const MAX_PIXELS: u64 = 25_000_000;
/// Most bytes an image may decode to (a 25-megapixel RGB photo is 75 MB; 16 bits per
/// channel or an alpha channel of the same size goes over and is refused).
pub const MAX_DECODED_BYTES: u64 = 100 * 1024 * 1024;
/// Decodes that may run at once.
pub const DECODE_PERMITS: usize = 2;
/// How long an upload waits for a decode slot before the hall answers "busy".
pub const DECODE_WAIT: Duration = Duration::from_secs(20);

fn decodes() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| Semaphore::new(DECODE_PERMITS))
}

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
/// the caller while reading), decoding images on the blocking pool and at most
/// [`DECODE_PERMITS`] at once. `field` names the form field for errors.
pub async fn check(field: &'static str, bytes: &[u8]) -> AppResult<CheckedFile> {
    if sniff(bytes).is_none_or(|m| m == "application/pdf") {
        return check_now(field, bytes);
    }
    let busy = || AppError::Unavailable("image decode slots busy".into());
    let _permit = tokio::time::timeout(DECODE_WAIT, decodes().acquire())
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    let owned = bytes.to_vec();
    tokio::task::spawn_blocking(move || check_now(field, &owned))
        .await
        .map_err(|e| AppError::Internal(format!("image check: {e}")))?
}

/// [`check`] on the calling thread, without the concurrency bound (fuzzing, tests).
pub fn check_now(field: &'static str, bytes: &[u8]) -> AppResult<CheckedFile> {
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
    use image::{ImageDecoder, ImageFormat, ImageReader, Limits};
    use std::io::Cursor;
    let format = if mime == "image/png" {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    let broken = || AppError::invalid(field, "图片无法识别或已损坏,请重新拍摄或扫描后上传");
    // The header first: refuse absurd dimensions before any pixel is decoded.
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let too_big = |size: Option<(u32, u32)>| {
        let size = size
            .map(|(w, h)| format!("({w}×{h}像素)"))
            .unwrap_or_default();
        AppError::invalid(
            field,
            format!(
                "图片尺寸过大{size},宽和高均不能超过{MAX_SIDE}像素,且总像素不超过{}万;请降低分辨率(300dpi已足够)后重新上传",
                MAX_PIXELS / 10_000
            ),
        )
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let decoder = match reader.into_decoder() {
        Ok(d) => d,
        Err(image::ImageError::Limits(_)) => return Err(too_big(None)),
        Err(_) => return Err(broken()),
    };
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(broken());
    }
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(too_big(Some((w, h))));
    }
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(AppError::invalid(
            field,
            format!(
                "图片色深过高或通道过多({w}×{h}像素,解码后超过{}MB),请另存为普通的8位JPG或PNG后上传",
                MAX_DECODED_BYTES / 1024 / 1024
            ),
        ));
    }
    let img = match image::DynamicImage::from_decoder(decoder) {
        Ok(i) => i,
        Err(image::ImageError::Limits(_)) => return Err(too_big(Some((w, h)))),
        Err(_) => return Err(broken()),
    };
    let mut out = Cursor::new(Vec::new());
    let written = if format == ImageFormat::Png {
        img.write_to(&mut out, ImageFormat::Png)
    } else {
        img.to_rgb8().write_to(&mut out, ImageFormat::Jpeg)
    };
    written.map_err(|e| AppError::Internal(format!("re-encode: {e}")))?;
    Ok(out.into_inner())
}

/// What kind of file a checked type is, in the words the pages use.
pub fn kind_label(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "PDF文件",
        "image/png" => "PNG图片",
        "image/jpeg" => "JPG图片",
        _ => "文件",
    }
}

/// A file size for people: `980B`, `12.3KB`, `4.5MB`.
pub fn size_label(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes}B")
    } else if b < KB * KB {
        format!("{:.1}KB", b / KB)
    } else {
        format!("{:.1}MB", b / (KB * KB))
    }
}

/// The order event of an upload: what was uploaded, its type and size for people, and the
/// full SHA-256 of the stored bytes as the evidence
/// (`上传授权委托书扫描件(PNG图片,12.3KB,SHA-256 <64 hex>)`).
pub fn upload_event(replaced: bool, label: &str, mime: &str, size: u64, sha256: &str) -> String {
    format!(
        "{}{label}({},{},SHA-256 {sha256})",
        if replaced { "替换" } else { "上传" },
        kind_label(mime),
        size_label(size)
    )
}

/// An order event's text split for showing it: the line people read
/// (`上传授权委托书扫描件 · PNG图片 · 12.3KB`) and the SHA-256 it records, if any (as
/// written: older events hold a 16-digit prefix ending in `…`). Other texts are returned
/// unchanged with no hash.
pub fn split_event_hash(what: &str) -> (String, Option<String>) {
    const OPEN: char = '(';
    const MARK: &str = "SHA-256 ";
    let parsed = (|| {
        let body = what.strip_suffix(')')?;
        let open = body.rfind(OPEN)?;
        let inner = &body[open + OPEN.len_utf8()..];
        let at = inner.find(MARK)?;
        let hash = &inner[at + MARK.len()..];
        let digits = hash.strip_suffix('…').unwrap_or(hash);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut line = body[..open].to_owned();
        for part in inner[..at].split(',').filter(|p| !p.trim().is_empty()) {
            line.push_str(" · ");
            line.push_str(part.trim());
        }
        Some((line, Some(hash.to_owned())))
    })();
    parsed.unwrap_or_else(|| (what.to_owned(), None))
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
        assert!(check_now("f", b"").is_err());
        assert!(check_now("f", b"GIF89a....").is_err());
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        assert_eq!(check_now("f", pdf).unwrap().mime, "application/pdf");
        let p = check_now("f", &png(3, 2)).unwrap();
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
        let out = check_now("f", &j).unwrap();
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
        let e = check_now("f", &p).err().unwrap().to_string();
        assert!(e.contains("30000×30000"), "{e}");
    }

    #[test]
    fn upload_events_keep_the_hash_and_read_well() {
        let h = "ab".repeat(32);
        let what = upload_event(false, "授权委托书扫描件", "image/png", 12_595, &h);
        assert_eq!(
            what,
            format!("上传授权委托书扫描件(PNG图片,12.3KB,SHA-256 {h})")
        );
        assert_eq!(
            split_event_hash(&what),
            (
                "上传授权委托书扫描件 · PNG图片 · 12.3KB".to_owned(),
                Some(h.clone())
            )
        );
        let what = upload_event(true, "营业执照", "application/pdf", 9 * 1024 * 1024, &h);
        assert!(what.starts_with("替换营业执照(PDF文件,9.0MB,"), "{what}");
        // Older events: a 16-digit prefix.
        assert_eq!(
            split_event_hash("上传营业执照(SHA-256 0123456789abcdef…)"),
            (
                "上传营业执照".to_owned(),
                Some("0123456789abcdef…".to_owned())
            )
        );
        for plain in [
            "创建业务单",
            "保存申请信息(3位申请人)",
            "备注(SHA-256 not-hex)",
            "",
        ] {
            assert_eq!(split_event_hash(plain), (plain.to_owned(), None));
        }
        assert_eq!(size_label(980), "980B");
    }
}
