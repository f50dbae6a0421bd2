//! The CA's side of an order after payment (issue 7): the records and ports review,
//! production and delivery need (storage split by concern: [`ReviewStore`],
//! [`ProductionStore`], [`DeliveryStore`], [`CalendarStore`]; the CA, courier and invoicing
//! providers). The use cases are [`crate::review::Review`],
//! [`crate::production::Production`] and [`crate::delivery::Delivery`].

use crate::clock::Millis;
use crate::model::Effects;
use crate::orders::{OrderChange, OrderRecord};
use crate::ports::StoreResult;
use crate::GatewayError;
use async_trait::async_trait;
use domain::calendar::WorkCalendar;
use domain::order::Draft;
use domain::{CertType, CreditCode, IdNumber, PersonName, UnitName};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// A review decision as stored.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Staff id.
    pub staff_id: i64,
    /// When.
    pub at: Millis,
    /// `approved` or `rejected`.
    pub decision: String,
    /// The reviewer's display name (read with the decision; not written).
    pub staff_name: String,
    /// Reasons (rejections), in the order chosen, free text last.
    pub reasons: Vec<String>,
    /// The draft when it was rejected (sealed at rest).
    pub snapshot: Option<Draft>,
}

/// A certificate line of an order as stored.
#[derive(Debug, Clone)]
pub struct CertLine {
    /// 0, 1, … in [`domain::order::Application::cert_lines`] order.
    pub line: i64,
    /// Which certificate.
    pub kind: CertType,
    /// Years.
    pub years: i64,
    /// `issuing` (reserved, the CA call under way or failed) or `issued`.
    pub status: String,
    /// Serial of the signing certificate.
    pub sign_serial: Option<String>,
    /// Serial of the encryption certificate.
    pub enc_serial: Option<String>,
    /// Signing certificate (PEM).
    pub sign_pem: Option<String>,
    /// Encryption certificate (PEM).
    pub enc_pem: Option<String>,
    /// Encryption key enveloped to the signing key (DER, GM/T 0010 style).
    pub envelope: Option<Vec<u8>>,
    /// Whether a PIN is still held (sealed) for sending.
    pub pin_held: bool,
    /// When the PIN SMS was queued (and the PIN erased).
    pub pin_sent_at: Option<Millis>,
    /// When issued.
    pub issued_at: Option<Millis>,
    /// While `issuing`: until when the reserving process holds it (then it may be taken over).
    pub lease_until: Option<Millis>,
}

/// What the CA returned for one line, stored with its PIN (sealed by the store).
#[derive(Debug, Clone)]
pub struct IssuedLine {
    /// Signing certificate serial (hex).
    pub sign_serial: String,
    /// Encryption certificate serial (hex).
    pub enc_serial: String,
    /// Signing certificate (PEM).
    pub sign_pem: String,
    /// Encryption certificate (PEM).
    pub enc_pem: String,
    /// Envelope of the encryption key (DER).
    pub envelope: Vec<u8>,
    /// The PIN, kept sealed until it is sent.
    pub pin: String,
}

/// A posted key.
#[derive(Debug, Clone)]
pub struct Shipment {
    /// Courier provider name.
    pub courier: String,
    /// Tracking number.
    pub tracking_no: String,
    /// When posted.
    pub shipped_at: Millis,
    /// When the recipient signed for it.
    pub delivered_at: Option<Millis>,
}

/// What an invoice shows (from 电子发票信息 and the price).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InvoiceData {
    /// Invoice number.
    pub invoice_no: String,
    /// 业务单号.
    pub order_no: String,
    /// 发票抬头.
    pub title: String,
    /// 纳税人识别号.
    pub tax_no: String,
    /// Lines: (label, years, amount in fen).
    pub lines: Vec<(String, u8, i64)>,
    /// Total in fen.
    pub total_fen: i64,
    /// Issue time.
    pub issued_at: Millis,
    /// Provider.
    pub provider: String,
}

