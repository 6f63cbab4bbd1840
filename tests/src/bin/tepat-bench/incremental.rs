//! Figure 2: one answer through the live `FormSession` (re-evaluating only what depends on it) and the visit's
//! findings read from it afterwards, against re-evaluating the whole form to its findings
//! (`CompiledForm::validate`), in time and in expression evaluations. Both sides end with every finding.

use serde_json::Value;

use crate::household::{self, Answer};
use crate::stats::Samples;

pub struct Incremental {
    pub answers: usize,
    pub set: Samples,
    pub validate: Samples,
    pub fresh_session: Samples,
    /// Evaluations per `set`, sorted.
    pub set_evaluations: Vec<u64>,
    /// Evaluations to build a session (every expression of the form for this household).
    pub full_evaluations: u64,
}

impl Incremental {
    pub fn median_evaluations(&self) -> u64 {
        self.set_evaluations
            .get(self.set_evaluations.len() / 2)
            .copied()
            .unwrap_or(0)
    }
    pub fn max_evaluations(&self) -> u64 {
        self.set_evaluations.last().copied().unwrap_or(0)
    }
}

pub fn run(seed: u64, answers: usize) -> Result<Incremental, String> {
    let form = household::dtsen()?;
    let hh = household::household(seed)?;
    let mix = household::answer_mix(form.form(), &hh);
    let mut session = form
        .session(hh.doc.answers.clone(), hh.visit_date)
        .map_err(|e| e.to_string())?;
    let full_evaluations = session.evaluations();
    let values = parsed(&session, &mix)?;
    let mut evaluations = Vec::with_capacity(answers);
    let mut failed = None;
    let warmup = answers / 10;
    let set = Samples::measure(warmup, answers, |i| {
        let k = i % mix.len();
        let (Some(answer), Some(pair)) = (mix.get(k), values.get(k)) else {
            return;
        };
        let value = pair[(i / mix.len()) % 2].clone();
        let before = session.evaluations();
        if let Err(e) = session.set(&answer.path, value) {
            failed = Some(format!("{}: {e}", answer.path));
        }
        // The findings after this answer, as the baseline's `validate` returns them.
        std::hint::black_box(session.findings());
        if i >= warmup {
            evaluations.push(session.evaluations() - before);
        }
    });
    if let Some(e) = failed {
        return Err(format!("an answer of the mix was refused: {e}"));
    }
    evaluations.sort_unstable();
    let current = session.answers().clone();
    let runs = (answers / 10).max(50);
    let validate = Samples::measure(runs / 10, runs, |_| {
        std::hint::black_box(form.validate(&current, hh.visit_date));
    });
    let fresh_session = Samples::measure(runs / 10, runs, |_| {
        std::hint::black_box(form.session(current.clone(), hh.visit_date).ok());
    });
    Ok(Incremental {
        answers: mix.len(),
        set,
        validate,
        fresh_session,
        set_evaluations: evaluations,
        full_evaluations,
    })
}

/// Each answer's two texts as the typed values the session takes.
fn parsed(session: &tepat_form::FormSession, mix: &[Answer]) -> Result<Vec<[Value; 2]>, String> {
    mix.iter()
        .map(|a| {
            let parse = |t: &str| {
                session
                    .parse_input(&a.path, t)
                    .map_err(|e| format!("{}: {e}", a.path))
            };
            Ok([parse(&a.texts[0])?, parse(&a.texts[1])?])
        })
        .collect()
}
