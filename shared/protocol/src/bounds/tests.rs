use super::*;
use crate::SyncRequest;
use serde_json::json;

fn limits() -> BodyLimits {
    BodyLimits {
        max_visits: 2,
        max_answers: 20,
        max_text_chars: 10,
        max_list_items: 3,
        max_depth: 3,
        max_notes: 2,
        max_key_chars: 12,
        max_trail_events: 3,
        max_trail_value_chars: 8,
    }
}

fn visit(answers: Value) -> Value {
    json!({
        "visit_id": "00000000-0000-0000-0000-000000000000",
        "revision": 1,
        "form_id": "f",
        "form_version": 1,
        "visit_date": "2026-11-23",
        "answers": answers,
        "device_times": {"started_at": "2026-11-23T00:00:00Z", "finalised_at": null, "device_seq": 1}
    })
}

fn batch(visits: Vec<Value>) -> String {
    json!({
        "protocol": 1,
        "device_id": "d",
        "batch_id": "00000000-0000-0000-0000-000000000000",
        "cursor": 0,
        "visits": visits
    })
    .to_string()
}

/// Parses a sync body under `limits()`: the request, or the refusal (with the path serde_path_to_error names).
fn parse(body: &str) -> Result<SyncRequest, (Option<Refusal>, String)> {
    let (result, refusal) = parse_within(limits(), || {
        let mut de = serde_json::Deserializer::from_str(body);
        serde_path_to_error::deserialize::<_, Object<SyncRequest>>(&mut de)
    });
    result
        .map(|Object(r)| r)
        .map_err(|e| (refusal, e.path().to_string()))
}

fn refused(body: &str) -> (RefusalKind, Option<u64>, String) {
    match parse(body) {
        Ok(_) => panic!("accepted: {body}"),
        Err((Some(r), path)) => (r.kind, r.limit, path),
        Err((None, path)) => panic!("refused without a limit at {path}"),
    }
}

#[test]
fn a_body_within_the_limits_is_taken() {
    let answers = json!({"name": "Siti\nAni", "members": [{"age": 3, "gps": {"lat": 1.5}}], "codes": ["1", "2"]});
    let req = parse(&batch(vec![visit(answers.clone())])).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        req.visits[0].answers,
        *answers.as_object().unwrap_or(&Map::new())
    );
}

#[test]
fn visits_past_the_limit_are_refused() {
    let v = visit(json!({}));
    let (kind, limit, path) = refused(&batch(vec![v.clone(), v.clone(), v]));
    assert_eq!(
        (kind, limit, path.as_str()),
        (RefusalKind::TooManyVisits, Some(2), "visits")
    );
}

#[test]
fn long_text_is_refused_naming_its_path() {
    let (kind, limit, path) = refused(&batch(vec![visit(json!({"name": "x".repeat(11)}))]));
    assert_eq!((kind, limit), (RefusalKind::TextTooLong, Some(10)));
    assert_eq!(path, "visits[0].answers.name");
    // Characters, not bytes: ten four-byte characters fit.
    assert!(parse(&batch(vec![visit(json!({"name": "😀".repeat(10)}))])).is_ok());
}

#[test]
fn long_lists_are_refused_after_one_item_past_the_limit() {
    let (kind, limit, path) = refused(&batch(vec![visit(json!({"members": [{}, {}, {}, {}]}))]));
    assert_eq!((kind, limit), (RefusalKind::ListTooLong, Some(3)));
    assert_eq!(path, "visits[0].answers.members");
    // The fifth member is malformed JSON: refused for the limit before it is reached.
    let body = batch(vec![visit(json!({}))]).replace(
        "\"answers\":{}",
        "\"answers\":{\"members\":[{},{},{},{},{,]}",
    );
    assert_eq!(refused(&body).0, RefusalKind::ListTooLong);
}

#[test]
fn answers_are_counted_across_members() {
    let members: Vec<Value> = (0..3)
        .map(|_| json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}))
        .collect();
    let (kind, limit, _) = refused(&batch(vec![visit(json!({"members": members}))]));
    assert_eq!((kind, limit), (RefusalKind::TooManyAnswers, Some(20)));
    // The budget is per visit: two visits of 15 answers each pass.
    let fifteen: Map<String, Value> = (0..15).map(|i| (format!("f{i}"), json!(i))).collect();
    let v = visit(Value::Object(fifteen));
    assert!(parse(&batch(vec![v.clone(), v])).is_ok());
}

#[test]
fn nesting_past_the_limit_is_refused() {
    assert!(parse(&batch(vec![visit(json!({"m": [{"gps": {"lat": 1}}]}))])).is_ok());
    let (kind, limit, path) = refused(&batch(vec![visit(json!({"m": [{"gps": {"lat": [1]}}]}))]));
    assert_eq!((kind, limit), (RefusalKind::TooDeep, Some(3)));
    assert_eq!(path, "visits[0].answers.m[0].gps.lat");
}

