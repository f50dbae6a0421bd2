//! Signing in (A1–A3, A5): applicants' SMS codes, registration, login, passwords; staff login
//! with password + TOTP; the sessions of both.

use crate::audit::Audits;
use crate::authz::StaffActor;
use crate::clock::{Clock, Millis, DAY, HOUR};
use crate::error::{AppError, AppResult};
use crate::model::*;
use crate::policy::AuthPolicy;
use crate::ports::{AuditStore, CodeStore, LimitStore, SessionStore, StaffStore, UserStore};
use crate::secrets;
use domain::Phone;
use serde_json::json;
use std::sync::Arc;

/// The reply to every code request that was not refused by a limit: the same whether or not
/// the number has an account.
pub const CODE_SENT: &str = "验证码已发送,5分钟内有效";

/// Start of the Beijing calendar day containing `now`, the window of the daily code limit.
fn beijing_day_start(now: Millis) -> Millis {
    let offset = 8 * HOUR;
    (now + offset).div_euclid(DAY) * DAY - offset
}

/// Parses the phone field of a form.
pub fn parse_phone(input: &str) -> AppResult<Phone> {
    Phone::parse(input).map_err(|e| AppError::invalid("phone", e.to_string()))
}

/// Checks a new password: 8–64 characters with at least two of letters, digits, symbols.
pub fn check_new_password(
    field: &'static str,
    password: &str,
    confirm: Option<&str>,
) -> AppResult<()> {
    let n = password.chars().count();
    if !(8..=64).contains(&n) {
        return Err(AppError::invalid(field, "密码长度应为8至64位"));
    }
    if password.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "密码不能包含控制字符"));
    }
    let kinds = [
        password.chars().any(|c| c.is_alphabetic()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < 2 {
        return Err(AppError::invalid(
            field,
            "密码须包含字母、数字、符号中的至少两种",
        ));
    }
    if let Some(c) = confirm {
        if c != password {
            return Err(AppError::invalid(
                "password_confirm",
                "两次输入的密码不一致",
            ));
        }
    }
    Ok(())
}

/// A new session: the token goes into the cookie, the record into the store.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The secret cookie value (256 random bits, hex).
    pub token: String,
    /// Whose session.
    pub principal: Principal,
}

/// The subnet an address belongs to for login limits: IPv4 /24, IPv6 /64.
fn subnet(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(std::net::IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => ip.to_owned(),
    }
}

/// The one answer to a failed password login, whatever failed.
fn wrong_login(kind: &str) -> AppError {
    AppError::Unauthorized(if kind == "staff" {
        "用户名、密码或动态口令错误".into()
    } else {
        "账号或密码错误".into()
    })
}

/// The answer to a failed login: the same for every cause, or the lock once the name
/// reached its limit.
fn failed_login(kind: &str, locked_now: bool) -> AppError {
    if locked_now {
        locked(kind)
    } else {
        wrong_login(kind)
    }
}

/// The answer to a login while the name is locked.
fn locked(kind: &str) -> AppError {
    AppError::RateLimited(if kind == "staff" {
        "登录失败次数过多,账号已临时锁定,请15分钟后再试".into()
    } else {
        "密码错误次数过多,账号已临时锁定,请15分钟后再试或使用验证码登录".into()
    })
}

/// Accounts and sessions: applicants' codes, registration, login and passwords; staff
/// login; who a session belongs to.
#[derive(Clone)]
pub struct Accounts {
    pub(crate) codes: Arc<dyn CodeStore>,
    pub(crate) users: Arc<dyn UserStore>,
    pub(crate) staff: Arc<dyn StaffStore>,
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) limits: Arc<dyn LimitStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: AuthPolicy,
    pub(crate) code_key: Arc<Vec<u8>>,
}

impl crate::audit::Audits for Accounts {
    fn now(&self) -> Millis {
        self.clock.now()
    }
}

