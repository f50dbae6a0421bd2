//! The admin's console (staff accounts, audit log, SMS outbox, jobs, holiday calendar). Staff
//! sign-in is in [`crate::accounts`].

use crate::audit::{verify_chain, Audits, ChainCheck};
use crate::authz::{Operator, Permission, StaffActor};
use crate::clock::{Clock, Millis};
use crate::desk::{CalendarStore, SharedCalendar};
use crate::error::{AppError, AppResult};
use crate::model::*;
use crate::policy::AuthPolicy;
use crate::ports::{AuditStore, Health, JobStore, OutboxStore, StaffStore};
use crate::secrets;
use domain::calendar::YearSchedule;
use serde_json::json;
use std::sync::Arc;

/// A new staff account's one-time secrets, shown once to whoever created it.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    /// The account.
    pub staff: Staff,
    /// Initial password (random, 20 characters).
    pub password: String,
    /// `otpauth://` URI for the authenticator app.
    pub otpauth_uri: String,
    /// The TOTP secret in base32, for typing by hand.
    pub totp_base32: String,
}

/// The calendar page's data.
#[derive(Debug, Clone)]
pub struct CalendarView {
    /// The schedules loaded: (year, source).
    pub years: Vec<(i32, String)>,
    /// Years coming up without one.
    pub missing: Vec<i32>,
}

/// Checks a staff login name: 3–32 of a–z, 0–9, `.`, `_`, `-`.
pub fn check_username(name: &str) -> AppResult<String> {
    let n = name.trim().to_ascii_lowercase();
    if n.len() < 3
        || n.len() > 32
        || !n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(AppError::invalid(
            "username",
            "用户名为3至32位小写字母、数字、点、下划线或连字符",
        ));
    }
    Ok(n)
}

/// The admin's console: staff accounts, the audit log, the SMS outbox, jobs and the
/// holiday calendar.
#[derive(Clone)]
pub struct Admin {
    pub(crate) staff: Arc<dyn StaffStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) jobs: Arc<dyn JobStore>,
    pub(crate) calendars: Arc<dyn CalendarStore>,
    pub(crate) calendar: SharedCalendar,
    pub(crate) health: Arc<dyn Health>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: AuthPolicy,
    pub(crate) totp_issuer: String,
}

impl crate::audit::Audits for Admin {
    fn now(&self) -> Millis {
        self.clock.now()
    }
}

