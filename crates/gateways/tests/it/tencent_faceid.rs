//! Tencent FaceID alone against the local fake (`fake_faceid`), which checks TC3 signatures:
//! a liveness session opened and its result read, the provider down or hanging (unavailable,
//! so the hall can retry), a wrong secret refused, and the carrier's three elements.

use crate::fake_faceid::{self, Mode, ID_CARD, KEY};
use app::identity::LivenessRequest;
use app::GatewayError;
use gateways::identity::IdentityProviders;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn providers(endpoint: &str, secret_key: &str) -> IdentityProviders {
    let cfg: gateways::identity::IdentityProviderConfig = serde_json::from_value(serde_json::json!({
        "provider": "tencent",
        "carrier_provider": "tencent",
        "tencent": {"endpoint": endpoint, "secret_id": "AKIDtest", "secret_key": secret_key, "rule_id": "7", "timeout_ms": 800}
    }))
    .unwrap();
    gateways::identity::build(&cfg).unwrap()
}

fn person() -> LivenessRequest {
    LivenessRequest {
        name: "张三".into(),
        id_number: ID_CARD.into(),
        redirect_url: "https://hall.example/m/identity/XB20261123000001/liveness/done".into(),
        redirect_path: "/m/identity/XB20261123000001/liveness/done".into(),
    }
}

#[tokio::test]
async fn a_liveness_session_is_opened_and_its_result_read() {
    let mode = Arc::new(Mode::default());
    let idp = providers(&fake_faceid::start(mode.clone()).await, KEY);
    assert_eq!(idp.check.name(), "tencent");
    let s = idp.check.start(&person()).await.unwrap();
    assert_eq!(
        (s.url.as_str(), s.biz_token.as_str()),
        ("https://h5.faceid.example/auth?t=BT-1", "BT-1")
    );
    let o = idp.check.outcome(&s.biz_token, &person()).await.unwrap();
    assert!(o.passed, "{o:?}");
    assert_eq!(o.provider_ref, "r-info");
    assert_eq!(mode.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        mode.bad_signatures.load(Ordering::SeqCst),
        0,
        "signed as Tencent checks"
    );
}

#[tokio::test]
async fn down_or_hanging_is_unavailable_and_then_passes() {
    let mode = Arc::new(Mode::default());
    let idp = providers(&fake_faceid::start(mode.clone()).await, KEY);
    for (m, what) in [(1, "503"), (2, "hang past the timeout")] {
        mode.detect_info.store(m, Ordering::SeqCst);
        let e = idp.check.outcome("BT-1", &person()).await.unwrap_err();
        assert!(matches!(e, GatewayError::Unavailable(_)), "{what}: {e:?}");
    }
    mode.detect_info.store(0, Ordering::SeqCst);
    assert!(idp.check.outcome("BT-1", &person()).await.unwrap().passed);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_server() {
    let mode = Arc::new(Mode::default());
    let idp = providers(&fake_faceid::start(mode.clone()).await, "not-the-secret");
    assert!(idp.check.start(&person()).await.is_err());
    assert_eq!(mode.bad_signatures.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_carrier_matches_or_not_per_number() {
    let mode = Arc::new(Mode::default());
    mode.fail_carrier.store(1, Ordering::SeqCst);
    let idp = providers(&fake_faceid::start(mode.clone()).await, KEY);
    let ok = idp
        .carrier
        .check("张三", ID_CARD, "13700137000")
        .await
        .unwrap();
    assert!(ok.matched);
    assert_eq!(ok.provider_ref, "r-phone-13700137000");
    let no = idp
        .carrier
        .check("申请人2", ID_CARD, "13700137001")
        .await
        .unwrap();
    assert!(!no.matched && !no.unsupported_number);
    // 该号段不支持验证 (-13) is an answer, final for the number, not an outage to retry.
    let range = idp
        .carrier
        .check("张三", ID_CARD, fake_faceid::UNSUPPORTED_PHONE)
        .await
        .unwrap();
    assert!(!range.matched && range.unsupported_number);
    assert_eq!(mode.bad_signatures.load(Ordering::SeqCst), 0);
}
