import type { Space } from '@plaza/web-sdk';
import { useEffect, useReducer, useState } from 'preact/hooks';

import { notifier } from '../notify.js';
import { session } from '../session.js';
import { ErrorNote, useAction } from '../ui.js';

/** Re-renders whenever a notification choice changes. */
export function useNotifier() {
  const [, bump] = useReducer((n: number, _: unknown) => n + 1, 0);
  useEffect(() => notifier.subscribe(() => bump(undefined)), []);
  return notifier;
}

/** A dismissable offer under the top bar; the browser asks only after the click. */
export function NotifyOffer() {
  const n = useNotifier();
  if (session.guest || !n.offer) return null;
  return (
    <div class="offer" role="region" aria-label="Desktop notifications">
      <span>Get a desktop notification when someone mentions you or sends you a direct message.</span>
      <span class="row">
        <button type="button" class="small primary" onClick={() => void n.enable()}>
          Enable desktop notifications
        </button>
        <button type="button" class="small ghost" onClick={() => n.dismissOffer()}>
          Not now
        </button>
      </span>
    </div>
  );
}

/** The desktop notification switch, with what the browser allows. */
export function DesktopNotifications() {
  const n = useNotifier();
  const [asked, setAsked] = useState<string | null>(null);
  if (!n.supported) return <p class="hint">This browser cannot show desktop notifications.</p>;
  if (n.desktop) {
    return (
      <p class="row wrap">
        <span role="status">Desktop notifications are on for mentions and direct messages.</span>
        <button type="button" class="small" onClick={() => n.disable()}>
          Turn off desktop notifications
        </button>
      </p>
    );
  }
  const enable = async () => {
    const permission = await n.enable();
    setAsked(permission === 'granted' ? null : 'The browser did not allow notifications for this site.');
  };
  return (
    <>
      <p class="hint">Shown while Plaza is in a background tab, when someone mentions you or sends you a direct message.</p>
      {n.permission === 'denied' ? (
        <p class="notice">Notifications are blocked for this site. Allow them in the browser's site settings, then reload.</p>
      ) : (
        <button type="button" onClick={() => void enable()}>
          Enable desktop notifications
        </button>
      )}
      {asked && <p class="notice">{asked}</p>}
    </>
  );
}

/** Mutes or unmutes one space's notifications (the membership's `notification`). */
export function MuteButton({ space, onChange }: { space: Space; onChange: (space: Space) => void }) {
  const { error, busy, run } = useAction();
  const muted = space.notification === false;
  if (session.guest) return null;
  const toggle = () =>
    void run(async () => {
      // Muted now: turn them back on; otherwise mute.
      const answer = await session.client.setNotification(space._id, muted);
      const updated = { ...space, notification: answer?.data?.notification ?? muted };
      notifier.learn([updated]);
      onChange(updated);
    });
  return (
    <span class="mute">
      <button type="button" class="small" disabled={busy} onClick={toggle} title={muted ? 'Notifications are muted' : undefined}>
        <svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">
          <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0" />
          {muted && <path d="M3 3l18 18" />}
        </svg>
        <span class="label">{muted ? 'Unmute notifications' : 'Mute notifications'}</span>
      </button>
      <ErrorNote error={error} />
    </span>
  );
}
