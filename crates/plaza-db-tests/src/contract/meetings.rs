//! Meetings saved by compare-and-swap, node heartbeats, shared limits and ringing calls.

use super::*;

pub async fn one_active_meeting_per_space_saved_by_compare_and_swap(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let group = space(SpaceKind::Group, "Standup", ann.id);
    let t0 = Timestamp::now();
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    store.put_membership(&membership(group.id, bob.id, Role::Member, t0)).await?;

    let first = meeting(group.id, t0);
    store.start_meeting(&first, &meeting_summary(&first, ann.id)).await?;
    assert_eq!(store.active_meeting(group.id).await?, Some(first.clone()));
    assert_eq!(store.meeting(first.id).await?, Some(first.clone()));
    let record = store.message(first.id).await?.expect("history record");
    assert_eq!(record.category, MessageCategory::Meeting);
    assert_eq!(
        store.membership(group.id, bob.id).await?.expect("bob").unread_count,
        1,
        "a meeting is news to the others"
    );

    // A second start while one runs fails and writes no history.
    let rival = meeting(group.id, t0.add_millis(1));
    match store.start_meeting(&rival, &meeting_summary(&rival, bob.id)).await {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, "meeting_active_key"),
        other => anyhow::bail!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.message(rival.id).await?, None);

    // Saves are compare-and-swap on the version read.
    let summary = json!({"meetingStatus": "active", "attendees": [1]});
    let summary = summary.as_object().cloned().expect("object");
    let mut next = first.clone();
    next.version = 2;
    next.state = json!({"attendees": [1]});
    next.due_at = Some(t0.add_millis(50));
    assert!(store.save_meeting(&next, &summary, t0.add_millis(5)).await?);
    assert!(!store.save_meeting(&next, &summary, t0.add_millis(6)).await?, "version 2 is taken");
    assert_eq!(store.meeting(first.id).await?, Some(next.clone()));
    let record = store.message(first.id).await?.expect("history record");
    assert_eq!((record.content, record.modified), (summary.clone(), t0.add_millis(5)));

    // Due meetings are found once their time comes.
    assert!(store.due_meetings(t0.add_millis(49), 10).await?.is_empty());
    assert_eq!(store.due_meetings(t0.add_millis(50), 10).await?, vec![next.clone()]);

    // Ending frees the space for the next meeting.
    let mut ended = next.clone();
    ended.version = 3;
    ended.ended = Some(t0.add_millis(60));
    ended.due_at = None;
    assert!(store.save_meeting(&ended, &summary, t0.add_millis(60)).await?);
    assert_eq!(store.active_meeting(group.id).await?, None);
    assert!(store.due_meetings(t0.add_millis(100), 10).await?.is_empty());
    let second = meeting(group.id, t0.add_millis(70));
    store.start_meeting(&second, &meeting_summary(&second, bob.id)).await?;

    // History: newest first, paged by id, counted, and cut for late joiners.
    let (page, total) = store.meetings(group.id, None, None, 1).await?;
    assert_eq!((page.iter().map(|m| m.id).collect::<Vec<_>>(), total), (vec![second.id], 2));
    let (page, _) = store.meetings(group.id, None, Some(second.id), 10).await?;
    assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), vec![first.id]);
    let (page, total) = store.meetings(group.id, Some(t0.add_millis(1)), None, 10).await?;
    assert_eq!((page.len(), total), (1, 1));

    // Meeting records sit in the history beside the messages.
    let mut query = MessageQuery::in_space(group.id, None, 10);
    query.categories = vec![MessageCategory::Meeting];
    let found = store.query_messages(&query).await?;
    assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), vec![second.id, first.id]);
    Ok(())
}

pub async fn running_meetings_and_dead_nodes_are_found(store: Arc<dyn Store>) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let t0 = Timestamp::now();
    let mut running = Vec::new();
    for title in ["one", "two", "three"] {
        let room = space(SpaceKind::Group, title, ann.id);
        store.insert_space(&room, &membership(room.id, ann.id, Role::Admin, t0)).await?;
        let started = meeting(room.id, t0);
        store.start_meeting(&started, &meeting_summary(&started, ann.id)).await?;
        running.push(started);
    }
    let mut ended = running.remove(1);
    ended.version = 2;
    ended.ended = Some(t0.add_millis(1));
    let summary = serde_json::Map::new();
    assert!(store.save_meeting(&ended, &summary, t0.add_millis(1)).await?);
    let first = store.active_meetings(None, 1).await?;
    let rest = store.active_meetings(first.last().map(|m| m.id), 10).await?;
    let ids: Vec<ObjectId> = first.iter().chain(rest.iter()).map(|m| m.id).collect();
    let mut want: Vec<ObjectId> = running.iter().map(|m| m.id).collect();
    want.sort();
    assert_eq!(ids, want, "running ones, paged in id order");

    store.beat_node("node-a", t0).await?;
    store.beat_node("node-b", t0).await?;
    store.beat_node("node-a", t0.add_millis(100)).await?;
    assert_eq!(store.take_dead_nodes(t0.add_millis(50)).await?, vec!["node-b".to_owned()]);
    assert!(store.take_dead_nodes(t0.add_millis(50)).await?.is_empty(), "each dead node once");
    assert_eq!(store.take_dead_nodes(t0.add_millis(101)).await?, vec!["node-a".to_owned()]);
    Ok(())
}

