//! Self-service sign-up (`control_plane.self_sign_up`): a consumer developer creates their
//! own account, always in a new organisation of their own (never an existing one: anyone
//! could otherwise join an agency's organisation and see its applications), and is signed
//! in. The account can use sandbox keys at once; production still needs an API owner's
//! approval of a subscription request, as for every consumer.

use std::time::Instant;

use garrison_store::{NewUser, Role, StoreError, password};
use http::StatusCode;

use super::pages::{escape, html};
use super::{Page, Visit, form, pages, same_origin, session_cookie};
use crate::Portal;
use crate::identity::{check_name, open_session, own_organisation};

/// The generic refusal of details that cannot make an account, among them an email address
/// that already has one: the page does not say which, so that it cannot be used to learn
/// who has an account (the throttle bounds how many addresses can be tried).
const CHECK_DETAILS: &str = "Check your details: an account could not be created with them. If you already have an \
     account, sign in instead.";

/// What the form holds (the password is never sent back).
#[derive(Default)]
pub(super) struct Entered {
    name: String,
    email: String,
    organisation: String,
}

/// The sign-up page, with the values entered so far and an error, if any.
pub(super) fn page(entered: &Entered, error: Option<&str>, status: StatusCode) -> Page {
    let error = error
        .map(|e| {
            format!(
                "<div class=\"error\" role=\"alert\" id=\"sign-up-error\"><p>{}</p></div>\n",
                escape(e)
            )
        })
        .unwrap_or_default();
    let described = if error.is_empty() {
        ""
    } else {
        " aria-describedby=\"sign-up-error\""
    };
    let main = format!(
        "<h1>Create a developer account</h1>\n\
         <p>Your account can try every API's sandbox at once. Production access needs the \
         API owner's approval of your application's subscription request.</p>\n\
         {error}<form method=\"post\" action=\"/sign-up\"{described}>\n\
         <p><label for=\"name\">Your name</label>\n\
         <input id=\"name\" name=\"name\" autocomplete=\"name\" maxlength=\"200\" required value=\"{name}\"></p>\n\
         <p><label for=\"email\">Email address</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" maxlength=\"254\" required value=\"{email}\"></p>\n\
         <p><label for=\"password\">Password</label>\n\
         <span class=\"hint\" id=\"password-hint\">At least {min} characters.</span>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"{min}\" aria-describedby=\"password-hint\" required></p>\n\
         <p><label for=\"organisation\">Your team or organisation</label>\n\
         <span class=\"hint\" id=\"organisation-hint\">A new organisation is created for your account; it owns your applications.</span>\n\
         <input id=\"organisation\" name=\"organisation\" maxlength=\"200\" aria-describedby=\"organisation-hint\" required value=\"{organisation}\"></p>\n\
         <p><button type=\"submit\">Create account</button></p>\n</form>\n\
         <p>Already have an account? <a href=\"/sign-in\">Sign in</a></p>",
        name = escape(&entered.name),
        email = escape(&entered.email),
        organisation = escape(&entered.organisation),
        min = password::MIN_LENGTH,
    );
    html(status, "Create a developer account", &main, "")
}

