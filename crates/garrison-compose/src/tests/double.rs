//! An in-memory stand-in for the gateway's HTTP layer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::{CallError, CallRequest, CallResponse, Caller};

/// What the double answers for one key.
pub(super) enum Answer {
    /// A response of this status and body.
    Respond(u16, Value),
    /// No response.
    Fail(fn() -> CallError),
}

/// Answers calls from a table keyed by operation, path and query, written
/// `"operation /name=value/… ?name=value&…"`; records every call and the most calls in flight at
/// once. A key not in the table is an [`CallError::Unavailable`].
#[derive(Default)]
pub(super) struct Upstream {
    answers: HashMap<String, Answer>,
    calls: Mutex<Vec<(String, CallRequest)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Upstream {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Answers `key` with a response.
    pub(super) fn respond(mut self, key: &str, status: u16, body: Value) -> Self {
        self.answers
            .insert(key.to_owned(), Answer::Respond(status, body));
        self
    }

    /// Answers `key` with a failure.
    pub(super) fn fail(mut self, key: &str, error: fn() -> CallError) -> Self {
        self.answers.insert(key.to_owned(), Answer::Fail(error));
        self
    }

    /// The calls made so far: operation and request, in the order they started.
    pub(super) fn calls(&self) -> Vec<(String, CallRequest)> {
        self.calls
            .lock()
            .map(|calls| calls.clone())
            .unwrap_or_default()
    }

    /// The keys of the calls made so far.
    pub(super) fn keys(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|(operation, request)| key(operation, request))
            .collect()
    }

    /// The most calls that were in flight at once.
    pub(super) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

fn key(operation: &str, request: &CallRequest) -> String {
    let mut key = operation.to_owned();
    if !request.path.is_empty() {
        key.push(' ');
        for (name, value) in &request.path {
            key.push_str(&format!("/{name}={value}"));
        }
    }
    if !request.query.is_empty() {
        let query: Vec<String> = request
            .query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        key.push_str(&format!(" ?{}", query.join("&")));
    }
    key
}

impl Caller for Upstream {
    async fn call(&self, operation: &str, request: CallRequest) -> Result<CallResponse, CallError> {
        let key = key(operation, &request);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((operation.to_owned(), request));
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        // Give the other calls of a parallel group the chance to start: if they are really
        // concurrent they are all in flight before any of them finishes.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        match self.answers.get(&key) {
            Some(Answer::Respond(status, body)) => Ok(CallResponse {
                status: *status,
                body: body.clone(),
            }),
            Some(Answer::Fail(error)) => Err(error()),
            None => Err(CallError::Unavailable(format!("no answer for {key}"))),
        }
    }
}
