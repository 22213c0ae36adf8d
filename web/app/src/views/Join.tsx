import { PlazaApiError } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { go } from '../router.js';
import { session } from '../session.js';
import { ErrorNote, useAction, useSession } from '../ui.js';

const PIN_CODES = ['topic.password_required', 'topic.password_invalid'];

/**
 * `#/join/<spaceId>` (a shared link) and `#/invite/<inviteId>` (an email invitation):
 * signed-in people join at once (asked for the PIN when the space has one); others
 * join as a guest with a display name, or sign in first.
 */
export function Join({ id, invitation }: { id: string; invitation?: boolean }) {
  const s = useSession();
  const [name, setName] = useState('');
  const [pin, setPin] = useState('');
  const [needPin, setNeedPin] = useState(false);
  const { error, busy, run, setError } = useAction();
  const tried = useRef(false);

  const enter = async (withPin?: string) => {
    try {
      const space = invitation ? await s.client.acceptInvitation(id, withPin) : await s.client.join(id, withPin);
      if (withPin) sessionStorage.setItem(`plaza.pin.${space._id}`, withPin);
      go(`/spaces/${space._id}`);
    } catch (e) {
      if (e instanceof PlazaApiError && PIN_CODES.includes(e.code)) {
        setNeedPin(true);
        if (withPin) throw e;
        return;
      }
      throw e;
    }
  };

  useEffect(() => {
    if (s.user && !tried.current) {
      tried.current = true;
      void run(() => enter());
    }
  }, [s.user]);

  const submit = (e: Event) => {
    e.preventDefault();
    setError(null);
    void run(async () => {
      tried.current = true;
      if (!s.user) await session.guestLogin(name.trim());
      await enter(needPin ? pin.trim() : undefined);
    });
  };

  const returnTo = invitation ? `/invite/${id}` : `/join/${id}`;
  return (
    <main class="auth" aria-labelledby="join-title">
      <form class="card" onSubmit={submit}>
        <h1 id="join-title">{invitation ? 'Accept the invitation' : 'Join the space'}</h1>
        {!s.user && (
          <>
            <p>
              Join as a guest, or{' '}
              <a href="#/login" onClick={() => sessionStorage.setItem('plaza.then', returnTo)}>
                sign in
              </a>{' '}
              first.
            </p>
            <label>
              Your name
              <input
                name="displayname"
                autocomplete="name"
                value={name}
                onInput={(e) => setName(e.currentTarget.value)}
                required
                maxLength={80}
              />
            </label>
          </>
        )}
        {s.user && !needPin && <p>Joining as {s.user.displayname}…</p>}
        {needPin && (
          <label>
            Space PIN
            <input
              name="pin"
              inputMode="numeric"
              autocomplete="off"
              value={pin}
              onInput={(e) => setPin(e.currentTarget.value)}
              required
              aria-describedby="pin-hint"
            />
            <span class="hint" id="pin-hint">
              This space is protected by a PIN. Ask its members for it.
            </span>
          </label>
        )}
        <ErrorNote error={error} />
        {(!s.user || needPin) && (
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Joining…' : 'Join'}
          </button>
        )}
        {s.user && (
          <p class="switch">
            <a href="#/">Back to my spaces</a>
          </p>
        )}
      </form>
    </main>
  );
}