pub async fn a_media_host_is_claimed_once_and_taken_over_when_it_dies(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let t0 = Timestamp::now();
    let room = space(SpaceKind::Group, "media", ann.id);
    store.insert_space(&room, &membership(room.id, ann.id, Role::Admin, t0)).await?;
    let other = space(SpaceKind::Group, "other", ann.id);
    store.insert_space(&other, &membership(other.id, ann.id, Role::Admin, t0)).await?;
    store.beat_node("node-a", t0).await?;
    store.beat_node("node-b", t0).await?;
    let host = |node: &str, address: &str| plaza_db::MediaHost {
        node_id: node.to_owned(),
        address: address.to_owned(),
    };

    let claimed = store.claim_media_host(room.id, "node-a", "10.0.0.1:5000", t0, t0).await?;
    assert_eq!(claimed, host("node-a", "10.0.0.1:5000"), "the first claim takes it");
    let second = store.claim_media_host(room.id, "node-b", "10.0.0.2:5000", t0, t0).await?;
    assert_eq!(second, host("node-a", "10.0.0.1:5000"), "a live host keeps it");
    let elsewhere = store.claim_media_host(other.id, "node-b", "10.0.0.2:5000", t0, t0).await?;
    assert_eq!(elsewhere, host("node-b", "10.0.0.2:5000"), "per space");
    let moved = store.claim_media_host(room.id, "node-a", "10.0.0.1:6000", t0, t0).await?;
    assert_eq!(moved, host("node-a", "10.0.0.1:6000"), "the host's own claim refreshes it");

    // node-a stops beating: seen before the cut-off, its space goes to the next claimer.
    store.beat_node("node-b", t0.add_millis(100)).await?;
    assert_eq!(store.live_nodes(t0.add_millis(50)).await?, vec!["node-b".to_owned()]);
    let taken =
        store.claim_media_host(room.id, "node-b", "10.0.0.2:5000", t0.add_millis(50), t0).await?;
    assert_eq!(taken, host("node-b", "10.0.0.2:5000"), "a dead host's space is taken over");
    // A host the heartbeat sweep removed altogether counts as dead too.
    store.take_dead_nodes(t0.add_millis(200)).await?;
    let again =
        store.claim_media_host(other.id, "node-a", "10.0.0.1:6000", t0.add_millis(50), t0).await?;
    assert_eq!(again, host("node-a", "10.0.0.1:6000"));
    assert!(store.live_nodes(t0.add_millis(50)).await?.is_empty());
    Ok(())
}

pub async fn shared_rate_limits_and_ringing_calls_hold_across_callers(
    store: Arc<dyn Store>,
) -> Outcome {
    // One action per 1 000 µs, bursts of 3, all at the same instant.
    let now = 1_700_000_000_000_000;
    for _ in 0..3 {
        assert_eq!(store.take_rate("sends:ann", now, 1000, 3).await?, None);
    }
    assert_eq!(store.take_rate("sends:ann", now, 1000, 3).await?, Some(1000), "over the burst");
    assert_eq!(store.take_rate("sends:bob", now, 1000, 3).await?, None, "keys are apart");
    assert_eq!(store.take_rate("sends:ann", now + 1000, 1000, 3).await?, None, "one more later");
    let purged_before =
        store.purge_expired_credentials(Timestamp::from_millis(now / 1000 + 10)).await?;
    assert!(purged_before >= 2, "spent limits are purged");

    let t0 = Timestamp::now();
    store.ring_call("call-1", t0.add_millis(1000)).await?;
    assert!(store.answer_call("call-1", t0).await?);
    assert!(!store.answer_call("call-1", t0).await?, "answered once");
    store.ring_call("call-2", t0.add_millis(10)).await?;
    assert!(!store.answer_call("call-2", t0.add_millis(11)).await?, "rang out");
    Ok(())
}
