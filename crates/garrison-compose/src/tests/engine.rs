//! The engine's rules, each with a small check of its own.

use serde_json::{Value, json};

use super::double::Upstream;
use crate::{
    CallDefinition, CallError, CallRequest, CheckDefinition, CompileError, CompiledCheck, Field,
    Outcome, RefusalDefinition, RefusalKind, RunError, Site, StepDefinition, compile,
};

fn call(name: &str, operation: &str) -> CallDefinition {
    CallDefinition {
        name: name.to_owned(),
        operation: operation.to_owned(),
        when: None,
        path: vec![],
        query: vec![],
        body: None,
    }
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn definition(steps: Vec<StepDefinition>, decision: &str) -> CheckDefinition {
    CheckDefinition {
        name: "test-check".to_owned(),
        steps,
        decision: decision.to_owned(),
        refusals: Vec::new(),
    }
}

fn compiled(def: &CheckDefinition) -> CompiledCheck {
    match compile(def) {
        Ok(check) => check,
        Err(error) => panic!("{error}"),
    }
}

fn compile_error(def: &CheckDefinition) -> CompileError {
    match compile(def) {
        Ok(check) => panic!("expected a compile error, got {check:?}"),
        Err(error) => error,
    }
}

async fn run(check: &CompiledCheck, upstream: &Upstream, request: Value) -> Outcome {
    match check.run(upstream, request, "2026-11-25").await {
        Ok(outcome) => outcome,
        Err(error) => panic!("{error}"),
    }
}

async fn run_error(check: &CompiledCheck, upstream: &Upstream, request: Value) -> RunError {
    match check.run(upstream, request, "2026-11-25").await {
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
        Err(error) => error,
    }
}

fn step_site(step: &str, field: Field) -> Site {
    Site {
        step: Some(step.to_owned()),
        field,
    }
}

// === running ===

#[tokio::test]
async fn values_pass_from_step_to_step() {
    let first = CallDefinition {
        body: Some(r#"{"name": upper(request.name), "on": addDays(today, 1)}"#.to_owned()),
        ..call("first", "a.first")
    };
    let second = CallDefinition {
        path: params(&[
            ("id", "steps.first.body.id"),
            ("n", "steps.first.body.n + 1"),
        ]),
        query: params(&[
            ("kind", "steps.first.body.kinds"),
            ("absent", "has(request.absent) ? request.absent : null"),
            ("flag", "steps.first.status == 201"),
        ]),
        ..call("second", "a.second")
    };
    let check = compiled(&definition(
        vec![StepDefinition::Call(first), StepDefinition::Call(second)],
        r#"{"total": sum(steps.second.body.items.map(i, i.amount)),
            "big": steps.second.body.items.filter(i, i.amount > 10).map(i, i.id),
            "first": steps.first.status}"#,
    ));
    let upstream = Upstream::new()
        .respond(
            "a.first",
            201,
            json!({"id": "x-1", "n": 41, "kinds": ["p", "q"]}),
        )
        .respond(
            "a.second /id=x-1/n=42 ?kind=p&kind=q&flag=true",
            200,
            json!({"items": [{"id": "i1", "amount": 5}, {"id": "i2", "amount": 20}]}),
        );
    let outcome = run(&check, &upstream, json!({"name": "smith"})).await;
    assert_eq!(
        outcome.answer,
        json!({"total": 25, "big": ["i2"], "first": 201})
    );
    assert_eq!(
        upstream.calls()[0].1,
        CallRequest {
            path: vec![],
            query: vec![],
            body: Some(json!({"name": "SMITH", "on": "2026-11-26"})),
        }
    );
}

#[tokio::test]
async fn when_false_skips_the_call_and_later_steps_see_it_skipped() {
    let skipped = CallDefinition {
        when: Some("request.wanted".to_owned()),
        ..call("maybe", "a.maybe")
    };
    let check = compiled(&definition(
        vec![StepDefinition::Call(skipped)],
        r#"{"skipped": steps.maybe.skipped, "status": steps.maybe.status,
            "body": steps.maybe.body}"#,
    ));
    let upstream = Upstream::new().respond("a.maybe", 200, json!({"x": 1}));
    let outcome = run(&check, &upstream, json!({"wanted": false})).await;
    assert_eq!(
        outcome.answer,
        json!({"skipped": true, "status": 0, "body": null})
    );
    assert!(upstream.calls().is_empty());
    assert!(outcome.calls[0].skipped);

    let outcome = run(&check, &upstream, json!({"wanted": true})).await;
    assert_eq!(
        outcome.answer,
        json!({"skipped": false, "status": 200, "body": {"x": 1}})
    );
    assert_eq!(upstream.calls().len(), 1);
}

