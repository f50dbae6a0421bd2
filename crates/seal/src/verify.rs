//! Verification in the order of GB/T 38540-2020 §8 (signature) and §7 (seal), each step
//! reported with its Chinese name, so a failure says which step failed.
//!
//! Signature: 签章签名值 → 签章者证书与印章匹配 → 印章签名值 → 制章人证书 → 印章有效期 →
//! 原文杂凑值. Seal alone: 印章结构 → 印章签名值 → 制章人证书 → 印章有效期 → 印章图片.

use crate::asn1::CertList;
use crate::parse::{self, SealView, SignatureView};
use crate::Edition;
use der::{Decode, Encode};
use pki::oid;
use sm3::{Digest, Sm3};
use x509_cert::Certificate;

/// What a verifier trusts.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// CA certificates (DER): roots (self-signed) and intermediates.
    pub cas: Vec<Vec<u8>>,
    /// Seal-maker certificates (DER) allowed to make seals.
    pub seal_makers: Vec<Vec<u8>>,
}

/// Revocation status of a certificate, as the verifier's caller knows it.
pub trait Status {
    /// `Some(true)` revoked, `Some(false)` good, `None` unknown (not checked).
    fn revoked(&self, cert: &Certificate) -> Option<bool>;
}

/// No revocation source: every status unknown.
pub struct NoStatus;
impl Status for NoStatus {
    fn revoked(&self, _: &Certificate) -> Option<bool> {
        None
    }
}

/// A step's outcome.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Outcome {
    /// 通过.
    Pass,
    /// 不通过.
    Fail,
    /// 未核对 (e.g. no document given).
    Skipped,
}

impl Outcome {
    /// 通过 / 不通过 / 未核对.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "通过",
            Outcome::Fail => "不通过",
            Outcome::Skipped => "未核对",
        }
    }
}

/// One verification step.
#[derive(Clone, Debug)]
pub struct Step {
    /// The step's name.
    pub name: &'static str,
    /// Its outcome.
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
}

/// Everything a verification found.
#[derive(Clone, Debug)]
pub struct Report {
    /// 电子印章 or 电子签章.
    pub what: &'static str,
    /// The edition, when the structure was read.
    pub edition: Option<Edition>,
    /// 电子印章标识.
    pub es_id: Option<String>,
    /// 印章名称.
    pub seal_name: Option<String>,
    /// Steps in order; after the first failure the remaining steps are not run.
    pub steps: Vec<Step>,
}

impl Report {
    /// Every step passed (or was skipped because no document was given).
    pub fn ok(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.outcome != Outcome::Fail)
    }
    /// The first failing step.
    pub fn failed_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.outcome == Outcome::Fail)
    }
    fn push(&mut self, name: &'static str, r: std::result::Result<String, String>) -> bool {
        let (outcome, detail, ok) = match r {
            Ok(d) => (Outcome::Pass, d, true),
            Err(d) => (Outcome::Fail, d, false),
        };
        self.steps.push(Step {
            name,
            outcome,
            detail,
        });
        ok
    }
}

fn date(secs: u64) -> String {
    match der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs)) {
        Ok(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minutes(),
            d.seconds()
        ),
        Err(_) => format!("{secs}"),
    }
}

fn cn(cert: &Certificate) -> String {
    pki::names::display_name(&cert.tbs_certificate.subject)
}

/// Verify an SM3withSM2 signature by the key of `cert` (DER) over `msg`.
fn check_sig(
    cert: &Certificate,
    alg: &der::asn1::ObjectIdentifier,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    if *alg != oid::SM3_WITH_SM2 {
        return Err(format!(
            "签名算法 {alg} 不是 SM3withSM2(1.2.156.10197.1.501)"
        ));
    }
    let pk = pki::csr::sm2_public_key(&cert.tbs_certificate.subject_public_key_info)
        .map_err(|e| format!("证书的公钥不是 SM2 公钥:{e}"))?;
    pki::signer::verify(&pk, msg, sig).map_err(|_| "签名值与数据不符".to_string())
}

fn within(cert: &Certificate, at: u64) -> Result<(), String> {
    let v = &cert.tbs_certificate.validity;
    let (nb, na) = (
        pki::names::unix_secs(&v.not_before),
        pki::names::unix_secs(&v.not_after),
    );
    if at < nb {
        return Err(format!(
            "证书“{}”在 {} 尚未生效(生效于 {})",
            cn(cert),
            date(at),
            date(nb)
        ));
    }
    if at > na {
        return Err(format!(
            "证书“{}”在 {} 已过期(到期于 {})",
            cn(cert),
            date(at),
            date(na)
        ));
    }
    Ok(())
}

