//! 电子邮箱: an e-mail address, checked the practical way (the shape people and mail servers use,
//! not every form RFC 5322 allows).

use crate::text::string_conversions;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an e-mail address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing was typed.
    #[error("请输入电子邮箱")]
    Empty,
    /// More than 254 characters.
    #[error("电子邮箱不能超过254个字符")]
    TooLong,
    /// Full-width characters such as ＠ or ．, typed with a Chinese input method.
    #[error("电子邮箱请使用半角字符(英文输入法)填写,例如 name@example.com")]
    FullWidth,
    /// Not exactly one @.
    #[error("电子邮箱应包含一个@,例如 name@example.com")]
    At,
    /// The part before @ is empty, too long or holds characters mail systems do not accept.
    #[error("电子邮箱@前面的部分不正确,只能使用英文字母、数字和 . _ - + 等符号")]
    Local,
    /// The part after @ is not a domain name with a dot, such as example.com.
    #[error("电子邮箱@后面的域名不正确,例如 qq.com、163.com")]
    Domain,
}

/// An e-mail address: at most 254 characters, one `@`, a local part of 1–64 characters
/// (letters, digits and ``!#$%&'*+/=?^_`{|}~.-``, no leading, trailing or doubled dot) and a
/// domain of at least two dot-separated labels (letters, digits, inner hyphens, each at most
/// 63 characters; the last label letters only, or an `xn--` IDN label). The domain is stored
/// in lower case, the local part as typed. Quoted local parts, IP-literal domains and
/// non-ASCII addresses are refused; they do not occur in practice for 电子发票 mailboxes.
///
/// Personal data: there is no `Display`; pages that show the whole value call `as_str`,
/// and `Debug` prints the masked form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses what a person typed (surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        if s.chars()
            .any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3002}')
        {
            return Err(EmailError::FullWidth);
        }
        let mut parts = s.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) => (l, d),
            _ => return Err(EmailError::At),
        };
        if !valid_local(local) {
            return Err(EmailError::Local);
        }
        let domain = domain.to_ascii_lowercase();
        if !valid_domain(&domain) {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain, after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }

    /// The address as shown where the whole of it is not needed: z***@example.com.
    pub fn masked(&self) -> String {
        let local = self.0.split('@').next().unwrap_or_default();
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{}", self.domain())
    }
}

fn valid_local(local: &str) -> bool {
    (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || domain.len() > 253 {
        return false;
    }
    let labels_ok = labels.iter().all(|l| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    });
    let tld = labels[labels.len() - 1];
    let tld_ok =
        (tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())) || tld.starts_with("xn--");
    labels_ok && tld_ok
}

string_conversions!(Email, EmailError);

/// Debug never prints the whole address, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        assert_eq!(
            Email::parse(" zhang.san@QQ.com ").unwrap().as_str(),
            "zhang.san@qq.com"
        );
        assert_eq!(
            Email::parse("Li_Si+invoice@mail.example.com.cn")
                .unwrap()
                .domain(),
            "mail.example.com.cn"
        );
        assert!(Email::parse("a@b.co").is_ok());
        assert!(Email::parse("x@xn--fiqs8s.xn--fiqs8s").is_ok());
    }

    #[test]
    fn refuses_what_mail_cannot_reach() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse("zhangsan＠qq.com"), Err(EmailError::FullWidth));
        assert_eq!(Email::parse("zhangsan@qq。com"), Err(EmailError::FullWidth));
        for bad in ["zhangsan", "zhang@san@qq.com"] {
            assert_eq!(Email::parse(bad), Err(EmailError::At), "{bad}");
        }
        for bad in [
            "@qq.com",
            ".a@qq.com",
            "a.@qq.com",
            "a..b@qq.com",
            "a b@qq.com",
            "张三@qq.com",
            "a\0@qq.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Local), "{bad:?}");
        }
        for bad in [
            "a@qq",
            "a@",
            "a@.com",
            "a@qq..com",
            "a@-qq.com",
            "a@qq-.com",
            "a@qq.c",
            "a@qq.123",
            "a@qq_x.com",
            "a@q\nq.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Domain), "{bad:?}");
        }
        let local = "a".repeat(65);
        assert_eq!(
            Email::parse(&format!("{local}@qq.com")),
            Err(EmailError::Local)
        );
        let long = format!("a@{}.com", "b".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn masks_and_hides_from_debug() {
        let e = Email::parse("zhangsan@qq.com").unwrap();
        assert_eq!(e.masked(), "z***@qq.com");
        assert!(!format!("{e:?}").contains("zhangsan"));
    }
}
