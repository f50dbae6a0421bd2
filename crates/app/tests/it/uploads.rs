//! Image bombs: files of a few hundred kilobytes that decode to gigabytes are refused from
//! their header or their decoded size, one at a time or four at once, and the process's
//! peak memory stays under 200 MB.

use app::uploads::check;
use app::AppError;
use std::io::Write;

/// A PNG of `w`×`h` pixels of `color` at `depth`, all zero, written row by row so making it
/// costs no more memory than one row.
fn zero_png(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        enc.set_compression(png::Compression::Fastest);
        let mut wr = enc.write_header().unwrap();
        let mut stream = wr.stream_writer().unwrap();
        let bytes_per_px = match (color, depth) {
            (png::ColorType::Grayscale, png::BitDepth::Sixteen) => 2,
            (png::ColorType::Rgba, png::BitDepth::Sixteen) => 8,
            (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
            _ => 1,
        };
        let row = vec![0u8; w as usize * bytes_per_px];
        for _ in 0..h {
            stream.write_all(&row).unwrap();
        }
        stream.finish().unwrap();
    }
    out
}

/// A real 16×16 JPEG whose frame header (SOF0) then claims `w`×`h` pixels.
fn big_jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(16, 16, image::Rgb([9, 9, 9]))
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let sof = out
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("baseline frame");
    out[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    out
}

/// Resets the process's peak resident size (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident size since the last reset, in MB.
fn peak_mb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

fn refused(r: Result<app::uploads::CheckedFile, AppError>) -> String {
    match r {
        Err(AppError::Invalid { field, message }) => {
            assert_eq!(field, "file");
            message
        }
        Err(e) => panic!("not a field refusal: {e:?}"),
        Ok(f) => panic!("a bomb was accepted ({} bytes)", f.bytes.len()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_bombs_are_refused_without_decoding_them() {
    let side = zero_png(
        10_000,
        10_000,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
    );
    let deep = zero_png(5_000, 5_000, png::ColorType::Rgba, png::BitDepth::Sixteen);
    let jpeg = big_jpeg(9_000, 9_000);
    assert!(side.len() < 1_000_000, "{} bytes", side.len());
    reset_peak();
    let m = refused(check("file", &side).await);
    assert!(m.contains("10000×10000"), "{m}");
    let m = refused(check("file", &deep).await);
    assert!(m.contains("色深"), "{m}");
    let m = refused(check("file", &jpeg).await);
    assert!(m.contains("9000×9000"), "{m}");
    // Four at once, as from four tabs.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let b = side.clone();
            tokio::spawn(async move { check("file", &b).await })
        })
        .collect();
    for t in tasks {
        refused(t.await.unwrap());
    }
    let peak = peak_mb();
    assert!(peak < 200, "peak resident size {peak} MB");
    // An honest scan still goes through.
    let scan = zero_png(2480, 3508, png::ColorType::Rgb, png::BitDepth::Eight);
    let ok = check("file", &scan).await.unwrap();
    assert_eq!(ok.mime, "image/png");
}

/// The upload fuzz target's seeds (`fuzz/seeds/upload/`): a tiny PNG, JPEG and PDF, each
/// accepted by the check as its own type. `CERTHALL_WRITE_FUZZ_SEEDS=1` writes them anew.
#[test]
fn the_upload_fuzz_seeds_are_files_the_check_accepts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/upload");
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 200]));
    let encode = |format| {
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), format)
            .unwrap();
        out
    };
    let made = [
        ("tiny.png", encode(image::ImageFormat::Png)),
        ("tiny.jpg", encode(image::ImageFormat::Jpeg)),
        ("tiny.pdf", tiny_pdf()),
    ];
    if std::env::var_os("CERTHALL_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &made {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, mime) in [
        ("tiny.png", "image/png"),
        ("tiny.jpg", "image/jpeg"),
        ("tiny.pdf", "application/pdf"),
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert!(bytes.len() < 2048, "{name} is a small seed");
        let file = app::uploads::check_now("file", &bytes).unwrap();
        assert_eq!(file.mime, mime, "{name}");
    }
}

/// A one-page PDF with a valid cross-reference table.
fn tiny_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
