//! The media plane's side of meetings: who may enter a space's media room (the media
//! token of `GET /api/mediasessions/mpaas/token/{spaceId}`), the meeting state following
//! what the SFU reports (a session connected, closed, a track published), and the admin
//! controls reaching the SFU's forwarding.
//!
//! The SFU itself lives in the transport (`plaza-realtime` runs `plaza-media`); the core
//! reaches it only through [`MediaForwarding`], bound once both exist.

use super::*;

/// A media session the token lets in: the space whose room it is, and the session id
/// (the token's `sid`), which is the participant's id in the SFU room.
#[derive(Debug, Clone)]
pub struct MediaAdmission {
    pub space: SpaceRecord,
    pub session_id: String,
    pub conf_id: String,
}

/// What the SFU forwards of one person: the transport that runs it implements this, and
/// the meeting controls call it when an admin mutes someone or turns their video off,
/// and when people turn their own media back on.
pub trait MediaForwarding: Send + Sync {
    /// Forward (`true`) or hold back (`false`) `user_id`'s audio and video in the media
    /// room of `space_id` (every media session of theirs there).
    fn set_forwarding(&self, space_id: ObjectId, user_id: ObjectId, audio: bool, video: bool);

    /// Ends every media session of `user_id` in the room of `space_id` (they were
    /// removed from the space).
    fn end_sessions(&self, space_id: ObjectId, user_id: ObjectId);

    /// Ends every media session in the room of `space_id` (an admin ended the meeting).
    fn end_room(&self, space_id: ObjectId);

    /// This node's media address when several nodes share the media rooms (each
    /// space's room lives on the node hosting it, see [`MeetingService::media_host`]);
    /// `None` when every room is this node's.
    fn shared_address(&self) -> Option<String>;

    /// Starts recording the media room of `space_id` (meeting `meeting_id`) as recording
    /// `recording_id`: here, or handed to the node hosting the room, which then calls
    /// [`MeetingService::record_relayed_media`].
    fn start_recording(
        &self,
        space_id: ObjectId,
        meeting_id: ObjectId,
        recording_id: ObjectId,
    ) -> RecordingStart;

    /// The bytes recording `recording_id` has written so far (`None`: not running here).
    fn recording_bytes(&self, recording_id: ObjectId) -> Option<u64>;

    /// Stops recording `recording_id`: here (the files once they are finished: closed,
    /// indexed, playable), or handed to the node recording it, which then calls
    /// [`MeetingService::finish_relayed_recording`].
    fn stop_recording(
        &self,
        space_id: ObjectId,
        meeting_id: ObjectId,
        recording_id: ObjectId,
    ) -> RecordingStop;
}

/// Where a recording started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingStart {
    /// This node records the room.
    Here,
    /// Handed to the other nodes: the one hosting the room records it.
    Relayed,
    /// Nobody's media is on: there is no room to record.
    NoRoom,
}

/// What stopping a recording came to.
pub enum RecordingStop {
    /// This node recorded it: its files once finished.
    Here(RecordingDone),
    /// Handed to the other nodes: the one that recorded it stores the files.
    Relayed,
    /// No node records it (it never had media): ready without files.
    NotRunning,
}

/// One track file the SFU recorded, to be stored with the meeting.
#[derive(Debug, Clone)]
pub struct RecordedMedia {
    /// Whose track, when the SFU knows.
    pub user_id: Option<ObjectId>,
    /// The finished WebM file on this node's disk.
    pub path: std::path::PathBuf,
    /// `audio/webm` or `video/webm`.
    pub mime_type: String,
    pub bytes: u64,
    pub duration_ms: u64,
}

/// A recording being finished by the SFU.
pub type RecordingDone =
    futures_util::future::BoxFuture<'static, Result<Vec<RecordedMedia>, String>>;

/// A media flag of an attendee's `mediaSession` that a published track drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFlag {
    Audio,
    Video,
    Screenshare,
}

impl MediaFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaFlag::Audio => "audio",
            MediaFlag::Video => "video",
            MediaFlag::Screenshare => "screenshare",
        }
    }
}

/// Whether an attendee's audio and video may be forwarded, from their `mediaSession`:
/// off only where the flag is `false`. Screen shares travel as video, so video stays
/// forwarded while a screen share is on, even with the camera flag off.
pub fn forwarding_of(media: &Map<String, Value>) -> (bool, bool) {
    let off = |flag: &str| media.get(flag) == Some(&Value::Bool(false));
    (!off("audio"), !off("video") || media.get("screenshare") == Some(&Value::Bool(true)))
}

