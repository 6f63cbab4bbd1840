//! BENCHMARKS.md: the machine, one summary table (figure, ours, baseline from the same run, ratio, goal, met),
//! then each figure's details and how to reproduce it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::answer::AnswerFigure;
use crate::console::Queue;
use crate::export::Export;
use crate::incremental::Incremental;
use crate::ingest::Ingest;
use crate::ingest_postgres::{PgIngest, PgRun};
use crate::machine::Machine;
use crate::memory::{CoreMemory, Rss};
use crate::photos::PhotoFigure;
use crate::stats::{bytes, ratio, show};
use crate::wire::Wire;

/// One measured figure.
pub struct Figure {
    pub title: &'static str,
    pub ours: String,
    pub baseline: String,
    pub ratio: String,
    pub goal: &'static str,
    /// `None`: no goal (a figure to watch).
    pub met: Option<bool>,
    /// Markdown lines: what was measured, the load, what limits it.
    pub details: Vec<String>,
}

pub struct Report {
    machine: Machine,
    quick: bool,
    figures: BTreeMap<u32, Result<Figure, String>>,
    core: Option<Result<CoreMemory, String>>,
    server: Option<Result<(Rss, Rss, usize), String>>,
}

/// The build profile of this run (the server binary is built with the same one).
const PROFILE: &str = if cfg!(debug_assertions) {
    "debug"
} else {
    "release"
};

const TITLES: [&str; 9] = [
    "Answer → ViewModel (runtime dispatch + SQLite write)",
    "Incremental re-evaluation (one answer vs whole form)",
    "Bytes on the wire for a 12-visit day",
    "Server ingest, 20 concurrent devices",
    "Supervisor CSV export",
    "Peak memory (VmHWM)",
    "Console review queue page, 100,000 visits",
    "Photos of a 2G day with the link dropping (and preparing a 12 MP photo)",
    "Server ingest on PostgreSQL, 20 concurrent devices, one and two servers",
];

impl Report {
    pub fn new(machine: Machine, quick: bool) -> Report {
        Report {
            machine,
            quick,
            figures: BTreeMap::new(),
            core: None,
            server: None,
        }
    }

    pub fn push(&mut self, n: u32, figure: Result<Figure, String>) {
        if let Err(e) = &figure {
            eprintln!("tepat-bench: figure {n} failed: {e}");
        }
        self.figures.insert(n, figure);
    }

    pub fn core_memory(&mut self, core: Result<CoreMemory, String>) {
        self.core = Some(core);
        self.memory_figure();
    }

    pub fn server_memory(&mut self, ingest: Result<&Ingest, String>) {
        self.server =
            Some(ingest.map(|i| (i.server_before, i.server_after, i.visits * i.runs.len())));
        self.memory_figure();
    }

    fn memory_figure(&mut self) {
        let Some(core) = &self.core else {
            return;
        };
        let figure = core.as_ref().map_err(Clone::clone).map(|core| {
            let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
            let mut details = vec![
                format!(
                    "- Field core: a child process of `tepat-bench` opens the runtime and device store, installs both \
                     forms, takes 12 assignments and enters the day's {} visits through the screens (finalised, in \
                     the outbox); `VmHWM` from `/proc/self/status`. Peak {}, resident at the end {}; the same process \
                     before opening anything: peak {}.",
                    core.visits,
                    mib(core.day.peak_kib),
                    mib(core.day.now_kib),
                    mib(core.start.peak_kib)
                ),
            ];
            let server = match &self.server {
                Some(Ok((before, after, visits))) => {
                    details.push(format!(
                        "- Server (`tepat-server serve`, {PROFILE} build) during figure 4: `VmHWM` {} after ingesting {visits} \
                         visits from 20 devices at once (all of figure 4's runs); {} before the load (started, set up, idle).",
                        mib(after.peak_kib),
                        mib(before.peak_kib)
                    ));
                    format!("; server {}", mib(after.peak_kib))
                }
                Some(Err(e)) => {
                    details.push(format!("- Server: not measured ({e})."));
                    String::new()
                }
                None => {
                    details.push("- Server: measured with figure 4 (`--only 4,6`).".to_string());
                    String::new()
                }
            };
            Figure {
                title: TITLES[5],
                ours: format!("core {}{server}", mib(core.day.peak_kib)),
                baseline: format!("bare process {}", mib(core.start.peak_kib)),
                ratio: format!("{:.1}×", ratio(core.day.peak_kib as f64, core.start.peak_kib as f64)),
                goal: "— (watch; phones have 2–3 GB)",
                met: None,
                details,
            }
        });
        self.figures.insert(6, figure);
    }

