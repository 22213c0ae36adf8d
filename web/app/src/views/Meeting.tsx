import type { Meeting as MeetingObject, MeetingAttendee, Space } from '@plaza/web-sdk';
import { useEffect, useState } from 'preact/hooks';

import { session } from '../session.js';
import { Avatar, ErrorNote, time, useAction } from '../ui.js';

function randomSession(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `s-${Date.now()}-${Math.random()}`;
}

/**
 * The meeting panel: whether a meeting runs, who is in, raised hands, mute and
 * recording controls. Plaza carries no media, so "joining" here only signals
 * (`tracksstatus` with audio), which is what starts a meeting.
 */
export function MeetingPanel({ space, isAdmin }: { space: Space; isAdmin: boolean }) {
  const client = session.client;
  const me = session.user!;
  const [meeting, setMeeting] = useState<MeetingObject | null | undefined>(undefined);
  const { error, busy, run } = useAction();

  const refresh = () => run(async () => setMeeting(await client.activeMeeting(space._id)));

  useEffect(() => {
    void refresh();
    const rt = session.realtime;
    if (!rt) return;
    const off = rt.on('media', (event) => event.topicId === space._id && void refresh());
    const offStatus = rt.on('status', (s) => s === 'online' && void refresh());
    return () => {
      off();
      offStatus();
    };
  }, [space._id]);

  const attendees = meeting?.content.attendees ?? [];
  const mine = attendees.find((a) => a._id === me._id);
  const recording = meeting?.content.recordings.find((r) => !r.endTime);
  const sid = space._id;
  const mid = meeting?._id ?? '';

  const join = () =>
    session.realtime?.sendMediaEvent(sid, 'tracksstatus', {
      mediaSession: { audio: true, video: false, screenshare: false, connected: true, selfMuted: false, mdsrvSessionId: randomSession() },
    });
  const leave = () => session.realtime?.sendMediaEvent(sid, 'video.end', {});

  return (
    <section class="meeting" aria-label="Meeting">
      <h2>Meeting</h2>
      <ErrorNote error={error} />
      {meeting === undefined && <p>Loading…</p>}
      {meeting === null && (
        <div class="card">
          <p>No meeting is running in this space.</p>
          <button type="button" class="primary" onClick={join}>
            Start meeting
          </button>
          <p class="hint">Audio and video are not part of this client; starting signals your presence only.</p>
        </div>
      )}
      {meeting && (
        <div class="card">
          <p role="status">
            <strong>Meeting in progress</strong> since {time(meeting.content.startTime)} · {meeting.content.mediaMode ?? 'audio'}
            {recording && (
              <span class="rec" aria-label="Recording">
                {' '}
                ● Recording
              </span>
            )}
          </p>
          <div class="row wrap">
            {mine ? (
              <>
                <button type="button" onClick={leave}>
                  Leave meeting
                </button>
                <button
                  type="button"
                  aria-pressed={mine.mediaSession?.audio === false}
                  onClick={() => void run(() => client.setMediaState(sid, mid, mine, { audio: mine.mediaSession?.audio === false }))}
                >
                  {mine.mediaSession?.audio === false ? 'Unmute me' : 'Mute me'}
                </button>
                {mine.raisedHand ? (
                  <button type="button" onClick={() => void run(() => client.lowerHand(sid, mid, mine))}>
                    Lower my hand
                  </button>
                ) : (
                  <button type="button" onClick={() => void run(() => client.raiseHand(sid, mid))}>
                    Raise hand
                  </button>
                )}
              </>
            ) : (
              <button type="button" class="primary" onClick={join}>
                Join meeting
              </button>
            )}
            {isAdmin && (
              <>
                <button type="button" disabled={busy} onClick={() => void run(() => client.muteAll(sid, mid))}>
                  Mute everyone
                </button>
                {recording ? (
                  <button type="button" disabled={busy} onClick={() => void run(() => client.stopRecording(sid, mid, recording._id))}>
                    Stop recording
                  </button>
                ) : (
                  <button type="button" disabled={busy} onClick={() => void run(() => client.startRecording(sid, mid))}>
                    Start recording
                  </button>
                )}
                <button type="button" class="danger" disabled={busy} onClick={() => void run(() => client.endMeeting(sid, mid))}>
                  End meeting
                </button>
              </>
            )}
          </div>
          <h3>Attendees ({attendees.length})</h3>
          <ul class="attendees" aria-label="Attendees">
            {attendees.map((a) => (
              <Attendee
                key={a._id}
                attendee={a}
                isAdmin={isAdmin}
                isMe={a._id === me._id}
                spaceId={sid}
                meetingId={mid}
                onError={(e) => run(() => Promise.reject(e))}
              />
            ))}
          </ul>
          {meeting.content.recordings.length > 0 && (
            <>
              <h3>Recordings</h3>
              <ul>
                {meeting.content.recordings.map((r) => (
                  <li key={r._id}>
                    {time(r.startTime)} – {r.endTime ? time(r.endTime) : 'running'} ({r.status})
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </section>
  );
}

function Attendee({
  attendee: a,
  isAdmin,
  isMe,
  spaceId,
  meetingId,
  onError,
}: {
  attendee: MeetingAttendee;
  isAdmin: boolean;
  isMe: boolean;
  spaceId: string;
  meetingId: string;
  onError: (e: unknown) => void;
}) {
  const client = session.client;
  const muted = a.mediaSession?.audio === false;
  const act = (p: Promise<unknown>) => p.catch(onError);
  return (
    <li class="attendee">
      <Avatar person={a} />
      <span>
        {a.displayname || a.username}
        {isMe && ' (you)'}
      </span>
      <span class={muted ? 'tag' : 'tag live'}>{muted ? 'muted' : 'mic on'}</span>
      {a.raisedHand && (
        <span class="tag hand" aria-label="Hand raised">
          hand raised
        </span>
      )}
      {isAdmin && !isMe && (
        <span class="row">
          {!muted && (
            <button type="button" class="small" onClick={() => void act(client.setMediaState(spaceId, meetingId, a, { audio: false }))}>
              Mute
            </button>
          )}
          {a.raisedHand && (
            <>
              <button type="button" class="small" onClick={() => void act(client.acceptHand(spaceId, meetingId, a))}>
                Allow to speak
              </button>
              <button type="button" class="small" onClick={() => void act(client.lowerHand(spaceId, meetingId, a))}>
                Lower hand
              </button>
            </>
          )}
        </span>
      )}
    </li>
  );
}
