import type { Space } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { go } from '../router.js';
import { session } from '../session.js';
import { useAction } from '../ui.js';

/** A space's settings as its admins and members change them; `saved` says what the last change did. */
export function useSpaceSettings(space: Space, onChange: (space: Space) => void) {
  const client = session.client;
  const [saved, setSaved] = useState<string | null>(null);
  const { error, busy, run } = useAction();
  /** Applies the server's answer and says so. */
  const change = (what: string, call: () => Promise<Space>) =>
    void run(async () => {
      const updated = await call();
      onChange({ ...space, ...updated });
      setSaved(what);
    });
  return {
    saved,
    error,
    busy,
    rename: (title: string) => change('Title saved.', () => client.rename(space._id, title.trim())),
    setPin: (pin: string) => change(pin.trim() ? 'PIN set.' : 'PIN removed.', () => client.setPin(space._id, pin.trim() || null)),
    setGuestHistory: (earlier: boolean) =>
      change(earlier ? 'Guests now read the earlier history.' : 'Guests now read only what comes after they join.', () =>
        client.setGuestHistory(space, earlier),
      ),
    archive: () => change('Space archived.', () => client.archive(space._id)),
    unarchive: () => change('Space restored.', () => client.unarchive(space._id)),
    setPinned: (pinned: boolean) =>
      void run(async () => {
        await client.setPinned(space._id, pinned);
        onChange({ ...space, isPinned: pinned });
      }),
    leave: () =>
      void run(async () => {
        await client.removeMember(space._id, { member: session.user!._id, memberType: session.guest ? 'anonymousId' : 'userId' });
        go('/');
      }),
  };
}
