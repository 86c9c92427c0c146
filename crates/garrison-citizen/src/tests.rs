//! Tests of the generator and the store together.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use super::*;

const SEED: u64 = 42;
const PEOPLE: u64 = 10_000;

fn population() -> &'static [Citizen] {
    static CACHE: OnceLock<Vec<Citizen>> = OnceLock::new();
    CACHE.get_or_init(|| {
        let mut out = Vec::new();
        generate(PEOPLE, SEED, &mut out).unwrap();
        out
    })
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

#[test]
fn generates_ids_one_to_n_in_order() {
    let people = population();
    assert_eq!(people.len(), PEOPLE as usize);
    for (i, c) in people.iter().enumerate() {
        assert_eq!(c.person.id, i as u64 + 1);
    }
}

#[test]
fn the_same_seed_gives_the_same_people_and_another_seed_others() {
    let mut again = Vec::new();
    generate(PEOPLE, SEED, &mut again).unwrap();
    assert_eq!(again, population());
    let mut other = Vec::new();
    generate(100, SEED + 1, &mut other).unwrap();
    let differing = other
        .iter()
        .zip(population())
        .filter(|(a, b)| a.person.last_name != b.person.last_name)
        .count();
    assert!(differing > 50, "{differing}");
}

#[test]
fn chunking_does_not_change_the_output() {
    let generator = Population::new(SEED);
    let mut chunked = Vec::new();
    // Odd chunk sizes, so chunk edges fall inside blocks and households.
    let mut start = 1;
    for size in [1u64, 3, 7, 13, 100, 999].iter().cycle() {
        if start > 3_000 {
            break;
        }
        let end = (start + size).min(3_001);
        generator.generate_range(start..end, &mut chunked).unwrap();
        start = end;
    }
    assert_eq!(chunked, &population()[..3_000]);
}

#[test]
fn a_smaller_population_is_a_prefix_of_a_larger_one() {
    let mut small = Vec::new();
    generate(1_001, SEED, &mut small).unwrap();
    assert_eq!(small, &population()[..1_001]);
}

#[test]
fn refuses_more_people_than_there_are_ni_numbers() {
    let mut sink = |_c: Citizen| Ok(());
    let err = Population::new(1)
        .generate_range(MAX_PEOPLE..MAX_PEOPLE + 2, &mut sink)
        .unwrap_err();
    assert!(matches!(err, CitizenError::TooManyPeople { .. }), "{err}");
}

#[test]
fn generated_records_are_well_formed() {
    let mut stems = HashSet::new();
    for c in population() {
        let p = &c.person;
        assert!(Nino::parse(&p.nino.to_string()).is_ok());
        assert!(stems.insert(p.nino.stem()), "duplicate NI number");
        assert!(p.date_of_birth <= AS_OF);
        if let Some(dod) = p.date_of_death {
            assert!(dod >= p.date_of_birth && dod <= AS_OF);
        }
        assert!(!c.addresses.is_empty());
        for pair in c.addresses.windows(2) {
            assert_eq!(pair[0].to.map(|t| t.add_days(1)), Some(pair[1].from));
        }
        for a in &c.addresses {
            assert!(a.to.is_none_or(|to| to >= a.from), "{a:?}");
        }
        let current = c.addresses.last().unwrap();
        assert_eq!(current.to, p.date_of_death);
        assert!(Postcode::parse(current.postcode.as_str()).is_ok());
        for parent in &c.parents {
            assert!(*parent < p.id && *parent >= p.household);
            let parent = &population()[*parent as usize - 1].person;
            assert!(parent.date_of_birth.add_years(18) <= p.date_of_birth);
        }
        for claim in &c.claims {
            assert_eq!(claim.person, p.id);
            assert_eq!(claim.id / 16, p.id);
            assert_eq!(
                claim.end.is_some(),
                claim.status == ClaimStatus::Ended
                    || claim.benefit == BenefitType::BereavementSupportPayment
            );
            for award in &claim.awards {
                assert!(award.start >= claim.start);
                assert!(award.end.is_none_or(|e| e >= award.start));
                assert_eq!(
                    award.take_home_pay_pence.is_some(),
                    claim.benefit == BenefitType::UniversalCredit
                );
            }
        }
    }
}

