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
        // The guide's approval and rejection texts verbatim (FAQ 一), and the PIN, shipping and
        // invoice messages in the same style; FAQ 六's 金融认证 text below. The test
        // `texts_are_the_guides` compares them with the guide (docs/guide).
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
            crate::revocation::REVOKED_SMS.into(),
            "【深圳 CA】您好,{name}的{kind}(序列号{serial})及其加密证书已于{date}注销,原因:{reason}。如非本单位申请,请尽快致电客服。".into(),
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
            "【深圳CA】尊敬的用户您好,您在深圳CA网上营业厅提交的{unit}证书新办金融认证信息认证不通过,驳回原因:{reason},金融认证信息通过后才能获取证书PIN码或者证书激活码,具体以财务收到的信息为准详情请登录深圳CA网上服务厅{hall_url}查看。".into(),
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

/// The guide's example values for the parameters of each SMS the guide quotes (FAQ 一 and
/// 六), so that the text sent for them reads as the guide: (template, parameters).
pub const GUIDE_EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    ("review_approved", &[]),
    (
        "review_rejected",
        &[("reason", "如身份证复印件未加盖公章等")],
    ),
    (
        crate::payments::FIN_FAILED_SMS,
        &[
            ("unit", "广州棒谷科技"),
            ("reason", "请登录深圳CA会员账号找到订单号重证信息"),
            ("hall_url", "http://wt.szca.net"),
        ],
    ),
];

/// What an SMS template is for, in Chinese (the staff 短信记录 names templates this way).
pub fn template_title(template: &str) -> &'static str {
    match template {
        "login_code" => "登录验证码",
        "reset_code" => "重置密码验证码",
        "change_phone_code" => "更换手机号码验证码",
        "review_approved" => "审核通过通知",
        "review_rejected" => "审核驳回通知",
        "pin_org" => "机构证书PIN码",
        "pin_person" => "机构个人证书PIN码",
        "cert_expiry" => "证书到期提醒",
        "shipped" => "证书寄出通知",
        crate::revocation::REVOKED_SMS => "证书注销通知",
        "invoice" => "电子发票通知",
        crate::payments::FIN_FAILED_SMS => "金融认证不通过通知",
        _ => "其他短信",
    }
}

impl SmsTemplates {
    /// A template filled with the guide's example values ([`GUIDE_EXAMPLES`]): what the FAQ
    /// page quotes. `None` for a template the guide does not quote.
    pub fn guide_example(&self, template: &str) -> Option<String> {
        let (_, params) = GUIDE_EXAMPLES.iter().find(|(t, _)| *t == template)?;
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Some(self.render(template, &params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CA's user guide, as the project received it.
    const GUIDE: &str = include_str!("../../../docs/guide/online-hall-guide.zh.txt");

    #[test]
    fn texts_are_the_guides() {
        let t = SmsTemplates::default();
        for (template, _) in GUIDE_EXAMPLES {
            let text = t.guide_example(template).unwrap();
            assert!(
                GUIDE.contains(&text),
                "{template} is not the guide's sentence: {text}"
            );
            // Every parameter the template takes is one of the examples: nothing is left
            // as a placeholder.
            assert!(!text.contains('{'), "{template}: {text}");
        }
        // What the hall sends for FAQ 六 keeps the guide's words around the reason, with
        // the configured address in place of the guide's.
        let sent = t.render(
            crate::payments::FIN_FAILED_SMS,
            &[
                ("unit".into(), "深圳市某某科技有限公司".into()),
                ("reason".into(), "开户名与账户不符".into()),
                ("hall_url".into(), "https://hall.example.cn".into()),
            ],
        );
        assert!(sent.starts_with("【深圳CA】尊敬的用户您好,您在深圳CA网上营业厅提交的深圳市某某科技有限公司证书新办金融认证信息认证不通过,驳回原因:开户名与账户不符,"), "{sent}");
        assert!(
            sent.ends_with(
                "具体以财务收到的信息为准详情请登录深圳CA网上服务厅https://hall.example.cn查看。"
            ),
            "{sent}"
        );
        assert_eq!(t.guide_example("pin_org"), None);
        // Every built-in template has a Chinese title for the staff pages.
        for name in t.0.keys() {
            assert_ne!(template_title(name), "其他短信", "{name}");
        }
    }

    #[test]
    fn renders_parameters() {
        let t = SmsTemplates::default();
        let s = t.render("login_code", &[("code".into(), "012345".into())]);
        assert!(s.starts_with("【深圳CA】您的验证码为012345,"));
        assert_eq!(t.render("nope", &[("a".into(), "1".into())]), "[nope] a=1");
    }
}
