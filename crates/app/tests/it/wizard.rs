//! 证书新办's gate: a step opens only after the earlier ones, on the owner's editable order.

use crate::hall;
use app::AppError;
use domain::order::Step;

#[tokio::test]
async fn steps_open_in_order_for_the_owner_only() {
    let h = hall().await;
    let u = h.user("13800138010").await;
    let other = h.user("13800138011").await;
    let w = h.app.wizard();
    let no = w.start_order(u).await.unwrap();
    let no = no.as_str();
    match w.open_step(u, no, Step::Uploads).await {
        Err(AppError::Conflict(m)) => assert_eq!(m, "请先阅读并同意电子认证服务协议"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        w.open_step(other, no, Step::Agreement).await,
        Err(AppError::NotFound)
    ));
    assert!(w.open_step(u, no, Step::Agreement).await.is_ok());
    // Reloading 证书新办 does not pile up empty orders.
    assert_eq!(w.start_order(u).await.unwrap().as_str(), no);
}

#[tokio::test]
async fn a_submitted_order_is_closed_to_the_wizard_and_its_application_kept() {
    let h = hall().await;
    let u = h.user("13800138012").await;
    let o = h.order_at_uploads(u).await;
    let w = h.app.wizard();
    let app_before = w.application_of(&o).unwrap();
    for (kind, _) in o.draft.required_uploads() {
        w.upload(u, o.no.as_str(), &kind, &tiny_png())
            .await
            .unwrap();
    }
    w.submit_order(u, o.no.as_str()).await.unwrap();
    match w.open_step(u, o.no.as_str(), Step::Data).await {
        Err(AppError::Conflict(m)) => assert_eq!(m, "业务单已提交,不能再修改"),
        other => panic!("{other:?}"),
    }
    // The application saved with the form is the one read later, days on.
    h.clock.advance(400 * app::clock::DAY);
    let o = w.my_order(u, o.no.as_str()).await.unwrap();
    let app_after = w.application_of(&o).unwrap();
    assert_eq!(app_after.unit_name, app_before.unit_name);
    assert_eq!(app_after.cert_lines(), app_before.cert_lines());
}

fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 10]));
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
