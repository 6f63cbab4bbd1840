//! Two `tepat-server` processes on one PostgreSQL database (issue 17), behind the fault-injecting proxy, which
//! points each sync at one of them at random (a load balancer without stickiness). Syncs are cut at random byte
//! offsets until the proxy has counted at least 200 cuts; half-way, one node is SIGKILLed while it holds a whole
//! sync request with visits it has not begun to answer (counted only when the proxy shows it so, as in
//! `server_killed.rs`), the phones carry on through the other node for a while, then the killed node is
//! restarted. After the link recovers: every visit exactly once on the server (pulled through either node, and
//! counted in the database), every outbox empty. Then one batch is sent to node A, re-sent byte for byte to node B
//! and again to A: the three receipt lists are equal.
//!
//! Needs a PostgreSQL cluster: `TEPAT_TEST_POSTGRES` (an admin URL; `make test-postgres` runs this test inside
//! `server/scripts/pg-cluster.sh run`). Without it the test says it was skipped, unless
//! `TEPAT_REQUIRE_POSTGRES=1`, when it fails. The database is a new one in that cluster, dropped at the end.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tepat_e2e::field::{Field, REGION, assignments_csv, check_exactly_once};
use tepat_e2e::proxy::{Cut, Link};
use tepat_e2e::server::Server;
use tepat_protocol::{EnrolRequest, EnrolResponse, PROTOCOL_VERSION, SyncRequest, VisitDoc};
use tepat_server::db::Db;
use uuid::Uuid;

/// The throw-away cluster's admin URL (`server/scripts/pg-cluster.sh run` sets it).
const POSTGRES_ENV: &str = "TEPAT_TEST_POSTGRES";

/// Cuts the proxy must actually have made (in either direction, as it counted them).
const CUTS: u64 = 200;
/// Rounds of trying to kill node A while it holds a batch; the test fails if none lands.
const KILL_ROUNDS: usize = 10;
/// Syncs the phones make through node B alone after the kill, before node A is restarted.
const SYNCS_WHILE_DOWN: u32 = 30;
/// Households per phone: the cut rounds enter one now and then, each kill round one per phone.
const HOUSEHOLDS: usize = 30;
/// A sync request without visits is ~300 bytes on plain HTTP (head and gzipped body), one with a visit well over
/// a kilobyte: a held request at least this long carries visits (a batch).
const MIN_BATCH: u64 = 1000;

/// The cluster's admin URL, or `None` (the test is skipped) when it is not set and not required.
fn cluster() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("TEPAT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!(
                "TEPAT_REQUIRE_POSTGRES=1 but {POSTGRES_ENV} is not set (make test-postgres sets it)"
            )
        }
        _ => {
            println!("skipped: {POSTGRES_ENV} is not set (make test-postgres runs it)");
            None
        }
    }
}

/// A database of this test's own in the cluster, dropped (with its connections) when this is.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    fn create(admin_url: &str) -> TestDatabase {
        let name = format!("tepat_e2e_{}", Uuid::now_v7().simple());
        let Some((server, _)) = admin_url.rsplit_once('/') else {
            panic!("{POSTGRES_ENV} must end with /DATABASE: {admin_url}");
        };
        let url = format!("{server}/{name}");
        execute(admin_url, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating {name} in {admin_url}: {e}"));
        TestDatabase {
            admin_url: admin_url.to_string(),
            name,
            url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = execute(&self.admin_url, &statement) {
            eprintln!("could not drop {}: {e}", self.name);
        }
    }
}

/// One statement outside a transaction, over a plain tokio-postgres connection.
fn execute(url: &str, statement: &str) -> Result<(), tokio_postgres::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for tokio-postgres");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let result = client.batch_execute(statement).await;
        drop(client);
        let _ = driver.await;
        result
    })
}

/// Node 0 is `field.server` (A), node 1 the other process (B).
fn node_addr(field: &Field, other: &Server, node: usize) -> SocketAddr {
    if node == 0 {
        field.server.addr()
    } else {
        other.addr()
    }
}

