//! The CA's public endpoints: full CRLs at `GET /crl/<issuer>.crl`, CA certificates at
//! `GET /ca/<issuer>.cer` (the AIA caIssuers link), and the RFC 6960 OCSP responder at
//! `POST /ocsp` (body `application/ocsp-request`) and `GET /ocsp/<base64 request>`
//! (RFC 6960 Appendix A.1). The web crate knows bytes only; the CA behind [`PkiPublisher`]
//! parses, looks up and signs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Largest OCSP request body accepted (requests are a few hundred bytes).
pub const MAX_OCSP_BODY: usize = 8 * 1024;

/// A boxed future, so the trait stays object-safe without a macro.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the routes need from the CA.
pub trait PkiPublisher: Send + Sync + 'static {
    /// Answer a DER OCSP request with a DER OCSP response (errors are OCSP error responses).
    fn ocsp<'a>(&'a self, request: &'a [u8]) -> BoxFut<'a, Vec<u8>>;
    /// Decode the GET form of a request (the path after `/ocsp/`); `None` if malformed.
    fn decode_get(&self, path: &str) -> Option<Vec<u8>>;
    /// The newest CRL of `issuer` (DER).
    fn crl<'a>(&'a self, issuer: &'a str) -> BoxFut<'a, Option<Vec<u8>>>;
    /// The CA certificate of `issuer` (DER).
    fn ca_cert(&self, issuer: &str) -> Option<Vec<u8>>;
    /// A DER OCSP `malformedRequest` response.
    fn malformed(&self) -> Vec<u8>;
    /// Seconds relying parties may cache a GET response (RFC 5019 §6).
    fn max_age(&self) -> u64 {
        3600
    }
}

fn der(body: Vec<u8>, mime: &'static str, max_age: u64) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
        ],
        body,
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

fn label_of<'a>(file: &'a str, ext: &str) -> Option<&'a str> {
    let l = file.strip_suffix(ext)?;
    (!l.is_empty()
        && l.len() <= 32
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    .then_some(l)
}

async fn crl(State(p): State<Arc<dyn PkiPublisher>>, Path(file): Path<String>) -> Response {
    let Some(label) = label_of(&file, ".crl") else {
        return not_found();
    };
    match p.crl(label).await {
        Some(b) => der(b, "application/pkix-crl", 300),
        None => not_found(),
    }
}

async fn ca_cert(State(p): State<Arc<dyn PkiPublisher>>, Path(file): Path<String>) -> Response {
    let Some(label) = label_of(&file, ".cer") else {
        return not_found();
    };
    match p.ca_cert(label) {
        Some(b) => der(b, "application/pkix-cert", 86400),
        None => not_found(),
    }
}

async fn ocsp_post(
    State(p): State<Arc<dyn PkiPublisher>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if body.len() > MAX_OCSP_BODY || !(ct.is_empty() || ct.starts_with("application/ocsp-request"))
    {
        return der(p.malformed(), "application/ocsp-response", 0);
    }
    der(p.ocsp(&body).await, "application/ocsp-response", 0)
}

async fn ocsp_get(State(p): State<Arc<dyn PkiPublisher>>, Path(req): Path<String>) -> Response {
    let max_age = p.max_age();
    match p.decode_get(&req) {
        Some(d) => der(p.ocsp(&d).await, "application/ocsp-response", max_age),
        None => der(p.malformed(), "application/ocsp-response", 0),
    }
}

/// The CA's routes, to merge into the hall's router (`web::router(state, Some(pki_router(…)))`).
pub fn pki_router(publisher: Arc<dyn PkiPublisher>) -> Router {
    Router::new()
        .route("/crl/{file}", get(crl))
        .route("/ca/{file}", get(ca_cert))
        .route("/ocsp", axum::routing::post(ocsp_post))
        .route("/ocsp/{*req}", get(ocsp_get))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_OCSP_BODY))
        .with_state(publisher)
}
