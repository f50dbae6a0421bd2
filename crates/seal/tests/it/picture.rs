//! The red-ink extraction on synthetic scans drawn here: a red ring with strokes and a star,
//! tilted, on a grey noisy sheet with black printed text and a blue pen line.

use image::{Rgb, RgbImage, Rgba, RgbaImage};
use seal::picture::{extract, Crop, PictureError};
use std::io::Cursor;

/// A small transparent seal picture (for seals made in the other tests).
pub fn red_ring_png() -> Vec<u8> {
    let mut img = RgbaImage::new(120, 120);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let d = ((x as f32 - 60.0).powi(2) + (y as f32 - 60.0).powi(2)).sqrt();
        *p = if (50.0..56.0).contains(&d) {
            Rgba([0xD4, 0x12, 0x1A, 255])
        } else {
            Rgba([0, 0, 0, 0])
        };
    }
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A deterministic noise source (xorshift), so every run draws the same scan.
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in -a..=a.
    fn jitter(&mut self, a: i32) -> i32 {
        (self.next() % (2 * a as u64 + 1)) as i32 - a
    }
}

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Inside a seal drawn in its own coordinates (centre 0,0), radius ~180 px.
fn is_ink(u: f32, v: f32) -> bool {
    let r = (u * u + v * v).sqrt();
    if (165.0..180.0).contains(&r) {
        return true; // the ring
    }
    // 14 "characters" along the top arc: each two strokes (one radial, one tangential).
    let angle = v.atan2(u).to_degrees();
    for k in 0..14 {
        let a = -160.0 + k as f32 * (140.0 / 13.0);
        let (ca, sa) = (a.to_radians().cos(), a.to_radians().sin());
        // In the character's frame: t along the radius, n across it.
        let t = u * ca + v * sa;
        let n = -u * sa + v * ca;
        if (118.0..150.0).contains(&t) && n.abs() < 3.5 {
            return true;
        }
        if (132.0..137.0).contains(&t) && n.abs() < 11.0 {
            return true;
        }
    }
    let _ = angle;
    // A five-pointed star in the centre.
    let theta = v.atan2(u);
    let spike = ((theta * 5.0 / 2.0).cos().abs()).powf(6.0);
    r < 18.0 + 40.0 * spike
}

struct Scan {
    png: Vec<u8>,
    ink: Vec<bool>,
    w: u32,
    h: u32,
}

fn scan(tilt_deg: f32, seed: u64, with_seal: bool) -> Scan {
    let (w, h) = (900u32, 700u32);
    let (cx, cy) = (560.0f32, 380.0f32);
    let (c, s) = (tilt_deg.to_radians().cos(), tilt_deg.to_radians().sin());
    let mut noise = Noise(seed);
    let mut img = RgbImage::new(w, h);
    let mut ink = vec![false; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
            let printed = (y % 60 < 2 && x > 40 && x < 860)
                || ((90..110).contains(&y) && (x / 14) % 2 == 0 && (60..400).contains(&x));
            let pen = (x as i32 - 100).abs() < 300
                && ((y as f32 - 600.0 - 20.0 * ((x as f32) / 40.0).sin()).abs() < 2.0);
            let paper = [
                205 + noise.jitter(20),
                200 + noise.jitter(20),
                190 + noise.jitter(20),
            ];
            let px = if with_seal && is_ink(u, v) {
                ink[(y * w + x) as usize] = true;
                // Uneven stamping: the ink covers 55–100 % of the paper under it.
                let cover = 55 + (noise.next() % 46) as i32;
                let ink_rgb = [
                    200 + noise.jitter(20),
                    30 + noise.jitter(15),
                    40 + noise.jitter(15),
                ];
                [0, 1, 2].map(|i| (ink_rgb[i] * cover + paper[i] * (100 - cover)) / 100)
            } else if noise.next().is_multiple_of(1500) {
                // Red dust on the scanner glass: single specks.
                [190, 40, 45]
            } else if printed {
                let g = 35 + noise.jitter(15);
                [g, g, g]
            } else if pen {
                [
                    40 + noise.jitter(10),
                    55 + noise.jitter(10),
                    165 + noise.jitter(15),
                ]
            } else {
                paper
            };
            img.put_pixel(x, y, Rgb([clamp(px[0]), clamp(px[1]), clamp(px[2])]));
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    Scan { png, ink, w, h }
}

#[test]
fn the_red_impression_is_kept_and_the_sheet_dropped() {
    for (tilt, seed) in [(0.0, 1u64), (3.0, 2), (-4.5, 3), (7.0, 4)] {
        let sc = scan(tilt, seed, true);
        // Staff crop generously around the impression.
        let crop = Crop {
            x: 300,
            y: 100,
            w: 560,
            h: 560,
        };
        let out = extract(&sc.png, Some(crop)).unwrap();
        let pic = image::load_from_memory(&out.png).unwrap().to_rgba8();
        assert_eq!(pic.dimensions(), out.size);
        let (ox, oy) = out.origin;
        let (mut red, mut red_kept, mut bg, mut bg_kept) = (0usize, 0usize, 0usize, 0usize);
        for y in crop.y..crop.y + crop.h {
            for x in crop.x..crop.x + crop.w {
                let kept = x >= ox
                    && y >= oy
                    && x - ox < out.size.0
                    && y - oy < out.size.1
                    && pic.get_pixel(x - ox, y - oy)[3] > 0;
                if sc.ink[(y * sc.w + x) as usize] {
                    red += 1;
                    red_kept += kept as usize;
                } else {
                    bg += 1;
                    bg_kept += kept as usize;
                }
            }
        }
        let red_pct = 100.0 * red_kept as f64 / red as f64;
        let bg_pct = 100.0 * bg_kept as f64 / bg as f64;
        eprintln!(
            "tilt {tilt:>4}°: red kept {red_kept}/{red} = {red_pct:.2} %, background kept {bg_kept}/{bg} = {bg_pct:.3} %, picture {}×{}",
            out.size.0, out.size.1
        );
        assert!(red_pct >= 95.0, "red kept {red_pct:.2} %");
        assert!(bg_pct <= 1.0, "background kept {bg_pct:.3} %");
        // Tight: the picture is no larger than the ink's extent plus a pixel.
        assert!(out.size.0 <= 364 && out.size.1 <= 364, "{:?}", out.size);
        assert!(sc.h > 0);
    }
}

#[test]
fn a_form_without_a_red_seal_is_refused_with_what_to_do() {
    let sc = scan(0.0, 9, false);
    let e = extract(&sc.png, None).unwrap_err();
    assert_eq!(e, PictureError::NoSeal);
    assert!(e.to_string().contains("重新上传"));
    // A crop outside the image.
    let e = extract(
        &sc.png,
        Some(Crop {
            x: 800,
            y: 0,
            w: 200,
            h: 10,
        }),
    )
    .unwrap_err();
    assert_eq!(e, PictureError::BadCrop);
    // Not an image.
    assert!(matches!(
        extract(b"%PDF-1.7", None),
        Err(PictureError::Unreadable(_))
    ));
}
