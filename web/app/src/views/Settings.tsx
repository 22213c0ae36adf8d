import { GUEST_HISTORY_CUT, type Space } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { go } from '../router.js';
import { session } from '../session.js';
import { ErrorNote, useAction } from '../ui.js';

/** Title, PIN, guest history, archive, pinning and leaving. */
export function Settings({ space, isAdmin, onChange }: { space: Space; isAdmin: boolean; onChange: (space: Space) => void }) {
  const client = session.client;
  const [title, setTitle] = useState(space.title ?? '');
  const [pin, setPin] = useState(String(space.settings?.confPin ?? ''));
  const [saved, setSaved] = useState<string | null>(null);
  const { error, busy, run } = useAction();
  const done = (what: string) => (updated: Space) => {
    onChange({ ...space, ...updated });
    setSaved(what);
  };

  return (
    <section class="settings" aria-label="Space settings">
      <ErrorNote error={error} />
      {saved && (
        <p class="notice" role="status">
          {saved}
        </p>
      )}
      {isAdmin && space.type === 'group' && (
        <>
          <form
            class="card"
            onSubmit={(e) => {
              e.preventDefault();
              void run(async () => done('Title saved.')(await client.rename(space._id, title.trim())));
            }}
          >
            <label>
              Title
              <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
            </label>
            <button type="submit" disabled={busy}>
              Save title
            </button>
          </form>
          <form
            class="card"
            onSubmit={(e) => {
              e.preventDefault();
              void run(async () => done(pin.trim() ? 'PIN set.' : 'PIN removed.')(await client.setPin(space._id, pin.trim() || null)));
            }}
          >
            <label>
              Guest PIN
              <input
                value={pin}
                inputMode="numeric"
                pattern="[A-Za-z0-9]{0,32}"
                onInput={(e) => setPin(e.currentTarget.value)}
                aria-describedby="pin-help"
              />
            </label>
            <p class="hint" id="pin-help">
              Up to 32 letters or digits. Guests joining by link must enter it. Leave empty for no PIN.
            </p>
            <button type="submit" disabled={busy}>
              Save PIN
            </button>
          </form>
          <div class="card">
            <label class="check">
              <input
                type="checkbox"
                checked={!(space.restrict ?? []).includes(GUEST_HISTORY_CUT)}
                disabled={busy}
                aria-describedby="history-help"
                onChange={(e) => {
                  const earlier = e.currentTarget.checked;
                  void run(async () =>
                    done(earlier ? 'Guests now read the earlier history.' : 'Guests now read only what comes after they join.')(
                      await client.setGuestHistory(space, earlier),
                    ),
                  );
                }}
              />{' '}
              Guests can read messages from before they joined
            </label>
            <p class="hint" id="history-help">
              Off by default: guests see only what is written after they join.
            </p>
          </div>
          <div class="card">
            {space.status === 1 ? (
              <button
                type="button"
                disabled={busy}
                onClick={() => void run(async () => done('Space restored.')(await client.unarchive(space._id)))}
              >
                Unarchive space
              </button>
            ) : (
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() =>
                  confirm('Archive this space? Nobody can write in it until it is restored.') &&
                  void run(async () => done('Space archived.')(await client.archive(space._id)))
                }
              >
                Archive space
              </button>
            )}
          </div>
        </>
      )}
      <div class="card">
        {!session.guest && (
          <label class="check">
            <input
              type="checkbox"
              checked={Boolean(space.isPinned)}
              onChange={(e) => {
                const pinned = e.currentTarget.checked;
                void run(async () => {
                  await client.setPinned(space._id, pinned);
                  onChange({ ...space, isPinned: pinned });
                });
              }}
            />{' '}
            Pin this space to the top of my list
          </label>
        )}
        {space.type === 'group' && (
          <button
            type="button"
            class="danger"
            onClick={() =>
              confirm('Leave this space?') &&
              void run(async () => {
                await client.removeMember(space._id, { member: session.user!._id, memberType: session.guest ? 'anonymousId' : 'userId' });
                go('/');
              })
            }
          >
            Leave space
          </button>
        )}
      </div>
    </section>
  );
}
