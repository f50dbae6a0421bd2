//! Bank statements finance imports (D2): ISO 20022 camt.053 (BkToCstmrStmt) and the CSV
//! layout of docs/PAYMENTS.md. Only credits in CNY are kept for matching; every entry needs
//! the bank's own reference (`AcctSvcrRef`, CSV `entry_ref`), which makes importing the same
//! entry twice a no-op. Pure parsing: no I/O. The XML is read by `roxmltree`, the CSV by
//! `csv`; this module maps their records onto [`StatementEntry`] with Chinese errors.

use domain::Money;
use roxmltree::Node;

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

/// An element named `name` in any namespace or none (banks write `camt:Ntry`, `Ntry` with a
/// default namespace, or no namespace at all).
fn is(node: &Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name
}

/// The first child element named `name`.
fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(c, name))
}

/// The element at `path` below `node`, each step the first child of that name.
fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

/// An element's text (entities decoded, CDATA included, comments skipped), trimmed.
fn text(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The text at `path` below `node`, if the element is there.
fn text_at(node: Node<'_, '_>, path: &[&str]) -> Option<String> {
    at(node, path).map(text)
}

/// Why the XML itself was refused, in words finance can act on.
fn xml_error(e: &roxmltree::Error) -> StatementError {
    use roxmltree::Error as E;
    match e {
        E::DtdDetected => err("对账单含有DTD声明(<!DOCTYPE>),为安全起见不予导入"),
        E::UnclosedRootNode | E::UnexpectedEndOfStream | E::NoRootNode => {
            err("对账单XML不完整,文件可能被截断,请重新导出")
        }
        E::NodesLimitReached | E::AttributesLimitReached | E::NamespacesLimitReached => {
            err("对账单XML过大,请分批导出")
        }
        _ => {
            let pos = e.pos();
            err(format!(
                "对账单不是有效的XML:第{}行第{}列附近格式错误",
                pos.row, pos.col
            ))
        }
    }
}

/// camt.053.001.xx: `Document/BkToCstmrStmt/Stmt/Ntry`. Elements are matched by local name,
/// whatever their namespace or prefix; a document type declaration is refused.
pub fn parse_camt053(xml: &str) -> Result<Statement, StatementError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| xml_error(&e))?;
    let statement = doc
        .descendants()
        .find(|n| is(n, "BkToCstmrStmt"))
        .ok_or_else(|| err("不是 camt.053 对账单(缺少 BkToCstmrStmt)"))?;
    let ntrys = statement
        .children()
        .filter(|n| is(n, "Stmt"))
        .flat_map(|stmt| stmt.children().filter(|n| is(n, "Ntry")));
    let mut entries = Vec::new();
    for (n, ntry) in ntrys.enumerate() {
        let n = n + 1;
        let amt = child(ntry, "Amt").ok_or_else(|| err(format!("第{n}笔:缺少金额 Amt")))?;
        let currency = amt.attribute("Ccy").unwrap_or_default().trim().to_owned();
        let credit = match text_at(ntry, &["CdtDbtInd"]).as_deref() {
            Some("CRDT") => true,
            Some("DBIT") => false,
            _ => return Err(err(format!("第{n}笔:借贷标志 CdtDbtInd 无效"))),
        };
        let entry_ref = text_at(ntry, &["AcctSvcrRef"])
            .filter(|s| !s.is_empty())
            .or_else(|| text_at(ntry, &["NtryDtls", "TxDtls", "Refs", "AcctSvcrRef"]))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(format!("第{n}笔:缺少银行流水号 AcctSvcrRef")))?;
        let booked_on = text_at(ntry, &["BookgDt", "Dt"])
            .or_else(|| {
                text_at(ntry, &["BookgDt", "DtTm"]).map(|s| s.get(..10).unwrap_or(&s).to_owned())
            })
            .unwrap_or_default();
        let party = ntry.descendants().find(|d| is(d, "RltdPties"));
        let payer_name = party
            .and_then(|p| {
                text_at(p, &["Dbtr", "Nm"]).or_else(|| text_at(p, &["Dbtr", "Pty", "Nm"]))
            })
            .unwrap_or_default();
        let payer_account = party
            .and_then(|p| {
                text_at(p, &["DbtrAcct", "Id", "Othr", "Id"])
                    .or_else(|| text_at(p, &["DbtrAcct", "Id", "IBAN"]))
            })
            .unwrap_or_default();
        let memo = ntry
            .descendants()
            .filter(|d| is(d, "Ustrd"))
            .map(text)
            .collect::<Vec<_>>()
            .join(" ");
        let amount = amount(&text(amt)).map_err(|e| err(format!("第{n}笔:{e}")))?;
        entries.push(StatementEntry {
            entry_ref,
            booked_on,
            amount,
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

/// A last line appended to the input so that a quote left open anywhere shows: the `csv`
/// reader, lenient like most, reads an unclosed quoted field to the end of the input, which
/// then swallows this line instead of ending with it as a record of its own.
const END_MARK: &str = "\u{0}certhall:end-of-statement\u{0}";

/// One CSV record with the line it starts on (1-based).
struct Record {
    line: u64,
    fields: csv::StringRecord,
}

/// The records of `text` (RFC 4180: quoted fields may hold commas, doubled quotes and line
/// breaks; lines end in LF or CRLF), blank lines left out. A quote left open is refused with
/// the line it opens on.
fn csv_records(text: &str) -> Result<Vec<Record>, StatementError> {
    let mut input = String::with_capacity(text.len() + END_MARK.len() + 1);
    input.push_str(text);
    input.push('\n');
    input.push_str(END_MARK);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input.as_bytes());
    let mut records = Vec::new();
    for (i, result) in reader.records().enumerate() {
        let fields = result.map_err(|e| {
            let line = e.position().map_or(i as u64 + 1, csv::Position::line);
            err(format!("第{line}行:无法按CSV读取"))
        })?;
        let line = fields.position().map_or(i as u64 + 1, csv::Position::line);
        records.push(Record { line, fields });
    }
    match records.pop() {
        Some(last) if last.fields.len() == 1 && &last.fields[0] == END_MARK => {}
        Some(open) if open.line == 1 => return Err(err("第1行:表头格式错误(引号不成对)")),
        Some(open) => return Err(err(format!("第{}行:引号不成对", open.line))),
        None => return Err(err("对账单为空")),
    }
    records.retain(|r| r.fields.iter().any(|f| !f.trim().is_empty()));
    Ok(records)
}

/// The CSV layout: a header line naming the columns of [`CSV_HEADER`] (any order, others
/// ignored), then one entry per record; `direction` is `C` (credit) or `D` (debit), `amount`
/// in yuan. UTF-8, with or without a BOM.
pub fn parse_csv(text: &str) -> Result<Statement, StatementError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = csv_records(text)?.into_iter();
    let header = records.next().ok_or_else(|| err("对账单为空"))?;
    let idx: Vec<usize> = CSV_HEADER
        .iter()
        .map(|name| {
            header
                .fields
                .iter()
                .position(|h| h.trim() == *name)
                .ok_or_else(|| err(format!("表头缺少列 {name}")))
        })
        .collect::<Result<_, _>>()?;
    let mut entries = Vec::new();
    for record in records {
        let n = record.line;
        let get = |k: usize| {
            record
                .fields
                .get(idx[k])
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

    const HEAD: &str =
        "entry_ref,booked_on,direction,amount,currency,payer_name,payer_account,memo";

    fn refusal(bytes: &[u8]) -> String {
        match parse(bytes) {
            Ok(s) => panic!("accepted: {s:?}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn csv_crlf_blank_lines_and_columns_in_any_order() {
        let text = "\u{feff}memo,amount,direction,entry_ref,extra,currency,booked_on,payer_name,payer_account\r\n\
                    \r\n\
                    \"附言, 含逗号\r\n第二行\",2400.00,C,R1,x,CNY,2026-11-23,某公司,6222\r\n\
                    \x20\x20,\r\n\
                    \"\"\"引号\"\"\",15.00,D,R2,,CNY,2026-11-23,,\r\n";
        let s = parse(text.as_bytes()).unwrap();
        assert_eq!(s.format, "csv");
        assert_eq!(s.entries.len(), 2);
        let e = &s.entries[0];
        assert_eq!(e.entry_ref, "R1");
        assert_eq!(e.memo, "附言, 含逗号\r\n第二行");
        assert_eq!(e.payer_account, "6222");
        assert!(e.credit);
        let d = &s.entries[1];
        assert_eq!(d.memo, "\"引号\"");
        assert!(!d.credit);
        // The last field of a CRLF line keeps no carriage return.
        assert_eq!(d.payer_account, "");
        assert_eq!(d.amount, Money::from_fen(1_500));
    }

    #[test]
    fn csv_credit_and_debit_spellings() {
        for (dir, credit) in [
            ("C", true),
            ("c", true),
            ("CRDT", true),
            ("贷", true),
            ("D", false),
            ("d", false),
            ("DBIT", false),
            ("借", false),
        ] {
            let text = format!("{HEAD}\nR1,2026-11-23, {dir} ,1.00,CNY,a,b,c\n");
            assert_eq!(
                parse(text.as_bytes()).unwrap().entries[0].credit,
                credit,
                "{dir}"
            );
        }
    }

    #[test]
    fn csv_refusals_name_the_line_in_chinese() {
        let with = |rows: &str| refusal(format!("{HEAD}\n{rows}").as_bytes());
        assert_eq!(refusal(b""), "对账单为空");
        assert_eq!(refusal("\u{feff}".as_bytes()), "对账单为空");
        assert_eq!(refusal(b"\n\n  \n"), "对账单为空");
        assert_eq!(
            refusal(b"entry_ref,amount\nR1,1.00\n"),
            "表头缺少列 booked_on"
        );
        assert_eq!(
            refusal(b"entry_ref,\"amount\n"),
            "第1行:表头格式错误(引号不成对)"
        );
        assert_eq!(
            with("R1,2026-11-23,C,1.00,CNY,a,b,ok\nR2,2026-11-23,C,1.00,CNY,\"a,b,c\n"),
            "第3行:引号不成对"
        );
        assert_eq!(
            with("R1,2026-11-23,C,1.00,CNY,a,b,\"open"),
            "第2行:引号不成对"
        );
        assert_eq!(
            with("R1,2026-11-23,X,1.00,CNY,a,b,c"),
            "第2行:方向“X”无效(应为C或D)"
        );
        assert_eq!(
            with(",2026-11-23,C,1.00,CNY,a,b,c"),
            "第2行:缺少银行流水号 entry_ref"
        );
        assert_eq!(with("R1,2026-11-23,C,abc,CNY,a,b,c"), "第2行:金额“abc”无效");
        assert_eq!(
            with("R1,2026-11-23,C,0.00,CNY,a,b,c"),
            "第2行:金额“0.00”无效"
        );
        assert_eq!(
            with("R1,2026-11-23,C,-5.00,CNY,a,b,c"),
            "第2行:金额“-5.00”无效"
        );
        assert_eq!(with("R1,2026-11-23,C"), "第2行:金额“”无效");
        assert_eq!(refusal(b"entry_ref\xff\n"), "对账单不是UTF-8编码的文本文件");
    }

    fn camt(entries: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt>\
             <GrpHdr><MsgId>M1</MsgId></GrpHdr><Stmt><Id>S1</Id>{entries}</Stmt></BkToCstmrStmt></Document>"
        )
    }

    const CREDIT: &str = "<Ntry><Amt Ccy=\"CNY\">2400.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
        <BookgDt><Dt>2026-11-23</Dt></BookgDt><AcctSvcrRef>A1</AcctSvcrRef></Ntry>";

    #[test]
    fn camt_prefixes_no_namespace_bom_and_crlf() {
        let prefixed = "\u{feff}<?xml version=\"1.0\"?>\r\n\
            <c:Document xmlns:c=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\r\n\
            <c:BkToCstmrStmt><c:Stmt><c:Ntry>\r\n\
            <c:Amt Ccy=\"CNY\">10.5</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd>\r\n\
            <c:BookgDt><c:DtTm>2026-11-23T09:30:00+08:00</c:DtTm></c:BookgDt>\r\n\
            <c:NtryDtls><c:TxDtls><c:Refs><c:AcctSvcrRef> R-9 </c:AcctSvcrRef></c:Refs>\r\n\
            <c:RltdPties><c:Dbtr><c:Pty><c:Nm>甲&#x4E59;&amp;丙</c:Nm></c:Pty></c:Dbtr>\r\n\
            <c:DbtrAcct><c:Id><c:IBAN>CN00123</c:IBAN></c:Id></c:DbtrAcct></c:RltdPties>\r\n\
            <c:RmtInf><c:Ustrd>证书费</c:Ustrd><c:Ustrd><![CDATA[XB20261123000007 <付款>]]></c:Ustrd></c:RmtInf>\r\n\
            </c:TxDtls></c:NtryDtls></c:Ntry></c:Stmt></c:BkToCstmrStmt></c:Document>\r\n";
        let s = parse(prefixed.as_bytes()).unwrap();
        assert_eq!(s.format, "camt.053");
        let e = &s.entries[0];
        assert_eq!(e.entry_ref, "R-9");
        assert_eq!(e.booked_on, "2026-11-23");
        assert_eq!(e.amount, Money::from_fen(1_050));
        assert_eq!(e.payer_name, "甲乙&丙");
        assert_eq!(e.payer_account, "CN00123");
        assert_eq!(e.memo, "证书费 XB20261123000007 <付款>");
        assert_eq!(order_numbers_in(&e.memo), vec!["XB20261123000007"]);

        let bare = "<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy=\"CNY\">1.00</Amt>\
            <CdtDbtInd>CRDT</CdtDbtInd><AcctSvcrRef>B<!-- comment -->1</AcctSvcrRef></Ntry></Stmt></BkToCstmrStmt></Document>";
        let s = parse(bare.as_bytes()).unwrap();
        assert_eq!(s.entries[0].entry_ref, "B1");
        assert_eq!(s.entries[0].payer_name, "");
        assert_eq!(s.entries[0].memo, "");
    }

    #[test]
    fn camt_credit_and_debit_entries() {
        let debit = "<Ntry><Amt Ccy=\"CNY\">35.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>\
            <AcctSvcrRef>A2</AcctSvcrRef></Ntry>";
        let usd = "<Ntry><Amt Ccy=\"USD\">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
            <AcctSvcrRef>A3</AcctSvcrRef></Ntry>";
        let s = parse(camt(&format!("{CREDIT}{debit}{usd}")).as_bytes()).unwrap();
        let got: Vec<_> = s
            .entries
            .iter()
            .map(|e| (e.entry_ref.as_str(), e.credit, e.currency.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("A1", true, "CNY"),
                ("A2", false, "CNY"),
                ("A3", true, "USD")
            ]
        );
        assert_eq!(s.entries[0].booked_on, "2026-11-23");
        assert!(parse(camt("").as_bytes()).unwrap().entries.is_empty());
    }

    #[test]
    fn camt_refusals_in_chinese() {
        let one = |ntry: &str| refusal(camt(&format!("{CREDIT}{ntry}")).as_bytes());
        assert_eq!(
            one("<Ntry><CdtDbtInd>CRDT</CdtDbtInd><AcctSvcrRef>X</AcctSvcrRef></Ntry>"),
            "第2笔:缺少金额 Amt"
        );
        assert_eq!(
            one("<Ntry><Amt Ccy=\"CNY\">1.00</Amt><CdtDbtInd>RVSL</CdtDbtInd><AcctSvcrRef>X</AcctSvcrRef></Ntry>"),
            "第2笔:借贷标志 CdtDbtInd 无效"
        );
        assert_eq!(
            one("<Ntry><Amt Ccy=\"CNY\">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><AcctSvcrRef> </AcctSvcrRef></Ntry>"),
            "第2笔:缺少银行流水号 AcctSvcrRef"
        );
        assert_eq!(
            one("<Ntry><Amt Ccy=\"CNY\">12.345</Amt><CdtDbtInd>CRDT</CdtDbtInd><AcctSvcrRef>X</AcctSvcrRef></Ntry>"),
            "第2笔:金额“12.345”无效"
        );
        assert_eq!(refusal(b"<x/>"), "不是 camt.053 对账单(缺少 BkToCstmrStmt)");
        assert_eq!(
            refusal(b"<Document><BkToCstmrDbtCdtNtfctn/></Document>"),
            "不是 camt.053 对账单(缺少 BkToCstmrStmt)"
        );
        assert_eq!(
            refusal(b"<Document>\n<BkToCstmrStmt><Stmt></Ntry></Stmt></BkToCstmrStmt></Document>"),
            "对账单不是有效的XML:第2行第22列附近格式错误"
        );
        assert_eq!(
            refusal(b"<Document><BkToCstmrStmt>"),
            "对账单XML不完整,文件可能被截断,请重新导出"
        );
        assert_eq!(
            refusal(
                b"<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY e \"x\">]><Document>&e;</Document>"
            ),
            "对账单含有DTD声明(<!DOCTYPE>),为安全起见不予导入"
        );
        assert_eq!(
            refusal(b"<Document><a:BkToCstmrStmt/></Document>"),
            "对账单不是有效的XML:第1行第12列附近格式错误"
        );
    }

    #[test]
    fn truncated_or_garbled_files_are_refused_never_a_panic() {
        let xml = camt(&format!(
            "{CREDIT}<Ntry><Amt Ccy=\"CNY\">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><AcctSvcrRef>Z</AcctSvcrRef>\
             <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>名</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>"
        ));
        let csv = format!(
            "{HEAD}\r\nR1,2026-11-23,C,1.00,CNY,\"a,\"\"b\",6222,\"XB20261123000001\r\n附言\"\r\n"
        );
        for text in [xml.as_str(), csv.as_str()] {
            for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                let prefix = &text.as_bytes()[..cut];
                if let Err(e) = parse(prefix) {
                    assert!(!e.0.is_empty() && !e.0.is_ascii(), "{cut}: {}", e.0);
                }
            }
        }
        for garbage in [
            &b"<"[..],
            b"<<<<",
            b"\"",
            b",,,\n\"\"\"",
            b"\xef\xbb\xbf<",
            b"\0\0",
        ] {
            let _ = parse(garbage);
        }
    }
}
