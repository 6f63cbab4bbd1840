//! The findings of one field instance: the form's own rules (constraints, required) and the checks built into
//! every type (NIK and KK formats, dates, ranges, lengths).

use std::sync::Arc;

use crate::Finding;
use crate::expr::FieldId;
use crate::model::FieldType;
use crate::value::{TypeProblem, Value};

use super::State;

impl State {
    pub(super) fn check(&mut self, f: FieldId, member: Option<usize>) -> Vec<Finding> {
        let form = self.form.clone();
        let Some(info) = form.fields.get(f) else {
            return Vec::new();
        };
        if !self.relevant(f, member) || info.kind == FieldType::Note {
            return Vec::new();
        }
        let path = self.path(f, member);
        let mut out = Vec::new();
        let value = match info.kind {
            FieldType::Calculate => self.read(f, member),
            FieldType::Repeat => Value::Num(self.counts.get(f).copied().unwrap_or(0) as f64),
            _ => match self
                .index(f, member)
                .and_then(|i| self.typed.get(f)?.get(i))
            {
                Some(Ok(v)) => v.clone(),
                Some(Err(TypeProblem(msg))) => {
                    out.push(crate::validate::finding(
                        info,
                        &path,
                        "type",
                        crate::Level::Error,
                        msg,
                    ));
                    return out;
                }
                None => Value::Empty,
            },
        };
        let answered = match info.kind {
            FieldType::Repeat => self.counts.get(f).copied().unwrap_or(0) > 0,
            _ => !value.is_empty(),
        };
        let required = match &info.required {
            crate::compile::Required::No => false,
            crate::compile::Required::Yes => true,
            crate::compile::Required::When(n) => {
                self.eval_at(n, member, Value::Empty, None).as_bool()
            }
        };
        if required && !answered {
            out.push(crate::validate::required(info, &path));
            return out;
        }
        if info.kind == FieldType::Repeat {
            crate::validate::member_counts(
                info,
                &path,
                self.counts.get(f).copied().unwrap_or(0),
                &mut out,
            );
        } else if !answered {
            return out;
        }
        let built_in_errors = self.built_in_checks(f, member, &value, &path, &mut out);
        if built_in_errors {
            return out;
        }
        for c in &info.constraints {
            if !self.eval_at(&c.node, member, value.clone(), None).as_bool() {
                out.push(crate::validate::finding(
                    info, &path, &c.rule, c.level, &c.message,
                ));
            }
        }
        out
    }

    /// The checks every field of a type gets; true if one of them found an error (then constraints are skipped:
    /// they would only repeat the problem).
    fn built_in_checks(
        &mut self,
        f: FieldId,
        member: Option<usize>,
        value: &Value,
        path: &str,
        out: &mut Vec<Finding>,
    ) -> bool {
        let form = self.form.clone();
        let Some(info) = form.fields.get(f) else {
            return false;
        };
        let before = out.len();
        match info.kind {
            FieldType::SelectOne | FieldType::SelectMultiple => {
                let list = info.choices.as_ref().and_then(|l| form.form.choices.get(l));
                let codes: Vec<Arc<str>> = match value {
                    Value::Multi(codes) => codes.to_vec(),
                    Value::Text(code) => vec![code.clone()],
                    _ => Vec::new(),
                };
                for code in codes {
                    let choice = list.and_then(|l| l.iter().find(|c| *c.value == *code));
                    match (choice, &info.filter) {
                        (None, _) => out.push(crate::validate::not_in_list(info, path, &code)),
                        (Some(choice), Some(filter)) => {
                            if !self
                                .eval_at(filter, member, Value::Empty, Some(choice))
                                .as_bool()
                            {
                                out.push(crate::validate::filtered_out(info, path, choice));
                            }
                        }
                        (Some(_), None) => {}
                    }
                }
            }
            FieldType::Nik => {
                for p in crate::identity::nik_problems(&value.as_text()) {
                    out.push(crate::validate::finding(
                        info, path, p.rule, p.level, &p.message,
                    ));
                }
            }
            FieldType::Kk => {
                for p in crate::identity::kk_problems(&value.as_text()) {
                    out.push(crate::validate::finding(
                        info, path, p.rule, p.level, &p.message,
                    ));
                }
            }
            FieldType::Region => {
                let within = match &info.region_within {
                    Some(n) => self.eval_at(n, member, Value::Empty, None),
                    None => Value::Empty,
                };
                crate::validate::region(info, path, &value.as_text(), &within.as_text(), out);
            }
            FieldType::Text => {
                if let Some(problem) = crate::validate::too_long(info, value) {
                    out.push(crate::validate::finding(
                        info,
                        path,
                        "max_length",
                        crate::Level::Error,
                        &problem,
                    ));
                }
            }
            FieldType::Geopoint => {
                if let Some(Ok(g)) = self.json_at(f, member).map(crate::value::parse_geopoint)
                    && !g.in_indonesia()
                {
                    out.push(crate::validate::outside_indonesia(info, path));
                }
            }
            _ => {}
        }
        out.get(before..)
            .unwrap_or_default()
            .iter()
            .any(|x| x.level == crate::Level::Error)
    }
}