/// `POST /sign-up`.
pub(super) fn sign_up(portal: &Portal, visit: &Visit) -> Page {
    if !same_origin(visit) {
        return pages::plain(
            StatusCode::FORBIDDEN,
            "The form did not come from this portal.",
        );
    }
    let fields = form::decode(&visit.body);
    let text = |name: &str| {
        form::field(&fields, name)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let entered = Entered {
        name: text("name"),
        email: text("email"),
        organisation: text("organisation"),
    };
    let secret = form::field(&fields, "password").unwrap_or_default();
    let addr = visit.peer.ip();
    let now = Instant::now();
    if let Some(wait) = portal.sign_ups.blocked(&entered.email, addr, now) {
        portal.record_event("anonymous", "signUp", "portal", "MESSAGE_THROTTLED_OUT");
        return page(
            &entered,
            Some(&format!(
                "Too many sign-ups from here. Try again in {} minutes.",
                wait.as_secs().div_ceil(60).max(1)
            )),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    // Every attempt counts, not only failures: the throttle bounds mass registration.
    portal.sign_ups.failed(&entered.email, addr, now);
    let refuse = |message: &str| {
        portal.record_event("anonymous", "signUp", "portal", "BAD_REQUEST");
        page(&entered, Some(message), StatusCode::BAD_REQUEST)
    };
    if check_name("name", &entered.name).is_err() {
        return refuse("Enter your name (at most 200 characters).");
    }
    if check_name("organisation", &entered.organisation).is_err() {
        return refuse("Enter your team or organisation's name (at most 200 characters).");
    }
    let email_ok = crate::identity::plausible_email(&entered.email);
    if !email_ok {
        return refuse("Enter an email address, like name@example.gov.uk.");
    }
    if secret.chars().count() < password::MIN_LENGTH {
        return refuse(&format!(
            "Choose a password of at least {} characters.",
            password::MIN_LENGTH
        ));
    }
    // Hashed before the email is looked up, so a taken address costs the same time.
    let password_hash = match password::hash(&secret) {
        Ok(hash) => hash,
        Err(e) => return failed(portal, &e),
    };
    match portal.store.user_by_email(&entered.email) {
        Ok(None) => {}
        Ok(Some(_)) => {
            portal.record_event("anonymous", "signUp", "portal", "CONFLICT");
            return page(&entered, Some(CHECK_DETAILS), StatusCode::BAD_REQUEST);
        }
        Err(e) => return failed(portal, &e),
    }
    let organisation = match own_organisation(portal, &entered.organisation) {
        Ok(id) => id,
        Err(e) => return failed(portal, &e),
    };
    let user = match portal.store.create_user(NewUser {
        email: entered.email.clone(),
        name: entered.name.clone(),
        organisation: Some(organisation),
        role: Role::ConsumerDeveloper,
        password_hash,
    }) {
        Ok(user) => user,
        // The address was taken between the look-up and now (the empty organisation stays,
        // owning nothing).
        Err(StoreError::Conflict(_)) => {
            portal.record_event("anonymous", "signUp", "portal", "CONFLICT");
            return page(&entered, Some(CHECK_DETAILS), StatusCode::BAD_REQUEST);
        }
        Err(e) => return failed(portal, &e),
    };
    portal.record_event(&format!("user:{}", user.id), "signUp", "portal", "ok");
    match open_session(portal, &entered.email, &secret, addr) {
        Ok((token, expires_at, _)) => {
            let mut answer = pages::redirect("/applications");
            session_cookie(&mut answer, &token, expires_at);
            answer
        }
        // The account exists; signing in is left to the sign-in page.
        Err(_) => pages::redirect("/sign-in"),
    }
}

fn failed(portal: &Portal, e: &StoreError) -> Page {
    tracing::error!(error = %e, "a sign-up failed");
    portal.record_event("anonymous", "signUp", "portal", "INTERNAL_SERVER_ERROR");
    pages::plain(StatusCode::INTERNAL_SERVER_ERROR, "Signing up failed.")
}

#[cfg(test)]
mod tests {
    use crate::identity::slug_of;

    #[test]
    fn slugs_are_lower_case_hyphenated_and_never_empty() {
        assert_eq!(slug_of("Acme Benefits Ltd."), "acme-benefits-ltd");
        assert_eq!(slug_of("  --Ünïcode & Co--  "), "n-code-co");
        assert_eq!(slug_of("日本"), "developer");
        assert_eq!(slug_of(&"a".repeat(300)).len(), 50);
        for name in ["x y", "--", "Team 42", &"ab-".repeat(40)] {
            crate::identity::check_slug("slug", &slug_of(name))
                .unwrap_or_else(|_| panic!("{name}"));
        }
    }
}
