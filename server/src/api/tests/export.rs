//! Exports of the real DTSEN ground-check form with generated households: what an analyst opening the CSV
//! finds in the key columns and the calculated columns, and that visits stored before the `exported` column
//! existed export the same once backfilled.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tepat_protocol::{ReceiptStatus, Role, VisitDoc};
use tepat_synth::{Generator, Outcome};

use crate::testkit::{Device, Kit};

const DTSEN: &str = include_str!("../../../../schemas/forms/dtsen_groundcheck.json");

/// A supervisor of Kota Bengkulu and an enumerator who synced four households: two ordinary families, one
/// that split off with a new KK, and one not found.
struct World {
    kit: Kit,
    sup: Device,
    ordinary: VisitDoc,
    split_off: VisitDoc,
    not_found: VisitDoc,
    not_found_village: String,
}

async fn world() -> World {
    world_with(|_| {}).await
}

/// The same world, the ordinary family's visit changed by `edit` before it is synced.
async fn world_with(edit: impl FnOnce(&mut VisitDoc)) -> World {
    let kit = Kit::new();
    kit.user("sup", Role::Supervisor, &["17.71"]);
    kit.user("enum1", Role::Enumerator, &["17.71"]);
    kit.publish(DTSEN);
    let mut generator = Generator::new(5);
    let assignments = generator.assignments("17.71", 4).unwrap();
    let mut csv = String::from("assignment_id,user_id,form_id,form_version,region_code,label\n");
    for a in &assignments {
        csv.push_str(&format!(
            "{},enum1,{},{},{},{}\n",
            a.assignment_id, a.form_id, a.form_version, a.region_code, a.label
        ));
    }
    kit.assign(&csv);
    let mut visit = |i: usize, outcome| generator.visit_for(&assignments[i], outcome).unwrap();
    let mut ordinary = visit(0, Outcome::Found);
    edit(&mut ordinary);
    let other = visit(1, Outcome::Found);
    let mut split_off = visit(2, Outcome::Found);
    let not_found = visit(3, Outcome::NotFound);
    // The family visited is itself the part that split off: its new KK is what identifies it now.
    split_off.answers.insert("family_split".into(), json!("2"));
    split_off
        .answers
        .insert("new_kk_number".into(), other.answers["kk_number"].clone());
    let enum1 = kit.enrol("enum1").await;
    let sup = kit.enrol("sup").await;
    let visits = vec![ordinary.clone(), split_off.clone(), not_found.clone()];
    let response = kit.sync(&enum1, 0, visits).await;
    for receipt in &response.receipts {
        assert_eq!(receipt.status, ReceiptStatus::Accepted, "{receipt:?}");
    }
    World {
        kit,
        sup,
        ordinary,
        split_off,
        not_found,
        not_found_village: assignments[3].region_code.clone(),
    }
}