    pub fn failures(&self) -> usize {
        self.figures.values().filter(|f| f.is_err()).count()
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Benchmarks\n\nWritten by `make bench` (`tepat-bench`, {PROFILE} build{}). Every figure is set against a \
             baseline measured in the same run on the same machine, so the ratio is what to compare across \
             machines. Synthetic households from `tepat_synth` (seeded).\n",
            if self.quick {
                ", **quick mode: smaller loads**"
            } else {
                ""
            }
        );
        let _ = writeln!(out, "| machine | |\n|---|---|");
        let _ = writeln!(out, "| CPU | {} |", m.cpu);
        let _ = writeln!(out, "| cores | {} |", m.cores);
        let _ = writeln!(out, "| RAM | {} |", m.memory);
        let _ = writeln!(out, "| OS | {} |", m.os);
        let _ = writeln!(out, "| rustc | {} |", m.rustc);
        let _ = writeln!(out, "| date | {} |", m.date);
        let _ = writeln!(out, "| load average at start | {} |\n", m.load);
        let _ = writeln!(
            out,
            "Reproduce: `make bench` (all, rewrites this file), or one figure: \
             `cargo run --release -p tepat-e2e --bin tepat-bench -- --only N --out /tmp/b.md`.\n"
        );
        let _ = writeln!(
            out,
            "| # | figure | ours | baseline (same run) | ratio | goal | met |\n|---|---|---|---|---|---|---|"
        );
        for (n, figure) in &self.figures {
            match figure {
                Ok(f) => {
                    let met = match f.met {
                        Some(true) => "yes",
                        Some(false) => "**no**",
                        None => "—",
                    };
                    let _ = writeln!(
                        out,
                        "| {n} | {} | {} | {} | {} | {} | {met} |",
                        f.title, f.ours, f.baseline, f.ratio, f.goal
                    );
                }
                Err(e) => {
                    let title = TITLES.get(*n as usize - 1).copied().unwrap_or("");
                    let _ = writeln!(
                        out,
                        "| {n} | {title} | not measured: {} | | | | **failed** |",
                        one_line(e)
                    );
                }
            }
        }
        for (n, figure) in &self.figures {
            let title = TITLES.get(*n as usize - 1).copied().unwrap_or("");
            let _ = writeln!(out, "\n## {n}. {title}\n");
            match figure {
                Ok(f) => {
                    for line in &f.details {
                        let _ = writeln!(out, "{line}");
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "Not measured: {e}");
                }
            }
            // Figure 9 needs a PostgreSQL cluster that commits durably, as `make bench` starts.
            let cluster = if *n == 9 {
                "PG_DURABLE=1 server/scripts/pg-cluster.sh run -- "
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "\nReproduce: `{cluster}cargo run --release -p tepat-e2e --bin tepat-bench -- --only {n} --out /tmp/b.md`"
            );
        }
        out
    }
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or("").replace('|', "/")
}

