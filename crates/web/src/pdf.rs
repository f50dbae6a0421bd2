//! A minimal PDF writer for the 《单位授权委托书》 and the blank 《数字证书印模采集表》: one A4
//! page of text and lines in the standard CJK font `STSong-Light` (`/Encoding /UniGB-UCS2-H`,
//! CIDSystemInfo Adobe-GB1), which PDF readers supply, so no font file ships. Text is written
//! as UTF-16BE hex strings (ISO 32000-1 §9.7.5.2, predefined CMaps).

use crate::wizard::{Letter, LETTER_DECLARATION, LETTER_ITEMS, LETTER_VALIDITY};
use std::fmt::Write;

/// Page content being built (PDF user space, origin bottom left, A4 595×842 pt).
struct Page {
    ops: String,
}

impl Page {
    fn new() -> Self {
        Self { ops: String::new() }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, s: &str) {
        let mut hex = String::new();
        for unit in s.encode_utf16() {
            let _ = write!(hex, "{unit:04X}");
        }
        let _ = writeln!(self.ops, "BT /F1 {size} Tf {x} {y} Td <{hex}> Tj ET");
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
        let _ = writeln!(self.ops, "0.6 w {x1} {y1} m {x2} {y2} l S");
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let _ = writeln!(self.ops, "0.8 w {x} {y} {w} {h} re S");
    }
}

/// Serialises one page with the font objects.
fn document(page: Page, title: &str) -> Vec<u8> {
    let mut title_hex = String::from("FEFF");
    for unit in title.encode_utf16() {
        let _ = write!(title_hex, "{unit:04X}");
    }
    let objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".into(),
        format!("<< /Length {} >>\nstream\n{}endstream", page.ops.len(), page.ops),
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>".into(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>".into(),
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>".into(),
        format!("<< /Title <{title_hex}> /Producer (certhall) >>"),
    ];
    // The second line holds bytes above 127 so tools treat the file as binary.
    let mut out: Vec<u8> = "%PDF-1.4\n%âãÏÓ\n".as_bytes().to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn xref_offsets_point_at_objects() {
        let pdf = seal_form();
        let s = String::from_utf8_lossy(&pdf).into_owned();
        assert!(s.starts_with("%PDF-1.4") && s.trim_end().ends_with("%%EOF"));
        let start: usize = s
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(s[start..].starts_with("xref"));
        for (i, line) in s[start..].lines().skip(3).take(8).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(s.as_bytes()[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()));
        }
        // 数 = U+6570, written as UTF-16BE hex.
        assert!(s.contains("<6570"));
    }
}
