#![allow(missing_docs)]
use std::path::Path;

fn show(name: &str, text: &str) {
    match garrison_config::load_str(Path::new("/tmp/x/g.yaml"), text) {
        Ok(_) => println!("--- {name}: OK"),
        Err(e) => println!("--- {name}:\n{e}\n{:?}", e.problems),
    }
}

#[test]
fn explore() {
    let base = "listeners:\n  - name: a\n    address: 127.0.0.1:0\n";
    show("empty", "");
    show("comment only", "# hi\n");
    show("minimal", base);
    show("typo top", &format!("{base}routs: []\n"));
    show("typo nested", &format!("{base}upstreams:\n  - name: u\n    targets: [a:1]\n    conect_timeout: 1s\n"));
    show("typo breaker", &format!("{base}upstreams:\n  - name: u\n    targets: [a:1]\n    circuit_breaker:\n      failurs: 3\n"));
    show("wrong type", &format!("{base}plans:\n  - name: p\n    rate: 1/s\n    burst: ten\n"));
    show("wrong type neg", &format!("{base}plans:\n  - name: p\n    rate: 1/s\n    burst: -1\n"));
    show("bool yes", &format!("{base}gateway:\n  access_log: yes\n"));
    show("bool str", &format!("{base}gateway:\n  access_log: \"true\"\n"));
    show("quoted num", &format!("{base}plans:\n  - name: p\n    rate: 1/s\n    burst: \"10\"\n"));
    show("list as scalar", &format!("{base}gateway:\n  allow: 10.0.0.0/8\n"));
    show("dup key", &format!("{base}gateway:\n  access_log: true\n  access_log: false\n"));
    show("missing field", &format!("{base}plans:\n  - name: p\n"));
    show("syntax", &format!("{base}plans: [\n"));
    show("tabs", "listeners:\n\t- name: a\n");
    show("anchor", &format!("{base}x: &a 1\n"));
    show("conflicts", &format!("{base}upstreams:\n  - name: u\n    targets: [a:1]\nroutes:\n  - name: r1\n    path: /citizens/{{id}}\n    upstream: u\n  - name: r2\n    path: /citizens/{{nino}}\n    upstream: u\n  - name: r3\n    path: /citizens/match\n    upstream: u\n  - name: r4\n    path: /files/{{*rest}}\n    upstream: u\n  - name: r5\n    path: /files/x\n    upstream: u\n  - name: r6\n    path: /files/{{*other}}\n    upstream: u\n  - name: r7\n    path: /a/{{\n    upstream: u\n  - name: r8\n    path: /b/{{*x}}/c\n    upstream: u\n  - name: r9\n    path: /citizens/{{id}}\n    methods: [get]\n    host: API.example\n    upstream: u\n  - name: r10\n    path: /c/x{{id}}\n    upstream: u\n"));
    show("grn", &format!("{base}consumers:\n  - name: c\n    keys:\n      - id: k\n        plaintext: grn_live_0123456789012345678901234567890123456789012345678\n      - id: k2\n        plaintext: grn_live_short\n      - id: k3\n        plaintext: short\n      - id: k4\n        plaintext: imported-from-kong-123\n        digest: sha256:00\n"));
    show("durations", &format!("{base}gateway:\n  limits:\n    body_timeout: 0s\n    header_read_timeout: 10\n    keep_alive_timeout: 1.5s\n    tls_handshake_timeout: 99999999999999999999999s\n    max_headers: 2\n"));
    show("tls", &format!("listeners:\n  - name: a\n    address: 127.0.0.1:0\n    tls:\n      certificate: nope.pem\n      key: nope.key\n"));
    show("no listeners", "gateway:\n  allow: [10.0.0.0/33, 10.1.2.3/8, '::1', bogus]\n");
}
