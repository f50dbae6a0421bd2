//! 在线支付 and 金融认证 (D1–D6): the choice of method, the bank transfer with its voucher and
//! the statement matching, online payments through the [`PaymentGateway`] port with verified
//! idempotent callbacks, the micro-deposit (小额打款) through the [`Payouts`] port with its
//! memo code, the FAQ (六) failure path, refunds and the reconciliation report.
//!
//! Every change to an order here is an [`OrderChange`] from the order door, applied by the
//! payment stores in one transaction with the payment, credit or deposit row it goes with.
//! Use cases driven by outside events (a gateway's notification, a statement line, a code)
//! read the order again and retry when it changed in between.

pub mod statement;

use crate::authz::{Operator, Permission, StaffActor};
use crate::blobs::Blobs;
use crate::clock::Millis;
use crate::desk::ReviewStore;
use crate::model::{Effects, OutgoingSms};
use crate::orders::door::RETRIES;
use crate::orders::{OrderBook, OrderChange, OrderRecord};
use crate::ports::{AuditStore, StoreResult};
use crate::production::Production;
use crate::{secrets, uploads, AppError, AppResult, GatewayError};
use async_trait::async_trait;
use domain::order::{FinState, OrderState, Wanted};
use domain::{BankAccount, BankName, Money, Phone, UnitName};
use std::sync::Arc;

/// Payment method of a [`PaymentRecord`].
pub const BANK_TRANSFER: &str = "bank_transfer";
/// Payment method of a [`PaymentRecord`] paid through a gateway.
pub const ONLINE: &str = "online";

/// State of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayState {
    /// Online payment started, not paid yet.
    Created,
    /// Bank transfer: voucher uploaded, waiting for the statement match.
    Voucher,
    /// Money received.
    Paid,
    /// Refund requested from the gateway (recorded before the call), not confirmed yet: a
    /// retry asks again with the same refund number, which the gateway deduplicates. A
    /// gateway that answers "processing" (WeChat Pay `PROCESSING`) keeps it here until its
    /// refund query or refund notification gives a final state.
    Refunding,
    /// Refunded.
    Refunded,
    /// The gateway could not pay the refund out (WeChat Pay `ABNORMAL`: the payer's card was
    /// closed or frozen, or `CLOSED`): the money did not reach the payer. Finance asks again
    /// or records how it was handled (商户平台, bank transfer).
    RefundAbnormal,
}

impl PayState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Voucher => "voucher",
            Self::Paid => "paid",
            Self::Refunding => "refunding",
            Self::Refunded => "refunded",
            Self::RefundAbnormal => "refund_abnormal",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Created,
            Self::Voucher,
            Self::Paid,
            Self::Refunding,
            Self::Refunded,
            Self::RefundAbnormal,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
    /// Label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "待支付",
            Self::Voucher => "已上传汇款凭证,待到账匹配",
            Self::Paid => "已到账",
            Self::Refunding => "退款中",
            Self::Refunded => "已退款",
            Self::RefundAbnormal => "退款异常",
        }
    }
}

/// A payment as stored.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    /// Row id.
    pub id: i64,
    /// Order row id.
    pub order_id: i64,
    /// 业务单号.
    pub order_no: String,
    /// [`BANK_TRANSFER`] or [`ONLINE`].
    pub method: String,
    /// Gateway name (`sandbox`, `alipay`, `wechat`) or `bank`.
    pub provider: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// ISO 4217.
    pub currency: String,
    /// State.
    pub state: PayState,
    /// Our reference sent to the gateway (out_trade_no), unique.
    pub trade_no: String,
    /// The gateway's or bank's reference, once paid.
    pub provider_ref: Option<String>,
    /// The voucher blob (bank transfer).
    pub voucher_blob: Option<String>,
    /// Created.
    pub created_at: Millis,
    /// Paid.
    pub paid_at: Option<Millis>,
    /// Refunded amount in fen.
    pub refunded_fen: i64,
    /// Refund reference.
    pub refund_ref: Option<String>,
    /// Refunded at.
    pub refunded_at: Option<Millis>,
}

/// A payment to insert.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Order row id.
    pub order_id: i64,
    /// 业务单号.
    pub order_no: String,
    /// Method.
    pub method: &'static str,
    /// Provider.
    pub provider: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// State.
    pub state: PayState,
    /// Unique reference.
    pub trade_no: String,
    /// Provider reference (bank entry).
    pub provider_ref: Option<String>,
    /// Voucher blob.
    pub voucher_blob: Option<String>,
    /// When.
    pub at: Millis,
}

/// What a guarded write of the payment stores did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written.
    Done,
    /// The payment, credit or deposit row was no longer in the state the write expected
    /// (someone else got there first): nothing written.
    Taken,
    /// The order changed since it was read: nothing written; read it again and retry.
    Stale,
}

/// State of a bank credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditState {
    /// Imported, not decided yet.
    New,
    /// Matched to an order (automatically or by finance).
    Matched,
    /// Waiting for finance (partial, ambiguous or unknown).
    Manual,
    /// Finance rejected it (with a reason).
    Rejected,
    /// Not a CNY credit: nothing to match.
    Ignored,
}

impl CreditState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Matched => "matched",
            Self::Manual => "manual",
            Self::Rejected => "rejected",
            Self::Ignored => "ignored",
        }
    }
    /// Parses.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::New,
            Self::Matched,
            Self::Manual,
            Self::Rejected,
            Self::Ignored,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "待匹配",
            Self::Matched => "已匹配",
            Self::Manual => "待人工处理",
            Self::Rejected => "已退回",
            Self::Ignored => "无需匹配",
        }
    }
}

/// A credit from an imported statement.
#[derive(Debug, Clone)]
pub struct CreditRecord {
    /// Row id.
    pub id: i64,
    /// The bank's reference.
    pub entry_ref: String,
    /// Booking date.
    pub booked_on: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// Currency.
    pub currency: String,
    /// Payer name.
    pub payer_name: String,
    /// Payer account (opened; mask before showing).
    pub payer_account: String,
    /// Memo.
    pub memo: String,
    /// State.
    pub state: CreditState,
    /// Matched (or suggested) order.
    pub order_no: Option<String>,
    /// Why it is where it is.
    pub reason: String,
    /// Who decided.
    pub decided_by: Option<String>,
}

/// A statement to record.
#[derive(Debug, Clone)]
pub struct NewStatement {
    /// SHA-256 of the file.
    pub sha256: String,
    /// Format.
    pub format: &'static str,
    /// File name as given.
    pub file_name: String,
    /// Who imported (`staff:ID`, `cli`).
    pub imported_by: String,
    /// When.
    pub at: Millis,
}

/// A decision on a credit.
#[derive(Debug, Clone)]
pub struct CreditDecision {
    /// Credit row id.
    pub credit_id: i64,
    /// The states it may be in now.
    pub from: Vec<CreditState>,
    /// New state.
    pub to: CreditState,
    /// Order.
    pub order_no: Option<String>,
    /// Reason.
    pub reason: String,
    /// Who (`None` for the automatic matcher).
    pub decided_by: Option<String>,
    /// When.
    pub at: Millis,
}

/// State of a micro-deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositState {
    /// Sent; the code may be entered.
    Sent,
    /// The right code was entered.
    Passed,
    /// Five wrong codes.
    Void,
    /// Replaced by a new one (re-send).
    Superseded,
    /// Bounced or failed by finance.
    Failed,
}

impl DepositState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Passed => "passed",
            Self::Void => "void",
            Self::Superseded => "superseded",
            Self::Failed => "failed",
        }
    }
    /// Parses.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Sent,
            Self::Passed,
            Self::Void,
            Self::Superseded,
            Self::Failed,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sent => "已打款,待输入验证码",
            Self::Passed => "验证通过",
            Self::Void => "验证码已作废",
            Self::Superseded => "已重新打款",
            Self::Failed => "打款失败",
        }
    }
}

/// A micro-deposit as stored.
#[derive(Debug, Clone)]
pub struct DepositRecord {
    /// Row id.
    pub id: i64,
    /// Order row id.
    pub order_id: i64,
    /// 业务单号.
    pub order_no: String,
    /// Payouts provider.
    pub provider: String,
    /// Provider reference.
    pub provider_ref: String,
    /// Amount in fen (under 1 元).
    pub amount_fen: i64,
    /// Payee name.
    pub account_name: String,
    /// Payee account (opened).
    pub account: String,
    /// The memo (附言) with the code (opened; only the sandbox statement shows it).
    pub memo: String,
    /// Keyed hash of the code.
    pub code_hash: String,
    /// Wrong tries.
    pub attempts: i64,
    /// State.
    pub state: DepositState,
    /// Sent at.
    pub created_at: Millis,
    /// Expires at.
    pub expires_at: Millis,
}

/// A micro-deposit to record.
#[derive(Debug, Clone)]
pub struct NewDeposit {
    /// Order row id.
    pub order_id: i64,
    /// 业务单号.
    pub order_no: String,
    /// Provider.
    pub provider: String,
    /// Provider reference.
    pub provider_ref: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// Payee name.
    pub account_name: String,
    /// Payee account.
    pub account: String,
    /// Memo.
    pub memo: String,
    /// Keyed hash of the code.
    pub code_hash: String,
    /// Sent at.
    pub at: Millis,
    /// Expires at.
    pub expires_at: Millis,
}

