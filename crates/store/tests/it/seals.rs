//! [`app::desk::SealStore`] (issue 20) on both databases: an order's seal is reserved once
//! (the first esID wins, also when many reserve at once), stored once, found by esID, and
//! revoked with the signing certificate it binds.

use crate::common::{new_order, T};
use app::desk::SealStore;
use domain::order::Draft;
use store::SqlStore;

on_both!(
    a_seal_is_reserved_and_made_once,
    revoking_the_certificate_revokes_the_seal,
);

async fn a_seal_is_reserved_and_made_once(s: SqlStore) {
    let o = new_order(&s, &Draft::default()).await;
    assert_eq!(s.seal_of(o.id).await.unwrap(), None);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.reserve_seal(o.id, &format!("ES{i}"), "0A", T)
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().es_id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one reservation wins: {ids:?}");
    let l = s.reserve_seal(o.id, "OTHER", "0A", T).await.unwrap();
    assert_eq!(
        (l.es_id.as_str(), l.status.as_str()),
        (ids[0].as_str(), "making")
    );
    assert!(s.seal_made(o.id, b"der-1", T + 1).await.unwrap());
    assert!(
        !s.seal_made(o.id, b"der-2", T + 2).await.unwrap(),
        "stored once"
    );
    let got = s.seal_by_es_id(&ids[0]).await.unwrap().unwrap();
    assert_eq!(got.der.as_deref(), Some(&b"der-1"[..]));
    assert_eq!((got.status.as_str(), got.made_at), ("made", Some(T + 1)));
    assert_eq!(s.seal_by_es_id("UNKNOWN").await.unwrap(), None);
}

async fn revoking_the_certificate_revokes_the_seal(s: SqlStore) {
    let o = new_order(&s, &Draft::default()).await;
    let l = s.reserve_seal(o.id, "ES-R", "0B", T).await.unwrap();
    s.seal_made(o.id, b"der", T).await.unwrap();
    assert_eq!(s.revoke_seals_of("0C", T + 5).await.unwrap(), 0);
    assert_eq!(s.revoke_seals_of("0B", T + 5).await.unwrap(), 1);
    assert_eq!(s.revoke_seals_of("0B", T + 6).await.unwrap(), 0, "once");
    let got = s.seal_by_es_id(&l.es_id).await.unwrap().unwrap();
    assert_eq!(
        (got.status.as_str(), got.revoked_at),
        ("revoked", Some(T + 5))
    );
}
