//! Staff accounts and the console's system pages: login with password + TOTP, accounts,
//! audit log, SMS outbox, jobs.

use crate::accounts::NewSession;
use crate::audit::{verify_chain, ChainCheck};
use crate::authz::{Permission, StaffActor};
use crate::error::{AppError, AppResult};
use crate::model::*;
use crate::secrets;
use crate::App;
use serde_json::json;

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

impl App {
    /// Creates a staff account with a random password and TOTP secret. `by` is `None` for the
    /// command line and the first-run admin.
    pub async fn create_staff(
        &self,
        by: Option<&StaffActor>,
        username: &str,
        display_name: &str,
        role: Role,
    ) -> AppResult<StaffCredentials> {
        if let Some(actor) = by {
            actor.require(Permission::ManageStaff)?;
        }
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
        let actor_name = by
            .map(StaffActor::audit_name)
            .unwrap_or_else(|| "cli".into());
        let ev = self.event(
            actor_name,
            "staff.created",
            format!("staff-name:{username}"),
            by.and_then(|a| a.ip.as_deref()),
            json!({"role": role.as_str()}),
        );
        let staff = self
            .store
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
        if self.store.staff_count().await? > 0 {
            return Ok(None);
        }
        self.create_staff(None, "admin", "管理员", Role::Admin)
            .await
            .map(Some)
    }

    /// Staff login: password and TOTP code together; the same message for every failure.
    pub async fn staff_login(
        &self,
        username: &str,
        password: &str,
        totp: &str,
        ip: &str,
    ) -> AppResult<NewSession> {
        let wrong = || AppError::Unauthorized("用户名、密码或动态口令错误".into());
        let now = self.now();
        let cost = self.policy.password_cost();
        let name = username.trim().to_ascii_lowercase();
        let Some(staff) = self.store.staff_by_username(&name).await? else {
            cost.waste(password);
            self.store
                .append_audit(vec![self.event(
                    "anonymous".into(),
                    "staff.login_failed",
                    "unknown".into(),
                    Some(ip),
                    json!({"reason": "no_account"}),
                )])
                .await?;
            return Err(wrong());
        };
        let subject = format!("staff:{}", staff.id);
        let refuse = |reason: &str| {
            self.event(
                "anonymous".into(),
                "staff.login_failed",
                subject.clone(),
                Some(ip),
                json!({"reason": reason}),
            )
        };
        if staff.disabled {
            self.store.append_audit(vec![refuse("disabled")]).await?;
            return Err(wrong());
        }
        if staff.locked_until.is_some_and(|t| t > now) {
            self.store.append_audit(vec![refuse("locked")]).await?;
            return Err(AppError::RateLimited(
                "登录失败次数过多,账号已临时锁定,请15分钟后再试".into(),
            ));
        }
        let step = if cost.verify(password, &staff.password_hash) {
            secrets::totp_match(&staff.totp_secret, totp, now)
        } else {
            None
        };
        let Some(step) = step else {
            let p = &self.policy;
            let n = self
                .store
                .staff_login_failed(
                    staff.id,
                    p.password_max_failures,
                    now + p.password_lock_ms,
                    Effects::audit(refuse("credentials")),
                )
                .await?;
            if n >= p.password_max_failures {
                self.store
                    .append_audit(vec![self.event(
                        "system".into(),
                        "staff.locked",
                        subject,
                        Some(ip),
                        json!({"failures": n}),
                    )])
                    .await?;
            }
            return Err(wrong());
        };
        if !self.store.staff_login_ok(staff.id, step).await? {
            self.store.append_audit(vec![refuse("totp_replay")]).await?;
            return Err(AppError::Unauthorized(
                "该动态口令已使用,请等待下一个口令".into(),
            ));
        }
        let token = secrets::random_hex(32);
        let record = SessionRecord {
            token_hash: secrets::token_hash(&token),
            principal: Principal::Staff(staff.id),
            created_at: now,
            last_seen_at: now,
        };
        let ev = self.event(subject.clone(), "staff.login", subject, Some(ip), json!({}));
        self.store
            .create_session(&record, Effects::audit(ev))
            .await?;
        Ok(NewSession {
            token,
            principal: Principal::Staff(staff.id),
        })
    }