/// A row of the review queue as the store reads it in one query: the order, its claim
/// with the holder's display name, and whether it was rejected before.
#[derive(Debug, Clone)]
pub struct QueueRow {
    /// The order.
    pub order: OrderRecord,
    /// Claimed by (staff id, display name, since).
    pub claim: Option<(i64, String, Millis)>,
    /// Rejected at least once before (a resubmission).
    pub resubmitted: bool,
}

/// Persistence of review: claims and decisions. Each method is one transaction.
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// Claims the review of an order for `staff_id` unless another member holds a claim newer
    /// than `stale_before`; returns the holder (staff id, display name, since) after the call.
    /// `effects` (the audit row) commit only when the claim is newly taken by `staff_id`.
    async fn claim_review(
        &self,
        order_id: i64,
        staff_id: i64,
        now: Millis,
        stale_before: Millis,
        effects: Effects,
    ) -> StoreResult<(i64, String, Millis)>;
    /// The current claim: (staff id, display name, since).
    async fn review_claim(&self, order_id: i64) -> StoreResult<Option<(i64, String, Millis)>>;
    /// Applies `change` (the decision's move), records the decision (with the draft sealed
    /// when it has a snapshot) and drops the claim; false (nothing written) if the order
    /// changed.
    async fn decide(&self, change: &OrderChange, decision: &Decision) -> StoreResult<bool>;
    /// Decisions on an order, oldest first.
    async fn decisions(&self, order_id: i64) -> StoreResult<Vec<Decision>>;
    /// The orders waiting for review, those waiting longest first, each with its claim and
    /// the holder's name, in one query.
    async fn review_queue(&self) -> StoreResult<Vec<QueueRow>>;
}