pub fn answer(f: &AnswerFigure) -> Figure {
    let median = f.dispatch.median();
    let unencrypted = f.unencrypted.median();
    let goal_met = median.as_secs_f64() <= 1e-3;
    let cost = |encrypted: std::time::Duration, plain: std::time::Duration| {
        100.0 * (encrypted.as_secs_f64() / plain.as_secs_f64().max(1e-12) - 1.0)
    };
    Figure {
        title: TITLES[0],
        ours: format!(
            "median {}, p99 {} (database encrypted; unencrypted median {}: {:+.1} %)",
            show(median),
            show(f.dispatch.p99()),
            show(unencrypted),
            cost(median, unencrypted)
        ),
        baseline: format!("bare transaction median {}, p99 {}", show(f.bare.median()), show(f.bare.p99())),
        ratio: format!("{:.1}×", ratio(median.as_secs_f64(), f.bare.median().as_secs_f64())),
        goal: "≤ 1 ms median",
        met: Some(goal_met),
        details: vec![
            format!(
                "- {} answers timed after a warm-up of {}, cycling through {} fields (typed text, numbers, a decimal, \
                 dates; top-level fields on their section's page, member fields on member 5's page) of the DTSEN \
                 ground check with a 10-member roster, each answer flipping between two values so every one is \
                 written. Each is one `Runtime::dispatch(UiEvent::Answer)`: the App updates the form session, the \
                 answer row and its audit event are committed (WAL, `synchronous=NORMAL`), and the new ViewModel is \
                 returned. Max {}.",
                f.dispatch.len(),
                f.dispatch.len() / 10,
                f.answers,
                show(f.dispatch.max())
            ),
            format!(
                "- Encryption at rest (SQLCipher, AES-256 with a raw 32-byte key, 4 KiB pages, HMAC per page): the \
                 same answers typed in turns into a second phone whose database is not encrypted (which goes first \
                 alternates): median {} vs {} ({:+.1} %), p99 {} vs {} ({:+.1} %). The anchor: DHIS2 reports 5–10 % \
                 for its SQLCipher store.",
                show(median),
                show(unencrypted),
                cost(median, unencrypted),
                show(f.dispatch.p99()),
                show(f.unencrypted.p99()),
                cost(f.dispatch.p99(), f.unencrypted.p99())
            ),
            "- Baseline: the same number of one-row upserts into an `answers`-shaped table, one transaction each, \
             same pragmas, same directory, unencrypted."
                .to_string(),
        ],
    }
}

pub fn incremental(f: &Incremental) -> Figure {
    let set = f.set.median().as_secs_f64();
    let whole = f.validate.median().as_secs_f64();
    let time_ratio = ratio(whole, set);
    let eval_ratio = ratio(
        f.full_evaluations as f64,
        f.median_evaluations().max(1) as f64,
    );
    Figure {
        title: TITLES[1],
        ours: format!(
            "`FormSession::set` + `findings` median {} ({} evaluation(s))",
            show(f.set.median()),
            f.median_evaluations()
        ),
        baseline: format!(
            "`CompiledForm::validate` median {} ({} evaluations)",
            show(f.validate.median()),
            f.full_evaluations
        ),
        ratio: format!("{time_ratio:.0}× faster, {eval_ratio:.0}× fewer evaluations"),
        goal: "≥ 10× faster",
        met: Some(time_ratio >= 10.0),
        details: vec![
            format!(
                "- The same 10-member DTSEN household and the same {} answers as figure 1, straight into the form \
                 session (no App, no SQLite): {} timed answers after a warm-up, each a `set` then `findings` (every \
                 finding of the visit, as `validate` returns them); p99 {}, max {}. Evaluations per answer: median \
                 {}, max {} (the expressions that depend on the answered field).",
                f.answers,
                f.set.len(),
                show(f.set.p99()),
                show(f.set.max()),
                f.median_evaluations(),
                f.max_evaluations()
            ),
            format!(
                "- Whole form: `CompiledForm::validate` (every expression evaluated, then the findings) on the same \
                 answers, {} runs (p99 {}); building a fresh session (every expression once) median {}. {} \
                 evaluations either way.",
                f.validate.len(),
                show(f.validate.p99()),
                show(f.fresh_session.median()),
                f.full_evaluations
            ),
        ],
    }
}

