//! Linting many files and reporting the outcome: text for people, JSON for tools, and the
//! exit code (0 clean or only warnings, 1 an error-severity finding, 2 a contract that does
//! not load).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Finding, RuleSet, Severity, lint};
use crate::LoadError;

/// The outcome for one file.
#[derive(Debug)]
pub struct FileReport {
    /// The file, as given.
    pub file: PathBuf,
    /// Its findings, or why it could not be loaded.
    pub outcome: Result<Vec<Finding>, LoadError>,
}

/// The outcome for every file linted.
#[derive(Debug)]
pub struct LintReport {
    /// One entry per file, in the order given.
    pub files: Vec<FileReport>,
}

/// Loads and lints each of `files`.
pub fn lint_files(files: &[PathBuf], rules: &RuleSet) -> LintReport {
    LintReport {
        files: files
            .iter()
            .map(|file| FileReport {
                file: file.clone(),
                outcome: crate::load(file).map(|contract| lint(&contract, rules)),
            })
            .collect(),
    }
}

impl LintReport {
    /// Findings of `severity` across all files.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings()
            .filter(|(_, f)| f.severity == severity)
            .count()
    }

    /// Files that could not be loaded.
    pub fn unloadable(&self) -> usize {
        self.files.iter().filter(|f| f.outcome.is_err()).count()
    }

    fn findings(&self) -> impl Iterator<Item = (&PathBuf, &Finding)> {
        self.files.iter().flat_map(|f| {
            f.outcome
                .iter()
                .flatten()
                .map(move |finding| (&f.file, finding))
        })
    }

    /// 2 if a contract could not be loaded, else 1 if any finding is an error, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.unloadable() > 0 {
            2
        } else if self.count(Severity::Error) > 0 {
            1
        } else {
            0
        }
    }

    /// One line per finding, `file: pointer: [severity rule-id] message`, then a summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            match &file.outcome {
                Ok(findings) => {
                    for f in findings {
                        out.push_str(&format!(
                            "{}: {}: [{} {}] {}\n",
                            file.file.display(),
                            f.pointer,
                            f.severity,
                            f.rule,
                            f.message
                        ));
                    }
                }
                Err(e) => out.push_str(&format!("{e}\n")),
            }
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        out.push_str(&format!(
            "{}: {}, {}, {} info",
            plural(self.files.len(), "file"),
            plural(self.count(Severity::Error), "error"),
            plural(self.count(Severity::Warning), "warning"),
            self.count(Severity::Info),
        ));
        if self.unloadable() > 0 {
            out.push_str(&format!(", {} not loaded", self.unloadable()));
        }
        out.push('\n');
        out
    }

    /// `{"files": [{"file", "loaded", "error"?, "findings": [{"rule", "severity",
    /// "pointer", "message"}]}], "summary": {"errors", "warnings", "info", "unloadable"}}`.
    pub fn to_json(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|file| match &file.outcome {
                Ok(findings) => json!({
                    "file": file.file.display().to_string(),
                    "loaded": true,
                    "findings": findings.iter().map(|f| json!({
                        "rule": f.rule,
                        "severity": f.severity.as_str(),
                        "pointer": f.pointer,
                        "message": f.message,
                    })).collect::<Vec<_>>(),
                }),
                Err(e) => json!({
                    "file": file.file.display().to_string(),
                    "loaded": false,
                    "error": {"pointer": e.pointer(), "message": e.to_string()},
                    "findings": [],
                }),
            })
            .collect();
        json!({
            "files": files,
            "summary": {
                "errors": self.count(Severity::Error),
                "warnings": self.count(Severity::Warning),
                "info": self.count(Severity::Info),
                "unloadable": self.unloadable(),
            }
        })
    }
}
