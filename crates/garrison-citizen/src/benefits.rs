//! Work and benefits for a generated household: who is employed and on what pay, and which
//! claims each member holds, with awards.
//!
//! Rates are the published 2025/26 ones (GOV.UK "Benefit and pension rates 2025 to 2026"),
//! uprated or deflated by 4% a year for other years; Universal Credit uses its monthly
//! standard allowance, child element, work allowance and 55% taper.

use fastrand::Rng;

use crate::generate::{PENSION_AGE, unit};
use crate::model::{Award, BenefitType, Claim, ClaimStatus, Earnings, Person};
use crate::{Date, Month};

/// Months of earnings kept per employed person, ending with the month before "as of".
pub const EARNINGS_MONTHS: i32 = 12;

/// Universal Credit assessment periods kept per claim: the most recent ones.
pub const UC_AWARD_PERIODS: i32 = 24;

/// What the claim rules need to know about a household.
pub(crate) struct HouseholdFacts<'a> {
    pub(crate) seed: u64,
    pub(crate) as_of: Date,
    pub(crate) pensioners: bool,
    /// Adults first, then children.
    pub(crate) people: &'a [Person],
    pub(crate) adult_count: usize,
}

impl HouseholdFacts<'_> {
    fn living(&self, k: usize) -> bool {
        self.people[k].date_of_death.is_none()
    }

    fn age(&self, k: usize) -> i32 {
        self.people[k].date_of_birth.years_until(self.as_of)
    }

    fn children(&self) -> usize {
        self.people.len() - self.adult_count
    }

    fn living_adults(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.adult_count).filter(|&k| self.living(k))
    }
}

/// A claim shared by the adults of a household (a joint claim), before it is given ids.
#[derive(Clone)]
struct SharedClaim {
    benefit: BenefitType,
    start: Date,
    end: Option<Date>,
    status: ClaimStatus,
    awards: Vec<Award>,
}

/// The household-level decisions: pay, and the claims made jointly or because of the
/// household's circumstances.
pub(crate) struct HouseholdClaims {
    /// Base monthly take-home pay in pence, per member (adults only; `None`: not employed).
    pay: Vec<Option<u32>>,
    universal_credit: Option<SharedClaim>,
    pension_credit: Option<SharedClaim>,
    /// The surviving partner and their Bereavement Support Payment.
    bereavement: Option<(usize, SharedClaim)>,
}