/// Persistence of production: certificate lines and their PINs.
#[async_trait]
pub trait ProductionStore: Send + Sync {
    /// Reserves a line for issuance, held until `lease_until`; false if it is already
    /// reserved or issued (also when two requests race: the unique (order, line) key decides).
    #[allow(clippy::too_many_arguments)]
    async fn reserve_line(
        &self,
        order_id: i64,
        line: i64,
        kind: CertType,
        years: i64,
        staff_id: i64,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<bool>;
    /// Takes over a line still `issuing` whose lease ran out by `now` (its process died or
    /// gave it back), holding it until `lease_until`; false if it is held or not `issuing`
    /// (two takers: one guarded UPDATE wins).
    /// `staff_id` `None` (the hall itself) keeps the reserving staff member's.
    async fn take_over_line(
        &self,
        order_id: i64,
        line: i64,
        staff_id: Option<i64>,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<bool>;
    /// Writes on a reserved line the serials the CA recorded its pair under, before anything
    /// is signed; the same serials again are fine, others are `NotFound`.
    async fn note_serials(
        &self,
        order_id: i64,
        line: i64,
        sign_serial: &str,
        enc_serial: &str,
    ) -> StoreResult<()>;
    /// Gives a reservation's lease back (a CA call failed: the next 制证 may retry at once).
    async fn release_line(&self, order_id: i64, line: i64) -> StoreResult<()>;
    /// Drops a reservation the CA refused (only if still `issuing` with no serials: nothing
    /// was recorded for it).
    async fn unreserve_line(&self, order_id: i64, line: i64) -> StoreResult<()>;
    /// Every line still `issuing`: (order number, line, lease until), oldest first.
    async fn issuing_lines(&self) -> StoreResult<Vec<(String, i64, Option<Millis>)>>;
    /// Stores what the CA returned and seals the PIN, with `effects`.
    async fn line_issued(
        &self,
        order_id: i64,
        line: i64,
        issued: &IssuedLine,
        now: Millis,
        effects: Effects,
    ) -> StoreResult<()>;
    /// The certificate lines of an order.
    async fn cert_lines(&self, order_id: i64) -> StoreResult<Vec<CertLine>>;
    /// The order and line a certificate was issued on (its signing or its encryption
    /// serial, hex upper case): (order number, line); `None` when no line has it.
    async fn line_of_serial(&self, serial: &str) -> StoreResult<Option<(String, i64)>>;
    /// The PINs still held: (line, PIN).
    async fn held_pins(&self, order_id: i64) -> StoreResult<Vec<(i64, String)>>;
    /// Erases the PINs of `lines` and applies `change` (its history entry and SMS) in one
    /// transaction; false (nothing written) if one was already sent or the order changed.
    async fn pins_sent(&self, lines: &[i64], change: &OrderChange) -> StoreResult<bool>;
}

/// Persistence of delivery: shipments and invoices.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Records the shipment and applies `change`; false if the order changed.
    async fn ship(
        &self,
        change: &OrderChange,
        shipment: &Shipment,
        staff_id: i64,
    ) -> StoreResult<bool>;
    /// Marks the shipment delivered, records the invoice (token by hash) and applies
    /// `change`; false if the order changed.
    async fn complete(
        &self,
        change: &OrderChange,
        invoice: &InvoiceData,
        token_hash: &str,
    ) -> StoreResult<bool>;
    /// The shipment of an order.
    async fn shipment(&self, order_id: i64) -> StoreResult<Option<Shipment>>;
    /// The shipments of several orders: (order id, shipment).
    async fn shipments_of(&self, order_ids: &[i64]) -> StoreResult<Vec<(i64, Shipment)>>;
    /// The shipment with this tracking number: (order id, shipment).
    async fn shipment_by_tracking(&self, tracking_no: &str)
        -> StoreResult<Option<(i64, Shipment)>>;
    /// The invoice of an order.
    async fn invoice(&self, order_id: i64) -> StoreResult<Option<InvoiceData>>;
    /// The invoice behind a download token's hash.
    async fn invoice_by_token(&self, token_hash: &str) -> StoreResult<Option<InvoiceData>>;
}

/// The holiday schedules loaded at run time.
#[async_trait]
pub trait CalendarStore: Send + Sync {
    /// (year, TOML) of every stored schedule.
    async fn calendar_years(&self) -> StoreResult<Vec<(i32, String)>>;
    /// Stores (or replaces) a year's schedule, with `effects`.
    async fn put_calendar_year(
        &self,
        year: i32,
        toml: &str,
        now: Millis,
        by: &str,
        effects: Effects,
    ) -> StoreResult<()>;
}

/// What the CA is asked to sign: subject data from the approved application (parsed
/// values), never from a CSR.
#[derive(Debug, Clone)]
pub struct CaRequest {
    /// Which certificate (profile).
    pub kind: CertType,
    /// Validity in years.
    pub years: u8,
    /// Unit name.
    pub org: UnitName,
    /// 统一社会信用代码.
    pub uscc: CreditCode,
    /// (name, ID number) for 机构个人证书.
    pub person: Option<(PersonName, IdNumber)>,
    /// The token's CSR (DER or PEM); `None` lets the CA make the signing key (sandbox only,
    /// there is no USB key here).
    pub csr: Option<Vec<u8>>,
}

/// What the CA issued for one line: signing and encryption certificate and the envelope of
/// the encryption key for the signing key.
#[derive(Debug, Clone)]
pub struct CaIssued {
    /// Signing certificate serial (hex).
    pub sign_serial: String,
    /// Signing certificate (PEM).
    pub sign_pem: String,
    /// Encryption certificate serial (hex).
    pub enc_serial: String,
    /// Encryption certificate (PEM).
    pub enc_pem: String,
    /// Envelope (DER SM2EnvelopedKey).
    pub envelope: Vec<u8>,
    /// The chain (issuing CA, root) in PEM.
    pub chain_pem: String,
}

/// The serials the CA recorded a line's pair under (before signing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRecorded {
    /// Signing certificate serial (hex).
    pub sign_serial: String,
    /// Encryption certificate serial (hex).
    pub enc_serial: String,
}