impl Admin {
    /// Appends one event of `by` to the audit log on its own (the CA's command line records
    /// issuance and revocation this way). Details carry identifiers, never personal data.
    pub async fn record(
        &self,
        by: Operator<'_>,
        action: &str,
        subject: String,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        let ev = self.audit_event(by.audit_name(), action, subject, by.ip(), detail);
        Ok(self.audit.append_audit(vec![ev]).await?)
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ready(&self) -> AppResult<()> {
        Ok(self.health.ping().await?)
    }

    /// Creates a staff account with a random password and TOTP secret.
    pub async fn create_staff(
        &self,
        by: Operator<'_>,
        username: &str,
        display_name: &str,
        role: Role,
    ) -> AppResult<StaffCredentials> {
        by.require(Permission::ManageStaff)?;
        let username = check_username(username)?;
        let display_name = display_name.trim();
        let display_name = if display_name.is_empty() {
            username.clone()
        } else {
            display_name.chars().take(30).collect()
        };
        let password = secrets::random_hex(10);
        let totp_secret = secrets::random_bytes(20);
        let hash = self
            .policy
            .password_cost()
            .hash(&password)
            .map_err(AppError::Internal)?;
        let actor_name = by.audit_name();
        let ev = self.audit_event(
            actor_name,
            "staff.created",
            format!("staff-name:{username}"),
            by.ip(),
            json!({"role": role.as_str()}),
        );
        let staff = self
            .staff
            .create_staff(
                NewStaff {
                    username: username.clone(),
                    display_name,
                    role,
                    password_hash: hash,
                    totp_secret: totp_secret.clone(),
                    created_at: self.now(),
                },
                Effects::audit(ev),
            )
            .await
            .map_err(|e| match e {
                crate::StoreError::Duplicate(_) => AppError::invalid("username", "该用户名已存在"),
                other => other.into(),
            })?;
        Ok(StaffCredentials {
            otpauth_uri: secrets::otpauth_uri(&self.totp_issuer, &username, &totp_secret),
            totp_base32: secrets::base32(&totp_secret),
            staff,
            password,
        })
    }

    /// Creates the first admin when there is no staff account yet; `None` otherwise.
    pub async fn ensure_first_admin(&self) -> AppResult<Option<StaffCredentials>> {
        if self.staff.staff_count().await? > 0 {
            return Ok(None);
        }
        self.create_staff(Operator::Cli, "admin", "管理员", Role::Admin)
            .await
            .map(Some)
    }

    /// Staff accounts (admin).
    pub async fn list_staff(&self, by: Operator<'_>) -> AppResult<Vec<Staff>> {
        by.require(Permission::ManageStaff)?;
        Ok(self.staff.list_staff().await?)
    }

    /// Disables or re-enables a staff account (admin); nobody disables themselves.
    pub async fn set_staff_disabled(
        &self,
        by: Operator<'_>,
        username: &str,
        disabled: bool,
    ) -> AppResult<()> {
        by.require(Permission::ManageStaff)?;
        let s = self
            .staff
            .staff_by_username(&username.trim().to_ascii_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        if by.staff_id() == Some(s.id) {
            return Err(AppError::Conflict("不能停用自己的账号".into()));
        }
        let ev = self.audit_event(
            by.audit_name(),
            if disabled {
                "staff.disabled"
            } else {
                "staff.enabled"
            },
            format!("staff:{}", s.id),
            by.ip(),
            json!({}),
        );
        self.staff
            .set_staff_disabled(s.id, disabled, Effects::audit(ev))
            .await?;
        Ok(())
    }

    /// A page of the audit log (admin).
    pub async fn audit_page(
        &self,
        actor: &StaffActor,
        before: Option<i64>,
    ) -> AppResult<Vec<AuditRow>> {
        actor.require(Permission::ViewAudit)?;
        Ok(self.audit.audit_page(before, 100).await?)
    }

    /// Checks the whole audit chain (command line or admin).
    pub async fn verify_audit(&self) -> AppResult<ChainCheck> {
        self.verify_audit_with(&[]).await
    }

    /// Checks the chain against `anchors` recorded outside the database too.
    pub async fn verify_audit_with(&self, anchors: &[AuditAnchor]) -> AppResult<ChainCheck> {
        let (rows, head) = self.audit.audit_all().await?;
        let audit = self.audit.clone();
        let mac = move |seq: i64, hash: &str| audit.audit_mac(seq, hash);
        Ok(verify_chain(&rows, head.as_ref(), &mac, anchors))
    }

    /// The chain's end now, to record outside the database as an anchor (`None` while the
    /// log is empty).
    pub async fn audit_anchor(&self) -> AppResult<Option<AuditAnchor>> {
        let (_, head) = self.audit.audit_all().await?;
        Ok(head.filter(|h| h.seq > 0).map(|h| AuditAnchor {
            seq: h.seq,
            hash: h.hash,
        }))
    }

    /// The SMS outbox, newest first (recipients are masked by the page).
    pub async fn outbox(&self, actor: &StaffActor) -> AppResult<Vec<OutboxSms>> {
        actor.require(Permission::ViewOutbox)?;
        Ok(self.outbox.outbox_page(200).await?)
    }

    /// The job queue (admin).
    pub async fn jobs(&self, actor: &StaffActor, status: Option<JobStatus>) -> AppResult<Vec<Job>> {
        actor.require(Permission::ManageJobs)?;
        Ok(self.jobs.list_jobs(status, 200).await?)
    }

    /// Puts a failed job back in the queue (admin).
    pub async fn retry_job(&self, actor: &StaffActor, id: i64) -> AppResult<()> {
        actor.require(Permission::ManageJobs)?;
        let ev = self.audit_event(
            actor.audit_name(),
            "job.retried",
            format!("job:{id}"),
            actor.ip.as_deref(),
            json!({}),
        );
        Ok(self
            .jobs
            .retry_job(id, self.now(), Effects::audit(ev))
            .await?)
    }

    /// Years from this one to the next with no official schedule (the admin warning).
    pub fn calendar_missing_years(&self) -> Vec<i32> {
        let today = crate::orders::beijing_date(self.now());
        let next = today.add_days(30).unwrap_or(today);
        self.calendar.get().missing_years(today, next)
    }

    /// The calendar page (admin): the schedules loaded, (year, source), and the years coming
    /// up without one.
    pub fn calendar_view(&self, actor: &StaffActor) -> AppResult<CalendarView> {
        actor.require(Permission::ManageStaff)?;
        Ok(CalendarView {
            years: self.calendar_years(),
            missing: self.calendar_missing_years(),
        })
    }

    /// The holiday calendar as loaded: (year, source).
    pub fn calendar_years(&self) -> Vec<(i32, String)> {
        let cal = self.calendar.get();
        cal.years()
            .map(|y| {
                let src = cal
                    .schedule(y)
                    .map(|s| s.source().to_owned())
                    .unwrap_or_default();
                (y, src)
            })
            .collect()
    }

    /// Loads the schedules stored in the database into the calendar (at start).
    pub async fn load_calendar(&self) -> AppResult<usize> {
        let years = self.calendars.calendar_years().await?;
        let mut n = 0;
        let mut cal = self.calendar.get();
        for (_, text) in years {
            match YearSchedule::parse_toml(&text) {
                Ok(s) => {
                    if cal.insert(s).is_ok() {
                        n += 1;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "stored holiday schedule ignored"),
            }
        }
        self.calendar.set(cal);
        Ok(n)
    }

    /// Imports a year's official schedule (TOML as shipped in `data/`), checked, stored and
    /// applied at once.
    pub async fn import_calendar(&self, by: Operator<'_>, text: &str) -> AppResult<i32> {
        by.require(Permission::ManageStaff)?;
        let s = YearSchedule::parse_toml(text)
            .map_err(|e| AppError::invalid("file", format!("节假日安排文件无效:{e}")))?;
        let year = s.year();
        let mut cal = self.calendar.get();
        cal.insert(s)
            .map_err(|e| AppError::invalid("file", format!("节假日安排与已有年份冲突:{e}")))?;
        let ev = self.audit_event(
            by.audit_name(),
            "calendar.import",
            format!("calendar:{year}"),
            by.ip(),
            serde_json::json!({ "year": year }),
        );
        self.calendars
            .put_calendar_year(year, text, self.now(), &by.audit_name(), Effects::audit(ev))
            .await?;
        self.calendar.set(cal);
        Ok(year)
    }
}

#[cfg(test)]
mod tests {
    use super::check_username;

    #[test]
    fn usernames() {
        assert_eq!(check_username(" Alice.W ").unwrap(), "alice.w");
        assert!(check_username("ab").is_err());
        assert!(check_username("张三").is_err());
    }
}
