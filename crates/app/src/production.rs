//! 制证 (F1, F4): every certificate of an approved order through the SM2 CA — one 机构证书
//! for the unit and one 机构个人证书 per applicant, for the years ordered, subjects from the
//! approved data. A line is reserved in the database before the CA is called (unique per
//! order and line), so it is never issued twice, also under retries and two clicks at once.
//! Each certificate gets a PIN, sealed until 金融认证 has passed, then sent by SMS (机构证书
//! to the handler, 机构个人证书 to that applicant) and erased. Staff never see a PIN.

use crate::authz::{Permission, StaffActor};
use crate::desk::{CaIssued, CaRequest, CertKind, CertLine, IssuedLine, OrderMove};
use crate::model::{Effects, OutgoingSms};
use crate::orders::OrderRecord;
use crate::{App, AppError, AppResult};
use domain::order::{FinState, OrderState};
use domain::Phone;
use rand::Rng;

/// One line of an order to issue, from the approved data.
#[derive(Debug, Clone)]
pub struct PlannedLine {
    /// Index.
    pub line: i64,
    /// Profile.
    pub kind: CertKind,
    /// Years.
    pub years: u8,
    /// Subject shown to staff: unit, or unit + person name (no ID number).
    pub holder: String,
    /// The stored line, once reserved or issued.
    pub stored: Option<CertLine>,
}

/// Digits of a PIN.
pub const PIN_LEN: usize = 8;

/// Whether an SMS template carries a PIN (its parameters are erased once delivered).
pub fn is_pin_template(template: &str) -> bool {
    matches!(template, "pin_org" | "pin_person")
}

