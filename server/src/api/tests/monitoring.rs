//! The 6T monitoring of aid distribution through the API: a pendamping PKH files monitoring visits without an
//! assignment (the form lets enumerators start it), the PPKS asesmen stays refused to them, and the supervisor
//! reads the points of their regions with the KPM counted on each of the six criteria, page by page.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tepat_protocol::{ReceiptStatus, RejectCode, Role, VisitDoc};
use tepat_synth::{Generator, Lapse};

use crate::testkit::{Kit, visit};

const MONITORING: &str = include_str!("../../../../schemas/forms/monitoring_6t.json");
const PPKS: &str = include_str!("../../../../schemas/forms/ppks_asesmen.json");

/// A monitoring visit at `village` on `date`, point `code` / `name`, its KPM with these lapses.
fn at_point(
    g: &mut Generator,
    village: &str,
    date: &str,
    code: &str,
    name: &str,
    lapses: &[Lapse],
) -> VisitDoc {
    let mut doc = g
        .monitoring_visit_with("17.71", lapses, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let a = &mut doc.answers;
    a.insert("region".into(), json!(village));
    a.insert("distribution_date".into(), json!(date));
    a.insert("point_code".into(), json!(code));
    a.insert("point_name".into(), json!(name));
    doc
}

fn counts(point: &Value, criterion: &str) -> (u64, u64, u64) {
    let c = &point[criterion];
    (
        c["met"].as_u64().unwrap_or(99),
        c["not_met"].as_u64().unwrap_or(99),
        c["unknown"].as_u64().unwrap_or(99),
    )
}

#[tokio::test]
async fn a_pendamping_files_monitoring_visits_and_the_supervisor_sees_each_point_s_6t() {
    let kit = Kit::new();
    kit.user("sup", Role::Supervisor, &["17.71"]);
    kit.user("sup_jkt", Role::Supervisor, &["31.71"]);
    kit.user("pkh", Role::Enumerator, &["17.71"]);
    kit.publish(MONITORING);
    kit.publish(PPKS);
    let pkh = kit.enrol("pkh").await;
    let sup = kit.enrol("sup").await;
    let mut g = Generator::new(15);
    let village = "17.71.01.1001";
    let other = "17.71.02.1001";
    // Two visits at one e-Warong on one day (its code written in two ways), one at another point.
    let first = at_point(
        &mut g,
        village,
        "2026-03-14",
        "EW-0001",
        "e-Warong Mawar",
        &[Lapse::None, Lapse::NotOnList],
    );
    let second = at_point(
        &mut g,
        village,
        "2026-03-14",
        "ew-0001",
        "e-Warong Mawar",
        &[Lapse::NoReceipt],
    );
    let elsewhere = at_point(
        &mut g,
        other,
        "2026-03-15",
        "POS.17710",
        "Kantor Pos Kampung Melayu",
        &[Lapse::None, Lapse::None],
    );
    // Quality is judged only where goods are given: the first visit's programme decides whether its clean KPM
    // met all six.
    let first_gives_goods = first.answers["programme"] != json!("1");
    let reply = kit.sync(&pkh, 0, vec![first, second, elsewhere]).await;
    for receipt in &reply.receipts {
        assert_eq!(receipt.status, ReceiptStatus::Accepted, "{receipt:?}");
        assert_eq!(receipt.error_count, 0, "{receipt:?}");
    }
    // The same pendamping may not start a PPKS asesmen.
    let mut asesmen = visit(None);
    asesmen.form_id = "ppks_asesmen".into();
    // The version the published asesmen has (whatever it is now).
    asesmen.form_version = tepat_form::load(PPKS)
        .map(|f| f.form().version)
        .unwrap_or_default();
    let reply = kit.sync(&pkh, 0, vec![asesmen]).await;
    assert_eq!(reply.receipts[0].reject_code, Some(RejectCode::NotAssigned));
    assert!(
        reply.receipts[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("\"ppks_asesmen\"") && r.contains("your role: enumerator")),
        "{:?}",
        reply.receipts[0].reason
    );

    let reply = kit
        .get(
            "/api/v1/supervisor/progress/distribution-points",
            Some(&sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body: Value = reply.json();
    assert_eq!(body["form_id"], "monitoring_6t");
    assert_eq!(body["total"], 2);
    assert!(body.get("next_offset").is_none());
    let points = body["points"].as_array().cloned().unwrap_or_default();
    // Newest distribution day first.
    assert_eq!(points[0]["point_code"], "POS.17710");
    assert_eq!(points[0]["region_code"], other);
    assert_eq!(points[0]["distribution_date"], "2026-03-15");
    assert_eq!(points[0]["visits"], 1);
    assert_eq!(points[0]["kpm_interviewed"], 2);
    let warong = &points[1];
    assert_eq!(warong["point_code"], "EW-0001");
    assert_eq!(warong["point_name"], "e-Warong Mawar");
    assert_eq!(warong["region_code"], village);
    assert!(
        warong["region_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    assert_eq!(warong["visits"], 2);
    assert_eq!(warong["kpm_interviewed"], 3);
    assert_eq!(counts(warong, "sasaran"), (2, 1, 0));
    assert_eq!(counts(warong, "administrasi"), (2, 1, 0));
    assert_eq!(counts(warong, "jumlah"), (3, 0, 0));
    assert_eq!(counts(warong, "waktu"), (3, 0, 0));
    assert_eq!(counts(warong, "harga"), (3, 0, 0));
    let (met, not_met, unknown) = counts(warong, "kualitas");
    assert_eq!((met + unknown, not_met), (3, 0));
    assert_eq!(
        warong["kpm_all_met"].as_u64(),
        Some(u64::from(first_gives_goods))
    );

    // The CSV: one row per KPM, its point's columns on every row, its six results.
    let reply = kit
        .get(
            "/api/v1/supervisor/export/distribution-points.csv",
            Some(&sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "text/csv; charset=utf-8");
    let body = reply.text();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, crate::monitoring::KPM_COLUMNS);
    let rows: Vec<std::collections::HashMap<String, String>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 5);
    let at_warong: Vec<_> = rows
        .iter()
        .filter(|r| r["point_code"].eq_ignore_ascii_case("EW-0001"))
        .collect();
    assert_eq!(at_warong.len(), 3);
    for row in &at_warong {
        assert_eq!(row["point_name"], "e-Warong Mawar");
        assert_eq!(row["region_code"], village);
        assert_eq!(row["distribution_date"], "2026-03-14");
        assert_eq!(row["user_id"], "pkh");
    }
    let sasaran: Vec<&str> = at_warong.iter().map(|r| r["t_sasaran"].as_str()).collect();
    assert_eq!(sasaran, ["1", "2", "1"]);
    let kpm_no: Vec<&str> = at_warong.iter().map(|r| r["kpm_no"].as_str()).collect();
    assert_eq!(kpm_no, ["1", "2", "1"]);
    assert_eq!(at_warong[1]["problems"], "1");
    assert_eq!(at_warong[2]["t_administrasi"], "2");
    let reply = kit
        .get(
            "/api/v1/supervisor/export/distribution-points.csv",
            Some(&pkh.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // Pages.
    let reply = kit
        .get(
            "/api/v1/supervisor/progress/distribution-points?limit=1",
            Some(&sup.token),
        )
        .await;
    let page: Value = reply.json();
    assert_eq!(page["points"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["next_offset"], 1);
    let reply = kit
        .get(
            "/api/v1/supervisor/progress/distribution-points?limit=1&offset=1",
            Some(&sup.token),
        )
        .await;
    let page: Value = reply.json();
    assert_eq!(page["points"][0]["point_code"], "EW-0001");
    assert!(page.get("next_offset").is_none());
    let reply = kit
        .get(
            "/api/v1/supervisor/progress/distribution-points?limit=0",
            Some(&sup.token),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "bad_query");
    let reply = kit
        .get(
            "/api/v1/supervisor/progress/distribution-points?limit=100000",
            Some(&sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Another supervisor's regions hold none of them; a pendamping may not read it.
    let jkt = kit.enrol("sup_jkt").await;
    let reply = kit
        .get(
            "/api/v1/supervisor/progress/distribution-points",
            Some(&jkt.token),
        )
        .await;
    let body: Value = reply.json();
    assert_eq!(body["total"], 0);
    assert_eq!(body["points"], json!([]));
    let reply = kit
        .get(
            "/api/v1/supervisor/progress/distribution-points",
            Some(&pkh.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}