#[test]
fn control_and_direction_characters_are_refused_in_answers_notes_and_keys() {
    for bad in [
        "a\u{0}b",
        "a\rb",
        "a\tb",
        "\u{202E}abc",
        "x\u{200F}",
        "\u{2066}x",
        "\u{1b}[31m",
    ] {
        let (kind, limit, path) = refused(&batch(vec![visit(json!({"name": bad}))]));
        assert_eq!(
            (kind, limit, path.as_str()),
            (RefusalKind::InvalidText, None, "visits[0].answers.name"),
            "{bad:?}"
        );
    }
    let (kind, _, _) = refused(&batch(vec![visit(json!({"na\u{200E}me": "x"}))]));
    assert_eq!(kind, RefusalKind::InvalidText);
    let mut v = visit(json!({}));
    v["warning_notes"] = json!({"age": "see\u{202A}"});
    let (kind, _, path) = refused(&batch(vec![v]));
    assert_eq!(
        (kind, path.as_str()),
        (RefusalKind::InvalidText, "visits[0].warning_notes.age")
    );
    assert!(text_problem("baris satu\nbaris dua").is_none());
}

#[test]
fn notes_are_bounded() {
    let mut v = visit(json!({}));
    v["warning_notes"] = json!({"a": "1", "b": "2", "c": "3"});
    assert_eq!(
        refused(&batch(vec![v.clone()])).0,
        RefusalKind::TooManyNotes
    );
    v["warning_notes"] = json!({"a": "x".repeat(11)});
    assert_eq!(refused(&batch(vec![v.clone()])).0, RefusalKind::TextTooLong);
    v["warning_notes"] = json!({"k".repeat(13): "x"});
    assert_eq!(refused(&batch(vec![v])).0, RefusalKind::KeyTooLong);
}

#[test]
fn structs_are_objects_only() {
    let body = batch(vec![json!(["00000000-0000-0000-0000-000000000000", 1])]);
    let err = parse(&body).err();
    assert!(
        matches!(&err, Some((None, path)) if path == "visits[0]"),
        "{err:?}"
    );
    let positional: Result<Object<crate::EnrolRequest>, _> =
        serde_json::from_str(r#"["ABC", "phone"]"#);
    assert!(positional.is_err());
}

#[test]
fn outside_a_scope_nothing_is_bounded() {
    let members: Vec<Value> = (0..500).map(|_| json!({})).collect();
    let body = batch(vec![visit(
        json!({"members": members, "name": "x".repeat(5000), "c": "\u{202E}"}),
    )]);
    let req: SyncRequest = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        req.visits[0].answers["members"].as_array().map(Vec::len),
        Some(500)
    );
}

#[test]
fn the_scope_ends_with_the_parse() {
    let (_, refusal) = parse_within(limits(), || ());
    assert!(refusal.is_none());
    assert!(active_limits().is_none());
    let caught = std::panic::catch_unwind(|| parse_within(limits(), || panic!("boom")));
    assert!(caught.is_err());
    assert!(active_limits().is_none());
}

/// One event in the wire form (`trail::WireEvent`), everything written out.
fn trail_event(seq: u64) -> Value {
    json!({
        "s": seq, "d": 10, "a": "2026-11-23T08:00:00Z", "u": "pkh01", "r": 1, "k": "answer_set", "p": "rooms",
        "n": "3", "b": "boot-1", "c": 5, "ph": "0".repeat(64), "h": "a".repeat(64)
    })
}

/// Events at `positions` (neighbours), shaped as a trail sends a run: `prev_hash` on the first, `hash` on the last.
fn trail_run(positions: std::ops::RangeInclusive<u64>) -> Vec<Value> {
    let (first, last) = (*positions.start(), *positions.end());
    positions
        .map(|seq| {
            let mut event = trail_event(seq);
            if let Some(fields) = event.as_object_mut() {
                if seq != first {
                    fields.remove("ph");
                }
                if seq != last {
                    fields.remove("h");
                }
            }
            event
        })
        .collect()
}

fn batch_with_trail(events: Vec<Value>) -> Value {
    let mut body: Value = serde_json::from_str(&batch(vec![visit(json!({}))])).unwrap_or_default();
    body["trails"] = json!([{
        "visit_id": "00000000-0000-0000-0000-000000000000", "revision": 1, "encoding": 2, "events": events
    }]);
    body
}