#[test]
fn proportions_are_roughly_as_documented() {
    let people = population();
    let n = people.len();
    let age = |c: &Citizen| c.person.date_of_birth.years_until(AS_OF);
    let children = people.iter().filter(|c| age(c) < 18).count();
    let pensioners = people.iter().filter(|c| age(c) >= 66).count();
    let deceased = people
        .iter()
        .filter(|c| c.person.date_of_death.is_some())
        .count();
    assert!(
        (0.18..0.28).contains(&share(children, n)),
        "children {children}"
    );
    assert!(
        (0.16..0.26).contains(&share(pensioners, n)),
        "pensioners {pensioners}"
    );
    assert!(
        (0.005..0.02).contains(&share(deceased, n)),
        "deceased {deceased}"
    );

    let claimants = |benefit: BenefitType, who: &dyn Fn(&Citizen) -> bool| {
        let group: Vec<_> = people
            .iter()
            .filter(|c| who(c) && c.person.date_of_death.is_none())
            .collect();
        let on = group
            .iter()
            .filter(|c| {
                c.claims
                    .iter()
                    .any(|cl| cl.benefit == benefit && cl.end.is_none())
            })
            .count();
        share(on, group.len())
    };
    let working_age = |c: &Citizen| (18..66).contains(&age(c));
    let pensioner = |c: &Citizen| age(c) >= 66;
    let uc = claimants(BenefitType::UniversalCredit, &working_age);
    assert!((0.07..0.14).contains(&uc), "UC {uc}");
    let pc = claimants(BenefitType::PensionsCredit, &pensioner);
    assert!((0.06..0.14).contains(&pc), "Pension Credit {pc}");
    let pip = claimants(BenefitType::PersonalIndependencePayment, &|c| age(c) >= 16);
    assert!((0.04..0.08).contains(&pip), "PIP {pip}");
    let esa = claimants(
        BenefitType::EmploymentSupportAllowanceIncomeBased,
        &working_age,
    );
    assert!((0.005..0.035).contains(&esa), "ESA {esa}");

    let employed = people
        .iter()
        .filter(|c| working_age(c) && !c.earnings.is_empty())
        .count();
    let adults = people.iter().filter(|c| working_age(c)).count();
    assert!(
        (0.6..0.8).contains(&share(employed, adults)),
        "employed {employed}/{adults}"
    );
}

#[test]
fn every_benefit_type_and_status_occurs_in_a_larger_population() {
    let mut citizens = Vec::new();
    generate(60_000, SEED, &mut citizens).unwrap();
    let mut seen = HashMap::new();
    for claim in citizens.iter().flat_map(|c| &c.claims) {
        *seen.entry((claim.benefit, claim.status)).or_insert(0) += 1;
    }
    for benefit in BenefitType::ALL {
        assert!(
            seen.keys().any(|(b, _)| *b == benefit),
            "no {benefit} claim"
        );
    }
    assert!(seen.contains_key(&(BenefitType::UniversalCredit, ClaimStatus::Ended)));
    assert!(seen.contains_key(&(BenefitType::UniversalCredit, ClaimStatus::Suspended)));
}

#[test]
fn some_people_share_a_last_name_and_birthday() {
    let mut seen = HashMap::new();
    let mut pairs = 0;
    for c in population() {
        let key = (normalise_name(&c.person.last_name), c.person.date_of_birth);
        *seen.entry(key).or_insert(0) += 1;
    }
    for count in seen.values() {
        if *count > 1 {
            pairs += 1;
        }
    }
    assert!(pairs >= 5, "{pairs}");
}

