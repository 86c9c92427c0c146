//! The audit trail of refusals: what was asked, by whom, and why it was refused.

use garrison_audit::Decision;

use crate::support::{BASE, audit_after_shutdown, create, metadata, patch, send, start};

#[tokio::test]
async fn refusals_are_audited_with_what_was_asked() {
    let h = start().await;
    let r = send(
        &h,
        "carol",
        "POST",
        &format!("{BASE}/uploads"),
        &[
            ("upload-length", "10"),
            (
                "upload-metadata",
                &metadata("bob-inbox", "medical-assessment"),
            ),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 403);
    let path = create(&h, "alice", 10, "bob-inbox").await;
    assert_eq!(patch(&h, &path, 3, b"x").await.status(), 409);
    let found = audit_after_shutdown(h).await;
    let refused: Vec<_> = found
        .iter()
        .map(|f| &f.record)
        .filter(|r| matches!(r.decision, Decision::Refused { .. }))
        .collect();
    let entitlement = refused
        .iter()
        .find(|r| r.consumer.as_deref() == Some("carol"))
        .expect("carol's refusal");
    assert_eq!(
        entitlement.decision,
        Decision::Refused {
            reason: "RESOURCE_FORBIDDEN".into()
        }
    );
    assert_eq!(entitlement.operation, "evidence.create");
    let facts = entitlement.file.as_ref().expect("facts");
    assert_eq!(facts.recipient, "bob-inbox");
    assert_eq!(facts.size, 10);
    assert!(refused.iter().any(|r| r.decision
        == Decision::Refused {
            reason: "UPLOAD_OFFSET_CONFLICT".into()
        }
        && r.operation == "evidence.append"));
}