pub fn wire(f: &Wire) -> Figure {
    let ours = f.ours();
    let odk = f.odk.total();
    let share = ratio(ours as f64, odk as f64);
    let odk_one_head = odk - f.odk.head_bytes + f.odk.head_bytes / f.visits.max(1) as u64;
    Figure {
        title: TITLES[2],
        ours: format!("{} in {} round trip(s)", bytes(ours), f.round_trips),
        baseline: format!(
            "OpenRosa {} in {} round trips",
            bytes(odk),
            f.odk.round_trips
        ),
        ratio: format!("{:.1}% of the bytes", share * 100.0),
        goal: "≤ 25% of the bytes, 1 round trip",
        met: Some(share <= 0.25 && f.round_trips == 1),
        details: vec![
            format!(
                "- Ours: one enumerator's day of {} visits (8 found, one each refused, not found, moved, not \
                 reachable) entered offline through the real core, then one sync to the real `tepat-server` through \
                 the e2e loopback proxy, which counts every byte at the socket: {} up, {} down ({} HTTP \
                 connection(s), {} round trip(s)). Bodies alone, gzipped: {} up, {} down; the same visits as plain \
                 JSON: {}.",
                f.visits,
                bytes(f.up),
                bytes(f.down),
                f.connections,
                f.round_trips,
                bytes(f.body_up),
                bytes(f.body_down),
                bytes(f.json_bytes)
            ),
            format!(
                "- Of that, the visits' audit trails (`shared/README.md`, \"The audit chain\"; as the phone held them \
                 just before the sync, without the batch's `sent` events): {} events, {} as JSON, {} gzipped alone \
                 ({:.1} B an event); every field of every event written out, as before the wire form, they would \
                 be {} as JSON, {} gzipped. The bench's phone clock moves exactly one second per reading, which the \
                 wire form's time differences compress to almost nothing; with a real clock's irregular times (each \
                 event a further 0–3 s later to the millisecond, seeded; the monotonic reading with it) the \
                 trails gzip to {} ({:.1} B an event), i.e. about {} more on the wire than measured here.",
                f.trails.events,
                bytes(f.trails.json),
                bytes(f.trails.gzip),
                f.trails.gzip as f64 / f.trails.events.max(1) as f64,
                bytes(f.trails.verbose_json),
                bytes(f.trails.verbose_gzip),
                bytes(f.trails.jittered_gzip),
                f.trails.jittered_gzip as f64 / f.trails.events.max(1) as f64,
                bytes(f.trails.jittered_gzip.saturating_sub(f.trails.gzip))
            ),
            format!(
                "- OpenRosa (ODK Collect → ODK Central), built byte for byte from the same visits: per visit a `HEAD` \
                 to `/submission` (`204` + `X-OpenRosa-Accept-Content-Length`) and a `multipart/form-data` POST of \
                 the XForms instance (`<data id=\"dtsen_groundcheck\" version=\"1\">`, sections as groups, one \
                 `<members>` element per member, empty elements for unanswered/hidden/note fields, calculated \
                 values, `<meta><instanceID>uuid:…</instanceID></meta>`), answered `201` with the OpenRosa response \
                 XML. Requests {}, responses {}; the XML instances alone {}. No gzip (Collect sends none), no \
                 Authorization (Central's app-user key is in the URL; ODK Aggregate's Digest auth would add a 401 \
                 round trip), photos left out on both sides.",
                bytes(f.odk.request_bytes),
                bytes(f.odk.response_bytes),
                bytes(f.odk.xml_bytes)
            ),
            format!(
                "- Collect only skips the per-visit `HEAD` when the server's `204` names a `Location`; with a single \
                 `HEAD` for the day the OpenRosa total would be {} and ours {:.1}% of it.",
                bytes(odk_one_head),
                ratio(ours as f64, odk_one_head as f64) * 100.0
            ),
        ],
    }
}

