import type { MediaParticipant } from '@plaza/web-sdk';

import { tilesOf, type MediaCall } from '../data/media.js';
import { session } from '../session.js';
import { Avatar } from '../ui.js';
import { qualityForWidth, TrackAudio, TrackVideo } from './MediaElements.js';

const nameOf = (p: Pick<MediaParticipant, 'displayname' | 'userId'>) => p.displayname || 'Someone';

/** In the meeting: a tile per person (the active speaker outlined), and the media controls. */
export function MeetingStage({ call, onHangUp }: { call: MediaCall; onHangUp?: (() => void) | undefined }) {
  const { media, speaker, controls: c } = call;
  const me = session.user!;
  const self = media?.sessionId ?? '';
  const tiles = tilesOf(call.participants, call.tracks, self);
  const selfName = `${me.displayname || me.username} (you)`;
  return (
    <div class="stage" role="region" aria-label="Meeting video">
      {call.connection === 'connecting' && (
        <p class="notice" role="status">
          Connecting the media…
        </p>
      )}
      {call.connection === 'reconnecting' && (
        <p class="notice" role="status">
          Reconnecting media…
        </p>
      )}
      {call.mutedBy && (
        <p class="notice" role="status">
          A moderator muted your microphone.
        </p>
      )}
      <ul class="tiles" aria-label="Participants">
        <li class={speaker && speaker === self ? 'tile speaking' : 'tile'} aria-label={selfName}>
          {call.camera ? (
            <TrackVideo track={call.camera as unknown as MediaStreamTrack} label="Your camera" mirror />
          ) : (
            <Avatar person={me} />
          )}
          <span class="name">
            {selfName}
            {!call.micOn && <span class="tag">muted</span>}
          </span>
        </li>
        {call.screen && (
          <li class="tile screen" aria-label="Your screen share">
            <TrackVideo track={call.screen as unknown as MediaStreamTrack} label="Your screen share" />
            <span class="name">Your screen</span>
          </li>
        )}
        {tiles.map((t) => {
          const name = t.kind === 'screen' ? `${nameOf(t.participant)}'s screen` : nameOf(t.participant);
          const speaking = t.kind === 'camera' && t.participant.sessionId === speaker;
          return (
            <li key={t.key} class={`tile${speaking ? ' speaking' : ''}${t.kind === 'screen' ? ' screen' : ''}`} aria-label={name}>
              {t.video ? (
                <TrackVideo
                  track={t.video}
                  label={name}
                  // The camera's simulcast layer follows the tile's size (screen shares have one layer).
                  onWidth={t.kind === 'camera' ? (w) => media?.setQuality(t.participant.sessionId, qualityForWidth(w)) : undefined}
                />
              ) : (
                <Avatar person={{ displayname: nameOf(t.participant) }} />
              )}
              <span class="name">
                {name}
                {speaking && <span class="tag live">speaking</span>}
                {t.kind === 'camera' && t.participant.audio === false && <span class="tag">muted</span>}
              </span>
            </li>
          );
        })}
      </ul>
      <div class="row wrap controls" role="toolbar" aria-label="Media controls">
        <button type="button" aria-pressed={!call.micOn} onClick={c.toggleMic}>
          {call.micOn ? 'Mute' : 'Unmute'}
        </button>
        <button type="button" aria-pressed={!call.camera} onClick={c.toggleCamera}>
          {call.camera ? 'Stop camera' : 'Start camera'}
        </button>
        <button type="button" aria-pressed={Boolean(call.screen)} onClick={c.toggleScreen}>
          {call.screen ? 'Stop sharing' : 'Share screen'}
        </button>
        <button type="button" class="danger" onClick={onHangUp ?? c.leave}>
          {onHangUp ? 'Hang up' : 'Leave meeting'}
        </button>
      </div>
    </div>
  );
}

/** The others' voices, played while the call lasts whichever tab is open. */
export function RemoteAudio({ call }: { call: MediaCall }) {
  return (
    <>
      {call.tracks
        .filter((t) => t.kind === 'audio')
        .map((t) => (
          <TrackAudio key={t.mid} track={t.track as unknown as MediaStreamTrack} />
        ))}
    </>
  );
}
