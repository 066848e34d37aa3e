//! Jobs → poll → report: what a poll found, per source and in total, and
//! the table `psi-radar poll` prints.

use crate::domain::{CallRef, Lang};
use serde::Serialize;
use std::fmt;

/// What one source gave in a poll.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    /// Why the source failed (or was skipped while backing off).
    pub error: Option<String>,
    /// Body bytes received (0 when every answer was 304).
    pub bytes: u64,
    /// What was not read although the source was: links out of the
    /// source's scope, items beyond a listing page's cap.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a poll found, per source and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    pub sources: Vec<SourceReport>,
    pub new: Vec<CallRef>,
    pub changed: Vec<CallRef>,
    /// Known calls a further source now lists too (their translation may have grown).
    pub merged: Vec<CallRef>,
}

impl PollReport {
    pub fn failed(&self) -> impl Iterator<Item = &SourceReport> {
        self.sources.iter().filter(|s| s.error.is_some())
    }

    pub fn bytes(&self) -> u64 {
        self.sources.iter().map(|s| s.bytes).sum()
    }

    /// The table `psi-radar poll` prints, in `lang`.
    pub fn table(&self, lang: Lang) -> String {
        let w = self.sources.iter().map(|s| s.name.chars().count()).max().unwrap_or(5).max(5);
        let mut t = format!(
            "{:<w$}  {:>5}  {:>7}  {:>9}  {:>9}  status\n",
            lang.pick("källa", "source"),
            lang.pick("nya", "new"),
            lang.pick("ändrade", "changed"),
            lang.pick("oförändr.", "unchanged"),
            lang.pick("byte", "bytes")
        );
        for s in &self.sources {
            let status = s.error.as_deref().map_or("ok".to_string(), |e| format!("{}: {e}", lang.pick("FEL", "FAILED")));
            t.push_str(&format!("{:<w$}  {:>5}  {:>7}  {:>9}  {:>9}  {status}\n", s.name, s.new, s.changed, s.unchanged, s.bytes));
            for warning in &s.warnings {
                t.push_str(&format!("    {}: {warning}\n", lang.pick("varning", "warning")));
            }
        }
        let (n, c, f) = (self.new.len(), self.changed.len(), self.failed().count());
        t.push_str(&match lang {
            Lang::Sv => format!("totalt: {n} nya, {c} ändrade, {f} källor med fel"),
            Lang::En => format!("total: {n} new, {c} changed, {f} sources failed"),
        });
        t
    }
}

impl fmt::Display for PollReport {
    /// The table `psi-radar poll` prints (Swedish; see [`PollReport::table`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table(Lang::Sv))
    }
}