/// Persistence of payments. Each method is one transaction; an [`OrderChange`] commits
/// with it or not at all, with its history entry, audit rows and SMS.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Inserts a payment with an optional order change and `fx`. `None` when the change
    /// found the order changed (nothing written).
    async fn insert_payment(
        &self,
        p: &NewPayment,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Option<PaymentRecord>>;
    /// A payment by our reference.
    async fn payment_by_trade_no(&self, trade_no: &str) -> StoreResult<Option<PaymentRecord>>;
    /// A payment by id.
    async fn payment_by_id(&self, id: i64) -> StoreResult<Option<PaymentRecord>>;
    /// Payments of an order, oldest first.
    async fn payments_of_order(&self, order_id: i64) -> StoreResult<Vec<PaymentRecord>>;
    /// Payments of several orders, by order then oldest first.
    async fn payments_of_orders(&self, order_ids: &[i64]) -> StoreResult<Vec<PaymentRecord>>;
    /// Payments paid in `[from, to)`, or refunded then.
    async fn payments_between(&self, from: Millis, to: Millis) -> StoreResult<Vec<PaymentRecord>>;
    /// Marks a payment paid if it is still `created` (`Taken` otherwise: exactly one caller
    /// credits it) and applies `change` with it.
    async fn credit_payment(
        &self,
        payment_id: i64,
        provider_ref: &str,
        at: Millis,
        change: &OrderChange,
    ) -> StoreResult<Applied>;
    /// Marks a paid payment `refunding` before the gateway is asked, with `change` to its
    /// order and `fx` (same transaction).
    async fn request_refund(
        &self,
        payment_id: i64,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Applied>;
    /// Paid (or refunding) payments that are not the first money received for their
    /// order: a second payment of an order already paid, to refund.
    async fn duplicate_payments(&self) -> StoreResult<Vec<PaymentRecord>>;
    /// Moves a payment being refunded (`refunding` or `refund_abnormal`) to `to` (one of
    /// those two) with the gateway's refund reference, `change` and `fx` (same
    /// transaction); `Taken` if it is in neither state any more.
    async fn mark_refund(
        &self,
        payment_id: i64,
        to: PayState,
        refund_ref: &str,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Applied>;
    /// Records the refund of a `refunding` (or `refund_abnormal`) payment and applies
    /// `change` to its order (same transaction).
    async fn refund_payment(
        &self,
        payment_id: i64,
        amount_fen: i64,
        refund_ref: &str,
        at: Millis,
        change: &OrderChange,
    ) -> StoreResult<Applied>;
}

/// Persistence of bank statements and their credits.
#[async_trait]
pub trait StatementStore: Send + Sync {
    /// Records a statement and inserts its entries not seen before (by `entry_ref`), in
    /// state `new` (`ignored` for debits and other currencies). `None` if the same file was
    /// imported before. Returns the statement id and how many entries were new.
    async fn insert_statement(
        &self,
        st: &NewStatement,
        entries: &[statement::StatementEntry],
    ) -> StoreResult<Option<(i64, usize)>>;
    /// Credits in a state, oldest first.
    async fn credits_in_state(&self, state: CreditState) -> StoreResult<Vec<CreditRecord>>;
    /// All credits, newest first (at most `limit`).
    async fn credits(&self, limit: i64) -> StoreResult<Vec<CreditRecord>>;
    /// A credit.
    async fn credit_by_id(&self, id: i64) -> StoreResult<Option<CreditRecord>>;
    /// Decides a credit while it is in `d.from`; with a match, the order's bank-transfer
    /// payment is marked paid (or `payment` inserted) and `change` applied, all at once.
    async fn decide_credit(
        &self,
        d: &CreditDecision,
        payment: Option<&NewPayment>,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Applied>;
}

/// Persistence of micro-deposits (金融认证).
#[async_trait]
pub trait DepositStore: Send + Sync {
    /// Records a micro-deposit (the order's earlier `sent` ones become `superseded`), with
    /// an optional order change and `fx`; `None` when the change found the order changed
    /// (nothing written).
    async fn insert_deposit(
        &self,
        d: &NewDeposit,
        change: Option<&OrderChange>,
        fx: Effects,
    ) -> StoreResult<Option<DepositRecord>>;
    /// Micro-deposits of an order, newest first.
    async fn deposits_of_order(&self, order_id: i64) -> StoreResult<Vec<DepositRecord>>;
    /// Micro-deposits of a provider, newest first (the sandbox statement).
    async fn deposits_of_provider(
        &self,
        provider: &str,
        limit: i64,
    ) -> StoreResult<Vec<DepositRecord>>;
    /// Counts a wrong code on a `sent` deposit; returns the attempts after it. At `max` the
    /// deposit becomes `void` and `at_max` applies in the same transaction; `None` (nothing
    /// written) when that change found the order changed.
    async fn deposit_wrong(
        &self,
        id: i64,
        max: i64,
        at_max: &OrderChange,
    ) -> StoreResult<Option<i64>>;
    /// Moves a `sent` deposit to `to` with `change` (`Taken` if it was not `sent` any
    /// more). Without a deposit only `change` is applied.
    async fn decide_deposit(
        &self,
        id: Option<i64>,
        to: DepositState,
        at: Millis,
        change: &OrderChange,
    ) -> StoreResult<Applied>;
}

// ---- gateway ports ----

/// What to ask a payment gateway for.
#[derive(Debug, Clone)]
pub struct PayRequest {
    /// Our unique reference (out_trade_no).
    pub trade_no: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// What is bought (shown by the gateway).
    pub subject: String,
    /// Where the gateway posts the notification.
    pub notify_url: String,
    /// Where the payer's browser returns.
    pub return_url: String,
}

/// How the payer continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayStart {
    /// Send the browser to this URL (Alipay page pay, the sandbox gateway page).
    Redirect(String),
    /// Show this as a QR code (WeChat native pay `code_url`).
    QrCode(String),
}

/// A notification as received (headers lower-cased).
#[derive(Debug, Clone)]
pub struct Notification {
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Notification {
    /// A header by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The status a verified notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStatus {
    /// Paid.
    Paid,
    /// Not paid yet (e.g. WAIT_BUYER_PAY).
    Pending,
    /// Closed or refunded: never credits.
    Closed,
}

/// What a verified notification says.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Our reference.
    pub trade_no: String,
    /// The gateway's transaction id.
    pub provider_ref: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// Currency.
    pub currency: String,
    /// Merchant (app id / mchid) the payment went to.
    pub merchant: String,
    /// Status.
    pub status: NoticeStatus,
}

/// The answer the gateway expects.
#[derive(Debug, Clone)]
pub struct Ack {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
}

/// A refund to ask for.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// Our reference of the payment.
    pub trade_no: String,
    /// Our refund reference.
    pub refund_no: String,
    /// Amount paid in fen.
    pub total_fen: i64,
    /// Amount to refund in fen.
    pub amount_fen: i64,
    /// Reason.
    pub reason: String,
    /// Where the gateway posts the refund notification (WeChat Pay `notify_url`).
    pub notify_url: String,
}

/// Where a refund stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// The money went back (Alipay `10000`, WeChat Pay `SUCCESS`).
    Succeeded,
    /// Accepted, not paid out yet (WeChat Pay `PROCESSING`): ask again or wait for the
    /// refund notification.
    Processing,
    /// Could not be paid out (WeChat Pay `ABNORMAL`): the money did not reach the payer.
    Abnormal,
    /// Closed by the gateway without paying out (WeChat Pay `CLOSED`).
    Closed,
}

/// The gateway's answer about one refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAnswer {
    /// The gateway's refund reference (WeChat Pay `refund_id`, Alipay `trade_no`).
    pub refund_ref: String,
    /// Its state.
    pub status: RefundStatus,
}

/// What a verified refund notification says.
#[derive(Debug, Clone)]
pub struct RefundNotice {
    /// Our payment reference (out_trade_no).
    pub trade_no: String,
    /// Our refund number (out_refund_no).
    pub refund_no: String,
    /// Merchant the refund belongs to.
    pub merchant: String,
    /// The refund's state.
    pub answer: RefundAnswer,
}

/// A payment gateway (D3). Real ones speak the provider's protocol; the sandbox plays the
/// gateway with its own key.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Name in configuration and URLs (`sandbox`, `alipay`, `wechat`).
    fn name(&self) -> &'static str;
    /// Label for the payer.
    fn label(&self) -> &'static str;
    /// Our merchant id at the gateway; notifications for another are refused.
    fn merchant(&self) -> String;
    /// Starts a payment.
    async fn start(&self, req: &PayRequest) -> Result<PayStart, GatewayError>;
    /// Verifies a notification's signature (and freshness where the protocol has one) and
    /// reads it. Any failure refuses it.
    fn verify(&self, n: &Notification, now: Millis) -> Result<Notice, GatewayError>;
    /// The answer to a notification (`ok` = handled).
    fn ack(&self, ok: bool) -> Ack;
    /// Asks for a refund (idempotent on `refund_no`); answers where it stands.
    async fn refund(&self, req: &RefundRequest) -> Result<RefundAnswer, GatewayError>;
    /// Where an asked-for refund stands now. Gateways whose refunds are final at once need
    /// not answer (the default refuses).
    async fn query_refund(&self, _req: &RefundRequest) -> Result<RefundAnswer, GatewayError> {
        Err(GatewayError::Refused("该支付机构不提供退款查询".into()))
    }
    /// Verifies and reads a refund notification (WeChat Pay `REFUND.*`). The default refuses:
    /// a gateway without refund notifications has nothing to post.
    fn verify_refund(&self, _n: &Notification, _now: Millis) -> Result<RefundNotice, GatewayError> {
        Err(GatewayError::Refused("该支付机构没有退款通知".into()))
    }
    /// The sandbox only: the signed notification its checkout page sends when the payer
    /// confirms. Real gateways answer `None`.
    fn sandbox_notification(&self, _trade_no: &str, _amount_fen: i64) -> Option<Notification> {
        None
    }
}

/// A micro-deposit to pay out.
#[derive(Debug, Clone)]
pub struct Payout {
    /// Our reference.
    pub reference: String,
    /// Payee name (the unit's 开户名).
    pub account_name: String,
    /// Payee bank.
    pub bank_name: String,
    /// Payee account.
    pub account: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// Memo (附言) with the code.
    pub memo: String,
}

/// Pays micro-deposits out (D4).
#[async_trait]
pub trait Payouts: Send + Sync {
    /// Name.
    fn name(&self) -> &'static str;
    /// Whether the sandbox statement page is on.
    fn is_sandbox(&self) -> bool;
    /// Sends (or queues) a payout; returns the provider's reference.
    async fn send(&self, p: &Payout) -> Result<String, GatewayError>;
}

/// Settings of the payment use cases.
#[derive(Debug, Clone)]
pub struct PaymentSettings {
    /// The CA's receiving account: name.
    pub payee_name: String,
    /// Bank.
    pub payee_bank: String,
    /// Account number.
    pub payee_account: String,
    /// Public base URL for notify/return URLs (`https://wt.example.cn`).
    pub public_url: String,
    /// Micro-deposit code lifetime.
    pub code_ttl_ms: Millis,
    /// Wrong codes before the code is void.
    pub max_code_attempts: i64,
    /// Micro-deposits per order (first one included).
    pub max_deposits: usize,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            payee_name: "深圳市电子商务安全证书管理有限公司".into(),
            payee_bank: "中国工商银行深圳市分行营业部".into(),
            payee_account: "4000023009200181386".into(),
            public_url: "http://127.0.0.1:8080".into(),
            code_ttl_ms: 7 * 86_400_000,
            max_code_attempts: 5,
            max_deposits: 3,
        }
    }
}

