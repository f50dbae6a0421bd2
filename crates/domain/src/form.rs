//! The 录入信息 form of 证书新办 (B4), described once. [`describe_form!`] turns one table —
//! each field's name, value type, section, label, input kind, length, hint, how it is shown
//! and a sample value — into:
//!
//! - [`FIELDS`] and [`PERSON_FIELDS`], which the wizard's sections, the preview, the
//!   reviewer's view, the change list after a rejection and the test fixtures read;
//! - [`Application`] and [`Applicant`], the parsed form with one typed value per field;
//! - the parsing of a [`FormInput`] (what was typed, by field name) into an [`Application`],
//!   with a Chinese message per refused field.
//!
//! Adding a field is one line in the table below: nothing else names the fields one by one.
//! Rules that join several fields (at least one certificate, 开户名 = 单位名称, the project's
//! certificate types) are in [`FormInput::parse`].

use crate::catalogue::{CertType, Project};
use crate::{
    Address, BankAccount, BankName, Date, Email, IdNumber, JobTitle, Money, PersonName, Phone,
    TaxNumber, UnitName,
};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// Most 机构个人证书 one order may hold.
pub const MAX_PERSONS: usize = 20;

/// How a field is typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A tick box ("1" when ticked).
    Checkbox,
    /// 办理年限: a choice of 1–5 years.
    Years,
    /// 是 / 否 (`yes` / `no`).
    YesNo,
    /// One line of text.
    Text,
    /// A telephone number.
    Tel,
    /// An e-mail address.
    Email,
}

impl Input {
    /// The HTML `type` of a one-line input.
    pub fn html_type(self) -> &'static str {
        match self {
            Input::Tel => "tel",
            Input::Email => "email",
            _ => "text",
        }
    }
}

/// Who is looking at a value (what may be shown in full depends on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The applicant on the preview: personal identifiers masked (the page may be printed
    /// or seen over a shoulder; the full values were typed a moment ago).
    Applicant,
    /// A reviewer, who checks ID numbers and phones against the scans: only bank accounts
    /// stay masked (finance, not review, works with them).
    Reviewer,
}

/// How a field's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Always in full.
    Clear,
    /// An identifier of a person (身份证号码, phone): masked for the applicant's preview, in
    /// full for reviewers.
    Personal,
    /// A bank account: masked for everyone here.
    Account,
}

impl Shown {
    /// Whether `audience` sees the value masked.
    pub fn masked_for(self, audience: Audience) -> bool {
        match self {
            Shown::Clear => false,
            Shown::Personal => audience == Audience::Applicant,
            Shown::Account => true,
        }
    }
}

/// A section of the form, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// Stable key the fields refer to.
    pub key: &'static str,
    /// Heading.
    pub title: &'static str,
    /// Note under the heading.
    pub note: &'static str,
    /// The 申请人 rows: repeated once per 机构个人证书 ([`PERSON_FIELDS`]).
    pub repeated: bool,
    /// Shown on the preview and the reviewer's field list (the certificate choice is shown
    /// there as priced lines instead).
    pub listed: bool,
}

/// The sections in page order.
pub const SECTIONS: &[Section] = &[
    Section {
        key: "cert",
        title: "证书类型",
        note: "证书类型: 机构证书、机构个人证书 (可同时办理多张机构个人证书);办理年限: 1-5年。机构个人证书请在下方申请人信息中逐张添加,每张证书一位申请人。",
        repeated: false,
        listed: false,
    },
    Section {
        key: "unit",
        title: "单位信息",
        note: "",
        repeated: false,
        listed: true,
    },
    Section {
        key: "legal",
        title: "法人信息",
        note: "",
        repeated: false,
        listed: true,
    },
    Section {
        key: "handler",
        title: "经办人信息",
        note: "",
        repeated: false,
        listed: true,
    },
    Section {
        key: "bank",
        title: "金融认证信息",
        note: "单位对公银行账户,用于金融认证(小额打款)",
        repeated: false,
        listed: true,
    },
    Section {
        key: "persons",
        title: "申请人信息",
        note: "办理机构个人证书需填写,每张证书一位申请人",
        repeated: true,
        listed: true,
    },
    Section {
        key: "mail",
        title: "邮寄信息",
        note: "数字证书将以邮寄方式寄出(邮费到付)",
        repeated: false,
        listed: true,
    },
    Section {
        key: "invoice",
        title: "电子发票信息",
        note: "",
        repeated: false,
        listed: true,
    },
];

