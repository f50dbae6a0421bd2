//! The daily `blobs.sweep` job: a file stored by an upload whose record was never saved (a
//! crash between the two) is deleted once it is a day old; files some order or attempt
//! refers to, and any file younger than a day, are never touched. Time is the hall's
//! injected clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::blobs::{SweepReport, SWEEP};
use app::clock::{DAY, MINUTE};
use app::model::JobStatus;
use certhall::testing::storage::*;
use certhall::testing::{Backend, TestHall};
use reqwest::StatusCode;
use support::applicant::submitted_order;

#[tokio::test]
async fn orphaned_files_are_swept_after_a_day_and_referenced_ones_never() {
    let hall = TestHall::start(Backend::Sqlite).await;
    let (b, no) = submitted_order(&hall, "13800138021").await;
    // What the applicant previews is still there after the sweeps below.
    let preview = |kind: &'static str| {
        let (c, url) = (
            b.c.clone(),
            format!("{}/orders/{no}/uploads/{kind}", b.base),
        );
        async move { c.get(url).send().await.unwrap().status() }
    };
    let kinds = [
        "letter",
        "license",
        "person_id_0",
        "person_id_1",
        "seal_form",
    ];
    // The crash: a file stored, its record never saved.
    let orphan = hall.blobs.put(b"orphan".to_vec()).await.unwrap();

    // Queued once at start, however often `serve` starts.
    hall.app.jobs().schedule_blob_sweep().await.unwrap();
    hall.app.jobs().schedule_blob_sweep().await.unwrap();
    let queued = |hall: &certhall::testing::TestHall| {
        let store = hall.store.clone();
        async move {
            store
                .list_jobs(Some(JobStatus::Pending), 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|j| j.kind == SWEEP)
                .map(|j| j.run_at)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(queued(&hall).await.len(), 1);
    assert_eq!(preview("letter").await, StatusCode::OK);
    let t0 = app::clock::Clock::now(&*hall.clock);
    hall.drain().await;
    assert!(hall.blobs.get(&orphan).await.is_ok(), "too young");
    assert_eq!(queued(&hall).await, vec![t0 + DAY], "next run a day later");

    // A minute short of a day: still kept.
    hall.clock.advance(DAY - MINUTE);
    let late = hall.blobs.put(b"late orphan".to_vec()).await.unwrap();
    assert_eq!(
        hall.app.jobs().sweep_orphan_blobs().await.unwrap(),
        SweepReport {
            seen: 7,
            referenced: 5,
            young: 2,
            deleted: 0
        }
    );

    // A day and a minute: the job deletes the old orphan only.
    hall.clock.advance(2 * MINUTE);
    hall.drain().await;
    assert!(matches!(
        hall.blobs.get(&orphan).await,
        Err(app::StoreError::NotFound)
    ));
    assert!(hall.blobs.get(&late).await.is_ok(), "two minutes old");
    let o = hall.order(&no).await;
    for kind in kinds {
        let blob = &o.draft.uploads[kind].blob;
        assert!(hall.blobs.get(blob).await.is_ok(), "{kind} is referenced");
    }
    assert_eq!(queued(&hall).await, vec![t0 + 2 * DAY + MINUTE]);

    // A day later the late orphan goes too; the order's files stay for as long as it does.
    hall.clock.advance(DAY);
    hall.drain().await;
    assert!(hall.blobs.get(&late).await.is_err());
    let r = hall.app.jobs().sweep_orphan_blobs().await.unwrap();
    assert_eq!((r.seen, r.referenced, r.deleted), (5, 5, 0));
}
