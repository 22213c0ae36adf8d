import { session } from '../session.js';
import { emailDigestOn, useUserSettings } from '../settings.js';
import { ErrorNote } from '../ui.js';
import { DesktopNotifications, useNotifier } from './Notifications.js';

/** `#/settings`: the person's own settings (notifications, sound, email digest). */
export function Preferences() {
  const n = useNotifier();
  const { settings, saved, error, busy, save } = useUserSettings();
  return (
    <main class="space preferences" id="main" tabIndex={-1} aria-labelledby="prefs-title">
      <header class="space-head">
        <a href="#/" class="back button ghost" aria-label="Back to spaces">
          ←
        </a>
        <h1 id="prefs-title" class="grow">
          Settings
        </h1>
      </header>
      <div class="tab-body">
        <section aria-label="Your settings">
          <div class="card" role="group" aria-labelledby="prefs-desktop">
            <h2 id="prefs-desktop">Desktop notifications</h2>
            <DesktopNotifications />
          </div>
          <div class="card" role="group" aria-labelledby="prefs-sound">
            <h2 id="prefs-sound">Sound</h2>
            <label class="check">
              <input type="checkbox" checked={n.sound} onChange={(e) => (n.sound = e.currentTarget.checked)} /> Play a sound for mentions
              and direct messages
            </label>
            <p class="hint">A short chime while Plaza is in a background tab. Kept in this browser.</p>
          </div>
          {!session.guest && (
            <div class="card" role="group" aria-labelledby="prefs-email">
              <h2 id="prefs-email">Email</h2>
              <label class="check">
                <input
                  type="checkbox"
                  checked={emailDigestOn(settings)}
                  disabled={busy || !settings}
                  onChange={(e) => {
                    const on = e.currentTarget.checked;
                    void save({ emailDigest: on }, on ? 'You will get email digests.' : 'No more email digests.');
                  }}
                />{' '}
                Email me a digest of missed mentions and direct messages
              </label>
              {saved && (
                <p class="notice" role="status">
                  {saved}
                </p>
              )}
              <ErrorNote error={error} />
            </div>
          )}
        </section>
      </div>
    </main>
  );
}
