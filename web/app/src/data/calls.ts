// 1:1 calls in direct spaces: the SDK's `DirectCalls` (the ring and the answer), kept for
// the signed-in session wherever the person is in the app, and tied to a direct space's
// media (useMediaCall) while that space is open. views/Call.tsx only shows what this holds.
import { DirectCalls, type DirectCall, type Sender } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { go } from '../router.js';
import { session } from '../session.js';
import type { MediaCall } from './media.js';

class Calls {
  private manager: DirectCalls | null = null;
  private bound: unknown = null;
  private readonly listeners = new Set<() => void>();

  /** Follows the session: a new sign-in or connection gets a fresh call manager. */
  start(): void {
    session.subscribe(() => this.bind());
    // Closing the page hangs up or stops calling (its media leaves on its own); a call
    // ringing here may still be answered on another device.
    window.addEventListener('pagehide', () => {
      const c = this.current;
      if (c && (c.status === 'active' || c.direction === 'outgoing')) this.manager?.hangUp();
    });
    this.bind();
  }

  private bind(): void {
    const rt = session.realtime;
    if (rt === this.bound) return;
    this.manager?.close();
    this.manager = null;
    this.bound = rt;
    const me = session.user;
    if (rt && me) {
      this.manager = new DirectCalls({ realtime: rt, selfId: me._id });
      this.manager.on('change', () => this.changed());
    }
    this.changed();
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get current(): DirectCall | null {
    return this.manager?.current ?? null;
  }

  get busy(): boolean {
    return this.manager?.busy ?? false;
  }

  call(spaceId: string, peer: Sender | null): void {
    this.manager?.call(spaceId, peer);
  }

  /** Accepts the ringing call and opens its space, whose view joins the media. */
  accept(): void {
    const c = this.current;
    if (!c) return;
    this.manager?.accept();
    go(`/spaces/${c.spaceId}/meeting`);
  }

  decline = () => this.manager?.decline();
  hangUp = () => this.manager?.hangUp();
  dismiss = () => this.manager?.dismiss();
}

export const calls = new Calls();

/** The current call (ringing, running or just over), re-rendering as it changes. */
export function useDirectCall(): DirectCall | null {
  const [, setVersion] = useState(0);
  useEffect(() => calls.subscribe(() => setVersion((v) => v + 1)), []);
  return calls.current;
}

/**
 * A direct space's side of the call: the call of this space, if any, and its media. Once
 * the call is accepted, the camera and microphone start (the preview) and the space's media
 * is joined; the call's end leaves the media; leaving the media (or the space) hangs up.
 */
export function useSpaceCall(spaceId: string, media: MediaCall) {
  const current = useDirectCall();
  const call = current?.spaceId === spaceId ? current : null;
  const joinedFor = useRef('');
  const { phase, preview, controls } = media;
  const status = call?.status;

  // Accepted: the devices first, then the media room (the socket must be subscribed).
  useEffect(() => {
    if (!call || status !== 'active' || joinedFor.current === call.id) return;
    if (phase === 'idle') controls.openPreview();
    else if (phase === 'preview' && (preview.stream || preview.error)) {
      joinedFor.current = call.id;
      go(`/spaces/${spaceId}/meeting`);
      const rt = session.realtime;
      void (rt ? rt.subscribe(spaceId).catch(() => undefined) : Promise.resolve()).then(() => controls.join(false));
    }
  });

  // Over (or gone): stop the preview, leave the media.
  useEffect(() => {
    if (status === 'active' || status === 'ringing') return;
    if (phase === 'preview') controls.cancelSetup();
    else if (joinedFor.current && (phase === 'joined' || phase === 'joining')) controls.leave();
    joinedFor.current = '';
  }, [status]);

  // The media ended (left, lost, the meeting ended) while the call runs: hang up.
  useEffect(() => {
    if (status === 'active' && joinedFor.current === call?.id && phase === 'idle') calls.hangUp();
  }, [phase, status, call?.id]);

  // Leaving the space ends its call.
  useEffect(
    () => () => {
      const c = calls.current;
      if (c && c.spaceId === spaceId && c.status !== 'over') calls.hangUp();
    },
    [spaceId],
  );

  return {
    call,
    /** Rings the other party, the camera preview running meanwhile. */
    start: (peer: Sender | null) => {
      calls.call(spaceId, peer);
      controls.openPreview();
    },
    hangUp: () => {
      calls.hangUp();
      if (phase === 'preview') controls.cancelSetup();
      else controls.leave();
    },
    dismiss: calls.dismiss,
    /** Whether a call can start here: none rings or runs anywhere, and no meeting is joined. */
    canCall: !calls.busy && phase === 'idle',
  };
}

export type SpaceCall = ReturnType<typeof useSpaceCall>;
