//! A whole field set-up in one directory: the server (behind the proxy), its forms, a supervisor, enumerators
//! with assignments imported from CSV through the admin CLI, and one phone per enumerator, enrolled and synced
//! once (so forms and assignments are on the phones before they go offline). Over HTTPS with the run's
//! throw-away CA pinned by every phone ([`Field::start`]), or plain HTTP ([`Field::start_plain_http`]: the
//! server behind a TLS-terminating proxy such as nginx, where the hop to it is plain).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use tepat_protocol::{Assignment, ServerVisit, VisitDoc};
use tepat_runtime::{Clock, FixedClock};
use tepat_synth::Generator;

use crate::Error;
use crate::phone::Phone;
use crate::proxy::Proxy;
use crate::server::{Admin, Server, form_file};
use crate::supervisor::Supervisor;
use crate::tls::TlsFiles;

/// Kota Bengkulu.
pub const REGION: &str = "17.71";

/// The supervisor's user id.
pub const SUPERVISOR: &str = "korkab1771";

/// One TKSK assessor: their user, phone and clock.
pub struct Assessor {
    pub user_id: String,
    pub name: String,
    pub phone: Phone,
    pub clock: Arc<FixedClock>,
}

/// One enumerator: their user, assignments, phone and clock.
pub struct Enumerator {
    pub user_id: String,
    pub name: String,
    pub assignments: Vec<Assignment>,
    pub phone: Phone,
    pub clock: Arc<FixedClock>,
    pub dir: PathBuf,
}

/// An enumerator's phone taken out of this process, for the tests that kill the phone's own process
/// (`tepat-phone`): opened afresh each time, as after a kill.
pub struct DetachedPhone {
    pub dir: PathBuf,
    pub url: String,
    pub clock: DateTime<FixedOffset>,
    pub assignments: Vec<Assignment>,
}

impl DetachedPhone {
    /// Opens the phone again; its database must be intact, whenever the last process died.
    pub fn reopen(&self) -> Result<Phone, Error> {
        let phone = Phone::open(&self.dir, &self.url, Arc::new(FixedClock::new(self.clock)))?;
        let check = phone
            .runtime()
            .inspect_store(|s| s.integrity_check())
            .map_err(|e| Error::Phone(e.to_string()))?;
        if check != "ok" {
            return Err(Error::Phone(format!(
                "integrity_check after a kill: {check}"
            )));
        }
        Ok(phone)
    }
}

/// The server side and the people.
pub struct Field {
    pub dir: PathBuf,
    pub server: Server,
    pub proxy: Proxy,
    /// The run's CA and server certificate; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    pub admin: Admin,
    pub supervisor: Supervisor,
    pub generator: Generator,
    pub enumerators: Vec<Enumerator>,
    /// Assignments carry their family's registered members (a members CSV beside the households CSV), so the
    /// phones open each visit with the roster prefilled. Off unless set.
    pub registered_families: bool,
    /// The PostgreSQL database the server stores in (`serve --database`); `None`: SQLite in `dir/server`.
    pub database: Option<String>,
}

/// 08:00 WIB on the generator's visit day: when the phones' clocks start.
pub fn morning(date: NaiveDate) -> Result<DateTime<FixedOffset>, Error> {
    let wib = FixedOffset::east_opt(7 * 3600).ok_or_else(|| Error::Setup("WIB offset".into()))?;
    date.and_hms_opt(8, 0, 0)
        .and_then(|t| t.and_local_timezone(wib).single())
        .ok_or_else(|| Error::Setup(format!("08:00 on {date}")))
}

impl Field {
    /// Takes enumerator `e`'s phone out of this process (plain HTTP fields only: the phone is reopened without
    /// the run's CA), its clock at 08:00 of the visit day.
    pub fn detach_phone(&mut self, e: usize) -> Result<DetachedPhone, Error> {
        if e >= self.enumerators.len() {
            return Err(Error::Setup(format!("no enumerator {e}")));
        }
        let enumerator = self.enumerators.remove(e);
        Ok(DetachedPhone {
            dir: enumerator.dir.clone(),
            url: self.proxy.url(),
            clock: morning(self.generator.visit_date())?,
            assignments: enumerator.assignments.clone(),
        })
    }

    /// Starts the server in `dir/server` over HTTPS (a throw-away CA made in `dir/tls`) behind a proxy,
    /// publishes both forms and enrols the supervisor.
    pub fn start(dir: &Path, seed: u64) -> Result<Field, Error> {
        Field::start_with(dir, seed, Some(TlsFiles::create(dir)?), None)
    }

