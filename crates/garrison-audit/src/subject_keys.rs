//! The subject-keys file: the keys a search or report hashes an identifier under.
//!
//! The format is plain text, one key a line, `key-id hex-secret`, separated by whitespace;
//! blank lines and lines starting with `#` are ignored:
//!
//! ```text
//! # garrison audit subject keys; chmod 600
//! 2026-01 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! 2025-07 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
//! ```
//!
//! List every key ever used for writing (the current one and the retired ones), so records
//! hashed before a rotation are found too. The file holds secrets: it should be readable by its
//! owner only (mode 0600), and [`read_subject_keys`] says so when it is not. Error messages
//! name the file and line, never a secret.

use std::fs;
use std::path::Path;

use zeroize::Zeroizing;

use crate::{AuditError, SubjectKey};

/// The keys read from a subject-keys file, and a warning to show if the file is too open.
#[derive(Debug)]
pub struct SubjectKeysFile {
    /// The keys, in file order.
    pub keys: Vec<SubjectKey>,
    /// Set when the file may be read by other users (its mode is not 0600 or stricter).
    pub permissions_warning: Option<String>,
}

/// Parses the text of a subject-keys file (see the module documentation for the format). At
/// least one key is required and key ids must be unique; an error names the 1-based line.
pub fn parse_subject_keys(text: &str) -> Result<Vec<SubjectKey>, AuditError> {
    let mut keys: Vec<SubjectKey> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(id), Some(secret), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(AuditError::SubjectKey(format!(
                "line {number}: expected `key-id hex-secret`"
            )));
        };
        if keys.iter().any(|k| k.id() == id) {
            return Err(AuditError::SubjectKey(format!(
                "line {number}: key id {id:?} appears twice"
            )));
        }
        let key = SubjectKey::from_hex(id, secret)
            .map_err(|e| AuditError::SubjectKey(format!("line {number}: {}", reason(&e))))?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(AuditError::SubjectKey(
            "no keys (expected lines of `key-id hex-secret`)".to_owned(),
        ));
    }
    Ok(keys)
}

/// Reads and parses the subject-keys file at `path`, and checks that only its owner may read
/// it (on Unix; elsewhere no warning is given).
pub fn read_subject_keys(path: &Path) -> Result<SubjectKeysFile, AuditError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?);
    let keys = parse_subject_keys(&text)
        .map_err(|e| AuditError::SubjectKey(format!("{}: {}", path.display(), reason(&e))))?;
    let permissions_warning = permissions_warning(path)?;
    Ok(SubjectKeysFile {
        keys,
        permissions_warning,
    })
}

/// The message of a subject-key error without its `subject key: ` prefix.
fn reason(e: &AuditError) -> String {
    match e {
        AuditError::SubjectKey(reason) => reason.clone(),
        other => other.to_string(),
    }
}

#[cfg(unix)]
fn permissions_warning(path: &Path) -> Result<Option<String>, AuditError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|e| AuditError::io(path, e))?
        .permissions()
        .mode();
    Ok((mode & 0o077 != 0).then(|| {
        format!(
            "subject-keys file {} is readable or writable by others (mode {:04o}); it holds secrets: chmod 600 it",
            path.display(),
            mode & 0o7777
        )
    }))
}

#[cfg(not(unix))]
fn permissions_warning(_path: &Path) -> Result<Option<String>, AuditError> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_A: &str = "0707070707070707070707070707070707070707070707070707070707070707";
    const SECRET_B: &str = "0808080808080808080808080808080808080808080808080808080808080808";

    #[test]
    fn parses_keys_skipping_comments_and_blank_lines() {
        let text = format!("# keys\n\n2026-01 {SECRET_A}\n  # retired:\n\t2025-07\t{SECRET_B}  \n");
        let keys = parse_subject_keys(&text).unwrap();
        let ids: Vec<&str> = keys.iter().map(SubjectKey::id).collect();
        assert_eq!(ids, ["2026-01", "2025-07"]);
        let expected = SubjectKey::from_hex("2026-01", SECRET_A).unwrap();
        assert_eq!(keys[0].hash("AB123456C"), expected.hash("AB123456C"));
    }

    #[test]
    fn errors_name_the_line_and_never_the_secret() {
        let cases = [
            (format!("k1 {SECRET_A} extra\n"), "line 1: expected"),
            ("k1\n".to_owned(), "line 1: expected"),
            (
                format!("# c\nk1 {SECRET_A}\nk1 {SECRET_B}\n"),
                "line 3: key id \"k1\" appears twice",
            ),
            ("k1 0707\n".to_owned(), "line 1: key k1: secret is 2 bytes"),
            (
                format!("k1 {}zz\n", &SECRET_A[..62]),
                "line 1: secret is not hex",
            ),
            (format!("a/b {SECRET_A}\n"), "line 1: key id \"a/b\""),
            ("# nothing\n".to_owned(), "no keys"),
        ];
        for (text, want) in cases {
            let err = parse_subject_keys(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains("070707") && !err.contains("080808"), "{err}");
        }
    }

    #[test]
    fn reading_a_file_warns_when_others_may_read_it() {
        let dir = std::env::temp_dir().join(format!(
            "garrison-audit-subject-keys-{}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("subject-keys");
        fs::write(&path, format!("k1 {SECRET_A}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let loaded = read_subject_keys(&path).unwrap();
            assert_eq!(loaded.keys.len(), 1);
            let warning = loaded.permissions_warning.unwrap();
            assert!(
                warning.contains("mode 0644") && warning.contains("chmod 600"),
                "{warning}"
            );
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let loaded = read_subject_keys(&path).unwrap();
        assert!(loaded.permissions_warning.is_none());

        fs::write(&path, "k1 nothex\n").unwrap();
        let err = read_subject_keys(&path).unwrap_err().to_string();
        assert!(err.contains("subject-keys: line 1"), "{err}");
        let missing = read_subject_keys(&dir.join("absent")).unwrap_err();
        assert!(matches!(missing, AuditError::Io { .. }));
        fs::remove_dir_all(&dir).unwrap();
    }
}
