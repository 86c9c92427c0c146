//! Writing a store: [`Store::build`] and the [`Loader`] under it.
//!
//! A new file is written with durability off (`journal_mode=OFF`, `synchronous=OFF`: a crash
//! mid-build leaves only a temporary file, never a half store at the destination) in large
//! transactions of prepared, multi-row inserts; the secondary indexes are built once loading
//! is done, then the file is renamed into place.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rusqlite::{Connection, OpenFlags, params};

use crate::benefits::EARNINGS_MONTHS;
use crate::generate::{Population, Sink};
use crate::model::{Citizen, Sex, normalise_name};
use crate::store::{SCHEMA_VERSION, sql};
use crate::{CitizenError, Date, Store};

/// Awards written per multi-row insert (a Universal Credit claim has up to 24).
const AWARDS_CHUNK: usize = 8;

/// People per transaction (and per batch handed from the generator thread).
const BATCH: u64 = 20_000;

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    household_id INTEGER NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    last_name_key TEXT NOT NULL,
    date_of_birth INTEGER NOT NULL,
    date_of_death INTEGER,
    nino_stem TEXT NOT NULL,
    nino_suffix TEXT NOT NULL,
    sex TEXT
);
CREATE TABLE parents (
    parent_id INTEGER NOT NULL,
    child_id INTEGER NOT NULL,
    PRIMARY KEY (parent_id, child_id)
) WITHOUT ROWID;
CREATE TABLE addresses (
    person_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    lines TEXT NOT NULL,
    town TEXT NOT NULL,
    postcode TEXT NOT NULL,
    from_date INTEGER NOT NULL,
    to_date INTEGER,
    PRIMARY KEY (person_id, seq)
) WITHOUT ROWID;
CREATE TABLE claims (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL,
    benefit TEXT NOT NULL,
    start_date INTEGER NOT NULL,
    end_date INTEGER,
    status TEXT NOT NULL
);
CREATE TABLE awards (
    claim_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    start_date INTEGER NOT NULL,
    end_date INTEGER,
    amount_pence INTEGER NOT NULL,
    take_home_pay_pence INTEGER,
    PRIMARY KEY (claim_id, seq)
) WITHOUT ROWID;
CREATE TABLE earnings (
    person_id INTEGER NOT NULL,
    month INTEGER NOT NULL,
    pence INTEGER NOT NULL,
    PRIMARY KEY (person_id, month)
) WITHOUT ROWID;
";

// Built after loading: one sort per index instead of a B-tree insert per row.
const INDEXES: &str = "
CREATE INDEX people_by_name_dob ON people (last_name_key, date_of_birth);
CREATE UNIQUE INDEX people_by_nino ON people (nino_stem);
CREATE INDEX claims_by_person ON claims (person_id, benefit);
";

/// Counts reported by [`Store::build`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildSummary {
    /// People written.
    pub people: u64,
    /// Address rows written.
    pub addresses: u64,
    /// Claims written.
    pub claims: u64,
    /// Awards written.
    pub awards: u64,
    /// Earnings rows written.
    pub earnings: u64,
    /// The size of the finished file, in bytes.
    pub file_bytes: u64,
}
// === impl Store (building) ===