pub fn ingest(f: &Ingest) -> Figure {
    let share = ratio(f.rate(), f.raw_rate());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let cpu_ms = f.cpu_per_visit_ms();
    let runs = f
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "{}: server {} ({:.0} visits/s, server CPU {:.2} s, devices {:.2} s), then raw {} ({:.0} visits/s)",
                i + 1,
                show(r.server),
                f.visits as f64 / r.server.as_secs_f64().max(1e-9),
                r.server_cpu,
                r.devices_cpu,
                show(r.raw),
                f.visits as f64 / r.raw.as_secs_f64().max(1e-9)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let validation_ms = f.validation.as_secs_f64() * 1000.0 / f.visits.max(1) as f64;
    Figure {
        title: TITLES[3],
        ours: format!(
            "{:.0} visits/s; server CPU {cpu_ms:.2} ms per visit",
            f.rate()
        ),
        baseline: format!("raw rusqlite {:.0} visits/s", f.raw_rate()),
        ratio: format!(
            "{:.0}% of raw (server CPU {cpu_ms:.2} ms per visit)",
            share * 100.0
        ),
        goal: "≥ 25% of raw",
        met: Some(share >= 0.25),
        details: vec![
            format!(
                "- {} devices, each enrolled with its own token and using the phone's own HTTP transport \
                 (`HttpTransport`: gzip JSON), start together and send {} batches in all of {} visits each (one day \
                 of one enumerator per batch, with the day's outcome mix) to the {PROFILE} `tepat-server` on loopback: \
                 {} visits per run, every receipt `accepted`. The server checks each visit (token, assignment, \
                 revision), re-validates it with the form engine, stores its findings, and commits each batch with \
                 its receipts in one `synchronous=FULL` transaction.",
                f.devices, f.batches, f.batch_size, f.visits
            ),
            format!(
                "- Baseline: the very rows the server stored in a run, inserted again with rusqlite into a snapshot \
                 of the server's database taken just before that run (same schema and indexes, WAL, \
                 `synchronous=FULL`, foreign keys on), {} rows per IMMEDIATE transaction, one writer.",
                f.batch_size
            ),
            format!(
                "- Runs, alternating so that both meet the same disk (commits are fsynced, and a shared VM's fsync \
                 time moves from minute to minute); the figures are the medians: {runs}."
            ),
            format!(
                "- Server CPU per visit (median of the runs): {cpu_ms:.2} ms, on {cores} cores shared with the \
                 simulated devices. Validation alone (one run's visits, `CompiledForm::validate`, one thread of \
                 this process): {validation_ms:.2} ms per visit, {:.0}% of the server's CPU per visit. At {cpu_ms:.2} \
                 ms per visit the server's CPU allows at most {:.0} visits/s on {cores} cores; 25% of this run's raw \
                 rate is {:.0} visits/s, i.e. at most {:.2} ms of server CPU per visit.",
                ratio(validation_ms, cpu_ms) * 100.0,
                cores as f64 * 1000.0 / cpu_ms.max(1e-9),
                f.raw_rate() / 4.0,
                cores as f64 * 4000.0 / f.raw_rate().max(1.0)
            ),
        ],
    }
}