pub(crate) fn household_claims(rng: &mut Rng, facts: &HouseholdFacts<'_>) -> HouseholdClaims {
    let as_of = facts.as_of;
    let living: Vec<usize> = facts.living_adults().collect();
    let kids = facts.children();

    // Universal Credit: about 10% of working-age adults (DWP "Universal Credit statistics":
    // 7–8 million people, most of them in work-poor, single-parent or low-paid households).
    let uc_per_1000 = match (living.len(), kids > 0) {
        (1, true) => 400,
        (1, false) => 90,
        (2, true) => 110,
        (2, false) => 45,
        _ => 0,
    };
    let on_uc = !facts.pensioners && rng.u32(0..1000) < uc_per_1000;

    let mut pay = vec![None; facts.people.len()];
    for &k in &living {
        let age = facts.age(k);
        let employed_per_100 = if age >= PENSION_AGE + 5 {
            0
        } else if age >= PENSION_AGE {
            12
        } else if on_uc {
            40
        } else if kids > 0 && living.len() == 1 {
            65
        } else {
            78
        };
        if rng.u32(0..100) < employed_per_100 {
            pay[k] = Some(if on_uc {
                rng.u32(30_000..160_000)
            } else {
                base_pay(rng)
            });
        }
    }

    let universal_credit = on_uc.then(|| {
        let start = as_of.add_months(-rng.i32(1..72));
        let (end, status) = end_and_status(rng, start, as_of, 15);
        let awards = uc_awards(facts, &pay, &living, start, end);
        SharedClaim {
            benefit: BenefitType::UniversalCredit,
            start,
            end,
            status,
            awards,
        }
    });

    // Pension Credit: about 1.4 million of 12 million pensioners (DWP "Pension Credit
    // statistics"), more often single.
    let pc_per_1000 = if living.len() == 1 { 140 } else { 70 };
    let pension_credit = (facts.pensioners && !living.is_empty() && rng.u32(0..1000) < pc_per_1000)
        .then(|| {
            let youngest = living
                .iter()
                .map(|&k| facts.people[k].date_of_birth)
                .max()
                .unwrap_or(as_of);
            let start = as_of
                .add_days(-rng.i32(30..3650))
                .max(youngest.add_years(PENSION_AGE));
            let weekly = if living.len() == 1 { 22_710 } else { 34_660 };
            let weekly = weekly - rng.u32(0..weekly * 6 / 10);
            SharedClaim {
                benefit: BenefitType::PensionsCredit,
                start,
                end: None,
                status: ClaimStatus::InPayment,
                awards: yearly_awards(start, None, as_of, weekly),
            }
        });

    // Bereavement Support Payment: a partner under pension age who died within the last 21
    // months leaves the survivor 18 monthly payments (higher rate with children).
    let bereavement = if facts.adult_count == 2 && !facts.pensioners && living.len() == 1 {
        let survivor = living[0];
        let died = facts.people[1 - survivor].date_of_death;
        died.filter(|&d| d >= as_of.add_months(-21) && facts.age(survivor) < PENSION_AGE)
            .map(|died| {
                let start = died.add_days(rng.i32(0..60)).min(as_of);
                let end = start.add_months(18).add_days(-1);
                let status = if end < as_of {
                    ClaimStatus::Ended
                } else {
                    ClaimStatus::InPayment
                };
                let monthly = if kids > 0 { 35_000 } else { 10_000 };
                let awards = monthly_awards(start, end, as_of, monthly);
                (
                    survivor,
                    SharedClaim {
                        benefit: BenefitType::BereavementSupportPayment,
                        start,
                        end: Some(end),
                        status,
                        awards,
                    },
                )
            })
    } else {
        None
    };

    HouseholdClaims {
        pay,
        universal_credit,
        pension_credit,
        bereavement,
    }
}