/// One field of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Form name (`persons.{i}.{name}` for [`PERSON_FIELDS`]).
    pub name: &'static str,
    /// Label beside the input, on the preview and for reviewers.
    pub label: &'static str,
    /// Key of its [`Section`].
    pub section: &'static str,
    /// How it is typed in.
    pub input: Input,
    /// Longest input in characters (0: not a text input).
    pub max: usize,
    /// 温馨提示 under the input.
    pub hint: &'static str,
    /// How its value is shown.
    pub shown: Shown,
    /// A valid value, for examples and test fixtures.
    pub sample: &'static str,
    /// Required only when this [`Input::Checkbox`] field is ticked.
    pub only_if: Option<&'static str>,
}

impl Field {
    const DEFAULT: Field = Field {
        name: "",
        label: "",
        section: "",
        input: Input::Text,
        max: 0,
        hint: "",
        shown: Shown::Clear,
        sample: "",
        only_if: None,
    };

    /// A single-valued field by name.
    pub fn named(name: &str) -> Option<&'static Field> {
        FIELDS.iter().find(|f| f.name == name)
    }

    /// The fields of a section, in order.
    pub fn of_section(key: &str) -> impl Iterator<Item = &'static Field> + '_ {
        FIELDS
            .iter()
            .chain(PERSON_FIELDS)
            .filter(move |f| f.section == key)
    }

    /// The label without the "申请人" a person row's heading already says.
    pub fn short_label(&self) -> &'static str {
        match self.label.strip_prefix("申请人") {
            Some(rest) if self.section == "persons" => rest,
            _ => self.label,
        }
    }

    /// How a typed value reads on a page for `audience`: years as "N年", 是/否, ticks,
    /// masked where the audience does not need the whole value.
    pub fn display(&self, typed: &str, audience: Audience) -> String {
        let v = typed.trim();
        match self.input {
            Input::Years => return format!("{v}年"),
            Input::YesNo => {
                return match v {
                    "yes" => "是".into(),
                    "no" => "否".into(),
                    _ => String::new(),
                }
            }
            Input::Checkbox => return if is_ticked(v) { "是" } else { "否" }.into(),
            _ => {}
        }
        if !self.shown.masked_for(audience) {
            return v.to_owned();
        }
        match self.shown {
            Shown::Account => {
                let n = v.chars().count();
                let tail: String = v.chars().skip(n.saturating_sub(4)).collect();
                format!("****{tail}")
            }
            _ => crate::mask::mask_middle(v, 3, 4),
        }
    }

    /// How a parsed value reads on a page for `audience`.
    pub fn show(&self, v: &dyn Shows, audience: Audience) -> String {
        if !self.shown.masked_for(audience) {
            return v.text();
        }
        match (self.shown, audience) {
            (Shown::Account, Audience::Reviewer) => {
                let t = v.text();
                let n = t.chars().count();
                let tail: String = t.chars().skip(n.saturating_sub(4)).collect();
                format!("****{tail}")
            }
            _ => v.masked(),
        }
    }
}

/// Whether a checkbox value means ticked.
pub fn is_ticked(v: &str) -> bool {
    matches!(v.trim(), "1" | "true" | "on" | "yes")
}

/// A value type of the form: parsed from what was typed, with a Chinese message when refused.
pub trait FieldValue: Sized + Shows {
    /// Parses a typed value; `today` bounds dates (birth dates in ID numbers).
    fn parse_field(input: &str, today: Date) -> Result<Self, String>;
}

/// How a parsed value reads on a page.
pub trait Shows {
    /// In full, normalised (as parsed).
    fn text(&self) -> String;
    /// Masked, where the whole value is not needed.
    fn masked(&self) -> String {
        self.text()
    }
}

macro_rules! field_values {
    ($($t:ty => $masked:expr),* $(,)?) => {$(
        impl FieldValue for $t {
            fn parse_field(input: &str, _today: Date) -> Result<Self, String> {
                <$t>::parse(input).map_err(|e| e.to_string())
            }
        }
        impl Shows for $t {
            fn text(&self) -> String {
                self.as_str().to_owned()
            }
            fn masked(&self) -> String {
                let f: fn(&$t) -> String = $masked;
                f(self)
            }
        }
    )*};
}
field_values!(
    UnitName => |v| v.as_str().to_owned(),
    crate::CreditCode => |v| v.as_str().to_owned(),
    Address => Address::masked,
    PersonName => PersonName::masked,
    Phone => Phone::masked,
    Email => Email::masked,
    JobTitle => |v| v.as_str().to_owned(),
    BankName => |v| v.as_str().to_owned(),
    BankAccount => BankAccount::masked,
    TaxNumber => TaxNumber::masked,
);

