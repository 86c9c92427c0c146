//! What `garrison up` adds for the citizen API library: the synthetic population (built once),
//! the citizen service in-process, and example requests for the checks drawn from real
//! people of the population.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use garrison_citizen::{
    BenefitType, CitizenService, ClaimStatus, DEFAULT_SEED, Population, ServiceOptions, Store,
};

/// Builds the population at `path` unless it exists.
pub(crate) fn ensure_population(path: &Path, people: u64) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    println!("Generating a synthetic population of {people} people (seed {DEFAULT_SEED}) …");
    Store::build(path, Population::new(DEFAULT_SEED), people, |_| {})
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts the citizen service on `address`; it runs until the process ends.
pub(crate) async fn spawn_service(store: &Path, address: SocketAddr) -> Result<(), String> {
    let service = CitizenService::new(store, ServiceOptions::default())
        .map_err(|e| format!("{}: {e}", store.display()))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("citizen service on {address}: {e}"))?;
    tokio::spawn(garrison_citizen::serve(
        listener,
        Arc::new(service),
        std::future::pending::<()>(),
    ));
    Ok(())
}

/// Writes request bodies for the checks, about people of the population (synthetic: nobody
/// real): a parent who receives Pension Credit (eligible for free school meals and exempt
/// from prescription charges), a living person with an address (identity), and someone who
/// does not exist.
pub(crate) fn write_examples(store: &Path, dir: &Path) -> Result<(), String> {
    let store = Store::open(store).map_err(|e| e.to_string())?;
    let meta = store.meta();
    let people = meta.people;
    let mut pension = None;
    let mut identity = None;
    let mut earner = None;
    // The months the income API holds (the twelve before the records' as-of month), and a
    // date in the last of them for the checks that ask about one.
    let this_month = meta.as_of.month();
    let (first, last) = (this_month.add_months(-12), this_month.add_months(-1));
    let (from, to) = (first.to_string(), last.to_string());
    let on = last.first_day().add_days(14).to_string();
    for id in 1..=people {
        let Ok(Some(person)) = store.person(id) else {
            continue;
        };
        if person.date_of_death.is_some() {
            continue;
        }
        if identity.is_none()
            && let Ok(Some(address)) = store.current_address(id)
            && store
                .find_by_name_dob(&person.last_name, person.date_of_birth)
                .map(|p| p.len() == 1)
                .unwrap_or(false)
        {
            identity = Some(serde_json::json!({
                "nino": person.nino.compact(), "lastName": person.last_name,
                "firstName": person.first_name, "dateOfBirth": person.date_of_birth.to_string(),
                "postcode": address.postcode.as_str()
            }));
        }
        if pension.is_none()
            && let Ok(claims) = store.claims(id, Some(BenefitType::PensionsCredit), None, None)
            && claims.iter().any(|c| c.status == ClaimStatus::InPayment)
        {
            pension = Some(serde_json::json!({
                "nino": person.nino.compact(), "lastName": person.last_name,
                "dateOfBirth": person.date_of_birth.to_string()
            }));
        }
        if earner.is_none()
            && store
                .earnings(id, first, last)
                .is_ok_and(|e| e.iter().map(|m| u64::from(m.pence)).sum::<u64>() > 500_000)
        {
            earner = Some(serde_json::json!({
                "nino": person.nino.compact(), "lastName": person.last_name,
                "dateOfBirth": person.date_of_birth.to_string(), "fromMonth": from, "toMonth": to
            }));
        }
        if pension.is_some() && identity.is_some() && earner.is_some() {
            break;
        }
    }
    let write = |name: &str, value: serde_json::Value| {
        let path = dir.join(name);
        std::fs::write(&path, format!("{value}\n")).map_err(|e| format!("{}: {e}", path.display()))
    };
    if let Some(parent) = pension {
        write("free-school-meals.json", parent.clone())?;
        let mut patient = parent;
        patient["date"] = serde_json::Value::from(on.as_str());
        write("prescription-exemption.json", patient.clone())?;
        write("passport-benefits.json", patient)?;
    }
    if let Some(earner) = earner {
        write("income-band.json", earner)?;
    }
    if let Some(applicant) = &identity {
        // What a caller might know: first name, the NI number's last four digits, postcode.
        let nino = applicant["nino"].as_str().unwrap_or_default();
        let digits: String = nino.chars().filter(char::is_ascii_digit).collect();
        write(
            "caller-identification.json",
            serde_json::json!({
                "lastName": applicant["lastName"], "dateOfBirth": applicant["dateOfBirth"],
                "firstName": applicant["firstName"],
                "ninoFragment": digits.get(digits.len().saturating_sub(4)..).unwrap_or_default(),
                "postcode": applicant["postcode"]
            }),
        )?;
    }
    if let Some(applicant) = identity {
        write("identity.json", applicant)?;
    }
    write(
        "nobody.json",
        serde_json::json!({"nino": "AB123456C", "lastName": "Nobody", "dateOfBirth": "1901-01-01"}),
    )
}
