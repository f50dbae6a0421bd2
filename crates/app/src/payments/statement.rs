//! Bank statements finance imports (D2): ISO 20022 camt.053 (BkToCstmrStmt) and the CSV
//! layout of docs/PAYMENTS.md. Only credits in CNY are kept for matching; every entry needs
//! the bank's own reference (`AcctSvcrRef`, CSV `entry_ref`), which makes importing the same
//! entry twice a no-op. Pure parsing: no I/O.

use domain::Money;

/// One entry of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementEntry {
    /// The bank's unique reference of the entry.
    pub entry_ref: String,
    /// Booking date, `YYYY-MM-DD`.
    pub booked_on: String,
    /// Amount (positive).
    pub amount: Money,
    /// Currency (ISO 4217).
    pub currency: String,
    /// True for a credit (money in), false for a debit.
    pub credit: bool,
    /// The payer's (debtor's) name.
    pub payer_name: String,
    /// The payer's account number.
    pub payer_account: String,
    /// The memo (附言 / unstructured remittance information).
    pub memo: String,
}

/// A parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `camt.053` or `csv`.
    pub format: &'static str,
    /// Its entries, in file order.
    pub entries: Vec<StatementEntry>,
}

/// Why a statement file was refused; the message names the line or entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StatementError(pub String);

fn err(s: impl Into<String>) -> StatementError {
    StatementError(s.into())
}

/// Parses a statement file, deciding the format by its content (`<?xml`/`<Document` →
/// camt.053, otherwise CSV).
pub fn parse(bytes: &[u8]) -> Result<Statement, StatementError> {
    let text = std::str::from_utf8(bytes).map_err(|_| err("对账单不是UTF-8编码的文本文件"))?;
    let text = text.trim_start_matches('\u{feff}');
    let head = text.trim_start();
    if head.starts_with('<') {
        parse_camt053(text)
    } else {
        parse_csv(text)
    }
}

/// Parses an amount written in yuan with up to two decimals (`1234.50`).
fn amount(s: &str) -> Result<Money, StatementError> {
    let m = Money::parse_yuan(s.trim()).map_err(|_| err(format!("金额“{s}”无效")))?;
    if m.is_negative() || m.is_zero() {
        return Err(err(format!("金额“{s}”无效")));
    }
    Ok(m)
}

// ---- camt.053 ----

/// The text of the first `<tag …>…</tag>` inside `xml` (namespace prefixes ignored), and
/// the attributes of its start tag.
fn element<'a>(xml: &'a str, tag: &str) -> Option<(&'a str, &'a str)> {
    let mut from = 0;
    while let Some(i) = xml[from..].find('<') {
        let start = from + i;
        let rest = &xml[start + 1..];
        let name_end = rest.find(|c: char| c == '>' || c == '/' || c.is_whitespace())?;
        let name = &rest[..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == tag && !name.starts_with('/') {
            let gt = rest.find('>')?;
            let attrs = &rest[name_end..gt];
            if attrs.ends_with('/') {
                return Some(("", attrs));
            }
            let body_start = start + 1 + gt + 1;
            let end = close_of(&xml[body_start..], name)?;
            return Some((&xml[body_start..body_start + end], attrs));
        }
        from = start + 1;
    }
    None
}

/// Where the `</name>` closing the element whose body starts `body` is, counting nested
/// elements of the same name.
fn close_of(body: &str, name: &str) -> Option<usize> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut depth = 0usize;
    let mut i = 0;
    loop {
        let next_close = body[i..].find(&close)? + i;
        let next_open = body[i..].find(&open).map(|j| j + i).filter(|&j| {
            j < next_close
                && body[j + open.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c == '>' || c == '/' || c.is_whitespace())
        });
        match next_open {
            Some(j) => {
                let gt = body[j..].find('>')? + j;
                if !body[..gt].ends_with('/') {
                    depth += 1;
                }
                i = gt + 1;
            }
            None if depth == 0 => return Some(next_close),
            None => {
                depth -= 1;
                i = next_close + close.len();
            }
        }
    }
}

/// All `<tag>…</tag>` bodies in `xml`.
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some((body, _)) = element(rest, tag) {
        out.push(body);
        // Continue after this body.
        let off = body.as_ptr() as usize - rest.as_ptr() as usize + body.len();
        rest = &rest[off..];
    }
    out
}

fn path<'a>(xml: &'a str, tags: &[&str]) -> Option<&'a str> {
    let mut cur = xml;
    for t in tags {
        cur = element(cur, t)?.0;
    }
    Some(cur)
}