impl FieldValue for IdNumber {
    fn parse_field(input: &str, today: Date) -> Result<Self, String> {
        IdNumber::parse(input, today).map_err(|e| e.to_string())
    }
}

impl Shows for IdNumber {
    fn text(&self) -> String {
        self.as_str().to_owned()
    }
    fn masked(&self) -> String {
        IdNumber::masked(self)
    }
}

/// 办理年限: 1 to 5 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Years(u8);

impl Years {
    /// The number of years.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Years {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        if (1..=5).contains(&v) {
            Ok(Self(v))
        } else {
            Err("请选择办理年限(1-5年)".into())
        }
    }
}

impl Shows for Years {
    fn text(&self) -> String {
        format!("{}年", self.0)
    }
}

impl Shows for bool {
    fn text(&self) -> String {
        if *self { "是" } else { "否" }.into()
    }
}

impl Shows for Ticked {
    fn text(&self) -> String {
        self.0.text()
    }
}

impl From<Years> for u8 {
    fn from(y: Years) -> u8 {
        y.0
    }
}

impl FieldValue for Years {
    fn parse_field(input: &str, _today: Date) -> Result<Self, String> {
        let v: u8 = input
            .trim()
            .parse()
            .map_err(|_| "请选择办理年限(1-5年)".to_owned())?;
        Years::try_from(v)
    }
}

/// A 是/否 choice.
impl FieldValue for bool {
    fn parse_field(input: &str, _today: Date) -> Result<Self, String> {
        match input.trim() {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err("请选择“是”或“否”".into()),
        }
    }
}

/// A tick box: never refused (unticked is an answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ticked(pub bool);

impl FieldValue for Ticked {
    fn parse_field(input: &str, _today: Date) -> Result<Self, String> {
        Ok(Ticked(is_ticked(input)))
    }
}

/// Messages by field name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    /// One message.
    pub fn one(field: &str, msg: &str) -> Self {
        let mut e = Self::default();
        e.add(field, msg.into());
        e
    }
    /// Adds a message unless the field has one already.
    pub fn add(&mut self, field: &str, msg: String) {
        self.0.entry(field.into()).or_insert(msg);
    }
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_one<T: FieldValue>(
    errs: &mut FieldErrors,
    name: &str,
    typed: &str,
    today: Date,
) -> Option<T> {
    match T::parse_field(typed, today) {
        Ok(v) => Some(v),
        Err(m) => {
            errs.add(name, m);
            None
        }
    }
}