/// The gateways, payouts and settings the binary configures.
#[derive(Clone)]
pub struct PaymentParts {
    /// Gateways offered to payers, by name.
    pub gateways: Vec<Arc<dyn PaymentGateway>>,
    /// Micro-deposits.
    pub payouts: Arc<dyn Payouts>,
    /// Settings.
    pub settings: PaymentSettings,
}

// ---- views ----

/// What the payment page shows.
#[derive(Debug, Clone)]
pub struct PaymentView {
    /// The order.
    pub order: OrderRecord,
    /// Amount due.
    pub amount: Money,
    /// Payments so far.
    pub payments: Vec<PaymentRecord>,
    /// Micro-deposits so far (newest first).
    pub deposits: Vec<DepositRecord>,
    /// The unit name.
    pub unit_name: String,
    /// Masked payee account of the micro-deposit.
    pub masked_account: String,
    /// A code may be entered now.
    pub code_open: bool,
    /// A new micro-deposit may be asked for.
    pub can_resend: bool,
    /// Why 金融认证 failed last (what the FAQ 六 SMS said), while it stands failed.
    pub fin_reason: Option<String>,
}

/// One payment as 我的订单 lists it.
#[derive(Debug, Clone)]
pub struct MyPayment {
    /// 业务单号.
    pub order_no: String,
    /// The order's state label.
    pub order_state: &'static str,
    /// The payment.
    pub payment: PaymentRecord,
    /// The channel in Chinese (支付宝, 微信支付, 公对公转账汇款, …).
    pub channel: String,
}

/// 我的订单: every payment of the applicant's orders, and the orders waiting for the
/// micro-deposit code (随机码), which may be entered there.
#[derive(Debug, Clone, Default)]
pub struct MyPayments {
    /// Payments, newest first.
    pub payments: Vec<MyPayment>,
    /// Orders whose code may be entered now: (业务单号, masked payee account, code valid until).
    pub code_open: Vec<(String, String, Millis)>,
}

/// Result of importing a statement.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Format.
    pub format: String,
    /// The same file was imported before: nothing changed.
    pub duplicate_file: bool,
    /// Entries in the file.
    pub entries: usize,
    /// Entries not seen before.
    pub new_entries: usize,
    /// (entry_ref, order_no) matched automatically.
    pub matched: Vec<(String, String)>,
    /// (entry_ref, reason) sent to the manual queue.
    pub manual: Vec<(String, String)>,
    /// Entries ignored (debits, other currencies).
    pub ignored: usize,
}

/// One line of the reconciliation report.
#[derive(Debug, Clone)]
pub struct ReconLine {
    /// 业务单号.
    pub order_no: String,
    /// Method.
    pub method: String,
    /// Provider.
    pub provider: String,
    /// Provider reference.
    pub provider_ref: String,
    /// Paid amount (fen).
    pub paid_fen: i64,
    /// Refunded amount (fen).
    pub refunded_fen: i64,
    /// Order price (fen).
    pub due_fen: i64,
    /// Order state label.
    pub order_state: String,
    /// `ok` or what is wrong.
    pub check: String,
}

/// Fen as a plain yuan amount (`1234.50`).
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A gateway's refusal or outage of a refund, logged with the provider's own code and message
/// (never personal data: the refund is named by its payment) and shown to finance.
fn gw_logged(p: &PaymentRecord, e: GatewayError) -> AppError {
    tracing::warn!(payment.id = p.id, payment.provider = %p.provider, error = %e, "refund not accepted by the gateway");
    gw(e)
}

/// Job kind: ask the gateway again where a processing refund stands (payload `payment`).
pub const TRACK_REFUND: &str = "payment.refund_track";

fn gw(e: GatewayError) -> AppError {
    match e {
        GatewayError::Unavailable(m) => AppError::Unavailable(m),
        GatewayError::Refused(m) => AppError::Conflict(format!("支付机构拒绝了请求:{m}")),
    }
}

fn conflict(m: &str) -> AppError {
    AppError::Conflict(m.into())
}

/// The SMS template of FAQ (六).
pub const FIN_FAILED_SMS: &str = "fin_failed";

/// How the history entry of a 金融认证 failure starts; the reason follows.
const FIN_FAILED_WHAT: &str = "金融认证不通过:";

/// 在线支付, 金融认证 and finance: the applicant's payment page, voucher, online payment and
/// micro-deposit code; the gateways' notifications; finance's statements, manual matching,
/// 金融认证 failures, refunds and reconciliation.
#[derive(Clone)]
pub struct Billing {
    pub(crate) book: OrderBook,
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) statements: Arc<dyn StatementStore>,
    pub(crate) deposits: Arc<dyn DepositStore>,
    pub(crate) gateways: Arc<Vec<Arc<dyn PaymentGateway>>>,
    pub(crate) payouts: Arc<dyn Payouts>,
    pub(crate) settings: Arc<PaymentSettings>,
    pub(crate) blobs: Arc<dyn Blobs>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) claims: Arc<dyn ReviewStore>,
    pub(crate) claim_ttl_ms: Millis,
    pub(crate) code_key: Arc<Vec<u8>>,
    pub(crate) production: Production,
    pub(crate) jobs: Arc<dyn crate::ports::JobStore>,
}

impl Billing {
    fn now(&self) -> Millis {
        self.book.now()
    }

    fn gateway(&self, name: &str) -> Option<Arc<dyn PaymentGateway>> {
        self.gateways.iter().find(|g| g.name() == name).cloned()
    }

    /// The gateways offered to payers: (name, label).
    pub fn gateway_choices(&self) -> Vec<(&'static str, &'static str)> {
        self.gateways
            .iter()
            .map(|g| (g.name(), g.label()))
            .collect()
    }

    /// The merchant number of a gateway (shown on the sandbox checkout page).
    pub fn merchant_of(&self, gateway: &str) -> Option<String> {
        self.gateway(gateway).map(|g| g.merchant().to_owned())
    }

    /// The CA's receiving account and the micro-deposit rules, for the payment page.
    pub fn settings(&self) -> &PaymentSettings {
        &self.settings
    }

    /// The amount due for an order, from the catalogue price (fen).
    pub fn amount_due(&self, o: &OrderRecord) -> AppResult<Money> {
        let a = self.book.application(o)?;
        let p = o
            .draft
            .project(&self.book.catalogue)
            .ok_or_else(|| AppError::Internal("order without project".into()))?;
        let (_, total) = a.price(p).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(total)
    }

    async fn payment_view_of(&self, o: OrderRecord) -> AppResult<PaymentView> {
        let amount = self.amount_due(&o)?;
        let payments = self.payments.payments_of_order(o.id).await?;
        let deposits = self.deposits.deposits_of_order(o.id).await?;
        let now = self.now();
        let code_open = o.fin_state == FinState::Pending
            && deposits
                .first()
                .is_some_and(|d| d.state == DepositState::Sent && d.expires_at > now);
        let online_paid = payments
            .iter()
            .any(|p| p.method == ONLINE && p.state == PayState::Paid);
        let can_resend = o.fin_state == FinState::Pending
            && (online_paid || o.paid_at.is_some())
            && !code_open
            && deposits.len() < self.settings.max_deposits;
        let masked_account = BankAccount::parse(o.draft.form.get("bank_account"))
            .map(|a| a.masked())
            .unwrap_or_default();
        let fin_reason = if o.fin_state == FinState::Failed {
            self.book
                .store
                .order_events(o.id)
                .await?
                .into_iter()
                .rev()
                .find_map(|e| e.what.strip_prefix(FIN_FAILED_WHAT).map(str::to_owned))
        } else {
            None
        };
        Ok(PaymentView {
            unit_name: o.draft.form.get("unit_name").to_owned(),
            masked_account,
            order: o,
            amount,
            payments,
            deposits,
            code_open,
            can_resend,
            fin_reason,
        })
    }

    /// The payment page of one of the applicant's orders.
    pub async fn payment_view(&self, user_id: i64, no: &str) -> AppResult<PaymentView> {
        let o = self.book.mine(user_id, no).await?;
        if matches!(o.state, OrderState::Draft | OrderState::PendingVerification) {
            return Err(conflict("请先完成申请资料提交和经办人在线认证,再进行缴费"));
        }
        self.payment_view_of(o).await
    }

    /// An order's payments and micro-deposits, newest deposit first, for the review desk and
    /// finance (what was paid, how, when; where 金融认证 stands).
    pub async fn order_payments_for_staff(
        &self,
        actor: &StaffActor,
        no: &str,
    ) -> AppResult<(OrderRecord, Vec<PaymentRecord>, Vec<DepositRecord>)> {
        actor
            .require(Permission::ReviewOrders)
            .or_else(|_| actor.require(Permission::ManagePayments))?;
        let o = self.book.get(no).await?;
        let payments = self.payments.payments_of_order(o.id).await?;
        let deposits = self.deposits.deposits_of_order(o.id).await?;
        Ok((o, payments, deposits))
    }

    /// 我的订单: the payments of all of the applicant's orders, newest first, with their
    /// channel in Chinese, and the orders whose micro-deposit code (随机码) may be entered now.
    pub async fn my_payments(&self, user_id: i64) -> AppResult<MyPayments> {
        let orders = self.book.store.orders_of_user(user_id).await?;
        let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
        let mut out = MyPayments::default();
        for p in self.payments.payments_of_orders(&ids).await? {
            if let Some(o) = orders.iter().find(|o| o.id == p.order_id) {
                out.payments.push(MyPayment {
                    order_no: o.no.to_string(),
                    order_state: o.state.label(),
                    channel: self.channel_label(&p.provider),
                    payment: p,
                });
            }
        }
        out.payments
            .sort_by_key(|p| std::cmp::Reverse((p.payment.created_at, p.payment.id)));
        let now = self.now();
        for o in orders
            .iter()
            .filter(|o| o.state == OrderState::PendingFinancial && o.fin_state == FinState::Pending)
        {
            let open = self
                .deposits
                .deposits_of_order(o.id)
                .await?
                .into_iter()
                .next()
                .filter(|d| d.state == DepositState::Sent && d.expires_at > now);
            if let Some(d) = open {
                let masked = BankAccount::parse(o.draft.form.get("bank_account"))
                    .map(|a| a.masked())
                    .unwrap_or_default();
                out.code_open.push((o.no.to_string(), masked, d.expires_at));
            }
        }
        Ok(out)
    }

