//! A local stand-in for Tencent Cloud FaceID (API 2018-03-01): it checks every request's TC3
//! signature, content type and version the way Tencent does, and answers `DetectAuth`,
//! `GetDetectInfoEnhanced` and `PhoneVerification` — or fails on demand ([`Mode`]). The
//! identity provider's own tests use it, and certhall's hall tests include this file by path
//! (`#[path]`).

#![allow(dead_code)] // each including binary uses part of it

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The ID number `DetectAuth` must carry: the test applicant's (certhall's
/// `support::applicant::ID`).
pub const ID_CARD: &str = "11010519491231002X";

/// A number whose range `PhoneVerification` does not support (`Result` "-13").
pub const UNSUPPORTED_PHONE: &str = "17000000013";

/// The secret key the server knows for `AKIDtest`.
pub const KEY: &str = "faceid-test-secret";

/// How the server behaves, and what it saw.
#[derive(Default)]
pub struct Mode {
    /// `GetDetectInfoEnhanced`: 0 = answer, 1 = 503, 2 = hang past the client's timeout.
    pub detect_info: AtomicUsize,
    /// Requests received.
    pub calls: AtomicUsize,
    /// Requests whose TC3 signature, content type or version was wrong.
    pub bad_signatures: AtomicUsize,
    /// 1: the carrier's record of 13700137001 does not match.
    pub fail_carrier: AtomicUsize,
}

/// Starts the server; its endpoint URL.
pub async fn start(mode: Arc<Mode>) -> String {
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let mode = mode.clone();
            async move { handle(&mode, &headers, &body).await }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    base
}

async fn handle(mode: &Mode, h: &HeaderMap, body: &[u8]) -> axum::response::Response {
    mode.calls.fetch_add(1, Ordering::SeqCst);
    let hv = |k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let ts: i64 = hv("x-tc-timestamp").parse().unwrap_or(0);
    let expected =
        gateways::sms::tc3_authorization("AKIDtest", KEY, "faceid", &hv("host"), ts, body);
    if hv("authorization") != expected
        || hv("content-type") != gateways::sms::CONTENT_TYPE
        || hv("x-tc-version") != "2018-03-01"
    {
        mode.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return axum::Json(serde_json::json!({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}, "RequestId": "r-bad"}})).into_response();
    }
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    match hv("x-tc-action").as_str() {
        "DetectAuth" => {
            assert_eq!(v["RuleId"], "7");
            assert!(v["RedirectUrl"]
                .as_str()
                .unwrap()
                .ends_with("/liveness/done"));
            assert_eq!(v["IdCard"], ID_CARD);
            axum::Json(serde_json::json!({"Response": {"Url": "https://h5.faceid.example/auth?t=BT-1", "BizToken": "BT-1", "RequestId": "r-detect"}})).into_response()
        }
        "GetDetectInfoEnhanced" => {
            assert_eq!(v["BizToken"], "BT-1");
            // The text result only: ID card images, best frames and video are never asked for.
            if v["InfoType"] != "1" {
                return axum::Json(serde_json::json!({"Response": {"Text": {"ErrCode": 0}, "IdCardData": {"OcrFront": "base64-image"}, "BestFrame": {"BestFrame": "base64-image"}, "VideoData": {"LivenessVideo": "base64-video"}, "RequestId": "r-info-all"}})).into_response();
            }
            match mode.detect_info.load(Ordering::SeqCst) {
                1 => (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
                2 => {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    (StatusCode::OK, "late").into_response()
                }
                _ => axum::Json(serde_json::json!({"Response": {"Text": {"ErrCode": 0, "ErrMsg": "成功"}, "RequestId": "r-info"}})).into_response(),
            }
        }
        "PhoneVerification" => {
            let ok = v["Phone"] != "13700137001" || mode.fail_carrier.load(Ordering::SeqCst) == 0;
            // A range the carriers' real-name service does not cover (virtual operators).
            let result = if v["Phone"] == UNSUPPORTED_PHONE {
                "-13"
            } else if ok {
                "0"
            } else {
                "-4"
            };
            axum::Json(serde_json::json!({"Response": {"Result": result, "Description": "x", "RequestId": format!("r-phone-{}", v["Phone"].as_str().unwrap_or(""))}})).into_response()
        }
        _ => axum::Json(
            serde_json::json!({"Response": {"Error": {"Code": "InvalidAction"}, "RequestId": "r"}}),
        )
        .into_response(),
    }
}
