//! Who may do what. Every staff permission is decided here, never in a handler.

use crate::error::{AppError, AppResult};
use crate::model::Role;

/// Something a staff member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Create, list, disable staff accounts.
    ManageStaff,
    /// Read the audit log.
    ViewAudit,
    /// Read the SMS outbox (recipients masked).
    ViewOutbox,
    /// Read the job queue and retry failed jobs.
    ManageJobs,
    /// Review orders (审核).
    ReviewOrders,
    /// Payments, matching, refunds (财务).
    ManagePayments,
    /// Issue certificates (制证).
    IssueCertificates,
    /// Post keys (邮寄).
    ShipOrders,
    /// Revoke subscriber certificates (证书注销) from the staff console.
    RevokeCertificates,
}

impl Permission {
    /// Every permission, for table-driven tests and listings.
    pub const ALL: [Permission; 9] = [
        Permission::ManageStaff,
        Permission::ViewAudit,
        Permission::ViewOutbox,
        Permission::ManageJobs,
        Permission::ReviewOrders,
        Permission::ManagePayments,
        Permission::IssueCertificates,
        Permission::ShipOrders,
        Permission::RevokeCertificates,
    ];
}

/// The role matrix. Admins run the system but do not decide orders, take money or issue
/// certificates: those stay with the role that is accountable for them.
pub fn allows(role: Role, permission: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => matches!(
            permission,
            ManageStaff | ViewAudit | ViewOutbox | ManageJobs
        ),
        Role::Reviewer => matches!(permission, ReviewOrders | ViewOutbox),
        Role::Finance => matches!(permission, ManagePayments),
        // Revocation is a CA operation on the certificate's life, held by the same trusted
        // role that issues (制证): that role runs the CA and answers for its CRL and OCSP.
        // Not the admin (who runs the system, not certificates: separation of duties), not
        // 审核 (the RA decides orders, it does not operate the CA) and not 财务.
        Role::Production => matches!(
            permission,
            IssueCertificates | ShipOrders | RevokeCertificates
        ),
    }
}

/// An authenticated staff member acting now.
#[derive(Debug, Clone)]
pub struct StaffActor {
    /// Staff id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Client address.
    pub ip: Option<String>,
}

impl StaffActor {
    /// Fails with `Forbidden` unless the role allows `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if allows(self.role, permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
    /// Whether the role allows `permission` (for showing or hiding navigation).
    pub fn can(&self, permission: Permission) -> bool {
        allows(self.role, permission)
    }
    /// `staff:ID` for the audit log.
    pub fn audit_name(&self) -> String {
        format!("staff:{}", self.id)
    }
}

/// Who runs a staff use case: a signed-in staff member (held to the role matrix) or the
/// hall's own command line, an explicit system actor with every permission (whoever runs
/// the binary on the server already holds the database and the keys).
#[derive(Debug, Clone, Copy)]
pub enum Operator<'a> {
    /// A staff member acting through the console.
    Staff(&'a StaffActor),
    /// The command line (`certhall staff …`, `bank import`, `calendar import`) and the
    /// first-run admin.
    Cli,
}

impl Operator<'_> {
    /// Fails with `Forbidden` unless the operator may do `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        match self {
            Operator::Staff(a) => a.require(permission),
            Operator::Cli => Ok(()),
        }
    }
    /// `staff:ID` or `cli`, for the audit log.
    pub fn audit_name(&self) -> String {
        match self {
            Operator::Staff(a) => a.audit_name(),
            Operator::Cli => "cli".into(),
        }
    }
    /// The client address of a staff member's request.
    pub fn ip(&self) -> Option<&str> {
        match self {
            Operator::Staff(a) => a.ip.as_deref(),
            Operator::Cli => None,
        }
    }
    /// The staff member's id.
    pub fn staff_id(&self) -> Option<i64> {
        match self {
            Operator::Staff(a) => Some(a.id),
            Operator::Cli => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_permission_has_an_owner_and_admin_is_not_all_powerful() {
        for p in Permission::ALL {
            assert!(Role::ALL.iter().any(|r| allows(*r, p)), "{p:?} has no role");
        }
        assert!(!allows(Role::Admin, Permission::ReviewOrders));
        assert!(!allows(Role::Reviewer, Permission::IssueCertificates));
        assert!(!allows(Role::Finance, Permission::ManageStaff));
        assert!(allows(Role::Production, Permission::ShipOrders));
        assert!(allows(Role::Production, Permission::RevokeCertificates));
        for r in [Role::Admin, Role::Reviewer, Role::Finance] {
            assert!(!allows(r, Permission::RevokeCertificates), "{r:?}");
        }
    }
}