    /// A payment channel (a payment's provider) in Chinese: the configured gateway's label,
    /// 公对公转账汇款 for a bank transfer.
    pub fn channel_label(&self, provider: &str) -> String {
        if let Some(g) = self.gateway(provider) {
            return g.label().to_owned();
        }
        match provider {
            "bank" => "公对公转账汇款",
            "alipay" => "支付宝",
            "wechat" => "微信支付",
            "sandbox" => "沙箱支付(演示)",
            _ => "其他渠道",
        }
        .to_owned()
    }

    /// 公对公转账汇款: the handler uploads the 汇款凭证 (same checks as the wizard's uploads);
    /// the order moves 待支付 → 待审核, where review waits for the statement match.
    pub async fn upload_voucher(&self, user_id: i64, no: &str, bytes: &[u8]) -> AppResult<()> {
        let o = self.book.mine(user_id, no).await?;
        o.state
            .require(&[OrderState::PendingPayment], Wanted::Pay)?;
        let amount = self.amount_due(&o)?;
        let file = uploads::check("file", bytes).await?;
        let what = format!(
            "选择公对公转账汇款,上传汇款凭证(SHA-256 {}…),等待财务匹配到账",
            &file.sha256[..16]
        );
        let actor = format!("user:{user_id}");
        let change = self
            .book
            .move_to(&o, OrderState::InReview, actor.clone(), what)?
            .audit(self.book.audit_event(
                actor,
                "payment.voucher_uploaded",
                format!("order:{}", o.no),
                None,
                serde_json::json!({"amount_fen": amount.fen()}),
            ));
        let blob = self.blobs.put(file.bytes).await?;
        let p = NewPayment {
            order_id: o.id,
            order_no: o.no.to_string(),
            method: BANK_TRANSFER,
            provider: "bank".into(),
            amount_fen: amount.fen(),
            state: PayState::Voucher,
            trade_no: format!("BT{}", secrets::random_hex(10)),
            provider_ref: None,
            voucher_blob: Some(blob.clone()),
            at: self.now(),
        };
        let r = self
            .payments
            .insert_payment(&p, Some(&change), Effects::default())
            .await;
        match r {
            Ok(Some(_)) => Ok(()),
            other => {
                let _ = self.blobs.delete(&blob).await;
                other?;
                Err(AppError::Stale)
            }
        }
    }

    /// The voucher file of a payment, for its owner.
    pub async fn voucher_file(
        &self,
        user_id: i64,
        no: &str,
        payment_id: i64,
    ) -> AppResult<(String, Vec<u8>)> {
        let o = self.book.mine(user_id, no).await?;
        let p = self
            .payments
            .payment_by_id(payment_id)
            .await?
            .filter(|p| p.order_id == o.id)
            .ok_or(AppError::NotFound)?;
        let blob = p.voucher_blob.ok_or(AppError::NotFound)?;
        let bytes = self.blobs.get(&blob).await?;
        let mime = uploads::sniff(&bytes).unwrap_or("application/octet-stream");
        Ok((mime.into(), bytes))
    }

