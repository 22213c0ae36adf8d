//! What people do to a running meeting through the API: an admin's controls (end, mute,
//! media off, hands, layout, recordings) and each attendee's changes to their own state.

use super::*;

impl MeetingService {
    /// Runs an admin's change on the meeting `meeting_id` of `space_id`.
    async fn control<F>(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        apply: F,
    ) -> CoreResult<MeetingView>
    where
        F: FnMut(&mut MeetingState, Timestamp) -> CoreResult<Vec<Happening>>,
    {
        let space = self.controlled_space(principal, space_id).await?;
        self.change_named(&space, meeting_id, apply).await
    }

    /// Applies `apply` to the running meeting `meeting_id` of `space`, in this node's
    /// turn for the space.
    pub(super) async fn change_named<F>(
        &self,
        space: &SpaceRecord,
        meeting_id: &str,
        apply: F,
    ) -> CoreResult<MeetingView>
    where
        F: FnMut(&mut MeetingState, Timestamp) -> CoreResult<Vec<Happening>>,
    {
        let _turn = self.turn(space.id).await;
        let (record, state) = self
            .change(space, Some(parse_meeting(meeting_id)?), apply)
            .await?
            .ok_or_else(meeting_not_found)?;
        Ok(Self::view(space, &record, &state))
    }

    /// `POST .../meetings/{mid}/end`: ends the meeting for everyone, their media sessions
    /// included (else the media would keep flowing in a meeting that is over).
    pub async fn end(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
    ) -> CoreResult<MeetingView> {
        let space = self.controlled_space(principal, space_id).await?;
        let view = self.change_named(&space, meeting_id, |state, now| Ok(state.close(now))).await?;
        if let Some(forwarding) = self.forwarding.get() {
            forwarding.end_room(space.id);
        }
        Ok(view)
    }

    /// `POST .../meetings/{mid}/muteall {exclusionList}`: mutes everyone but the
    /// excluded and the admin asking.
    pub async fn mute_all(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        exclusion: &[String],
    ) -> CoreResult<MeetingView> {
        let mut exclude = vec![principal.user_id()];
        for id in exclusion {
            let id: ObjectId = id.parse().map_err(|_| {
                CoreError::invalid("exclusionList", "must be a list of attendee ids")
            })?;
            if !exclude.contains(&id) {
                exclude.push(id);
            }
        }
        self.control(
            principal,
            space_id,
            meeting_id,
            |state, _| Ok(state.mute_all(exclude.clone())),
        )
        .await
    }

