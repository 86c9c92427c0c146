//! The generator: a deterministic synthetic population.
//!
//! Ids are dealt in blocks of [`BLOCK`] consecutive people; a block is filled with whole
//! households (a household never straddles two blocks, so parent links stay inside one) and
//! is drawn from its own PRNG seeded with `mix(seed, block)`. Anything about person `id` is
//! therefore a function of the seed and `id`'s block alone: the output is the same however
//! the id range is chunked, and a population of N people is a prefix of any larger one with
//! the same seed.

use std::ops::Range;

use fastrand::Rng;

use crate::benefits::{self, HouseholdFacts};
use crate::model::{Address, Citizen, Person, PersonId, Sex};
use crate::names::{
    FEMALE_NAMES, LAST_NAMES, MALE_NAMES, STREET_KINDS, STREETS, SURNAME_ENDINGS, SURNAME_STEMS,
    TOWNS,
};
use crate::nino::NINO_SPACE;
use crate::{CitizenError, Date, Nino, Postcode};

/// The seed used when none is given: 5 July 1948, the day the NHS and National Insurance
/// began.
pub const DEFAULT_SEED: u64 = 19_480_705;

/// The date the default population is "as of": ages, open claims and the last earnings are
/// relative to it, so a population does not change with the day it is generated.
pub const AS_OF: Date = Date::from_ymd_const(2026, 11, 1);

/// The most people a population can hold: one NI number each.
pub const MAX_PEOPLE: u64 = NINO_SPACE;

/// People per block of the id space; a household never straddles two blocks.
pub const BLOCK: u64 = 8;

/// State pension age.
pub(crate) const PENSION_AGE: i32 = 66;

/// Where generated citizens go.
pub trait Sink {
    /// Takes one citizen; an error stops the generation.
    fn accept(&mut self, citizen: Citizen) -> Result<(), CitizenError>;
}

impl Sink for Vec<Citizen> {
    fn accept(&mut self, citizen: Citizen) -> Result<(), CitizenError> {
        self.push(citizen);
        Ok(())
    }
}

impl<F: FnMut(Citizen) -> Result<(), CitizenError>> Sink for F {
    fn accept(&mut self, citizen: Citizen) -> Result<(), CitizenError> {
        self(citizen)
    }
}

/// Generates people 1 to `people` of the population with this seed (as of [`AS_OF`]) into
/// `sink`, in id order.
pub fn generate(people: u64, seed: u64, sink: &mut impl Sink) -> Result<(), CitizenError> {
    Population::new(seed).generate_range(1..people.saturating_add(1), sink)
}

/// A population: a seed and the date it is as of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Population {
    seed: u64,
    as_of: Date,
}

// === impl Population ===

impl Population {
    /// The population with this seed, as of [`AS_OF`].
    pub fn new(seed: u64) -> Self {
        Population { seed, as_of: AS_OF }
    }

