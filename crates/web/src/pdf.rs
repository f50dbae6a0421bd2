//! A minimal PDF writer for the 《单位授权委托书》, the blank 《数字证书印模采集表》 and the
//! sandbox e-invoice: one A4 page of text and lines.
//!
//! Text is set in an embedded subset of an open-licensed CJK TrueType font, so every reader
//! draws the same glyphs with the font's own widths. The font is `CERTHALL_PDF_FONT` when it
//! names a usable file, else Debian's WenQuanYi Micro Hei (`fonts-wqy-microhei`, Apache-2.0)
//! when installed, else the cut of the same font built into the binary
//! (`crates/web/fonts/`, GB 2312 + U+4E00–U+9FA5; licence and provenance there). The PDF: a
//! `Type0` font with `Identity-H` encoding over a `CIDFontType2` whose CIDs are the subset's
//! glyph ids (`CIDToGIDMap /Identity`), its `W` widths from `hmtx`, the subset program as
//! `FontFile2` and a `ToUnicode` CMap so text can be searched and extracted (ISO 32000-1
//! §9.7.4, §9.7.6, §9.10.3). A page with a character the font lacks is set in the
//! non-embedded standard font `STSong-Light` (`UniGB-UCS2-H`) instead, which readers
//! substitute with a font of their own, rather than printing a blank box in a name.

use crate::wizard::{Letter, LETTER_DECLARATION, LETTER_ITEMS, LETTER_VALIDITY};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::OnceLock;

/// Where the CJK font is looked for when `CERTHALL_PDF_FONT` is not set.
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
];

/// A TrueType font (or one face of a collection) read once.
pub struct EmbeddedFont {
    data: Vec<u8>,
    index: u32,
    /// PostScript name without spaces, for `/BaseFont`.
    name: String,
}

/// The cut of WenQuanYi Micro Hei built into the binary (`crates/web/fonts/README.md`).
const BUILT_IN_FONT: &[u8] = include_bytes!("../fonts/wqy-microhei-cjk.ttf.gz");

/// Where the font came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontSource {
    /// The file `CERTHALL_PDF_FONT` names.
    Configured,
    /// A system font of [`FONT_PATHS`].
    System,
    /// The cut built into the binary.
    BuiltIn,
}

fn load_font(path: &str) -> Option<EmbeddedFont> {
    font_from(std::fs::read(path).ok()?)
}

fn built_in_font() -> Option<EmbeddedFont> {
    use std::io::Read;
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(BUILT_IN_FONT)
        .read_to_end(&mut data)
        .ok()?;
    font_from(data)
}

fn font_from(data: Vec<u8>) -> Option<EmbeddedFont> {
    let index = 0;
    let face = ttf_parser::Face::parse(&data, index).ok()?;
    // It must draw Chinese and Latin.
    if face.glyph_index('中').is_none() || face.glyph_index('a').is_none() {
        return None;
    }
    let name = face
        .names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .find_map(|n| n.to_string())
        .unwrap_or_else(|| "CJKFont".into())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Some(EmbeddedFont { data, index, name })
}

/// The font PDFs embed: `CERTHALL_PDF_FONT`'s file, else a system font, else the built-in
/// cut (an unusable `CERTHALL_PDF_FONT` is said in the log, then passed over).
pub fn choose_font(configured: Option<&str>) -> Option<(FontSource, EmbeddedFont)> {
    if let Some(p) = configured.filter(|p| !p.is_empty()) {
        match load_font(p) {
            Some(f) => return Some((FontSource::Configured, f)),
            None => tracing::warn!(
                font = p,
                "CERTHALL_PDF_FONT is not a TrueType font that draws Chinese and Latin: using the next font"
            ),
        }
    }
    if let Some(f) = FONT_PATHS.iter().find_map(|p| load_font(p)) {
        return Some((FontSource::System, f));
    }
    built_in_font().map(|f| (FontSource::BuiltIn, f))
}

/// The font PDFs embed, found once per process.
fn font() -> Option<&'static EmbeddedFont> {
    static FONT: OnceLock<Option<(FontSource, EmbeddedFont)>> = OnceLock::new();
    FONT.get_or_init(|| {
        let configured = std::env::var("CERTHALL_PDF_FONT").ok();
        choose_font(configured.as_deref())
    })
    .as_ref()
    .map(|(_, f)| f)
}