impl Store {
    /// Generates `people` people of `population` into a new store at `path`, replacing any
    /// file there once the new one is complete. `progress` is called with the number of
    /// people written so far after each batch.
    ///
    /// Generation runs on a second thread, so drawing people and writing them overlap.
    pub fn build(
        path: &Path,
        population: Population,
        people: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<BuildSummary, CitizenError> {
        if people > crate::MAX_PEOPLE {
            return Err(CitizenError::TooManyPeople {
                requested: people,
                max: crate::MAX_PEOPLE,
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| CitizenError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let mut temp = path.as_os_str().to_owned();
        temp.push(".building");
        let temp = PathBuf::from(temp);
        remove_if_present(&temp)?;

        let mut loader = Loader::create(&temp)?;
        let (tx, rx) = mpsc::sync_channel::<Vec<Citizen>>(4);
        let loaded = std::thread::scope(|scope| {
            let generator = scope.spawn(move || -> Result<(), CitizenError> {
                let mut start = 1;
                while start <= people {
                    let end = (start + BATCH).min(people + 1);
                    let mut batch = Vec::with_capacity((end - start) as usize);
                    population.generate_range(start..end, &mut batch)?;
                    if tx.send(batch).is_err() {
                        // The writer stopped; its error is the one to report.
                        break;
                    }
                    start = end;
                }
                Ok(())
            });
            let written = (|| {
                for batch in rx.iter() {
                    loader.write_batch(batch)?;
                    progress(loader.summary.people);
                }
                Ok::<(), CitizenError>(())
            })();
            // If writing failed, the generator may be blocked sending the next batch: dropping
            // the receiver makes that send fail, so the join below cannot wait forever.
            drop(rx);
            let generated = generator
                .join()
                .map_err(|_| CitizenError::Generation("the generator thread panicked".into()))?;
            written.and(generated)
        });
        let finished = loaded.and_then(|()| loader.finish(population, people));
        let mut summary = match finished {
            Ok(summary) => summary,
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(e);
            }
        };
        std::fs::rename(&temp, path).map_err(|source| CitizenError::Io {
            path: path.to_owned(),
            source,
        })?;
        summary.file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        Ok(summary)
    }
}

/// Writes citizens into a new store file; also usable as a [`Sink`] directly (without the
/// second thread [`Store::build`] uses).
pub struct Loader {
    conn: Connection,
    path: PathBuf,
    summary: BuildSummary,
    in_transaction: u64,
}

// === impl Loader ===

impl Loader {
    /// Creates the file (which must not exist) with the schema, tuned for bulk loading.
    pub fn create(path: &Path) -> Result<Loader, CitizenError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(sql(path))?;
        // A build is all or nothing (it ends in a rename), so the journal and fsyncs buy
        // nothing while loading. Temporary storage stays on disk: the index sorts of a large
        // population would otherwise hold gigabytes in memory.
        conn.execute_batch(
            "PRAGMA page_size = 8192;
             PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA cache_size = -131072;",
        )
        .map_err(sql(path))?;
        conn.execute_batch(SCHEMA).map_err(sql(path))?;
        Ok(Loader {
            conn,
            path: path.to_owned(),
            summary: BuildSummary::default(),
            in_transaction: 0,
        })
    }

    /// Writes a batch of citizens in one transaction.
    pub fn write_batch(&mut self, batch: Vec<Citizen>) -> Result<(), CitizenError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(sql(&path))?;
        {
            let mut writer = Statements::prepare(&tx).map_err(sql(&path))?;
            for citizen in &batch {
                writer
                    .write(citizen, &mut self.summary)
                    .map_err(sql(&path))?;
            }
        }
        tx.commit().map_err(sql(&path))
    }

    /// Builds the indexes, records the population's metadata and closes the file.
    pub fn finish(
        mut self,
        population: Population,
        people: u64,
    ) -> Result<BuildSummary, CitizenError> {
        self.flush()?;
        let path = self.path.clone();
        self.conn.execute_batch(INDEXES).map_err(sql(&path))?;
        let meta = [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("seed", population.seed().to_string()),
            ("people", people.to_string()),
            ("as_of", population.as_of().to_string()),
        ];
        for (key, value) in meta {
            self.conn
                .execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    [key, &value],
                )
                .map_err(sql(&path))?;
        }
        self.conn
            .execute_batch("PRAGMA journal_mode = DELETE; PRAGMA locking_mode = NORMAL;")
            .map_err(sql(&path))?;
        let summary = self.summary;
        self.conn
            .close()
            .map_err(|(_, source)| CitizenError::Store { path, source })?;
        Ok(summary)
    }

    fn flush(&mut self) -> Result<(), CitizenError> {
        if self.in_transaction > 0 {
            self.conn.execute_batch("COMMIT").map_err(sql(&self.path))?;
            self.in_transaction = 0;
        }
        Ok(())
    }
}

impl Sink for Loader {
    fn accept(&mut self, citizen: Citizen) -> Result<(), CitizenError> {
        if self.in_transaction == 0 {
            self.conn.execute_batch("BEGIN").map_err(sql(&self.path))?;
        }
        {
            let mut writer = Statements::prepare(&self.conn).map_err(sql(&self.path))?;
            writer
                .write(&citizen, &mut self.summary)
                .map_err(sql(&self.path))?;
        }
        self.in_transaction += 1;
        if self.in_transaction >= BATCH {
            self.flush()?;
        }
        Ok(())
    }
}

