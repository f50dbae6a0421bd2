//! What the blob sweep must never delete, on SQLite and on PostgreSQL: the uploads of every
//! order's draft (whatever its state) and the identity photos of every attempt; and the file
//! blobs' listing with the injected clock's time.

use crate::common::*;
use app::blobs::Blobs;
use app::clock::{Clock, ManualClock};
use app::identity::IdentityStore;
use app::orders::OrderStore;
use domain::order::{Draft, OrderState, UploadRef};
use domain::Date;
use std::collections::HashSet;
use std::sync::Arc;
use store::{FileBlobs, SqlStore};

on_both!(references_cover_every_draft_and_every_identity_photo);

fn with_uploads(blobs: &[(&str, &str)]) -> Draft {
    let mut d = Draft::default();
    for (kind, blob) in blobs {
        d.uploads.insert(
            (*kind).into(),
            UploadRef {
                blob: (*blob).into(),
                mime: "image/png".into(),
                size: 1,
                sha256: "0".repeat(64),
                at: T,
            },
        );
    }
    d
}

async fn references_cover_every_draft_and_every_identity_photo(s: SqlStore) {
    assert!(s.referenced_blobs().await.unwrap().is_empty());
    let u = user(&s, "13800138000").await;
    let day = Date::new(2026, 11, 23).unwrap();
    let a = s
        .create_order(
            u,
            day,
            &with_uploads(&[("letter", "a1"), ("license", "a2")]),
            &ev("创建"),
        )
        .await
        .unwrap();
    let b = s
        .create_order(u, day, &with_uploads(&[("letter", "b1")]), &ev("创建"))
        .await
        .unwrap();
    // A cancelled order keeps its files (they are evidence until deleted on purpose).
    assert!(save_at(&s, &b, OrderState::Cancelled, &b.draft, T, "取消").await);
    let mut first = s
        .new_attempt(a.id, "h1", "token-1", T, T + 600_000)
        .await
        .unwrap();
    first.front_blob = Some("f1".into());
    first.back_blob = Some("k1".into());
    assert!(s.update_attempt(&first).await.unwrap());
    // A newer attempt supersedes the first; the first one's photos are still referred to.
    let mut second = s
        .new_attempt(a.id, "h2", "token-2", T, T + 600_000)
        .await
        .unwrap();
    second.front_blob = Some("f2".into());
    assert!(s.update_attempt(&second).await.unwrap());
    let want: HashSet<String> = ["a1", "a2", "b1", "f1", "k1", "f2"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(s.referenced_blobs().await.unwrap(), want);
}

#[tokio::test]
async fn file_blobs_are_listed_with_the_injected_clocks_time() {
    let dir = std::env::temp_dir().join(format!(
        "certhall-blobs-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let clock = Arc::new(ManualClock::new(T));
    let b = FileBlobs::new(dir.clone(), store::Vault::random())
        .unwrap()
        .with_clock(clock.clone());
    let x = b.put(b"x".to_vec()).await.unwrap();
    clock.advance(3_600_000);
    let y = b.put(b"y".to_vec()).await.unwrap();
    // Debris that is not a blob is never listed (so never swept).
    std::fs::write(dir.join("README"), "not a blob").unwrap();
    std::fs::write(dir.join(&y[..2]).join("notes.txt"), "not a blob").unwrap();
    let mut got: Vec<_> = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.stored_at))
        .collect();
    got.sort_by_key(|g| g.1);
    assert_eq!(got, vec![(x, T), (y.clone(), clock.now())]);
    b.delete(&y).await.unwrap();
    assert_eq!(b.list().await.unwrap().len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}