/// The SM2 CA, as production sees it (implemented by the binary over `pki` and the CA
/// tables, so `app` stays free of the store and of key files). Two steps, each durable and
/// idempotent by `reference` (the line, `order:XB…:line:N`), so a process that dies anywhere
/// can be followed by one that finishes the same pair.
#[async_trait]
pub trait CertAuthority: Send + Sync {
    /// Records a signing + encryption pair for `reference` (TBS, escrow of the encryption
    /// key and its envelope, durable before anything is signed), or answers the pair
    /// recorded for it before (then `req` is not used). `Refused`: nothing was recorded.
    async fn record(&self, reference: &str, req: CaRequest) -> Result<CaRecorded, GatewayError>;
    /// Signs and stores the pair recorded for `reference`, or answers what was stored.
    async fn finish(&self, reference: &str) -> Result<CaIssued, GatewayError>;
    /// The chain (issuing CA, root) in PEM, for relying parties and checks.
    fn chain_pem(&self) -> String;
    /// A certificate of this CA by serial (hex, upper case) as it stands now; `None` when
    /// the CA never issued it.
    async fn certificate(&self, serial: &str) -> Result<Option<CaCertificate>, GatewayError>;
    /// Revokes the certificate `serial` and the other certificate of its pair for `reason`
    /// and publishes a CRL carrying both at once (OCSP answers from the revocation rows, so
    /// it says `revoked` from the same moment). `Refused`: the CA has no unrevoked
    /// certificate with that serial.
    async fn revoke(
        &self,
        serial: &str,
        reason: crate::revocation::RevokeReason,
    ) -> Result<CaRevoked, GatewayError>;
    /// Checks a proof of possession (see [`crate::certificates`]): the certificate is this
    /// CA's, known, not revoked and a signing certificate; the request parses, is SM2 and
    /// self-signed; the signature by the certificate's key over SM3(challenge ‖ DER(CSR))
    /// verifies; the request asks for the certificate's subject.
    async fn prove(
        &self,
        proof: &PossessionProof,
    ) -> Result<crate::certificates::Proven, PossessionRefusal>;
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRevoked {
    /// The serial revoked.
    pub serial: String,
    /// The other certificate of its pair, revoked with it (`None`: it has none, or it was
    /// revoked before).
    pub partner: Option<String>,
    /// The number of the CRL published with them.
    pub crl_number: i64,
}

/// A certificate of the CA as the hall shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificate {
    /// Serial (hex, upper case).
    pub serial: String,
    /// Which certificate (from its profile).
    pub kind: CertType,
    /// Holder as the subject names it: the unit, or unit · person.
    pub holder: String,
    /// The certificate (PEM).
    pub pem: String,
    /// notBefore (ms).
    pub not_before: Millis,
    /// notAfter (ms).
    pub not_after: Millis,
    /// When revoked, if it was.
    pub revoked_at: Option<Millis>,
}

/// What a holder sent to prove possession of a certificate's signing key.
#[derive(Debug, Clone)]
pub struct PossessionProof {
    /// The certificate's serial (hex, upper case).
    pub serial: String,
    /// The certificate (PEM), when the holder sent it.
    pub certificate: Option<String>,
    /// The challenge octets.
    pub challenge: Vec<u8>,
    /// The new request (PEM or DER).
    pub csr: Vec<u8>,
    /// DER `SM2Signature` over SM3(challenge ‖ DER(CSR)).
    pub signature: Vec<u8>,
}

