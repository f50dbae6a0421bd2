//! Limits and timeouts of the account use cases, with the defaults the hall ships with.

use crate::clock::{Millis, HOUR, MINUTE};
use crate::secrets::PasswordCost;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Account and session rules (A3, issue 2).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthPolicy {
    /// How long an SMS code stays valid.
    pub code_ttl_ms: Millis,
    /// Minimum time between two codes for the same phone and purpose.
    pub code_cooldown_ms: Millis,
    /// Codes per phone per (Beijing) day.
    pub code_daily_limit: i64,
    /// Wrong tries that void a code.
    pub code_max_attempts: i64,
    /// Code requests per client IP per hour.
    pub code_ip_hourly_limit: i64,
    /// Wrong passwords before the account is locked.
    pub password_max_failures: i64,
    /// How long a locked account stays locked (the window failures are counted in).
    pub password_lock_ms: Millis,
    /// Failed password logins (applicants and staff) from one address per hour.
    pub login_ip_hourly_limit: i64,
    /// Failed password logins from one subnet (IPv4 /24, IPv6 /64) per hour.
    pub login_subnet_hourly_limit: i64,
    /// A session unused this long ends.
    pub session_idle_ms: Millis,
    /// A session ends this long after login whatever happens.
    pub session_absolute_ms: Millis,
    /// argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    pub argon2_iterations: u32,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        let cost = PasswordCost::default();
        Self {
            code_ttl_ms: 5 * MINUTE,
            code_cooldown_ms: MINUTE,
            code_daily_limit: 10,
            code_max_attempts: 5,
            code_ip_hourly_limit: 30,
            password_max_failures: 5,
            password_lock_ms: 15 * MINUTE,
            login_ip_hourly_limit: 30,
            login_subnet_hourly_limit: 100,
            session_idle_ms: 30 * MINUTE,
            session_absolute_ms: 12 * HOUR,
            argon2_memory_kib: cost.memory_kib,
            argon2_iterations: cost.iterations,
        }
    }
}

impl AuthPolicy {
    /// The password hashing cost these settings give.
    pub fn password_cost(&self) -> PasswordCost {
        PasswordCost {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: 1,
        }
    }
}

/// SMS texts by template name. `{name}` is replaced by the parameter of that name.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct SmsTemplates(pub BTreeMap<String, String>);

impl Default for SmsTemplates {
    fn default() -> Self {
        let mut m = BTreeMap::new();
        m.insert(
            "login_code".into(),
            "【深圳CA】您的验证码为{code},用于登录深圳CA网上营业厅,5分钟内有效。如非本人操作,请忽略本短信。".into(),
        );
        m.insert(
            "reset_code".into(),
            "【深圳CA】您的验证码为{code},用于重置网上营业厅登录密码,5分钟内有效。如非本人操作,请忽略本短信。".into(),
        );
        m.insert(
            "change_phone_code".into(),
            "【深圳CA】您的验证码为{code},用于更换网上营业厅绑定的手机号码,5分钟内有效。如非本人操作,请忽略本短信。".into(),
        );
        // Issue 7: the guide's approval and rejection texts verbatim (FAQ 三), and the PIN,
        // shipping and invoice messages in the same style.
        m.insert(
            "review_approved".into(),
            "【深圳 CA】您好,您提交的新申请业务已经审核通过。请登录 www.szca.com-网上营业厅--个人中心-我的业务单-进行查看。".into(),
        );
        m.insert(
            "review_rejected".into(),
            "【深圳 CA】您好,您提交的新申请业务已被审核驳回。驳回原因: {reason}。请尽快登录 www.szca.com-网上营业厅-个人中心-我的业务单-证书申请进行修改。".into(),
        );
        m.insert(
            "pin_org".into(),
            "【深圳 CA】您好,{name}的机构证书已制证,证书PIN码为{pin},请妥善保管,切勿告知他人。"
                .into(),
        );
        m.insert(
            "pin_person".into(),
            "【深圳 CA】您好,{name}的机构个人证书已制证,证书PIN码为{pin},请妥善保管,切勿告知他人。"
                .into(),
        );
        m.insert(
            "shipped".into(),
            "【深圳 CA】您好,您申请的数字证书已通过{courier}寄出(邮费到付),运单号:{tracking}。请登录 www.szca.com-网上营业厅-个人中心-我的业务单-进行查看。".into(),
        );
        m.insert(
            "invoice".into(),
            "【深圳 CA】您好,您提交的新申请业务已办理完成,电子发票下载链接:{link} 。".into(),
        );
        // Issue 14: the expiry reminder, with the bid warning every hall gives in words.
        m.insert(
            crate::certificates::REMINDER_SMS.into(),
            "【深圳 CA】您好,{name}的{kind}(序列号{serial})将于{date}到期(还有{days}天)。请登录 www.szca.com-网上营业厅-个人中心-我的证书 办理续期。续期前请确认没有用当前加密证书加密、尚未开标解密的投标文件,否则续期后该投标文件将无法解密;如有,请在开标解密后再续期。".into(),
        );
        m.insert(
            crate::payments::FIN_FAILED_SMS.into(),
            "【深圳CA】尊敬的用户您好,您在深圳CA网上营业厅提交的{unit}证书新办金融认证信息认证不通过,驳回原因:{reason}。请登录深圳CA会员账号找到订单号{order_no}重填金融认证信息,金融认证信息通过后才能获取证书PIN码或者证书激活码,具体以财务收到的信息为准,详情请登录深圳CA网上营业厅查看。".into(),
        );
        Self(m)
    }
}

impl SmsTemplates {
    /// Renders a template; an unknown template renders as its parameters so nothing is lost.
    pub fn render(&self, template: &str, params: &[(String, String)]) -> String {
        match self.0.get(template) {
            Some(text) => params.iter().fold(text.clone(), |acc, (k, v)| {
                acc.replace(&format!("{{{k}}}"), v)
            }),
            None => format!(
                "[{template}] {}",
                params
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_parameters() {
        let t = SmsTemplates::default();
        let s = t.render("login_code", &[("code".into(), "012345".into())]);
        assert!(s.starts_with("【深圳CA】您的验证码为012345,"));
        assert_eq!(t.render("nope", &[("a".into(), "1".into())]), "[nope] a=1");
    }
}
