//! 制证 (F1, F4): every certificate of an approved order through the SM2 CA — one 机构证书
//! for the unit and one 机构个人证书 per applicant, for the years ordered, subjects from the
//! approved data. A line is reserved in the database before the CA is called (unique per
//! order and line), so it is never issued twice, also under retries and two clicks at once.
//! Each certificate gets a PIN, sealed until 金融认证 has passed, then sent by SMS (机构证书
//! to the handler, 机构个人证书 to that applicant) and erased. Staff never see a PIN.

use crate::authz::{Permission, StaffActor};
use crate::desk::{
    CaIssued, CaRecorded, CaRequest, CertAuthority, CertLine, IssuedLine, ProductionStore,
};
use crate::model::{Effects, OutgoingSms};
use crate::orders::door::{stale_unless, RETRIES};
use crate::orders::{OrderBook, OrderRecord};
use crate::{AppError, AppResult};
use domain::order::{FinState, OrderState, Wanted};
use domain::{CertType, Phone};
use rand::Rng;
use std::sync::Arc;

/// One line of an order to issue, from the approved data.
#[derive(Debug, Clone)]
pub struct PlannedLine {
    /// Index.
    pub line: i64,
    /// Which certificate.
    pub kind: CertType,
    /// Years.
    pub years: u8,
    /// Subject shown to staff: unit, or unit + person name (no ID number).
    pub holder: String,
    /// The stored line, once reserved or issued.
    pub stored: Option<CertLine>,
}

/// How long a line's reservation (签发中) is held by the process that made it; after that
/// another process, a restart or staff pressing 制证 again takes it over and finishes it.
pub const LEASE_MS: i64 = 2 * 60 * 1000;

/// Digits of a PIN.
pub const PIN_LEN: usize = 8;

/// Whether an SMS template carries a PIN (its parameters are erased once delivered).
pub fn is_pin_template(template: &str) -> bool {
    matches!(template, "pin_org" | "pin_person")
}

/// The CA's name for a line's pair (its reference): the same for every retry of the line.
pub fn line_reference(order_no: &str, line: i64) -> String {
    format!("order:{order_no}:line:{line}")
}

/// Who issues: a staff member pressing 制证, or the hall itself finishing after a restart.
struct By {
    name: String,
    staff_id: Option<i64>,
    ip: Option<String>,
}

impl By {
    fn staff(a: &StaffActor) -> Self {
        Self {
            name: a.audit_name(),
            staff_id: Some(a.id),
            ip: a.ip.clone(),
        }
    }
}

fn held_elsewhere(until: Option<crate::clock::Millis>) -> AppError {
    AppError::Conflict(match until {
        Some(t) => format!(
            "该证书正在签发中,同一业务单的同一证书不会重复签发;如签发已中断,请于 {} 后再次点击制证",
            crate::clock::format_beijing(t)
        ),
        None => "该证书正在签发中,同一业务单的同一证书不会重复签发".into(),
    })
}

fn ca_error(e: crate::GatewayError) -> AppError {
    match e {
        crate::GatewayError::Refused(m) => AppError::invalid("csr", format!("证书请求无效:{m}")),
        crate::GatewayError::Unavailable(m) => AppError::Unavailable(m),
    }
}

