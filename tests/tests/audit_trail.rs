//! Issue 16: the phone's hash-chained audit trail reaches the real server. A visit's trail arrives with it and
//! verifies (no trail finding, paradata kept); an audit row edited in the phone's database before the sync gives
//! the visit the finding `trail_edited`; the phone's clock set back a day between finalising a visit and sending it
//! gives that visit `trail_clock_changed` (its events carry the monotonic clock too); `tepat-server admin verify`
//! (the binary) finds everything in order, then names a stored visit changed behind the server's back and exits 1.

use tepat_e2e::field::Field;
use tepat_protocol::ServerVisit;

fn trail_rules(visit: &ServerVisit) -> Vec<String> {
    visit
        .findings
        .iter()
        .filter(|f| f.path == "trail")
        .map(|f| f.rule.clone())
        .collect()
}

#[test]
fn a_visits_trail_arrives_and_verifies_and_an_edited_audit_row_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 61).unwrap();
    field.add_enumerators(&["Sri Wahyuni"], 3, &[]).unwrap();
    let intact = field.enter_found(0, 0).unwrap();
    let edited = field.enter_found(0, 1).unwrap();

    // Someone with the phone's database file and its key (the database is encrypted at rest) changes an answer
    // event of the second visit, behind the app (the append-only trigger lifted and put back), before it is synced.
    let db = field.enumerators[0].dir.join("device.db");
    let key: String = std::fs::read(field.enumerators[0].dir.join("device.key"))
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let edited_seq: i64 = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))
            .unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        let seq = conn
            .query_row(
                "SELECT max(seq) FROM audit WHERE visit_id = ?1 AND kind = 'answer_set'",
                [edited.visit_id.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        let changed = conn.execute_batch(&format!(
            "DROP TRIGGER audit_no_update;
                 UPDATE audit SET new = '\"0\"' WHERE seq = (SELECT max(seq) FROM audit
                     WHERE visit_id = '{}' AND kind = 'answer_set');
                 CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                 BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
            edited.visit_id
        ));
        changed.unwrap();
        seq
    };
    field.enumerators[0].phone.sync_until_clean(3).unwrap();

    let pulled = field.supervisor.pull_all().unwrap();
    let find = |id| pulled.iter().find(|v| v.visit.visit_id == id).unwrap();
    assert_eq!(
        trail_rules(find(intact.visit_id)),
        Vec::<String>::new(),
        "the intact visit's trail verifies"
    );
    assert_eq!(trail_rules(find(edited.visit_id)), ["trail_edited"]);
    // The trail carries hashes only at the ends of runs, so the server finds the edited run; the phone's own
    // check names the edited position in the finding.
    let message = &find(edited.visit_id)
        .findings
        .iter()
        .find(|f| f.rule == "trail_edited")
        .unwrap()
        .message
        .id;
    assert!(
        message.contains(&format!("HP menandai peristiwa {edited_seq}.")),
        "{message}"
    );

    // The server kept the trail and computed paradata from it.
    let server_db = field.server.data().join("tepat.db");
    let conn = rusqlite::Connection::open(&server_db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let (events, paradata): (i64, String) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM trail_events WHERE visit_id = ?1), paradata FROM visits
             WHERE visit_id = ?1",
            [intact.visit_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(events > 10, "{events} events kept");
    // Every event of the visit came with its monotonic reading (one boot: the phone's clock).
    let read: i64 = conn
        .query_row(
            "SELECT count(*) FROM trail_events WHERE visit_id = ?1 AND boot IS NOT NULL AND mono IS NOT NULL",
            [intact.visit_id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(read, events);
    let paradata: serde_json::Value = serde_json::from_str(&paradata).unwrap();
    assert!(paradata["duration_s"].as_i64().is_some(), "{paradata}");
    assert!(
        paradata["gps_final"]["lat"].as_f64().is_some(),
        "{paradata}"
    );

    // The clock set back a day after a visit was finalised and before it was sent: its `sent` event is a day
    // behind its `finalised` one by the wall clock, minutes after it by the monotonic clock.
    let late = field.enter_found(0, 2).unwrap();
    field.enumerators[0]
        .clock
        .set_by(chrono::Duration::days(-1));
    field.enumerators[0].phone.sync_until_clean(3).unwrap();
    let pulled = field.supervisor.pull_all().unwrap();
    let late = pulled
        .iter()
        .find(|v| v.visit.visit_id == late.visit_id)
        .unwrap();
    assert_eq!(trail_rules(late), ["trail_clock_changed"]);
    let message = &late
        .findings
        .iter()
        .find(|f| f.rule == "trail_clock_changed")
        .unwrap()
        .message;
    assert!(message.id.contains("Jam HP diubah"), "{}", message.id);
    assert!(
        message.en.contains("−1 d") || message.en.contains("−23 h"),
        "{}",
        message.en
    );

    // admin verify: all in order (the edited event is counted as found when it arrived), then a stored document
    // changed behind the server's back is named, with exit status 1.
    let verify = || {
        let out = std::process::Command::new(tepat_e2e::server::server_binary().unwrap())
            .args(["admin", "--data"])
            .arg(field.server.data())
            .arg("verify")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (status, clean) = verify();
    assert_eq!(status, Some(0), "{clean}");
    assert!(clean.contains("everything matches"), "{clean}");
    conn.execute(
        "UPDATE visits SET doc = json_set(doc, '$.visit_date', '2020-01-01') WHERE visit_id = ?1",
        [intact.visit_id.to_string()],
    )
    .unwrap();
    drop(conn);
    let (status, report) = verify();
    assert_eq!(status, Some(1), "{report}");
    assert!(
        report.contains(&format!(
            "MISMATCH visit {} revision 1: document sha256",
            intact.visit_id
        )),
        "{report}"
    );
}
