//! Call rules read from the text, stored with the call and used downstream
//! (issue 15): stored once, read again when the text changes.

use crate::helpers;
use chrono::{DateTime, Utc};
use psi_radar::normalize::rules::OrgKind;
use psi_radar::sources::manual::{ManualCall, add_manual};

fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z").unwrap().with_timezone(&Utc)
}

fn manual(text: &str) -> ManualCall {
    ManualCall {
        title: "Lokala initiativ".into(),
        url: "https://example.org/lokala-initiativ".into(),
        funder: Some("Tillväxtverket".into()),
        deadline: None,
        text: Some(text.into()),
        lang: None,
    }
}

#[tokio::test]
async fn rules_are_stored_once_and_read_again_when_the_text_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let r = add_manual(&ctx.store, &manual("Vem kan söka? Kommuner."), now).await.unwrap().reference;
    assert!(ctx.store.get_call(r).await.unwrap().unwrap().rules.is_none(), "the store only persists; the job reads");
    assert_eq!(psi_radar::jobs::poll::read_rules(&ctx, now).await.unwrap(), 1);
    let rules = ctx.store.get_call(r).await.unwrap().unwrap().rules.expect("stored rules");
    assert_eq!(rules.eligibility.applicants, vec![OrgKind::Kommun]);
    assert_eq!(psi_radar::jobs::poll::read_rules(&ctx, now).await.unwrap(), 0, "an unchanged text is not read again");

    add_manual(&ctx.store, &manual("Vem kan söka? Regioner."), now).await.unwrap();
    assert_eq!(psi_radar::jobs::poll::read_rules(&ctx, now).await.unwrap(), 1);
    let rules = ctx.store.get_call(r).await.unwrap().unwrap().rules.expect("stored rules");
    assert_eq!(rules.eligibility.applicants, vec![OrgKind::Region]);
}
