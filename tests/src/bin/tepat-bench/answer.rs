//! Figure 1: a person's answer to the view model through the real runtime (`Runtime::dispatch`: the crux App,
//! the form session, the SQLite write of the answer row and its audit event, the new view), on the DTSEN form with
//! a 10-member roster, with the database encrypted as on a phone (SQLCipher) and, in the same run, unencrypted;
//! against a bare single-row SQLite transaction with the same pragmas on the same disk.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};
use serde_json::Value;
use tepat_app::{Screen, UiEvent};
use tepat_e2e::phone::Phone;
use tepat_store::AnswerRow;
use uuid::Uuid;

use crate::household::{self, Answer, Household, MEMBER, ROSTER};
use crate::stats::Samples;

pub struct AnswerFigure {
    /// The phone as it runs: the database encrypted.
    pub dispatch: Samples,
    /// The same answers into an unencrypted database, interleaved with the encrypted ones.
    pub unencrypted: Samples,
    pub bare: Samples,
    pub answers: usize,
}

pub fn run(dir: &Path, seed: u64, answers: usize) -> Result<AnswerFigure, String> {
    let hh = household::household(seed)?;
    let form = household::dtsen()?;
    let mix = household::answer_mix(form.form(), &hh);
    let encrypted = household::offline_phone(
        &dir.join("phone"),
        hh.visit_date,
        vec![hh.assignment.clone()],
    )?;
    let plain = household::offline_phone_unencrypted(
        &dir.join("phone-unencrypted"),
        hh.visit_date,
        vec![hh.assignment.clone()],
    )?;
    let mut phones = [Draft::open(encrypted, &hh)?, Draft::open(plain, &hh)?];
    let mut times = [Vec::with_capacity(answers), Vec::with_capacity(answers)];
    let warmup = answers / 10;
    for i in 0..warmup + answers {
        let k = i % mix.len();
        let Some(answer) = mix.get(k) else { continue };
        let text = &answer.texts[(i / mix.len()) % 2];
        // Each answer into both phones, in turns, so both meet the same load and disk; which goes first
        // alternates.
        for p in [i % 2, 1 - i % 2] {
            let took = phones[p].answer(answer, text)?;
            if i >= warmup {
                times[p].push(took);
            }
        }
    }
    let last = warmup + answers - 1;
    for phone in &phones {
        phone.check_last_round(&mix, last)?;
    }
    let bare = bare_transactions(&dir.join("bare.db"), answers)?;
    let [dispatch, unencrypted] = times;
    Ok(AnswerFigure {
        dispatch: Samples::new(dispatch),
        unencrypted: Samples::new(unencrypted),
        bare,
        answers: mix.len(),
    })
}

/// A phone with the household's visit open as a draft, answered page by page.
struct Draft {
    phone: Phone,
    visit_id: Uuid,
    /// The page on show: `Some(Some(section))`, `Some(None)` for the member's page.
    page: Option<Option<u32>>,
}

impl Draft {
    fn open(phone: Phone, hh: &Household) -> Result<Draft, String> {
        let runtime = phone.runtime();
        let id = hh.assignment.assignment_id.clone();
        // The whole household through the screens; finalising may be refused (the padded roster repeats a
        // member), which leaves the visit a draft with every answer: what is measured is answering into it.
        let finalised = phone.enter(&id, &hh.doc).is_ok();
        runtime.dispatch(UiEvent::ShowToday);
        let view = runtime.dispatch(UiEvent::OpenAssignment {
            assignment_id: id.clone(),
        });
        if finalised {
            runtime.dispatch(UiEvent::EditAgain);
        }
        let Screen::Visit(visit) = view.screen else {
            return Err(format!("{id} did not open: {:?}", view.notice));
        };
        let visit_id: Uuid = visit
            .visit_id
            .parse()
            .map_err(|e| format!("visit id: {e}"))?;
        let roster = runtime
            .inspect_store(|s| s.answer(visit_id, "members"))
            .map_err(|e| e.to_string())?;
        if roster != Some(AnswerRow::Members(ROSTER as u32)) {
            return Err(format!(
                "the draft's roster is {roster:?}, not {ROSTER} members"
            ));
        }
        Ok(Draft {
            phone,
            visit_id,
            page: None,
        })
    }

