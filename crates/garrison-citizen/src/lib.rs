//! Garrison's synthetic citizen population: the data behind the citizen API library.
//!
//! A population is a seed and a size. [`generate`] draws people deterministically (the same
//! seed gives the same people, however the work is chunked, and a smaller population is a
//! prefix of a larger one), each with National Insurance number ([`Nino`], HMRC's rules),
//! addresses with well-formed [`Postcode`]s, household and parent links, benefit claims with
//! awards named as the DWP Citizen API names them ([`BenefitType`]), and monthly earnings.
//! [`Store`] keeps a population in one SQLite file and answers the lookups the citizen
//! services need: by last name and date of birth, by NI number, by id; claims by type and
//! date range; earnings by month; children.
//!
//! The population itself knows nothing about HTTP, consumers or purposes: it is the register
//! the services read. The [`service`] module is the services: the granular citizen APIs
//! (match, details, address, claims, income) as one HTTP service over a [`Store`], meant to
//! sit behind the gateway.
//!
//! # Proportions
//!
//! Rough, from public statistics, so that test data looks like the country rather than like
//! a uniform draw (the tests check them within loose bounds):
//!
//! | what | share | source (rounded) |
//! |---|---|---|
//! | children (0–17) | ≈ 22% | ONS mid-year estimates: 21% under 18 |
//! | working age (18–65) | ≈ 59% | ONS: 62% aged 16–64 |
//! | pensioners (66+), density falling to 100 | ≈ 18% | ONS: 19% aged 65+ |
//! | households | single adult, couple, single parent, couple with children, single pensioner, pensioner couple in 20:15:8:17:12:8 | ONS Families and households |
//! | children per family | 1: 45%, 2: 38%, 3: 12%, 4: 5% | ONS Families and households |
//! | family names | 60% from 325 common names, most common ≈ 1.3% (Smith ≈ 1.1% in England and Wales); 40% from ≈ 1,400 place-name surnames, for the long tail | ONS / GRO surname frequencies |
//! | twins (same last name and birthday) | 3% of families with 2+ children | ONS births (≈ 1.5% of maternities, raised so small populations hold some) |
//! | died within the last 5 years, still in the data | ≈ 1% (4.5% of pensioners) | ONS deaths: ≈ 1% of the population a year |
//! | employed | 78% of working-age adults (65% single parents, 40% on UC); 12% of 66–70 | ONS labour market: 75% employment rate |
//! | take-home pay | log-normal, median £2,100 a month, a fifth part-time | ONS ASHE |
//! | Universal Credit | ≈ 9–10% of working-age adults; 40% of single parents | DWP UC statistics |
//! | Pension Credit | ≈ 10% of pensioners | DWP: 1.4M of 12M pensioners |
//! | legacy income-based JSA / income-related ESA / Income Support | ≈ 0.3% / 1.5% / 0.7% of working-age adults (IS: 6% of single parents), none alongside UC | DWP Stat-Xplore |
//! | ended income-based JSA claims from 2012–2019 | 3% of working-age adults | history for date filters |
//! | Personal Independence Payment | ≈ 6% of people 16+ | DWP: 3.7M claimants |
//! | Bereavement Support Payment | rare: a working-age partner who died in the last 21 months | DWP |
//!
//! Everyone, children included, has an NI number (real ones are issued at 16); the
//! simplification keeps a person's identity uniform.
//!
//! Universal Credit claims carry their most recent [`UC_AWARD_PERIODS`] monthly assessment
//! periods, each with the household's take-home pay; employed people have
//! [`EARNINGS_MONTHS`] months of earnings before the population's "as of" date ([`AS_OF`]).

mod benefits;
mod date;
mod error;
mod generate;
mod load;
mod model;
mod names;
mod nino;
mod postcode;
pub mod service;
mod store;

pub use benefits::{EARNINGS_MONTHS, UC_AWARD_PERIODS};
pub use date::{Date, Month};
pub use error::CitizenError;
pub use generate::{AS_OF, BLOCK, DEFAULT_SEED, MAX_PEOPLE, Population, Sink, generate};
pub use load::{BuildSummary, Loader};
pub use model::{
    Address, Award, BenefitType, Citizen, Claim, ClaimStatus, Earnings, Household, Person,
    PersonId, Sex, normalise_name,
};
pub use nino::{NINO_SPACE, Nino, NinoRule, PREFIX_COUNT};
pub use postcode::Postcode;
pub use service::{CitizenService, ServiceOptions, serve};
pub use store::{Meta, SCHEMA_VERSION, Store};

#[cfg(test)]
mod tests;
