import type { UserSettings } from '@plaza/web-sdk';
import { useEffect, useState } from 'preact/hooks';

import { session } from './session.js';
import { useAction } from './ui.js';

/** The caller's server-side settings (`/api/users/me/settings`), read once and saved field by field. */
export function useUserSettings() {
  const [settings, setSettings] = useState<UserSettings | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const { error, busy, run } = useAction();

  useEffect(() => {
    if (session.guest) return;
    void run(async () => setSettings(await session.client.settings()));
  }, [session.user?._id]);

  /** Shows the change at once and takes it back if the server refuses it. */
  const save = (changes: Partial<UserSettings>, note: string) => {
    const before = settings;
    setSaved(null);
    setSettings((s) => ({ ...s, ...changes }));
    return run(async () => {
      try {
        const updated = await session.client.updateSettings(changes);
        setSettings((s) => ({ ...s, ...changes, ...updated }));
        setSaved(note);
      } catch (error) {
        setSettings(before);
        throw error;
      }
    });
  };

  return { settings, saved, error, busy, save };
}

/** The digest is on unless the person turned it off. */
export function emailDigestOn(settings: UserSettings | null): boolean {
  return settings?.emailDigest !== false;
}
