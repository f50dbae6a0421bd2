//! The tamper-evident audit log (I3): rows numbered 1, 2, 3… each carrying an SM3 hash over
//! the previous row's hash and its own content, so a changed, removed or inserted row breaks
//! the chain at a place `certhall audit verify` can name.

use crate::model::{AuditAnchor, AuditHead, AuditRow};
use sm3::{Digest, Sm3};

/// Makes audit events on a service's clock.
pub(crate) trait Audits {
    /// Now.
    fn now(&self) -> crate::clock::Millis;

    /// An audit event happening now.
    fn audit_event(
        &self,
        actor: String,
        action: &str,
        subject: String,
        ip: Option<&str>,
        detail: serde_json::Value,
    ) -> crate::model::AuditEvent {
        crate::model::AuditEvent {
            at: self.now(),
            actor,
            action: action.into(),
            subject,
            ip: ip.map(str::to_owned),
            detail,
        }
    }
}

/// `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one row. Each field is length-prefixed so no two different rows hash the same
/// bytes; `detail` is the exact JSON text stored.
#[allow(clippy::too_many_arguments)]
pub fn row_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    ip: Option<&str>,
    detail: &str,
) -> String {
    let mut h = Sm3::new();
    let seq_s = seq.to_string();
    let at_s = at.to_string();
    for field in [
        prev_hash,
        &seq_s,
        &at_s,
        actor,
        action,
        subject,
        ip.unwrap_or("-"),
        detail,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The hash a stored row should carry, recomputed from its content.
pub fn expected_hash(row: &AuditRow) -> String {
    let e = &row.event;
    row_hash(
        &row.prev_hash,
        row.seq,
        e.at,
        &e.actor,
        &e.action,
        &e.subject,
        e.ip.as_deref(),
        &e.detail.to_string(),
    )
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every row links, hashes and (where keyed) carries its MAC; the head is the last row;
    /// every anchor is still in the chain.
    Intact {
        /// Rows checked.
        rows: i64,
        /// Of those, rows written before the chain was keyed (no MAC to check).
        unkeyed: i64,
        /// Anchors checked.
        anchors: usize,
    },
    /// The first problem found, with the row it concerns.
    Broken {
        /// Sequence number of the first bad or missing row.
        seq: i64,
        /// What is wrong, in words for an operator.
        problem: String,
    },
}

fn broken(seq: i64, problem: String) -> ChainCheck {
    ChainCheck::Broken { seq, problem }
}

/// Checks rows given oldest first against each other, against the MAC each must carry
/// (`mac(seq, hash)`, computed with the key outside the database), against the head the
/// store keeps (which must be exactly the last row), and against anchors recorded outside the
/// database (the chain must still reach each, with the same hash). Together they catch a
/// changed row, a row removed or inserted, a forged row appended past the head, a rewritten
/// and recomputed chain (no key), and a tail deleted with the head rewound (the anchors).
pub fn verify_chain(
    rows: &[AuditRow],
    head: Option<&AuditHead>,
    mac: &dyn Fn(i64, &str) -> String,
    anchors: &[AuditAnchor],
) -> ChainCheck {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut keyed = false;
    let mut unkeyed = 0;
    for row in rows {
        if row.seq != expected_seq {
            return broken(
                expected_seq,
                format!(
                    "row {expected_seq} is missing (the next row present is {})",
                    row.seq
                ),
            );
        }
        if row.prev_hash != prev {
            return broken(
                row.seq,
                format!("row {} does not link to row {}", row.seq, row.seq - 1),
            );
        }
        if expected_hash(row) != row.hash {
            return broken(
                row.seq,
                format!("row {} was changed after it was written", row.seq),
            );
        }
        match &row.mac {
            Some(m) if *m == mac(row.seq, &row.hash) => keyed = true,
            Some(_) => {
                return broken(
                    row.seq,
                    format!(
                        "row {} carries a MAC the key did not make (the chain was rewritten)",
                        row.seq
                    ),
                )
            }
            None if keyed => {
                return broken(
                    row.seq,
                    format!("row {} has no MAC although earlier rows do", row.seq),
                )
            }
            None => unkeyed += 1,
        }
        prev = row.hash.clone();
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    let Some(head) = head else {
        return broken(last, "the chain's head record is missing".into());
    };
    if head.seq > last {
        return broken(
            last + 1,
            format!("rows {} to {} are missing from the end", last + 1, head.seq),
        );
    }
    if head.seq < last {
        return broken(
            head.seq + 1,
            format!(
                "rows {} to {last} were added after the recorded head ({})",
                head.seq + 1,
                head.seq
            ),
        );
    }
    if head.hash != prev {
        return broken(last, format!("row {last} does not match the recorded head"));
    }
    match &head.mac {
        Some(m) if *m != mac(head.seq, &head.hash) => {
            return broken(last, "the head carries a MAC the key did not make".into())
        }
        None if keyed => return broken(last, "the head has no MAC although rows do".into()),
        _ => {}
    }
    for a in anchors {
        if a.seq > last {
            return broken(
                last + 1,
                format!(
                    "rows {} to {} were removed from the end (anchored outside the database at {})",
                    last + 1,
                    a.seq,
                    a.seq
                ),
            );
        }
        let at = usize::try_from(a.seq - 1).ok().and_then(|i| rows.get(i));
        if a.seq > 0 && at.is_none_or(|r| r.hash != a.hash) {
            return broken(
                a.seq,
                format!(
                    "row {} differs from the anchor recorded outside the database",
                    a.seq
                ),
            );
        }
    }
    ChainCheck::Intact {
        rows: last,
        unkeyed,
        anchors: anchors.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditEvent;

    /// The MAC with the key outside the database (a stand-in: anything the attacker cannot
    /// compute without `KEY`).
    const KEY: &str = "outside";
    fn mac(seq: i64, hash: &str) -> String {
        hex::encode(sm3::Sm3::digest(format!("{KEY}:{seq}:{hash}")))
    }

    fn row(seq: i64, prev: &str, actor: &str, keyed: bool) -> AuditRow {
        let event = AuditEvent {
            at: seq * 1000,
            actor: actor.into(),
            action: "staff.login".into(),
            subject: "staff:1".into(),
            ip: Some("127.0.0.1".into()),
            detail: serde_json::json!({"n": seq}),
        };
        let mut r = AuditRow {
            seq,
            event,
            prev_hash: prev.into(),
            hash: String::new(),
            mac: None,
        };
        r.hash = expected_hash(&r);
        if keyed {
            r.mac = Some(mac(seq, &r.hash));
        }
        r
    }

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let r = row(seq, &prev, "staff:1", true);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn head_of(rows: &[AuditRow]) -> AuditHead {
        let last = rows.last();
        AuditHead {
            seq: last.map(|r| r.seq).unwrap_or(0),
            hash: last.map(|r| r.hash.clone()).unwrap_or(GENESIS.into()),
            mac: last.map(|r| mac(r.seq, &r.hash)),
        }
    }

    fn check(rows: &[AuditRow], head: &AuditHead, anchors: &[AuditAnchor]) -> ChainCheck {
        verify_chain(rows, Some(head), &mac, anchors)
    }

    fn anchor(r: &AuditRow) -> AuditAnchor {
        AuditAnchor {
            seq: r.seq,
            hash: r.hash.clone(),
        }
    }

    #[test]
    fn an_intact_chain_verifies_with_its_anchors() {
        let rows = chain(5);
        assert_eq!(
            check(
                &rows,
                &head_of(&rows),
                &[anchor(&rows[2]), anchor(&rows[4])]
            ),
            ChainCheck::Intact {
                rows: 5,
                unkeyed: 0,
                anchors: 2
            }
        );
        assert!(matches!(
            check(&[], &head_of(&[]), &[]),
            ChainCheck::Intact { rows: 0, .. }
        ));
    }

    #[test]
    fn a_changed_row_is_named() {
        let mut rows = chain(5);
        let head = head_of(&rows);
        rows[2].event.actor = "staff:2".into();
        assert!(matches!(
            check(&rows, &head, &[]),
            ChainCheck::Broken { seq: 3, .. }
        ));
    }

    #[test]
    fn a_forged_row_appended_past_the_head_is_caught() {
        let mut rows = chain(5);
        let head = head_of(&rows);
        let forged = row(6, &rows[4].hash.clone(), "staff:9", false);
        rows.push(forged);
        assert!(matches!(
            check(&rows, &head, &[]),
            ChainCheck::Broken { seq: 6, .. }
        ));
    }

    #[test]
    fn a_rewritten_and_recomputed_chain_fails_on_its_macs() {
        // The attacker changes row 3 and recomputes every hash after it, but cannot make MACs
        // without the key (they reuse or invent some).
        let good = chain(5);
        let mut rows = good[..2].to_vec();
        let mut prev = rows[1].hash.clone();
        for seq in 3..=5 {
            let mut r = row(seq, &prev, "staff:7", false);
            r.mac = good[(seq - 1) as usize].mac.clone();
            prev = r.hash.clone();
            rows.push(r);
        }
        let head = AuditHead {
            seq: 5,
            hash: prev,
            mac: good[4].mac.clone(),
        };
        assert!(matches!(
            check(&rows, &head, &[]),
            ChainCheck::Broken { seq: 3, .. }
        ));
    }

    #[test]
    fn a_deleted_tail_with_a_rewound_head_is_caught_by_the_anchor() {
        let rows = chain(5);
        let anchors = [anchor(&rows[4])];
        // Rows 4 and 5 deleted, the head rewound to row 3 with row 3's own MAC: consistent in
        // the database, so only the anchor outside it can tell.
        let short = rows[..3].to_vec();
        let head = head_of(&short);
        assert!(matches!(
            check(&short, &head, &[]),
            ChainCheck::Intact { rows: 3, .. }
        ));
        assert!(matches!(
            check(&short, &head, &anchors),
            ChainCheck::Broken { seq: 4, .. }
        ));
    }

    #[test]
    fn rows_written_before_keying_are_counted_and_a_later_unkeyed_row_is_refused() {
        let a = row(1, GENESIS, "cli", false);
        let b = row(2, &a.hash.clone(), "cli", true);
        let rows = vec![a.clone(), b.clone()];
        assert_eq!(
            check(&rows, &head_of(&rows), &[]),
            ChainCheck::Intact {
                rows: 2,
                unkeyed: 1,
                anchors: 0
            }
        );
        let c = row(3, &b.hash.clone(), "cli", false);
        let rows = vec![a, b, c];
        assert!(matches!(
            check(&rows, &head_of(&rows), &[]),
            ChainCheck::Broken { seq: 3, .. }
        ));
    }

    #[test]
    fn a_missing_row_in_the_middle_or_at_the_end_is_named() {
        let mut rows = chain(5);
        let head = head_of(&rows);
        rows.remove(1);
        assert!(matches!(
            check(&rows, &head, &[]),
            ChainCheck::Broken { seq: 2, .. }
        ));
        let mut rows = chain(5);
        rows.pop();
        assert!(matches!(
            check(&rows, &head, &[]),
            ChainCheck::Broken { seq: 5, .. }
        ));
    }
}
