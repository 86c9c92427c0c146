//! What the population is made of: people, their addresses, households, benefit claims with
//! their awards, and monthly earnings.

use std::fmt;

use crate::{Date, Month, Nino, Postcode};

/// A person's id within a population: 1 to the population's size.
pub type PersonId = u64;

/// Sex as recorded; absent for a small share of records, as in real registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
}

impl Sex {
    /// The one-letter code stored: `F` or `M`.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Female => "F",
            Sex::Male => "M",
        }
    }

    /// From its one-letter code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "F" => Some(Sex::Female),
            "M" => Some(Sex::Male),
            _ => None,
        }
    }
}

/// A person in the population.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Id within the population.
    pub id: PersonId,
    /// The household the person lives in: the id of its first member.
    pub household: PersonId,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Date of birth.
    pub date_of_birth: Date,
    /// Date of death, for the about 1% of people who have died.
    pub date_of_death: Option<Date>,
    /// National Insurance number.
    pub nino: Nino,
    /// Sex, where recorded.
    pub sex: Option<Sex>,
}

/// One address a person lives or lived at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// Who lives or lived there.
    pub person: PersonId,
    /// Street lines, first line first (`Flat 2`, `14 Mill Lane`).
    pub lines: Vec<String>,
    /// Post town.
    pub town: String,
    /// Postcode.
    pub postcode: Postcode,
    /// The day the person moved in.
    pub from: Date,
    /// The last day there; `None` for the current address.
    pub to: Option<Date>,
}

/// The people living at one address as a family: adults, and children linked to them as
/// parents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Household {
    /// The household's id: the id of its first member.
    pub id: PersonId,
    /// The adults.
    pub adults: Vec<PersonId>,
    /// The children (people with a parent link to an adult of the household).
    pub children: Vec<PersonId>,
}

/// A benefit, named as the DWP Citizen API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BenefitType {
    /// Universal Credit: monthly assessment periods, awards with take-home pay.
    UniversalCredit,
    /// Pension Credit (guarantee credit).
    PensionsCredit,
    /// Income-based Jobseeker's Allowance (legacy).
    JobSeekersAllowanceIncomeBased,
    /// Income-related Employment and Support Allowance (legacy).
    EmploymentSupportAllowanceIncomeBased,
    /// Income Support (legacy).
    IncomeSupport,
    /// Personal Independence Payment.
    PersonalIndependencePayment,
    /// Bereavement Support Payment.
    BereavementSupportPayment,
}

impl BenefitType {
    /// Every benefit type.
    pub const ALL: [BenefitType; 7] = [
        BenefitType::UniversalCredit,
        BenefitType::PensionsCredit,
        BenefitType::JobSeekersAllowanceIncomeBased,
        BenefitType::EmploymentSupportAllowanceIncomeBased,
        BenefitType::IncomeSupport,
        BenefitType::PersonalIndependencePayment,
        BenefitType::BereavementSupportPayment,
    ];

    /// The API's name: `universal_credit`, `pensions_credit`, …
    pub fn as_str(self) -> &'static str {
        match self {
            BenefitType::UniversalCredit => "universal_credit",
            BenefitType::PensionsCredit => "pensions_credit",
            BenefitType::JobSeekersAllowanceIncomeBased => "job_seekers_allowance_income_based",
            BenefitType::EmploymentSupportAllowanceIncomeBased => {
                "employment_support_allowance_income_based"
            }
            BenefitType::IncomeSupport => "income_support",
            BenefitType::PersonalIndependencePayment => "personal_independence_payment",
            BenefitType::BereavementSupportPayment => "bereavement_support_payment",
        }
    }

    /// From the API's name.
    pub fn parse(name: &str) -> Option<Self> {
        BenefitType::ALL.into_iter().find(|b| b.as_str() == name)
    }
}

impl fmt::Display for BenefitType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a claim stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClaimStatus {
    /// Being paid (`in_payment`, the API's name).
    InPayment,
    /// Open but payment suspended.
    Suspended,
    /// Closed; the claim has an end date.
    Ended,
}

impl ClaimStatus {
    /// The API's name: `in_payment`, `suspended`, `ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::InPayment => "in_payment",
            ClaimStatus::Suspended => "suspended",
            ClaimStatus::Ended => "ended",
        }
    }

    /// From the API's name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            ClaimStatus::InPayment,
            ClaimStatus::Suspended,
            ClaimStatus::Ended,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim to a benefit, with the awards made on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Id, unique within the population.
    pub id: u64,
    /// The claimant (each partner of a joint claim holds a copy).
    pub person: PersonId,
    /// The benefit.
    pub benefit: BenefitType,
    /// First day of entitlement.
    pub start: Date,
    /// Last day of entitlement; `None` while open.
    pub end: Option<Date>,
    /// Where it stands.
    pub status: ClaimStatus,
    /// Awards over time, oldest first.
    pub awards: Vec<Award>,
}

/// One award on a claim: an amount for a period.
///
/// For Universal Credit an award is one monthly assessment period and carries the
/// household's take-home pay for it; for the other benefits an award is the weekly rate in
/// force between two upratings (Bereavement Support Payment: its monthly payment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Award {
    /// First day.
    pub start: Date,
    /// Last day; `None` while open-ended.
    pub end: Option<Date>,
    /// The amount, in pence: per assessment period for Universal Credit and Bereavement
    /// Support Payment, per week for the others.
    pub amount_pence: u32,
    /// Universal Credit only: the take-home pay assessed for the period, in pence.
    pub take_home_pay_pence: Option<u32>,
}

/// A person's take-home pay for one calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Earnings {
    /// The earner.
    pub person: PersonId,
    /// The month.
    pub month: Month,
    /// Take-home pay, in pence.
    pub pence: u32,
}

/// Everything the generator produces for one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citizen {
    /// The person.
    pub person: Person,
    /// Parents (for a child), in the same household.
    pub parents: Vec<PersonId>,
    /// Addresses, oldest first; the last is current.
    pub addresses: Vec<Address>,
    /// Benefit claims, with their awards.
    pub claims: Vec<Claim>,
    /// Monthly earnings, oldest first (employed people only).
    pub earnings: Vec<Earnings>,
}

/// The key names are matched on: letters only, lower case (`O'Brien-Smith` → `obriensmith`),
/// so that punctuation, spacing and case do not decide a match.
pub fn normalise_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benefit_types_round_trip_their_api_names() {
        for b in BenefitType::ALL {
            assert_eq!(BenefitType::parse(b.as_str()), Some(b));
        }
        assert_eq!(BenefitType::parse("child_benefit"), None);
        assert_eq!(
            BenefitType::PensionsCredit.to_string(),
            "pensions_credit",
            "the API's spelling"
        );
    }

    #[test]
    fn names_normalise_to_letters_in_lower_case() {
        assert_eq!(normalise_name("O'Brien-Smith"), "obriensmith");
        assert_eq!(normalise_name(" mc donald "), "mcdonald");
        assert_eq!(normalise_name("Zoë"), "zoë");
    }
}
