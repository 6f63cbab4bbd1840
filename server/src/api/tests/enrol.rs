use crate::db::sql::params;
use axum::http::StatusCode;
use serde_json::json;
use tepat_protocol::{EnrolResponse, Role};

use crate::admin;
use crate::api::Me;
use crate::auth::hash_secret;
use crate::testkit::Kit;

#[tokio::test]
async fn a_code_enrols_one_device_and_only_the_token_hash_is_stored() {
    let kit = Kit::world();
    let code = admin::enrol_code(kit.db(), "enum1", 24).unwrap();
    // Typed in lower case with spaces instead of dashes: still the code.
    let typed = code.to_lowercase().replace('-', " ");
    let reply = kit.enrol_raw(&typed, "Redmi 9A").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let enrolled: EnrolResponse = reply.json();
    assert_eq!(enrolled.user.user_id, "enum1");
    assert_eq!(enrolled.user.role, Role::Enumerator);
    assert_eq!(enrolled.user.regions, vec!["17.71.01".to_string()]);
    assert_eq!(enrolled.token.len(), 68);

    let (stored_hash, name): (String, String) = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT token_hash, name FROM devices WHERE device_id = ?1",
                [&enrolled.device_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!(stored_hash, hash_secret(&enrolled.token));
    assert_eq!(name, "Redmi 9A");
    let plain_code_stored: i64 = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT count(*) FROM enrol_codes WHERE code_hash = ?1",
                [&code],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(plain_code_stored, 0, "codes are stored hashed");

    let me = kit.get("/api/v1/me", Some(&enrolled.token)).await;
    assert_eq!(me.status, StatusCode::OK);
    let me: Me = me.json();
    assert_eq!(me.device_id, enrolled.device_id);

    let again = kit.enrol_raw(&code, "Second phone").await;
    again.assert_error(StatusCode::CONFLICT, "code_used");
}

#[tokio::test]
async fn unknown_and_expired_codes_are_refused() {
    let kit = Kit::world();
    let reply = kit.enrol_raw("AAAA-BBBB-CCCC", "x").await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "unknown_code");
    assert_eq!(reply.headers.get("www-authenticate").unwrap(), "Bearer");

    let code = admin::enrol_code(kit.db(), "enum1", 1).unwrap();
    kit.db()
        .write(|tx| {
            tx.execute(
                "UPDATE enrol_codes SET expires_at = ?1",
                params!["2000-01-01T00:00:00.000000Z"],
            )
        })
        .unwrap();
    let reply = kit.enrol_raw(&code, "x").await;
    reply.assert_error(StatusCode::GONE, "code_expired");

    let reply = kit.enrol_raw("'; DROP TABLE devices; --", "x").await;
    let error = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    assert!(error.message.starts_with("code:"), "{error:?}");
}

#[tokio::test]
async fn device_names_keep_real_names_and_refuse_invisible_characters() {
    let kit = Kit::world();
    for name in [
        "HP Ma'ruf \"lama\"",
        "Robert'); DROP TABLE devices;--",
        "Ponsel 📱 Siti",
        "Nguye\u{0302}n",
    ] {
        let code = admin::enrol_code(kit.db(), "enum1", 1).unwrap();
        let reply = kit.enrol_raw(&code, name).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.text());
        let enrolled: EnrolResponse = reply.json();
        let stored: String = kit
            .db()
            .read(|tx| {
                tx.query_row(
                    "SELECT name FROM devices WHERE device_id = ?1",
                    [&enrolled.device_id],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(stored, name);
    }
    for (name, problem) in [
        ("a\u{0}b", "U+0000"),
        ("\u{202E}evil", "U+202E"),
        ("rtl\u{200F}", "U+200F"),
        ("", "empty"),
    ] {
        let code = admin::enrol_code(kit.db(), "enum1", 1).unwrap();
        let reply = kit.enrol_raw(&code, name).await;
        let error = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
        assert!(
            error.message.starts_with("device_name:") && error.message.contains(problem),
            "{error:?}"
        );
        // A refused request spends nothing: the code still works.
        let reply = kit.enrol_raw(&code, "ok").await;
        assert_eq!(reply.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn tokens_are_checked_on_every_endpoint() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    kit.get("/api/v1/me", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    kit.get("/api/v1/me", Some("tpt_0000"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unknown_token");
    let bad = kit
        .request(
            axum::http::Request::get("/api/v1/me")
                .header("authorization", format!("Basic {}", device.token))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    bad.assert_error(StatusCode::UNAUTHORIZED, "bad_token");
    assert_eq!(
        kit.get("/api/v1/me", Some(&device.token)).await.status,
        StatusCode::OK
    );

    admin::revoke_device(kit.db(), &device.device_id).unwrap();
    kit.get("/api/v1/me", Some(&device.token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "revoked_token");
    let sync = kit
        .sync_raw(&device, &Kit::sync_request(&device, 0, vec![]))
        .await;
    sync.assert_error(StatusCode::UNAUTHORIZED, "revoked_token");
}

#[tokio::test]
async fn roles_are_enforced() {
    let kit = Kit::world();
    let enumerator = kit.enrol("enum1").await;
    let supervisor = kit.enrol("sup").await;
    for uri in [
        "/api/v1/supervisor/visits",
        "/api/v1/supervisor/progress",
        "/api/v1/supervisor/export/households.csv?form_id=hh_check",
        "/api/v1/supervisor/export/members.csv?form_id=hh_check",
    ] {
        let error = kit
            .get(uri, Some(&enumerator.token))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(error.message.contains("enumerator"), "{error:?}");
    }
    let review = json!({"visit_id": uuid::Uuid::nil(), "revision": 1, "decision": "approve"});
    kit.post(
        "/api/v1/supervisor/review",
        Some(&enumerator.token),
        &review,
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let sync = kit
        .sync_raw(&supervisor, &Kit::sync_request(&supervisor, 0, vec![]))
        .await;
    sync.assert_error(StatusCode::FORBIDDEN, "forbidden");
}
