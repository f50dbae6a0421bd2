//! 业务目录: the projects offered in 证书新办 → 选择应用 (name, 办理指南, sub-options, allowed
//! certificate types, prices) and the service agreement. Data, not code: the built-in file
//! ships with the binary and a hall may load its own.

use crate::money::Money;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The catalogue file shipped with the binary.
pub const BUILTIN: &str = include_str!("../data/catalogue.toml");

/// Why a catalogue file was refused (shown to the operator at start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// Not valid TOML or not the expected shape.
    #[error("业务目录文件格式有误: {0}")]
    Toml(String),
    /// Parsed, but the content is inconsistent.
    #[error("业务目录内容有误: {0}")]
    Content(String),
}

/// A certificate type an order line can be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CertType {
    /// 机构证书: the unit's own certificate.
    Org,
    /// 机构个人证书: a named person of the unit.
    OrgPerson,
}

impl CertType {
    /// The name the guide uses.
    pub fn label(self) -> &'static str {
        match self {
            CertType::Org => "机构证书",
            CertType::OrgPerson => "机构个人证书",
        }
    }
    /// The key used in files and forms.
    pub fn key(self) -> &'static str {
        match self {
            CertType::Org => "org",
            CertType::OrgPerson => "org_person",
        }
    }
}

/// The 电子认证服务协议 the applicant accepts in the first step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Version recorded with each acceptance.
    pub version: String,
    /// Heading.
    pub title: String,
    /// Full text.
    pub text: String,
}

/// A sub-option of a project (the platform the certificate is for).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectOption {
    /// Stable code stored in orders.
    pub code: String,
    /// Text shown to the applicant.
    pub name: String,
}

/// A project (应用) an applicant can choose.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Stable code stored in orders.
    pub code: String,
    /// Name shown to the applicant.
    pub name: String,
    /// 办理指南, shown before 已知悉.
    pub guide: String,
    /// Certificate types this project issues.
    pub cert_types: Vec<CertType>,
    /// Price of one certificate for one year, by type, in fen.
    pub price_per_year_fen: BTreeMap<CertType, i64>,
    /// Price of the electronic seal, in fen.
    pub seal_price_fen: i64,
    /// Sub-options (platforms); at least one.
    #[serde(rename = "option")]
    pub options: Vec<ProjectOption>,
}

impl Project {
    /// The price of one certificate of `t` for one year.
    pub fn price_per_year(&self, t: CertType) -> Option<Money> {
        self.price_per_year_fen.get(&t).map(|f| Money::from_fen(*f))
    }
    /// The sub-option with this code.
    pub fn option(&self, code: &str) -> Option<&ProjectOption> {
        self.options.iter().find(|o| o.code == code)
    }
    /// Whether the project issues certificates of `t`.
    pub fn allows(&self, t: CertType) -> bool {
        self.cert_types.contains(&t)
    }
}

/// The whole catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The service agreement.
    pub agreement: Agreement,
    /// Projects, in the order shown.
    #[serde(rename = "project")]
    pub projects: Vec<Project>,
}

impl Catalogue {
    /// The catalogue shipped with the binary.
    pub fn builtin() -> Result<Self, CatalogueError> {
        Self::from_toml(BUILTIN)
    }

    /// Parses and checks a catalogue file.
    pub fn from_toml(text: &str) -> Result<Self, CatalogueError> {
        let c: Catalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Toml(e.message().to_owned()))?;
        if c.agreement.version.trim().is_empty() {
            return Err(CatalogueError::Content("协议版本不能为空".into()));
        }
        if c.projects.is_empty() {
            return Err(CatalogueError::Content("至少需要一个项目".into()));
        }
        let mut codes = std::collections::BTreeSet::new();
        for p in &c.projects {
            if !codes.insert(p.code.as_str()) {
                return Err(CatalogueError::Content(format!("项目代码 {} 重复", p.code)));
            }
            if p.options.is_empty() {
                return Err(CatalogueError::Content(format!(
                    "项目 {} 没有子选项",
                    p.code
                )));
            }
            if p.cert_types.is_empty() {
                return Err(CatalogueError::Content(format!(
                    "项目 {} 没有证书类型",
                    p.code
                )));
            }
            for t in &p.cert_types {
                match p.price_per_year_fen.get(t) {
                    Some(f) if *f >= 0 => {}
                    _ => {
                        return Err(CatalogueError::Content(format!(
                            "项目 {} 缺少{}的价格",
                            p.code,
                            t.label()
                        )))
                    }
                }
            }
            if p.seal_price_fen < 0 {
                return Err(CatalogueError::Content(format!(
                    "项目 {} 的印章价格为负",
                    p.code
                )));
            }
        }
        Ok(c)
    }

    /// The project with this code.
    pub fn project(&self, code: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ships_the_guide_project() {
        let c = Catalogue::builtin().unwrap();
        let p = c.project("szjt-sm2").unwrap();
        assert_eq!(p.name, "深圳市交易集团招投标平台 SM2");
        assert_eq!(
            p.options[0].name,
            "深圳市交易集团-支持阳光采购平台、深圳智慧政采电子招投标系统(新)等平台"
        );
        assert!(p.allows(CertType::Org) && p.allows(CertType::OrgPerson));
        assert!(p.price_per_year(CertType::Org).unwrap().fen() > 0);
        assert!(c.agreement.text.contains("《隐私保护》"));
        assert!(!c.agreement.version.is_empty());
    }

    #[test]
    fn refuses_inconsistent_files() {
        let no_price = BUILTIN.replace("org_person = 30000", "");
        assert!(matches!(
            Catalogue::from_toml(&no_price),
            Err(CatalogueError::Content(_))
        ));
        assert!(matches!(
            Catalogue::from_toml("[agreement]\nversion = 1"),
            Err(CatalogueError::Toml(_))
        ));
        let unknown = BUILTIN.replace(
            "seal_price_fen = 20000",
            "seal_price_fen = 20000\ncolour = 1",
        );
        assert!(Catalogue::from_toml(&unknown).is_err());
    }
}
