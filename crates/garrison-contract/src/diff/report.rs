//! Diffing two contract files and reporting the outcome: text for people, a Markdown
//! changelog, JSON for tools, and the exit code.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Change, Level, diff};
use crate::LoadError;

/// The changes between two contract files.
#[derive(Debug)]
pub struct DiffReport {
    /// The old contract, as given.
    pub old: PathBuf,
    /// The new contract, as given.
    pub new: PathBuf,
    /// Every change, breaking first.
    pub changes: Vec<Change>,
}

/// Loads both contracts and compares them; the first that cannot be loaded is the error.
pub fn diff_files(old: &Path, new: &Path) -> Result<DiffReport, LoadError> {
    let (o, n) = (crate::load(old)?, crate::load(new)?);
    Ok(DiffReport {
        old: old.to_owned(),
        new: new.to_owned(),
        changes: diff(&o.document, &n.document),
    })
}

const GROUPS: [(Level, &str, &str); 3] = [
    (Level::Breaking, "Breaking changes", "breaking"),
    (Level::Warning, "Warnings", "warnings"),
    (Level::Info, "Other changes", "info"),
];

impl DiffReport {
    /// Changes of `level`.
    pub fn count(&self, level: Level) -> usize {
        self.changes.iter().filter(|c| c.level == level).count()
    }

    /// 1 if any change is at `fail_on` or worse (`Breaking` by default), else 0.
    pub fn exit_code(&self, fail_on: Level) -> u8 {
        u8::from(self.changes.iter().any(|c| c.level <= fail_on))
    }

    fn summary(&self) -> String {
        format!(
            "{} breaking, {} warning{}, {} info",
            self.count(Level::Breaking),
            self.count(Level::Warning),
            if self.count(Level::Warning) == 1 {
                ""
            } else {
                "s"
            },
            self.count(Level::Info)
        )
    }

    /// Grouped by level: `[level check-id] old|new:#/pointer: message`, then a summary.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} -> {}\n", self.old.display(), self.new.display());
        for (level, title, _) in GROUPS {
            let group: Vec<&Change> = self.changes.iter().filter(|c| c.level == level).collect();
            if group.is_empty() {
                continue;
            }
            out.push_str(&format!("{title}:\n"));
            for c in group {
                out.push_str(&format!(
                    "  [{} {}] {}:{}: {}\n",
                    c.level,
                    c.check,
                    c.side.as_str(),
                    c.pointer,
                    c.message
                ));
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// A changelog: `## Breaking changes`, `## Warnings`, `## Other changes`.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Changes from `{}` to `{}`\n\n{}\n",
            self.old.display(),
            self.new.display(),
            self.summary()
        );
        for (level, title, _) in GROUPS {
            out.push_str(&format!("\n## {title}\n\n"));
            let group: Vec<&Change> = self.changes.iter().filter(|c| c.level == level).collect();
            if group.is_empty() {
                out.push_str("None.\n");
            }
            for c in group {
                out.push_str(&format!(
                    "- **{}** {} (`{}` `{}`)\n",
                    c.check,
                    c.message.replace('\n', " "),
                    c.side.as_str(),
                    c.pointer
                ));
            }
        }
        out
    }

    /// `{"old", "new", "changes": [{"check", "level", "document", "pointer", "message"}],
    /// "summary": {"breaking", "warnings", "info"}}`.
    pub fn to_json(&self) -> Value {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                json!({
                    "check": c.check,
                    "level": c.level.as_str(),
                    "document": c.side.as_str(),
                    "pointer": c.pointer,
                    "message": c.message,
                })
            })
            .collect();
        let mut summary = serde_json::Map::new();
        for (level, _, key) in GROUPS {
            summary.insert(key.to_owned(), json!(self.count(level)));
        }
        json!({
            "old": self.old.display().to_string(),
            "new": self.new.display().to_string(),
            "changes": changes,
            "summary": summary,
        })
    }
}
