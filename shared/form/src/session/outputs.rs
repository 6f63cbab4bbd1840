//! What a state gives out: its findings in form order, calculated values, what is exported and the answers
//! that are relevant now.

use serde_json::Value as Json;

use crate::Answers;
use crate::Finding;
use crate::expr::FieldId;
use crate::model::FieldType;

use super::State;

impl State {
    /// Every finding, in form order (members in index order), then answers that fit no field.
    pub(crate) fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for section in &self.form.sections {
            for &f in &section.fields {
                self.push_findings(f, &mut out);
                let Some(info) = self.form.fields.get(f) else {
                    continue;
                };
                for i in 0..self.counts.get(f).copied().unwrap_or(0) {
                    for &c in &info.children {
                        if let Some(found) = self.findings.get(c).and_then(|v| v.get(i)) {
                            out.extend(found.iter().cloned());
                        }
                    }
                }
            }
        }
        crate::validate::structural(&self.form, &self.answers, &mut out);
        out
    }

    fn push_findings(&self, f: FieldId, out: &mut Vec<Finding>) {
        if let Some(found) = self.findings.get(f).and_then(|v| v.first()) {
            out.extend(found.iter().cloned());
        }
    }

    /// The values of relevant calculate fields, shaped like answers (members as a list of objects).
    pub(crate) fn calculated(&self) -> Answers {
        let mut out = Answers::new();
        for (id, info) in self.form.fields.iter().enumerate() {
            if info.kind != FieldType::Calculate {
                continue;
            }
            let Some(repeat) = info
                .repeat
                .and_then(|r| Some((r, self.form.fields.get(r)?)))
            else {
                let v = self.read(id, None);
                if !v.is_empty() {
                    out.insert(info.id.clone(), v.to_json());
                }
                continue;
            };
            let (r, repeat) = repeat;
            let count = self.member_count(r);
            if count == 0 {
                continue;
            }
            let members = out
                .entry(repeat.id.clone())
                .or_insert_with(|| Json::Array(vec![Json::Object(serde_json::Map::new()); count]));
            for i in 0..count {
                let v = self.read(id, Some(i));
                if let Some(m) = members.get_mut(i).and_then(Json::as_object_mut)
                    && !v.is_empty()
                {
                    m.insert(info.id.clone(), v.to_json());
                }
            }
        }
        out
    }

    /// What is exported of a visit: the relevant answers with the relevant calculated values beside them
    /// (members' calculated values inside their member objects). A hidden repeat stays out, whatever its
    /// members' calculations give.
    pub(crate) fn exported(&self) -> Answers {
        let mut out = self.relevant_answers();
        for (key, value) in self.calculated() {
            match value {
                Json::Array(calculated) => {
                    let Some(Json::Array(members)) = out.get_mut(&key) else {
                        continue;
                    };
                    for (member, values) in members.iter_mut().zip(calculated) {
                        if let (Json::Object(member), Json::Object(values)) = (member, values) {
                            member.extend(values);
                        }
                    }
                }
                value => {
                    out.insert(key, value);
                }
            }
        }
        out
    }

    /// The answers of relevant input fields only (what is exported).
    pub(crate) fn relevant_answers(&self) -> Answers {
        let mut out = Answers::new();
        for (key, value) in &self.answers {
            let Some(f) = self.form.field_by_id(key) else {
                continue;
            };
            let Some(info) = self.form.fields.get(f) else {
                continue;
            };
            if info.repeat.is_some() || !self.relevant(f, None) {
                continue;
            }
            if info.is_input() {
                out.insert(key.clone(), value.clone());
            } else if info.kind == FieldType::Repeat {
                let Some(members) = value.as_array() else {
                    continue;
                };
                let kept = members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let mut member = serde_json::Map::new();
                        for (k, v) in m.as_object().into_iter().flatten() {
                            let keep = self.form.field_by_id(k).is_some_and(|c| {
                                info.children.contains(&c)
                                    && self.form.fields.get(c).is_some_and(|ci| ci.is_input())
                                    && self.relevant(c, Some(i))
                            });
                            if keep {
                                member.insert(k.clone(), v.clone());
                            }
                        }
                        Json::Object(member)
                    })
                    .collect();
                out.insert(key.clone(), Json::Array(kept));
            }
        }
        out
    }
}