    /// The same over plain HTTP.
    pub fn start_plain_http(dir: &Path, seed: u64) -> Result<Field, Error> {
        Field::start_with(dir, seed, None, None)
    }

    /// The same over plain HTTP with everything but photos in the PostgreSQL database `url` (`serve --database`,
    /// `admin --database`); `dir/server` keeps the photos. More servers of the same database:
    /// [`Field::start_another_server`].
    pub fn start_on_postgres(dir: &Path, seed: u64, url: &str) -> Result<Field, Error> {
        Field::start_with(dir, seed, None, Some(url.to_string()))
    }

    fn start_with(
        dir: &Path,
        seed: u64,
        tls: Option<TlsFiles>,
        database: Option<String>,
    ) -> Result<Field, Error> {
        let data = dir.join("server");
        let admin = match &database {
            Some(url) => Admin::on_database(&data, url),
            None => Admin::new(&data),
        };
        for form in [
            "dtsen_groundcheck",
            "ppks_asesmen",
            "monitoring_6t",
            "satgas_laporan",
        ] {
            admin.publish_form(&form_file(form))?;
        }
        admin.create_user(SUPERVISOR, "Korkab Kota Bengkulu", "supervisor", &[REGION])?;
        let server = start_server(&data, tls.as_ref(), database.as_deref())?;
        let proxy = Proxy::start(server.addr())?;
        // Through the proxy too, so a restarted server is the same address for everyone.
        let supervisor = Supervisor::enrol(
            &url_through(&proxy, tls.as_ref()),
            &admin.enrol_code(SUPERVISOR)?,
            tls.as_ref().map(|t| t.ca_pem.as_str()),
        )?;
        Ok(Field {
            dir: dir.to_path_buf(),
            server,
            proxy,
            tls,
            admin,
            supervisor,
            // Visits are dated today: the server flags a visit dated before its form was published (just now) or
            // more than two days after its own clock.
            generator: Generator::new(seed).with_visit_date(Utc::now().date_naive()),
            enumerators: Vec::new(),
            registered_families: false,
            database,
        })
    }

    /// Adds enumerators with `households` assignments each (one CSV import for all), their phones enrolled
    /// through the proxy and synced once. `clock_skew[i]` (if given) sets phone i's clock off by that much.
    pub fn add_enumerators(
        &mut self,
        names: &[&str],
        households: usize,
        clock_skew: &[Duration],
    ) -> Result<(), Error> {
        let mut new = Vec::new();
        let first = self.enumerators.len();
        for (i, name) in names.iter().enumerate() {
            let user_id = format!("pkh{:02}", first + i + 1);
            self.admin
                .create_user(&user_id, name, "enumerator", &[REGION])?;
            let assignments = if self.registered_families {
                self.generator.registered_assignments(REGION, households)
            } else {
                self.generator.assignments(REGION, households)
            }
            .map_err(|e| Error::Setup(e.to_string()))?;
            new.push((user_id, name.to_string(), assignments));
        }
        let csv = self.dir.join(format!("assignments-{first}.csv"));
        let rows: Vec<(&str, &Assignment)> = new
            .iter()
            .flat_map(|(user, _, list)| list.iter().map(move |a| (user.as_str(), a)))
            .collect();
        std::fs::write(&csv, assignments_csv(&rows))?;
        if self.registered_families {
            let members = self.dir.join(format!("members-{first}.csv"));
            std::fs::write(&members, members_csv(&rows))?;
            self.admin.import_assignments_with_members(&csv, &members)?;
        } else {
            self.admin.import_assignments(&csv)?;
        }
        let start = morning(self.generator.visit_date())?;
        for (i, (user_id, name, assignments)) in new.into_iter().enumerate() {
            let skew = clock_skew.get(i).copied().unwrap_or_else(Duration::zero);
            let clock = Arc::new(FixedClock::new(start + skew));
            let dir = self.dir.join(&user_id);
            let phone = Phone::open_pinned(
                &dir,
                &self.phone_url(),
                self.ca_pem(),
                clock.clone() as Arc<dyn Clock>,
            )?;
            phone.enrol(&self.admin.enrol_code(&user_id)?, &format!("HP {name}"))?;
            phone.sync_until_clean(5)?;
            let on_phone: BTreeSet<String> = phone.assignment_ids()?.into_iter().collect();
            let expected: BTreeSet<String> = assignments
                .iter()
                .map(|a| a.assignment_id.clone())
                .collect();
            if on_phone != expected {
                return Err(Error::Setup(format!(
                    "{user_id}'s phone has assignments {on_phone:?}, expected {expected:?}"
                )));
            }
            self.enumerators.push(Enumerator {
                user_id,
                name,
                assignments,
                phone,
                clock,
                dir,
            });
        }
        Ok(())
    }

