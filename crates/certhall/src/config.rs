//! Configuration: built-in defaults → the file given by `--config` → `CERTHALL_…` environment
//! variables. Unknown keys in the file are an error at start, so a typo never goes unnoticed.

use anyhow::{Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[database]`.
    pub database: DatabaseConfig,
    /// `[brand]`: name and contacts on every page.
    pub brand: web::Brand,
    /// `[auth]`: codes, passwords, sessions.
    pub auth: app::policy::AuthPolicy,
    /// `[sms]`: provider.
    pub sms: Option<gateways::sms::SmsProviderConfig>,
    /// `[sms_templates]`: texts by template name (override the built-in ones).
    pub sms_templates: std::collections::BTreeMap<String, String>,
    /// `[secrets]`.
    pub secrets: SecretsConfig,
    /// `[catalogue]`: projects, prices and the service agreement.
    pub catalogue: CatalogueConfig,
    /// `[identity]`: 经办人在线认证 providers and limits.
    pub identity: gateways::identity::IdentityProviderConfig,
    /// Review, production and delivery settings (`[desk]`).
    pub desk: app::desk::DeskConfig,
    /// `[courier]`: who posts the USB keys (sandbox or 顺丰).
    pub courier: gateways::courier::CourierConfig,
    /// `[payments]`: gateways, micro-deposits, the receiving account.
    pub payments: gateways::payments::PaymentsConfig,
}

/// `[catalogue]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogueConfig {
    /// A catalogue TOML file replacing the built-in one (same shape as
    /// `crates/domain/data/catalogue.toml`); empty means the built-in catalogue.
    pub file: String,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Mark cookies Secure (set when served over https).
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` (only behind your own proxy).
    pub trust_proxy: bool,
    /// Largest form or JSON body in bytes.
    pub max_body_bytes: usize,
    /// Largest upload request in bytes (each file is also limited by its handler).
    pub max_upload_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            secure_cookies: false,
            trust_proxy: false,
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 10 * 1024 * 1024 + 64 * 1024,
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://DATA/certhall.db`.
    pub url: String,
}

/// `[secrets]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// File with the field-encryption, lookup-hash and code keys; empty means
    /// `DATA/keys.toml`, created on first start. Every node of one hall needs the same file.
    pub keys_file: String,
}

impl Config {
    /// Loads the file (if any) and applies the environment.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str::<Config>(&text)
                    .with_context(|| format!("config file {} is invalid", path.display()))?
            }
            None => Config::default(),
        };
        if let Ok(url) = std::env::var("CERTHALL_DATABASE_URL") {
            cfg.database.url = url;
        }
        if let Ok(listen) = std::env::var("CERTHALL_LISTEN") {
            cfg.server.listen = listen;
        }
        if let Ok(p) = std::env::var("CERTHALL_SMS_PROVIDER") {
            let mut sms: gateways::sms::SmsProviderConfig =
                toml::from_str("").context("sms defaults")?;
            if let Some(existing) = cfg.sms.take() {
                sms = existing;
            }
            sms.provider = p;
            cfg.sms = Some(sms);
        }
        Ok(cfg)
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self, data: &Path) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", data.join("certhall.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// The keys file path.
    pub fn keys_file(&self, data: &Path) -> PathBuf {
        if self.secrets.keys_file.is_empty() {
            data.join("keys.toml")
        } else {
            PathBuf::from(&self.secrets.keys_file)
        }
    }

    /// The catalogue: the configured file, or the one shipped with the binary.
    pub fn catalogue(&self) -> Result<domain::Catalogue> {
        if self.catalogue.file.is_empty() {
            return domain::Catalogue::builtin().map_err(|e| anyhow::anyhow!("{e}"));
        }
        let text = std::fs::read_to_string(&self.catalogue.file)
            .with_context(|| format!("cannot read catalogue file {}", self.catalogue.file))?;
        domain::Catalogue::from_toml(&text)
            .map_err(|e| anyhow::anyhow!("catalogue file {}: {e}", self.catalogue.file))
    }

    /// The SMS templates: built-in ones with the configured ones on top.
    pub fn templates(&self) -> app::policy::SmsTemplates {
        let mut t = app::policy::SmsTemplates::default();
        for (k, v) in &self.sms_templates {
            t.0.insert(k.clone(), v.clone());
        }
        t
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_renewal_window_is_configured_under_desk() {
        let c: super::Config =
            toml::from_str("[desk.renewal]\nbefore_days = 60\nafter_days = 30\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.desk.renewal.before_days, 60);
        assert_eq!(c.desk.renewal.after_days, 30);
        let d: super::Config = toml::from_str("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.desk.renewal, domain::renewal::RenewalWindow::default());
        assert!(toml::from_str::<super::Config>("[desk.renewal]\nbefore = 1\n").is_err());
    }
}