/// A certificate's chain to a trusted root, validity at `at` for every link, revocation.
fn check_chain(
    cert: &Certificate,
    at: u64,
    trust: &Trust,
    status: &dyn Status,
) -> Result<(), String> {
    within(cert, at)?;
    if status.revoked(cert) == Some(true) {
        return Err(format!("证书“{}”已吊销", cn(cert)));
    }
    let cas: Vec<Certificate> = trust
        .cas
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let mut current = cert.clone();
    for _ in 0..4 {
        let issuer = cas
            .iter()
            .find(|ca| {
                ca.tbs_certificate.subject == current.tbs_certificate.issuer
                    && current
                        .tbs_certificate
                        .to_der()
                        .ok()
                        .map(|tbs| {
                            check_sig(
                                ca,
                                &current.signature_algorithm.oid,
                                &tbs,
                                current.signature.raw_bytes(),
                            )
                            .is_ok()
                        })
                        .unwrap_or(false)
            })
            .ok_or_else(|| format!("证书“{}”不是受信任的 CA 签发的", cn(&current)))?;
        within(issuer, at)?;
        if issuer.tbs_certificate.subject == issuer.tbs_certificate.issuer {
            return Ok(());
        }
        if status.revoked(issuer) == Some(true) {
            return Err(format!("CA 证书“{}”已吊销", cn(issuer)));
        }
        current = issuer.clone();
    }
    Err("证书链过长".into())
}

fn parse_cert(der: &[u8], what: &str) -> Result<Certificate, String> {
    Certificate::from_der(der).map_err(|e| format!("{what}不是有效的 X.509 证书:{e}"))
}

/// The seal steps shared by a seal and a signature, at time `at`.
fn seal_steps(
    report: &mut Report,
    seal: &SealView,
    at: u64,
    trust: &Trust,
    status: &dyn Status,
) -> bool {
    let maker = match parse_cert(&seal.maker_cert, "制章人证书") {
        Ok(c) => c,
        Err(e) => return report.push("印章签名值", Err(e)),
    };
    if !report.push(
        "印章签名值",
        check_sig(
            &maker,
            &seal.sign_alg,
            &seal.signed_bytes,
            &seal.signed_value,
        )
        .map(|_| format!("制章人“{}”的 SM3withSM2 签名与印章信息相符", cn(&maker))),
    ) {
        return false;
    }
    let maker_ok = (|| {
        if !trust.seal_makers.iter().any(|m| m == &seal.maker_cert) {
            return Err(format!(
                "“{}”不在受信任的制章人名单中,无权制作电子印章",
                cn(&maker)
            ));
        }
        check_chain(&maker, at, trust, status)?;
        Ok(format!(
            "“{}”是受信任的制章人,证书在 {} 有效",
            cn(&maker),
            date(at)
        ))
    })();
    if !report.push("制章人证书", maker_ok) {
        return false;
    }
    let validity = if at < seal.valid_start {
        Err(format!(
            "印章在 {} 尚未生效(有效期 {} 至 {})",
            date(at),
            date(seal.valid_start),
            date(seal.valid_end)
        ))
    } else if at > seal.valid_end {
        Err(format!(
            "印章在 {} 已过有效期(有效期 {} 至 {})",
            date(at),
            date(seal.valid_start),
            date(seal.valid_end)
        ))
    } else {
        Ok(format!(
            "有效期 {} 至 {}",
            date(seal.valid_start),
            date(seal.valid_end)
        ))
    };
    report.push("印章有效期", validity)
}

/// Verify a seal on its own at `now` (unix seconds).
pub fn verify_seal(input: &[u8], now: u64, trust: &Trust, status: &dyn Status) -> Report {
    let mut report = Report {
        what: "电子印章",
        edition: None,
        es_id: None,
        seal_name: None,
        steps: Vec::new(),
    };
    let seal = match parse::seal(input) {
        Ok(s) => s,
        Err(e) => {
            report.push("印章结构", Err(e.to_string()));
            return report;
        }
    };
    report.edition = Some(seal.edition);
    report.es_id = Some(seal.es_id.clone());
    report.seal_name = Some(seal.name.clone());
    report.push(
        "印章结构",
        Ok(format!(
            "{} 结构(头信息版本 {}),印章标识 {},印章名称“{}”",
            seal.edition.label(),
            seal.header_version,
            seal.es_id,
            seal.name
        )),
    );
    if !seal_steps(&mut report, &seal, now, trust, status) {
        return report;
    }
    let pic = if seal.picture_type.eq_ignore_ascii_case("PNG") {
        crate::picture::png_size(&seal.picture).map(|(w, h)| {
            format!(
                "PNG {w}×{h} 像素,显示尺寸 {}×{} 毫米",
                seal.width_mm, seal.height_mm
            )
        })
    } else {
        Ok(format!(
            "{} 图片,{} 字节(未解码)",
            seal.picture_type,
            seal.picture.len()
        ))
    };
    report.push("印章图片", pic);
    report
}