/// Whether PDFs embed a font (always, unless the built-in font were damaged).
pub fn embeds_font() -> bool {
    font().is_some()
}

/// One drawing operation; text is encoded when the document knows its font.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        s: String,
    },
    Raw(String),
}

/// Page content being built (PDF user space, origin bottom left, A4 595×842 pt).
struct Page {
    ops: Vec<Op>,
}

impl Page {
    fn new() -> Self {
        Self { ops: Vec::new() }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, s: &str) {
        self.ops.push(Op::Text {
            x,
            y,
            size,
            s: s.to_owned(),
        });
    }

    /// Text wrapped at `width` points (CJK glyphs are one em wide; ASCII about half).
    fn para(&mut self, x: f32, mut y: f32, size: f32, width: f32, s: &str) -> f32 {
        let mut line = String::new();
        let mut w = 0.0;
        for c in s.chars() {
            let cw = if c.is_ascii() { size * 0.5 } else { size };
            if w + cw > width {
                self.text(x, y, size, &line);
                y -= size * 1.6;
                line.clear();
                w = 0.0;
            }
            line.push(c);
            w += cw;
        }
        if !line.is_empty() {
            self.text(x, y, size, &line);
            y -= size * 1.6;
        }
        y
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        self.ops
            .push(Op::Raw(format!("0.6 w {x1} {y1} m {x2} {y2} l S\n")));
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.ops
            .push(Op::Raw(format!("0.8 w {x} {y} {w} {h} re S\n")));
    }

    /// The content stream, each text run's characters written by `encode` as hex.
    fn content(&self, mut encode: impl FnMut(&str) -> String) -> String {
        let mut out = String::new();
        for op in &self.ops {
            match op {
                Op::Text { x, y, size, s } => {
                    let _ = writeln!(out, "BT /F1 {size} Tf {x} {y} Td <{}> Tj ET", encode(s));
                }
                Op::Raw(r) => out.push_str(r),
            }
        }
        out
    }
}

fn utf16_hex(s: &str) -> String {
    let mut hex = String::new();
    for unit in s.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

/// Serialises one page: the page objects, then the font objects, then the document info.
fn document(page: Page, title: &str) -> Vec<u8> {
    #[cfg(test)]
    let chosen = tests::FONT_OVERRIDE.with(|f| f.get()).or_else(font);
    #[cfg(not(test))]
    let chosen = font();
    let fonts = chosen
        .and_then(|f| embedded_font(&page, f))
        .unwrap_or_else(|| {
            let content = page.content(utf16_hex);
            (content, standard_font())
        });
    let (content, font_objects) = fonts;
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream("", content.as_bytes()),
    ];
    objects.extend(font_objects);
    objects.push(
        format!(
            "<< /Title <FEFF{}> /Producer (certhall) >>",
            utf16_hex(title)
        )
        .into_bytes(),
    );
    write_objects(&objects)
}

/// Objects 5–7: the standard font readers substitute.
fn standard_font() -> Vec<Vec<u8>> {
    vec![
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>".to_vec(),
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>".to_vec(),
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>".to_vec(),
    ]
}

