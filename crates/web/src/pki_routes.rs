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
use std::time::SystemTime;

/// Largest OCSP request body accepted (requests are a few hundred bytes).
pub const MAX_OCSP_BODY: usize = 8 * 1024;

/// What an HTTP cache needs of an OCSP response (RFC 5019 §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspMeta {
    /// thisUpdate: `Last-Modified`.
    pub this_update: SystemTime,
    /// nextUpdate: `Expires`, and `max-age` counts down to it.
    pub next_update: SystemTime,
    /// A hash of the response bytes: `ETag`.
    pub etag: String,
}

/// The DER of `OCSPResponse { responseStatus malformedRequest }` (RFC 6960 §2.3).
pub const MALFORMED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x01];

/// A `malformedRequest` OCSP response, for whatever refuses an OCSP request before it is
/// parsed (the edge's body limit, this router's).
pub fn malformed_response() -> Response {
    der(MALFORMED.to_vec(), "application/ocsp-response", 0)
}

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
    /// thisUpdate, nextUpdate and a hash of a successful response (`None` for errors).
    fn ocsp_meta(&self, response: &[u8]) -> Option<OcspMeta>;
    /// The hall's clock (for `max-age`; web reads no clock of its own).
    fn now(&self) -> SystemTime;
}

/// An HTTP-date (RFC 9110 §5.6.7, IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WD[usize::try_from(days.rem_euclid(7)).unwrap_or(0)],
        day,
        MON[usize::try_from(month - 1).unwrap_or(0)],
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
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
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Past the body limit the extractor refuses: still an OCSP answer (RFC 6960 §2.3).
    let Ok(body) = body else {
        return der(p.malformed(), "application/ocsp-response", 0);
    };
    if body.len() > MAX_OCSP_BODY || !(ct.is_empty() || ct.starts_with("application/ocsp-request"))
    {
        return der(p.malformed(), "application/ocsp-response", 0);
    }
    der(p.ocsp(&body).await, "application/ocsp-response", 0)
}

/// GET answers are cacheable (RFC 5019 §6.2): `Last-Modified` = thisUpdate, `Expires` =
/// nextUpdate, `ETag` = a hash of the response, `max-age` = the seconds left until nextUpdate.
async fn ocsp_get(State(p): State<Arc<dyn PkiPublisher>>, Path(req): Path<String>) -> Response {
    let Some(d) = p.decode_get(&req) else {
        return der(p.malformed(), "application/ocsp-response", 0);
    };
    let body = p.ocsp(&d).await;
    let Some(meta) = p.ocsp_meta(&body) else {
        return der(body, "application/ocsp-response", 0);
    };
    let max_age = meta
        .next_update
        .duration_since(p.now())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (
        [
            (
                header::CONTENT_TYPE,
                "application/ocsp-response".to_string(),
            ),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={max_age}, no-transform, must-revalidate"),
            ),
            (header::LAST_MODIFIED, http_date(meta.this_update)),
            (header::EXPIRES, http_date(meta.next_update)),
            (header::ETAG, format!("\"{}\"", meta.etag)),
        ],
        body,
    )
        .into_response()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn http_dates() {
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(http_date(t(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(t(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(t(1_795_399_200)), "Mon, 23 Nov 2026 02:00:00 GMT");
        assert_eq!(http_date(t(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
