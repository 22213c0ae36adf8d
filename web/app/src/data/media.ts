// The meeting's media in the browser: a `MediaSession` (the SDK's) with the microphone,
// camera and screen-share controls, after the preview of data/preview.ts. The views in
// views/MeetingStage.tsx and views/JoinSetup.tsx only show what this holds.
import { MediaSession, PlazaApiError, type MediaParticipant, type RemoteTrack } from '@plaza/web-sdk';
import { useEffect, useReducer, useState } from 'preact/hooks';

import { session } from '../session.js';
import { constraint, usePreview } from './preview.js';

export { mediaErrorText } from './preview.js';

declare global {
  interface Window {
    /** The live media session, for the browser tests' `getStats()` polling. */
    __plazaMedia?: MediaSession | undefined;
  }
}

/** `preview`: the camera and microphone run, without the setup form (a 1:1 call about to start). */
export type Phase = 'idle' | 'setup' | 'preview' | 'joining' | 'joined';

/**
 * One person's media in the space's meeting. It lives with the open space (SpaceView), so
 * the call goes on while the person reads the chat; leaving the space leaves the call.
 */
export function useMediaCall(spaceId: string) {
  const [phase, setPhase] = useState<Phase>('idle');
  const [media, setMedia] = useState<MediaSession | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [speaker, setSpeaker] = useState('');
  const [mutedBy, setMutedBy] = useState(false);
  const [, bump] = useReducer((n: number, _: unknown) => n + 1, 0);
  const preview = usePreview(phase === 'setup' || phase === 'preview');
  const me = session.user!;

  useEffect(() => () => setPhase('idle'), [spaceId]);
  // Leaving the space or the page ends the media session, as does the meeting's end (an
  // admin's "End meeting").
  useEffect(() => {
    if (!media) return;
    const gone = () => media.leave();
    window.addEventListener('pagehide', gone);
    const offEnded = session.realtime?.on('media', (event) => {
      if (event.topicId !== spaceId || event.category !== 'app.event.meeting.ended') return;
      media.leave();
      setMedia(null);
      setPhase('idle');
    });
    return () => {
      offEnded?.();
      window.removeEventListener('pagehide', gone);
      media.leave();
      if (window.__plazaMedia === media) window.__plazaMedia = undefined;
    };
  }, [media, spaceId]);

  const join = async (audioOnly = false) => {
    const rt = session.realtime;
    if (!rt) return setError(new Error('Not connected to the server.'));
    setError(null);
    setPhase('joining');
    const tracks = preview.take(audioOnly);
    // The same session stays for the whole call: when the server moves the meeting's media
    // to another node, it joins again by itself (`reconnecting`, then `connected`).
    const ms = new MediaSession({ rest: session.client, realtime: rt, spaceId });
    window.__plazaMedia = ms;
    for (const event of ['participants', 'tracks', 'connection', 'rejoined'] as const) ms.on(event, () => bump(undefined));
    ms.on('activeSpeaker', (sid) => setSpeaker(sid));
    ms.on('error', (e) => setError(e));
    let connected = false;
    ms.on('connection', (state) => {
      connected ||= state === 'connected';
      // A lost connection being mended is no error to show; one that came up after all is fine.
      if (state === 'reconnecting') setError(null);
      else if (state === 'connected') setError((e: unknown) => (e instanceof PlazaApiError && e.code === 'media.unreachable' ? null : e));
    });
    ms.on('ended', (reason) => {
      setMedia(null);
      setPhase('idle');
      // The server gave up on a transport that never came up: the port is unreachable.
      if (!connected) setError(new PlazaApiError(0, { code: 'media.unreachable', message: 'the media port is unreachable' }));
      else if (reason === 'moved')
        setError(new Error("The meeting's media moved to another server and reconnecting failed. Join again to continue."));
      else if (reason !== 'left') setError(new Error(`The media connection was lost (${reason}). Join again to continue.`));
    });
    ms.on('forwarding', (f) => {
      if (f.sessionId !== ms.sessionId || f.kind !== 'audio') return;
      setMutedBy(!f.forwarding);
      if (!f.forwarding) ms.setMicrophoneEnabled(false);
      bump(undefined);
    });
    try {
      await ms.join(tracks);
      setMedia(ms);
      setPhase('joined');
    } catch (e) {
      ms.leave();
      window.__plazaMedia = undefined;
      setError(e);
      setPhase('setup');
    }
  };

  /** Tells the meeting (and the SFU) our own audio/video state. */
  const report = async (state: { audio?: boolean; video?: boolean; screenshare?: boolean }) => {
    const m = await session.client.activeMeeting(spaceId);
    if (m) await session.client.setMediaState(spaceId, m._id, { _id: me._id, type: 'user' }, state);
  };
  const guard = (action: () => Promise<void>) => () =>
    void action()
      .catch((e: unknown) => setError(e))
      .finally(() => bump(undefined));

  const mic = media?.localTrack('microphone') ?? null;
  const micOn = Boolean(mic?.enabled) && !mutedBy;
  const camera = media?.localTrack('camera') ?? null;
  const screen = media?.localTrack('screen') ?? null;

  const controls = {
    openSetup: () => {
      setError(null);
      setPhase('setup');
    },
    openPreview: () => {
      setError(null);
      setPhase('preview');
    },
    cancelSetup: () => setPhase('idle'),
    join,
    leave: () => {
      media?.leave();
      setMedia(null);
      setPhase('idle');
    },
    toggleMic: guard(async () => {
      if (!media) return;
      if (!mic) {
        const s = await navigator.mediaDevices.getUserMedia({ audio: constraint(preview.choice.micId) });
        await media.publish('microphone', s.getAudioTracks()[0] ?? null);
        return report({ audio: true });
      }
      const on = !micOn;
      if (on) {
        await report({ audio: true }); // refused when a moderator's mute still holds
        setMutedBy(false);
      }
      media.setMicrophoneEnabled(on);
      if (!on) await report({ audio: false });
    }),
    toggleCamera: guard(async () => {
      if (!media) return;
      if (camera) await media.publish('camera', null);
      else {
        const s = await navigator.mediaDevices.getUserMedia({ video: constraint(preview.choice.camId) });
        await media.publish('camera', s.getVideoTracks()[0] ?? null);
      }
      await report({ video: !camera });
    }),
    toggleScreen: guard(async () => {
      if (!media) return;
      if (screen) {
        await media.publish('screen', null);
        return report({ screenshare: false });
      }
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = s.getVideoTracks()[0] ?? null;
      track?.addEventListener('ended', () => void media.publish('screen', null).finally(() => bump(undefined)));
      await media.publish('screen', track);
      await report({ screenshare: true });
    }),
  };

  return {
    phase,
    preview,
    media,
    error,
    connection: media?.connection ?? 'connecting',
    participants: media?.participants ?? [],
    tracks: media?.tracks ?? [],
    speaker,
    micOn,
    mutedBy,
    camera,
    screen,
    controls,
  };
}

