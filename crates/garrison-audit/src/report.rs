//! Writing search results for people and tools: a table, JSON lines, CSV (RFC 4180), and the
//! subject-access report ("who looked at this person's data, when, why, and what did they see").

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::search::{Found, SearchFilter, search};
use crate::{AuditError, AuditRecord, Decision, PurposeHeader, SubjectKey};

const COLUMNS: [&str; 17] = [
    "seq",
    "time",
    "request_id",
    "consumer",
    "application",
    "client_cert_sha256",
    "source_addr",
    "api",
    "operation",
    "context",
    "policy_id",
    "correlation_id",
    "instigating_user_id",
    "access_level",
    "decision",
    "upstream_status",
    "disclosed_fields",
];

/// Every access to one person's data, oldest first.
#[derive(Clone, Debug)]
pub struct SubjectAccessReport {
    /// The matching records (allowed and refused), in chain order.
    pub accesses: Vec<Found>,
}

/// Finds every record about the person with `identifier`, under any of `keys`.
pub fn subject_access_report(
    dir: &Path,
    identifier: &str,
    keys: &[SubjectKey],
) -> Result<SubjectAccessReport, AuditError> {
    let filter = SearchFilter::default().subject(identifier, keys);
    Ok(SubjectAccessReport {
        accesses: search(dir, &filter)?,
    })
}

impl SubjectAccessReport {
    /// A readable report: one paragraph per access. The identifier is deliberately not printed.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "Accesses to this person's data: {}",
            self.accesses.len()
        )?;
        for f in &self.accesses {
            let r = &f.record;
            writeln!(out)?;
            writeln!(
                out,
                "{}  (record {}, request {})",
                r.time, f.seq, r.request_id
            )?;
            writeln!(
                out,
                "  who:    {} / {}",
                r.consumer.as_deref().unwrap_or("-"),
                r.application.as_deref().unwrap_or("-")
            )?;
            writeln!(out, "  what:   {} {}", r.api, r.operation)?;
            let why: Vec<String> = r
                .purpose
                .iter()
                .map(|(k, v)| format!("{}={v}", purpose_name(*k)))
                .collect();
            writeln!(out, "  why:    {}", or_dash(&why.join(", ")))?;
            writeln!(out, "  result: {}", decision_text(r))?;
            writeln!(out, "  fields: {}", or_dash(&r.disclosed_fields.join(", ")))?;
        }
        Ok(())
    }
}

/// Aligned columns for a terminal.
pub fn write_table(out: &mut impl Write, found: &[Found]) -> io::Result<()> {
    let rows: Vec<[String; 17]> = found.iter().map(row).collect();
    let mut widths = COLUMNS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> io::Result<()> {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", padded.join("  ").trim_end())
    };
    line(out, &COLUMNS)?;
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(out, &cells)?;
    }
    Ok(())
}

/// One JSON object per line: `{"seq":…,"record":{…}}`.
pub fn write_json_lines(out: &mut impl Write, found: &[Found]) -> io::Result<()> {
    #[derive(Serialize)]
    struct Line<'a> {
        seq: u64,
        record: &'a AuditRecord,
    }
    for f in found {
        serde_json::to_writer(
            &mut *out,
            &Line {
                seq: f.seq,
                record: &f.record,
            },
        )?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// CSV with a header row; fields quoted when they need it (RFC 4180), disclosed fields joined
/// with `;`.
pub fn write_csv(out: &mut impl Write, found: &[Found]) -> io::Result<()> {
    write_csv_row(out, &COLUMNS.map(str::to_owned))?;
    for f in found {
        write_csv_row(out, &row(f))?;
    }
    Ok(())
}

fn write_csv_row(out: &mut impl Write, cells: &[String]) -> io::Result<()> {
    let quoted: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    write!(out, "{}\r\n", quoted.join(","))
}

/// One cell as written. Purpose values come from the consumer's headers, and a report is likely
/// opened in a spreadsheet, which runs a cell starting `=`, `+`, `-` or `@` as a formula: such a
/// cell is written with a leading `'` (OWASP's advice on CSV injection). Then quoted as RFC 4180
/// needs.
fn csv_cell(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

fn row(f: &Found) -> [String; 17] {
    let r = &f.record;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let purpose = |h| r.purpose.get(&h).cloned().unwrap_or_default();
    [
        f.seq.to_string(),
        r.time.to_string(),
        r.request_id.clone(),
        opt(&r.consumer),
        opt(&r.application),
        opt(&r.client_cert_sha256),
        r.source_addr.map(|a| a.to_string()).unwrap_or_default(),
        r.api.clone(),
        r.operation.clone(),
        purpose(PurposeHeader::Context),
        purpose(PurposeHeader::PolicyId),
        purpose(PurposeHeader::CorrelationId),
        purpose(PurposeHeader::InstigatingUserId),
        purpose(PurposeHeader::AccessLevel),
        decision_text(r),
        r.upstream_status.map(|s| s.to_string()).unwrap_or_default(),
        r.disclosed_fields.join(";"),
    ]
}

fn decision_text(r: &AuditRecord) -> String {
    match &r.decision {
        Decision::Allowed => "allowed".to_owned(),
        Decision::Refused { reason } => format!("refused:{reason}"),
    }
}

fn purpose_name(h: PurposeHeader) -> &'static str {
    match h {
        PurposeHeader::Context => "context",
        PurposeHeader::PolicyId => "policy-id",
        PurposeHeader::CorrelationId => "correlation-id",
        PurposeHeader::InstigatingUserId => "instigating-user-id",
        PurposeHeader::AccessLevel => "access-level",
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_written_as_text() {
        assert_eq!(csv_cell("licence-application"), "licence-application");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for formula in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                csv_cell(formula).trim_start_matches('"').starts_with('\''),
                "{formula:?}"
            );
        }
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell(""), "");
    }
}