fn refusal(when: &str, kind: RefusalKind) -> RefusalDefinition {
    RefusalDefinition {
        when: when.to_owned(),
        kind,
        detail: Some("Said by the check.".to_owned()),
    }
}

#[tokio::test]
async fn a_refusal_ends_the_check_as_soon_as_the_steps_it_reads_have_run() {
    let mut def = definition(
        vec![
            StepDefinition::Call(call("first", "a.first")),
            StepDefinition::Call(call("second", "a.second")),
        ],
        r#"{"answer": steps.second.body.n}"#,
    );
    def.refusals = vec![
        // Reads no step: decided before any call.
        refusal("request.date > today", RefusalKind::Invalid),
        // Reads the first step only: decided before the second is called.
        refusal(
            "!(steps.first.status in [200, 404])",
            RefusalKind::Unavailable,
        ),
        refusal("steps.second.status >= 500", RefusalKind::Unavailable),
    ];
    let check = compiled(&def);
    let failing_first = Upstream::new()
        .respond("a.first", 503, json!(null))
        .respond("a.second", 200, json!({"n": 1}));

    let error = run_error(&check, &failing_first, json!({"date": "2026-11-26"})).await;
    assert!(
        matches!(&error, RunError::Refused { index: 0, kind: RefusalKind::Invalid, detail: Some(d), .. }
            if d == "Said by the check."),
        "{error:?}"
    );
    assert!(
        failing_first.calls().is_empty(),
        "no call for a refused request"
    );

    let error = run_error(&check, &failing_first, json!({"date": "2026-11-25"})).await;
    assert!(
        matches!(
            &error,
            RunError::Refused {
                index: 1,
                kind: RefusalKind::Unavailable,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        failing_first.keys(),
        ["a.first"],
        "the second step is never called"
    );

    let failing_second = Upstream::new()
        .respond("a.first", 404, json!(null))
        .respond("a.second", 500, json!(null));
    let error = run_error(&check, &failing_second, json!({"date": "2026-11-01"})).await;
    assert!(
        matches!(&error, RunError::Refused { index: 2, .. }),
        "{error:?}"
    );

    let answering = Upstream::new()
        .respond("a.first", 200, json!(null))
        .respond("a.second", 200, json!({"n": 7}));
    let outcome = run(&check, &answering, json!({"date": "2026-11-01"})).await;
    assert_eq!(outcome.answer, json!({"answer": 7}));
}

#[tokio::test]
async fn a_refusal_that_is_not_a_bool_is_an_error_and_one_reading_no_step_is_checked_at_compile() {
    let mut def = definition(vec![], "{}");
    def.refusals = vec![refusal("request.date", RefusalKind::Invalid)];
    let error = run_error(&compiled(&def), &Upstream::new(), json!({"date": "x"})).await;
    assert!(
        matches!(&error, RunError::WrongType { site, found: "string", .. }
            if site.field == Field::Refusal(0)),
        "{error:?}"
    );
    def.refusals = vec![refusal(
        "steps.nowhere.status == 1",
        RefusalKind::Unavailable,
    )];
    assert!(matches!(
        compile_error(&def),
        CompileError::UnknownStep { site, .. } if site.field == Field::Refusal(0)
    ));
}

#[tokio::test]
async fn when_that_is_not_a_bool_is_an_error() {
    let check = compiled(&definition(
        vec![StepDefinition::Call(CallDefinition {
            when: Some("request.wanted".to_owned()),
            ..call("maybe", "a.maybe")
        })],
        "{}",
    ));
    let error = run_error(&check, &Upstream::new(), json!({"wanted": "yes"})).await;
    assert!(
        matches!(&error, RunError::WrongType { site, found: "string", .. }
            if *site == step_site("maybe", Field::When)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_parallel_group_runs_concurrently_and_later_steps_see_all_of_it() {
    let check = compiled(&definition(
        vec![
            StepDefinition::Parallel(vec![call("a", "x.a"), call("b", "x.b"), call("c", "x.c")]),
            StepDefinition::Call(CallDefinition {
                path: params(&[("sum", "steps.a.body.n + steps.b.body.n + steps.c.body.n")]),
                ..call("d", "x.d")
            }),
        ],
        r#"{"d": steps.d.body.n}"#,
    ));
    let upstream = Upstream::new()
        .respond("x.a", 200, json!({"n": 1}))
        .respond("x.b", 200, json!({"n": 2}))
        .respond("x.c", 200, json!({"n": 3}))
        .respond("x.d /sum=6", 200, json!({"n": "done"}));
    let outcome = run(&check, &upstream, json!({})).await;
    assert_eq!(outcome.answer, json!({"d": "done"}));
    assert_eq!(upstream.max_in_flight(), 3);
    let names: Vec<&str> = outcome.calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn sequential_steps_do_not_overlap() {
    let check = compiled(&definition(
        vec![
            StepDefinition::Call(call("a", "x.a")),
            StepDefinition::Call(call("b", "x.b")),
        ],
        "{}",
    ));
    let upstream =
        Upstream::new()
            .respond("x.a", 200, Value::Null)
            .respond("x.b", 200, Value::Null);
    run(&check, &upstream, json!({})).await;
    assert_eq!(upstream.max_in_flight(), 1);
}

#[tokio::test]
async fn a_decision_that_is_not_a_map_is_an_error() {
    for (decision, found) in [
        ("true", "bool"),
        ("'eligible'", "string"),
        ("[1]", "list"),
        ("null", "null_type"),
    ] {
        let check = compiled(&definition(vec![], decision));
        let error = run_error(&check, &Upstream::new(), json!({})).await;
        assert!(
            matches!(&error, RunError::WrongType { site: Site { step: None, field: Field::Decision }, found: f, .. } if *f == found),
            "{decision}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_caller_failure_is_an_error_naming_the_step_and_operation() {
    let check = compiled(&definition(
        vec![StepDefinition::Parallel(vec![
            call("a", "x.a"),
            call("b", "x.b"),
        ])],
        "{}",
    ));
    let upstream = Upstream::new()
        .respond("x.a", 200, Value::Null)
        .fail("x.b", || {
            CallError::Unavailable("connection refused".to_owned())
        });
    let error = run_error(&check, &upstream, json!({})).await;
    match &error {
        RunError::Call {
            check,
            step,
            operation,
            source: CallError::Unavailable(_),
        } => {
            assert_eq!(
                (check.as_str(), step.as_str(), operation.as_str()),
                ("test-check", "b", "x.b")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "check `test-check`, step `b`: call of `x.b` failed"
    );
}

#[tokio::test]
async fn evaluation_errors_name_the_site_but_never_a_value() {
    let nino = "QQ123456C";
    let cases = [
        (r#"{"x": request.nino + 1}"#, "string and int"),
        (r#"{"x": request.lookup[request.nino]}"#, "no such key"),
        (r#"{"x": request.nino > 1}"#, "_>_"),
        (r#"{"x": int(request.nino)}"#, "int"),
        (r#"{"x": addDays(request.nino, 1)}"#, "YYYY-MM-DD"),
        (r#"{"x": request.missing}"#, "no such key: missing"),
    ];
    for (decision, expected) in cases {
        let check = compiled(&definition(vec![], decision));
        let error = run_error(
            &check,
            &Upstream::new(),
            json!({"nino": nino, "lookup": {}}),
        )
        .await;
        let text = format!("{error} {error:?}");
        assert!(text.contains(expected), "{decision}: {text}");
        assert!(text.contains("`decision`"), "{decision}: {text}");
        assert!(!text.contains(nino), "{decision}: {text}");
    }
}

#[tokio::test]
async fn a_path_parameter_must_have_a_scalar_value_and_a_null_query_parameter_is_omitted() {
    let check = compiled(&definition(
        vec![StepDefinition::Call(CallDefinition {
            path: params(&[("id", "request.id")]),
            query: params(&[("q", "request.q")]),
            ..call("a", "x.a")
        })],
        "{}",
    ));
    let upstream = Upstream::new().respond("x.a /id=7", 200, Value::Null);
    run(&check, &upstream, json!({"id": 7, "q": null})).await;
    assert_eq!(upstream.keys(), ["x.a /id=7"]);
    for id in [json!(null), json!({"a": 1}), json!([1])] {
        let error = run_error(&check, &upstream, json!({"id": id, "q": null})).await;
        assert!(
            matches!(&error, RunError::WrongType { site, .. } if *site == step_site("a", Field::Path("id".into()))),
            "{error:?}"
        );
    }
}

#[test]
fn a_check_is_shared_across_threads_and_its_run_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledCheck>();
    let check = compiled(&definition(vec![], "{}"));
    let upstream = Upstream::new();
    let run = check.run(&upstream, json!({}), "2026-11-25");
    assert_send(&run);
}

// === compiling ===

#[test]
fn bad_syntax_names_the_check_step_and_field_with_cels_message() {
    let def = definition(
        vec![StepDefinition::Call(CallDefinition {
            query: params(&[("from", "addMonths(today, -3")]),
            ..call("claims", "x.claims")
        })],
        "{}",
    );
    match compile_error(&def) {
        CompileError::Syntax {
            check,
            site,
            message,
        } => {
            assert_eq!(check, "test-check");
            assert_eq!(site, step_site("claims", Field::Query("from".into())));
            assert!(!message.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let error = compile_error(&definition(vec![], "{'a': }"));
    assert!(
        error
            .to_string()
            .starts_with("check `test-check`, `decision`: invalid CEL: "),
        "{error}"
    );
}

#[test]
fn a_reference_to_an_unknown_step_is_rejected() {
    let error = compile_error(&definition(
        vec![StepDefinition::Call(call("a", "x.a"))],
        "{'x': steps.b.status}",
    ));
    assert_eq!(
        error,
        CompileError::UnknownStep {
            check: "test-check".into(),
            site: Site {
                step: None,
                field: Field::Decision
            },
            name: "b".into()
        }
    );
}

#[test]
fn a_reference_to_a_step_that_has_not_run_is_rejected() {
    let forward = |steps: Vec<StepDefinition>| match compile_error(&definition(steps, "{}")) {
        CompileError::ForwardReference { site, name, .. } => (site, name),
        other => panic!("{other:?}"),
    };
    // A later step.
    let (site, name) = forward(vec![
        StepDefinition::Call(CallDefinition {
            body: Some("{'id': steps.b.body.id}".into()),
            ..call("a", "x.a")
        }),
        StepDefinition::Call(call("b", "x.b")),
    ]);
    assert_eq!((site, name.as_str()), (step_site("a", Field::Body), "b"));
    // A step of the same parallel group.
    let (site, name) = forward(vec![StepDefinition::Parallel(vec![
        call("a", "x.a"),
        CallDefinition {
            when: Some("steps.a.status == 200".into()),
            ..call("b", "x.b")
        },
    ])]);
    assert_eq!((site, name.as_str()), (step_site("b", Field::When), "a"));
    // Itself, even inside a macro and a presence test.
    let (site, name) = forward(vec![StepDefinition::Call(CallDefinition {
        path: params(&[("id", "[1].exists(x, has(steps.a.body))")]),
        ..call("a", "x.a")
    })]);
    assert_eq!(
        (site, name.as_str()),
        (step_site("a", Field::Path("id".into())), "a")
    );
}

#[test]
fn duplicate_and_unusable_step_names_are_rejected() {
    let error = compile_error(&definition(
        vec![
            StepDefinition::Call(call("a", "x.a")),
            StepDefinition::Parallel(vec![call("b", "x.b"), call("a", "x.c")]),
        ],
        "{}",
    ));
    assert_eq!(
        error,
        CompileError::DuplicateStep {
            check: "test-check".into(),
            step: "a".into()
        }
    );
    for name in ["", "1a", "a-b", "in", "a.b"] {
        let error = compile_error(&definition(
            vec![StepDefinition::Call(call(name, "x"))],
            "{}",
        ));
        assert!(
            matches!(error, CompileError::InvalidStepName { .. }),
            "{name}: {error:?}"
        );
    }
}

#[test]
fn only_request_steps_and_today_exist() {
    let error = compile_error(&definition(vec![], "{'x': requests.nino}"));
    assert!(
        matches!(&error, CompileError::UnknownVariable { name, .. } if name == "requests"),
        "{error:?}"
    );
    let error = compile_error(&definition(vec![], "{'x': [1].map(x, y)}"));
    assert!(
        matches!(&error, CompileError::UnknownVariable { name, .. } if name == "y"),
        "{error:?}"
    );
    // Macro variables are in scope only inside their macro.
    let error = compile_error(&definition(vec![], "{'x': [1].map(x, x) + [x]}"));
    assert!(
        matches!(&error, CompileError::UnknownVariable { name, .. } if name == "x"),
        "{error:?}"
    );
    // `steps` must be read as `steps.<name>`, so what it reads is known.
    for decision in [
        "{'x': steps['a']}",
        "{'x': size(steps)}",
        "{'x': 'a' in steps}",
    ] {
        let error = compile_error(&definition(
            vec![StepDefinition::Call(call("a", "x"))],
            decision,
        ));
        assert!(
            matches!(error, CompileError::StepsNotSelected { .. }),
            "{decision}: {error:?}"
        );
    }
    // Text that looks like a reference is not one.
    compiled(&definition(
        vec![],
        "{'x': 'steps.nothing and someVariable', 'y': [request].all(steps, has(steps.a)), 'today': today}",
    ));
}