impl Accounts {
    /// Refuses a password login before the password is looked at: too many failures from
    /// this address or its subnet this hour, or under this account name in the lock window.
    /// The name's counter is kept whether or not the account exists, so the answers never
    /// tell (ASVS 6.3): every failure says the same, and a lock looks the same for all.
    async fn login_refused(&self, kind: &str, name: &str, ip: &str) -> AppResult<()> {
        let p = &self.policy;
        let (hour, lock) = self.login_windows();
        let from_ip = self
            .limits
            .counter(&format!("{kind}.fail.ip:{ip}"), hour)
            .await?;
        let from_net = self
            .limits
            .counter(&format!("{kind}.fail.net:{}", subnet(ip)), hour)
            .await?;
        if from_ip >= p.login_ip_hourly_limit || from_net >= p.login_subnet_hourly_limit {
            return Err(AppError::RateLimited(
                "登录失败次数过多,请一小时后再试".into(),
            ));
        }
        if self
            .limits
            .counter(&format!("{kind}.fail.name:{name}"), lock)
            .await?
            >= p.password_max_failures
        {
            return Err(locked(kind));
        }
        Ok(())
    }

    /// Counts a failed password login (address, subnet, name); true when the name is now
    /// locked.
    async fn login_failed_count(&self, kind: &str, name: &str, ip: &str) -> AppResult<bool> {
        let (hour, lock) = self.login_windows();
        self.limits
            .hit_counter(&format!("{kind}.fail.ip:{ip}"), hour)
            .await?;
        self.limits
            .hit_counter(&format!("{kind}.fail.net:{}", subnet(ip)), hour)
            .await?;
        let n = self
            .limits
            .hit_counter(&format!("{kind}.fail.name:{name}"), lock)
            .await?;
        Ok(n >= self.policy.password_max_failures)
    }

    /// A password login for a name without an account: as slow as a real check, audited,
    /// counted like any failure; returns the answer to give.
    async fn no_such_account(
        &self,
        kind: &str,
        name: &str,
        ip: &str,
        password: &str,
    ) -> AppResult<AppError> {
        self.policy.password_cost().waste(password);
        self.audit
            .append_audit(vec![self.audit_event(
                "anonymous".into(),
                &format!("{kind}.login_failed"),
                "unknown".into(),
                Some(ip),
                json!({"reason": "no_account"}),
            )])
            .await?;
        Ok(failed_login(
            kind,
            self.login_failed_count(kind, name, ip).await?,
        ))
    }

    fn login_windows(&self) -> (Millis, Millis) {
        let now = self.now();
        let lock = self.policy.password_lock_ms.max(1);
        (now.div_euclid(HOUR) * HOUR, now.div_euclid(lock) * lock)
    }

    /// How long a session lasts at most (the cookie's `Max-Age`).
    pub fn session_max_age_ms(&self) -> Millis {
        self.policy.session_absolute_ms
    }

    /// The least time between two codes to one phone (the page's countdown).
    pub fn code_cooldown_ms(&self) -> Millis {
        self.policy.code_cooldown_ms
    }