/// One line of the table: `name: Type [if checkbox] { attributes }`.
macro_rules! describe_form {
    (
        fields { $( $name:ident : $ty:ty $([if $cond:ident])? { $($k:ident : $v:expr),* $(,)? } )* }
        persons { $( $pname:ident : $pty:ty { $($pk:ident : $pv:expr),* $(,)? } )* }
    ) => {
        /// The single-valued fields, in page order.
        #[allow(clippy::needless_update)] // a line may give every attribute
        pub const FIELDS: &[Field] = &[$(
            Field {
                name: stringify!($name),
                only_if: describe_form!(@cond $($cond)?),
                $($k: $v,)*
                ..Field::DEFAULT
            },
        )*];

        /// The fields of one 申请人 row (`persons.{i}.{name}`), in page order.
        #[allow(clippy::needless_update)]
        pub const PERSON_FIELDS: &[Field] = &[$(
            Field {
                name: stringify!($pname),
                section: "persons",
                $($pk: $pv,)*
                ..Field::DEFAULT
            },
        )*];

        /// The form, every field parsed: what a valid application holds. Stored with the
        /// order when the form is saved, so a saved form keeps its validity.
        #[derive(Clone, Debug, Serialize, Deserialize)]
        pub struct Application {
            $(
                #[allow(missing_docs)]
                pub $name: describe_form!(@ty $ty $(, $cond)?),
            )*
            /// 申请人, one per 机构个人证书.
            pub persons: Vec<Applicant>,
        }

        /// One 机构个人证书 holder, parsed.
        #[derive(Clone, Debug, Serialize, Deserialize)]
        pub struct Applicant {
            $(
                #[allow(missing_docs)]
                pub $pname: $pty,
            )*
        }

        impl Application {
            /// The parsed value of a single-valued field by name (`None` for an unknown name
            /// or a conditional field left out).
            pub fn shows(&self, name: &str) -> Option<&dyn Shows> {
                match name {
                    $( stringify!($name) => describe_form!(@shows self.$name $(, $cond)?), )*
                    _ => None,
                }
            }
        }

        impl Applicant {
            /// The parsed value of a person field by name.
            pub fn shows(&self, name: &str) -> Option<&dyn Shows> {
                match name {
                    $( stringify!($pname) => Some(&self.$pname as &dyn Shows), )*
                    _ => None,
                }
            }
        }

        fn parse_fields(
            form: &FormInput,
            today: Date,
            errs: &mut FieldErrors,
        ) -> Option<Application> {
            $(
                let $name: Option<describe_form!(@ty $ty $(, $cond)?)> =
                    describe_form!(@parse form, errs, today, $name, $ty $(, $cond)?);
            )*
            let mut persons = Vec::new();
            for (i, p) in form.persons.iter().enumerate() {
                $(
                    let $pname: Option<$pty> = parse_one(
                        errs,
                        &format!("persons.{i}.{}", stringify!($pname)),
                        p.get(stringify!($pname)),
                        today,
                    );
                )*
                if let ($(Some($pname),)*) = ($($pname,)*) {
                    persons.push(Applicant { $($pname,)* });
                }
            }
            Some(Application { $($name: $name?,)* persons })
        }
    };
    (@shows $v:expr) => { Some(&$v as &dyn Shows) };
    (@shows $v:expr, $c:ident) => { $v.as_ref().map(|v| v as &dyn Shows) };
    (@cond) => { None };
    (@cond $c:ident) => { Some(stringify!($c)) };
    (@ty $t:ty) => { $t };
    (@ty $t:ty, $c:ident) => { Option<$t> };
    (@parse $form:ident, $errs:ident, $today:ident, $name:ident, $t:ty) => {
        parse_one::<$t>($errs, stringify!($name), $form.get(stringify!($name)), $today)
    };
    (@parse $form:ident, $errs:ident, $today:ident, $name:ident, $t:ty, $c:ident) => {
        match &$c {
            Some(Ticked(true)) => parse_one::<$t>(
                $errs,
                stringify!($name),
                $form.get(stringify!($name)),
                $today,
            )
            .map(Some),
            _ => Some(None),
        }
    };
}

describe_form! {
    fields {
        org_cert: Ticked { section: "cert", label: "机构证书", input: Input::Checkbox, sample: "1" }
        org_years: Years [if org_cert] {
            section: "cert", label: "机构证书办理年限", input: Input::Years, sample: "2",
        }
        seal: bool {
            section: "cert", label: "是否办理电子印章", input: Input::YesNo, sample: "yes",
        }
        unit_name: UnitName {
            section: "unit", label: "单位名称", max: 60, sample: "深圳市某某科技有限公司",
        }
        credit_code: crate::CreditCode {
            section: "unit", label: "统一社会信用代码", max: 18, sample: "91110000600037341L",
        }
        unit_address: Address {
            section: "unit", label: "单位地址", max: 100, sample: "广东省深圳市福田区深南大道1号",
        }
        legal_name: PersonName { section: "legal", label: "法人姓名", max: 30, sample: "李大明" }
        legal_id: IdNumber {
            section: "legal", label: "法人身份证号码", max: 18, shown: Shown::Personal,
            sample: "11010519491231002X",
        }
        legal_phone: Phone {
            section: "legal", label: "法人手机号码", input: Input::Tel, max: 11,
            shown: Shown::Personal, sample: "13900139000",
        }
        handler_name: PersonName {
            section: "handler", label: "单位经办人姓名", max: 30, sample: "张小明",
        }
        handler_id: IdNumber {
            section: "handler", label: "身份证号码", max: 18, shown: Shown::Personal,
            sample: "11010519491231002X",
        }
        handler_phone: Phone {
            section: "handler", label: "移动电话", input: Input::Tel, max: 11,
            hint: "温馨提示: 请填写实名手机号码", shown: Shown::Personal, sample: "13800138000",
        }
        handler_email: Email {
            section: "handler", label: "常用联系邮箱", input: Input::Email, max: 100,
            hint: "温馨提示: 此邮箱用于接收电子发票,请正确填写", sample: "zhangsan@qq.com",
        }
        handler_title: JobTitle { section: "handler", label: "职务", max: 30, sample: "财务经理" }
        bank_account_name: UnitName {
            section: "bank", label: "开户名", max: 60, sample: "深圳市某某科技有限公司",
        }
        bank_name: BankName {
            section: "bank", label: "开户银行", max: 60, sample: "中国工商银行深圳市分行",
        }
        bank_account: BankAccount {
            section: "bank", label: "银行账号", max: 32, shown: Shown::Account,
            sample: "44201500100052526093",
        }
        mail_recipient: PersonName { section: "mail", label: "收件人", max: 30, sample: "张小明" }
        mail_phone: Phone {
            section: "mail", label: "收件人电话", input: Input::Tel, max: 11,
            shown: Shown::Personal, sample: "13800138000",
        }
        mail_address: Address {
            section: "mail", label: "收件地址", max: 100, sample: "广东省深圳市福田区深南大道1号",
        }
        invoice_title: UnitName {
            section: "invoice", label: "发票抬头", max: 60, sample: "深圳市某某科技有限公司",
        }
        invoice_tax_no: TaxNumber {
            section: "invoice", label: "纳税人识别号", max: 20, sample: "91110000600037341L",
        }
        invoice_email: Email {
            section: "invoice", label: "发票接收邮箱", input: Input::Email, max: 100,
            sample: "zhangsan@qq.com",
        }
    }
    persons {
        name: PersonName { label: "申请人姓名", max: 30, sample: "王一" }
        id_number: IdNumber {
            label: "申请人身份证号码", max: 18, shown: Shown::Personal, sample: "11010519491231002X",
        }
        phone: Phone {
            label: "申请人手机号码", input: Input::Tel, max: 11, shown: Shown::Personal,
            hint: "温馨提示: 请填写实名手机号码,证书PIN码将发送至此号码", sample: "13700137000",
        }
        years: Years { label: "办理年限", input: Input::Years, sample: "1" }
    }
}