    /// Adds a TKSK assessor (role `assessor`, in [`REGION`] like the enumerators, no assignments: they start
    /// cases), their phone enrolled through the proxy and synced once (the forms arrive).
    pub fn add_assessor(&mut self, user_id: &str, name: &str) -> Result<Assessor, Error> {
        self.admin
            .create_user(user_id, name, "assessor", &[REGION])?;
        let clock = Arc::new(FixedClock::new(morning(self.generator.visit_date())?));
        let dir = self.dir.join(user_id);
        let phone = Phone::open_pinned(
            &dir,
            &self.phone_url(),
            self.ca_pem(),
            clock.clone() as Arc<dyn Clock>,
        )?;
        phone.enrol(&self.admin.enrol_code(user_id)?, &format!("HP {name}"))?;
        phone.sync_until_clean(5)?;
        Ok(Assessor {
            user_id: user_id.to_string(),
            name: name.to_string(),
            phone,
            clock,
        })
    }

    /// The server's address as the phones see it: through the proxy, `https://` when the server speaks TLS.
    pub fn phone_url(&self) -> String {
        url_through(&self.proxy, self.tls.as_ref())
    }

    /// The CA the phones pin (`None` over plain HTTP).
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// Starts the server again on the same data directory (after [`Server::kill`]) behind the same proxy, with
    /// the same certificate.
    pub fn restart_server(&mut self) -> Result<(), Error> {
        self.server.kill();
        self.server = start_server(
            &self.dir.join("server"),
            self.tls.as_ref(),
            self.database.as_deref(),
        )?;
        self.proxy.set_upstream(self.server.addr());
        Ok(())
    }

    /// One more server process of the same database, on its own port and not behind the proxy (point the proxy
    /// at it with [`Proxy::set_upstream`]). It shares `dir/server` with the first: there the photos live, one
    /// directory for every server of the database (the SQLite file of a `--data`-only field is not shareable,
    /// so this needs [`Field::start_on_postgres`]).
    pub fn start_another_server(&self) -> Result<Server, Error> {
        if self.database.is_none() {
            return Err(Error::Setup(
                "a second server needs a shared database (Field::start_on_postgres)".into(),
            ));
        }
        start_server(
            &self.dir.join("server"),
            self.tls.as_ref(),
            self.database.as_deref(),
        )
    }

    /// The generated visit of an assignment (what the enumerator will type).
    pub fn visit_for(
        &mut self,
        assignment: &Assignment,
        outcome: tepat_synth::Outcome,
    ) -> Result<VisitDoc, Error> {
        self.generator
            .visit_for(assignment, outcome)
            .map_err(|e| Error::Setup(e.to_string()))
    }

    /// Enumerator `e` enters their `i`-th assignment's family as found, through the screens; the frozen visit.
    pub fn enter_found(&mut self, e: usize, i: usize) -> Result<VisitDoc, Error> {
        let assignment = self.enumerators[e].assignments[i].clone();
        let doc = self.visit_for(&assignment, tepat_synth::Outcome::Found)?;
        self.enumerators[e]
            .phone
            .enter(&assignment.assignment_id, &doc)
    }
}

fn start_server(
    data: &Path,
    tls: Option<&TlsFiles>,
    database: Option<&str>,
) -> Result<Server, Error> {
    let Some(url) = database else {
        return match tls {
            Some(tls) => Server::start_https(data, tls),
            None => Server::start(data),
        };
    };
    let mut options = tls.map(TlsFiles::serve_options).unwrap_or_default();
    options.extend(["--database".to_string(), url.to_string()]);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    Server::start_with(data, &options)
}

/// The proxy's address with the server's scheme: the proxy moves bytes (TLS records when HTTPS), so the phone
/// speaks TLS to the server through it.
fn url_through(proxy: &Proxy, tls: Option<&TlsFiles>) -> String {
    let scheme = if tls.is_some() { "https" } else { "http" };
    format!("{scheme}://{}", proxy.addr())
}

