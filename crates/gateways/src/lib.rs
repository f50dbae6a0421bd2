//! External providers behind certhall's ports: a sandbox provider of each port (the default
//! install, fully working and inspectable by staff) and real providers behind the same trait,
//! each chosen by a name in configuration.

pub mod courier;
pub mod identity;
pub mod invoicing;
pub mod payments;
pub mod sms;
pub mod tc3;

/// The `User-Agent` every provider request carries (WeChat Pay's API v3 documentation says
/// requests without one are likely to be refused; the others log it).
pub const USER_AGENT: &str = concat!("certhall/", env!("CARGO_PKG_VERSION"), " (reqwest)");

/// The HTTP client builder every provider starts from: our `User-Agent`, no redirects
/// followed (a provider that answers with a redirect is answering something else), and the
/// given timeout for the whole request.
pub fn http_client(timeout: std::time::Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
}

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