    /// The same population as of another date.
    pub fn with_as_of(self, as_of: Date) -> Self {
        Population { as_of, ..self }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The date it is as of.
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// Generates the people with ids in `ids` (ids start at 1) into `sink`, in id order.
    pub fn generate_range(
        &self,
        ids: Range<PersonId>,
        sink: &mut impl Sink,
    ) -> Result<(), CitizenError> {
        let start = ids.start.max(1);
        if ids.end <= start {
            return Ok(());
        }
        let last = ids.end - 1;
        if last > MAX_PEOPLE {
            return Err(CitizenError::TooManyPeople {
                requested: last,
                max: MAX_PEOPLE,
            });
        }
        let mut buffer = Vec::with_capacity(BLOCK as usize);
        for block in (start - 1) / BLOCK..=(last - 1) / BLOCK {
            buffer.clear();
            self.block(block, &mut buffer);
            for citizen in buffer.drain(..) {
                if (start..=last).contains(&citizen.person.id) {
                    sink.accept(citizen)?;
                }
            }
        }
        Ok(())
    }

    /// The [`BLOCK`] people of block `block` (ids `block·BLOCK + 1` onwards).
    fn block(&self, block: u64, out: &mut Vec<Citizen>) {
        let mut rng = Rng::with_seed(mix(self.seed, block));
        let first = block * BLOCK + 1;
        while out.len() < BLOCK as usize {
            let room = BLOCK as usize - out.len();
            let shape = Shape::draw(&mut rng, room);
            let next = first + out.len() as u64;
            self.household(&mut rng, shape, next, out);
        }
    }

    fn household(&self, rng: &mut Rng, shape: Shape, first: PersonId, out: &mut Vec<Citizen>) {
        let as_of = self.as_of;
        // Ages: children first, since parents' ages follow from them.
        let mut child_ages: Vec<i32> = (0..shape.children).map(|_| rng.i32(0..18)).collect();
        child_ages.sort_unstable_by(|a, b| b.cmp(a));
        let adult_age = if shape.pensioners {
            // Fewer people at each older age: density falls towards 100.
            let u = rng.f64();
            PENSION_AGE + (u * u.sqrt() * 35.0) as i32
        } else if let Some(&eldest) = child_ages.first() {
            (eldest + rng.i32(20..=40)).clamp(18, PENSION_AGE - 1)
        } else {
            rng.i32(18..PENSION_AGE)
        };
        let mut ages = vec![adult_age];
        if shape.adults == 2 {
            let partner = adult_age + rng.i32(-5..=5);
            // A parent is at least 19 years older than the eldest child (ages are whole
            // years, birthdays anywhere in the year: 19 keeps a full 18 years between them).
            let youngest_parent = child_ages.first().map_or(18, |&eldest| eldest + 19);
            ages.push(if shape.pensioners {
                partner.clamp(PENSION_AGE, 100)
            } else {
                partner.clamp(youngest_parent, PENSION_AGE - 1)
            });
        }
        let mut dobs: Vec<Date> = ages.iter().map(|&a| birth_date(rng, as_of, a)).collect();
        let adult_count = dobs.len();
        for &age in &child_ages {
            dobs.push(birth_date(rng, as_of, age));
        }
        // Twins: about 3% of families with two or more children. They give the matching
        // services the "same last name, same date of birth" case to refuse.
        if shape.children >= 2 && rng.u32(0..100) < 3 {
            dobs[adult_count + 1] = dobs[adult_count];
        }

        let household_name = family_name(rng);
        let household_id = first;
        let ids: Vec<PersonId> = (0..dobs.len() as u64).map(|k| first + k).collect();
        let adults = &ids[..adult_count];

        let first_sex = draw_sex(rng);
        let mut people = Vec::with_capacity(ids.len());
        for (k, (&id, &dob)) in ids.iter().zip(&dobs).enumerate() {
            let sex = match k {
                0 => first_sex,
                1 if adult_count == 2 && rng.u32(0..100) < 92 => first_sex.map(opposite),
                _ => draw_sex(rng),
            };
            let last_name = if k == 1 && adult_count == 2 && rng.u32(0..100) < 20 {
                family_name(rng)
            } else {
                household_name.clone()
            };
            let age = dob.years_until(as_of);
            let death_per_10k = if age >= PENSION_AGE {
                450
            } else if age >= 18 {
                25
            } else {
                2
            };
            let date_of_death = (rng.u32(0..10_000) < death_per_10k).then(|| {
                let dod = as_of.add_days(-rng.i32(1..1826));
                dod.max(dob)
            });
            let suffix = b'A' + rng.u8(0..4);
            let Some(nino) = Nino::for_person(self.seed, id, suffix) else {
                // Unreachable: generate_range caps ids at MAX_PEOPLE.
                continue;
            };
            people.push(Person {
                id,
                household: household_id,
                first_name: first_name(rng, sex).to_owned(),
                last_name,
                date_of_birth: dob,
                date_of_death,
                nino,
                sex: (rng.u32(0..1000) >= 5).then_some(sex).flatten(),
            });
        }

        // One home for the household; adults may have lived elsewhere before.
        let home = draw_address(rng);
        let youngest_adult = dobs[..adult_count].iter().max().copied().unwrap_or(as_of);
        let moved_in = as_of
            .add_days(-rng.i32(30..7300))
            .max(youngest_adult.add_years(18));

        let work_and_claims: Vec<_> = {
            let facts = HouseholdFacts {
                seed: self.seed,
                as_of,
                pensioners: shape.pensioners,
                people: &people,
                adult_count,
            };
            let household_claims = benefits::household_claims(rng, &facts);
            (0..people.len())
                .map(|k| {
                    (
                        benefits::earnings(&facts, &household_claims, k),
                        benefits::claims_for(rng, &facts, &household_claims, k),
                    )
                })
                .collect()
        };

        for (k, (person, (earnings, claims))) in people.into_iter().zip(work_and_claims).enumerate()
        {
            let is_adult = k < adult_count;
            let mut addresses = Vec::new();
            // Someone who died before the household's move-in date was recorded there on the
            // day they died: an address never ends before it starts.
            let from = moved_in
                .max(person.date_of_birth)
                .min(person.date_of_death.unwrap_or(as_of));
            if is_adult {
                previous_addresses(rng, &person, from, &mut addresses);
            }
            addresses.push(Address {
                person: person.id,
                lines: home.0.clone(),
                town: home.1.to_owned(),
                postcode: home.2.clone(),
                from,
                to: person.date_of_death,
            });
            let parents = if is_adult {
                Vec::new()
            } else {
                adults.to_vec()
            };
            out.push(Citizen {
                person,
                parents,
                addresses,
                claims,
                earnings,
            });
        }
    }
}

/// Household shapes, with relative frequencies tuned to the ONS "Families and households"
/// mix (about 22% children, 18% pensioners, 59% working-age adults).
#[derive(Clone, Copy, Debug)]
struct Shape {
    adults: usize,
    children: usize,
    pensioners: bool,
}

impl Shape {
    fn draw(rng: &mut Rng, room: usize) -> Shape {
        let mut shape = match rng.u32(0..80) {
            0..20 => Shape::working(1, 0),
            20..35 => Shape::working(2, 0),
            35..43 => Shape::working(1, Shape::children(rng)),
            43..60 => Shape::working(2, Shape::children(rng)),
            60..72 => Shape::pensioners(1),
            _ => Shape::pensioners(2),
        };
        if shape.adults > room {
            shape.adults = room;
        }
        shape.children = shape.children.min(room - shape.adults);
        shape
    }

