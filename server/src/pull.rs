//! The supervisor's incremental pull: visits (and conflicting copies) in their regions, in server sequence order.
//! A visit reappears with a higher `seq` whenever it changes (a review), so `since` = the last `seq` seen is
//! enough to stay in step.

use crate::db::sql::{OptionalExtension, Row, Transaction, params};
use tepat_form::Finding;
use tepat_protocol::{PullResponse, ReviewStatus, ServerVisit, VisitDoc};

use crate::db::{self, DbError};
use crate::regions::scope_sql;

const COLUMNS: &str =
    "seq, doc, user_id, device_id, region_code, received_at, status, findings, review_comment";

struct RawVisit {
    seq: i64,
    doc: String,
    user_id: String,
    device_id: String,
    region_code: String,
    received_at: String,
    status: String,
    findings: String,
    review_comment: Option<String>,
}

fn raw(r: &Row<'_>) -> crate::db::sql::Result<RawVisit> {
    Ok(RawVisit {
        seq: r.get(0)?,
        doc: r.get(1)?,
        user_id: r.get(2)?,
        device_id: r.get(3)?,
        region_code: r.get(4)?,
        received_at: r.get(5)?,
        status: r.get(6)?,
        findings: r.get(7)?,
        review_comment: r.get(8)?,
    })
}

fn parse_status(status: &str) -> Result<ReviewStatus, DbError> {
    match status {
        "submitted" => Ok(ReviewStatus::Submitted),
        "approved" => Ok(ReviewStatus::Approved),
        "returned" => Ok(ReviewStatus::Returned),
        "conflict" => Ok(ReviewStatus::Conflict),
        other => Err(DbError::Corrupt(format!("visit status {other:?}"))),
    }
}

fn finish(raw: RawVisit) -> Result<ServerVisit, DbError> {
    let visit: VisitDoc =
        serde_json::from_str(&raw.doc).map_err(|e| DbError::Corrupt(format!("visit: {e}")))?;
    let findings: Vec<Finding> = serde_json::from_str(&raw.findings)
        .map_err(|e| DbError::Corrupt(format!("findings: {e}")))?;
    Ok(ServerVisit {
        seq: raw.seq.max(0) as u64,
        visit,
        user_id: raw.user_id,
        device_id: raw.device_id,
        region_code: (!raw.region_code.is_empty()).then_some(raw.region_code),
        received_at: db::parse_timestamp(&raw.received_at)?,
        status: parse_status(&raw.status)?,
        findings,
        review_comment: raw.review_comment,
    })
}

impl RawVisit {
    /// What the visit costs in a page, near enough: its stored document, findings and comment.
    fn stored_bytes(&self) -> usize {
        self.doc.len() + self.findings.len() + self.review_comment.as_ref().map_or(0, String::len)
    }
}

/// Up to `limit` visits after `since` in the regions of `supervisor_id`, and no more than `max_bytes` of stored
/// visits: the page stops before the visit that would exceed it (but always holds one, however large) and says
/// `more`.
pub fn page(
    tx: &Transaction<'_>,
    supervisor_id: &str,
    since: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<PullResponse, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM (
             SELECT {COLUMNS} FROM visits WHERE seq > ?1
             UNION ALL
             SELECT seq, doc, user_id, device_id, region_code, received_at, 'conflict', '[]', NULL
             FROM conflicts WHERE seq > ?1) x
         WHERE {} ORDER BY seq LIMIT ?2",
        scope_sql("x.region_code", "?3")
    );
    let since_i = i64::try_from(since).unwrap_or(i64::MAX);
    let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query_map(params![since_i, fetch, supervisor_id], raw)?;
    let mut visits = Vec::new();
    let mut bytes = 0usize;
    let mut more = false;
    // Rows are read one at a time, so a page never holds more than it sends.
    for row in rows.by_ref() {
        let row = row?;
        bytes = bytes.saturating_add(row.stored_bytes());
        if visits.len() == limit || (!visits.is_empty() && bytes > max_bytes) {
            more = true;
            break;
        }
        visits.push(finish(row)?);
    }
    let next_since = visits.last().map_or(since, |v| v.seq);
    Ok(PullResponse {
        visits,
        next_since,
        more,
    })
}