pub fn pg_ingest(f: &PgIngest) -> Figure {
    let (one, two) = (f.rate(&f.one_node), f.rate(&f.two_nodes));
    let raw = f.raw_rate(&f.one_node);
    let share = ratio(one, raw);
    let describe = |runs: &[PgRun]| {
        runs.iter()
            .enumerate()
            .map(|(i, r)| {
                format!(
                    "{}: servers {} ({:.0} visits/s; CPU tepat-server {:.2} s, PostgreSQL {:.2} s), then raw {} \
                     ({:.0} visits/s)",
                    i + 1,
                    show(r.server),
                    f.visits as f64 / r.server.as_secs_f64().max(1e-9),
                    r.servers_cpu,
                    r.postgres_cpu,
                    show(r.raw),
                    f.visits as f64 / r.raw.as_secs_f64().max(1e-9)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (one_cpu, one_pg) = f.cpu_per_visit_ms(&f.one_node);
    let (two_cpu, two_pg) = f.cpu_per_visit_ms(&f.two_nodes);
    Figure {
        title: TITLES[8],
        ours: format!("one server {one:.0} visits/s; two servers {two:.0} visits/s"),
        baseline: format!("raw tokio-postgres inserts {raw:.0} visits/s"),
        ratio: format!(
            "{:.0}% of raw (two servers: {:.2}× one)",
            share * 100.0,
            ratio(two, one)
        ),
        goal: "≥ 25% of raw",
        met: Some(share >= 0.25),
        details: vec![
            format!(
                "- As figure 4 ({} devices, {} batches of {} visits per run, {} visits, the phone's HTTP transport, \
                 every receipt `accepted`), into PostgreSQL {} ({}): first all devices on one {PROFILE} \
                 `tepat-server --database`, then {} other devices, half on each of two server processes of the same \
                 database (each write transaction holds the database's write lock, server/README.md).",
                DEVICES_NOTE,
                f.batches,
                crate::memory::DAY.len(),
                f.visits,
                f.version,
                if f.durable {
                    "fsync and synchronous_commit on: every commit durable, as SQLite's synchronous=FULL"
                } else {
                    "NOT durable: fsync or synchronous_commit off — the rates are not comparable with figure 4"
                },
                DEVICES_NOTE,
            ),
            format!(
                "- Baseline: after each server run, the rows the servers stored in it read back and inserted with \
                 tokio-postgres (one prepared INSERT, typed parameters) into `raw_visits`, a copy of `visits` made \
                 just before the run (its indexes and the trigger deriving columns from the document), {} rows per \
                 transaction, one connection.",
                crate::memory::DAY.len()
            ),
            format!("- One server: {}.", describe(&f.one_node)),
            format!("- Two servers: {}.", describe(&f.two_nodes)),
            format!(
                "- CPU per visit (medians): one server: tepat-server {one_cpu:.2} ms, PostgreSQL {one_pg:.2} ms; two \
                 servers: tepat-server {two_cpu:.2} ms (both processes), PostgreSQL {two_pg:.2} ms. PostgreSQL's CPU is \
                 that of its processes alive at both ends of the run (a lower bound). All on the same {} cores as the \
                 simulated devices and the database.",
                std::thread::available_parallelism().map_or(1, usize::from)
            ),
        ],
    }
}

const DEVICES_NOTE: usize = crate::ingest::DEVICES;

pub fn console(f: &Queue) -> Figure {
    let page = f.page.median();
    let factor = ratio(page.as_secs_f64(), f.api.median().as_secs_f64());
    Figure {
        title: TITLES[6],
        ours: format!(
            "{} median, {} p99 ({} filtered)",
            show(page),
            show(f.page.p99()),
            show(f.filtered.median())
        ),
        baseline: format!("API pull page {} median", show(f.api.median())),
        ratio: format!("{factor:.2}× the API"),
        goal: "≤ 200 ms at the server; page ≤ 200 KB",
        met: Some(
            f.page.p99() <= std::time::Duration::from_millis(200) && f.page_bytes <= 200 * 1024,
        ),
        details: vec![
            format!(
                "- {} visits in the server's database (figure 4's visits copied under new ids, as for figure 5), all in the supervisor's region; the \
                 queue counts {} of them (status all). `GET /queue` as the logged-in supervisor (session cookie), \
                 {} runs after 3 warm-up: the count of waiting visits and the first 50 rows (keyset paging on the \
                 `visits_queue` index, which holds every filtered column, so counting reads no document), the \
                 filter lists and the rendered HTML ({}). With filters (`status=all&enumerator=pkh01&errors=1`): \
                 median {}, p99 {}.",
                f.visits,
                f.count_shown,
                f.page.len(),
                bytes(f.page_bytes),
                show(f.filtered.median()),
                show(f.filtered.p99())
            ),
            format!(
                "- Baseline: the same page of the same visits over the API, `GET /api/v1/supervisor/visits?limit=50` \
                 with the supervisor's device token (JSON of 50 whole visits, {}): median {}, p99 {}. Both timed at \
                 the client over loopback HTTP from request to last byte, an upper bound of the time at the server.",
                bytes(f.api_bytes),
                show(f.api.median()),
                show(f.api.p99())
            ),
        ],
    }
}

pub fn export(f: &Export) -> Figure {
    let factor = ratio(f.total().as_secs_f64(), f.floor_total().as_secs_f64());
    Figure {
        title: TITLES[4],
        ours: format!(
            "{} visits: {} (households {}, members {})",
            f.visits,
            show(f.total()),
            show(f.households),
            show(f.members)
        ),
        baseline: format!(
            "floor (plain Rust) {} (households {}, members {})",
            show(f.floor_total()),
            show(f.floor_households),
            show(f.floor_members)
        ),
        ratio: format!("{factor:.2}× the floor"),
        goal: "≤ 2× the floor",
        met: Some(factor <= 2.0 && f.identical),
        details: vec![
            format!(
                "- {} visits of the DTSEN form in the server's database (the distinct households of figure 4, copied \
                 under new ids). Both exports fetched over HTTP from the running {PROFILE} server \
                 (`/api/v1/supervisor/export/{{households,members}}.csv`) into files: {} household rows and {} \
                 member rows, {} in all. The server reads what ingest stored for the export (the relevant \
                 answers — hidden ones are never exported — and the calculated values, computed once with the \
                 findings), and streams CSV.",
                f.visits,
                f.household_rows,
                f.member_rows,
                bytes(f.bytes)
            ),
            format!(
                "- Baseline, the floor: the least any export of these rows must do, in plain Rust in this process \
                 — one rusqlite query per export over the same stored visit columns and `exported` column, each \
                 visit's answers parsed with serde_json into a tree, the key and region cells (names looked up \
                 once per code) and every answer cell written with the csv crate to files on the same disk; no \
                 HTTP, no streaming: {} household rows, {} member rows; {}.",
                f.floor_household_rows,
                f.floor_member_rows,
                if f.identical {
                    "the files are byte for byte the server's"
                } else {
                    "**the files differ from the server's**, so the goal is not met whatever the times"
                }
            ),
            format!(
                "- Parsing the stored answers alone (part of both sides), for these {} visits in one thread: {} per \
                 pass, i.e. {} of the server's {} and of the floor's {} for the two exports.",
                f.visits,
                show(f.parse),
                show(f.parse * 2),
                show(f.total()),
                show(f.floor_total())
            ),
        ],
    }
}

pub fn photos(f: &PhotoFigure) -> Figure {
    let (ours, odk) = (&f.ours, &f.odk);
    let share = ratio(ours.total() as f64, odk.total() as f64);
    let ours_over = ratio(ours.up as f64, f.photo_bytes as f64);
    let odk_over = ratio(odk.up as f64, f.odk_submission_bytes as f64);
    let p = &f.prepare;
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
    let camera = mean(&p.camera_bytes);
    let prepared = mean(&p.prepared_bytes);
    let qualities: Vec<String> = p.qualities.iter().map(u8::to_string).collect();
    Figure {
        title: TITLES[7],
        ours: format!(
            "{} on the wire in {:.0} s ({} drops); preparing a 12 MP photo median {}, {:.1} MB → {:.0} kB",
            bytes(ours.total()),
            ours.seconds,
            ours.drops,
            show(p.times.median()),
            camera / 1e6,
            prepared / 1e3
        ),
        baseline: format!(
            "ODK Collect's whole re-sends {} in {:.0} s ({} drops)",
            bytes(odk.total()),
            odk.seconds,
            odk.drops
        ),
        ratio: format!(
            "{:.0}% of the bytes, {:.0}% of the time; photo {:.1}% of the camera's bytes",
            share * 100.0,
            ratio(ours.seconds, odk.seconds) * 100.0,
            ratio(prepared, camera) * 100.0
        ),
        goal: "fewer bytes and less time; ≤ 1.15× the photos' bytes up",
        met: Some(ours.total() < odk.total() && ours.seconds < odk.seconds && ours_over <= 1.15),
        details: vec![
            format!(
                "- The day: one enumerator's {} households, all found, each with the front of the house and the \
                 living room photographed ({} photos), entered offline through the real core; the camera wrote \
                 {}×{} JPEGs ({}), made ready to send when taken (`tepat-photo`: ≤ 1600 px, ≤ 300 KB): {} to \
                 send. The answers synced first (not counted here), then the photos, all over the e2e proxy's 2G \
                 link (30 kB/s each way, 300 ms one way), plain HTTP on both sides, every byte counted at the \
                 socket.",
                f.visits,
                f.photos,
                f.day_camera.0,
                f.day_camera.1,
                bytes(f.day_camera_bytes),
                bytes(f.photo_bytes)
            ),
            format!(
                "- The drops, the same for both: one list of byte counts drawn once (uniform {}–{} kB, seeded); the \
                 k-th connection a side opens is cut after the k-th count of bytes up.",
                DROP_RANGE.0 / 1000,
                DROP_RANGE.1 / 1000
            ),
            format!(
                "- Ours: the phone's runtime (`Runtime::upload_photos`, tus 1.0 by SHA-256 to the real \
                 `tepat-server`), one pass after another until nothing waits (a pass ends at a drop; the next asks \
                 the server's offset with `HEAD` and sends the rest): {} up, {} down, {} connections, {} passes, \
                 {:.1} s; {:.3}× the photos' bytes up. Every photo then on the server byte-identical, one row each, \
                 no upload left open.",
                bytes(ours.up),
                bytes(ours.down),
                ours.connections,
                ours.tries,
                ours.seconds,
                ours_over
            ),
            format!(
                "- ODK Collect's way, built byte for byte as figure 3's OpenRosa upload plus the photos: per visit a \
                 `HEAD` and one `multipart/form-data` POST holding the XForms instance and both photos as \
                 `image/jpeg` parts ({} for the day's {} submissions); after a failed POST the whole submission is \
                 sent again from its first byte (Collect keeps no partial upload), on a new connection. The \
                 server is a sink in the bench process (an OpenRosa server that stores a POST once its whole body \
                 arrived), behind its own proxy with the same link and drops: {} up, {} down, {} connections, {} \
                 tries (`HEAD` + POST), {:.1} s; {:.3}× the submissions' bytes up. Every submission stored exactly once.",
                bytes(f.odk_submission_bytes),
                f.visits,
                bytes(odk.up),
                bytes(odk.down),
                odk.connections,
                odk.tries,
                odk.seconds,
                odk_over
            ),
            format!(
                "- Preparing on the phone: `tepat_photo::prepare` on {} synthetic {}×{} camera JPEGs (a house \
                 photo at quality 92 with EXIF; every other one with orientation 6, turned), one warm-up first, one \
                 thread of this machine: median {}, max {}; {:.2} MB → {:.0} kB on average ({}×{} px, qualities {}).",
                p.times.len(),
                p.camera.0,
                p.camera.1,
                show(p.times.median()),
                show(p.times.max()),
                camera / 1e6,
                prepared / 1e3,
                p.prepared_size.0,
                p.prepared_size.1,
                qualities.join(", ")
            ),
        ],
    }
}

/// `photo_day::DROP_AFTER` as numbers for the text.
const DROP_RANGE: (u64, u64) = (
    *tepat_e2e::photo_day::DROP_AFTER.start(),
    *tepat_e2e::photo_day::DROP_AFTER.end(),
);