/// The content stream in subset glyph ids and objects 5–9: Type0 font, CIDFontType2, font
/// descriptor, the subset program, ToUnicode. `None` if the font cannot be subset.
fn embedded_font(page: &Page, f: &EmbeddedFont) -> Option<(String, Vec<Vec<u8>>)> {
    let face = ttf_parser::Face::parse(&f.data, f.index).ok()?;
    let mut remap = subsetter::GlyphRemapper::new();
    let mut unicode: BTreeMap<u16, char> = BTreeMap::new();
    let mut lacks = None;
    let content = page.content(|s| {
        let mut hex = String::new();
        for c in s.chars() {
            let old = face.glyph_index(c).map_or(0, |g| g.0);
            if old == 0 && !c.is_whitespace() {
                lacks.get_or_insert(c);
            }
            let new = remap.remap(old);
            if old != 0 {
                unicode.entry(new).or_insert(c);
            }
            let _ = write!(hex, "{new:04X}");
        }
        hex
    });
    if let Some(c) = lacks {
        tracing::info!(
            char = %c.escape_unicode(),
            "the PDF font has no glyph for a character: this PDF uses the non-embedded STSong-Light"
        );
        return None;
    }
    let program = subsetter::subset(&f.data, f.index, &remap).ok()?;
    let upem = f32::from(face.units_per_em());
    let scale = |v: i16| (f32::from(v) * 1000.0 / upem).round() as i32;
    let mut widths = String::from("[0 [");
    for old in remap.remapped_gids() {
        let adv = face
            .glyph_hor_advance(ttf_parser::GlyphId(old))
            .unwrap_or(0);
        let _ = write!(
            widths,
            "{} ",
            (f32::from(adv) * 1000.0 / upem).round() as i32
        );
    }
    widths.push_str("]]");
    // A subset tag of six capitals, from the glyphs it holds (ISO 32000-1 §9.6.4).
    let mut h: u32 = 2166136261;
    for g in remap.remapped_gids() {
        h = (h ^ u32::from(g)).wrapping_mul(16777619);
    }
    let tag: String = (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
        .collect();
    let base = format!("{tag}+{}", f.name);
    let bbox = face.global_bounding_box();
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let pairs: Vec<(&u16, &char)> = unicode.iter().collect();
    for chunk in pairs.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (gid, c) in chunk {
            let _ = writeln!(cmap, "<{gid:04X}> <{}>", utf16_hex(&c.to_string()));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CIDFont defineresource pop\nend\nend\n");
    let objects = vec![
        format!("<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 9 0 R >>").into_bytes(),
        format!("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /DW 1000 /W {widths} /CIDToGIDMap /Identity >>").into_bytes(),
        format!(
            "<< /Type /FontDescriptor /FontName /{base} /Flags 4 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 8 0 R >>",
            scale(bbox.x_min), scale(bbox.y_min), scale(bbox.x_max), scale(bbox.y_max),
            scale(face.ascender()), scale(face.descender()),
            scale(face.capital_height().unwrap_or(face.ascender())),
        ).into_bytes(),
        stream(
            &format!("/Length1 {} /Filter /FlateDecode", program.len()),
            &deflate(&program),
        ),
        stream("", cmap.as_bytes()),
    ];
    Some((content, objects))
}

/// Numbers the objects from 1, the last one being the document info, and writes the
/// cross-reference table and trailer.
fn write_objects(objects: &[Vec<u8>]) -> Vec<u8> {
    // The second line holds bytes above 127 so tools treat the file as binary.
    let mut out: Vec<u8> = "%PDF-1.4\n%âãÏÓ\n".as_bytes().to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(tail, "{off:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1,
        objects.len()
    );
    out.extend_from_slice(tail.as_bytes());
    out
}

/// The 《单位授权委托书》 with the data of one order.
pub fn letter(d: &Letter) -> Vec<u8> {
    let mut p = Page::new();
    let (left, width) = (60.0, 475.0);
    p.text(225.0, 780.0, 20.0, "单位授权委托书");
    p.text(400.0, 755.0, 9.0, &format!("业务单号:{}", d.no));
    let mut y = 725.0;
    let rows = [
        format!("委托单位:{}", d.unit),
        format!("统一社会信用代码:{}", d.credit_code),
        format!("经办人姓名:{}", d.handler),
        format!("身份证号:{}", d.handler_id),
        format!("手机号码:{}", d.phone),
        format!("电子邮箱:{}", d.email),
    ];
    for r in rows {
        p.text(left, y, 11.0, &r);
        p.line(left, y - 4.0, left + width, y - 4.0);
        y -= 24.0;
    }
    y -= 4.0;
    p.text(left, y, 11.0, "权限及事项:");
    y -= 20.0;
    p.text(
        left,
        y,
        11.0,
        "办理深圳市电子商务安全证书管理有限公司数字证书和电子印章",
    );
    y -= 20.0;
    for c in &d.certs {
        p.text(left, y, 11.0, &format!("证书类型:{c}"));
        y -= 18.0;
    }
    p.text(
        left,
        y,
        11.0,
        &format!("是否办理电子印章:{}", if d.seal { "是" } else { "否" }),
    );
    y -= 24.0;
    p.text(left, y, 11.0, "具体负责以下办理事项");
    y -= 20.0;
    let mut x = left;
    for item in LETTER_ITEMS {
        let w = 11.0 * (item.chars().count() as f32 + 2.5);
        if x + w > left + width {
            x = left;
            y -= 18.0;
        }
        p.rect(x, y - 1.0, 9.0, 9.0);
        p.text(x + 1.0, y, 9.0, "√");
        p.text(x + 13.0, y, 11.0, item);
        x += w;
    }
    y -= 26.0;
    y = p.para(left, y, 10.5, width, LETTER_VALIDITY);
    y -= 4.0;
    y = p.para(left, y, 10.5, width, LETTER_DECLARATION);
    y -= 30.0;
    p.text(330.0, y, 11.0, "委托单位(盖公章):");
    y -= 50.0;
    p.text(330.0, y, 11.0, "经办人(签字):");
    y -= 40.0;
    p.text(330.0, y, 11.0, "日期:      年    月    日");
    document(p, "单位授权委托书")
}

/// The blank 《数字证书印模采集表》 template.
pub fn seal_form() -> Vec<u8> {
    let mut p = Page::new();
    let left = 60.0;
    p.text(200.0, 780.0, 20.0, "数字证书印模采集表");
    let mut y = 730.0;
    for label in ["单位名称:", "统一社会信用代码:", "经办人姓名:", "联系电话:"]
    {
        p.text(left, y, 11.0, label);
        p.line(left + 110.0, y - 4.0, 535.0, y - 4.0);
        y -= 28.0;
    }
    y -= 10.0;
    p.text(
        left,
        y,
        11.0,
        "请在下框内加盖清晰完整的单位公章印模(红色印泥,不得重叠、模糊):",
    );
    y -= 20.0;
    p.rect(left, y - 220.0, 475.0, 220.0);
    y -= 250.0;
    y = p.para(
        left,
        y,
        10.5,
        475.0,
        "说明:本表用于制作与单位数字证书绑定的电子印章。印模须与单位在公安机关备案的公章一致。填写后扫描或拍照,在网上营业厅“上传资料”页面上传。",
    );
    y -= 30.0;
    p.text(330.0, y, 11.0, "委托单位(盖公章):");
    y -= 40.0;
    p.text(330.0, y, 11.0, "日期:      年    月    日");
    document(p, "数字证书印模采集表")
}

/// The sandbox e-invoice (电子发票): number, buyer from 电子发票信息, lines and total.
pub fn invoice(d: &app::desk::InvoiceData) -> Vec<u8> {
    let yuan = |fen: i64| format!("{}.{:02}", fen / 100, fen % 100);
    let mut p = Page::new();
    let left = 60.0;
    p.text(210.0, 780.0, 20.0, "电子发票(沙箱)");
    p.text(left, 745.0, 10.5, &format!("发票号码:{}", d.invoice_no));
    p.text(
        330.0,
        745.0,
        10.5,
        &format!("开票时间:{}", app::clock::format_beijing(d.issued_at)),
    );
    p.text(left, 722.0, 10.5, &format!("业务单号:{}", d.order_no));
    p.text(left, 695.0, 11.0, &format!("购买方名称:{}", d.title));
    p.text(left, 675.0, 11.0, &format!("纳税人识别号:{}", d.tax_no));
    p.line(left, 660.0, 535.0, 660.0);
    p.text(left, 645.0, 10.5, "项目");
    p.text(330.0, 645.0, 10.5, "年限");
    p.text(440.0, 645.0, 10.5, "金额(元)");
    let mut y = 625.0;
    for (label, years, fen) in &d.lines {
        p.text(left, y, 10.5, label);
        p.text(
            330.0,
            y,
            10.5,
            &if *years > 0 {
                format!("{years} 年")
            } else {
                "-".into()
            },
        );
        p.text(440.0, y, 10.5, &yuan(*fen));
        y -= 20.0;
    }
    p.line(left, y + 5.0, 535.0, y + 5.0);
    p.text(
        330.0,
        y - 12.0,
        12.0,
        &format!("合计:¥{}", yuan(d.total_fen)),
    );
    p.text(
        left,
        y - 50.0,
        9.0,
        "本发票由沙箱开票服务生成,仅用于演示与测试,不作报销凭证。",
    );
    document(p, "电子发票")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    thread_local! {
        /// The font `document` uses on this test's thread instead of [`font`].
        pub(super) static FONT_OVERRIDE: std::cell::Cell<Option<&'static EmbeddedFont>> =
            const { std::cell::Cell::new(None) };
    }

    fn built_in() -> &'static EmbeddedFont {
        static F: OnceLock<EmbeddedFont> = OnceLock::new();
        F.get_or_init(|| built_in_font().expect("the built-in font loads"))
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn xref_offsets_point_at_objects() {
        let pdf = seal_form();
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
        let at = find(&pdf, b"startxref\n").unwrap() + b"startxref\n".len();
        let tail = String::from_utf8_lossy(&pdf[at..]).into_owned();
        let start: usize = tail.lines().next().unwrap().parse().unwrap();
        assert!(pdf[start..].starts_with(b"xref"));
        let table = String::from_utf8_lossy(&pdf[start..]).into_owned();
        let n: usize = table.lines().nth(1).unwrap()[2..].parse().unwrap();
        for (i, line) in table.lines().skip(3).take(n - 1).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()));
        }
    }

    #[test]
    fn text_is_in_the_embedded_subset_or_the_standard_font() {
        let pdf = seal_form();
        if embeds_font() {
            // Type0 over an embedded TrueType subset, with the text mapped back to Unicode.
            for needle in [
                &b"/Subtype /CIDFontType2"[..],
                b"/FontFile2 8 0 R",
                b"/ToUnicode 9 0 R",
                b"/CIDToGIDMap /Identity",
                b"<6570>",
            ] {
                assert!(
                    find(&pdf, needle).is_some(),
                    "{}",
                    String::from_utf8_lossy(needle)
                );
            }
            assert!(find(&pdf, b"STSong-Light").is_none());
        } else {
            // 数 = U+6570, written as UTF-16BE hex.
            assert!(find(&pdf, b"<6570").is_some());
        }
    }

    /// Renders `pdf` with poppler (`pdftoppm`, which must draw it without a complaint) and
    /// extracts its text (`pdftotext`), one line per text run.
    fn render_and_extract(name: &str, pdf: &[u8]) -> Vec<String> {
        use std::process::Command;
        let dir = std::env::temp_dir().join(format!("certhall-pdf-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{name}.pdf"));
        std::fs::write(&file, pdf).unwrap();
        let out = Command::new("pdftoppm")
            .args(["-r", "100", "-png"])
            .arg(&file)
            .arg(dir.join(name))
            .output()
            .expect("pdftoppm (poppler-utils)");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success() && err.trim().is_empty(),
            "pdftoppm {name}: {err}"
        );
        let png = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "png"))
            .expect("a rendered page");
        assert!(png.metadata().unwrap().len() > 1000, "{name}: blank render");
        if let Some(shots) = std::env::var_os("CERTHALL_SCREENSHOTS").filter(|d| !d.is_empty()) {
            let shots = std::path::PathBuf::from(shots);
            std::fs::create_dir_all(&shots).unwrap();
            std::fs::copy(png.path(), shots.join(format!("pdf-{name}.png"))).unwrap();
            std::fs::write(shots.join(format!("pdf-{name}.pdf")), pdf).unwrap();
        }
        let out = Command::new("pdftotext")
            .args(["-raw", "-enc", "UTF-8"])
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils)");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success() && err.trim().is_empty(),
            "pdftotext {name}: {err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim_end().to_owned())
            .collect()
    }

    fn has_line(lines: &[String], want: &str) {
        assert!(
            lines.iter().any(|l| l == want),
            "no line {want:?} in {lines:#?}"
        );
    }

    /// What is printed, stamped and scanned back reads as the data, character for
    /// character, in poppler; the font is embedded, so every reader draws the same.
    #[test]
    fn poppler_extracts_the_data_exactly_from_each_pdf() {
        assert!(embeds_font(), "a CJK font to embed");
        extract_each_pdf("");
    }

    /// The same with the font built into the binary: what a machine without any CJK font
    /// (no fonts-wqy-microhei, no CERTHALL_PDF_FONT) prints.
    #[test]
    fn the_built_in_font_alone_renders_each_pdf() {
        FONT_OVERRIDE.with(|f| f.set(Some(built_in())));
        extract_each_pdf("builtin-");
        let pdf = seal_form();
        assert!(find(&pdf, b"/FontFile2 8 0 R").is_some() && find(&pdf, b"STSong").is_none());
        FONT_OVERRIDE.with(|f| f.set(None));
    }

    #[test]
    fn an_unusable_configured_font_falls_through_to_the_next() {
        let (source, f) = choose_font(Some("/no/such/font.ttf")).expect("a font");
        assert_ne!(source, FontSource::Configured);
        let face = ttf_parser::Face::parse(&f.data, f.index).unwrap();
        for c in ['中', 'a', '鑫', '·', ':', '¥'] {
            assert!(face.glyph_index(c).is_some(), "{c}");
        }
        // The built-in cut covers the CJK Unified block and GB 2312.
        let face = ttf_parser::Face::parse(&built_in().data, 0).unwrap();
        for c in ['中', '鑫', '喆', '堃', '龥', '〇', '，', '（'] {
            assert!(face.glyph_index(c).is_some(), "{c} in the built-in font");
        }
    }

    /// A name with a character the font lacks: the page is set in the standard font
    /// readers substitute, not with a blank box where the character was.
    #[test]
    fn a_character_the_font_lacks_sets_the_page_in_the_standard_font() {
        FONT_OVERRIDE.with(|f| f.set(Some(built_in())));
        let pdf = letter(&Letter {
            unit: "深圳市\u{9fcf}科技有限公司".into(),
            credit_code: "91440300MA5DNDLX3L".into(),
            handler: "林小艺".into(),
            handler_id: "11010519491231002X".into(),
            phone: "13612345678".into(),
            email: "a@b.cn".into(),
            certs: vec!["机构证书_1年".into()],
            seal: false,
            no: "XB20261202000017".into(),
        });
        FONT_OVERRIDE.with(|f| f.set(None));
        assert!(find(&pdf, b"/BaseFont /STSong-Light").is_some());
        assert!(find(&pdf, b"/FontFile2").is_none());
    }

    fn extract_each_pdf(prefix: &str) {
        let name = |n: &str| format!("{prefix}{n}");
        let letter = letter(&Letter {
            unit: "深圳市启明星信息技术有限公司".into(),
            credit_code: "91440300MA5DNDLX3L".into(),
            handler: "林小艺".into(),
            handler_id: "11010519491231002X".into(),
            phone: "13612345678".into(),
            email: "linxy@qmxx.example.cn".into(),
            certs: vec!["机构证书_1年".into(), "机构个人证书_3年".into()],
            seal: true,
            no: "XB20261202000017".into(),
        });
        let lines = render_and_extract(&name("letter"), &letter);
        for want in [
            "单位授权委托书",
            "业务单号:XB20261202000017",
            "委托单位:深圳市启明星信息技术有限公司",
            "统一社会信用代码:91440300MA5DNDLX3L",
            "经办人姓名:林小艺",
            "身份证号:11010519491231002X",
            "手机号码:13612345678",
            "电子邮箱:linxy@qmxx.example.cn",
            "证书类型:机构证书_1年",
            "证书类型:机构个人证书_3年",
            "是否办理电子印章:是",
        ] {
            has_line(&lines, want);
        }
        let lines = render_and_extract(&name("seal"), &seal_form());
        for want in [
            "数字证书印模采集表",
            "单位名称:",
            "统一社会信用代码:",
            "委托单位(盖公章):",
        ] {
            has_line(&lines, want);
        }
        // 2026-12-02 04:54:17 Beijing time.
        let issued_at = 1_796_158_457_000;
        let inv = invoice(&app::desk::InvoiceData {
            invoice_no: "SBX-20261202-000017".into(),
            order_no: "XB20261202000017".into(),
            title: "深圳市启明星信息技术有限公司".into(),
            tax_no: "91440300MA5DNDLX3L".into(),
            lines: vec![
                ("机构证书".into(), 1, 50_000),
                ("电子印章".into(), 0, 20_000),
            ],
            total_fen: 70_000,
            issued_at,
            provider: "sandbox".into(),
        });
        let lines = render_and_extract(&name("invoice"), &inv);
        for want in [
            // Two runs on one baseline: one line, a space between.
            "发票号码:SBX-20261202-000017 开票时间:2026-12-02 04:54:17",
            "业务单号:XB20261202000017",
            "购买方名称:深圳市启明星信息技术有限公司",
            "纳税人识别号:91440300MA5DNDLX3L",
            "机构证书 1 年 500.00",
            "合计:¥700.00",
        ] {
            has_line(&lines, want);
        }
        assert_eq!(app::clock::format_beijing(issued_at), "2026-12-02 04:54:17");
    }
}