export type MediaCall = ReturnType<typeof useMediaCall>;

/** A participant's tiles: their camera (or avatar) and any screen share. */
export interface Tile {
  key: string;
  participant: MediaParticipant;
  kind: 'camera' | 'screen';
  video: MediaStreamTrack | null;
}

/**
 * How remote tracks make tiles: every participant has a camera tile (their first video,
 * or their avatar); a second video is their screen share, as is the only one of someone
 * who shares their screen with the camera off.
 */
export function tilesOf(participants: MediaParticipant[], tracks: RemoteTrack[], selfSession: string): Tile[] {
  const out: Tile[] = [];
  for (const p of participants) {
    if (p.sessionId === selfSession) continue;
    const stream = p.streamId ?? p.sessionId;
    const videos = tracks.filter((t) => t.sessionId === stream && t.kind === 'video').map((t) => t.track as unknown as MediaStreamTrack);
    const onlyScreen = videos.length === 1 && p.screenshare === true && p.video === false;
    out.push({ key: `${p.sessionId}-camera`, participant: p, kind: 'camera', video: onlyScreen ? null : (videos[0] ?? null) });
    const screens = onlyScreen ? videos : videos.slice(1);
    screens.forEach((v, i) => out.push({ key: `${p.sessionId}-screen-${i}`, participant: p, kind: 'screen', video: v }));
  }
  return out;
}