#[test]
fn two_servers_on_one_postgres_under_cuts_and_a_kill_store_every_visit_once() {
    let Some(admin_url) = cluster() else {
        return;
    };
    let started = Instant::now();
    // Dropped (WITH FORCE) at the end of the test, also when it fails.
    let database = TestDatabase::create(&admin_url);
    let dir = tempfile::tempdir().unwrap();
    // Both servers get the same --data directory: the photos live there (a directory every server of the
    // database shares); everything else is in PostgreSQL. Plain HTTP: the hop from a load balancer to its nodes.
    let mut field = Field::start_on_postgres(dir.path(), 17, &database.url).unwrap();
    let other = field.start_another_server().unwrap();
    field
        .add_enumerators(&["Dewi", "Agus", "Maria"], HOUSEHOLDS, &[])
        .unwrap();
    let phones = field.enumerators.len();
    let mut rng = StdRng::seed_from_u64(0x0017_2a0d);
    let mut entered: BTreeMap<Uuid, VisitDoc> = BTreeMap::new();
    let mut next = vec![0usize; phones];
    let before = field.proxy.stats();
    let cuts_made = |field: &Field| field.proxy.stats().cuts - before.cuts;

    let mut syncs = 0u32;
    // Syncs that went through, by the node the proxy pointed at; and those that did not.
    let mut answered = [0u32; 2];
    let mut failed = 0u32;
    let mut kill_rounds = 0usize;
    // The sync count when node A was killed mid-batch; `None` before.
    let mut killed_at: Option<u32> = None;
    let mut node_a_down = false;
    // The request node A died holding, in bytes.
    let mut held_bytes = 0;
    let set_up = started.elapsed();

    while cuts_made(&field) < CUTS || killed_at.is_none() || node_a_down {
        // Half-way through the cuts: kill node A while it holds a batch.
        if killed_at.is_none() && cuts_made(&field) >= CUTS / 2 {
            assert!(
                kill_rounds < KILL_ROUNDS,
                "no kill landed while node A held a batch in {kill_rounds} rounds"
            );
            kill_rounds += 1;
            // Each phone has a new visit to upload.
            for (e, next) in next.iter_mut().enumerate() {
                let frozen = field.enter_found(e, *next).unwrap();
                entered.insert(frozen.visit_id, frozen);
                *next += 1;
            }
            if let Some(bytes) = kill_during_batch(&mut field, &mut rng) {
                killed_at = Some(syncs);
                held_bytes = bytes;
                node_a_down = true;
            } else {
                field.restart_server().unwrap();
            }
            continue;
        }
        for (e, next) in next.iter_mut().enumerate() {
            if *next < HOUSEHOLDS - KILL_ROUNDS && rng.random_bool(0.3) {
                let frozen = field.enter_found(e, *next).unwrap();
                entered.insert(frozen.visit_id, frozen);
                *next += 1;
            }
            // While node A is down the balancer sends everything to B.
            let node = if node_a_down {
                1
            } else {
                rng.random_range(0..2usize)
            };
            let cut = if rng.random_bool(0.85) {
                Some(if rng.random_bool(0.5) {
                    // A request without visits is ~300 bytes, one with visits 1-3 kB: offsets past the end
                    // never cut (the proxy counts only cuts made).
                    let end = if rng.random_bool(0.5) { 350 } else { 2500 };
                    Cut::Up(rng.random_range(0..end))
                } else {
                    Cut::Down(rng.random_range(0..330))
                })
            } else {
                None
            };
            field.proxy.set_upstream(node_addr(&field, &other, node));
            field.proxy.clear_plan();
            // Closes open connections too: the sync opens a new one, to `node`, and meets the cut.
            field.proxy.plan_cuts([cut]);
            let view = field.enumerators[e].phone.sync();
            syncs += 1;
            if view.last_error.is_none() {
                answered[node] += 1;
            } else {
                failed += 1;
            }
        }
        if node_a_down && killed_at.is_some_and(|at| syncs >= at + SYNCS_WHILE_DOWN) {
            field.restart_server().unwrap();
            node_a_down = false;
        }
        assert!(
            syncs < 3000,
            "the cuts never reached {CUTS}: {}",
            cuts_made(&field)
        );
    }
    let cuts = cuts_made(&field);
    let faults = started.elapsed() - set_up;
    let stats = field.proxy.stats();
    assert!(cuts >= CUTS, "{cuts} cuts");

    // The link recovers; each phone syncs through either node.
    field.proxy.clear_plan();
    field.proxy.set_link(Link::default());
    for e in 0..phones {
        let node = rng.random_range(0..2usize);
        field.proxy.set_upstream(node_addr(&field, &other, node));
        field.proxy.plan_cuts(std::iter::empty());
        field.enumerators[e].phone.sync_until_clean(5).unwrap();
        assert_eq!(field.enumerators[e].phone.outbox().unwrap(), 0);
    }

    // One batch, three times: node A, byte for byte node B, node A again.
    let (batch_visits, receipts) = resend_across_nodes(&mut field, &other);
    for visit in batch_visits {
        entered.insert(visit.visit_id, visit);
    }

    // The supervisor's pull through each node: the same rows, every visit exactly once.
    let mut pulls = Vec::new();
    for node in 0..2 {
        field.proxy.set_upstream(node_addr(&field, &other, node));
        field.proxy.plan_cuts(std::iter::empty());
        let pulled = field.supervisor.pull_all().unwrap();
        check_exactly_once(&pulled, &entered)
            .unwrap_or_else(|e| panic!("pulled through node {node}: {e}"));
        pulls.push(serde_json::to_value(&pulled).unwrap());
    }
    assert_eq!(pulls[0], pulls[1], "the two nodes pull different rows");
    // And in the database itself: one row per visit, no conflicting copy.
    let db = Db::connect(&database.url).unwrap();
    let (rows, distinct, conflicts) = db
        .read(|tx| {
            tx.query_row(
                "SELECT (SELECT count(*) FROM visits), (SELECT count(DISTINCT visit_id) FROM visits), \
                 (SELECT count(*) FROM conflicts)",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
            )
        })
        .unwrap();
    assert_eq!(
        (rows, distinct, conflicts),
        (entered.len() as i64, entered.len() as i64, 0),
        "visits rows, distinct visits, conflicts in PostgreSQL"
    );

    println!(
        "two servers on PostgreSQL: {cuts} cuts ({} up, {} down) in {syncs} syncs over {} connections; \
         1 kill landed mid-batch (round {kill_rounds}, holding a {held_bytes}-byte request; node A down for \
         {SYNCS_WHILE_DOWN} syncs, then restarted); {} visits exactly once; syncs answered by node A {}, node B {}, \
         failed {failed}; a {receipts}-visit batch re-sent A→B→A: equal receipts; {:.1} s (set-up {:.1} s, \
         faults {:.1} s)",
        stats.cuts_up - before.cuts_up,
        stats.cuts_down - before.cuts_down,
        stats.connections - before.connections,
        entered.len(),
        answered[0],
        answered[1],
        started.elapsed().as_secs_f64(),
        set_up.as_secs_f64(),
        faults.as_secs_f64()
    );
}

