//! Who may call what: each service checks the role itself, and the command line is an
//! explicit system actor.

use crate::hall;
use app::authz::{Operator, StaffActor};
use app::model::Role;
use app::AppError;

fn actor(role: Role) -> StaffActor {
    StaffActor {
        id: 99,
        username: "x".into(),
        display_name: "x".into(),
        role,
        ip: None,
    }
}

#[tokio::test]
async fn each_desk_refuses_the_roles_it_is_not_for() {
    let h = hall().await;
    let fin = actor(Role::Finance);
    let rev = actor(Role::Reviewer);
    let admin = actor(Role::Admin);
    assert!(matches!(
        h.app.review().queue(&fin).await,
        Err(AppError::Forbidden)
    ));
    assert!(h.app.review().queue(&rev).await.is_ok());
    assert!(matches!(
        h.app.production().queue(&rev).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        h.app.delivery().queue(&admin).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        h.app.billing().importer(Operator::Staff(&rev)),
        Err(AppError::Forbidden)
    ));
    assert!(h.app.billing().importer(Operator::Staff(&fin)).is_ok());
    assert!(matches!(
        h.app.admin().calendar_view(&fin),
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        h.app.admin().list_staff(Operator::Staff(&rev)).await,
        Err(AppError::Forbidden)
    ));
}

#[tokio::test]
async fn the_command_line_acts_as_the_system_and_is_audited_as_cli() {
    use app::ports::AuditStore;
    let h = hall().await;
    let c = h
        .app
        .admin()
        .create_staff(Operator::Cli, "ops", "运维", Role::Admin)
        .await
        .unwrap();
    assert_eq!(c.staff.role, Role::Admin);
    assert!(h.app.billing().importer(Operator::Cli).is_ok());
    let (rows, _) = h.store.audit_all().await.unwrap();
    assert!(rows
        .iter()
        .any(|r| r.event.action == "staff.created" && r.event.actor == "cli"));
}

/// A short name of an error's kind, for comparing answers.
pub fn kind(e: &AppError) -> &'static str {
    match e {
        AppError::Invalid { .. } => "invalid",
        AppError::Unauthorized(_) => "unauthorized",
        AppError::Unauthenticated => "unauthenticated",
        AppError::Forbidden => "forbidden",
        AppError::NotFound => "not_found",
        AppError::RateLimited(_) => "rate_limited",
        AppError::Conflict(_) | AppError::WrongState(_) | AppError::Stale => "conflict",
        AppError::Unavailable(_) | AppError::DatabaseDown(_) | AppError::StorageFull(_) => {
            "unavailable"
        }
        AppError::Internal(_) => "internal",
    }
}