/// Verify a seal signature; `document` is the signed document when the caller has it.
pub fn verify_signature(
    input: &[u8],
    document: Option<&[u8]>,
    trust: &Trust,
    status: &dyn Status,
) -> Report {
    let mut report = Report {
        what: "电子签章",
        edition: None,
        es_id: None,
        seal_name: None,
        steps: Vec::new(),
    };
    let sig: SignatureView = match parse::signature(input) {
        Ok(s) => s,
        Err(e) => {
            report.push("签章结构", Err(e.to_string()));
            return report;
        }
    };
    report.edition = Some(sig.edition);
    report.es_id = Some(sig.seal.es_id.clone());
    report.seal_name = Some(sig.seal.name.clone());
    report.push(
        "签章结构",
        Ok(format!(
            "{} 结构,签章时间 {}",
            sig.edition.label(),
            date(sig.time)
        )),
    );
    let signer = match parse_cert(&sig.signer_cert, "签章者证书") {
        Ok(c) => c,
        Err(e) => {
            report.push("签章签名值", Err(e));
            return report;
        }
    };
    let doc_sig = check_sig(&signer, &sig.sign_alg, &sig.signed_bytes, &sig.signature)
        .and_then(|_| check_chain(&signer, sig.time, trust, status))
        .map(|_| {
            format!(
                "签章者“{}”的签名与签章信息相符,证书在签章时有效",
                cn(&signer)
            )
        });
    if !report.push("签章签名值", doc_sig) {
        return report;
    }
    let matched = match &sig.seal.cert_list {
        CertList::Certs(certs) => certs.iter().any(|c| c == &sig.signer_cert),
        CertList::Digests(ds) => {
            let h: [u8; 32] = Sm3::digest(&sig.signer_cert).into();
            ds.iter()
                .any(|(alg, d)| alg.eq_ignore_ascii_case("SM3") && d.as_slice() == h)
        }
    };
    let m = if matched {
        Ok("签章者证书在印章的签章者证书列表中".to_string())
    } else {
        Err(format!(
            "签章者证书“{}”不在印章“{}”的签章者证书列表中",
            cn(&signer),
            sig.seal.name
        ))
    };
    if !report.push("签章者证书与印章匹配", m) {
        return report;
    }
    if !seal_steps(&mut report, &sig.seal, sig.time, trust, status) {
        return report;
    }
    match document {
        None => report.steps.push(Step {
            name: "原文杂凑值",
            outcome: Outcome::Skipped,
            detail: "未提供原文,未核对原文杂凑值".into(),
        }),
        Some(doc) => {
            let h = crate::sign::document_hash(doc);
            let r = if h.as_slice() == sig.data_hash.as_slice() {
                Ok("原文的 SM3 杂凑值与签章中的一致".to_string())
            } else {
                Err("原文的 SM3 杂凑值与签章中的不一致:原文已被改动或不是所签文件".to_string())
            };
            report.push("原文杂凑值", r);
        }
    }
    report
}

/// Render a report as lines of text (the CLI and logs).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{}{}\n",
        report.what,
        report
            .edition
            .map(|e| format!("({})", e.label()))
            .unwrap_or_default()
    ));
    for (i, s) in report.steps.iter().enumerate() {
        out.push_str(&format!(
            "{}. {}:{} — {}\n",
            i + 1,
            s.name,
            s.outcome.label(),
            s.detail
        ));
    }
    out.push_str(if report.ok() {
        "结论:有效\n"
    } else {
        "结论:无效\n"
    });
    out
}

/// DER of a certificate for the trust list, from PEM or DER.
pub fn cert_der(input: &[u8]) -> Option<Vec<u8>> {
    if let Ok(text) = std::str::from_utf8(input) {
        if text.contains("-----BEGIN") {
            return der::pem::decode_vec(text.trim().as_bytes())
                .ok()
                .map(|(_, d)| d);
        }
    }
    Certificate::from_der(input)
        .ok()
        .and_then(|c| c.to_der().ok())
}