    /// `POST .../attendees/{type}/{id}/mediastate {audio?, video?, screenshare?}`: an
    /// admin turns someone's media off; attendees may set their own either way.
    pub async fn set_media_state(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        attendee_id: &str,
        changes: &Map<String, Value>,
    ) -> CoreResult<MeetingView> {
        let target: ObjectId = attendee_id.parse().map_err(|_| not_attending())?;
        let mut flags = Map::new();
        for key in ["audio", "video", "screenshare"] {
            match changes.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Bool(on)) => {
                    flags.insert(key.into(), json!(on));
                }
                Some(_) => return Err(CoreError::invalid(key, "must be true or false")),
            }
        }
        if flags.is_empty() {
            return Err(CoreError::invalid("audio", "name audio, video or screenshare to change"));
        }
        let own = target == principal.user_id();
        if !own && flags.values().any(|on| on == &Value::Bool(true)) {
            return Err(CoreError::permission_denied(
                "only attendees themselves turn their media on",
            ));
        }
        let apply = |state: &mut MeetingState, _| {
            state.set_media(target, flags.clone()).ok_or_else(not_attending)
        };
        if own {
            return self.own_change(principal, space_id, meeting_id, apply).await;
        }
        self.control(principal, space_id, meeting_id, apply).await
    }

    /// A change attendees make to themselves (any member may ask; the transition
    /// refuses those not in the meeting).
    async fn own_change<F>(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        apply: F,
    ) -> CoreResult<MeetingView>
    where
        F: FnMut(&mut MeetingState, Timestamp) -> CoreResult<Vec<Happening>>,
    {
        let (space, _, _) = self.space_for(principal, parse_space(space_id)?).await?;
        self.change_named(&space, meeting_id, apply).await
    }

    /// `POST .../attendees/raisedhands {requestedPermissions}`: the caller raises a hand.
    pub async fn raise_hand(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        requested: Vec<String>,
    ) -> CoreResult<MeetingView> {
        let me = principal.user_id();
        self.own_change(principal, space_id, meeting_id, |state, now| {
            state.raise_hand(me, requested.clone(), now).ok_or_else(not_attending)
        })
        .await
    }

    /// `POST .../raisedhands/accept` (admins) or `/lower` (admins, or the attendee
    /// for their own hand).
    pub async fn answer_hand(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        attendee_id: &str,
        answer: HandAnswer,
        permissions: Vec<String>,
    ) -> CoreResult<MeetingView> {
        let target: ObjectId = attendee_id
            .parse()
            .map_err(|_| CoreError::invalid("attendeeId", "is not an attendee id"))?;
        let grant = answer == HandAnswer::Accept;
        let apply = |state: &mut MeetingState, _| match state.answer_hand(
            target,
            grant,
            permissions.clone(),
        ) {
            None => Err(not_attending()),
            Some(None) => Err(CoreError::invalid("attendeeId", "has no hand raised")),
            Some(Some(happened)) => Ok(happened),
        };
        if !grant && target == principal.user_id() {
            return self.own_change(principal, space_id, meeting_id, apply).await;
        }
        self.control(principal, space_id, meeting_id, apply).await
    }

    /// `POST /api/analytics/video/conference/start|stop {vcid: "topic_<spaceId>",
    /// tags?, duration?}`: a client reports that its conference started or stopped. Any
    /// party of the space may report; the report is kept in the running meeting's
    /// history (`conferenceReports`). `meeting.not_found` when no meeting runs.
    pub async fn report_conference(
        &self,
        principal: &Principal,
        vcid: &str,
        event: ConferenceEvent,
        duration: Option<f64>,
    ) -> CoreResult<MeetingView> {
        let space_id = vcid
            .strip_prefix("topic_")
            .ok_or_else(|| CoreError::invalid("vcid", "must be topic_<spaceId>"))?;
        if duration.is_some_and(|d| !d.is_finite() || d < 0.0) {
            return Err(CoreError::invalid("duration", "must be a number of seconds, 0 or more"));
        }
        let (space, _, _) = self.space_for(principal, parse_space(space_id)?).await?;
        let report = state::ConferenceReport {
            event: event.as_str().to_owned(),
            user_id: principal.user_id(),
            at: Timestamp::now(),
            duration,
        };
        let _turn = self.turn(space.id).await;
        let (record, state) = self
            .change(&space, None, |state, _| Ok(state.report_conference(report.clone())))
            .await?
            .ok_or_else(meeting_not_found)?;
        Ok(Self::view(&space, &record, &state))
    }

    /// `POST .../meetings/{mid}/layout {layout, backgroundTheme?}`.
    pub async fn set_layout(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        layout: Option<&str>,
        theme: Option<&str>,
    ) -> CoreResult<MeetingView> {
        let layout = layout_word(layout, "layout")?
            .ok_or_else(|| CoreError::invalid("layout", "is required"))?;
        let background_theme = layout_word(theme, "backgroundTheme")?;
        if layout == "THEME" && background_theme.is_none() {
            return Err(CoreError::invalid("backgroundTheme", "is required with the THEME layout"));
        }
        let layout = Layout { layout, background_theme };
        self.control(principal, space_id, meeting_id, |state, _| {
            Ok(state.set_layout(layout.clone()))
        })
        .await
    }

    /// `POST .../meetings/{mid}/recordings`: starts recording; returns the meeting and
    /// the new recording's id.
    pub async fn start_recording(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
    ) -> CoreResult<(MeetingView, ObjectId)> {
        let id = ObjectId::new();
        let by = Person::of(&principal.user);
        let space = self.controlled_space(principal, space_id).await?;
        let view = self
            .change_named(&space, meeting_id, |state, now| {
                if state.running_recording().is_some() {
                    return Err(CoreError::new(
                        ErrorCode::MeetingAlreadyRecording,
                        "the meeting is already being recorded",
                    ));
                }
                Ok(state.start_recording(id, by.clone(), now))
            })
            .await?;
        self.record_media(&space, meeting_id, id).await;
        Ok((view, id))
    }

    /// `POST .../recordings/{rid}/stop`.
    pub async fn stop_recording(
        &self,
        principal: &Principal,
        space_id: &str,
        meeting_id: &str,
        recording_id: &str,
    ) -> CoreResult<MeetingView> {
        let not_running = || {
            CoreError::new(
                ErrorCode::MeetingRecordingNotFound,
                "no such recording running in this meeting",
            )
        };
        let id: ObjectId = recording_id.parse().map_err(|_| not_running())?;
        self.control(principal, space_id, meeting_id, |state, now| {
            if state.running_recording().is_none_or(|r| r.id != id) {
                return Err(not_running());
            }
            Ok(state.stop_recording(id, now))
        })
        .await
    }
}
