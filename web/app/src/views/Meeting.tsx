import type { MeetingAttendee, Space } from '@plaza/web-sdk';

import { mediaErrorText, type MediaCall } from '../data/media.js';
import { useMeeting, type MeetingControls } from '../data/meeting.js';
import { session } from '../session.js';
import { Avatar, ErrorNote, time } from '../ui.js';
import { JoinSetup } from './JoinSetup.js';
import { MeetingStage } from './MeetingStage.js';
import { Attachments } from './Attachments.js';

/**
 * The meeting panel: whether a meeting runs, joining it with camera and microphone (a
 * preview first), the tiles of those in it, raised hands, mute and recording controls.
 */
export function MeetingPanel({
  space,
  isAdmin,
  call,
  onHangUp,
}: {
  space: Space;
  isAdmin: boolean;
  call: MediaCall;
  /** In a 1:1 call: leaving the media hangs up. */
  onHangUp?: (() => void) | undefined;
}) {
  const me = session.user!;
  const { meeting, attendees, mine, recording, error, busy, controls: c } = useMeeting(space);
  const idle = call.phase === 'idle';
  return (
    <section class="meeting" aria-label="Meeting">
      <h2>Meeting</h2>
      <ErrorNote error={error} />
      {meeting === undefined && <p>Loading…</p>}
      {call.error && call.phase !== 'setup' ? (
        <p class="error" role="alert">
          {mediaErrorText(call.error)}
        </p>
      ) : null}
      {call.phase === 'joined' && <MeetingStage call={call} onHangUp={onHangUp} />}
      {(call.phase === 'setup' || call.phase === 'joining') && <JoinSetup call={call} />}
      {meeting === null && idle && (
        <div class="card">
          <p>No meeting is running in this space.</p>
          <button type="button" class="primary" onClick={call.controls.openSetup}>
            Start meeting
          </button>
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
            {idle && (
              <button type="button" class="primary" onClick={call.controls.openSetup}>
                Join meeting
              </button>
            )}
            {mine &&
              (mine.raisedHand ? (
                <button type="button" onClick={() => c.lowerHand(mine)}>
                  Lower my hand
                </button>
              ) : (
                <button type="button" onClick={c.raiseHand}>
                  Raise hand
                </button>
              ))}
            {isAdmin && (
              <>
                <button type="button" disabled={busy} onClick={c.muteAll}>
                  Mute everyone
                </button>
                {recording ? (
                  <button type="button" disabled={busy} onClick={() => c.stopRecording(recording._id)}>
                    Stop recording
                  </button>
                ) : (
                  <button type="button" disabled={busy} onClick={c.startRecording}>
                    Start recording
                  </button>
                )}
                <button type="button" class="danger" disabled={busy} onClick={c.end}>
                  End meeting
                </button>
              </>
            )}
          </div>
          <h3>Attendees ({attendees.length})</h3>
          <ul class="attendees" aria-label="Attendees">
            {attendees.map((a) => (
              <Attendee key={a._id} attendee={a} isAdmin={isAdmin} isMe={a._id === me._id} controls={c} />
            ))}
          </ul>
          {meeting.content.recordings.length > 0 && (
            <>
              <h3>Recordings</h3>
              <ul>
                {meeting.content.recordings.map((r) => (
                  <li key={r._id}>
                    {time(r.startTime)} – {r.endTime ? time(r.endTime) : 'running'} ({r.status})
                    <Attachments items={r.data} />
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
  controls: c,
}: {
  attendee: MeetingAttendee;
  isAdmin: boolean;
  isMe: boolean;
  controls: MeetingControls;
}) {
  const muted = a.mediaSession?.audio === false;
  const name = a.displayname || a.username;
  return (
    <li class="attendee">
      <Avatar person={a} />
      <span>
        {name}
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
          {muted ? (
            <button type="button" class="small" aria-label={`Unmute ${name}`} onClick={() => c.unmute(a)}>
              Unmute
            </button>
          ) : (
            <button type="button" class="small" aria-label={`Mute ${name}`} onClick={() => c.mute(a)}>
              Mute
            </button>
          )}
          {a.raisedHand && (
            <>
              <button type="button" class="small" onClick={() => c.acceptHand(a)}>
                Allow to speak
              </button>
              <button type="button" class="small" onClick={() => c.lowerHand(a)}>
                Lower hand
              </button>
            </>
          )}
        </span>
      )}
    </li>
  );
}
