//! The audit log: filters, newest-first pages and purging.

use super::*;

pub async fn audit_events_filter_page_newest_first_and_purge(store: Arc<dyn Store>) -> Outcome {
    let actor = ObjectId::new();
    let space = ObjectId::new();
    let t0 = Timestamp::now();
    let mut ids = Vec::new();
    for (n, action) in
        ["auth.login", "auth.login.failed", "space.member.role", "space_x.other", "auth.logout"]
            .into_iter()
            .enumerate()
    {
        let event = AuditRecord {
            id: ObjectId::new(),
            at: t0.add_millis(i64::try_from(n)? * 10),
            actor_id: (n != 1).then_some(actor),
            actor_name: Some("ann@example.com".to_owned()),
            action: action.to_owned(),
            target_kind: Some("user".to_owned()),
            target_id: Some(format!("target-{}", n % 2)),
            space_id: (n == 2).then_some(space),
            client_ip: Some("2001:db8::1".to_owned()),
            details: json!({"n": n}),
        };
        store.insert_audit_event(&event).await?;
        ids.push(event);
    }
    let query = |action: Option<&str>| AuditQuery {
        action: action.map(str::to_owned),
        limit: 10,
        ..AuditQuery::default()
    };
    let all = store.audit_events(&query(None)).await?;
    let newest_first: Vec<AuditRecord> = ids.iter().rev().cloned().collect();
    assert_eq!(all, newest_first, "round trip, newest first");
    let names = |events: Vec<AuditRecord>| events.into_iter().map(|e| e.action).collect::<Vec<_>>();
    assert_eq!(
        names(store.audit_events(&query(Some("auth."))).await?),
        ["auth.logout", "auth.login.failed", "auth.login"],
        "a prefix ending in a dot"
    );
    assert_eq!(names(store.audit_events(&query(Some("auth.login"))).await?), ["auth.login"]);
    // An underscore in the prefix is matched as itself.
    assert_eq!(names(store.audit_events(&query(Some("space_x."))).await?), ["space_x.other"]);
    let by_actor = AuditQuery { actor_id: Some(actor), ..query(None) };
    assert_eq!(store.audit_events(&by_actor).await?.len(), 4);
    let by_target = AuditQuery { target_id: Some("target-1".to_owned()), ..query(None) };
    assert_eq!(
        names(store.audit_events(&by_target).await?),
        ["space_x.other", "auth.login.failed"]
    );
    let by_space = AuditQuery { space_id: Some(space), ..query(None) };
    assert_eq!(names(store.audit_events(&by_space).await?), ["space.member.role"]);
    let page = AuditQuery { before: Some(ids[3].id), limit: 2, ..query(None) };
    assert_eq!(names(store.audit_events(&page).await?), ["space.member.role", "auth.login.failed"]);
    assert_eq!(store.purge_audit_events(t0.add_millis(15)).await?, 2);
    assert_eq!(store.audit_events(&query(None)).await?.len(), 3, "the older two are gone");
    Ok(())
}