#[test]
fn a_trail_within_the_limits_is_taken_and_an_old_request_without_one_too() {
    let req =
        parse(&batch_with_trail(trail_run(1..=2)).to_string()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(req.trails[0].events.len(), 2);
    let second = &req.trails[0].events[1];
    assert_eq!(
        (second.seq, second.device_seq, second.path.as_deref()),
        (2, 12, Some("rooms"))
    );
    assert_eq!(
        second.mono.as_ref().map(|m| (m.boot.as_str(), m.ms)),
        Some(("boot-1", 1_795_420_800_010))
    );
    let old = parse(&batch(vec![visit(json!({}))])).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(old.trails.is_empty());
}

#[test]
fn a_trail_past_its_limits_is_refused_with_the_place() {
    let events = trail_run(1..=4);
    assert_eq!(
        refused(&batch_with_trail(events).to_string()),
        (
            RefusalKind::TooManyTrailEvents,
            Some(3),
            "trails[0].events".into()
        )
    );
    let mut long = trail_event(1);
    long["n"] = json!("x".repeat(9));
    assert_eq!(
        refused(&batch_with_trail(vec![long]).to_string()),
        (RefusalKind::TextTooLong, Some(8), "trails[0].events".into())
    );
    let mut path = trail_event(1);
    path["p"] = json!("p".repeat(13));
    assert_eq!(
        refused(&batch_with_trail(vec![path]).to_string()).0,
        RefusalKind::KeyTooLong
    );
    let mut hidden = trail_event(1);
    hidden["u"] = json!("pkh\u{202E}01");
    assert_eq!(
        refused(&batch_with_trail(vec![hidden]).to_string()).0,
        RefusalKind::InvalidText
    );
    let mut boot = trail_event(1);
    boot["b"] = json!("b".repeat(13));
    assert_eq!(
        refused(&batch_with_trail(vec![boot]).to_string()).0,
        RefusalKind::KeyTooLong
    );
    // A wire event the events before it do not complete is refused as a trail, with its place.
    let mut no_position = trail_event(1);
    if let Some(fields) = no_position.as_object_mut() {
        fields.remove("s");
    }
    assert_eq!(
        refused(&batch_with_trail(vec![no_position]).to_string()),
        (RefusalKind::InvalidTrail, None, "trails[0].events".into())
    );
    let mut unknown_path = trail_event(1);
    unknown_path["p"] = json!(3);
    assert_eq!(
        refused(&batch_with_trail(vec![unknown_path]).to_string()).0,
        RefusalKind::InvalidTrail
    );
    let mut hash = trail_event(1);
    hash["h"] = json!("A".repeat(64));
    assert_eq!(
        refused(&batch_with_trail(vec![hash]).to_string()).0,
        RefusalKind::InvalidTrail
    );
    let mut body = batch_with_trail(vec![trail_event(1)]);
    body["trails"][0]["encoding"] = json!(1);
    assert_eq!(refused(&body.to_string()).0, RefusalKind::InvalidTrail);
    let mut body = batch_with_trail(vec![trail_event(1)]);
    body["trails"][0]["missing"] = json!([1, 2, 3, 4]);
    assert_eq!(
        refused(&body.to_string()),
        (
            RefusalKind::TooManyTrailEvents,
            Some(3),
            "trails[0].missing".into()
        )
    );
    let mut body = batch_with_trail(vec![trail_event(1)]);
    body["trails"][0]["edited"] = json!([1, 2, 3, 4]);
    assert_eq!(
        refused(&body.to_string()),
        (
            RefusalKind::TooManyTrailEvents,
            Some(3),
            "trails[0].edited".into()
        )
    );
    // The shape before runs (a hash on every event) is refused, not half-read.
    let every_hash = batch_with_trail(vec![trail_event(1), trail_event(2)]);
    assert_eq!(
        refused(&every_hash.to_string()),
        (RefusalKind::InvalidTrail, None, "trails".into())
    );
    let mut body = batch_with_trail(vec![]);
    let one = body["trails"][0].clone();
    body["trails"] = json!([one.clone(), one.clone(), one]);
    assert_eq!(
        refused(&body.to_string()),
        (RefusalKind::TooManyVisits, Some(2), "trails".into())
    );
}

#[test]
fn the_phone_checks_an_event_with_the_same_rule() {
    let event = crate::trail::decode(vec![
        serde_json::from_value(trail_event(1)).unwrap_or_else(|e| panic!("{e}")),
    ])
    .unwrap_or_default()
    .remove(0);
    assert!(check_trail_event(&event, &limits()).is_ok());
    let long = crate::trail::TrailEvent {
        old: Some("x".repeat(9)),
        ..event
    };
    assert_eq!(
        check_trail_event(&long, &limits()).map_err(|r| r.kind),
        Err(RefusalKind::TextTooLong)
    );
}