fn new_pin() -> String {
    let mut rng = rand::thread_rng();
    (0..PIN_LEN)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// 制证 for production staff: the queue, the lines of an order, issuing through the CA, and
/// the PINs that go out once 金融认证 passed.
#[derive(Clone)]
pub struct Production {
    pub(crate) book: OrderBook,
    pub(crate) store: Arc<dyn ProductionStore>,
    pub(crate) ca: Option<Arc<dyn CertAuthority>>,
    pub(crate) faults: Arc<dyn crate::faults::FaultPoints>,
}

impl Production {
    /// Whether the hall runs a CA (production is refused without one).
    pub fn has_ca(&self) -> bool {
        self.ca.is_some()
    }

    /// 待制证: approved orders, oldest first.
    pub async fn queue(&self, actor: &StaffActor) -> AppResult<Vec<OrderRecord>> {
        actor.require(Permission::IssueCertificates)?;
        Ok(self
            .book
            .store
            .orders_in_state(OrderState::Approved)
            .await?)
    }

    /// The lines of an order with what was issued so far.
    pub async fn lines(
        &self,
        actor: &StaffActor,
        no: &str,
    ) -> AppResult<(OrderRecord, Vec<PlannedLine>)> {
        actor.require(Permission::IssueCertificates)?;
        let o = self.book.get(no).await?;
        let lines = self.plan(&o).await?;
        Ok((o, lines))
    }

    async fn plan(&self, o: &OrderRecord) -> AppResult<Vec<PlannedLine>> {
        o.state.require(
            &[
                OrderState::Approved,
                OrderState::Issued,
                OrderState::Shipped,
                OrderState::Completed,
            ],
            Wanted::Produce,
        )?;
        let a = self.book.application(o)?;
        let stored = self.store.cert_lines(o.id).await?;
        let unit = a.unit_name.as_str().to_owned();
        Ok(a.cert_lines()
            .into_iter()
            .enumerate()
            .map(|(i, (kind, years))| {
                let line = i as i64;
                let holder = match a.line_holder(i) {
                    Some(p) => format!("{unit} · {}", p.name.as_str()),
                    None => unit.clone(),
                };
                PlannedLine {
                    line,
                    kind,
                    years,
                    holder,
                    stored: stored.iter().find(|s| s.line == line).cloned(),
                }
            })
            .collect())
    }

    fn authority(&self) -> AppResult<Arc<dyn CertAuthority>> {
        self.ca
            .clone()
            .ok_or_else(|| AppError::Conflict("本网厅未配置CA签发服务,不能制证".into()))
    }

    /// Issues one line: hold it (reserve it, or take it over when its lease ran out), have
    /// the CA record the pair, note its serials on the line, have the CA sign and store it,
    /// store the result with a sealed PIN. Every step is durable and the next one finds it,
    /// so a process dying between any two is finished by the next 制证 or by
    /// [`Production::recover`], never with a second certificate. `csr` is the token's
    /// request; `None` makes the key in the CA (sandbox). When the last line is issued the
    /// order moves to 待邮寄 and the PINs go out if 金融认证 passed.
    pub async fn issue_line(
        &self,
        actor: &StaffActor,
        no: &str,
        line: i64,
        csr: Option<Vec<u8>>,
    ) -> AppResult<CaIssued> {
        actor.require(Permission::IssueCertificates)?;
        let ca = self.authority()?;
        let o = self.book.get(no).await?;
        o.state.require(&[OrderState::Approved], Wanted::Produce)?;
        let lines = self.plan(&o).await?;
        let pl = lines
            .iter()
            .find(|l| l.line == line)
            .ok_or(AppError::NotFound)?;
        let by = By::staff(actor);
        let issued = self.issue_one(&ca, &by, &o, pl, csr).await?;
        self.finish_production(&by, no).await?;
        Ok(issued)
    }

    /// Holds a line for this process until the lease ends: a new reservation, or the
    /// takeover of one whose process died (its lease ran out). Refused, saying until when,
    /// while another holds it; refused if issued.
    async fn hold(&self, by: &By, o: &OrderRecord, pl: &PlannedLine) -> AppResult<()> {
        let now = self.book.now();
        let until = now.saturating_add(LEASE_MS);
        let held = match &pl.stored {
            None => {
                self.store
                    .reserve_line(
                        o.id,
                        pl.line,
                        pl.kind,
                        i64::from(pl.years),
                        by.staff_id.unwrap_or(0),
                        now,
                        until,
                    )
                    .await?
            }
            Some(s) if s.status == "issued" => {
                return Err(AppError::Conflict(
                    "该证书已签发,同一业务单的同一证书不会重复签发".into(),
                ))
            }
            Some(s) => {
                s.lease_until.is_none_or(|t| t <= now)
                    && self
                        .store
                        .take_over_line(o.id, pl.line, by.staff_id, now, until)
                        .await?
            }
        };
        if held {
            return Ok(());
        }
        // Someone else holds it (a racing click, or a live process): read who, until when.
        let until = self
            .store
            .cert_lines(o.id)
            .await?
            .into_iter()
            .find(|l| l.line == pl.line)
            .and_then(|l| l.lease_until);
        Err(held_elsewhere(until))
    }

    async fn issue_one(
        &self,
        ca: &Arc<dyn CertAuthority>,
        by: &By,
        o: &OrderRecord,
        pl: &PlannedLine,
        csr: Option<Vec<u8>>,
    ) -> AppResult<CaIssued> {
        let line = pl.line;
        self.hold(by, o, pl).await?;
        let at = line_reference(o.no.as_str(), line);
        self.faults.reached("reserved", &at);
        let noted = pl.stored.as_ref().and_then(|s| {
            Some(CaRecorded {
                sign_serial: s.sign_serial.clone()?,
                enc_serial: s.enc_serial.clone()?,
            })
        });
        let recorded = match noted {
            Some(r) => r,
            None => {
                let req = self.request(o, pl, csr)?;
                match ca.record(&at, req).await {
                    Ok(r) => r,
                    Err(e) => {
                        // Refused: nothing was recorded, the line is free again. Unavailable:
                        // whatever landed is found by its reference; give the lease back.
                        let _ = match e {
                            crate::GatewayError::Refused(_) => {
                                self.store.unreserve_line(o.id, line).await
                            }
                            crate::GatewayError::Unavailable(_) => {
                                self.store.release_line(o.id, line).await
                            }
                        };
                        return Err(ca_error(e));
                    }
                }
            }
        };
        self.store
            .note_serials(o.id, line, &recorded.sign_serial, &recorded.enc_serial)
            .await?;
        self.faults.reached("serials_noted", &at);
        let issued = match ca.finish(&at).await {
            Ok(i) => i,
            Err(e) => {
                let _ = self.store.release_line(o.id, line).await;
                return Err(ca_error(e));
            }
        };
        if issued.sign_serial != recorded.sign_serial || issued.enc_serial != recorded.enc_serial {
            return Err(AppError::Internal(format!(
                "{at}: the CA answered serials {}/{} for a line noted with {}/{}",
                issued.sign_serial, issued.enc_serial, recorded.sign_serial, recorded.enc_serial
            )));
        }
        let stored = IssuedLine {
            sign_serial: issued.sign_serial.clone(),
            enc_serial: issued.enc_serial.clone(),
            sign_pem: issued.sign_pem.clone(),
            enc_pem: issued.enc_pem.clone(),
            envelope: issued.envelope.clone(),
            pin: new_pin(),
        };
        let audit = self.book.audit_event(
            by.name.clone(),
            "production.issue",
            format!("order:{}", o.no),
            by.ip.as_deref(),
            serde_json::json!({
                "line": line,
                "profile": pl.kind.key(),
                "years": pl.years,
                "sign_serial": issued.sign_serial,
                "enc_serial": issued.enc_serial,
            }),
        );
        match self
            .store
            .line_issued(o.id, line, &stored, self.book.now(), Effects::audit(audit))
            .await
        {
            // NotFound: a process whose lease had run out finished it first, with the same
            // certificates (the CA answers the stored ones).
            Ok(()) | Err(crate::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        self.faults.reached("line_issued", &at);
        Ok(issued)
    }

    /// What the CA is asked to certify for a line, from the approved application.
    fn request(
        &self,
        o: &OrderRecord,
        pl: &PlannedLine,
        csr: Option<Vec<u8>>,
    ) -> AppResult<CaRequest> {
        let a = self.book.application(o)?;
        let person = match pl.kind {
            CertType::Org => None,
            CertType::OrgPerson => {
                let p = usize::try_from(pl.line)
                    .ok()
                    .and_then(|i| a.line_holder(i))
                    .ok_or(AppError::NotFound)?;
                Some((p.name.clone(), p.id_number.clone()))
            }
        };
        Ok(CaRequest {
            kind: pl.kind,
            years: pl.years,
            org: a.unit_name.clone(),
            uscc: a.credit_code.clone(),
            person,
            csr,
        })
    }

    /// Moves the order to 待邮寄 once every line is issued; then sends the PINs if allowed.
    async fn finish_production(&self, by: &By, no: &str) -> AppResult<()> {
        let o = self.book.get(no).await?;
        if o.state != OrderState::Approved {
            return Ok(());
        }
        let lines = self.plan(&o).await?;
        if lines
            .iter()
            .any(|l| l.stored.as_ref().is_none_or(|s| s.status != "issued"))
        {
            return Ok(());
        }
        let serials: Vec<String> = lines
            .iter()
            .filter_map(|l| l.stored.as_ref().and_then(|s| s.sign_serial.clone()))
            .collect();
        let change = self
            .book
            .move_to(
                &o,
                OrderState::Issued,
                by.name.clone(),
                format!("制证完成,签发证书 {} 张,等待邮寄", lines.len()),
            )?
            .audit(self.book.audit_event(
                by.name.clone(),
                "production.done",
                format!("order:{}", o.no),
                by.ip.as_deref(),
                serde_json::json!({ "serials": serials }),
            ));
        // A concurrent finisher wins the version race; the loser has nothing left to do.
        match self.book.save(change).await {
            Ok(()) | Err(AppError::Stale) => {}
            Err(e) => return Err(e),
        }
        self.faults.reached("order_issued", &format!("order:{no}"));
        self.release_pins(no).await?;
        Ok(())
    }

    /// 制证 pressed for an order: every line not yet issued, with keys made in the CA
    /// (sandbox: no USB key here), including lines a dead process left 签发中 (taken over
    /// once their lease ran out). While another process holds a line, refused before
    /// anything is done, saying until when — never silently nothing.
    pub async fn issue_all_sandbox(&self, actor: &StaffActor, no: &str) -> AppResult<usize> {
        actor.require(Permission::IssueCertificates)?;
        let ca = self.authority()?;
        let o = self.book.get(no).await?;
        o.state.require(&[OrderState::Approved], Wanted::Produce)?;
        let lines = self.plan(&o).await?;
        let now = self.book.now();
        if let Some(until) = lines
            .iter()
            .filter_map(|l| l.stored.as_ref())
            .filter(|s| s.status == "issuing")
            .filter_map(|s| s.lease_until.filter(|t| *t > now))
            .max()
        {
            return Err(held_elsewhere(Some(until)));
        }
        let by = By::staff(actor);
        let mut n = 0;
        for l in lines
            .iter()
            .filter(|l| l.stored.as_ref().is_none_or(|s| s.status != "issued"))
        {
            self.issue_one(&ca, &by, &o, l, None).await?;
            n += 1;
        }
        self.finish_production(&by, no).await?;
        Ok(n)
    }

    /// What a restarted hall does first (`serve` at start): every line left 签发中 whose
    /// lease ran out is finished — its recorded pair signed, or the certificates the CA
    /// stored attached, or (nothing recorded) issued afresh — and approved orders whose
    /// lines are all issued move to 待邮寄. Lines still within a lease are left to their
    /// process (or to 制证 after it). Returns the lines finished.
    pub async fn recover(&self) -> AppResult<usize> {
        let Some(ca) = self.ca.clone() else {
            return Ok(0);
        };
        let now = self.book.now();
        let by = By {
            name: "system".into(),
            staff_id: None,
            ip: None,
        };
        let mut finished = 0;
        for (no, line, until) in self.store.issuing_lines().await? {
            if until.is_some_and(|t| t > now) {
                continue;
            }
            let o = self.book.get(&no).await?;
            if o.state != OrderState::Approved {
                continue;
            }
            let lines = self.plan(&o).await?;
            let Some(pl) = lines.iter().find(|l| l.line == line) else {
                continue;
            };
            match self.issue_one(&ca, &by, &o, pl, None).await {
                Ok(_) => finished += 1,
                Err(e) => {
                    tracing::warn!(order = %no, line, error = %e, "cannot finish a line left 签发中")
                }
            }
        }
        for o in self
            .book
            .store
            .orders_in_state(OrderState::Approved)
            .await?
        {
            self.finish_production(&by, o.no.as_str()).await?;
        }
        if finished > 0 {
            tracing::info!(
                lines = finished,
                "finished lines a stopped process left 签发中"
            );
        }
        Ok(finished)
    }

    /// Sends the held PINs of an order if 金融认证 passed (and erases them); returns how many
    /// went out. Called after production, at shipping, and by the payment use cases when
    /// 金融认证 passes; re-reads the order when it changed in between.
    pub async fn release_pins(&self, no: &str) -> AppResult<usize> {
        let mut tries = 0;
        loop {
            match self.try_release_pins(no).await {
                Err(AppError::Stale) if tries < RETRIES => tries += 1,
                r => return r,
            }
        }
    }

    async fn try_release_pins(&self, no: &str) -> AppResult<usize> {
        let o = self.book.get(no).await?;
        if o.fin_state != FinState::Passed {
            return Ok(0);
        }
        let held = self.store.held_pins(o.id).await?;
        if held.is_empty() {
            return Ok(0);
        }
        let a = self.book.application(&o)?;
        let mut sms = Vec::new();
        let mut lines = Vec::new();
        for (line, pin) in held {
            let holder = usize::try_from(line).ok().map(|i| a.line_holder(i));
            let (phone, template, name): (Phone, &str, String) = match holder {
                Some(None) if a.org_years.is_some() => (
                    a.handler_phone.clone(),
                    "pin_org",
                    a.unit_name.as_str().to_owned(),
                ),
                Some(Some(p)) => (p.phone.clone(), "pin_person", p.name.as_str().to_owned()),
                _ => return Err(AppError::Internal(format!("PIN of unknown line {line}"))),
            };
            sms.push(OutgoingSms {
                phone,
                template: template.into(),
                params: vec![("name".into(), name), ("pin".into(), pin)],
                order_no: Some(o.no.to_string()),
                queued_at: self.book.now(),
            });
            lines.push(line);
        }
        let n = lines.len();
        let change = self
            .book
            .change(&o, "system", format!("证书PIN码已通过短信发送({n} 条)"))
            .audit(self.book.audit_event(
                "system".into(),
                "production.pins_sent",
                format!("order:{}", o.no),
                None,
                serde_json::json!({ "lines": lines }),
            ))
            .effects(Effects { audit: vec![], sms });
        match self.store.pins_sent(&lines, &change).await? {
            true => Ok(n),
            // Either sent by a concurrent release (nothing held any more) or the order
            // changed in between (try again).
            false if self.store.held_pins(o.id).await?.is_empty() => Ok(0),
            false => stale_unless(false).map(|()| 0),
        }
    }

    /// Token-writing station: orders with lines still to issue, and those lines.
    pub async fn station_work(
        &self,
        actor: &StaffActor,
    ) -> AppResult<Vec<(OrderRecord, Vec<PlannedLine>)>> {
        let mut out = Vec::new();
        for o in self.queue(actor).await? {
            let lines = self.plan(&o).await?;
            let open: Vec<PlannedLine> = lines.into_iter().filter(|l| l.stored.is_none()).collect();
            if !open.is_empty() {
                out.push((o, open));
            }
        }
        Ok(out)
    }
}