/// All phones sync at once through node A over a slow link; as soon as the proxy sees A holding a whole batch it
/// has not begun to answer, after a random 0–15 ms, A is SIGKILLed. True when the kill landed so: on one of the
/// connections held at the moment of the kill, A sent nothing more before it died (`server_killed.rs`); then the
/// size of the request it died holding.
fn kill_during_batch(field: &mut Field, rng: &mut StdRng) -> Option<u64> {
    field.proxy.set_upstream(field.server.addr());
    field.proxy.clear_plan();
    field.proxy.plan_cuts(std::iter::empty());
    field.proxy.set_link(Link {
        latency: Duration::from_millis(150),
        bytes_per_second: Some(16_000),
    });
    let delay = Duration::from_micros(rng.random_range(0..15_000));
    let first = field.proxy.stats().connections;
    let (enumerators, server, proxy) = (&field.enumerators, &mut field.server, &field.proxy);
    let hit = std::thread::scope(|s| {
        let syncs: Vec<_> = enumerators
            .iter()
            .map(|e| s.spawn(|| e.phone.sync()))
            .collect();
        let held_now = || -> Vec<_> {
            proxy
                .held_by_server(MIN_BATCH)
                .into_iter()
                .filter(|(id, _)| *id >= first)
                .collect()
        };
        let waiting_since = Instant::now();
        while held_now().is_empty()
            && !syncs.iter().all(|t| t.is_finished())
            && waiting_since.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_micros(500));
        }
        std::thread::sleep(delay);
        let held = held_now();
        server.kill();
        let hit = held
            .iter()
            .find(|(id, at_kill)| {
                proxy
                    .wait_server_closed(*id, Duration::from_secs(5))
                    .is_some_and(|ended| ended.from_server == at_kill.from_server)
            })
            .map(|(_, at_kill)| at_kill.unanswered);
        let failed = syncs
            .into_iter()
            .map(|t| t.join().map(|v| v.last_error.is_some()).unwrap_or(true))
            .filter(|failed| *failed)
            .count();
        assert!(
            hit.is_none() || failed > 0,
            "node A died holding a batch, yet every sync succeeded"
        );
        hit
    });
    field.proxy.set_link(Link::default());
    hit
}