    /// Staff login: password and TOTP code together; the same message for every failure.
    pub async fn staff_login(
        &self,
        username: &str,
        password: &str,
        totp: &str,
        ip: &str,
    ) -> AppResult<NewSession> {
        let now = self.now();
        let cost = self.policy.password_cost();
        let name = username.trim().to_ascii_lowercase();
        self.login_refused("staff", &name, ip).await?;
        let fail = |locked_now: bool| failed_login("staff", locked_now);
        let Some(staff) = self.staff.staff_by_username(&name).await? else {
            return Err(self.no_such_account("staff", &name, ip, password).await?);
        };
        let subject = format!("staff:{}", staff.id);
        let refuse = |reason: &str| {
            self.audit_event(
                "anonymous".into(),
                "staff.login_failed",
                subject.clone(),
                Some(ip),
                json!({"reason": reason}),
            )
        };
        if staff.disabled {
            cost.waste(password);
            self.audit.append_audit(vec![refuse("disabled")]).await?;
            return Err(fail(self.login_failed_count("staff", &name, ip).await?));
        }
        let step = if cost.verify(password, &staff.password_hash) {
            secrets::totp_match(&staff.totp_secret, totp, now)
        } else {
            None
        };
        let Some(step) = step else {
            let p = &self.policy;
            let n = self
                .staff
                .staff_login_failed(
                    staff.id,
                    p.password_max_failures,
                    now + p.password_lock_ms,
                    Effects::audit(refuse("credentials")),
                )
                .await?;
            let now_locked = self.login_failed_count("staff", &name, ip).await?;
            if now_locked {
                self.audit
                    .append_audit(vec![self.audit_event(
                        "system".into(),
                        "staff.locked",
                        subject,
                        Some(ip),
                        json!({"failures": n}),
                    )])
                    .await?;
            }
            return Err(fail(now_locked));
        };
        if !self.staff.staff_login_ok(staff.id, step).await? {
            self.audit.append_audit(vec![refuse("totp_replay")]).await?;
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
        let ev = self.audit_event(subject.clone(), "staff.login", subject, Some(ip), json!({}));
        self.sessions
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
            .staff
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

    /// Sends a 6-digit code to `phone` for `purpose` (A3). Limits: cool-down per phone and
    /// purpose, a daily count per phone, an hourly count per client IP. The reply does not say
    /// whether the number has an account.
    pub async fn request_code(
        &self,
        phone_input: &str,
        purpose: CodePurpose,
        ip: &str,
    ) -> AppResult<&'static str> {
        let phone = parse_phone(phone_input)?;
        let now = self.now();
        let p = &self.policy;
        if let Some(last) = self.codes.last_code_at(&phone, purpose).await? {
            let wait = last + p.code_cooldown_ms - now;
            if wait > 0 {
                return Err(AppError::RateLimited(format!(
                    "验证码发送过于频繁,请{}秒后再试",
                    (wait + 999) / 1000
                )));
            }
        }
        let ip_hits = self
            .limits
            .hit_counter(&format!("code-ip:{ip}"), now.div_euclid(HOUR) * HOUR)
            .await?;
        if ip_hits > p.code_ip_hourly_limit {
            self.audit
                .append_audit(vec![self.audit_event(
                    "anonymous".into(),
                    "code.ip_limited",
                    format!("ip:{ip}"),
                    Some(ip),
                    json!({}),
                )])
                .await?;
            return Err(AppError::RateLimited("请求过于频繁,请稍后再试".into()));
        }
        let phone_hits = self
            .limits
            .hit_counter(
                &format!("code-phone:{}", phone.as_str()),
                beijing_day_start(now),
            )
            .await?;
        if phone_hits > p.code_daily_limit {
            return Err(AppError::RateLimited(
                "该手机号今日获取验证码次数已达上限,请明天再试".into(),
            ));
        }
        // A reset code for a number without an account is not sent, but the reply is the same.
        let user = self.users.user_by_phone(&phone).await?;
        if purpose == CodePurpose::ResetPassword && user.is_none() {
            return Ok(CODE_SENT);
        }
        let code = secrets::six_digit_code();
        let hash = secrets::code_hash(&self.code_key, phone.as_str(), purpose.as_str(), &code);
        let subject = user
            .as_ref()
            .map(|u| format!("user:{}", u.id))
            .unwrap_or_else(|| "unregistered".into());
        let effects = Effects {
            audit: vec![self.audit_event(
                "anonymous".into(),
                "code.requested",
                subject,
                Some(ip),
                json!({"purpose": purpose.as_str()}),
            )],
            sms: vec![OutgoingSms {
                phone: phone.clone(),
                template: purpose.template().into(),
                params: vec![("code".into(), code)],
                order_no: None,
                queued_at: now,
            }],
        };
        let new = NewCode {
            phone,
            purpose,
            code_hash: hash,
            created_at: now,
            expires_at: now + p.code_ttl_ms,
        };
        self.codes.insert_code(new, effects).await?;
        Ok(CODE_SENT)
    }

    /// Uses the code for `phone` and `purpose` once, or says why not.
    pub async fn verify_code(
        &self,
        phone: &Phone,
        purpose: CodePurpose,
        code: &str,
        ip: &str,
    ) -> AppResult<()> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::invalid("code", "请输入6位数字验证码"));
        }
        let now = self.now();
        let max = self.policy.code_max_attempts;
        let stale = || AppError::invalid("code", "验证码已失效,请重新获取");
        let stored = self
            .codes
            .active_code(phone, purpose)
            .await?
            .ok_or_else(stale)?;
        if stored.expires_at <= now || stored.attempts >= max {
            return Err(stale());
        }
        // The try is counted before the guess is compared (one statement), so parallel
        // guesses compare at most `max` times.
        let Some(attempts) = self.codes.take_attempt(stored.id, now, max).await? else {
            return Err(stale());
        };
        let hash = secrets::code_hash(&self.code_key, phone.as_str(), purpose.as_str(), code);
        if !secrets::constant_time_eq(&hash, &stored.code_hash) {
            if attempts >= max {
                self.audit
                    .append_audit(vec![self.audit_event(
                        "anonymous".into(),
                        "code.voided",
                        "code".into(),
                        Some(ip),
                        json!({"purpose": purpose.as_str(), "attempts": attempts}),
                    )])
                    .await?;
                return Err(AppError::invalid(
                    "code",
                    "验证码错误次数过多,已失效,请重新获取",
                ));
            }
            return Err(AppError::invalid(
                "code",
                format!("验证码错误,还可尝试{}次", max - attempts),
            ));
        }
        if !self.codes.use_code(stored.id, now).await? {
            return Err(stale());
        }
        Ok(())
    }

    async fn start_session(
        &self,
        principal: Principal,
        ip: &str,
        action: &str,
    ) -> AppResult<NewSession> {
        let token = secrets::random_hex(32);
        let now = self.now();
        let record = SessionRecord {
            token_hash: secrets::token_hash(&token),
            principal,
            created_at: now,
            last_seen_at: now,
        };
        let name = principal.audit_name();
        let effects =
            Effects::audit(self.audit_event(name.clone(), action, name, Some(ip), json!({})));
        self.sessions.create_session(&record, effects).await?;
        Ok(NewSession { token, principal })
    }

    /// Logs in with mobile number + SMS code, registering the number on first use (A1, A2).
    /// With `password`, also sets the account's password (registration with a password).
    pub async fn login_with_code(
        &self,
        phone_input: &str,
        code: &str,
        password: Option<(&str, &str)>,
        ip: &str,
    ) -> AppResult<NewSession> {
        let phone = parse_phone(phone_input)?;
        if let Some((pw, confirm)) = password {
            check_new_password("password", pw, Some(confirm))?;
        }
        self.verify_code(&phone, CodePurpose::Login, code, ip)
            .await?;
        let now = self.now();
        let user = match self.users.user_by_phone(&phone).await? {
            Some(u) => u,
            None => {
                let created = self.audit_event(
                    "anonymous".into(),
                    "user.registered",
                    "new".into(),
                    Some(ip),
                    json!({}),
                );
                self.users
                    .create_user(&phone, None, now, Effects::audit(created))
                    .await?
            }
        };
        if let Some((pw, _)) = password {
            let hash = self
                .policy
                .password_cost()
                .hash(pw)
                .map_err(AppError::Internal)?;
            let ev = self.audit_event(
                format!("user:{}", user.id),
                "user.password_set",
                format!("user:{}", user.id),
                Some(ip),
                json!({}),
            );
            self.users
                .set_user_password(user.id, &hash, Effects::audit(ev))
                .await?;
        }
        self.users.user_login_ok(user.id).await?;
        self.start_session(Principal::User(user.id), ip, "user.login")
            .await
    }

    /// Logs in with account (the mobile number) + password (A2). Five wrong passwords lock
    /// password login for a while; SMS login still works.
    pub async fn login_with_password(
        &self,
        account: &str,
        password: &str,
        ip: &str,
    ) -> AppResult<NewSession> {
        let cost = self.policy.password_cost();
        let phone = parse_phone(account)
            .map_err(|_| AppError::invalid("account", "请输入注册时使用的手机号码"))?;
        if password.is_empty() {
            return Err(AppError::invalid("password", "请输入密码"));
        }
        let now = self.now();
        let name = phone.as_str().to_owned();
        self.login_refused("user", &name, ip).await?;
        let fail = |locked_now: bool| failed_login("user", locked_now);
        let Some(user) = self.users.user_by_phone(&phone).await? else {
            return Err(self.no_such_account("user", &name, ip, password).await?);
        };
        let subject = format!("user:{}", user.id);
        // An account without a password answers like a wrong password: the reply never
        // tells which numbers have one.
        let verified = match user.password_hash.as_deref() {
            Some(phc) => cost.verify(password, phc),
            None => {
                cost.waste(password);
                false
            }
        };
        if !verified {
            let reason = if user.password_hash.is_some() {
                "password"
            } else {
                "no_password"
            };
            let ev = self.audit_event(
                "anonymous".into(),
                "user.login_failed",
                subject.clone(),
                Some(ip),
                json!({ "reason": reason }),
            );
            let p = &self.policy;
            let n = self
                .users
                .user_login_failed(
                    user.id,
                    p.password_max_failures,
                    now + p.password_lock_ms,
                    Effects::audit(ev),
                )
                .await?;
            let now_locked = self.login_failed_count("user", &name, ip).await?;
            if now_locked {
                self.audit
                    .append_audit(vec![self.audit_event(
                        "system".into(),
                        "user.locked",
                        subject,
                        Some(ip),
                        json!({"failures": n}),
                    )])
                    .await?;
            }
            return Err(fail(now_locked));
        }
        self.users.user_login_ok(user.id).await?;
        self.start_session(Principal::User(user.id), ip, "user.login")
            .await
    }

    /// Resets the password with an SMS code (A5); every session of the account ends.
    pub async fn reset_password(
        &self,
        phone_input: &str,
        code: &str,
        password: &str,
        confirm: &str,
        ip: &str,
    ) -> AppResult<()> {
        let phone = parse_phone(phone_input)?;
        check_new_password("password", password, Some(confirm))?;
        self.verify_code(&phone, CodePurpose::ResetPassword, code, ip)
            .await?;
        let user = self
            .users
            .user_by_phone(&phone)
            .await?
            .ok_or_else(|| AppError::invalid("code", "验证码已失效,请重新获取"))?;
        let hash = self
            .policy
            .password_cost()
            .hash(password)
            .map_err(AppError::Internal)?;
        let subject = format!("user:{}", user.id);
        let ev = self.audit_event(
            "anonymous".into(),
            "user.password_reset",
            subject.clone(),
            Some(ip),
            json!({}),
        );
        self.users
            .set_user_password(user.id, &hash, Effects::audit(ev))
            .await?;
        self.users.user_login_ok(user.id).await?;
        self.sessions
            .delete_sessions_of(Principal::User(user.id), Effects::default())
            .await?;
        Ok(())
    }

    /// Sets a first password or changes it (the current one is required once one exists).
    pub async fn change_password(
        &self,
        user_id: i64,
        current: Option<&str>,
        new: &str,
        confirm: &str,
        ip: &str,
    ) -> AppResult<()> {
        let user = self
            .users
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        check_new_password("password", new, Some(confirm))?;
        let cost = self.policy.password_cost();
        if let Some(phc) = user.password_hash.as_deref() {
            if !cost.verify(current.unwrap_or(""), phc) {
                return Err(AppError::invalid("current_password", "当前密码不正确"));
            }
        }
        let hash = cost.hash(new).map_err(AppError::Internal)?;
        let subject = format!("user:{}", user.id);
        let ev = self.audit_event(
            subject.clone(),
            "user.password_changed",
            subject,
            Some(ip),
            json!({}),
        );
        self.users
            .set_user_password(user.id, &hash, Effects::audit(ev))
            .await
            .map_err(Into::into)
    }

    /// Moves the account to a new mobile number proven by a code sent to it (A5).
    pub async fn change_phone(
        &self,
        user_id: i64,
        new_phone: &str,
        code: &str,
        ip: &str,
    ) -> AppResult<()> {
        let phone = parse_phone(new_phone)?;
        let user = self
            .users
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if user.phone == phone {
            return Err(AppError::invalid("phone", "新手机号码与当前号码相同"));
        }
        self.verify_code(&phone, CodePurpose::ChangePhone, code, ip)
            .await?;
        let subject = format!("user:{}", user.id);
        let ev = self.audit_event(
            subject.clone(),
            "user.phone_changed",
            subject,
            Some(ip),
            json!({}),
        );
        match self
            .users
            .change_user_phone(user.id, &phone, Effects::audit(ev))
            .await
        {
            Err(crate::StoreError::Duplicate(_)) => {
                Err(AppError::invalid("phone", "该手机号码已注册其他账号"))
            }
            other => other.map_err(Into::into),
        }
    }

    /// The principal of a session token, if the session is still alive. Sliding idle timeout,
    /// fixed absolute timeout; an expired session is deleted.
    pub async fn resolve_session(&self, token: &str) -> AppResult<Option<Principal>> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let hash = secrets::token_hash(token);
        let Some(s) = self.sessions.session(&hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        if now - s.last_seen_at >= self.policy.session_idle_ms
            || now - s.created_at >= self.policy.session_absolute_ms
        {
            self.sessions
                .delete_session(&hash, Effects::default())
                .await?;
            return Ok(None);
        }
        // Writing on every request would make reads write; a minute's precision is enough.
        if now - s.last_seen_at > 60_000 {
            self.sessions.touch_session(&hash, now).await?;
        }
        Ok(Some(s.principal))
    }

    /// Ends one session (log out).
    pub async fn logout(&self, token: &str, ip: &str) -> AppResult<()> {
        let hash = secrets::token_hash(token);
        if let Some(s) = self.sessions.session(&hash).await? {
            let name = s.principal.audit_name();
            let action = match s.principal {
                Principal::User(_) => "user.logout",
                Principal::Staff(_) => "staff.logout",
            };
            let ev = self.audit_event(name.clone(), action, name, Some(ip), json!({}));
            self.sessions
                .delete_session(&hash, Effects::audit(ev))
                .await?;
        }
        Ok(())
    }

    /// Ends every session of the principal (log out everywhere); returns how many ended.
    pub async fn logout_everywhere(&self, principal: Principal, ip: &str) -> AppResult<u64> {
        let name = principal.audit_name();
        let ev = self.audit_event(
            name.clone(),
            "session.logout_all",
            name,
            Some(ip),
            json!({}),
        );
        Ok(self
            .sessions
            .delete_sessions_of(principal, Effects::audit(ev))
            .await?)
    }

    /// The account behind a user session.
    pub async fn current_user(&self, user_id: i64) -> AppResult<User> {
        self.users
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_day_starts_at_16_utc() {
        // 2026-11-23T15:59:59Z is still 23:59:59 on the 23rd in Beijing.
        let t = 1_795_449_599_000;
        assert_eq!(beijing_day_start(t), 1_795_363_200_000);
        assert_eq!(beijing_day_start(t + 1000), t + 1000);
    }

    #[test]
    fn password_rules() {
        assert!(check_new_password("password", "abcdefgh", None).is_err());
        assert!(check_new_password("password", "abc12", None).is_err());
        assert!(check_new_password("password", "abcd1234", Some("abcd1234")).is_ok());
        assert!(matches!(
            check_new_password("password", "abcd1234", Some("abcd1235")),
            Err(AppError::Invalid {
                field: "password_confirm",
                ..
            })
        ));
    }
}