fn unescape(s: &str) -> String {
    s.trim()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn attr(attrs: &str, name: &str) -> Option<String> {
    let i = attrs.find(&format!("{name}="))?;
    let rest = &attrs[i + name.len() + 1..];
    let q = rest.chars().next()?;
    let rest = &rest[1..];
    let end = rest.find(q)?;
    Some(rest[..end].to_owned())
}

/// camt.053.001.xx: `Document/BkToCstmrStmt/Stmt/Ntry`.
pub fn parse_camt053(xml: &str) -> Result<Statement, StatementError> {
    if element(xml, "BkToCstmrStmt").is_none() {
        return Err(err("不是 camt.053 对账单(缺少 BkToCstmrStmt)"));
    }
    let mut entries = Vec::new();
    for (n, ntry) in elements(xml, "Ntry").into_iter().enumerate() {
        let n = n + 1;
        let (amt, attrs) =
            element(ntry, "Amt").ok_or_else(|| err(format!("第{n}笔:缺少金额 Amt")))?;
        let currency = attr(attrs, "Ccy").unwrap_or_default();
        let ind = path(ntry, &["CdtDbtInd"]).map(unescape).unwrap_or_default();
        let credit = match ind.as_str() {
            "CRDT" => true,
            "DBIT" => false,
            _ => return Err(err(format!("第{n}笔:借贷标志 CdtDbtInd 无效"))),
        };
        let entry_ref = path(ntry, &["AcctSvcrRef"])
            .or_else(|| path(ntry, &["NtryDtls", "TxDtls", "Refs", "AcctSvcrRef"]))
            .map(unescape)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(format!("第{n}笔:缺少银行流水号 AcctSvcrRef")))?;
        let booked_on = path(ntry, &["BookgDt", "Dt"])
            .or_else(|| path(ntry, &["BookgDt", "DtTm"]).map(|s| s.get(..10).unwrap_or(s)))
            .map(unescape)
            .unwrap_or_default();
        let party = path(ntry, &["RltdPties"]).unwrap_or("");
        let payer_name = path(party, &["Dbtr", "Nm"])
            .or_else(|| path(party, &["Dbtr", "Pty", "Nm"]))
            .map(unescape)
            .unwrap_or_default();
        let payer_account = path(party, &["DbtrAcct", "Id", "Othr", "Id"])
            .or_else(|| path(party, &["DbtrAcct", "Id", "IBAN"]))
            .map(unescape)
            .unwrap_or_default();
        let memo = elements(ntry, "Ustrd")
            .into_iter()
            .map(unescape)
            .collect::<Vec<_>>()
            .join(" ");
        entries.push(StatementEntry {
            entry_ref,
            booked_on,
            amount: amount(&unescape(amt))?,
            currency,
            credit,
            payer_name,
            payer_account,
            memo,
        });
    }
    Ok(Statement {
        format: "camt.053",
        entries,
    })
}

// ---- CSV ----

/// The CSV header (docs/PAYMENTS.md).
pub const CSV_HEADER: [&str; 8] = [
    "entry_ref",
    "booked_on",
    "direction",
    "amount",
    "currency",
    "payer_name",
    "payer_account",
    "memo",
];

/// Splits one CSV record (RFC 4180 quoting) into fields.
fn csv_fields(line: &str) -> Result<Vec<String>, ()> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err(());
    }
    out.push(cur);
    Ok(out)
}

/// The CSV layout: a header line naming the columns of [`CSV_HEADER`] (any order), then one
/// entry per line; `direction` is `C` (credit) or `D` (debit), `amount` in yuan.
pub fn parse_csv(text: &str) -> Result<Statement, StatementError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| err("对账单为空"))?;
    let header = csv_fields(header).map_err(|_| err("第1行:表头格式错误"))?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| err(format!("表头缺少列 {name}")))
    };
    let idx: Vec<usize> = CSV_HEADER
        .iter()
        .map(|n| col(n))
        .collect::<Result<_, _>>()?;
    let mut entries = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let f = csv_fields(line).map_err(|_| err(format!("第{n}行:引号不成对")))?;
        let get = |k: usize| {
            f.get(idx[k])
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let entry_ref = get(0);
        if entry_ref.is_empty() {
            return Err(err(format!("第{n}行:缺少银行流水号 entry_ref")));
        }
        let credit = match get(2).as_str() {
            "C" | "c" | "CRDT" | "贷" => true,
            "D" | "d" | "DBIT" | "借" => false,
            other => return Err(err(format!("第{n}行:方向“{other}”无效(应为C或D)"))),
        };
        let amt = amount(&get(3)).map_err(|e| err(format!("第{n}行:{e}")))?;
        entries.push(StatementEntry {
            entry_ref,
            booked_on: get(1),
            amount: amt,
            currency: get(4),
            credit,
            payer_name: get(5),
            payer_account: get(6),
            memo: get(7),
        });
    }
    Ok(Statement {
        format: "csv",
        entries,
    })
}

/// Order numbers (`XB` + 14 digits) written in a memo, in order, without repeats.
pub fn order_numbers_in(memo: &str) -> Vec<String> {
    let up = memo.to_ascii_uppercase();
    let b = up.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 16 <= b.len() {
        if &b[i..i + 2] == b"XB"
            && b[i + 2..i + 16].iter().all(u8::is_ascii_digit)
            && b.get(i + 16).is_none_or(|c| !c.is_ascii_digit())
        {
            let no = up[i..i + 16].to_owned();
            if !out.contains(&no) {
                out.push(no);
            }
            i += 16;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_bom() {
        let s = parse("\u{feff}entry_ref,booked_on,direction,amount,currency,payer_name,payer_account,memo\nR1,2026-11-23,C,1234.50,CNY,\"某公司, 有限\",6222,\"订单XB20261123000001 \"\"付款\"\"\"\n".as_bytes()).unwrap();
        assert_eq!(s.entries.len(), 1);
        let e = &s.entries[0];
        assert_eq!(e.amount, Money::from_fen(123_450));
        assert_eq!(e.payer_name, "某公司, 有限");
        assert_eq!(order_numbers_in(&e.memo), vec!["XB20261123000001"]);
    }

    #[test]
    fn camt_entries() {
        let x = r#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Ntry><Amt Ccy="CNY">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-23</Dt></BookgDt><AcctSvcrRef>A1</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>A &amp; B</Nm></Dbtr><DbtrAcct><Id><Othr><Id>123</Id></Othr></Id></DbtrAcct></RltdPties><RmtInf><Ustrd>xb20261123000002</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"#;
        let s = parse(x.as_bytes()).unwrap();
        assert_eq!(s.entries[0].payer_name, "A & B");
        assert_eq!(s.entries[0].payer_account, "123");
        assert_eq!(
            order_numbers_in(&s.entries[0].memo),
            vec!["XB20261123000002"]
        );
        assert!(parse(b"<x/>").is_err());
    }
}