/// The claims member `k` holds; claim ids are `person id × 16 + n`.
pub(crate) fn claims_for(
    rng: &mut Rng,
    facts: &HouseholdFacts<'_>,
    household: &HouseholdClaims,
    k: usize,
) -> Vec<Claim> {
    let person = &facts.people[k];
    let mut claims = Vec::new();
    if !facts.living(k) {
        return claims;
    }
    let as_of = facts.as_of;
    let age = facts.age(k);
    let adult = k < facts.adult_count;
    let mut shared = Vec::new();
    if adult {
        shared.extend(household.universal_credit.clone());
        shared.extend(household.pension_credit.clone());
    }
    if let Some((survivor, claim)) = &household.bereavement
        && *survivor == k
    {
        shared.push(claim.clone());
    }

    if adult && age < PENSION_AGE {
        if household.universal_credit.is_none() {
            // Legacy income-related benefits, closed to new claims and moving to UC: small
            // and shrinking caseloads (DWP Stat-Xplore, 2025).
            let single_parent = facts.adult_count == 1 && facts.children() > 0;
            let r = rng.u32(0..1000);
            let legacy = match r {
                _ if single_parent && r < 60 => Some((BenefitType::IncomeSupport, 9_205)),
                0..4 => Some((BenefitType::JobSeekersAllowanceIncomeBased, 9_205)),
                4..22 => Some((BenefitType::EmploymentSupportAllowanceIncomeBased, 13_975)),
                22..27 => Some((BenefitType::IncomeSupport, 9_205)),
                _ => None,
            };
            if let Some((benefit, weekly)) = legacy {
                let start = Date::from_ymd_const(2012, 1, 1).add_days(rng.i32(0..2555));
                shared.push(SharedClaim {
                    benefit,
                    start,
                    end: None,
                    status: ClaimStatus::InPayment,
                    awards: yearly_awards(start, None, as_of, weekly),
                });
            }
        }
        // An old, ended jobseeker's claim: history that a date-range filter must exclude.
        if rng.u32(0..100) < 3 {
            let start = Date::from_ymd_const(2012, 1, 1).add_days(rng.i32(0..2555));
            let end = start.add_months(rng.i32(2..18)).add_days(-1);
            shared.push(SharedClaim {
                benefit: BenefitType::JobSeekersAllowanceIncomeBased,
                start,
                end: Some(end),
                status: ClaimStatus::Ended,
                awards: yearly_awards(start, Some(end), as_of, 9_205),
            });
        }
    }

    // Personal Independence Payment: about 6% of people aged 16 and over (DWP PIP statistics:
    // 3.7 million claimants).
    let pip_per_1000 = match age {
        16..PENSION_AGE => 65,
        PENSION_AGE.. => 50,
        _ => 0,
    };
    if rng.u32(0..1000) < pip_per_1000 {
        let start = as_of.add_days(-rng.i32(30..2920));
        let (end, status) = end_and_status(rng, start, as_of, 8);
        let daily_living = [7_390, 11_040][rng.usize(..2)];
        let mobility = [0, 2_920, 7_705][rng.usize(..3)];
        shared.push(SharedClaim {
            benefit: BenefitType::PersonalIndependencePayment,
            start,
            end,
            status,
            awards: yearly_awards(start, end, as_of, daily_living + mobility),
        });
    }

    for (n, c) in shared.into_iter().enumerate() {
        claims.push(Claim {
            id: person.id * 16 + n as u64,
            person: person.id,
            benefit: c.benefit,
            start: c.start,
            end: c.end,
            status: c.status,
            awards: c.awards,
        });
    }
    claims.sort_by_key(|c| (c.start, c.id));
    claims
}

/// Member `k`'s take-home pay for the [`EARNINGS_MONTHS`] months before "as of".
pub(crate) fn earnings(
    facts: &HouseholdFacts<'_>,
    household: &HouseholdClaims,
    k: usize,
) -> Vec<Earnings> {
    let Some(base) = household.pay[k] else {
        return Vec::new();
    };
    let id = facts.people[k].id;
    let this_month = facts.as_of.month();
    (-EARNINGS_MONTHS..0)
        .map(|offset| {
            let month = this_month.add_months(offset);
            Earnings {
                person: id,
                month,
                pence: monthly_pay(facts.seed, id, base, month),
            }
        })
        .collect()
}

/// Pay varies by up to ±8% around the base from month to month (overtime, hours): a hash of
/// (person, month), so UC awards and the earnings table agree without sharing state.
fn monthly_pay(seed: u64, id: u64, base: u32, month: Month) -> u32 {
    let factor = 0.92 + 0.16 * unit(seed, id, month.index() as u64);
    (f64::from(base) * factor) as u32
}

/// Monthly take-home pay of an employee: log-normal around a median of £2,100 (ONS ASHE
/// 2025 median full-time gross ≈ £3,100/month, less tax and NI), a fifth part-time.
fn base_pay(rng: &mut Rng) -> u32 {
    let (u1, u2) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let mut pence = 210_000.0 * (0.5 * z).exp();
    if rng.u32(0..5) == 0 {
        pence *= 0.55;
    }
    pence.clamp(20_000.0, 2_000_000.0) as u32
}

