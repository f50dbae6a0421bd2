//! 电子印章 for anyone outside the hall (issue 20 items 4 and 5): the public status of a
//! seal by its esID (有效 / 已注销 / 未知), and the check of an uploaded seal (`SESeal`) or
//! seal signature (`SES_Signature`) step by step, in Chinese, ending with the hall's own
//! record of the seal. The parsing and cryptography are the `seal` crate's, behind the port
//! [`SealChecker`] (implemented by the binary, so `app` stays free of it). A seal is marked
//! revoked when the unit's 机构证书 it binds is revoked ([`crate::revocation`]).

use crate::desk::SealStore;
use crate::{AppError, AppResult};
use std::sync::Arc;

/// Largest seal or signature file checked (a seal is a few tens of kilobytes; its picture is
/// bounded too).
pub const MAX_SEAL_BYTES: usize = 512 * 1024;
/// Largest document a signature's hash is checked against.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;

/// One step of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckStep {
    /// What was checked (Chinese).
    pub name: String,
    /// `Some(true)` 通过, `Some(false)` 不通过, `None` 未核对.
    pub passed: Option<bool>,
    /// What was found.
    pub detail: String,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SealCheck {
    /// 电子印章 or 电子签章.
    pub what: String,
    /// The standard's edition, when recognised.
    pub edition: String,
    /// The seal's esID, when it could be read.
    pub es_id: Option<String>,
    /// 印章名称, when it could be read.
    pub seal_name: Option<String>,
    /// The steps, in the standard's order.
    pub steps: Vec<CheckStep>,
}

impl SealCheck {
    /// Whether every step that ran passed and at least one ran.
    pub fn ok(&self) -> bool {
        self.steps.iter().any(|s| s.passed == Some(true))
            && self.steps.iter().all(|s| s.passed != Some(false))
    }
}

/// The seal verifier with the hall's trust (its CA chain and seal-maker certificate).
pub trait SealChecker: Send + Sync {
    /// Checks `file` (a seal, or a signature with the signed `document` when given).
    fn check(&self, file: &[u8], document: Option<&[u8]>) -> SealCheck;
}

/// A seal's status as the hall records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealStatus {
    /// Made by this hall and not revoked.
    Valid,
    /// Revoked (its unit certificate was).
    Revoked,
    /// Not a seal this hall made (or not made yet).
    Unknown,
}

impl SealStatus {
    /// API name.
    pub fn key(self) -> &'static str {
        match self {
            SealStatus::Valid => "valid",
            SealStatus::Revoked => "revoked",
            SealStatus::Unknown => "unknown",
        }
    }
    /// What pages say.
    pub fn label(self) -> &'static str {
        match self {
            SealStatus::Valid => "有效",
            SealStatus::Revoked => "已注销",
            SealStatus::Unknown => "未知(非本网厅制作的印章)",
        }
    }
}

/// The public seal services.
#[derive(Clone)]
pub struct Seals {
    pub(crate) store: Arc<dyn SealStore>,
    pub(crate) checker: Option<Arc<dyn SealChecker>>,
}

/// An esID as typed: printable ASCII, 1–64 characters.
fn check_es_id(es_id: &str) -> AppResult<&str> {
    let t = es_id.trim();
    if t.is_empty() || t.len() > 64 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid(
            "es_id",
            "印章编码应为1–64位字母、数字或符号",
        ));
    }
    Ok(t)
}

impl Seals {
    /// The status of the seal `es_id`.
    pub async fn status(&self, es_id: &str) -> AppResult<SealStatus> {
        let es_id = check_es_id(es_id)?;
        Ok(match self.store.seal_by_es_id(es_id).await? {
            Some(l) if l.status == "revoked" => SealStatus::Revoked,
            Some(l) if l.status == "made" => SealStatus::Valid,
            _ => SealStatus::Unknown,
        })
    }

    /// Checks an uploaded seal or signature; the last step is the hall's record of the seal.
    /// Oversized or empty files are refused beside their field.
    pub async fn check(&self, file: &[u8], document: Option<&[u8]>) -> AppResult<SealCheck> {
        let Some(checker) = &self.checker else {
            return Err(AppError::Conflict(
                "本网厅未配置CA,暂不能核验电子印章".into(),
            ));
        };
        if file.is_empty() {
            return Err(AppError::invalid("file", "请选择电子印章或电子签章文件"));
        }
        if file.len() > MAX_SEAL_BYTES {
            return Err(AppError::invalid(
                "file",
                format!(
                    "文件过大({} KB):电子印章或签章文件不超过{} KB",
                    file.len() / 1024,
                    MAX_SEAL_BYTES / 1024
                ),
            ));
        }
        if document.is_some_and(|d| d.len() > MAX_DOCUMENT_BYTES) {
            return Err(AppError::invalid(
                "document",
                format!("原文不超过{} MB", MAX_DOCUMENT_BYTES >> 20),
            ));
        }
        let mut c = checker.check(file, document);
        if let Some(es_id) = c.es_id.clone() {
            let st = match check_es_id(&es_id) {
                Ok(_) => self.status(&es_id).await?,
                Err(_) => SealStatus::Unknown,
            };
            c.steps.push(CheckStep {
                name: "印章状态(本网厅记录)".into(),
                passed: match st {
                    SealStatus::Valid => Some(true),
                    SealStatus::Revoked => Some(false),
                    SealStatus::Unknown => None,
                },
                detail: st.label().into(),
            });
        }
        Ok(c)
    }
}
