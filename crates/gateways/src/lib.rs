//! External providers behind certhall's ports: a sandbox provider of each port (the default
//! install, fully working and inspectable by staff) and real providers behind the same trait,
//! each chosen by a name in configuration.

pub mod courier;
pub mod identity;
pub mod payments;
pub mod sms;
pub mod tc3;

/// A provider configuration that cannot be used; reported once at start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configured provider name is not one this build knows.
    #[error("{port}.provider = \"{name}\" is not a known provider (known: {known})")]
    UnknownProvider {
        /// The port being configured (`sms`…).
        port: &'static str,
        /// The name found in the configuration.
        name: String,
        /// The names that are accepted, comma separated.
        known: &'static str,
    },
    /// The provider needs its own table (`[sms.tencent]`…) and it is absent.
    #[error("{port}.provider = \"{name}\" needs a [{port}.{name}] table")]
    MissingTable {
        /// The port being configured.
        port: &'static str,
        /// The provider name.
        name: &'static str,
    },
    /// A value is present but unusable; the message names the key.
    #[error("{0}")]
    Invalid(String),
}