impl MeetingService {
    /// Lets the admin controls reach the SFU, and recordings store their files (once;
    /// later calls are ignored).
    pub fn bind_media(
        self: &Arc<Self>,
        forwarding: Arc<dyn MediaForwarding>,
        files: Arc<crate::files::FileService>,
    ) {
        let _ = self.forwarding.set(forwarding);
        let _ = self.recording_files.set(files);
        let _ = self.this.set(Arc::downgrade(self));
    }

    /// Starts the SFU recording `recording_id` when the space has a media room here (or
    /// hands it to the node hosting the room).
    pub(super) async fn record_media(&self, space: &SpaceRecord, meeting_id: &str, id: ObjectId) {
        let Some(forwarding) = self.forwarding.get() else { return };
        let Ok(meeting) = parse_meeting(meeting_id) else { return };
        if forwarding.start_recording(space.id, meeting, id) != RecordingStart::Here {
            return;
        }
        let marked =
            self.change_any(space, meeting, |state, _| Ok(state.recording_has_media(id))).await;
        let owner = match marked {
            Ok(Some((_, state))) => {
                state.recordings.iter().find(|r| r.id == id).map(|r| r.started_by.id)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, recording = %id, "the recording's media flag was not saved");
                None
            }
        };
        self.watch_recording_quota(space, meeting, owner, id).await;
    }

    /// Stops recording `id` once it has written what its owner's storage quota leaves
    /// (checked twice a second): `recording.ended` says why (`stopReason: "quota"`), and
    /// what was written is stored.
    async fn watch_recording_quota(
        &self,
        space: &SpaceRecord,
        meeting_id: ObjectId,
        owner: Option<ObjectId>,
        id: ObjectId,
    ) {
        let (Some(files), Some(owner), Some(this)) =
            (self.recording_files.get(), owner, self.this.get())
        else {
            return;
        };
        let Some(room) = files.quota_left(owner).await else { return };
        let (this, space) = (this.clone(), space.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(std::time::Duration::from_millis(500));
            loop {
                ticks.tick().await;
                let Some(this) = this.upgrade() else { return };
                let Some(forwarding) = this.forwarding.get() else { return };
                let Some(written) = forwarding.recording_bytes(id) else { return };
                if written < room {
                    continue;
                }
                tracing::info!(recording = %id, written, "the recording reached its owner's quota");
                let stopped = this
                    .change_any(&space, meeting_id, |state, now| {
                        Ok(state.stop_recording_because(id, "quota", now))
                    })
                    .await;
                if let Err(error) = stopped {
                    tracing::error!(recording = %id, %error, "the recording over quota was not stopped");
                }
                return;
            }
        });
    }

    /// A recording the SFU records ended: stores its files (in the background) and makes
    /// it ready with them.
    pub(super) fn finish_media_recording(
        &self,
        space: &SpaceRecord,
        meeting_id: ObjectId,
        state: &MeetingState,
        id: ObjectId,
    ) {
        let Some(recording) = state.recordings.iter().find(|r| r.id == id && r.media) else {
            return;
        };
        let (Some(forwarding), Some(this)) = (self.forwarding.get(), self.this.get()) else {
            return;
        };
        let done = match forwarding.stop_recording(space.id, meeting_id, id) {
            RecordingStop::Here(done) => Some(done),
            RecordingStop::Relayed => return,
            RecordingStop::NotRunning => {
                tracing::warn!(recording = %id, "the SFU was not recording it: ready without files");
                None
            }
        };
        let (this, space, owner) = (this.clone(), space.clone(), recording.started_by.id);
        tokio::spawn(async move {
            let files = match done {
                Some(done) => done.await.unwrap_or_else(|error| {
                    tracing::error!(recording = %id, %error, "the recording's files failed");
                    Vec::new()
                }),
                None => Vec::new(),
            };
            let Some(this) = this.upgrade() else { return };
            let stored = this.store_recording_files(&space, owner, id, files).await;
            let ready = this
                .change_any(&space, meeting_id, |state, now| {
                    Ok(state.finish_recording(id, stored.clone(), now))
                })
                .await;
            if let Err(error) = ready {
                tracing::error!(recording = %id, %error, "the finished recording was not saved");
            }
        });
    }

    /// The node hosting the media room of `space_id` started a recording another node
    /// was asked for (see [`MediaForwarding::start_recording`]).
    pub async fn record_relayed_media(
        &self,
        space_id: ObjectId,
        meeting_id: ObjectId,
        id: ObjectId,
    ) -> CoreResult<()> {
        let space = self.space_of(space_id).await?;
        self.record_media(&space, &meeting_id.to_string(), id).await;
        Ok(())
    }

    /// The node that records `id` finishes it (stores its files, makes it ready): it was
    /// stopped on another node.
    pub async fn finish_relayed_recording(
        &self,
        space_id: ObjectId,
        meeting_id: ObjectId,
        id: ObjectId,
    ) -> CoreResult<()> {
        let space = self.space_of(space_id).await?;
        let record = self.store.meeting(meeting_id).await?.ok_or_else(meeting_not_found)?;
        let state = Self::parse_state(&record)?;
        self.finish_media_recording(&space, meeting_id, &state, id);
        Ok(())
    }

    /// The node hosting the media room of `space_id` when several nodes share the rooms
    /// (`None` on one node): this node takes it over when no node hosts it or its host
    /// stopped beating for `node_timeout_ms`.
    pub async fn media_host(&self, space_id: ObjectId) -> CoreResult<Option<plaza_db::MediaHost>> {
        let Some(address) = self.forwarding.get().and_then(|f| f.shared_address()) else {
            return Ok(None);
        };
        let now = Timestamp::now();
        // Alive before claiming, so another node never takes this fresh claim as dead.
        self.store.beat_node(&self.config.node_id, now).await?;
        let alive_since = now.add_millis(-self.config.node_timeout_ms);
        let host = self
            .store
            .claim_media_host(space_id, &self.config.node_id, &address, alive_since, now)
            .await?;
        Ok(Some(host))
    }

    /// The nodes that beat within `node_timeout_ms`.
    pub async fn live_nodes(&self) -> CoreResult<Vec<String>> {
        let since = Timestamp::now().add_millis(-self.config.node_timeout_ms);
        Ok(self.store.live_nodes(since).await?)
    }

    /// Stores the recorded files as the recording owner's files in the space; a file the
    /// storage refuses stays on this node's disk and is logged.
    async fn store_recording_files(
        &self,
        space: &SpaceRecord,
        owner: ObjectId,
        id: ObjectId,
        files: Vec<RecordedMedia>,
    ) -> Vec<state::RecordingFile> {
        let Some(storage) = self.recording_files.get() else { return Vec::new() };
        let mut stored = Vec::new();
        for file in files {
            let name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("recording-{id}.webm"));
            let imported =
                storage.import(owner, Some(space.id), &file.path, &name, &file.mime_type).await;
            match imported {
                Ok(record) => {
                    let _ = std::fs::remove_file(&file.path);
                    stored.push(state::RecordingFile {
                        file_id: record.key,
                        name,
                        mime_type: file.mime_type,
                        size: file.bytes,
                        duration: file.duration_ms,
                        user_id: file.user_id,
                    });
                }
                Err(error) => tracing::error!(
                    recording = %id,
                    file = %file.path.display(),
                    %error,
                    "a recorded file was not stored; it stays on disk"
                ),
            }
        }
        stored
    }

    /// `MEDIA_JOIN`: checks the media token (signature, `typ: media`, not expired), that
    /// it names `space_id` and was issued to `principal`, and that they may take part in
    /// the space's meetings now.
    pub async fn admit_media(
        &self,
        principal: &Principal,
        space_id: &str,
        token: &str,
    ) -> CoreResult<MediaAdmission> {
        let (user_id, grant) = self.identity.verify_media_token(token)?;
        if grant.space_id.to_string() != space_id {
            return Err(CoreError::permission_denied("this media token is for another space"));
        }
        if user_id != principal.user_id() {
            return Err(CoreError::permission_denied(
                "this media token was issued to someone else",
            ));
        }
        let (space, _, _) = self.space_for(principal, grant.space_id).await?;
        if space.status == SpaceStatus::Archived {
            return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
        }
        Ok(MediaAdmission { space, session_id: grant.session_id, conf_id: grant.conf_id })
    }

    /// A `MEDIA_JOIN` that the node whose socket received it checked (`admit_media`) and
    /// relayed to this node, which hosts the space's media room: the token's holder, and
    /// the same checks again (they are cheap, and the token may have expired on the way).
    pub async fn admit_relayed_media(
        &self,
        space_id: &str,
        token: &str,
    ) -> CoreResult<(Principal, MediaAdmission)> {
        let principal = self.identity.media_token_holder(token).await?;
        let admission = self.admit_media(&principal, space_id, token).await?;
        Ok((principal, admission))
    }

    /// A media session's transport came up: its person joins the space's meeting (or
    /// starts it, or comes back within their drop grace) through the same path as a
    /// client's `tracksstatus` with `connected: true`. `connection` is the socket the
    /// session was signalled on. Returns the meeting's id.
    pub async fn media_connected(
        &self,
        principal: &Principal,
        space_id: ObjectId,
        session_id: &str,
        published: &[MediaFlag],
        connection: &str,
    ) -> CoreResult<ObjectId> {
        let space = self.space_of(space_id).await?;
        let mut media = Map::new();
        for flag in [MediaFlag::Audio, MediaFlag::Video, MediaFlag::Screenshare] {
            media.insert(flag.as_str().into(), json!(published.contains(&flag)));
        }
        media.insert("connected".into(), json!(true));
        media.insert("mdsrvSessionId".into(), json!(session_id));
        let _turn = self.turn(space.id).await;
        self.join(&space, principal, media, connection).await
    }

    /// A person turned a track of theirs on or off by renegotiating (a camera, a
    /// microphone, a screen share): their own change, announced like the API's
    /// `mediastate` (`tracksstatus` from the space server), and forwarded again if an
    /// admin had held it back (attendees may turn their own media on).
    pub async fn media_published(
        &self,
        space_id: ObjectId,
        user_id: ObjectId,
        flag: MediaFlag,
        on: bool,
    ) -> CoreResult<()> {
        let space = self.space_of(space_id).await?;
        let _turn = self.turn(space.id).await;
        let mut flags = Map::new();
        flags.insert(flag.as_str().into(), json!(on));
        self.change(&space, None, |state, _| {
            Ok(state.set_media(user_id, flags.clone()).unwrap_or_default())
        })
        .await?;
        Ok(())
    }

    /// A media session ended by its person (`MEDIA_LEAVE`): they leave the meeting at
    /// once, unless their media now comes from another connection.
    pub async fn media_left(
        &self,
        space_id: ObjectId,
        user_id: ObjectId,
        connection: &str,
    ) -> CoreResult<()> {
        let space = self.space_of(space_id).await?;
        let _turn = self.turn(space.id).await;
        self.leave(&space, user_id, Some(connection)).await
    }

    /// A media session's transport was lost (ICE consent lapsed, the session failed):
    /// its person gets the drop grace, within which a new session keeps their place.
    pub async fn media_lost(&self, space_id: ObjectId, connection: &str) -> CoreResult<()> {
        self.connection_lost(&[space_id.to_string()], connection).await
    }

    /// A removed member's media sessions in the space end with their place in the
    /// meeting.
    pub(super) fn end_media_of(&self, space_id: ObjectId, user_id: ObjectId) {
        if let Some(forwarding) = self.forwarding.get() {
            forwarding.end_sessions(space_id, user_id);
        }
    }

    async fn space_of(&self, space_id: ObjectId) -> CoreResult<SpaceRecord> {
        self.store
            .space_by_id(space_id)
            .await?
            .ok_or_else(|| CoreError::new(ErrorCode::TopicNotFound, "no such space"))
    }

    /// Tells the SFU what an announced change means for forwarding: an admin's mute,
    /// mute-all, video off, and people's own changes back on.
    pub(super) fn steer_forwarding(
        &self,
        space: &SpaceRecord,
        state: &MeetingState,
        happening: &Happening,
    ) {
        let Some(forwarding) = self.forwarding.get() else { return };
        let affected: Vec<&state::Attendee> = match happening {
            Happening::AllMuted { exclude } => state
                .attendees
                .iter()
                .filter(|a| a.present() && !exclude.contains(&a.person.id))
                .collect(),
            Happening::MediaChanged(id) => state.attendee(*id).into_iter().collect(),
            _ => return,
        };
        for attendee in affected {
            let (audio, video) = forwarding_of(&attendee.media_session);
            forwarding.set_forwarding(space.id, attendee.person.id, audio, video);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_stops_only_where_a_flag_is_off() {
        let media = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(forwarding_of(&Map::new()), (true, true));
        assert_eq!(forwarding_of(&media(json!({"audio": false, "video": true}))), (false, true));
        assert_eq!(forwarding_of(&media(json!({"audio": true, "video": false}))), (true, false));
        // A screen share is video: it stays forwarded with the camera off.
        assert_eq!(
            forwarding_of(&media(json!({"video": false, "screenshare": true}))),
            (true, true)
        );
    }
}