/// A new enumerator's device (enrolled over HTTP, no phone) sends one batch of three visits to node A, then the
/// same bytes to node B and to A again. The receipts must be equal (JSON) and all `accepted`. Returns the visits
/// and how many.
fn resend_across_nodes(field: &mut Field, other: &Server) -> (Vec<VisitDoc>, usize) {
    let user = "pkh90";
    field
        .admin
        .create_user(user, "Sari", "enumerator", &[REGION])
        .unwrap();
    let assignments = field.generator.assignments(REGION, 3).unwrap();
    let rows: Vec<_> = assignments.iter().map(|a| (user, a)).collect();
    let csv = field.dir.join("assignments-resend.csv");
    std::fs::write(&csv, assignments_csv(&rows)).unwrap();
    field.admin.import_assignments(&csv).unwrap();

    let tls = tepat_runtime::tls_config(None).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let post = |base: &str, path: &str, token: Option<&str>, body: Vec<u8>| {
        let mut request = client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().unwrap();
        let status = response.status();
        let text = response.text().unwrap();
        assert!(status.is_success(), "{path} on {base}: {status} {text}");
        text
    };
    let (a, b) = (field.server.url(), other.url());
    let enrol = EnrolRequest {
        code: field.admin.enrol_code(user).unwrap(),
        device_name: "HP Sari".into(),
    };
    let enrolled: EnrolResponse = serde_json::from_str(&post(
        &b,
        "/api/v1/enrol",
        None,
        serde_json::to_vec(&enrol).unwrap(),
    ))
    .unwrap();
    let visits: Vec<VisitDoc> = assignments
        .iter()
        .map(|a| field.visit_for(a, tepat_synth::Outcome::Found).unwrap())
        .collect();
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: enrolled.device_id.clone(),
        batch_id: Uuid::now_v7(),
        cursor: 0,
        visits: visits.clone(),
        trails: Vec::new(),
    };
    let body = serde_json::to_vec(&request).unwrap();
    let receipts: Vec<serde_json::Value> = [&a, &b, &a]
        .into_iter()
        .map(|node| {
            let answer: serde_json::Value = serde_json::from_str(&post(
                node,
                "/api/v1/sync",
                Some(&enrolled.token),
                body.clone(),
            ))
            .unwrap();
            answer["receipts"].clone()
        })
        .collect();
    let statuses: Vec<_> = receipts[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(statuses, ["accepted"; 3], "first receipts: {}", receipts[0]);
    assert_eq!(
        receipts[0], receipts[1],
        "node B answered the re-sent batch differently"
    );
    assert_eq!(
        receipts[0], receipts[2],
        "node A answered the re-sent batch differently"
    );
    let count = visits.len();
    (visits, count)
}
