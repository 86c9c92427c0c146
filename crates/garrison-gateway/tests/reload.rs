//! Hot reload: under continuous load with no failed request, refused when invalid (the old
//! configuration keeps serving), triggered by the admin API, the file watcher and SIGHUP.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Harness, Setup, admin, assert_problem};
use garrison_testkit::client::{Protocol, get};
use garrison_testkit::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_continuous_load_fail_no_request() {
    let h = Arc::new(Harness::start(Setup::default()).await);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    // Two keep-alive connections per protocol, and one caller opening a connection per request.
    for (i, (protocol, reuse)) in [
        (Protocol::Http1, true),
        (Protocol::Http2, true),
        (Protocol::Http1, false),
    ]
    .into_iter()
    .enumerate()
    {
        let (h, stop, ok, failed) = (h.clone(), stop.clone(), ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let key = h.consumer("alice").key.clone();
            let client = h.client("alice", protocol);
            let mut sender = client.open(h.addr).await.expect("connect");
            let mut n = 0u32;
            // Bounded: stops when told, and in any case after 100k requests.
            while !stop.load(Ordering::Relaxed) && n < 100_000 {
                n += 1;
                if !reuse {
                    sender = client.open(h.addr).await.expect("connect");
                }
                match sender
                    .send(get(&format!("/citizens/{i}-{n}"), Some(&key)))
                    .await
                {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(r) => {
                        eprintln!("status {} body {:?}", r.status(), r.body());
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(e) => {
                        eprintln!("error {e}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    let start_generation = h.gateway.generation();
    for round in 0..20u32 {
        // Alternate between two different valid configurations.
        let mut setup = Setup::default();
        if round % 2 == 0 {
            setup.rate = "2000/s";
            setup.extra_routes = format!(
                "  - name: extra{round}\n    group: citizen\n    path: /extra/{round}\n    upstream: main\n"
            );
        }
        h.rewrite(&setup);
        let before = ok.load(Ordering::Relaxed);
        h.gateway.reload().expect("valid configuration reloads");
        // Let traffic flow on the new snapshot before the next swap.
        assert!(
            eventually(Duration::from_secs(10), || ok.load(Ordering::Relaxed)
                > before + 20)
            .await,
            "traffic stalled after reload {round}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("worker");
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed requests");
    assert!(ok.load(Ordering::Relaxed) > 400);
    assert_eq!(h.gateway.generation(), start_generation + 20);
}

#[tokio::test]
async fn an_invalid_configuration_is_refused_and_the_old_one_keeps_serving() {
    let h = Harness::start(Setup::default()).await;
    let generation = h.gateway.generation();
    let good = std::fs::read_to_string(h.config_path()).expect("read");
    let broken = good.replace(
        "upstream: main\n    max_body_bytes: 1024",
        "upstream: mian\n    max_body_bytes: 1024",
    );
    assert_ne!(good, broken);
    std::fs::write(h.config_path(), &broken).expect("write");
    let error = h.gateway.reload().expect_err("refused");
    let lines = error.lines();
    let line_of_typo = broken
        .lines()
        .position(|l| l.contains("upstream: mian"))
        .expect("typo line")
        + 1;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!("garrison.yaml:{line_of_typo}:"))
            && lines[0].contains("routes[0].upstream")
            && lines[0].contains("mian"),
        "{lines:?}"
    );
    assert_eq!(h.gateway.generation(), generation);
    assert_eq!(h.get_as("alice", "/citizens/1").await.status(), 200);

    // The same through the admin API, which wants its token.
    let admin_addr = h.gateway.admin_addr();
    let (status, body) = admin(admin_addr, "POST", "/admin/reload", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = admin(admin_addr, "POST", "/admin/reload", Some("wrong-token")).await;
    assert_eq!(status, 401);
    let (status, body) = admin(admin_addr, "POST", "/admin/reload", Some(&h.admin_token)).await;
    assert_eq!(status, 400, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(problem["code"], "CONFIG_INVALID");
    assert!(
        problem["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("routes[0].upstream"))
    );

    // Moving a listener needs a restart, and says so.
    std::fs::write(
        h.config_path(),
        good.replace("address: 127.0.0.1:0", "address: 127.0.0.1:1"),
    )
    .expect("write");
    let error = h.gateway.reload().expect_err("needs restart");
    assert!(error.to_string().contains("needs a restart"), "{error}");

    std::fs::write(h.config_path(), &good).expect("write");
    let (status, body) = admin(admin_addr, "POST", "/admin/reload", Some(&h.admin_token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.gateway.generation(), generation + 1);
    let (_, metrics) = admin(admin_addr, "GET", "/metrics", None).await;
    assert!(
        metrics.contains("garrison_config_reloads_total{result=\"rejected\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("garrison_config_reloads_total{result=\"ok\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn saving_the_file_reloads_it_and_sighup_reloads_it_too() {
    let h = Harness::start(Setup::default()).await;
    let _watcher = garrison_gateway::watch_config(h.gateway.reloader()).expect("watch");
    assert_problem(
        &h.get_as("alice", "/watched/1").await,
        404,
        "MATCHING_RESOURCE_NOT_FOUND",
    );
    h.rewrite(&Setup {
        extra_routes:
            "  - name: watched\n    group: citizen\n    path: /watched/{id}\n    upstream: main\n"
                .into(),
        ..Setup::default()
    });
    assert!(
        eventually(Duration::from_secs(10), || h.gateway.generation() >= 2).await,
        "the file watcher reloaded the configuration"
    );
    assert_eq!(h.get_as("alice", "/watched/1").await.status(), 200);

    #[cfg(unix)]
    {
        garrison_gateway::reload_on_sighup(h.gateway.reloader()).expect("signal handler");
        let before = h.gateway.generation();
        let status = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        assert!(
            eventually(Duration::from_secs(10), || h.gateway.generation() > before).await,
            "SIGHUP reloaded the configuration"
        );
    }
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served_on_the_admin_listener() {
    let h = Harness::start(Setup::default()).await;
    let admin_addr = h.gateway.admin_addr();
    assert_eq!(admin(admin_addr, "GET", "/healthz", None).await.0, 200);
    let (status, body) = admin(admin_addr, "GET", "/readyz", None).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"generation\":1"), "{body}");
    assert_eq!(h.get_as("alice", "/citizens/1").await.status(), 200);
    assert_eq!(h.get_as("carol", "/citizens/1").await.status(), 403);
    let (status, metrics) = admin(admin_addr, "GET", "/metrics", None).await;
    assert_eq!(status, 200);
    for series in [
        "garrison_requests_total{route=\"citizen\",consumer=\"alice\",status=\"200\"} 1",
        "garrison_requests_total{route=\"citizen\",consumer=\"carol\",status=\"403\"} 1",
        "garrison_request_duration_seconds_count{route=\"citizen\"} 2",
        "garrison_upstream_target_up{upstream=\"main\"",
        "garrison_ratelimit_cells 5",
    ] {
        assert!(metrics.contains(series), "missing {series} in\n{metrics}");
    }
    assert!(
        !metrics.contains(&h.consumer("alice").key),
        "no key in metrics"
    );
    assert_eq!(admin(admin_addr, "GET", "/nope", None).await.0, 404);
    assert_eq!(admin(admin_addr, "GET", "/admin/reload", None).await.0, 405);
}
