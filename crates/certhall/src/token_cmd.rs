//! `certhall token …`: the software token (`pki::token::SoftToken`) as a command, so a tester
//! can play the USB key by hand against a running hall: make the token, make a request, sign
//! the hall's challenge for a renewal or a claim, and write the station's answer (signing
//! certificate, encryption certificate, enveloped encryption key) into a container.
//!
//! The PIN is read from the environment variable named by `--pin-env` (default
//! `CERTHALL_TOKEN_PIN`), never from the command line, so it is not in the shell history or
//! the process list. Outputs are JSON bodies in the shape the hall's API takes.

use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::Subcommand;
use pki::token::SoftToken;
use std::path::{Path, PathBuf};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `certhall token …`.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a new, empty token file.
    Init {
        /// The token's label.
        #[arg(long, default_value = "certhall soft token")]
        label: String,
    },
    /// List the containers and their certificates' subjects, serials and validity (no PIN).
    Show,
    /// Make a new signing key in a container and print its PKCS#10 request (PEM). Without
    /// `--subject` the subject of the container's current certificate is used (renewal).
    GenCsr {
        /// Container name.
        #[arg(long, default_value = "main")]
        container: String,
        /// Subject (RFC 4514, e.g. "CN=张三,O=某某公司,C=CN"); the CA takes the subject
        /// from the approved order anyway.
        #[arg(long)]
        subject: Option<String>,
        /// Where to write the request (PEM); printed when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sign the hall's challenge with the container's current key over SM3(challenge ‖
    /// DER(CSR)); prints the JSON body of the proof: serial, csr, signature.
    SignChallenge {
        /// Container name.
        #[arg(long, default_value = "main")]
        container: String,
        /// The challenge as the hall gave it (hex).
        #[arg(long)]
        challenge: String,
        /// The request made by `gen-csr` (PEM or DER file).
        #[arg(long)]
        csr: PathBuf,
    },
    /// Write the station's answer (JSON with sign_cert, enc_cert, enc_key_envelope) into a
    /// container; the envelope is opened with the container's new signing key.
    Import {
        /// Container name.
        #[arg(long, default_value = "main")]
        container: String,
        /// The station's JSON answer.
        answer: PathBuf,
    },
    /// Write an encryption key delivered again (kept old key) into its own container; the
    /// envelope is opened with the signing key of `--via`.
    ImportRecovered {
        /// The new container for the old key.
        #[arg(long)]
        container: String,
        /// The container whose signing key the envelope is made to.
        #[arg(long, default_value = "main")]
        via: String,
        /// JSON with enc_cert and enc_key_envelope.
        answer: PathBuf,
    },
}

fn pin(var: &str) -> Result<String> {
    std::env::var(var)
        .with_context(|| format!("set the token PIN in the environment variable {var}"))
}

fn read_token(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read token {}", file.display()))
}

fn save(file: &Path, t: &SoftToken) -> Result<()> {
    let json = t.to_json().map_err(|e| anyhow::anyhow!("{e}"))?;
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}

fn open(file: &Path, pin_env: &str) -> Result<SoftToken> {
    SoftToken::open(&read_token(file)?, &pin(pin_env)?).map_err(|e| anyhow::anyhow!("{e}"))
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str> {
    v.get(name)
        .and_then(|x| x.as_str())
        .with_context(|| format!("the answer has no {name:?}"))
}

/// Serial (hex), subject and validity of a certificate, for `show` and the proof body.
fn describe(pem: &str) -> Result<(String, String, String)> {
    let (cert, _) = pki::token::cert_public_key(pem).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tbs = &cert.tbs_certificate;
    let serial = pki::issue::serial_hex(tbs.serial_number.as_bytes());
    Ok((
        serial,
        tbs.subject.to_string(),
        format!("{} – {}", tbs.validity.not_before, tbs.validity.not_after),
    ))
}

/// Runs one `token` subcommand on `file`.
pub fn run(file: &Path, pin_env: &str, action: TokenAction) -> Result<()> {
    match action {
        TokenAction::Init { label } => {
            if file.exists() {
                bail!("{} exists; a token is not overwritten", file.display());
            }
            let t = SoftToken::new(&label, &pin(pin_env)?).map_err(|e| anyhow::anyhow!("{e}"))?;
            save(file, &t)?;
            println!("token {} made: {}", label, file.display());
        }
        TokenAction::Show => {
            let (label, containers) =
                SoftToken::peek(&read_token(file)?).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("token {label}");
            for c in containers {
                println!("  container {}", c.name);
                for (what, pem) in [("sign", &c.sign_cert), ("enc", &c.enc_cert)] {
                    if let Some(pem) = pem {
                        let (serial, subject, validity) = describe(pem)?;
                        println!("    {what} {serial}  {subject}  {validity}");
                    }
                }
                if c.pending_request {
                    println!("    a new signing key waits for its certificate");
                }
            }
        }
        TokenAction::GenCsr {
            container,
            subject,
            out,
        } => {
            let mut t = open(file, pin_env)?;
            let subject = subject
                .map(|s| s.parse::<x509_cert::name::Name>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("subject: {e}"))?;
            let der = t
                .new_request(&container, subject)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let pem =
                der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            save(file, &t)?;
            match out {
                Some(p) => std::fs::write(&p, pem)
                    .with_context(|| format!("cannot write {}", p.display()))?,
                None => print!("{pem}"),
            }
        }
        TokenAction::SignChallenge {
            container,
            challenge,
            csr,
        } => {
            let t = open(file, pin_env)?;
            let challenge = hex::decode(challenge.trim()).context("the challenge is hex")?;
            let bytes =
                std::fs::read(&csr).with_context(|| format!("cannot read {}", csr.display()))?;
            let checked = pki::csr::parse_csr(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
            let sig = t
                .prove_possession(&container, &challenge, &checked.der)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let info = t
                .containers()
                .into_iter()
                .find(|c| c.name == container)
                .and_then(|c| c.sign_cert)
                .context("the container has no signing certificate")?;
            let (serial, _, _) = describe(&info)?;
            let body = serde_json::json!({
                "serial": serial,
                "csr": B64.encode(&checked.der),
                "signature": B64.encode(sig),
            });
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
        TokenAction::Import { container, answer } => {
            let mut t = open(file, pin_env)?;
            let v: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&answer)
                    .with_context(|| format!("cannot read {}", answer.display()))?,
            )
            .context("the answer is JSON")?;
            let sign = field(&v, "sign_cert")?;
            let enc = match (v.get("enc_cert"), v.get("enc_key_envelope")) {
                (Some(_), Some(_)) => Some((
                    field(&v, "enc_cert")?,
                    B64.decode(field(&v, "enc_key_envelope")?)
                        .context("enc_key_envelope is base64")?,
                )),
                _ => None,
            };
            t.import(
                &container,
                sign,
                enc.as_ref().map(|(p, e)| (*p, e.as_slice())),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            save(file, &t)?;
            let (serial, subject, validity) = describe(sign)?;
            println!("written to {container}: {serial} {subject} {validity}");
        }
        TokenAction::ImportRecovered {
            container,
            via,
            answer,
        } => {
            let mut t = open(file, pin_env)?;
            let v: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&answer)
                    .with_context(|| format!("cannot read {}", answer.display()))?,
            )
            .context("the answer is JSON")?;
            let enc = field(&v, "enc_cert")?;
            let env = B64
                .decode(field(&v, "enc_key_envelope")?)
                .context("enc_key_envelope is base64")?;
            t.import_recovered(&container, &via, enc, &env)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            save(file, &t)?;
            println!("old encryption key written to {container}");
        }
    }
    Ok(())
}