    fn children(rng: &mut Rng) -> usize {
        // ONS families with dependent children: 45% one child, 38% two, 12% three, 5% four.
        match rng.u32(0..100) {
            0..45 => 1,
            45..83 => 2,
            83..95 => 3,
            _ => 4,
        }
    }

    fn working(adults: usize, children: usize) -> Shape {
        Shape {
            adults,
            children,
            pensioners: false,
        }
    }

    fn pensioners(adults: usize) -> Shape {
        Shape {
            adults,
            children: 0,
            pensioners: true,
        }
    }
}

/// A seed for the PRNG of item `value` of the population with `seed`: SplitMix64's finaliser
/// over a seed-dependent start, so neighbouring blocks get unrelated streams.
pub(crate) fn mix(seed: u64, value: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0xD1B5_4A32_D192_ED03)
        .wrapping_add(value.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) from a hash, for values that must be recomputable without the
/// block's PRNG (pay in a given month).
pub(crate) fn unit(seed: u64, a: u64, b: u64) -> f64 {
    (mix(mix(seed, a), b) >> 11) as f64 / (1u64 << 53) as f64
}

fn birth_date(rng: &mut Rng, as_of: Date, age: i32) -> Date {
    // Exactly `age` on `as_of`: the last birthday fell within the past year.
    as_of.add_years(-age).add_days(-rng.i32(0..365))
}

/// Earlier entries are drawn more often (index density ∝ x^(-1/3)): the first of 325 family
/// names gets about 2% of the draws from the list.
fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    let u = rng.f64();
    list[((u * u.sqrt()) * list.len() as f64) as usize % list.len()]
}

/// A family name: 60% from the common names (so common names collide, as in real registers:
/// Smith is about 1% of England and Wales), 40% from a long tail of about 1,500 place-name
/// surnames (Ashworth, Thornley), standing in for the tens of thousands of rarer names.
fn family_name(rng: &mut Rng) -> String {
    if rng.u32(0..100) < 60 {
        pick(rng, LAST_NAMES).to_owned()
    } else {
        let stem = SURNAME_STEMS[rng.usize(..SURNAME_STEMS.len())];
        let ending = SURNAME_ENDINGS[rng.usize(..SURNAME_ENDINGS.len())];
        format!("{stem}{ending}")
    }
}

fn draw_sex(rng: &mut Rng) -> Option<Sex> {
    Some(if rng.bool() { Sex::Female } else { Sex::Male })
}

fn opposite(sex: Sex) -> Sex {
    match sex {
        Sex::Female => Sex::Male,
        _ => Sex::Female,
    }
}

fn first_name(rng: &mut Rng, sex: Option<Sex>) -> &'static str {
    match sex {
        Some(Sex::Female) => pick(rng, FEMALE_NAMES),
        _ => pick(rng, MALE_NAMES),
    }
}

fn draw_address(rng: &mut Rng) -> (Vec<String>, &'static str, Postcode) {
    let (area, town) = TOWNS[rng.usize(..TOWNS.len())];
    let street = format!(
        "{} {} {}",
        rng.u32(1..200),
        STREETS[rng.usize(..STREETS.len())],
        STREET_KINDS[rng.usize(..STREET_KINDS.len())]
    );
    let lines = if rng.u32(0..100) < 15 {
        vec![format!("Flat {}", rng.u32(1..40)), street]
    } else {
        vec![street]
    };
    (lines, town, Postcode::generate(rng, area))
}

fn previous_addresses(rng: &mut Rng, person: &Person, moved_in: Date, out: &mut Vec<Address>) {
    let count = match rng.u32(0..10) {
        0..4 => 0,
        4..8 => 1,
        _ => 2,
    };
    let adult_from = person.date_of_birth.add_years(18);
    let mut next_from = moved_in;
    let mut earlier = Vec::with_capacity(count);
    for _ in 0..count {
        let to = next_from.add_days(-1);
        let from = to.add_days(-rng.i32(180..3650)).max(adult_from);
        if from >= to {
            break;
        }
        let (lines, town, postcode) = draw_address(rng);
        earlier.push(Address {
            person: person.id,
            lines,
            town: town.to_owned(),
            postcode,
            from,
            to: Some(to),
        });
        next_from = from;
    }
    out.extend(earlier.into_iter().rev());
}
