//! The tamper-evident audit log (I3): rows numbered 1, 2, 3… each carrying an SM3 hash over
//! the previous row's hash and its own content, so a changed, removed or inserted row breaks
//! the chain at a place `certhall audit verify` can name.

use crate::model::AuditRow;
use sm3::{Digest, Sm3};

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
    /// Every row links and hashes correctly; `rows` were checked.
    Intact {
        /// Rows checked.
        rows: i64,
    },
    /// The first problem found, with the row it concerns.
    Broken {
        /// Sequence number of the first bad or missing row.
        seq: i64,
        /// What is wrong, in words for an operator.
        problem: String,
    },
}

/// Checks rows given oldest first against each other and against the head the store keeps.
pub fn verify_chain(rows: &[AuditRow], head: Option<(i64, String)>) -> ChainCheck {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for row in rows {
        if row.seq != expected_seq {
            return ChainCheck::Broken {
                seq: expected_seq,
                problem: format!(
                    "row {expected_seq} is missing (the next row present is {})",
                    row.seq
                ),
            };
        }
        if row.prev_hash != prev {
            return ChainCheck::Broken {
                seq: row.seq,
                problem: format!("row {} does not link to row {}", row.seq, row.seq - 1),
            };
        }
        if expected_hash(row) != row.hash {
            return ChainCheck::Broken {
                seq: row.seq,
                problem: format!("row {} was changed after it was written", row.seq),
            };
        }
        prev = row.hash.clone();
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    match head {
        Some((head_seq, _)) if head_seq > last => ChainCheck::Broken {
            seq: last + 1,
            problem: format!("rows {} to {head_seq} are missing from the end", last + 1),
        },
        Some((head_seq, head_hash)) if head_seq == last && last > 0 && head_hash != prev => {
            ChainCheck::Broken {
                seq: last,
                problem: format!("row {last} does not match the recorded head"),
            }
        }
        _ => ChainCheck::Intact { rows: last },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditEvent;

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let event = AuditEvent {
                    at: seq * 1000,
                    actor: "staff:1".into(),
                    action: "staff.login".into(),
                    subject: "staff:1".into(),
                    ip: Some("127.0.0.1".into()),
                    detail: serde_json::json!({"n": seq}),
                };
                let mut row = AuditRow {
                    seq,
                    event,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                row.hash = expected_hash(&row);
                prev = row.hash.clone();
                row
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        let head = Some((5, rows[4].hash.clone()));
        assert_eq!(verify_chain(&rows, head), ChainCheck::Intact { rows: 5 });
    }

    #[test]
    fn names_the_changed_row() {
        let mut rows = chain(5);
        rows[2].event.actor = "staff:2".into();
        assert!(matches!(
            verify_chain(&rows, None),
            ChainCheck::Broken { seq: 3, .. }
        ));
    }

    #[test]
    fn names_a_missing_row_in_the_middle_and_at_the_end() {
        let mut rows = chain(5);
        let head = Some((5, rows[4].hash.clone()));
        rows.remove(1);
        assert!(matches!(
            verify_chain(&rows, head.clone()),
            ChainCheck::Broken { seq: 2, .. }
        ));
        let mut rows = chain(5);
        rows.pop();
        assert!(matches!(
            verify_chain(&rows, head),
            ChainCheck::Broken { seq: 5, .. }
        ));
    }
}