    /// The acting staff member behind a staff session; a disabled account acts no more.
    pub async fn staff_actor(&self, staff_id: i64, ip: Option<&str>) -> AppResult<StaffActor> {
        let s = self
            .store
            .staff_by_id(staff_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if s.disabled {
            return Err(AppError::Unauthenticated);
        }
        Ok(StaffActor {
            id: s.id,
            username: s.username,
            display_name: s.display_name,
            role: s.role,
            ip: ip.map(str::to_owned),
        })
    }

    /// Staff accounts (admin).
    pub async fn list_staff(&self, actor: &StaffActor) -> AppResult<Vec<Staff>> {
        actor.require(Permission::ManageStaff)?;
        Ok(self.store.list_staff().await?)
    }

    /// Disables or re-enables a staff account (admin); nobody disables themselves.
    pub async fn set_staff_disabled(
        &self,
        actor: Option<&StaffActor>,
        username: &str,
        disabled: bool,
    ) -> AppResult<()> {
        if let Some(a) = actor {
            a.require(Permission::ManageStaff)?;
        }
        let s = self
            .store
            .staff_by_username(&username.trim().to_ascii_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        if actor.is_some_and(|a| a.id == s.id) {
            return Err(AppError::Conflict("不能停用自己的账号".into()));
        }
        let ev = self.event(
            actor
                .map(StaffActor::audit_name)
                .unwrap_or_else(|| "cli".into()),
            if disabled {
                "staff.disabled"
            } else {
                "staff.enabled"
            },
            format!("staff:{}", s.id),
            actor.and_then(|a| a.ip.as_deref()),
            json!({}),
        );
        self.store
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
        Ok(self.store.audit_page(before, 100).await?)
    }

    /// Checks the whole audit chain (command line or admin).
    pub async fn verify_audit(&self) -> AppResult<ChainCheck> {
        let (rows, head) = self.store.audit_all().await?;
        Ok(verify_chain(&rows, head))
    }

    /// The SMS outbox, newest first (recipients are masked by the page).
    pub async fn outbox(&self, actor: &StaffActor) -> AppResult<Vec<OutboxSms>> {
        actor.require(Permission::ViewOutbox)?;
        Ok(self.store.outbox_page(200).await?)
    }

    /// The job queue (admin).
    pub async fn jobs(&self, actor: &StaffActor, status: Option<JobStatus>) -> AppResult<Vec<Job>> {
        actor.require(Permission::ManageJobs)?;
        Ok(self.store.list_jobs(status, 200).await?)
    }

    /// Puts a failed job back in the queue (admin).
    pub async fn retry_job(&self, actor: &StaffActor, id: i64) -> AppResult<()> {
        actor.require(Permission::ManageJobs)?;
        let ev = self.event(
            actor.audit_name(),
            "job.retried",
            format!("job:{id}"),
            actor.ip.as_deref(),
            json!({}),
        );
        Ok(self
            .store
            .retry_job(id, self.now(), Effects::audit(ev))
            .await?)
    }
}

/// The sandbox SMS inbox: messages the sandbox provider "delivered" to a phone, rendered.
impl App {
    /// Latest sandbox messages for `phone`, newest first; `NotFound` when a real provider is on.
    pub async fn sandbox_inbox(&self, phone_input: &str) -> AppResult<Vec<(OutboxSms, String)>> {
        if !self.sms.is_sandbox() {
            return Err(AppError::NotFound);
        }
        let phone = crate::accounts::parse_phone(phone_input)?;
        let rows = self.store.outbox_for_phone(&phone, 20).await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let text = self.templates.render(&m.template, &m.params);
                (m, text)
            })
            .collect())
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