fn new_pin() -> String {
    let mut rng = rand::thread_rng();
    (0..PIN_LEN)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

impl App {
    /// 待制证: approved orders, oldest first.
    pub async fn production_queue(&self, actor: &StaffActor) -> AppResult<Vec<OrderRecord>> {
        actor.require(Permission::IssueCertificates)?;
        Ok(self.orders.orders_in_state(OrderState::Approved).await?)
    }

    /// The lines of an order with what was issued so far.
    pub async fn production_lines(
        &self,
        actor: &StaffActor,
        no: &str,
    ) -> AppResult<(OrderRecord, Vec<PlannedLine>)> {
        actor.require(Permission::IssueCertificates)?;
        let o = self.order_by_no(no).await?;
        let lines = self.plan(&o).await?;
        Ok((o, lines))
    }

    async fn plan(&self, o: &OrderRecord) -> AppResult<Vec<PlannedLine>> {
        if !matches!(
            o.state,
            OrderState::Approved | OrderState::Issued | OrderState::Shipped | OrderState::Completed
        ) {
            return Err(AppError::Conflict(format!(
                "业务单当前状态为“{}”,不能制证",
                o.state.label()
            )));
        }
        let a = self.application_of(o)?;
        let stored = self.desk.store.cert_lines(o.id).await?;
        let unit = a.unit_name.as_str().to_owned();
        let mut v = Vec::new();
        if let Some(y) = a.org_years {
            v.push((CertKind::Org, y, unit.clone()));
        }
        for p in &a.persons {
            v.push((
                CertKind::OrgPerson,
                p.years,
                format!("{unit} · {}", p.name.as_str()),
            ));
        }
        Ok(v.into_iter()
            .enumerate()
            .map(|(i, (kind, years, holder))| {
                let line = i as i64;
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

    /// Issues one line: reserve (refused if reserved or issued before), ask the CA, store the
    /// result with a sealed PIN. `csr` is the token's request; `None` makes the key in the CA
    /// (sandbox). When the last line is issued the order moves to 待邮寄 and the PINs go out
    /// if 金融认证 passed.
    pub async fn issue_line(
        &self,
        actor: &StaffActor,
        no: &str,
        line: i64,
        csr: Option<Vec<u8>>,
    ) -> AppResult<CaIssued> {
        actor.require(Permission::IssueCertificates)?;
        let ca = self
            .desk
            .ca
            .clone()
            .ok_or_else(|| AppError::Conflict("本网厅未配置CA签发服务,不能制证".into()))?;
        let o = self.order_by_no(no).await?;
        if o.state != OrderState::Approved {
            return Err(AppError::Conflict(format!(
                "业务单当前状态为“{}”,不能制证",
                o.state.label()
            )));
        }
        let a = self.application_of(&o)?;
        let lines = self.plan(&o).await?;
        let pl = lines
            .iter()
            .find(|l| l.line == line)
            .ok_or(AppError::NotFound)?;
        let now = self.now();
        if !self
            .desk
            .store
            .reserve_line(
                o.id,
                line,
                pl.kind.as_str(),
                i64::from(pl.years),
                actor.id,
                now,
            )
            .await?
        {
            return Err(AppError::Conflict(
                "该证书已签发或正在签发,同一业务单的同一证书不会重复签发".into(),
            ));
        }
        let person = match pl.kind {
            CertKind::Org => None,
            CertKind::OrgPerson => {
                let p = a
                    .persons
                    .get(
                        usize::try_from(line)
                            .unwrap_or(0)
                            .saturating_sub(usize::from(a.org_years.is_some())),
                    )
                    .ok_or(AppError::NotFound)?;
                Some((p.name.as_str().to_owned(), p.id_number.as_str().to_owned()))
            }
        };
        let req = CaRequest {
            kind: pl.kind,
            years: pl.years,
            org: a.unit_name.as_str().to_owned(),
            uscc: a.credit_code.as_str().to_owned(),
            person,
            csr,
        };
        let issued = match ca.issue(req).await {
            Ok(i) => i,
            Err(e) => {
                let _ = self.desk.store.unreserve_line(o.id, line).await;
                return Err(match e {
                    crate::GatewayError::Refused(m) => {
                        AppError::invalid("csr", format!("证书请求无效:{m}"))
                    }
                    crate::GatewayError::Unavailable(m) => AppError::Unavailable(m),
                });
            }
        };
        let stored = IssuedLine {
            sign_serial: issued.sign_serial.clone(),
            enc_serial: issued.enc_serial.clone(),
            sign_pem: issued.sign_pem.clone(),
            enc_pem: issued.enc_pem.clone(),
            envelope: issued.envelope.clone(),
            pin: new_pin(),
        };
        let audit = self.event(
            actor.audit_name(),
            "production.issue",
            format!("order:{}", o.no),
            actor.ip.as_deref(),
            serde_json::json!({
                "line": line,
                "profile": pl.kind.as_str(),
                "years": pl.years,
                "sign_serial": issued.sign_serial,
                "enc_serial": issued.enc_serial,
            }),
        );
        self.desk
            .store
            .line_issued(o.id, line, &stored, now, Effects::audit(audit))
            .await?;
        self.finish_production(actor, no).await?;
        Ok(issued)
    }

    /// Moves the order to 待邮寄 once every line is issued; then sends the PINs if allowed.
    async fn finish_production(&self, actor: &StaffActor, no: &str) -> AppResult<()> {
        let o = self.order_by_no(no).await?;
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
        let ev = self.order_event_by(
            actor.audit_name(),
            format!("制证完成,签发证书 {} 张,等待邮寄", lines.len()),
        );
        let audit = self.event(
            actor.audit_name(),
            "production.done",
            format!("order:{}", o.no),
            actor.ip.as_deref(),
            serde_json::json!({ "serials": serials }),
        );
        let mv = OrderMove {
            id: o.id,
            version: o.version,
            state: OrderState::Issued,
            draft: &o.draft,
            event: &ev,
        };
        if !o.state.may_move(OrderState::Issued) {
            return Ok(());
        }
        // A concurrent finisher wins the version race; the loser has nothing left to do.
        let _ = self.desk.store.move_with(mv, Effects::audit(audit)).await?;
        self.release_pins(no).await?;
        Ok(())
    }

    /// Issues every line not yet issued, with keys made in the CA (sandbox: no USB key here).
    pub async fn issue_all_sandbox(&self, actor: &StaffActor, no: &str) -> AppResult<usize> {
        let (o, lines) = self.production_lines(actor, no).await?;
        if o.state != OrderState::Approved {
            return Err(AppError::Conflict(format!(
                "业务单当前状态为“{}”,不能制证",
                o.state.label()
            )));
        }
        let mut n = 0;
        for l in lines.iter().filter(|l| l.stored.is_none()) {
            self.issue_line(actor, no, l.line, None).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Sends the held PINs of an order if 金融认证 passed (and erases them); returns how many
    /// went out. Called after production and by the payment use cases when 金融认证 passes.
    pub async fn release_pins(&self, no: &str) -> AppResult<usize> {
        let o = self.order_by_no(no).await?;
        if o.fin_state != FinState::Passed {
            return Ok(0);
        }
        let held = self.desk.store.held_pins(o.id).await?;
        if held.is_empty() {
            return Ok(0);
        }
        let a = self.application_of(&o)?;
        let offset = i64::from(a.org_years.is_some());
        let mut sms = Vec::new();
        let mut lines = Vec::new();
        for (line, pin) in held {
            let (phone, template, name): (Phone, &str, String) =
                if a.org_years.is_some() && line == 0 {
                    (
                        a.handler_phone.clone(),
                        "pin_org",
                        a.unit_name.as_str().to_owned(),
                    )
                } else {
                    let p = usize::try_from(line - offset)
                        .ok()
                        .and_then(|i| a.persons.get(i))
                        .ok_or_else(|| AppError::Internal(format!("PIN of unknown line {line}")))?;
                    (p.phone.clone(), "pin_person", p.name.as_str().to_owned())
                };
            sms.push(OutgoingSms {
                phone,
                template: template.into(),
                params: vec![("name".into(), name), ("pin".into(), pin)],
                order_no: Some(o.no.to_string()),
                queued_at: self.now(),
            });
            lines.push(line);
        }
        let audit = self.event(
            "system".into(),
            "production.pins_sent",
            format!("order:{}", o.no),
            None,
            serde_json::json!({ "lines": lines }),
        );
        let n = lines.len();
        let effects = Effects {
            audit: vec![audit],
            sms,
        };
        let ev = self.order_event_by("system".into(), format!("证书PIN码已通过短信发送({n} 条)"));
        if self
            .desk
            .store
            .pins_sent(o.id, &lines, self.now(), &ev, effects)
            .await?
        {
            Ok(n)
        } else {
            Ok(0)
        }
    }

    /// Token-writing station: orders with lines still to issue, and those lines.
    pub async fn station_work(
        &self,
        actor: &StaffActor,
    ) -> AppResult<Vec<(OrderRecord, Vec<PlannedLine>)>> {
        let mut out = Vec::new();
        for o in self.production_queue(actor).await? {
            let lines = self.plan(&o).await?;
            let open: Vec<PlannedLine> = lines.into_iter().filter(|l| l.stored.is_none()).collect();
            if !open.is_empty() {
                out.push((o, open));
            }
        }
        Ok(out)
    }
}
