use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::api::ROUTES;
use crate::api::openapi::openapi;
use crate::testkit::Kit;

#[test]
fn the_router_and_the_document_have_the_same_operations() {
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let documented = openapi().operations();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in schemas/openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in schemas/openapi.yaml but not served: {unserved:?}"
    );
}

#[tokio::test]
async fn every_route_answers_its_method_and_refuses_others_with_json() {
    let kit = Kit::new();
    for route in &ROUTES {
        let reply = kit
            .request(
                Request::builder()
                    .method(route.method.clone())
                    .uri(route.path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_ne!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{} {}",
            route.method,
            route.path
        );
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {}",
            route.method,
            route.path
        );
        let other = if route.method == Method::GET {
            Method::DELETE
        } else {
            Method::GET
        };
        let reply = kit
            .request(
                Request::builder()
                    .method(other)
                    .uri(route.path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    }
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let kit = Kit::new();
    let reply = kit.get("/api/v1/nothing", None).await;
    let error = reply.assert_error(StatusCode::NOT_FOUND, "no_route");
    assert!(error.message.contains("/api/v1/nothing"));
}

#[tokio::test]
async fn health_reports_the_schema_version() {
    let kit = Kit::new();
    let reply = kit.get("/healthz", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let health: crate::api::Health = reply.json();
    assert_eq!(health.status, "ok");
    assert_eq!(health.schema_version, crate::db::LATEST_VERSION);
}