    /// 网厅缴费: starts an online payment through `gateway` for the amount due. The order
    /// stays 待支付 until the gateway's verified notification arrives.
    pub async fn start_online_payment(
        &self,
        user_id: i64,
        no: &str,
        gateway: &str,
    ) -> AppResult<PayStart> {
        let o = self.book.mine(user_id, no).await?;
        o.state
            .require(&[OrderState::PendingPayment], Wanted::Pay)?;
        let g = self
            .gateway(gateway)
            .ok_or_else(|| AppError::invalid("gateway", "请选择支付方式(支付宝或微信)"))?;
        let amount = self.amount_due(&o)?;
        let trade_no = format!("{}P{}", o.no, secrets::random_hex(4).to_uppercase());
        let p = NewPayment {
            order_id: o.id,
            order_no: o.no.to_string(),
            method: ONLINE,
            provider: g.name().into(),
            amount_fen: amount.fen(),
            state: PayState::Created,
            trade_no: trade_no.clone(),
            provider_ref: None,
            voucher_blob: None,
            at: self.now(),
        };
        let fx = Effects::audit(self.book.audit_event(
            format!("user:{user_id}"),
            "payment.started",
            format!("order:{}", o.no),
            None,
            serde_json::json!({"gateway": g.name(), "amount_fen": amount.fen(), "trade_no": trade_no}),
        ));
        self.payments.insert_payment(&p, None, fx).await?;
        let base = self.settings.public_url.trim_end_matches('/');
        let project = o
            .draft
            .project(&self.book.catalogue)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "数字证书".into());
        g.start(&PayRequest {
            trade_no,
            amount_fen: amount.fen(),
            subject: format!("{project} 业务单{}", o.no),
            notify_url: format!("{base}/api/v1/callbacks/{}", g.name()),
            return_url: format!("{base}/orders/{}/payment", o.no),
        })
        .await
        .map_err(gw)
    }

    /// A gateway notification (`POST /api/v1/callbacks/{gateway}`): verified, checked for
    /// merchant, order, amount and currency, and credited at most once however often it
    /// arrives. Returns the answer the gateway expects; a refused notification is logged and
    /// answered as a failure.
    pub async fn payment_notify(&self, gateway: &str, n: &Notification) -> AppResult<Ack> {
        let g = self.gateway(gateway).ok_or(AppError::NotFound)?;
        match self.handle_notice(&*g, n).await {
            Ok(()) => Ok(g.ack(true)),
            Err(e) => {
                tracing::warn!(payment.gateway = gateway, error = %e, "payment notification refused");
                Ok(g.ack(false))
            }
        }
    }

    async fn handle_notice(&self, g: &dyn PaymentGateway, n: &Notification) -> AppResult<()> {
        let notice = g
            .verify(n, self.now())
            .map_err(|e| AppError::Unauthorized(format!("签名验证失败: {e}")))?;
        if notice.merchant != g.merchant() {
            return Err(AppError::Unauthorized("商户号不符".into()));
        }
        for _ in 0..RETRIES {
            let p = self
                .payments
                .payment_by_trade_no(&notice.trade_no)
                .await?
                .filter(|p| p.provider == g.name() && p.method == ONLINE)
                .ok_or(AppError::NotFound)?;
            if notice.currency != p.currency {
                return Err(conflict("币种不符"));
            }
            if notice.amount_fen != p.amount_fen {
                return Err(conflict("金额不符"));
            }
            match notice.status {
                // Acknowledged, nothing to do: not paid (yet), or a close after the fact.
                NoticeStatus::Pending | NoticeStatus::Closed => return Ok(()),
                NoticeStatus::Paid => {}
            }
            if p.state != PayState::Created {
                return Ok(()); // already credited: the same notification again
            }
            let o = self.book.get(&p.order_no).await?;
            let now = self.now();
            let waiting = o.state == OrderState::PendingPayment;
            let what = format!(
                "{}支付成功,金额{}元(交易号{}){}",
                g.label(),
                yuan(p.amount_fen),
                notice.provider_ref,
                if waiting {
                    ",等待小额打款金融认证"
                } else {
                    ",业务单已不在待支付状态,请财务核实(可退款)"
                }
            );
            // The money arrived whatever the order does meanwhile: the payment is credited
            // and the order moves on only if it still waits for it.
            let change = if waiting {
                self.book
                    .move_if_allowed(&o, OrderState::PendingFinancial, "system", what)
            } else {
                self.book.change(&o, "system", what)
            }
            .paid(now)
            .audit(self.book.audit_event(
                format!("gateway:{}", g.name()),
                "payment.credited",
                format!("order:{}", o.no),
                None,
                serde_json::json!({"trade_no": p.trade_no, "amount_fen": p.amount_fen, "provider_ref": notice.provider_ref}),
            ));
            match self
                .payments
                .credit_payment(p.id, &notice.provider_ref, now, &change)
                .await?
            {
                Applied::Stale => continue,
                Applied::Taken => return Ok(()),
                Applied::Done => {}
            }
            if waiting && o.fin_state != FinState::Passed {
                // The order moved to 待金融认证: send the micro-deposit. A failure here
                // leaves the order waiting; the handler may ask for it again.
                let fresh = self.book.get(o.no.as_str()).await?;
                if let Err(e) = self.send_deposit(&fresh, "system".into(), None).await {
                    tracing::warn!(order.no = %o.no, error = %e, "micro-deposit not sent");
                }
            }
            return Ok(());
        }
        Err(AppError::Stale)
    }

    fn deposit_code_hash(&self, order_no: &str, code: &str) -> String {
        secrets::code_hash(&self.code_key, order_no, "micro_deposit", code)
    }

    /// 个人中心 → 我的订单: the handler enters the code from the micro-deposit's memo. The
    /// right code passes 金融认证 and the order enters review; five wrong codes void it
    /// (FAQ 六 failure); an expired code is refused.
    pub async fn enter_deposit_code(&self, user_id: i64, no: &str, code: &str) -> AppResult<()> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::invalid(
                "code",
                "请输入6位数字验证码(见对公账户入账附言)",
            ));
        }
        for _ in 0..RETRIES {
            let o = self.book.mine(user_id, no).await?;
            if o.fin_state == FinState::Passed {
                return Err(conflict("金融认证已通过"));
            }
            let d = self
                .deposits
                .deposits_of_order(o.id)
                .await?
                .into_iter()
                .next()
                .filter(|d| d.state == DepositState::Sent)
                .ok_or_else(|| conflict("没有待验证的小额打款,请重新发起打款"))?;
            let now = self.now();
            if d.expires_at <= now {
                return Err(AppError::invalid("code", "验证码已过期,请重新发起小额打款"));
            }
            let actor = format!("user:{user_id}");
            let ok = secrets::constant_time_eq(
                &self.deposit_code_hash(o.no.as_str(), code),
                &d.code_hash,
            );
            if ok {
                let change = if o.state == OrderState::PendingFinancial {
                    self.book.move_if_allowed(
                        &o,
                        OrderState::InReview,
                        actor.clone(),
                        "小额打款验证码正确,金融认证通过,进入资料审核(待审核)",
                    )
                } else {
                    self.book
                        .change(&o, actor.clone(), "小额打款验证码正确,金融认证通过")
                }
                .fin(FinState::Passed)
                .audit(self.book.audit_event(
                    actor,
                    "payment.fin_passed",
                    format!("order:{}", o.no),
                    None,
                    serde_json::json!({"deposit": d.id}),
                ));
                match self
                    .deposits
                    .decide_deposit(Some(d.id), DepositState::Passed, now, &change)
                    .await?
                {
                    Applied::Done => {
                        self.release_pins_after_fin(o.no.as_str()).await;
                        return Ok(());
                    }
                    Applied::Stale => continue,
                    Applied::Taken => return Err(AppError::Stale),
                }
            }
            let max = self.settings.max_code_attempts;
            let reason = format!("小额打款验证码连续{max}次输入错误,验证码已作废");
            let change = self.fin_failure(&o, &reason, actor);
            let Some(n) = self.deposits.deposit_wrong(d.id, max, &change).await? else {
                continue;
            };
            return Err(if n >= max {
                AppError::invalid(
                    "code",
                    format!("{reason}。请按短信提示重新填写金融认证信息"),
                )
            } else {
                AppError::invalid("code", format!("验证码错误,还可输入{}次", max - n))
            });
        }
        Err(AppError::Stale)
    }

    /// The order change of a 金融认证 failure (FAQ 六): fin_state failed, the guide's SMS
    /// with the reason to the handler.
    fn fin_failure(&self, o: &OrderRecord, reason: &str, actor: String) -> OrderChange {
        let mut change = self
            .book
            .change(o, actor.clone(), format!("{FIN_FAILED_WHAT}{reason}"))
            .fin(FinState::Failed)
            .audit(self.book.audit_event(
                actor,
                "payment.fin_failed",
                format!("order:{}", o.no),
                None,
                serde_json::json!({"reason": reason}),
            ));
        if let Ok(phone) = Phone::parse(o.draft.form.get("handler_phone")) {
            change = change.sms(OutgoingSms {
                phone,
                template: FIN_FAILED_SMS.into(),
                params: vec![
                    ("unit".into(), o.draft.form.get("unit_name").to_owned()),
                    // The guide's reason says where to re-fill; the hall adds why and which
                    // order.
                    (
                        "reason".into(),
                        format!(
                            "{reason};请登录深圳CA会员账号找到订单号{}重填金融认证信息",
                            o.no
                        ),
                    ),
                    ("order_no".into(), o.no.to_string()),
                    (
                        "hall_url".into(),
                        self.settings.public_url.trim_end_matches('/').to_owned(),
                    ),
                ],
                order_no: Some(o.no.to_string()),
                queued_at: self.now(),
            });
        }
        change
    }

    /// Asks for a new micro-deposit (the earlier code is void), within the per-order limit.
    pub async fn resend_deposit(&self, user_id: i64, no: &str) -> AppResult<()> {
        let v = self.payment_view(user_id, no).await?;
        if !v.can_resend {
            return Err(conflict(&format!(
                "当前不能重新打款(每个业务单最多{}次,且需在上一笔验证码作废或过期后)",
                self.settings.max_deposits
            )));
        }
        self.send_deposit(&v.order, format!("user:{user_id}"), None)
            .await
    }

    /// FAQ (六): after a failure the handler re-fills 金融认证信息 (only those three fields);
    /// 金融认证 is pending again and a new micro-deposit goes out.
    pub async fn refill_financial(
        &self,
        user_id: i64,
        no: &str,
        account_name: &str,
        bank_name: &str,
        account: &str,
    ) -> AppResult<()> {
        let o = self.book.mine(user_id, no).await?;
        if o.fin_state != FinState::Failed || o.state.is_final() {
            return Err(conflict(
                "只有金融认证未通过的业务单可以重新填写金融认证信息",
            ));
        }
        let name = UnitName::parse(account_name)
            .map_err(|e| AppError::invalid("bank_account_name", e.to_string()))?;
        if name.as_str() != o.draft.form.get("unit_name").trim() {
            return Err(AppError::invalid(
                "bank_account_name",
                "开户名须与单位名称一致",
            ));
        }
        let bank = BankName::parse(bank_name)
            .map_err(|e| AppError::invalid("bank_name", e.to_string()))?;
        let acct = BankAccount::parse(account)
            .map_err(|e| AppError::invalid("bank_account", e.to_string()))?;
        let mut d = o.draft.clone();
        let amended = d
            .amend_form(
                &self.book.catalogue,
                &[
                    ("bank_account_name", name.as_str().into()),
                    ("bank_name", bank.as_str().into()),
                    ("bank_account", acct.as_str().into()),
                ],
                domain::Date::MAX,
            )
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        if let Err(errs) = amended {
            let (field, message) = errs.0.into_iter().next().unwrap_or_default();
            let field = ["bank_account_name", "bank_name", "bank_account"]
                .into_iter()
                .find(|f| *f == field)
                .unwrap_or("bank_account");
            return Err(AppError::invalid(field, message));
        }
        let actor = format!("user:{user_id}");
        let change = self
            .book
            .change(&o, actor.clone(), "重新填写金融认证信息,重新小额打款")
            .fin(FinState::Pending)
            .with_draft(d.clone())
            .audit(self.book.audit_event(
                actor.clone(),
                "payment.fin_refilled",
                format!("order:{}", o.no),
                None,
                serde_json::json!({}),
            ));
        let mut o2 = o.clone();
        o2.draft = d;
        self.send_deposit(&o2, actor, Some(change)).await
    }

    /// Pays a micro-deposit with a fresh code to the order's declared account and records it,
    /// with `change` to the order when one goes with it (the re-filled 金融认证信息).
    async fn send_deposit(
        &self,
        o: &OrderRecord,
        actor: String,
        change: Option<OrderChange>,
    ) -> AppResult<()> {
        let f = &o.draft.form;
        let code = secrets::six_digit_code();
        let amount_fen = 1 + i64::from(rand::random::<u8>() % 99);
        let memo = format!("深圳CA金融认证验证码{code}");
        let reference = format!("MD{}", secrets::random_hex(8).to_uppercase());
        let provider_ref = self
            .payouts
            .send(&Payout {
                reference,
                account_name: f.get("bank_account_name").to_owned(),
                bank_name: f.get("bank_name").to_owned(),
                account: f.get("bank_account").to_owned(),
                amount_fen,
                memo: memo.clone(),
            })
            .await
            .map_err(gw)?;
        let now = self.now();
        let d = NewDeposit {
            order_id: o.id,
            order_no: o.no.to_string(),
            provider: self.payouts.name().into(),
            provider_ref,
            amount_fen,
            account_name: f.get("bank_account_name").to_owned(),
            account: f.get("bank_account").to_owned(),
            memo,
            code_hash: self.deposit_code_hash(o.no.as_str(), &code),
            at: now,
            expires_at: now + self.settings.code_ttl_ms,
        };
        let fx = Effects::audit(self.book.audit_event(
            actor,
            "payment.micro_deposit_sent",
            format!("order:{}", o.no),
            None,
            serde_json::json!({"provider": self.payouts.name()}),
        ));
        match self
            .deposits
            .insert_deposit(&d, change.as_ref(), fx)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(AppError::Stale),
        }
    }

    /// Finance: 金融认证 fails (payout bounced, account name mismatch…): the handler gets the
    /// FAQ (六) SMS with `reason` and may re-fill 金融认证信息.
    pub async fn fail_financial(
        &self,
        actor: &StaffActor,
        no: &str,
        reason: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ManagePayments)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AppError::invalid("reason", "请填写驳回原因(不超过200字)"));
        }
        let o = self.book.get(no).await?;
        if o.fin_state == FinState::Failed {
            return Err(conflict("该业务单的金融认证已是未通过状态"));
        }
        let change = self.fin_failure(&o, reason, actor.audit_name());
        // Void the open deposit, if any, with the change; otherwise change the order alone.
        let open = self
            .deposits
            .deposits_of_order(o.id)
            .await?
            .into_iter()
            .find(|d| d.state == DepositState::Sent);
        match self
            .deposits
            .decide_deposit(
                open.map(|d| d.id),
                DepositState::Failed,
                self.now(),
                &change,
            )
            .await?
        {
            Applied::Done => Ok(()),
            _ => Err(AppError::Stale),
        }
    }

    // ---- bank statements ----

    /// Imports a bank statement (camt.053 or CSV) and matches its credits: amount = price,
    /// payer name = unit name and the order number in the memo → matched (paid; the payer
    /// account equal to 金融认证信息 passes 金融认证); anything partial or ambiguous → the
    /// manual queue. The same file or entry again changes nothing.
    pub async fn import_statement(
        &self,
        by: Operator<'_>,
        file_name: &str,
        bytes: &[u8],
    ) -> AppResult<ImportReport> {
        self.importer(by)?.import(file_name, bytes).await
    }

    /// The right to import a statement, checked before the file is read (an upload by
    /// someone without it is refused without reading the body).
    pub fn importer<'a>(&'a self, by: Operator<'a>) -> AppResult<StatementImport<'a>> {
        by.require(Permission::ManagePayments)?;
        Ok(StatementImport { billing: self, by })
    }

    async fn import_checked(
        &self,
        by: Operator<'_>,
        file_name: &str,
        bytes: &[u8],
    ) -> AppResult<ImportReport> {
        let who = by.audit_name();
        let st = statement::parse(bytes).map_err(|e| AppError::invalid("file", e.0))?;
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(bytes))
        };
        let mut report = ImportReport {
            format: st.format.into(),
            entries: st.entries.len(),
            ..Default::default()
        };
        let name: String = file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        match self
            .statements
            .insert_statement(
                &NewStatement {
                    sha256: sha.clone(),
                    format: st.format,
                    file_name: name,
                    imported_by: who.clone(),
                    at: self.now(),
                },
                &st.entries,
            )
            .await?
        {
            None => report.duplicate_file = true,
            Some((_, n)) => report.new_entries = n,
        }
        report.ignored = st
            .entries
            .iter()
            .filter(|e| !e.credit || e.currency != "CNY")
            .count();
        // Match every credit not decided yet (also those left by an interrupted import).
        for c in self.statements.credits_in_state(CreditState::New).await? {
            let (decided, order) = self.auto_match(&c).await?;
            match decided {
                Ok(()) => report
                    .matched
                    .push((c.entry_ref.clone(), order.unwrap_or_default())),
                Err(reason) => report.manual.push((c.entry_ref.clone(), reason)),
            }
        }
        if !report.duplicate_file {
            let _ = self
                .audit
                .append_audit(vec![self.book.audit_event(
                    who,
                    "payment.statement_imported",
                    format!("statement:{}", &sha[..16]),
                    by.ip(),
                    serde_json::json!({"format": report.format, "entries": report.entries, "new": report.new_entries, "matched": report.matched.len(), "manual": report.manual.len()}),
                )])
                .await;
        }
        Ok(report)
    }

    /// Tries to match one new credit; `Err(reason)` when it went to the manual queue.
    async fn auto_match(
        &self,
        c: &CreditRecord,
    ) -> AppResult<(Result<(), String>, Option<String>)> {
        let nos = statement::order_numbers_in(&c.memo);
        let manual = |reason: String, order: Option<String>| CreditDecision {
            credit_id: c.id,
            from: vec![CreditState::New],
            to: CreditState::Manual,
            order_no: order,
            reason,
            decided_by: None,
            at: self.now(),
        };
        let (reason, order) = match nos.as_slice() {
            [] => ("附言中没有业务单号".to_string(), None::<String>),
            [_, _, ..] => (format!("附言中有多个业务单号:{}", nos.join("、")), None),
            [no] => match self.book.get(no).await {
                Err(AppError::NotFound) => (format!("业务单{no}不存在"), None),
                Err(e) => return Err(e),
                Ok(o) => match self.match_problem(&o, c)? {
                    Some(p) => (p, Some(no.clone())),
                    None => match self.settle_credit(no, c, None, CreditState::New).await {
                        Ok(()) => return Ok((Ok(()), Some(no.clone()))),
                        Err(AppError::Stale) => ("业务单状态已变化".to_string(), Some(no.clone())),
                        Err(e) => return Err(e),
                    },
                },
            },
        };
        self.statements
            .decide_credit(
                &manual(reason.clone(), order.clone()),
                None,
                None,
                Effects::default(),
            )
            .await?;
        Ok((Err(reason), order))
    }

    /// Why `c` does not pay `o` exactly (None when it does).
    fn match_problem(&self, o: &OrderRecord, c: &CreditRecord) -> AppResult<Option<String>> {
        if o.paid_at.is_some() {
            return Ok(Some("该业务单已到账(重复付款?)".into()));
        }
        if !matches!(
            o.state,
            OrderState::PendingPayment | OrderState::InReview | OrderState::Rejected
        ) {
            return Ok(Some(format!("业务单状态为“{}”,不能入账", o.state.label())));
        }
        let due = self.amount_due(o)?;
        let mut problems = Vec::new();
        if due.fen() != c.amount_fen {
            problems.push(format!(
                "金额不符(应付{}元,到账{}元)",
                yuan(due.fen()),
                yuan(c.amount_fen)
            ));
        }
        if c.payer_name.trim() != o.draft.form.get("unit_name").trim() {
            problems.push("付款人名称与单位名称不一致".into());
        }
        Ok(if problems.is_empty() {
            None
        } else {
            Some(problems.join(";"))
        })
    }

    /// Marks `c` matched to order `no`: the bank-transfer payment paid, `paid_at` set,
    /// 金融认证 passed when the payer account is the declared one, 待支付 → 待审核. Reads the
    /// order again when it changed in between; `Stale` when the credit was decided
    /// meanwhile or the order kept changing.
    async fn settle_credit(
        &self,
        no: &str,
        c: &CreditRecord,
        actor: Option<&StaffActor>,
        from: CreditState,
    ) -> AppResult<()> {
        let who = actor
            .map(|a| a.audit_name())
            .unwrap_or_else(|| "system".into());
        for _ in 0..RETRIES {
            let o = self.book.get(no).await?;
            let now = self.now();
            let same_account = match (
                BankAccount::parse(&c.payer_account),
                BankAccount::parse(o.draft.form.get("bank_account")),
            ) {
                (Ok(paid_from), Ok(given)) => paid_from == given,
                _ => false,
            };
            let fin = same_account && o.fin_state == FinState::Pending;
            let what = format!(
                "公对公转账到账{}元(银行流水{}){}",
                yuan(c.amount_fen),
                c.entry_ref,
                if fin {
                    ",付款账户与金融认证信息一致,金融认证通过"
                } else {
                    ",付款账户与金融认证信息不一致,金融认证待核实"
                }
            );
            let mut change = if o.state == OrderState::PendingPayment {
                self.book
                    .move_if_allowed(&o, OrderState::InReview, who.clone(), what)
            } else {
                self.book.change(&o, who.clone(), what)
            }
            .paid(now)
            .audit(self.book.audit_event(
                who.clone(),
                "payment.bank_matched",
                format!("order:{}", o.no),
                actor.and_then(|a| a.ip.as_deref()),
                serde_json::json!({"entry_ref": c.entry_ref, "amount_fen": c.amount_fen, "fin_passed": fin}),
            ));
            if fin {
                change = change.fin(FinState::Passed);
            }
            let p = NewPayment {
                order_id: o.id,
                order_no: o.no.to_string(),
                method: BANK_TRANSFER,
                provider: "bank".into(),
                amount_fen: c.amount_fen,
                state: PayState::Paid,
                trade_no: format!("BT{}", secrets::random_hex(10)),
                provider_ref: Some(c.entry_ref.clone()),
                voucher_blob: None,
                at: now,
            };
            let d = CreditDecision {
                credit_id: c.id,
                from: vec![from],
                to: CreditState::Matched,
                order_no: Some(o.no.to_string()),
                reason: if actor.is_some() {
                    "财务人工匹配".into()
                } else {
                    "自动匹配:金额、付款人名称、附言业务单号一致".into()
                },
                decided_by: actor.map(|a| a.audit_name()),
                at: now,
            };
            match self
                .statements
                .decide_credit(&d, Some(&p), Some(&change), Effects::default())
                .await?
            {
                Applied::Stale => continue,
                Applied::Taken => return Err(AppError::Stale),
                Applied::Done => {}
            }
            if fin {
                self.release_pins_after_fin(o.no.as_str()).await;
            } else if o.fin_state == FinState::Pending {
                // Paid from another account: 金融认证 is still open, so the declared account
                // gets the micro-deposit (review goes on meanwhile; PINs wait for the code).
                // A failure leaves it to the handler's 重新打款.
                let sent = match self.book.get(o.no.as_str()).await {
                    Ok(fresh) => self.send_deposit(&fresh, "system".into(), None).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = sent {
                    tracing::warn!(order.no = %o.no, error = %e, "micro-deposit not sent");
                }
            }
            return Ok(());
        }
        Err(AppError::Stale)
    }

    /// 金融认证 just passed: the PINs held for an order already issued go out now (issue 7:
    /// PINs only after 金融认证). Nothing held sends nothing. A failure never undoes the
    /// payment use case: it is logged, the PINs stay held (sealed) and go with the next
    /// release (shipping releases again).
    async fn release_pins_after_fin(&self, no: &str) {
        match self.production.release_pins(no).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(order.no = %no, pins = n, "PINs released after 金融认证"),
            Err(e) => {
                tracing::warn!(order.no = %no, error = %e, "PINs not released after 金融认证")
            }
        }
    }

    /// Finance: the credits (manual queue first when `only_manual`).
    pub async fn finance_credits(
        &self,
        actor: &StaffActor,
        only_manual: bool,
    ) -> AppResult<Vec<CreditRecord>> {
        actor.require(Permission::ManagePayments)?;
        Ok(if only_manual {
            self.statements
                .credits_in_state(CreditState::Manual)
                .await?
        } else {
            self.statements.credits(500).await?
        })
    }

    /// Finance matches a credit from the manual queue to an order by hand (the amount must
    /// still be the price; names and memo may differ).
    pub async fn finance_match(
        &self,
        actor: &StaffActor,
        credit_id: i64,
        no: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ManagePayments)?;
        let c = self
            .statements
            .credit_by_id(credit_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if c.state != CreditState::Manual {
            return Err(conflict("该笔到账不在人工处理队列中"));
        }
        let o = self
            .book
            .get(no)
            .await
            .map_err(|_| AppError::invalid("order_no", "业务单号不存在"))?;
        if o.paid_at.is_some() {
            return Err(AppError::invalid("order_no", "该业务单已到账"));
        }
        if !matches!(
            o.state,
            OrderState::PendingPayment | OrderState::InReview | OrderState::Rejected
        ) {
            return Err(AppError::invalid(
                "order_no",
                format!("业务单状态为“{}”,不能入账", o.state.label()),
            ));
        }
        let due = self.amount_due(&o)?;
        if due.fen() != c.amount_fen {
            return Err(AppError::invalid(
                "order_no",
                format!(
                    "金额不符:应付{}元,到账{}元",
                    yuan(due.fen()),
                    yuan(c.amount_fen)
                ),
            ));
        }
        self.settle_credit(o.no.as_str(), &c, Some(actor), CreditState::Manual)
            .await
    }

    /// Finance rejects a credit from the manual queue (to be returned to the payer) with a
    /// reason.
    pub async fn finance_reject(
        &self,
        actor: &StaffActor,
        credit_id: i64,
        reason: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ManagePayments)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AppError::invalid("reason", "请填写退回原因(不超过200字)"));
        }
        let c = self
            .statements
            .credit_by_id(credit_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let d = CreditDecision {
            credit_id,
            from: vec![CreditState::Manual],
            to: CreditState::Rejected,
            order_no: c.order_no.clone(),
            reason: reason.into(),
            decided_by: Some(actor.audit_name()),
            at: self.now(),
        };
        let fx = Effects::audit(self.book.audit_event(
            actor.audit_name(),
            "payment.bank_rejected",
            format!("credit:{}", c.entry_ref),
            actor.ip.as_deref(),
            serde_json::json!({"reason": reason}),
        ));
        match self.statements.decide_credit(&d, None, None, fx).await? {
            Applied::Done => Ok(()),
            _ => Err(conflict("该笔到账不在人工处理队列中")),
        }
    }

    // ---- cancelling, refunds and reconciliation ----

    /// The handler cancels an order waiting for payment, for 金融认证 or for review (D6).
    /// Money already received stays where it is: the order then appears in finance's
    /// refund list and only a finance member refunds it ([`Billing::refund`]). Refused while
    /// a reviewer holds a fresh claim on it (the review is under way). Recorded in the
    /// order's history and the audit log.
    pub(crate) async fn cancel_paid_order(
        &self,
        user_id: i64,
        o: &OrderRecord,
        confirmed: bool,
    ) -> AppResult<()> {
        if !confirmed {
            return Err(AppError::invalid(
                "confirm",
                "请勾选“确认取消”:取消后业务单不能恢复,已付款项由财务退回",
            ));
        }
        let now = self.now();
        if o.state == OrderState::InReview {
            if let Some((_, _, since)) = self.claims.review_claim(o.id).await? {
                if since > now - self.claim_ttl_ms {
                    return Err(conflict(
                        "审核人员正在审核该业务单,暂不能取消;如需取消请联系客服",
                    ));
                }
            }
        }
        let paid: i64 = self
            .payments
            .payments_of_order(o.id)
            .await?
            .iter()
            .filter(|p| {
                matches!(
                    p.state,
                    PayState::Paid | PayState::Refunding | PayState::RefundAbnormal
                )
            })
            .map(|p| p.amount_fen)
            .sum();
        let what = if paid > 0 {
            format!(
                "经办人取消业务单(原状态:{}),已付款项{}元待财务退款",
                o.state.label(),
                yuan(paid)
            )
        } else {
            format!("经办人取消业务单(原状态:{})", o.state.label())
        };
        let actor = format!("user:{user_id}");
        let change = self
            .book
            .move_to(o, OrderState::Cancelled, actor.clone(), what)?
            .audit(self.book.audit_event(
                actor,
                "order.cancelled",
                format!("order:{}", o.no),
                None,
                serde_json::json!({"from": o.state.as_str(), "paid_fen": paid}),
            ));
        self.book.save(change).await
    }

    /// Finance refunds a paid payment of a cancelled or rejected order, or a second payment
    /// of an order already paid ([`Billing::duplicate_payments`]), through its gateway
    /// (online) or as a recorded bank transfer back (bank). A rejected order is finally
    /// rejected by the refund of its payment: it moves to 已取消 in the same transaction, so
    /// it can never be resubmitted and approved on money that went back. The order's history
    /// says so.
    ///
    /// Safe to retry: the payment is marked `refunding` before the gateway is asked, the
    /// refund number is derived from the payment ([`refund_no`]) so a retry after a lost
    /// answer or a failed write asks with the same number and the gateway refunds once,
    /// and `refunded` is recorded only from `refunding`.
    pub async fn refund(&self, actor: &StaffActor, payment_id: i64, reason: &str) -> AppResult<()> {
        actor.require(Permission::ManagePayments)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AppError::invalid("reason", "请填写退款原因(不超过200字)"));
        }
        let p = self
            .payments
            .payment_by_id(payment_id)
            .await?
            .ok_or(AppError::NotFound)?;
        match p.state {
            PayState::Paid | PayState::Refunding | PayState::RefundAbnormal => {}
            PayState::Refunded => return Err(conflict("该款项已退款")),
            _ => return Err(conflict("只有已到账的款项可以退款")),
        }
        let o = self.book.get(&p.order_no).await?;
        let duplicate = self.is_duplicate(&p).await?;
        let refund_no = refund_no(&p);
        if p.state == PayState::Paid {
            if !duplicate && !matches!(o.state, OrderState::Cancelled | OrderState::Rejected) {
                return Err(conflict(
                    "只有已取消或已驳回的业务单、或重复付款的款项可以退款",
                ));
            }
            // The decision to refund is recorded before the gateway is asked. A rejected
            // order ends with it (已驳回 → 已取消; not if it was resubmitted in between), so it
            // can never be approved on money that is going back.
            let ends = o.state == OrderState::Rejected && !duplicate;
            let change = if ends {
                Some(self.book.move_to(
                    &o,
                    OrderState::Cancelled,
                    actor.audit_name(),
                    format!("财务退款,业务单终止办理(已取消),退款原因:{reason}"),
                )?)
            } else {
                None
            };
            let fx = Effects::audit(self.book.audit_event(
                actor.audit_name(),
                "payment.refund_requested",
                format!("order:{}", p.order_no),
                actor.ip.as_deref(),
                serde_json::json!({"payment": p.id, "amount_fen": p.amount_fen, "refund_no": refund_no, "duplicate": duplicate, "reason": reason}),
            ));
            match self
                .payments
                .request_refund(p.id, change.as_ref(), fx)
                .await?
            {
                Applied::Done => {}
                // A concurrent request marked it first: go on with the same refund number.
                Applied::Taken => {
                    let now = self.payments.payment_by_id(p.id).await?;
                    if now.map(|q| q.state) != Some(PayState::Refunding) {
                        return Err(conflict("业务单或款项状态已变化,请刷新页面后重试"));
                    }
                }
                // The order changed in between (resubmitted): refuse.
                Applied::Stale => return Err(conflict("业务单或款项状态已变化,请刷新页面后重试")),
            }
        }
        // From here on the refund is decided (refunding): asking again is safe whatever the
        // order does, the gateway refunds one refund number once. A refund already asked for
        // is first looked up (WeChat Pay answers its current state; a gateway without a query,
        // or one that never got the first request, is asked again with the same number).
        let answer = if p.method == ONLINE {
            let g = self.gateway(&p.provider).ok_or_else(|| {
                AppError::Internal(format!("gateway {} not configured", p.provider))
            })?;
            let req = self.refund_request(&p, reason);
            let asked = if p.state == PayState::Paid {
                None
            } else {
                match g.query_refund(&req).await {
                    Ok(a) => Some(a),
                    Err(GatewayError::Refused(_)) => None,
                    Err(e) => return Err(gw_logged(&p, e)),
                }
            };
            match asked {
                Some(a) => a,
                None => g.refund(&req).await.map_err(|e| gw_logged(&p, e))?,
            }
        } else {
            RefundAnswer {
                refund_ref: format!("线下转账退回 {refund_no}"),
                status: RefundStatus::Succeeded,
            }
        };
        self.settle_refund(
            &p,
            answer,
            actor.audit_name(),
            actor.ip.as_deref(),
            reason,
            true,
        )
        .await
    }

    /// The refund request of payment `p` (amount and number derived from it, so every ask
    /// is the same request).
    fn refund_request(&self, p: &PaymentRecord, reason: &str) -> RefundRequest {
        let base = self.settings.public_url.trim_end_matches('/');
        RefundRequest {
            trade_no: p.trade_no.clone(),
            refund_no: refund_no(p),
            total_fen: p.amount_fen,
            amount_fen: p.amount_fen,
            reason: if reason.is_empty() {
                "退款".into()
            } else {
                reason.into()
            },
            notify_url: format!("{base}/api/v1/callbacks/{}/refund", p.provider),
        }
    }

    /// Records what the gateway says about the refund of `p` (`refunding` or
    /// `refund_abnormal`): refunded (with the order's history entry), still processing (the
    /// gateway's reference kept and, when `track`, a `payment.refund_track` job queued to
    /// ask again), or abnormal/closed (退款异常: finance acts). A final state already
    /// recorded is left alone, so notifications and queries may repeat.
    async fn settle_refund(
        &self,
        p: &PaymentRecord,
        answer: RefundAnswer,
        actor: String,
        ip: Option<&str>,
        reason: &str,
        track: bool,
    ) -> AppResult<()> {
        let refund_no = refund_no(p);
        let duplicate = self.is_duplicate(p).await?;
        let label = self
            .gateway(&p.provider)
            .map(|g| g.label())
            .unwrap_or("线下");
        let why = if reason.is_empty() {
            String::new()
        } else {
            format!(",退款原因:{reason}")
        };
        let detail = serde_json::json!({"payment": p.id, "amount_fen": p.amount_fen, "refund_no": refund_no, "refund_ref": answer.refund_ref, "duplicate": duplicate, "reason": reason});
        match answer.status {
            RefundStatus::Processing => {
                let fx = Effects::audit(self.book.audit_event(
                    actor,
                    "payment.refund_processing",
                    format!("order:{}", p.order_no),
                    ip,
                    detail,
                ));
                match self
                    .payments
                    .mark_refund(p.id, PayState::Refunding, &answer.refund_ref, None, fx)
                    .await?
                {
                    Applied::Done => {}
                    Applied::Taken => return Ok(()), // refunded meanwhile
                    Applied::Stale => return Err(AppError::Stale),
                }
                if track {
                    self.jobs
                        .enqueue_job(
                            TRACK_REFUND,
                            serde_json::json!({"payment": p.id}),
                            self.now() + crate::clock::MINUTE,
                        )
                        .await?;
                }
                Ok(())
            }
            RefundStatus::Abnormal | RefundStatus::Closed => {
                if p.state == PayState::RefundAbnormal {
                    return Ok(()); // known already
                }
                let word = if answer.status == RefundStatus::Closed {
                    "退款关闭"
                } else {
                    "退款异常"
                };
                for _ in 0..RETRIES {
                    let o = self.book.get(&p.order_no).await?;
                    let change = self
                        .book
                        .change(
                            &o,
                            actor.clone(),
                            format!(
                                "{label}{word}({}),{}元未退回付款人,待财务处理{why}",
                                answer.refund_ref,
                                yuan(p.amount_fen)
                            ),
                        )
                        .audit(self.book.audit_event(
                            actor.clone(),
                            "payment.refund_abnormal",
                            format!("order:{}", p.order_no),
                            ip,
                            detail.clone(),
                        ));
                    match self
                        .payments
                        .mark_refund(
                            p.id,
                            PayState::RefundAbnormal,
                            &answer.refund_ref,
                            Some(&change),
                            Effects::default(),
                        )
                        .await?
                    {
                        Applied::Done | Applied::Taken => return Ok(()),
                        Applied::Stale => continue,
                    }
                }
                Err(AppError::Stale)
            }
            RefundStatus::Succeeded => {
                for _ in 0..RETRIES {
                    let o = self.book.get(&p.order_no).await?;
                    let change = self
                        .book
                        .change(
                            &o,
                            actor.clone(),
                            format!(
                                "{}已退款{}元({}){why}",
                                if duplicate { "重复付款" } else { "" },
                                yuan(p.amount_fen),
                                answer.refund_ref,
                            ),
                        )
                        .audit(self.book.audit_event(
                            actor.clone(),
                            "payment.refunded",
                            format!("order:{}", p.order_no),
                            ip,
                            detail.clone(),
                        ));
                    match self
                        .payments
                        .refund_payment(p.id, p.amount_fen, &answer.refund_ref, self.now(), &change)
                        .await?
                    {
                        Applied::Done => return Ok(()),
                        Applied::Taken => return Err(conflict("该款项已退款")),
                        Applied::Stale => continue,
                    }
                }
                Err(AppError::Stale)
            }
        }
    }

    /// The job worker: asks the gateway where the refund of payment `payment_id` stands and
    /// records a final answer; still processing is `Unavailable`, so the job is retried with
    /// its backoff (the refund notification may settle it first).
    pub(crate) async fn track_refund(&self, payment_id: i64) -> Result<(), GatewayError> {
        let unavailable = |e: AppError| GatewayError::Unavailable(e.to_string());
        let Some(p) = self
            .payments
            .payment_by_id(payment_id)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
        else {
            return Err(GatewayError::Refused(format!(
                "payment {payment_id} is gone"
            )));
        };
        if p.state != PayState::Refunding || p.method != ONLINE {
            return Ok(()); // settled meanwhile (notification, finance)
        }
        let g = self.gateway(&p.provider).ok_or_else(|| {
            GatewayError::Refused(format!("gateway {} not configured", p.provider))
        })?;
        let a = g.query_refund(&self.refund_request(&p, "")).await?;
        if a.status == RefundStatus::Processing {
            return Err(GatewayError::Unavailable(format!(
                "refund {} still processing",
                a.refund_ref
            )));
        }
        self.settle_refund(&p, a, format!("gateway:{}", g.name()), None, "", false)
            .await
            .map_err(unavailable)
    }

    /// A gateway's refund notification (`/api/v1/callbacks/{gateway}/refund`), verified by
    /// its signature; answered the way that gateway expects. Repeats change nothing.
    pub async fn refund_notify(&self, gateway: &str, n: &Notification) -> AppResult<Ack> {
        let g = self.gateway(gateway).ok_or(AppError::NotFound)?;
        match self.handle_refund_notice(&*g, n).await {
            Ok(()) => Ok(g.ack(true)),
            Err(e) => {
                tracing::warn!(payment.gateway = gateway, error = %e, "refund notification refused");
                Ok(g.ack(false))
            }
        }
    }

    async fn handle_refund_notice(
        &self,
        g: &dyn PaymentGateway,
        n: &Notification,
    ) -> AppResult<()> {
        let notice = g
            .verify_refund(n, self.now())
            .map_err(|e| AppError::Unauthorized(format!("签名验证失败: {e}")))?;
        if notice.merchant != g.merchant() {
            return Err(AppError::Unauthorized("商户号不符".into()));
        }
        let p = self
            .payments
            .payment_by_trade_no(&notice.trade_no)
            .await?
            .filter(|p| p.provider == g.name() && p.method == ONLINE)
            .filter(|p| refund_no(p) == notice.refund_no)
            .ok_or(AppError::NotFound)?;
        if !matches!(p.state, PayState::Refunding | PayState::RefundAbnormal)
            || notice.answer.status == RefundStatus::Processing
        {
            return Ok(()); // not asked by us, settled already, or nothing final yet
        }
        self.settle_refund(
            &p,
            notice.answer,
            format!("gateway:{}", g.name()),
            None,
            "",
            false,
        )
        .await
    }

    /// Finance: a 退款异常 refund was handled outside the gateway's automatic refund (the
    /// merchant platform's manual refund, or a bank transfer back): records it refunded with
    /// finance's note (how, and its reference), in the order's history and the audit log.
    pub async fn resolve_abnormal_refund(
        &self,
        actor: &StaffActor,
        payment_id: i64,
        note: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ManagePayments)?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 200 {
            return Err(AppError::invalid(
                "note",
                "请填写处理方式及凭证号(如:商户平台手动退款、转账流水号,不超过200字)",
            ));
        }
        let p = self
            .payments
            .payment_by_id(payment_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if p.state != PayState::RefundAbnormal {
            return Err(conflict("只有“退款异常”的款项可以登记线下处理"));
        }
        self.settle_refund(
            &p,
            RefundAnswer {
                refund_ref: format!("线下处理:{note}"),
                status: RefundStatus::Succeeded,
            },
            actor.audit_name(),
            actor.ip.as_deref(),
            "退款异常,财务线下处理",
            false,
        )
        .await
    }

    /// Whether `p` is not the first money received for its order (a second payment).
    async fn is_duplicate(&self, p: &PaymentRecord) -> AppResult<bool> {
        let Some(at) = p.paid_at else {
            return Ok(false);
        };
        Ok(self
            .payments
            .payments_of_order(p.order_id)
            .await?
            .iter()
            .any(|q| {
                q.id != p.id
                    && q.paid_at
                        .is_some_and(|qa| qa < at || (qa == at && q.id < p.id))
            }))
    }

    /// Finance: payments to refund (not refunded yet, or whose refund is still being
    /// confirmed) of cancelled or rejected orders. Second payments are listed by
    /// [`Billing::duplicate_payments`] instead.
    pub async fn refundable(&self, actor: &StaffActor) -> AppResult<Vec<PaymentRecord>> {
        actor.require(Permission::ManagePayments)?;
        let dups: std::collections::HashSet<i64> = self
            .payments
            .duplicate_payments()
            .await?
            .iter()
            .map(|p| p.id)
            .collect();
        let mut ids = Vec::new();
        for st in [OrderState::Cancelled, OrderState::Rejected] {
            ids.extend(
                self.book
                    .store
                    .orders_in_state(st)
                    .await?
                    .iter()
                    .map(|o| o.id),
            );
        }
        Ok(self
            .payments
            .payments_of_orders(&ids)
            .await?
            .into_iter()
            .filter(|p| {
                matches!(
                    p.state,
                    PayState::Paid | PayState::Refunding | PayState::RefundAbnormal
                ) && !dups.contains(&p.id)
            })
            .collect())
    }

    /// Finance: 重复付款,待退款 — a payment credited for an order already paid (the money
    /// arrived, the order needs it once), to refund.
    pub async fn duplicate_payments(&self, actor: &StaffActor) -> AppResult<Vec<PaymentRecord>> {
        actor.require(Permission::ManagePayments)?;
        Ok(self.payments.duplicate_payments().await?)
    }

    /// The reconciliation report of one Beijing day (`YYYY-MM-DD`): every payment paid or
    /// refunded that day against its order.
    pub async fn reconciliation(&self, actor: &StaffActor, day: &str) -> AppResult<Vec<ReconLine>> {
        actor.require(Permission::ManagePayments)?;
        let date = domain::Date::parse(day)
            .map_err(|_| AppError::invalid("day", "日期格式应为YYYY-MM-DD"))?;
        let from = date.days_since_epoch() * 86_400_000 - 8 * 3_600_000;
        let rows = self
            .payments
            .payments_between(from, from + 86_400_000)
            .await?;
        let mut out = Vec::new();
        for p in rows {
            let o = self.book.get(&p.order_no).await?;
            let due = self.amount_due(&o).map(|m| m.fen()).unwrap_or(0);
            let mut check = Vec::new();
            if self.is_duplicate(&p).await? {
                check.push(
                    if p.state == PayState::Refunded {
                        "重复付款,已退款"
                    } else {
                        "重复付款,待退款"
                    }
                    .to_string(),
                );
            }
            if p.amount_fen != due {
                check.push("金额与订单应付不符".to_string());
            }
            if o.paid_at.is_none() {
                check.push("订单未记录到账".into());
            }
            out.push(ReconLine {
                order_no: p.order_no.clone(),
                method: if p.method == ONLINE {
                    "网厅缴费"
                } else {
                    "公对公转账"
                }
                .into(),
                provider: p.provider.clone(),
                provider_ref: p.provider_ref.clone().unwrap_or_default(),
                paid_fen: p.amount_fen,
                refunded_fen: p.refunded_fen,
                due_fen: due,
                order_state: o.state.label().into(),
                check: if check.is_empty() {
                    "一致".into()
                } else {
                    check.join(";")
                },
            });
        }
        Ok(out)
    }

    /// The sandbox bank statement of the unit's accounts (`/sandbox/payouts`): every
    /// micro-deposit the sandbox paid, with its memo.
    pub async fn sandbox_payouts(&self) -> AppResult<Vec<DepositRecord>> {
        if !self.payouts.is_sandbox() {
            return Err(AppError::NotFound);
        }
        Ok(self
            .deposits
            .deposits_of_provider(self.payouts.name(), 200)
            .await?)
    }

    /// The sandbox gateway's 确认支付: it signs its notification with its own key and
    /// delivers it to the same handler real gateways reach. Returns the order number.
    pub async fn sandbox_pay(&self, trade_no: &str) -> AppResult<String> {
        let p = self.sandbox_checkout(trade_no).await?;
        let g = self.gateway("sandbox").ok_or(AppError::NotFound)?;
        let n = g
            .sandbox_notification(&p.trade_no, p.amount_fen)
            .ok_or(AppError::NotFound)?;
        let ack = self.payment_notify("sandbox", &n).await?;
        if ack.status != 200 {
            return Err(conflict("支付通知未被受理"));
        }
        Ok(p.order_no)
    }

    /// The sandbox gateway's checkout page: the payment behind `trade_no`, if it is a
    /// sandbox one.
    pub async fn sandbox_checkout(&self, trade_no: &str) -> AppResult<PaymentRecord> {
        self.payments
            .payment_by_trade_no(trade_no)
            .await?
            .filter(|p| p.provider == "sandbox")
            .ok_or(AppError::NotFound)
    }
}