/// Why a proof of possession was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PossessionRefusal {
    /// The certificate sent was issued by another CA.
    OtherCa,
    /// This CA has no signing certificate with that serial.
    Unknown,
    /// The certificate is revoked.
    Revoked,
    /// The request is not a valid SM2 PKCS#10 request (the reason).
    BadCsr(String),
    /// The signature does not verify with the certificate's key.
    BadSignature,
    /// The request's subject differs from the certificate's.
    SubjectDiffers,
    /// The CA's storage did not answer.
    Unavailable(String),
}

/// A courier (F3).
#[async_trait]
pub trait Courier: Send + Sync {
    /// Provider name.
    fn name(&self) -> &'static str;
    /// Books a pick-up (postage collect, 邮费到付); returns the tracking number.
    async fn book(&self, label: &MailLabel) -> Result<String, GatewayError>;
    /// A tracking page for the applicant, if the provider has one.
    fn tracking_url(&self, tracking_no: &str) -> String;
}

/// The mailing label: what the courier needs and what gets printed.
#[derive(Debug, Clone)]
pub struct MailLabel {
    /// 业务单号 (reference).
    pub order_no: String,
    /// Recipient.
    pub recipient: String,
    /// Recipient phone.
    pub phone: String,
    /// Address.
    pub address: String,
    /// Sender (the CA).
    pub sender: String,
    /// Always true for this hall: 邮费到付.
    pub postage_collect: bool,
}

/// An e-invoice provider (F5).
#[async_trait]
pub trait Invoicing: Send + Sync {
    /// Provider name.
    fn name(&self) -> &'static str;
    /// Issues an invoice; returns its number.
    async fn issue(&self, data: &InvoiceData) -> Result<String, GatewayError>;
}

/// Sandbox courier: tracking numbers `SB` + 12 digits, tracked on the hall's own page.
#[derive(Debug, Clone, Default)]
pub struct SandboxCourier;

#[async_trait]
impl Courier for SandboxCourier {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    async fn book(&self, _label: &MailLabel) -> Result<String, GatewayError> {
        Ok(format!(
            "SB{:012}",
            rand::random::<u64>() % 1_000_000_000_000
        ))
    }
    fn tracking_url(&self, tracking_no: &str) -> String {
        format!("/sandbox/courier/{tracking_no}")
    }
}

/// Sandbox invoicing: numbers `SBFP` + 12 digits; the hall renders the PDF itself.
#[derive(Debug, Clone, Default)]
pub struct SandboxInvoicing;

#[async_trait]
impl Invoicing for SandboxInvoicing {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    async fn issue(&self, _data: &InvoiceData) -> Result<String, GatewayError> {
        Ok(format!(
            "SBFP{:012}",
            rand::random::<u64>() % 1_000_000_000_000
        ))
    }
}

/// Settings of the staff desk.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    /// The rejection reasons reviewers choose from.
    pub reject_reasons: Vec<String>,
    /// Working days a review may take (审核时效).
    pub review_working_days: u32,
    /// A review claim older than this (ms) may be taken over.
    pub claim_ttl_ms: Millis,
    /// The hall's address as applicants reach it (for links in SMS).
    pub public_url: String,
    /// Sender on mailing labels.
    pub sender: String,
    /// The 实时续期 window around notAfter (`[desk.renewal]`: before_days, after_days).
    pub renewal: domain::renewal::RenewalWindow,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            reject_reasons: [
                "身份证复印件未加盖公章",
                "营业执照扫描件不清晰",
                "授权委托书未加盖公章",
                "授权委托书信息与申请信息不一致",
                "《数字证书印模采集表》未加盖公章",
                "申请人身份证复印件不清晰",
                "款项未到账",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            review_working_days: 3,
            claim_ttl_ms: 2 * crate::clock::HOUR,
            public_url: "http://127.0.0.1:8080".into(),
            sender: "深圳CA 制证中心".into(),
            renewal: domain::renewal::RenewalWindow::default(),
        }
    }
}

