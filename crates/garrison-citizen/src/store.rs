//! The embedded store: one SQLite file holding a generated population.
//!
//! Dates are stored as integer days since 1970-01-01 and months as months since January of
//! year 0 (see [`Date`] and [`Month`]): compact, and compared as integers by the indexes.
//! Rows are clustered by person id (every table's key starts with it, or grows with it), so
//! reading everything about one person touches few pages.
//!
//! Writing a store is in [`crate::load`]; this module reads one.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use crate::model::{
    Address, Award, BenefitType, Claim, ClaimStatus, Earnings, Household, Person, PersonId, Sex,
    normalise_name,
};
use crate::{CitizenError, Date, Month, Nino, Postcode};

/// The schema version written into `meta`; a store of another version is refused.
pub const SCHEMA_VERSION: u32 = 1;

/// What a store file records about the population it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The generator's seed.
    pub seed: u64,
    /// How many people (ids 1 to `people`).
    pub people: u64,
    /// The date the population is as of.
    pub as_of: Date,
}

/// A population store opened for reading.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    meta: Meta,
}

// === impl Store ===

impl Store {
    /// Opens a store read-only.
    pub fn open(path: &Path) -> Result<Store, CitizenError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(sql(path))?;
        let meta = read_meta(&conn, path)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            meta,
        })
    }

    /// What the file records about its population.
    pub fn meta(&self) -> Meta {
        self.meta
    }

    /// The people with this last name (compared letters-only, ignoring case) and date of
    /// birth, by id.
    pub fn find_by_name_dob(&self, last: &str, dob: Date) -> Result<Vec<Person>, CitizenError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM people \
                 WHERE last_name_key = ?1 AND date_of_birth = ?2 ORDER BY id"
            ))
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map(params![normalise_name(last), dob.days()], person_row)
            .map_err(sql(&self.path))?;
        self.collect(rows)
    }

    /// The person with this NI number; the suffix is ignored, as it is no part of the
    /// identity.
    pub fn find_by_nino(&self, nino: &Nino) -> Result<Option<Person>, CitizenError> {
        self.one_person("nino_stem = ?1", nino.stem())
    }

    /// The person with this id.
    pub fn person(&self, id: PersonId) -> Result<Option<Person>, CitizenError> {
        self.one_person("id = ?1", id as i64)
    }

    /// Where the person lives now: the address with no end date (`None` for someone who has
    /// died, whose last address ends on the date of death).
    pub fn current_address(&self, id: PersonId) -> Result<Option<Address>, CitizenError> {
        Ok(self
            .addresses(id)?
            .into_iter()
            .rev()
            .find(|a| a.to.is_none()))
    }

    /// Every address of the person, oldest first.
    pub fn addresses(&self, id: PersonId) -> Result<Vec<Address>, CitizenError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT person_id, lines, town, postcode, from_date, to_date FROM addresses \
                 WHERE person_id = ?1 ORDER BY seq",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([id as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i32>(4)?,
                    r.get::<_, Option<i32>>(5)?,
                ))
            })
            .map_err(sql(&self.path))?;
        let mut out = Vec::new();
        for row in rows {
            let (person, lines, town, postcode, from, to) = row.map_err(sql(&self.path))?;
            let postcode =
                Postcode::from_stored(postcode).ok_or_else(|| self.corrupt("a bad postcode"))?;
            out.push(Address {
                person: person as u64,
                lines: lines.split('\n').map(str::to_owned).collect(),
                town,
                postcode,
                from: Date::from_days(from),
                to: to.map(Date::from_days),
            });
        }
        Ok(out)
    }

    /// The person's claims, with their awards, oldest first: only claims of `benefit` (when
    /// given) that overlap the range from `from` to `to` (each bound optional, inclusive);
    /// awards are likewise those overlapping the range.
    pub fn claims(
        &self,
        id: PersonId,
        benefit: Option<BenefitType>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<Claim>, CitizenError> {
        let (lo, hi) = (
            from.map_or(i32::MIN, Date::days),
            to.map_or(i32::MAX, Date::days),
        );
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, person_id, benefit, start_date, end_date, status FROM claims \
                 WHERE person_id = ?1 AND (?2 IS NULL OR benefit = ?2) \
                 AND start_date <= ?4 AND (end_date IS NULL OR end_date >= ?3) \
                 ORDER BY start_date, id",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map(
                params![id as i64, benefit.map(BenefitType::as_str), lo, hi],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i32>(3)?,
                        r.get::<_, Option<i32>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .map_err(sql(&self.path))?;
        let mut claims = Vec::new();
        for row in rows {
            let (claim_id, person, benefit, start, end, status) = row.map_err(sql(&self.path))?;
            claims.push(Claim {
                id: claim_id as u64,
                person: person as u64,
                benefit: BenefitType::parse(&benefit)
                    .ok_or_else(|| self.corrupt("an unknown benefit type"))?,
                start: Date::from_days(start),
                end: end.map(Date::from_days),
                status: ClaimStatus::parse(&status)
                    .ok_or_else(|| self.corrupt("an unknown claim status"))?,
                awards: Vec::new(),
            });
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT start_date, end_date, amount_pence, take_home_pay_pence FROM awards \
                 WHERE claim_id = ?1 AND start_date <= ?3 \
                 AND (end_date IS NULL OR end_date >= ?2) ORDER BY seq",
            )
            .map_err(sql(&self.path))?;
        for claim in &mut claims {
            let rows = stmt
                .query_map(params![claim.id as i64, lo, hi], |r| {
                    Ok(Award {
                        start: Date::from_days(r.get(0)?),
                        end: r.get::<_, Option<i32>>(1)?.map(Date::from_days),
                        amount_pence: r.get(2)?,
                        take_home_pay_pence: r.get(3)?,
                    })
                })
                .map_err(sql(&self.path))?;
            claim.awards = rows.collect::<Result<_, _>>().map_err(sql(&self.path))?;
        }
        Ok(claims)
    }

    /// The person's take-home pay for each month from `from` to `to` inclusive that has any.
    pub fn earnings(
        &self,
        id: PersonId,
        from: Month,
        to: Month,
    ) -> Result<Vec<Earnings>, CitizenError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT month, pence FROM earnings \
                 WHERE person_id = ?1 AND month BETWEEN ?2 AND ?3 ORDER BY month",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map(params![id as i64, from.index(), to.index()], |r| {
                Ok(Earnings {
                    person: id,
                    month: Month::from_index(r.get(0)?),
                    pence: r.get(1)?,
                })
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// The person's children (people with a parent link to them), by id.
    pub fn children(&self, id: PersonId) -> Result<Vec<Person>, CitizenError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM parents JOIN people ON people.id = child_id \
                 WHERE parent_id = ?1 ORDER BY child_id"
            ))
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([id as i64], person_row)
            .map_err(sql(&self.path))?;
        self.collect(rows)
    }

    /// The household with this id (its first member's id), if there is one.
    pub fn household(&self, id: PersonId) -> Result<Option<Household>, CitizenError> {
        // A household lives inside one block of ids, so its members are within BLOCK ids of
        // its first, and so are their parents: range scans of primary keys, no index needed.
        let last = (id + crate::generate::BLOCK) as i64;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM people WHERE id BETWEEN ?1 AND ?2 AND household_id = ?1 \
                 ORDER BY id",
            )
            .map_err(sql(&self.path))?;
        let members: Vec<u64> = stmt
            .query_map(params![id as i64, last], |r| r.get::<_, i64>(0))
            .map_err(sql(&self.path))?
            .map(|r| r.map(|m| m as u64))
            .collect::<Result<_, _>>()
            .map_err(sql(&self.path))?;
        if members.is_empty() {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT child_id FROM parents WHERE parent_id BETWEEN ?1 AND ?2")
            .map_err(sql(&self.path))?;
        let children: Vec<u64> = stmt
            .query_map(params![id as i64, last], |r| r.get::<_, i64>(0))
            .map_err(sql(&self.path))?
            .map(|r| r.map(|m| m as u64))
            .collect::<Result<_, _>>()
            .map_err(sql(&self.path))?;
        let (children, adults) = members.into_iter().partition(|m| children.contains(m));
        Ok(Some(Household {
            id,
            adults,
            children,
        }))
    }

    fn one_person(
        &self,
        condition: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<Option<Person>, CitizenError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM people WHERE {condition}"
            ))
            .map_err(sql(&self.path))?;
        let found = stmt
            .query_row([value], person_row)
            .optional()
            .map_err(sql(&self.path))?;
        found.map(|p| self.checked(p)).transpose()
    }

    fn collect(
        &self,
        rows: impl Iterator<Item = rusqlite::Result<RawPerson>>,
    ) -> Result<Vec<Person>, CitizenError> {
        rows.map(|row| self.checked(row.map_err(sql(&self.path))?))
            .collect()
    }

    fn checked(&self, raw: RawPerson) -> Result<Person, CitizenError> {
        raw.into_person()
            .ok_or_else(|| self.corrupt("a person with a malformed field"))
    }

    fn corrupt(&self, what: &str) -> CitizenError {
        CitizenError::NotAStore {
            path: self.path.clone(),
            reason: format!("it holds {what}"),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

const PERSON_COLUMNS: &str = "people.id, household_id, first_name, last_name, date_of_birth, \
     date_of_death, nino_stem, nino_suffix, sex";

/// A person row before its fields are checked.
struct RawPerson {
    id: i64,
    household: i64,
    first_name: String,
    last_name: String,
    dob: i32,
    dod: Option<i32>,
    nino_stem: String,
    nino_suffix: String,
    sex: Option<String>,
}

impl RawPerson {
    fn into_person(self) -> Option<Person> {
        let nino = Nino::parse(&format!("{}{}", self.nino_stem, self.nino_suffix)).ok()?;
        let sex = match self.sex {
            Some(code) => Some(Sex::from_code(&code)?),
            None => None,
        };
        Some(Person {
            id: u64::try_from(self.id).ok()?,
            household: u64::try_from(self.household).ok()?,
            first_name: self.first_name,
            last_name: self.last_name,
            date_of_birth: Date::from_days(self.dob),
            date_of_death: self.dod.map(Date::from_days),
            nino,
            sex,
        })
    }
}

fn person_row(r: &Row<'_>) -> rusqlite::Result<RawPerson> {
    Ok(RawPerson {
        id: r.get(0)?,
        household: r.get(1)?,
        first_name: r.get(2)?,
        last_name: r.get(3)?,
        dob: r.get(4)?,
        dod: r.get(5)?,
        nino_stem: r.get(6)?,
        nino_suffix: r.get(7)?,
        sex: r.get(8)?,
    })
}

fn read_meta(conn: &Connection, path: &Path) -> Result<Meta, CitizenError> {
    let not_a_store = |reason: &str| CitizenError::NotAStore {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let value = |key: &str| -> Result<String, CitizenError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|_| not_a_store("it has no meta table"))?
            .ok_or_else(|| not_a_store(&format!("its meta table has no {key}")))
    };
    let version = value("schema_version")?;
    if version != SCHEMA_VERSION.to_string() {
        return Err(not_a_store(&format!(
            "schema version {version}, expected {SCHEMA_VERSION}"
        )));
    }
    Ok(Meta {
        seed: value("seed")?
            .parse()
            .map_err(|_| not_a_store("its seed is not a number"))?,
        people: value("people")?
            .parse()
            .map_err(|_| not_a_store("its size is not a number"))?,
        as_of: Date::parse(&value("as_of")?).map_err(|_| not_a_store("its as_of is not a date"))?,
    })
}

pub(crate) fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> CitizenError + '_ {
    move |source| CitizenError::Store {
        path: path.to_owned(),
        source,
    }
}