/// The assignment CSV of `schemas/assignments.md` for `(user, assignment)` rows: the fixed columns, then
/// every prefill key as a column (a key the fixed columns already hold is left out).
pub fn assignments_csv(rows: &[(&str, &Assignment)]) -> String {
    const FIXED: [&str; 6] = [
        "assignment_id",
        "user_id",
        "form_id",
        "form_version",
        "region_code",
        "label",
    ];
    let keys: BTreeSet<&str> = rows
        .iter()
        .flat_map(|(_, a)| a.prefill.keys().map(String::as_str))
        .filter(|k| !FIXED.contains(k))
        .collect();
    // Written to memory: the writer's only failure would be the sink's, and a Vec does not fail.
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = FIXED.iter().copied().chain(keys.iter().copied());
    let _ = out.write_record(header);
    for (user, a) in rows {
        let version = a.form_version.to_string();
        let fixed = [
            a.assignment_id.as_str(),
            user,
            &a.form_id,
            &version,
            &a.region_code,
            &a.label,
        ];
        let prefill = keys
            .iter()
            .map(|key| a.prefill.get(*key).map_or("", String::as_str));
        let _ = out.write_record(fixed.into_iter().chain(prefill));
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The members CSV of `schemas/assignments.md` (long format) for the rows' registered members: `assignment_id`,
/// then every member prefill key as a column.
pub fn members_csv(rows: &[(&str, &Assignment)]) -> String {
    let members = || {
        rows.iter().flat_map(|(_, a)| {
            a.prefill_repeats
                .get("members")
                .into_iter()
                .flatten()
                .map(move |m| (a.assignment_id.as_str(), m))
        })
    };
    let keys: BTreeSet<&str> = members()
        .flat_map(|(_, m)| m.keys().map(String::as_str))
        .collect();
    // Written to memory: the writer's only failure would be the sink's, and a Vec does not fail.
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(std::iter::once("assignment_id").chain(keys.iter().copied()));
    for (id, member) in members() {
        let cells = keys
            .iter()
            .map(|key| member.get(*key).map_or("", String::as_str));
        let _ = out.write_record(std::iter::once(id).chain(cells));
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Differences between what a phone froze and what the server holds, field by field (empty = equal).
pub fn differences(entered: &VisitDoc, stored: &VisitDoc) -> Vec<String> {
    let mut out = Vec::new();
    let a = serde_json::to_value(entered).unwrap_or_default();
    let b = serde_json::to_value(stored).unwrap_or_default();
    diff_values("", &a, &b, &mut out);
    out
}

fn diff_values(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) => diff_values(&sub, p, q, out),
                    (p, q) => out.push(format!("{sub}: {p:?} ≠ {q:?}")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff_values(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} ≠ {b}")),
        _ => {}
    }
}

/// Submissions (not conflicts) of visits, by `(visit id, revision)`, for counting.
pub fn submissions(visits: &[ServerVisit]) -> Vec<&ServerVisit> {
    visits
        .iter()
        .filter(|v| v.status != tepat_protocol::ReviewStatus::Conflict)
        .collect()
}

/// The promise: the supervisor's pull holds every visit the phones froze, exactly once, unchanged, and no
/// conflicting copy. `entered` is what the phones froze, by visit id (one revision each).
pub fn check_exactly_once(
    pulled: &[ServerVisit],
    entered: &std::collections::BTreeMap<uuid::Uuid, VisitDoc>,
) -> Result<(), String> {
    let conflicts: Vec<_> = pulled
        .iter()
        .filter(|v| v.status == tepat_protocol::ReviewStatus::Conflict)
        .map(|v| v.visit.visit_id)
        .collect();
    if !conflicts.is_empty() {
        return Err(format!("conflicting copies of {conflicts:?}"));
    }
    let keys: BTreeSet<_> = pulled
        .iter()
        .map(|v| (v.visit.visit_id, v.visit.revision))
        .collect();
    if keys.len() != pulled.len() {
        return Err(format!(
            "{} rows for {} visits: duplicated",
            pulled.len(),
            keys.len()
        ));
    }
    let missing: Vec<_> = entered
        .keys()
        .filter(|id| !pulled.iter().any(|v| v.visit.visit_id == **id))
        .collect();
    if !missing.is_empty() || pulled.len() != entered.len() {
        return Err(format!(
            "{} entered, {} on the server; lost: {missing:?}",
            entered.len(),
            pulled.len()
        ));
    }
    for visit in pulled {
        let Some(doc) = entered.get(&visit.visit.visit_id) else {
            return Err(format!("{} was never entered", visit.visit.visit_id));
        };
        let diff = differences(doc, &visit.visit);
        if !diff.is_empty() {
            return Err(format!(
                "{} changed on the way: {diff:?}",
                visit.visit.visit_id
            ));
        }
    }
    Ok(())
}