/// The prepared inserts, one per table.
struct Statements<'c> {
    person: rusqlite::CachedStatement<'c>,
    parent: rusqlite::CachedStatement<'c>,
    address: rusqlite::CachedStatement<'c>,
    claim: rusqlite::CachedStatement<'c>,
    award: rusqlite::CachedStatement<'c>,
    earnings: rusqlite::CachedStatement<'c>,
    /// [`AWARDS_CHUNK`] awards in one statement.
    awards_chunk: rusqlite::CachedStatement<'c>,
    /// A full year of earnings in one statement: earnings are half the rows, and one
    /// statement per person instead of twelve halves the time spent loading them.
    earnings_year: rusqlite::CachedStatement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Statements {
            person: conn.prepare_cached(
                "INSERT INTO people VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?,
            parent: conn.prepare_cached("INSERT INTO parents VALUES (?1, ?2)")?,
            address: conn
                .prepare_cached("INSERT INTO addresses VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
            claim: conn.prepare_cached("INSERT INTO claims VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            award: conn.prepare_cached("INSERT INTO awards VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            earnings: conn.prepare_cached("INSERT INTO earnings VALUES (?1, ?2, ?3)")?,
            awards_chunk: conn.prepare_cached(&format!(
                "INSERT INTO awards VALUES {}",
                ["(?, ?, ?, ?, ?, ?)"; AWARDS_CHUNK].join(", ")
            ))?,
            earnings_year: conn.prepare_cached(&format!(
                "INSERT INTO earnings VALUES {}",
                ["(?, ?, ?)"; EARNINGS_MONTHS as usize].join(", ")
            ))?,
        })
    }

    fn write(&mut self, c: &Citizen, summary: &mut BuildSummary) -> rusqlite::Result<()> {
        let p = &c.person;
        let id = p.id as i64;
        let stem = p.nino.stem();
        let mut suffix = [0u8; 4];
        self.person.execute(params![
            id,
            p.household as i64,
            p.first_name,
            p.last_name,
            normalise_name(&p.last_name),
            p.date_of_birth.days(),
            p.date_of_death.map(Date::days),
            stem,
            &*p.nino.suffix().encode_utf8(&mut suffix),
            p.sex.map(Sex::code),
        ])?;
        for &parent in &c.parents {
            self.parent.execute(params![parent as i64, id])?;
        }
        for (seq, a) in c.addresses.iter().enumerate() {
            self.address.execute(params![
                id,
                seq as i64,
                a.lines.join("\n"),
                a.town,
                a.postcode.as_str(),
                a.from.days(),
                a.to.map(Date::days),
            ])?;
        }
        for claim in &c.claims {
            self.claim.execute(params![
                claim.id as i64,
                id,
                claim.benefit.as_str(),
                claim.start.days(),
                claim.end.map(Date::days),
                claim.status.as_str(),
            ])?;
            let mut chunks = claim.awards.chunks_exact(AWARDS_CHUNK);
            let mut seq = 0;
            for chunk in &mut chunks {
                for (n, award) in chunk.iter().enumerate() {
                    let stmt = &mut self.awards_chunk;
                    stmt.raw_bind_parameter(6 * n + 1, claim.id as i64)?;
                    stmt.raw_bind_parameter(6 * n + 2, seq)?;
                    stmt.raw_bind_parameter(6 * n + 3, award.start.days())?;
                    stmt.raw_bind_parameter(6 * n + 4, award.end.map(Date::days))?;
                    stmt.raw_bind_parameter(6 * n + 5, award.amount_pence)?;
                    stmt.raw_bind_parameter(6 * n + 6, award.take_home_pay_pence)?;
                    seq += 1;
                }
                self.awards_chunk.raw_execute()?;
            }
            for award in chunks.remainder() {
                self.award.execute(params![
                    claim.id as i64,
                    seq,
                    award.start.days(),
                    award.end.map(Date::days),
                    award.amount_pence,
                    award.take_home_pay_pence,
                ])?;
                seq += 1;
            }
            summary.awards += claim.awards.len() as u64;
        }
        if c.earnings.len() == EARNINGS_MONTHS as usize {
            for (n, e) in c.earnings.iter().enumerate() {
                self.earnings_year.raw_bind_parameter(3 * n + 1, id)?;
                self.earnings_year
                    .raw_bind_parameter(3 * n + 2, e.month.index())?;
                self.earnings_year.raw_bind_parameter(3 * n + 3, e.pence)?;
            }
            self.earnings_year.raw_execute()?;
        } else {
            for e in &c.earnings {
                self.earnings
                    .execute(params![id, e.month.index(), e.pence])?;
            }
        }
        summary.people += 1;
        summary.addresses += c.addresses.len() as u64;
        summary.claims += c.claims.len() as u64;
        summary.earnings += c.earnings.len() as u64;
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> Result<(), CitizenError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CitizenError::Io {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}