    /// Page by page as a person goes: each top-level answer on its section, member answers on the member's
    /// page. Only the answer's own dispatch is timed; an answer that gives a notice fails the figure.
    fn answer(&mut self, answer: &Answer, text: &str) -> Result<Duration, String> {
        let runtime = self.phone.runtime();
        if self.page != Some(answer.section) {
            if self.page == Some(None) {
                runtime.dispatch(UiEvent::CloseMember);
            }
            match answer.section {
                Some(index) => runtime.dispatch(UiEvent::GoToSection { index }),
                None => runtime.dispatch(UiEvent::OpenMember {
                    repeat_path: "members".into(),
                    index: MEMBER as u32,
                }),
            };
            self.page = Some(answer.section);
        }
        let started = std::time::Instant::now();
        let view = runtime.dispatch(UiEvent::Answer {
            path: answer.path.clone(),
            text: text.to_string(),
        });
        let took = started.elapsed();
        match view.notice {
            Some(notice) => Err(format!("{}: {notice:?}", answer.path)),
            None => Ok(took),
        }
    }

    /// Every answer of the last round (answer `last` was the last typed) is in the store as typed.
    fn check_last_round(&self, mix: &[Answer], last: usize) -> Result<(), String> {
        let last_round = last / mix.len();
        for (k, answer) in mix.iter().enumerate() {
            let round = if last % mix.len() >= k {
                last_round
            } else {
                last_round.saturating_sub(1)
            };
            let typed = &answer.texts[round % 2];
            let stored = self
                .phone
                .runtime()
                .inspect_store(|s| s.answer(self.visit_id, &answer.path))
                .map_err(|e| e.to_string())?;
            let shown = match stored {
                Some(AnswerRow::Value(Value::String(s))) => s,
                Some(AnswerRow::Value(v)) => v.to_string(),
                other => format!("{other:?}"),
            };
            let same = shown == *typed
                || shown
                    .parse::<f64>()
                    .ok()
                    .zip(typed.parse::<f64>().ok())
                    .is_some_and(|(a, b)| a == b);
            if !same {
                return Err(format!(
                    "{}: stored {shown:?}, typed {typed:?}",
                    answer.path
                ));
            }
        }
        Ok(())
    }
}

/// One upsert of one answer-sized row per transaction, with the device store's pragmas for answers (WAL,
/// `synchronous=NORMAL`, foreign keys on), in the same directory.
fn bare_transactions(path: &Path, n: usize) -> Result<Samples, String> {
    let sql = |e: rusqlite::Error| format!("bare SQLite: {e}");
    let mut conn = Connection::open(path).map_err(sql)?;
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(sql)?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         CREATE TABLE IF NOT EXISTS answers (visit_id TEXT NOT NULL, path TEXT NOT NULL, kind INTEGER NOT NULL,
             value TEXT NOT NULL, PRIMARY KEY (visit_id, path)) WITHOUT ROWID;",
    )
    .map_err(sql)?;
    let visit = Uuid::now_v7().to_string();
    let mut failed = None;
    let samples = Samples::measure(n / 10, n, |i| {
        let result = (|| {
            let tx = conn.transaction()?;
            tx.prepare_cached(
                "INSERT INTO answers (visit_id, path, kind, value) VALUES (?1, ?2, 0, ?3)
                 ON CONFLICT (visit_id, path) DO UPDATE SET value = ?3",
            )?
            .execute(params![
                visit,
                "members[4].birth_date",
                format!("\"1985-01-{:02}\"", 1 + i % 2)
            ])?;
            tx.commit()
        })();
        if let Err(e) = result {
            failed = Some(e);
        }
    });
    match failed {
        Some(e) => Err(sql(e)),
        None => Ok(samples),
    }
}