fn end_and_status(
    rng: &mut Rng,
    start: Date,
    as_of: Date,
    ended_per_100: u32,
) -> (Option<Date>, ClaimStatus) {
    if rng.u32(0..100) < ended_per_100 {
        let end = start.add_months(rng.i32(3..36)).add_days(-1);
        if end < as_of {
            return (Some(end), ClaimStatus::Ended);
        }
    }
    let status = if rng.u32(0..100) < 4 {
        ClaimStatus::Suspended
    } else {
        ClaimStatus::InPayment
    };
    (None, status)
}

fn uc_awards(
    facts: &HouseholdFacts<'_>,
    pay: &[Option<u32>],
    living: &[usize],
    start: Date,
    end: Option<Date>,
) -> Vec<Award> {
    let last = end.map_or(facts.as_of, |e| e.min(facts.as_of));
    let mut periods = 0;
    while start.add_months(periods) <= last {
        periods += 1;
    }
    let any_over_25 = living.iter().any(|&k| facts.age(k) >= 25);
    // Monthly standard allowance, 2025/26.
    let standard = match (living.len(), any_over_25) {
        (1, false) => 31_698,
        (1, true) => 40_014,
        (_, false) => 49_760,
        (_, true) => 62_810,
    };
    let kids = facts.children() as i64;
    let child_elements = if kids > 0 {
        33_900 + (kids - 1) * 29_281
    } else {
        0
    };
    let work_allowance = if kids > 0 { 41_100 } else { 0 };
    ((periods - UC_AWARD_PERIODS).max(0)..periods)
        .map(|n| {
            let period_start = start.add_months(n);
            let mut period_end = start.add_months(n + 1).add_days(-1);
            if let Some(e) = end {
                period_end = period_end.min(e);
            }
            let month = period_end.month();
            let take_home: u32 = living
                .iter()
                .filter_map(|&k| pay[k].map(|base| (facts.people[k].id, base)))
                .map(|(id, base)| monthly_pay(facts.seed, id, base, month))
                .sum();
            let taper = (i64::from(take_home) - work_allowance).max(0) * 55 / 100;
            let amount = (standard + child_elements - taper).max(0);
            Award {
                start: period_start,
                end: Some(period_end),
                amount_pence: u32::try_from(amount).unwrap_or(0),
                take_home_pay_pence: Some(take_home),
            }
        })
        .collect()
}

/// Awards at a weekly rate, one per uprating year (rates change each April), over at most
/// the last two years of the claim.
fn yearly_awards(start: Date, end: Option<Date>, as_of: Date, weekly_2025: u32) -> Vec<Award> {
    let last = end.map_or(as_of, |e| e.min(as_of));
    let mut from = start.max(last.add_years(-2));
    let mut awards = Vec::new();
    while from <= last {
        let (y, m, _) = from.ymd();
        let rate_year = if m >= 4 { y } else { y - 1 };
        let next_april = Date::from_ymd_const(rate_year + 1, 4, 1);
        let year_end = next_april.add_days(-1);
        let award_end = match end {
            Some(e) if e <= year_end => Some(e),
            _ if year_end < as_of => Some(year_end),
            _ => None,
        };
        awards.push(Award {
            start: from,
            end: award_end,
            amount_pence: uprate(weekly_2025, rate_year),
            take_home_pay_pence: None,
        });
        from = next_april;
    }
    awards
}

fn monthly_awards(start: Date, end: Date, as_of: Date, monthly: u32) -> Vec<Award> {
    (0..18)
        .map(|n| (start.add_months(n), start.add_months(n + 1).add_days(-1)))
        .take_while(|&(from, _)| from <= as_of && from <= end)
        .map(|(from, to)| Award {
            start: from,
            end: Some(to.min(end)),
            amount_pence: monthly,
            take_home_pay_pence: None,
        })
        .collect()
}

/// A 2025/26 rate moved to another year at 4% a year.
fn uprate(pence_2025: u32, year: i32) -> u32 {
    let percent = (100 + 4 * (year - 2025)).max(50) as u32;
    pence_2025 * percent / 100
}