#[test]
fn universal_credit_awards_carry_take_home_pay_matching_the_earnings() {
    let uc_earner = population()
        .iter()
        .find(|c| {
            c.person.household == c.person.id
                && c.claims
                    .iter()
                    .any(|cl| cl.benefit == BenefitType::UniversalCredit && cl.end.is_none())
                && !c.earnings.is_empty()
                && population()
                    .iter()
                    .filter(|o| o.person.household == c.person.household && o.parents.is_empty())
                    .count()
                    == 1
        })
        .expect("a single employed UC claimant");
    let claim = uc_earner
        .claims
        .iter()
        .find(|cl| cl.benefit == BenefitType::UniversalCredit)
        .unwrap();
    let last = claim.awards.last().unwrap();
    let month = last.end.unwrap().month();
    if let Some(e) = uc_earner.earnings.iter().find(|e| e.month == month) {
        assert_eq!(last.take_home_pay_pence, Some(e.pence));
    }
    let earlier = &claim.awards[claim.awards.len() - 2];
    let month = earlier.end.unwrap().month();
    let e = uc_earner
        .earnings
        .iter()
        .find(|e| e.month == month)
        .unwrap();
    assert_eq!(earlier.take_home_pay_pence, Some(e.pence));
}

struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("garrison-citizen-{}-{name}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn store_round_trip() {
    let file = TempFile::new("round-trip");
    let mut progress = Vec::new();
    let summary =
        Store::build(&file.0, Population::new(SEED), PEOPLE, |n| progress.push(n)).unwrap();
    assert_eq!(summary.people, PEOPLE);
    assert_eq!(progress.last(), Some(&PEOPLE));
    assert!(summary.file_bytes > 0);
    let store = Store::open(&file.0).unwrap();
    assert_eq!(
        store.meta(),
        Meta {
            seed: SEED,
            people: PEOPLE,
            as_of: AS_OF
        }
    );

    let people = population();
    for c in people.iter().step_by(97) {
        let p = &c.person;
        assert_eq!(store.person(p.id).unwrap().as_ref(), Some(p));
        assert_eq!(store.find_by_nino(&p.nino).unwrap().as_ref(), Some(p));
        let by_name = store
            .find_by_name_dob(&p.last_name.to_uppercase(), p.date_of_birth)
            .unwrap();
        assert!(by_name.contains(p));
        assert_eq!(store.addresses(p.id).unwrap(), c.addresses);
        let current = store.current_address(p.id).unwrap();
        assert_eq!(
            current.as_ref(),
            c.addresses.last().filter(|a| a.to.is_none())
        );
        assert_eq!(store.claims(p.id, None, None, None).unwrap(), c.claims);
        let months = (AS_OF.month().add_months(-24), AS_OF.month());
        assert_eq!(
            store.earnings(p.id, months.0, months.1).unwrap(),
            c.earnings
        );
        let children: Vec<_> = people
            .iter()
            .filter(|o| o.parents.contains(&p.id))
            .map(|o| o.person.clone())
            .collect();
        assert_eq!(store.children(p.id).unwrap(), children);
    }
    assert_eq!(store.person(0).unwrap(), None);
    assert_eq!(store.person(PEOPLE + 1).unwrap(), None);
    assert_eq!(
        store
            .find_by_nino(&Nino::parse("AA 00 00 00 A").unwrap())
            .unwrap()
            .map(|p| p.id)
            .is_some(),
        people.iter().any(|c| c.person.nino.stem() == "AA000000")
    );
}

#[test]
fn store_finds_everyone_sharing_a_name_and_birthday() {
    let file = TempFile::new("twins");
    Store::build(&file.0, Population::new(SEED), PEOPLE, |_| {}).unwrap();
    let store = Store::open(&file.0).unwrap();
    let twin = population()
        .windows(2)
        .find(|w| {
            w[0].person.date_of_birth == w[1].person.date_of_birth
                && w[0].person.last_name == w[1].person.last_name
        })
        .expect("twins");
    let found = store
        .find_by_name_dob(&twin[0].person.last_name, twin[0].person.date_of_birth)
        .unwrap();
    assert!(found.len() >= 2, "{found:?}");
    // Punctuation and case do not matter: O'Brien = OBRIEN.
    let obrien = population()
        .iter()
        .find(|c| c.person.last_name == "O'Brien")
        .expect("an O'Brien");
    let found = store
        .find_by_name_dob("OBRIEN", obrien.person.date_of_birth)
        .unwrap();
    assert!(found.contains(&obrien.person));
    // A household: adults then children, matching the parent links.
    let parent = population()
        .iter()
        .find(|c| !c.parents.is_empty())
        .map(|c| c.parents[0])
        .unwrap();
    let household = store.household(parent).unwrap().unwrap();
    assert!(household.adults.contains(&parent));
    assert!(!household.children.is_empty());
    for child in &household.children {
        assert!(population()[*child as usize - 1].parents.contains(&parent));
    }
}

