//! Secure file transfer through the real gateway over mutual TLS: tus 1.0.0 conformance (every
//! status the protocol defines), entitlement before any byte is stored, encryption at rest,
//! integrity on download, inboxes, acknowledgement and deletion, restarts mid-upload, and the
//! audit trail.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod audit;
mod http2;
mod integrity;
mod lifecycle;
mod notifications;
mod protocol;
mod uploads;
