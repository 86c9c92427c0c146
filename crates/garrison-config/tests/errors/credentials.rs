//! Networks, fingerprints, keys.

use super::*;

#[test]
fn bad_networks_are_refused_in_every_allow_list() {
    let yaml = mistake(
        "listeners:\n",
        "gateway:\n  allow: [10.0.0.0/8, 10.0.0.0/33]\n  trusted_proxies: [proxy.internal]\nlisteners:\n",
    );
    let yaml = yaml.replacen("10.1.2.3/8]", "10.1.2/8]", 1);
    let (_s, file, problems) = rejected("cidr", &yaml);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_problem(
        &problems,
        &file,
        position(&yaml, "10.0.0.0/33"),
        "gateway.allow[1]",
        &["\"10.0.0.0/33\" is not an IP address or CIDR network"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "proxy.internal"),
        "gateway.trusted_proxies[0]",
        &["not an IP address or CIDR network"],
    );
    assert_problem(
        &problems,
        &file,
        position(&yaml, "10.1.2/8"),
        "consumers[0].allow[1]",
        &["e.g. 203.0.113.0/24"],
    );
}

#[test]
fn a_bad_certificate_fingerprint_is_refused() {
    let short = &FINGERPRINT[..FINGERPRINT.len() - 3];
    let yaml = mistake(FINGERPRINT, short);
    let (_s, file, problems) = rejected("fingerprint", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, &format!("\"{short}\"")),
        "consumers[0].certificates[0]",
        &["64 hex digits, optionally separated by colons"],
    );
}

#[test]
fn a_bad_key_digest_is_refused() {
    let truncated = &DVLA_DIGEST[..40];
    let yaml = mistake(DVLA_DIGEST, truncated);
    let (_s, file, problems) = rejected("digest", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, &format!("\"{truncated}\"")),
        "consumers[0].keys[0].digest",
        &["expected sha256: followed by 64 hex digits"],
    );

    let yaml = mistake(
        "listeners:\n",
        "admin:\n  token_digest: md5:0123\nlisteners:\n",
    );
    let (_s, file, problems) = rejected("admin-digest", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "md5:0123"),
        "admin.token_digest",
        &["expected sha256: followed by 64 hex digits"],
    );
}

#[test]
fn a_garrison_key_with_a_wrong_checksum_is_refused() {
    let key = ApiKey::generate(Environment::Live).expect("random");
    let mut mistyped = key.expose().to_owned();
    let last = mistyped.pop().expect("non-empty");
    mistyped.push(if last == 'a' { 'b' } else { 'a' });
    let yaml = mistake(
        "plaintext: imported-from-kong-0001",
        &format!("plaintext: {mistyped}"),
    );
    let (_s, file, problems) = rejected("checksum", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, &mistyped),
        "consumers[1].keys[0].plaintext",
        &["not a valid Garrison key", "checksum does not match"],
    );

    let yaml = mistake(
        "plaintext: imported-from-kong-0001",
        "plaintext: grn_live_tooshortbutlongerthan16",
    );
    let (_s, file, problems) = rejected("grn-shape", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "grn_live_tooshort"),
        "consumers[1].keys[0].plaintext",
        &["not a valid Garrison key", "base62"],
    );
}

#[test]
fn imported_keys_must_be_long_and_given_exactly_one_way() {
    let yaml = mistake("plaintext: imported-from-kong-0001", "plaintext: kong-123");
    let (_s, file, problems) = rejected("short-key", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "kong-123"),
        "consumers[1].keys[0].plaintext",
        &["at least 16 characters"],
    );

    let yaml = mistake(
        "plaintext: imported-from-kong-0001",
        &format!("plaintext: imported-from-kong-0001\n        digest: \"{OLD_DIGEST}\""),
    );
    let (_s, file, problems) = rejected("both", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "legacy"),
        "consumers[1].keys[0]",
        &["give exactly one of `digest`", "or `plaintext`"],
    );
}

#[test]
fn one_key_cannot_belong_to_two_consumers() {
    // The same key, once as a digest and once in plaintext.
    let yaml = mistake(DVLA_DIGEST, IMPORTED_DIGEST);
    let (_s, file, problems) = rejected("shared-key", &yaml);
    assert_only(
        &problems,
        &file,
        position(&yaml, "legacy"),
        "consumers[1].keys[0]",
        &["already a key of consumer \"dvla\""],
    );
}