/// A statement import its operator may run ([`Billing::importer`]).
pub struct StatementImport<'a> {
    billing: &'a Billing,
    by: Operator<'a>,
}

impl StatementImport<'_> {
    /// Imports the file (see [`Billing::import_statement`]).
    pub async fn import(&self, file_name: &str, bytes: &[u8]) -> AppResult<ImportReport> {
        self.billing.import_checked(self.by, file_name, bytes).await
    }
}

/// The refund number of a payment (Alipay `out_request_no`, WeChat `out_refund_no`):
/// derived from the payment's own unique reference, so it is the same on every retry and
/// the gateway refunds a payment at most once.
pub fn refund_no(p: &PaymentRecord) -> String {
    format!("RF{}", p.trade_no)
}

/// The reconciliation report as CSV (UTF-8 with BOM for spreadsheet programs).
pub fn reconciliation_csv(lines: &[ReconLine]) -> String {
    let mut s = String::from("\u{feff}order_no,method,provider,provider_ref,paid_yuan,refunded_yuan,due_yuan,order_state,check\n");
    let q = |v: &str| {
        let v = v.trim_start_matches(['=', '+', '-', '@']);
        format!("\"{}\"", v.replace('"', "\"\""))
    };
    for l in lines {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            q(&l.order_no),
            q(&l.method),
            q(&l.provider),
            q(&l.provider_ref),
            yuan(l.paid_fen),
            yuan(l.refunded_fen),
            yuan(l.due_fen),
            q(&l.order_state),
            q(&l.check),
        ));
    }
    s
}