/// A typed value: strings as typed; booleans and numbers from JSON clients and from drafts
/// stored before the form was described here are read as their text.
#[derive(Clone, Default, PartialEq, Eq)]
struct Typed(String);

impl<'de> Deserialize<'de> for Typed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Typed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Typed, E> {
                Ok(Typed(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Typed, E> {
                Ok(Typed(if v { "1" } else { "" }.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Typed, E> {
                Ok(Typed(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Typed, E> {
                Ok(Typed(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Typed, E> {
                Ok(Typed(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Typed, E> {
                Ok(Typed(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One 申请人 row as typed, by field name ([`PERSON_FIELDS`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PersonInput(BTreeMap<&'static str, String>);

impl PersonInput {
    /// The typed value of a person field; "" if none or unknown.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
    /// Sets a person field; unknown names are ignored.
    pub fn set(&mut self, name: &str, value: String) {
        if let Some(f) = PERSON_FIELDS.iter().find(|f| f.name == name) {
            self.0.insert(f.name, value);
        }
    }
    /// A row filled with every field's sample value.
    pub fn sample() -> Self {
        let mut p = Self::default();
        for f in PERSON_FIELDS {
            p.set(f.name, f.sample.into());
        }
        p
    }
    fn same_person(&self, other: &PersonInput) -> bool {
        let norm = crate::text::identifier_chars;
        norm(self.get("id_number")) == norm(other.get("id_number"))
            && self.get("name").trim() == other.get("name").trim()
    }
}

/// The 录入信息 form as typed: every value a string by field name, so a refused form can be
/// shown again exactly as typed. Unknown names are dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FormInput {
    values: BTreeMap<&'static str, String>,
    /// 申请人 rows, one per 机构个人证书.
    pub persons: Vec<PersonInput>,
}

impl fmt::Debug for FormInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FormInput(persons={}, ..)", self.persons.len())
    }
}

impl fmt::Debug for PersonInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonInput(..)")
    }
}

fn checkbox_json(f: &Field, v: &str) -> serde_json_free::Value {
    if f.input == Input::Checkbox {
        serde_json_free::Value::Bool(is_ticked(v))
    } else {
        serde_json_free::Value::Str(v.to_owned())
    }
}

/// A tiny value for serialising without serde_json (domain has no JSON dependency).
mod serde_json_free {
    use serde::{Serialize, Serializer};
    pub enum Value {
        Bool(bool),
        Str(String),
    }
    impl Serialize for Value {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Value::Bool(b) => s.serialize_bool(*b),
                Value::Str(v) => s.serialize_str(v),
            }
        }
    }
}

impl Serialize for PersonInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(PERSON_FIELDS.len()))?;
        for f in PERSON_FIELDS {
            m.serialize_entry(f.name, self.get(f.name))?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for PersonInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Typed>::deserialize(d)?;
        let mut p = PersonInput::default();
        for (k, v) in raw {
            p.set(&k, v.0);
        }
        Ok(p)
    }
}

/// Every field by name (checkboxes as JSON booleans), `persons` as a list of rows: the shape
/// the JSON API takes and returns and the sealed draft stores.
impl Serialize for FormInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(FIELDS.len() + 1))?;
        for f in FIELDS {
            m.serialize_entry(f.name, &checkbox_json(f, self.get(f.name)))?;
        }
        m.serialize_entry("persons", &self.persons)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for FormInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FormInput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the 录入信息 form as an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FormInput, A::Error> {
                let mut form = FormInput::default();
                while let Some(k) = map.next_key::<String>()? {
                    if k == "persons" {
                        let rows: Vec<PersonInput> = map.next_value()?;
                        form.persons = rows.into_iter().take(MAX_PERSONS + 1).collect();
                    } else {
                        let v: Typed = map.next_value()?;
                        form.set(&k, v.0);
                    }
                }
                Ok(form)
            }
        }
        d.deserialize_map(V)
    }
}

impl FormInput {
    /// The typed value of a field or of `persons.{i}.{field}`; "" if none or unknown.
    pub fn get(&self, name: &str) -> &str {
        if let Some((i, field)) = person_key(name) {
            return self.persons.get(i).map(|p| p.get(field)).unwrap_or("");
        }
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// Sets a field or `persons.{i}.{field}` (rows are created up to [`MAX_PERSONS`]);
    /// unknown names are ignored.
    pub fn set(&mut self, name: &str, value: String) {
        if let Some((i, field)) = person_key(name) {
            if i >= MAX_PERSONS {
                return;
            }
            while self.persons.len() <= i {
                self.persons.push(PersonInput::default());
            }
            self.persons[i].set(field, value);
            return;
        }
        if let Some(f) = Field::named(name) {
            self.values.insert(f.name, value);
        }
    }

    /// Whether a checkbox field is ticked.
    pub fn ticked(&self, name: &str) -> bool {
        is_ticked(self.get(name))
    }

    /// A form with every field's sample value and `persons` sample rows: valid for the
    /// built-in catalogue (examples, test fixtures).
    pub fn sample(persons: usize) -> Self {
        let mut f = Self::default();
        for field in FIELDS {
            f.set(field.name, field.sample.into());
        }
        f.persons = (0..persons.min(MAX_PERSONS))
            .map(|_| PersonInput::sample())
            .collect();
        f
    }

    /// The `(name, value)` pairs a browser would post for this form.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = FIELDS
            .iter()
            .filter(|f| f.input != Input::Checkbox || self.ticked(f.name))
            .map(|f| (f.name.to_owned(), self.get(f.name).to_owned()))
            .collect();
        for (i, p) in self.persons.iter().enumerate() {
            for f in PERSON_FIELDS {
                v.push((format!("persons.{i}.{}", f.name), p.get(f.name).to_owned()));
            }
        }
        v
    }

    /// Parses every field; on failure, a Chinese message per field name.
    pub fn parse(&self, project: &Project, today: Date) -> Result<Application, FieldErrors> {
        let mut errs = FieldErrors::default();
        if self.persons.len() > MAX_PERSONS {
            errs.add(
                "persons",
                format!("一次最多办理{MAX_PERSONS}张机构个人证书"),
            );
        }
        let org = self.ticked("org_cert");
        if !org && self.persons.is_empty() {
            errs.add(
                "org_cert",
                "请至少选择一张证书:机构证书或机构个人证书".into(),
            );
        }
        if org && !project.allows(CertType::Org) {
            errs.add("org_cert", "该项目不办理机构证书".into());
        }
        if !self.persons.is_empty() && !project.allows(CertType::OrgPerson) {
            errs.add("persons", "该项目不办理机构个人证书".into());
        }
        let app = parse_fields(self, today, &mut errs);
        if let (Ok(account), Ok(unit)) = (
            UnitName::parse(self.get("bank_account_name")),
            UnitName::parse(self.get("unit_name")),
        ) {
            if account.as_str() != unit.as_str() {
                errs.add(
                    "bank_account_name",
                    "开户名须与单位名称一致(金融认证向单位对公账户打款)".into(),
                );
            }
        }
        if app.is_none() && errs.is_empty() {
            errs.add("form", "申请信息不完整".into());
        }
        match app {
            Some(a) if errs.is_empty() => Ok(a),
            _ => Err(errs),
        }
    }

    /// Replaces each one-line value by its normal form as `app` (this form, parsed) holds it:
    /// identifiers without spaces, in ASCII and upper case (`11010519491231002X` for
    /// ` １１０１０５１９４９１２３１００２x `), phones without +86 and dashes, texts trimmed. A saved
    /// form is stored this way, so what is reopened, reviewed and printed is what was checked.
    pub fn normalise(&mut self, app: &Application) {
        let line = |f: &Field| matches!(f.input, Input::Text | Input::Tel | Input::Email);
        for f in FIELDS.iter().filter(|f| line(f)) {
            if let Some(v) = app.shows(f.name) {
                self.values.insert(f.name, v.text());
            }
        }
        for (row, person) in self.persons.iter_mut().zip(&app.persons) {
            for f in PERSON_FIELDS.iter().filter(|f| line(f)) {
                if let Some(v) = person.shows(f.name) {
                    row.set(f.name, v.text());
                }
            }
        }
    }

    /// Drops the 申请人 uploads' owners that changed: the indexes of `old`'s rows whose
    /// person is not the same in `self` (removed, moved, or another number).
    pub fn changed_person_rows(&self, old: &FormInput) -> Vec<usize> {
        old.persons
            .iter()
            .enumerate()
            .filter(|(i, o)| !self.persons.get(*i).is_some_and(|p| p.same_person(o)))
            .map(|(i, _)| i)
            .collect()
    }
}

fn person_key(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("persons.")?;
    let (i, field) = rest.split_once('.')?;
    Some((i.parse().ok()?, field))
}

/// One priced line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriceLine {
    /// What (机构证书, 机构个人证书 - 张三, 电子印章).
    pub label: String,
    /// Years (0 for the seal).
    pub years: u8,
    /// Amount.
    pub amount: Money,
}

impl Application {
    /// The certificate lines: (type, years), 机构证书 first.
    pub fn cert_lines(&self) -> Vec<(CertType, u8)> {
        let mut v = Vec::new();
        if let Some(y) = self.org_years {
            v.push((CertType::Org, y.get()));
        }
        for p in &self.persons {
            v.push((CertType::OrgPerson, p.years.get()));
        }
        v
    }

    /// The holder of certificate line `line` ([`Application::cert_lines`] order): `None` for
    /// the 机构证书, the 申请人 for a 机构个人证书.
    pub fn line_holder(&self, line: usize) -> Option<&Applicant> {
        let offset = usize::from(self.org_years.is_some());
        line.checked_sub(offset).and_then(|i| self.persons.get(i))
    }

    /// Priced lines and the total.
    pub fn price(&self, project: &Project) -> Result<(Vec<PriceLine>, Money), crate::MoneyError> {
        let mut lines = Vec::new();
        let per = |t: CertType| project.price_per_year(t).unwrap_or(Money::ZERO);
        if let Some(y) = self.org_years {
            lines.push(PriceLine {
                label: CertType::Org.label().into(),
                years: y.get(),
                amount: per(CertType::Org).checked_mul(i64::from(y.get()))?,
            });
        }
        for p in &self.persons {
            lines.push(PriceLine {
                label: format!("{}({})", CertType::OrgPerson.label(), p.name.as_str()),
                years: p.years.get(),
                amount: per(CertType::OrgPerson).checked_mul(i64::from(p.years.get()))?,
            });
        }
        if self.seal {
            lines.push(PriceLine {
                label: "电子印章".into(),
                years: 0,
                amount: Money::from_fen(project.seal_price_fen),
            });
        }
        let total = Money::checked_sum(lines.iter().map(|l| l.amount))?;
        Ok((lines, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalogue;

    fn today() -> Date {
        Date::new(2026, 11, 23).unwrap()
    }

    #[test]
    fn the_table_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for f in FIELDS.iter().chain(PERSON_FIELDS) {
            assert!(
                SECTIONS.iter().any(|s| s.key == f.section),
                "{} has no section",
                f.name
            );
            assert!(!f.label.is_empty() && !f.sample.is_empty(), "{}", f.name);
            if matches!(f.input, Input::Text | Input::Tel | Input::Email) {
                assert!(f.max > 0, "{} has no length", f.name);
                assert!(
                    f.sample.chars().count() <= f.max,
                    "{} sample too long",
                    f.name
                );
            }
            if let Some(c) = f.only_if {
                assert_eq!(Field::named(c).map(|c| c.input), Some(Input::Checkbox));
            }
        }
        for f in FIELDS {
            assert!(names.insert(f.name), "{} twice", f.name);
        }
        assert_eq!(
            SECTIONS.iter().filter(|s| s.repeated).count(),
            1,
            "one repeated section"
        );
    }

    #[test]
    fn samples_make_a_valid_application_and_every_field_a_message() {
        let c = Catalogue::builtin().unwrap();
        let p = c.project("szjt-sm2").unwrap();
        let a = FormInput::sample(2).parse(p, today()).unwrap();
        assert_eq!(a.cert_lines().len(), 3);
        assert!(a.line_holder(0).is_none());
        assert_eq!(a.line_holder(2).map(|h| h.name.as_str()), Some("王一"));

        let mut f = FormInput::default();
        f.set("persons.0.name", "x\u{0}".into());
        let errs = f.parse(p, today()).unwrap_err();
        for field in FIELDS.iter().filter(|f| f.input != Input::Checkbox) {
            if field.only_if.is_none() {
                assert!(
                    errs.0.contains_key(field.name),
                    "{} has no message",
                    field.name
                );
            }
        }
        for field in PERSON_FIELDS {
            assert!(errs.0.contains_key(&format!("persons.0.{}", field.name)));
        }
    }

    #[test]
    fn a_parsed_form_keeps_the_normal_form_of_each_identifier() {
        let c = Catalogue::builtin().unwrap();
        let p = c.project("szjt-sm2").unwrap();
        let mut f = FormInput::sample(1);
        f.set("legal_id", " 11010519491231002x ".into());
        f.set("handler_id", "１１０１０５１９４９１２３１００２ｘ".into());
        f.set("credit_code", "\u{3000}9111 0000 6000 3734 1l".into());
        f.set(
            "invoice_tax_no",
            "９１１１００００６０００３７３４１ｌ".into(),
        );
        f.set("bank_account", "4420 1500 1000 5252 6093".into());
        f.set("handler_phone", "+86 138-0013-8000".into());
        f.set("persons.0.id_number", "11010519491231002x".into());
        f.set("persons.0.phone", "１３７００１３７０００".into());
        f.set("unit_name", "  深圳市某某科技有限公司 ".into());
        let app = f.parse(p, today()).unwrap();
        f.normalise(&app);
        assert_eq!(f.get("legal_id"), "11010519491231002X");
        assert_eq!(f.get("handler_id"), "11010519491231002X");
        assert_eq!(f.get("credit_code"), "91110000600037341L");
        assert_eq!(f.get("invoice_tax_no"), "91110000600037341L");
        assert_eq!(f.get("bank_account"), "44201500100052526093");
        assert_eq!(f.get("handler_phone"), "13800138000");
        assert_eq!(f.get("persons.0.id_number"), "11010519491231002X");
        assert_eq!(f.get("persons.0.phone"), "13700137000");
        assert_eq!(f.get("unit_name"), "深圳市某某科技有限公司");
        // Choices are left as the form posts them.
        assert_eq!(f.get("org_years"), "2");
        assert_eq!(f.get("seal"), "yes");
        assert_eq!(f.get("persons.0.years"), "1");
        // Normalising again changes nothing, and the result still parses to the same values.
        let again = f.clone();
        f.normalise(&f.parse(p, today()).unwrap());
        assert_eq!(f, again);
    }

    #[test]
    fn reads_json_of_drafts_stored_before_and_of_api_clients() {
        let old = r#"{"org_cert":true,"org_years":"2","seal":"yes","unit_name":"某公司",
            "nonsense":"x","persons":[{"name":"王一","years":3}]}"#;
        let f: FormInput = serde_json::from_str(old).unwrap();
        assert!(f.ticked("org_cert"));
        assert_eq!(f.get("org_years"), "2");
        assert_eq!(f.get("persons.0.years"), "3");
        assert_eq!(f.get("nonsense"), "");
        let back = serde_json::to_value(&f).unwrap();
        assert_eq!(back["org_cert"], serde_json::Value::Bool(true));
        assert_eq!(back["persons"][0]["name"], "王一");
        assert!(back.get("nonsense").is_none());
    }

    #[test]
    fn values_are_shown_per_audience() {
        let id = Field::named("legal_id").unwrap();
        let acct = Field::named("bank_account").unwrap();
        assert_ne!(
            id.display("11010519491231002X", Audience::Applicant),
            "11010519491231002X"
        );
        assert_eq!(
            id.display("11010519491231002X", Audience::Reviewer),
            "11010519491231002X"
        );
        assert_eq!(
            acct.display("44201500100052526093", Audience::Reviewer),
            "****6093"
        );
        assert_eq!(
            Field::named("seal")
                .unwrap()
                .display("no", Audience::Reviewer),
            "否"
        );
        assert_eq!(PERSON_FIELDS[1].short_label(), "身份证号码");
    }
}
