//! `certhall bench pki`: SM2 sign/verify per second, end-to-end issuance per second with
//! durable storage (SQLite, synchronous=FULL), pre-signed OCSP responses per second, CRL
//! generation time for 100k and 1M entries, and `openssl speed -seconds 3 sm2` in the same
//! run with our/OpenSSL ratios. Every figure is the median of `--runs` runs, one thread.
//! Issuance goes through `ca::Ca::issue`, the pipeline the CLI and production call.

use crate::hall_ca::HallClock;
use anyhow::{anyhow, Context, Result};
use ca::pki::crl::{build_crl, Reason, RevokedEntry};
use ca::pki::issue::CaNames;
use ca::pki::ocsp::{CertState, Responder, StatusLookup};
use ca::pki::{self as pki, CertType, IssueRequest, SubjectData, Usage};
use ca::{Ca, MemoryStorage};
use clap::{Args, Subcommand};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `certhall bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// The CA: signatures, issuance, OCSP, CRLs, and OpenSSL for comparison.
    Pki(PkiBenchArgs),
}

/// Options of `bench pki`.
#[derive(Debug, Args)]
pub struct PkiBenchArgs {
    /// Seconds per timed measurement.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Certificates per durable batch (one transaction for the records, one for the
    /// certificates). The bench also reports batches of 64 and of 1.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Skip the 1M-entry CRL (takes a while and ~1 GB of memory).
    #[arg(long)]
    pub skip_1m: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn rate(seconds: f64, mut f: impl FnMut() -> Result<usize>) -> Result<f64> {
    let start = Instant::now();
    let limit = Duration::from_secs_f64(seconds);
    let mut n = 0usize;
    while start.elapsed() < limit {
        n += f()?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn runs(label: &str, k: usize, mut f: impl FnMut() -> Result<f64>) -> Result<f64> {
    let mut v = Vec::with_capacity(k);
    for _ in 0..k {
        v.push(f()?);
    }
    let m = median(v.clone());
    let all: Vec<String> = v.iter().map(|x| format!("{x:.0}")).collect();
    println!("  {label:<44} {m:>12.0}   (runs: {})", all.join(", "));
    Ok(m)
}

/// (sign/s, verify/s) from `openssl speed -seconds N sm2`.
fn openssl_speed(seconds: u32) -> Result<(f64, f64, String)> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "sm2"])
        .output()
        .context("cannot run openssl (apt-get install openssl)")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    for line in text.lines() {
        if line.contains("SM2") && line.contains("bits") {
            let nums: Vec<f64> = line
                .split_whitespace()
                .filter_map(|w| w.trim_end_matches('s').parse::<f64>().ok())
                .collect();
            if nums.len() >= 2 {
                return Ok((
                    nums[nums.len() - 2],
                    nums[nums.len() - 1],
                    line.trim().to_string(),
                ));
            }
        }
    }
    Err(anyhow!(
        "could not read openssl speed output: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    ))
}

struct AllGood;
impl StatusLookup for AllGood {
    fn status(&self, _: &[u8]) -> CertState {
        CertState::Good
    }
}

/// Run `bench pki` on the hall's clock.
pub async fn run_pki(a: PkiBenchArgs, clock: Arc<dyn app::clock::Clock>) -> Result<()> {
    let k = a.runs.max(1);
    println!(
        "certhall bench pki — one thread, {:.1} s per measurement, median of {k} runs",
        a.seconds
    );
    println!(
        "machine: {} logical CPUs (shared)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // A fresh CA in a temporary directory, with a durable SQLite database.
    let tmp = std::env::temp_dir().join(format!(
        "certhall-bench-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::create_dir_all(tmp.join("ca"))?;
    let mut rng = rand::rngs::OsRng;
    let clock = Arc::new(HallClock(clock));
    let now = ca::clock::whole_seconds(ca::Clock::now(clock.as_ref()));
    let names = CaNames {
        root_cn: "bench root".into(),
        issuing_cn: "bench issuing".into(),
        org: "bench".into(),
        root_years: 20,
        issuing_years: 10,
    };
    let db = store::Db::connect(&format!(
        "sqlite://{}?mode=rwc",
        tmp.join("bench.db").display()
    ))
    .await
    .map_err(|e| anyhow!("{e}"))?;
    db.migrate(0).await.map_err(|e| anyhow!("{e}"))?;
    let ca = Ca::in_memory(
        &names,
        Arc::new(store::ca::CaStore::new(db, store::Vault::random())),
        clock.clone(),
    )?;
    let issuing = ca.files().issuing.clone();
    let signer = ca.signer();

    println!("\nSM2 (SM3withSM2, signer ID 1234567812345678), 1 KB messages:");
    let msg = vec![0x5au8; 1024];
    let sig = signer.sign(&msg)?;
    let pk = *signer.public_key();
    let ours_sign = runs("our sign/s", k, || {
        rate(a.seconds, || {
            signer.sign(&msg).map(|_| 1).map_err(Into::into)
        })
    })?;
    let ours_verify = runs("our verify/s", k, || {
        rate(a.seconds, || {
            pki::signer::verify(&pk, &msg, &sig)
                .map(|_| 1)
                .map_err(Into::into)
        })
    })?;

    println!("\nopenssl speed -seconds 3 sm2 (same invocation):");
    let mut os_sign = Vec::new();
    let mut os_verify = Vec::new();
    for _ in 0..k {
        let (s, v, line) = openssl_speed(3)?;
        println!("  {line}");
        os_sign.push(s);
        os_verify.push(v);
    }
    let (os_s, os_v) = (median(os_sign), median(os_verify));
    println!("  openssl sign/s {os_s:.0}, verify/s {os_v:.0} (medians)");
    println!(
        "  ratio ours/openssl: sign {:.2}x, verify {:.2}x",
        ours_sign / os_s,
        ours_verify / os_v
    );

    // End-to-end issuance: CSR parse + PoP, profile, TBS, lint, durable record, sign, durable store.
    println!("\nEnd-to-end issuance (CSR check, profile, lint, durable record → sign → durable store; SQLite synchronous=FULL):");
    let csrs: Vec<Vec<u8>> = (0..256)
        .map(|_| {
            pki::csr::make_csr(
                &pki::keys::generate(),
                pki::names::build_name(&[(pki::oid::AT_CN, "bench")])?,
            )
        })
        .collect::<pki::Result<_>>()?;
    let subject = SubjectData::new(
        CertType::Org,
        "深圳市基准测试有限公司",
        domain::CreditCode::parse("91350100M000100Y43")?,
        None,
    )?;
    let mut ci = 0usize;
    runs("CSR checks/s (parse + proof of possession)", k, || {
        rate(a.seconds, || {
            let c = pki::csr::parse_csr(&csrs[ci % csrs.len()])?;
            ci += 1;
            Ok(usize::from(!c.der.is_empty()))
        })
    })?;
    let mem_ca = Ca::in_memory(&names, Arc::new(MemoryStorage::default()), clock.clone())?;
    let mut mi = 0usize;
    let rt = tokio::runtime::Handle::current();
    runs("issuance/s, in-memory storage (no database)", k, || {
        rate(a.seconds, || {
            let c = pki::csr::parse_csr(&csrs[mi % csrs.len()])?;
            mi += 1;
            let r = IssueRequest {
                usage: Usage::Signing,
                subject: subject.clone(),
                public_key: c.public_key,
                years: 1,
            };
            tokio::task::block_in_place(|| rt.block_on(mem_ca.issue(&[r])))?;
            Ok(1)
        })
    })?;
    drop(mem_ca);
    let mut batches = vec![a.batch.max(1), 64, 1];
    batches.dedup();
    for batch in batches {
        let label = format!("certificates/s, batch {batch}");
        let mut i = 0usize;
        runs(&label, k, || {
            let start = Instant::now();
            let mut n = 0usize;
            while start.elapsed() < Duration::from_secs_f64(a.seconds) {
                let mut reqs = Vec::with_capacity(batch);
                for _ in 0..batch {
                    let c = pki::csr::parse_csr(&csrs[i % csrs.len()])?;
                    i += 1;
                    reqs.push(IssueRequest {
                        usage: Usage::Signing,
                        subject: subject.clone(),
                        public_key: c.public_key,
                        years: 1,
                    });
                }
                let issued = tokio::task::block_in_place(|| rt.block_on(ca.issue(&reqs)))?;
                n += issued.len();
            }
            Ok(n as f64 / start.elapsed().as_secs_f64())
        })?;
    }

    // Pre-signed OCSP: parse the request, find the pre-signed response, return it.
    println!("\nOCSP:");
    let responder = Responder::new(issuing.clone(), ca.signer(), Duration::from_secs(86400))?;
    let serials: Vec<Vec<u8>> = (0..1000)
        .map(|_| pki::issue::random_serial(&mut rng))
        .collect();
    let t = Instant::now();
    for s in &serials {
        responder.presign(s, CertState::Good, now)?;
    }
    println!(
        "  pre-signing 1000 responses took {:.3} s ({:.0}/s)",
        t.elapsed().as_secs_f64(),
        1000.0 / t.elapsed().as_secs_f64()
    );
    let reqs: Vec<Vec<u8>> = serials
        .iter()
        .map(|s| pki::ocsp::make_request(vec![responder.cert_id(s)?], None))
        .collect::<pki::Result<_>>()?;
    let mut j = 0usize;
    runs("pre-signed responses/s (parse + lookup + bytes)", k, || {
        rate(a.seconds, || {
            let r = responder.respond_shared(&reqs[j % reqs.len()], &AllGood, now);
            j += 1;
            Ok(usize::from(!r.is_empty()))
        })
    })?;
    // What one fresh answer with a nonce costs (the responder bounds how many it makes:
    // pki::ocsp::FRESH_SIGNATURES_PER_MINUTE), measured on the signing call itself.
    let nonce_id = responder.cert_id(&serials[0])?;
    let nonce_ext =
        der::Encode::to_der(&der::asn1::OctetString::new(b"0123456789abcdef".to_vec())?)?;
    runs("fresh-signed responses/s (with nonce)", k, || {
        rate(a.seconds, || {
            Ok(usize::from(
                !responder
                    .sign_response(
                        &[(nonce_id.clone(), CertState::Good)],
                        Some(&nonce_ext),
                        now,
                    )?
                    .is_empty(),
            ))
        })
    })?;

    println!("\nCRL generation (build + DER + sign), SQL read not included:");
    let sizes: &[usize] = if a.skip_1m {
        &[100_000]
    } else {
        &[100_000, 1_000_000]
    };
    for &n in sizes {
        let entries: Vec<RevokedEntry> = (0..n)
            .map(|i| RevokedEntry {
                serial: pki::issue::random_serial(&mut rng),
                revoked_at: now,
                reason: if i % 3 == 0 {
                    Reason::KeyCompromise
                } else {
                    Reason::Unspecified
                },
            })
            .collect();
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..k {
            let t = Instant::now();
            let der = build_crl(
                &issuing,
                &signer,
                &entries,
                1,
                now,
                now + Duration::from_secs(86400),
            )?;
            times.push(t.elapsed().as_secs_f64());
            size = der.len();
        }
        let all: Vec<String> = times.iter().map(|x| format!("{x:.3}")).collect();
        println!(
            "  {n:>9} entries: {:.3} s median ({} bytes; runs: {})",
            median(times),
            size,
            all.join(", ")
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("\ntargets: sign ≥ 3x openssl; issuance ≥ 2000/s durable; pre-signed OCSP ≥ 20000/s");
    Ok(())
}

/// Run a `bench` subcommand on the hall's clock.
pub async fn run(what: BenchWhat, clock: Arc<dyn app::clock::Clock>) -> Result<()> {
    match what {
        BenchWhat::Pki(a) => run_pki(a, clock).await,
    }
}
