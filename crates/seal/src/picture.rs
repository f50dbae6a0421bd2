//! From a scanned 《数字证书印模采集表》 to the seal picture: the red impression inside the
//! staff's crop is kept, everything else made transparent.
//!
//! For each pixel (HSV): red hue (within ±[`HUE_TOLERANCE`]° of 0°), enough saturation and
//! value → ink; its alpha grows with saturation from [`SAT_LOW`] to [`SAT_FULL`], so pale
//! edges fade instead of leaving a hard fringe. Ink components smaller than [`MIN_SPECK`]
//! pixels (8-connected) are dropped as speckle. The result is cropped tight to the ink and
//! written as an RGBA PNG in one seal red.

use image::{ImageFormat, ImageReader, Limits, RgbaImage};
use std::io::Cursor;

/// Hue tolerance around pure red, degrees.
pub const HUE_TOLERANCE: f32 = 28.0;
/// Saturation below which a pixel is background.
pub const SAT_LOW: f32 = 0.30;
/// Saturation from which a pixel is fully opaque ink.
pub const SAT_FULL: f32 = 0.55;
/// Value (brightness) below which a pixel is too dark to be red ink (black text, shadows).
pub const VALUE_LOW: f32 = 0.25;
/// Smallest ink component kept, pixels.
pub const MIN_SPECK: usize = 12;
/// The largest scan decoded, pixels per side (an A4 page at 600 dpi is 4961×7016).
pub const MAX_SIDE: u32 = 8000;
/// The colour the seal is drawn in.
pub const SEAL_RED: [u8; 3] = [0xD4, 0x12, 0x1A];

/// Why no picture came out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PictureError {
    /// The file is not an image we read, or too large.
    #[error("无法读取图片:{0}")]
    Unreadable(String),
    /// The crop is outside the image or empty.
    #[error("裁剪区域不在图片内")]
    BadCrop,
    /// Too little red ink: the form has no usable impression.
    #[error("未在印模采集表中找到清晰的红色印章印模:请重新上传加盖红色公章、盖印清晰完整的《数字证书印模采集表》扫描件或照片")]
    NoSeal,
}

/// A crop rectangle in source pixels.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Crop {
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

/// The extracted seal picture.
#[derive(Clone, Debug)]
pub struct Extracted {
    /// RGBA PNG, cropped to the ink.
    pub png: Vec<u8>,
    /// The picture's width and height in pixels.
    pub size: (u32, u32),
    /// Where the picture's top-left corner was in the source image.
    pub origin: (u32, u32),
    /// Ink pixels kept (alpha > 0).
    pub ink_pixels: usize,
}

fn decode(bytes: &[u8]) -> Result<image::RgbImage, PictureError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PictureError::Unreadable(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| PictureError::Unreadable(e.to_string()))?;
    Ok(img.to_rgb8())
}

/// Width and height of a PNG, read with limits.
pub fn png_size(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Png);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    reader
        .into_dimensions()
        .map_err(|e| format!("印章图片不是可读的 PNG:{e}"))
}

/// Alpha (0–255) of a pixel as seal ink.
pub fn ink_alpha(r: u8, g: u8, b: u8) -> u8 {
    let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let v = max;
    if v < VALUE_LOW || max <= 0.0 {
        return 0;
    }
    let s = (max - min) / max;
    if s < SAT_LOW {
        return 0;
    }
    let d = max - min;
    let hue = if max == r {
        60.0 * (((g - b) / d) % 6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    let hue = if hue < 0.0 { hue + 360.0 } else { hue };
    let off = hue.min(360.0 - hue);
    if off > HUE_TOLERANCE {
        return 0;
    }
    let a = ((s - SAT_LOW) / (SAT_FULL - SAT_LOW)).clamp(0.0, 1.0);
    // Even the palest kept pixel is visible.
    (a * 215.0 + 40.0) as u8
}

/// Extract the seal inside `crop` (the whole image when `None`).
pub fn extract(bytes: &[u8], crop: Option<Crop>) -> Result<Extracted, PictureError> {
    let img = decode(bytes)?;
    let (iw, ih) = img.dimensions();
    let c = crop.unwrap_or(Crop {
        x: 0,
        y: 0,
        w: iw,
        h: ih,
    });
    if c.w == 0 || c.h == 0 || c.x.saturating_add(c.w) > iw || c.y.saturating_add(c.h) > ih {
        return Err(PictureError::BadCrop);
    }
    let (w, h) = (c.w as usize, c.h as usize);
    let mut alpha = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let p = img.get_pixel(c.x + x as u32, c.y + y as u32);
            alpha[y * w + x] = ink_alpha(p[0], p[1], p[2]);
        }
    }
    despeckle(&mut alpha, w, h);
    let ink_pixels = alpha.iter().filter(|a| **a > 0).count();
    // A seal is a solid ring and strokes: far more than a few stray red marks.
    if ink_pixels < 400.max(w * h / 400) {
        return Err(PictureError::NoSeal);
    }
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if alpha[y * w + x] > 0 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    let (ow, oh) = ((x1 - x0 + 1) as u32, (y1 - y0 + 1) as u32);
    let mut out = RgbaImage::new(ow, oh);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let a = alpha[y * w + x];
            out.put_pixel(
                (x - x0) as u32,
                (y - y0) as u32,
                image::Rgba([SEAL_RED[0], SEAL_RED[1], SEAL_RED[2], a]),
            );
        }
    }
    let mut png = Vec::new();
    out.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| PictureError::Unreadable(e.to_string()))?;
    Ok(Extracted {
        png,
        size: (ow, oh),
        origin: (c.x + x0 as u32, c.y + y0 as u32),
        ink_pixels,
    })
}

/// Drop 8-connected ink components smaller than [`MIN_SPECK`].
fn despeckle(alpha: &mut [u8], w: usize, h: usize) {
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut component = Vec::new();
    for start in 0..w * h {
        if alpha[start] == 0 || seen[start] {
            continue;
        }
        component.clear();
        stack.push(start);
        seen[start] = true;
        while let Some(i) = stack.pop() {
            component.push(i);
            let (x, y) = (i % w, i / w);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if alpha[j] > 0 && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if component.len() < MIN_SPECK {
            for &i in &component {
                alpha[i] = 0;
            }
        }
    }
}