/// An export as rows of named cells.
async fn export(world: &World, table: &str) -> Vec<HashMap<String, String>> {
    let reply = world
        .kit
        .get(
            &format!("/api/v1/supervisor/export/{table}.csv?form_id=dtsen_groundcheck"),
            Some(&world.sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.text();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn text(doc: &VisitDoc, field: &str) -> String {
    doc.answers[field].as_str().unwrap_or_default().to_string()
}

fn row_of<'a>(rows: &'a [HashMap<String, String>], doc: &VisitDoc) -> &'a HashMap<String, String> {
    rows.iter()
        .find(|r| r["visit_id"] == doc.visit_id.to_string())
        .unwrap_or_else(|| panic!("no row for {}", doc.visit_id))
}

#[tokio::test]
async fn households_are_keyed_by_the_kk_the_family_has_now() {
    let world = world().await;
    let rows = export(&world, "households").await;
    assert_eq!(rows.len(), 3);

    let ordinary = row_of(&rows, &world.ordinary);
    assert_eq!(ordinary["kk"], text(&world.ordinary, "kk_number"));
    assert_eq!(ordinary["nik"], text(&world.ordinary, "head_nik"));
    assert_eq!(ordinary["kk"].len(), 16);
    assert_eq!(ordinary["nik"].len(), 16);
    assert_eq!(ordinary["new_kk_number"], "");

    let split_off = row_of(&rows, &world.split_off);
    assert_eq!(split_off["kk"], text(&world.split_off, "new_kk_number"));
    assert_ne!(split_off["kk"], text(&world.split_off, "kk_number"));
    assert_eq!(split_off["nik"], text(&world.split_off, "head_nik"));

    // Nothing of the identity section is shown for a family not found, so there is no key to give.
    let not_found = row_of(&rows, &world.not_found);
    assert_eq!(
        (not_found["kk"].as_str(), not_found["nik"].as_str()),
        ("", "")
    );
    assert_eq!(not_found["village_code"], world.not_found_village);
    assert!(!not_found["village_name"].is_empty());
}

#[tokio::test]
async fn calculated_columns_hold_the_engine_s_values() {
    let world = world().await;
    let households = export(&world, "households").await;
    let members = export(&world, "members").await;
    let form = tepat_form::load(DTSEN).unwrap();
    let calculated = form.calculated(&world.ordinary.answers, world.ordinary.visit_date);

    let household = row_of(&households, &world.ordinary);
    assert_eq!(household["head_age"], cell(&calculated["head_age"]));
    assert!(household["head_age"].parse::<i64>().unwrap() >= 15);
    assert_eq!(household["head_count"], "1");

    let ordinary_members: Vec<_> = members
        .iter()
        .filter(|r| r["visit_id"] == world.ordinary.visit_id.to_string())
        .collect();
    let roster = world.ordinary.answers["members"].as_array().unwrap();
    assert_eq!(ordinary_members.len(), roster.len());
    for (row, (member, values)) in ordinary_members
        .iter()
        .zip(roster.iter().zip(calculated["members"].as_array().unwrap()))
    {
        assert_eq!(row["member_name"], member["member_name"].as_str().unwrap());
        assert_eq!(row["age_years"], cell(&values["age_years"]), "{row:?}");
        assert!(!row["age_years"].is_empty());
        let head = member["relationship"] == json!("1");
        assert_eq!(row["is_head"], if head { "1" } else { "0" });
        assert_eq!(row["kk"], text(&world.ordinary, "kk_number"));
    }
    assert!(
        members
            .iter()
            .all(|r| r["visit_id"] != world.not_found.visit_id.to_string()),
        "a family not found has no roster"
    );
}

/// Visits whose export is not computed yet.
fn unexported(kit: &Kit) -> i64 {
    kit.db()
        .read(|tx| {
            tx.query_row(
                "SELECT count(*) FROM visits WHERE exported IS NULL",
                [],
                |r| r.get(0),
            )
        })
        .unwrap()
}

fn cell(value: &Value) -> String {
    crate::export::cell(Some(value))
}

#[tokio::test]
async fn visits_stored_before_the_exported_column_export_the_same_before_and_after_backfill() {
    let world = world().await;
    let households = export(&world, "households").await;
    let members = export(&world, "members").await;
    // As a database migrated from schema version 2 holds them.
    world
        .kit
        .db()
        .write(|tx| tx.execute("UPDATE visits SET exported = NULL", []))
        .unwrap();
    assert_eq!(export(&world, "households").await, households);
    assert_eq!(export(&world, "members").await, members);

    let filled =
        crate::export::backfill(world.kit.db(), &crate::forms::FormCache::default()).unwrap();
    assert_eq!(filled, 3);
    assert_eq!(unexported(&world.kit), 0);
    assert_eq!(export(&world, "households").await, households);
    assert_eq!(export(&world, "members").await, members);
    // Nothing left to do the next time the server starts.
    assert_eq!(
        crate::export::backfill(world.kit.db(), &crate::forms::FormCache::default()).unwrap(),
        0
    );
}

#[tokio::test]
async fn a_server_starting_on_rows_stored_before_the_column_fills_them() {
    let world = world().await;
    world
        .kit
        .db()
        .write(|tx| tx.execute("UPDATE visits SET exported = NULL", []))
        .unwrap();
    assert_eq!(unexported(&world.kit), 3);
    // What `tepat-server serve` does before it accepts a request.
    let (_listener, _router) = crate::serve::bind(
        "127.0.0.1:0",
        world.kit.dir.path(),
        world.kit.database_url(),
        crate::config::Limits::default(),
    )
    .await
    .unwrap();
    assert_eq!(unexported(&world.kit), 0);
}

/// The ordinary family as prefilled from its register and reviewed on the phone: the head's name confirmed, the
/// KK number corrected, the dusun left as registered, the first member's name confirmed and the second's changed.
fn review(doc: &mut VisitDoc) {
    use tepat_protocol::PrefillReview::{Changed, Confirmed, Unconfirmed};
    doc.prefill_review = [
        ("head_name", Confirmed),
        ("kk_number", Changed),
        ("dusun", Unconfirmed),
        ("members[0].member_name", Confirmed),
        ("members[1].member_name", Changed),
    ]
    .into_iter()
    .map(|(path, review)| (path.to_string(), review))
    .collect();
}

#[tokio::test]
async fn prefill_columns_say_confirmed_unchanged_changed_unconfirmed_or_typed() {
    let world = world_with(review).await;
    assert!(
        world.ordinary.answers["members"].as_array().unwrap().len() >= 3,
        "the generated family has a third member, typed"
    );

    let households = export(&world, "households").await;
    let household = row_of(&households, &world.ordinary);
    assert_eq!(household["head_name__prefill"], "confirmed");
    assert_eq!(household["kk_number__prefill"], "changed");
    assert_eq!(household["dusun__prefill"], "unconfirmed");
    // Answered, prefillable, but nothing was prefilled: typed.
    assert!(!household["head_nik"].is_empty());
    assert_eq!(household["head_nik__prefill"], "typed");
    // Only prefilled fields have a prefill column, right after the field's own.
    assert!(!household.contains_key("outcome__prefill"));
    let header = header_of(&world, "households").await;
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(at("head_name__prefill"), at("head_name") + 1);
    // A visit that prefilled nothing: what it answered was typed, what it did not has an empty cell.
    let split_off = row_of(&households, &world.split_off);
    assert_eq!(split_off["head_name__prefill"], "typed");
    let not_found = row_of(&households, &world.not_found);
    assert_eq!(not_found["head_name"], "");
    assert_eq!(not_found["head_name__prefill"], "");

    let members = export(&world, "members").await;
    let of_ordinary: Vec<_> = members
        .iter()
        .filter(|r| r["visit_id"] == world.ordinary.visit_id.to_string())
        .collect();
    let reviews: Vec<&str> = of_ordinary
        .iter()
        .map(|r| r["member_name__prefill"].as_str())
        .collect();
    assert_eq!(reviews[..3], ["confirmed", "changed", "typed"]);
}

#[tokio::test]
async fn the_codebook_explains_each_prefill_column_and_its_codes() {
    let world = world().await;
    let rows = world
        .kit
        .db()
        .read(|tx| crate::console::pages::codebook(tx, "dtsen_groundcheck"))
        .unwrap()
        .unwrap();
    let of = |table: &str, column: &str| -> Vec<Vec<String>> {
        rows.iter()
            .filter(|r| r[0] == table && r[1] == column)
            .cloned()
            .collect()
    };
    let head = of("households", "head_name__prefill");
    assert_eq!(head[0][2], "prefill_review");
    let codes: Vec<(&str, &str)> = head[1..]
        .iter()
        .map(|r| (r[5].as_str(), r[7].as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("confirmed", "DTSEN record confirmed unchanged"),
            ("changed", "DTSEN record changed"),
            ("unconfirmed", "DTSEN record, not confirmed"),
            ("typed", "Typed (not from DTSEN)"),
        ]
    );
    assert_eq!(of("members", "member_name__prefill").len(), 5);
    assert!(of("households", "outcome__prefill").is_empty());
}

async fn header_of(world: &World, table: &str) -> Vec<String> {
    let reply = world
        .kit
        .get(
            &format!("/api/v1/supervisor/export/{table}.csv?form_id=dtsen_groundcheck"),
            Some(&world.sup.token),
        )
        .await;
    let body = reply.text();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn findings_are_exported_with_the_note_that_answers_each_warning() {
    let world = world_with(|doc| {
        // One member more on the KK than in the roster: warning r05_roster_size at `members`, answered by a note.
        let count = doc.answers["kk_member_count"].as_i64().unwrap();
        doc.answers
            .insert("kk_member_count".into(), json!(count + 1));
        doc.answers.insert("rt".into(), json!("=1+1"));
        doc.warning_notes.insert(
            "members".into(),
            "Anak sulung merantau ke Jakarta, masih di KK".into(),
        );
    })
    .await;
    let rows = export(&world, "findings").await;
    let visit_id = world.ordinary.visit_id.to_string();
    let roster = rows
        .iter()
        .find(|r| r["visit_id"] == visit_id && r["rule"] == "r05_roster_size")
        .unwrap_or_else(|| panic!("no r05_roster_size row in {rows:#?}"));
    assert_eq!(roster["path"], "members");
    assert_eq!(roster["field"], "members");
    assert_eq!(roster["level"], "warning");
    assert_eq!(roster["status"], "submitted");
    assert_eq!(
        roster["note"],
        "Anak sulung merantau ke Jakarta, masih di KK"
    );
    assert!(!roster["message_id"].is_empty() && !roster["message_en"].is_empty());
    // An error has no note; the RT typed as a formula is an error whose cells stay text.
    let rt = rows
        .iter()
        .find(|r| r["visit_id"] == visit_id && r["rule"] == "rt_rw_format")
        .unwrap_or_else(|| panic!("no rt_rw_format row in {rows:#?}"));
    assert_eq!((rt["level"].as_str(), rt["note"].as_str()), ("error", ""));
    // Every row is a finding of a visit in the supervisor's regions, and nothing but findings.
    let visits =
        [&world.ordinary, &world.split_off, &world.not_found].map(|d| d.visit_id.to_string());
    assert!(rows.iter().all(|r| visits.contains(&r["visit_id"])));
    assert!(
        rows.iter()
            .all(|r| matches!(r["level"].as_str(), "error" | "warning"))
    );
}

#[tokio::test]
async fn the_codebook_route_labels_every_exported_column_in_both_languages() {
    let world = world().await;
    let reply = world
        .kit
        .get(
            "/api/v1/supervisor/export/codebook.csv?form_id=dtsen_groundcheck",
            Some(&world.sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "text/csv; charset=utf-8");
    let body = reply.text();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "table",
            "column",
            "type",
            "label_id",
            "label_en",
            "code",
            "code_label_id",
            "code_label_en"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let labelled = |table: &str, column: &str| {
        rows.iter().any(|r| {
            (r[0] == table || r[0] == "both")
                && r[1] == column
                && !r[2].is_empty()
                && !r[3].is_empty()
                && !r[4].is_empty()
        })
    };
    for table in ["households", "members", "findings"] {
        let header = header_of(&world, table).await;
        assert!(header.len() > 5, "{table}");
        for column in header {
            assert!(
                labelled(table, &column),
                "{table}.{column} is not in the codebook"
            );
        }
    }
    let codes = |table: &str, column: &str| -> Vec<(String, String, String)> {
        rows.iter()
            .filter(|r| r[0] == table && r[1] == column && !r[5].is_empty())
            .map(|r| (r[5].clone(), r[6].clone(), r[7].clone()))
            .collect()
    };
    // A select's codes, each with both labels.
    let dtsen: tepat_form::Form = serde_json::from_str(DTSEN).unwrap();
    let outcome = codes("households", "visit_outcome");
    assert_eq!(outcome.len(), dtsen.choices["visit_outcome"].len());
    assert!(
        outcome
            .iter()
            .all(|(_, id, en)| !id.is_empty() && !en.is_empty())
    );
    let sex: Vec<String> = codes("members", "sex").into_iter().map(|c| c.0).collect();
    assert_eq!(sex, ["1", "2"]);
    // The coded fixed columns.
    let status: Vec<String> = codes("households", "status")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(status, ["submitted", "approved", "returned"]);
    assert_eq!(codes("members", "group")[0].0, "members");
    let levels: Vec<String> = codes("findings", "level")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(levels, ["error", "warning"]);
    // Every rule the form's constraints name, labelled with the question and its message.
    let rules = codes("findings", "rule");
    for rule in [
        "required",
        "nik_format",
        "r05_roster_size",
        "r01_one_head",
        "rt_rw_format",
    ] {
        let found = rules.iter().find(|r| r.0 == rule);
        assert!(
            found.is_some_and(|r| !r.1.is_empty() && !r.2.is_empty()),
            "{rule}"
        );
    }

    // Supervisors only, and a published form.
    let enum1 = world.kit.enrol("enum1").await;
    let reply = world
        .kit
        .get(
            "/api/v1/supervisor/export/codebook.csv?form_id=dtsen_groundcheck",
            Some(&enum1.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = world
        .kit
        .get(
            "/api/v1/supervisor/export/codebook.csv?form_id=nothing_here",
            Some(&world.sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
}

#[tokio::test]
async fn the_json_codebook_has_the_csv_codebook_s_content_column_by_column() {
    let world = world().await;
    let get = |format: &'static str| {
        let kit = &world.kit;
        let token = world.sup.token.clone();
        async move {
            kit.get(
                &format!("/api/v1/supervisor/export/codebook.{format}?form_id=dtsen_groundcheck"),
                Some(&token),
            )
            .await
        }
    };
    let reply = get("json").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/json");
    let book: Value = reply.json();
    assert_eq!(book["form_id"], "dtsen_groundcheck");
    let columns = book["columns"].as_array().cloned().unwrap_or_default();
    // The CSV's rows, as (table, column) → (type, label_id, label_en) and the codes under it.
    let csv_text = get("csv").await.text();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let mut expected: Vec<(String, String)> = Vec::new();
    for r in &rows {
        let key = (r[0].clone(), r[1].clone());
        if !expected.contains(&key) {
            expected.push(key);
        }
    }
    let got: Vec<(String, String)> = columns
        .iter()
        .map(|c| {
            (
                c["table"].as_str().unwrap_or_default().to_string(),
                c["column"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected, "every column once, in the CSV's order");
    let code_rows = rows.iter().filter(|r| !r[5].is_empty()).count();
    let codes: usize = columns
        .iter()
        .map(|c| c["codes"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(codes, code_rows, "every code of the CSV");
    // A select: its type, both labels of the question, each code with both labels.
    let outcome = columns
        .iter()
        .find(|c| c["table"] == "households" && c["column"] == "visit_outcome")
        .cloned()
        .unwrap_or_default();
    assert_eq!(outcome["type"], "select_one");
    assert!(
        outcome["label"]["id"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(
        outcome["label"]["en"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let dtsen: tepat_form::Form = serde_json::from_str(DTSEN).unwrap();
    let codes: Vec<&str> = outcome["codes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["code"].as_str())
        .collect();
    let choices: Vec<&str> = dtsen.choices["visit_outcome"]
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(codes, choices);
    // Every column is labelled in both languages.
    for c in &columns {
        assert!(
            c["label"]["id"].as_str().is_some_and(|t| !t.is_empty())
                && c["label"]["en"].as_str().is_some_and(|t| !t.is_empty()),
            "{c}"
        );
    }

    // Supervisors only, and a published form.
    let enum1 = world.kit.enrol("enum1").await;
    let reply = world
        .kit
        .get(
            "/api/v1/supervisor/export/codebook.json?form_id=dtsen_groundcheck",
            Some(&enum1.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = world
        .kit
        .get(
            "/api/v1/supervisor/export/codebook.json?form_id=nothing_here",
            Some(&world.sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
}
