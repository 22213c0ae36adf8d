import type { DirectCall } from '@plaza/web-sdk';
import { useEffect, useRef } from 'preact/hooks';

import { calls, useDirectCall, type SpaceCall } from '../data/calls.js';
import { mediaErrorText, type MediaCall } from '../data/media.js';
import { notifier } from '../notify.js';
import { DevicePicker } from './JoinSetup.js';
import { TrackVideo } from './MediaElements.js';

const callerName = (c: DirectCall) => c.peer?.displayname || c.peer?.username || 'Someone';

/**
 * Someone calls: a dialog over whatever page is open, with Accept (focused) and Decline
 * (also Escape). Focus goes back where it was when the ringing stops.
 */
export function IncomingCall() {
  const call = useDirectCall();
  const ringing = call?.direction === 'incoming' && call.status === 'ringing' ? call : null;
  const accept = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!ringing) return;
    const before = document.activeElement as HTMLElement | null;
    accept.current?.focus();
    const stopRinging = notifier.ring(`${callerName(ringing)} is calling`, ringing.spaceId);
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && calls.decline();
    window.addEventListener('keydown', onKey);
    return () => {
      stopRinging();
      window.removeEventListener('keydown', onKey);
      // Back where the person was, unless they moved on meanwhile.
      const now = document.activeElement;
      if (before?.isConnected && (!now || now === document.body || now.closest('.incoming-call'))) before.focus();
    };
  }, [ringing?.id]);
  if (!ringing) return null;
  const name = callerName(ringing);
  return (
    <div
      class="incoming-call card"
      role="alertdialog"
      aria-modal="false"
      aria-labelledby="incoming-call-title"
      aria-describedby="incoming-call-desc"
    >
      <h2 id="incoming-call-title">{name} is calling</h2>
      <p id="incoming-call-desc" class="hint">
        A video call in your direct messages.
      </p>
      <div class="row">
        <button ref={accept} type="button" class="primary" onClick={() => calls.accept()}>
          Accept
        </button>
        <button type="button" class="danger" onClick={calls.decline}>
          Decline
        </button>
      </div>
    </div>
  );
}

/** In a direct space's header: calls the other person. */
export function CallButton({ spaceCall, name, peer }: { spaceCall: SpaceCall; name: string; peer: DirectCall['peer'] }) {
  return (
    <button
      type="button"
      aria-label={`Call ${name}`}
      title="Audio and video call"
      disabled={!spaceCall.canCall}
      onClick={() => spaceCall.start(peer)}
    >
      Call
    </button>
  );
}

const OUTCOME: Record<string, (name: string) => string> = {
  declined: (n) => `${n} declined the call.`,
  busy: (n) => `${n} is in another call.`,
  unanswered: (n) => `${n} did not answer.`,
  missed: (n) => `You missed a call from ${n}.`,
  ended: (n) => `${n} ended the call.`,
};

/** The call of a direct space: ringing (with one's camera preview), running, or how it ended. */
export function CallStatus({ spaceCall, media, name, tab }: { spaceCall: SpaceCall; media: MediaCall; name: string; tab: string }) {
  const { call } = spaceCall;
  if (!call) return null;
  if (call.status === 'over') {
    return (
      <div class="call-status notice row" role="status">
        <span class="grow">{OUTCOME[call.outcome ?? 'ended']!(name)}</span>
        <button type="button" class="small" onClick={spaceCall.dismiss}>
          Dismiss
        </button>
      </div>
    );
  }
  if (call.status === 'active') {
    return (
      <div class="call-status notice row" role="status">
        <span class="grow">
          In a call with {name}
          {media.phase !== 'joined' && ' · connecting…'}
        </span>
        {/* On the Meeting tab, the media controls have the Hang up button. */}
        {tab !== 'meeting' && (
          <>
            <a href={`#/spaces/${call.spaceId}/meeting`}>Show the call</a>
            <button type="button" class="small danger" onClick={spaceCall.hangUp}>
              Hang up
            </button>
          </>
        )}
      </div>
    );
  }
  if (call.direction !== 'outgoing') return null; // an incoming ring is the IncomingCall dialog
  const p = media.preview;
  const video = p.stream?.getVideoTracks()[0];
  return (
    <div class="call-status card" role="group" aria-label="Outgoing call">
      <div class="preview">
        {video && p.choice.video ? (
          <TrackVideo track={video} label="Your camera preview" mirror />
        ) : (
          <p class="hint">{p.choice.video ? 'Starting the camera…' : 'Camera off'}</p>
        )}
      </div>
      {p.error ? (
        <p class="error" role="alert">
          {mediaErrorText(p.error)}
        </p>
      ) : null}
      <p role="status">
        <strong>Calling {name}…</strong>
      </p>
      <DevicePicker preview={p} />
      <button type="button" class="danger" onClick={spaceCall.hangUp}>
        Cancel
      </button>
    </div>
  );
}