/// A visit of the pull with its signals of fabrication (`crate::signals`): the protocol's `ServerVisit` and,
/// beside its fields, `signals` (empty for a conflicting copy, which is no stored revision).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignalledVisit {
    #[serde(flatten)]
    pub visit: ServerVisit,
    pub signals: Vec<crate::signals::Signal>,
}

/// The supervisor pull's answer: `PullResponse` with each visit's signals.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignalledPage {
    pub visits: Vec<SignalledVisit>,
    pub next_since: u64,
    pub more: bool,
}

/// Adds each visit's signals to a page of the pull.
pub fn with_signals(tx: &Transaction<'_>, page: PullResponse) -> Result<SignalledPage, DbError> {
    let mut visits = Vec::with_capacity(page.visits.len());
    for visit in page.visits {
        let signals = if visit.status == ReviewStatus::Conflict {
            Vec::new()
        } else {
            crate::signals::of_visit(tx, &visit.visit.visit_id.to_string(), visit.visit.revision)?
        };
        visits.push(SignalledVisit { visit, signals });
    }
    Ok(SignalledPage {
        visits,
        next_since: page.next_since,
        more: page.more,
    })
}

/// One stored revision, unscoped (callers check scope first).
pub fn one(
    tx: &Transaction<'_>,
    visit_id: &str,
    revision: u32,
) -> Result<Option<ServerVisit>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM visits WHERE visit_id = ?1 AND revision = ?2");
    let row = tx
        .query_row(&sql, params![visit_id, revision], raw)
        .optional()?;
    row.map(finish).transpose()
}

#[cfg(test)]
mod tests {
    use tepat_protocol::ReceiptStatus;

    use super::*;
    use crate::testkit::{Kit, visit};

    #[tokio::test]
    async fn a_page_stops_before_exceeding_its_bytes_but_always_holds_one_visit() {
        let kit = Kit::world();
        let enum1 = kit.enrol("enum1").await;
        let enum2 = kit.enrol("enum2").await;
        for (device, assignment) in [(&enum1, "A-1"), (&enum2, "B-1")] {
            let response = kit.sync(device, 0, vec![visit(Some(assignment))]).await;
            assert_eq!(response.receipts[0].status, ReceiptStatus::Accepted);
        }
        let page = |since, max_bytes| {
            kit.db()
                .read(|tx| page(tx, "sup", since, 100, max_bytes))
                .unwrap()
        };
        let whole = page(0, usize::MAX);
        assert_eq!(whole.visits.len(), 2);
        assert!(!whole.more);

        // One byte: each page holds the one visit that exceeds it, and says there is more.
        let first = page(0, 1);
        assert_eq!(first.visits.len(), 1);
        assert!(first.more);
        assert_eq!(first.visits[0].seq, whole.visits[0].seq);
        let second = page(first.next_since, 1);
        assert_eq!(second.visits.len(), 1);
        assert_eq!(second.visits[0].seq, whole.visits[1].seq);
        assert!(!second.more);

        // Room for the first visit and not the second.
        let first_bytes = kit
            .db()
            .read(|tx| {
                tx.query_row(
                    "SELECT length(doc) + length(findings) FROM visits WHERE seq = ?1",
                    [whole.visits[0].seq as i64],
                    |r| r.get::<_, i64>(0),
                )
            })
            .unwrap() as usize;
        let exact = page(0, first_bytes);
        assert_eq!(exact.visits.len(), 1);
        assert!(exact.more);
        assert_eq!(page(0, first_bytes * 3).visits.len(), 2);
    }
}