/// The CA, courier, invoicing and settings the desk's use cases need (what the binary
/// configures).
#[derive(Clone)]
pub struct DeskParts {
    /// The CA, when the hall runs one (production is refused without it).
    pub ca: Option<Arc<dyn CertAuthority>>,
    /// Courier.
    pub courier: Arc<dyn Courier>,
    /// E-invoices.
    pub invoicing: Arc<dyn Invoicing>,
    /// Settings.
    pub config: DeskConfig,
    /// Kill points of production (crash tests); [`crate::faults::NoFaults`] otherwise.
    pub faults: Arc<dyn crate::faults::FaultPoints>,
    /// The trading platforms' bid openings (bid-safety guard of 续期).
    pub bids: Arc<dyn crate::bids::BidCalendar>,
    /// The seal verifier with the hall's trust (the public 电子印章核验 page); `None`
    /// without a CA.
    pub seal_checker: Option<Arc<dyn crate::seals::SealChecker>>,
}

impl DeskParts {
    /// The sandbox courier and invoicing with default settings.
    pub fn sandbox(ca: Option<Arc<dyn CertAuthority>>) -> Self {
        Self {
            ca,
            courier: Arc::new(SandboxCourier),
            invoicing: Arc::new(SandboxInvoicing),
            config: DeskConfig::default(),
            faults: Arc::new(crate::faults::NoFaults),
            bids: Arc::new(crate::bids::SandboxBids::default()),
            seal_checker: None,
        }
    }
}

/// Working days: the built-in schedules plus those loaded at run time, shared by review (due
/// times) and the admin's calendar import.
#[derive(Clone)]
pub struct SharedCalendar(Arc<RwLock<WorkCalendar>>);

impl Default for SharedCalendar {
    fn default() -> Self {
        Self(Arc::new(RwLock::new(WorkCalendar::builtin())))
    }
}

impl SharedCalendar {
    /// A copy of the calendar.
    pub fn get(&self) -> WorkCalendar {
        self.0
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
    /// Replaces it.
    pub fn set(&self, cal: WorkCalendar) {
        match self.0.write() {
            Ok(mut c) => *c = cal,
            Err(e) => *e.into_inner() = cal,
        }
    }
}

/// An order's electronic seal line (issue 20) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealLine {
    /// The order.
    pub order_id: i64,
    /// 印章编码 (esID), unique in the hall.
    pub es_id: String,
    /// Serial (hex) of the unit's 机构证书 (signing) the seal binds.
    pub sign_serial: String,
    /// `making` (reserved, not yet stored), `made` or `revoked`.
    pub status: String,
    /// The seal (DER `SESeal`) once made.
    pub der: Option<Vec<u8>>,
    /// When it was made.
    pub made_at: Option<Millis>,
    /// When it was revoked.
    pub revoked_at: Option<Millis>,
}

/// Persistence of seal lines: reserved before the seal is made (one per order, esID unique),
/// so a retry finds the reservation and never makes a second seal.
#[async_trait]
pub trait SealStore: Send + Sync {
    /// Reserves the order's seal under `es_id`; answers the line now stored (the earlier
    /// reservation when there was one: its esID wins).
    async fn reserve_seal(
        &self,
        order_id: i64,
        es_id: &str,
        sign_serial: &str,
        now: Millis,
    ) -> StoreResult<SealLine>;
    /// Stores the made seal on a `making` line; false when it was stored before (a racing
    /// finisher won; its seal is the one kept).
    async fn seal_made(&self, order_id: i64, der: &[u8], now: Millis) -> StoreResult<bool>;
    /// The order's seal line.
    async fn seal_of(&self, order_id: i64) -> StoreResult<Option<SealLine>>;
    /// The seal line with this esID.
    async fn seal_by_es_id(&self, es_id: &str) -> StoreResult<Option<SealLine>>;
    /// Marks revoked every seal bound to the signing certificate `sign_serial`; how many.
    async fn revoke_seals_of(&self, sign_serial: &str, now: Millis) -> StoreResult<u64>;
}