#[test]
fn store_filters_claims_by_type_and_date_range() {
    let file = TempFile::new("claims");
    Store::build(&file.0, Population::new(SEED), PEOPLE, |_| {}).unwrap();
    let store = Store::open(&file.0).unwrap();
    // Someone with an old ended JSA claim and another, current claim.
    let c = population()
        .iter()
        .find(|c| {
            c.claims
                .iter()
                .any(|cl| cl.status == ClaimStatus::Ended && cl.end.unwrap() < d("2020-01-01"))
                && c.claims.iter().any(|cl| cl.end.is_none())
        })
        .expect("a person with old and current claims");
    let id = c.person.id;
    let all = store.claims(id, None, None, None).unwrap();
    assert_eq!(all.len(), c.claims.len());
    let recent = store
        .claims(id, None, Some(d("2025-01-01")), Some(AS_OF))
        .unwrap();
    assert!(!recent.is_empty());
    assert!(
        recent
            .iter()
            .all(|cl| cl.end.is_none_or(|e| e >= d("2025-01-01")))
    );
    assert!(recent.len() < all.len());
    for cl in &recent {
        assert!(
            cl.awards
                .iter()
                .all(|a| a.start <= AS_OF && a.end.is_none_or(|e| e >= d("2025-01-01")))
        );
    }
    let jsa = store
        .claims(
            id,
            Some(BenefitType::JobSeekersAllowanceIncomeBased),
            None,
            None,
        )
        .unwrap();
    assert!(!jsa.is_empty());
    assert!(
        jsa.iter()
            .all(|cl| cl.benefit == BenefitType::JobSeekersAllowanceIncomeBased)
    );
    let none = store
        .claims(
            id,
            Some(BenefitType::JobSeekersAllowanceIncomeBased),
            Some(d("2099-01-01")),
            None,
        )
        .unwrap();
    assert!(none.iter().all(|cl| cl.end.is_none()));

    // The last three months of a UC claim: what the free school meals check asks for.
    let uc = population()
        .iter()
        .find_map(|c| {
            c.claims.iter().find(|cl| {
                cl.benefit == BenefitType::UniversalCredit
                    && cl.end.is_none()
                    && cl.awards.len() > 6
            })
        })
        .unwrap();
    let from = AS_OF.add_months(-3);
    let got = store
        .claims(
            uc.person,
            Some(BenefitType::UniversalCredit),
            Some(from),
            Some(AS_OF),
        )
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        (3..=5).contains(&got[0].awards.len()),
        "{}",
        got[0].awards.len()
    );
}

#[test]
fn open_refuses_a_file_that_is_not_a_store() {
    let file = TempFile::new("not-a-store");
    std::fs::write(&file.0, b"").unwrap();
    let err = Store::open(&file.0).unwrap_err();
    assert!(matches!(err, CitizenError::NotAStore { .. }), "{err}");
    let missing = std::env::temp_dir().join("garrison-citizen-no-such-file.db");
    assert!(Store::open(&missing).is_err());
}

#[test]
fn building_over_an_existing_store_replaces_it() {
    let file = TempFile::new("replace");
    Store::build(&file.0, Population::new(1), 100, |_| {}).unwrap();
    Store::build(&file.0, Population::new(2), 50, |_| {}).unwrap();
    let store = Store::open(&file.0).unwrap();
    assert_eq!(store.meta().seed, 2);
    assert_eq!(store.meta().people, 50);
    assert_eq!(store.person(51).unwrap(), None);
}
