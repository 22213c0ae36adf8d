import { GUEST_HISTORY_CUT, type Space } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { useSpaceSettings } from '../data/spaceSettings.js';
import { session } from '../session.js';
import { ErrorNote } from '../ui.js';

type SpaceSettings = ReturnType<typeof useSpaceSettings>;

/** The space's Settings tab: title, PIN, guest history, archive (admins); pinning and leaving (everyone). */
export function Settings({ space, isAdmin, onChange }: { space: Space; isAdmin: boolean; onChange: (space: Space) => void }) {
  const settings = useSpaceSettings(space, onChange);
  return (
    <section class="settings" aria-label="Space settings">
      <ErrorNote error={settings.error} />
      {settings.saved && (
        <p class="notice" role="status">
          {settings.saved}
        </p>
      )}
      {isAdmin && space.type === 'group' && <AdminSettings space={space} settings={settings} />}
      <div class="card">
        {!session.guest && (
          <label class="check">
            <input type="checkbox" checked={Boolean(space.isPinned)} onChange={(e) => settings.setPinned(e.currentTarget.checked)} /> Pin
            this space to the top of my list
          </label>
        )}
        {space.type === 'group' && (
          <button type="button" class="danger" onClick={() => confirm('Leave this space?') && settings.leave()}>
            Leave space
          </button>
        )}
      </div>
    </section>
  );
}

/** What only admins change: the title, the guest PIN, the guests' history, archiving. */
function AdminSettings({ space, settings: s }: { space: Space; settings: SpaceSettings }) {
  const [title, setTitle] = useState(space.title ?? '');
  const [pin, setPin] = useState(String(space.settings?.confPin ?? ''));
  return (
    <>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          s.rename(title);
        }}
      >
        <label>
          Title
          <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
        </label>
        <button type="submit" disabled={s.busy}>
          Save title
        </button>
      </form>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          s.setPin(pin);
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
        <button type="submit" disabled={s.busy}>
          Save PIN
        </button>
      </form>
      <div class="card">
        <label class="check">
          <input
            type="checkbox"
            checked={!(space.restrict ?? []).includes(GUEST_HISTORY_CUT)}
            disabled={s.busy}
            aria-describedby="history-help"
            onChange={(e) => s.setGuestHistory(e.currentTarget.checked)}
          />{' '}
          Guests can read messages from before they joined
        </label>
        <p class="hint" id="history-help">
          Off by default: guests see only what is written after they join.
        </p>
      </div>
      <div class="card">
        {space.status === 1 ? (
          <button type="button" disabled={s.busy} onClick={s.unarchive}>
            Unarchive space
          </button>
        ) : (
          <button
            type="button"
            class="danger"
            disabled={s.busy}
            onClick={() => confirm('Archive this space? Nobody can write in it until it is restored.') && s.archive()}
          >
            Archive space
          </button>
        )}
      </div>
    </>
  );
}
