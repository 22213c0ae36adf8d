import { useState } from 'preact/hooks';

import { useJoin } from '../data/join.js';
import { ErrorNote } from '../ui.js';

/**
 * `#/join/<spaceId>` (a shared link) and `#/invite/<inviteId>` (an email invitation):
 * signed-in people join at once (asked for the PIN when the space has one); others
 * join as a guest with a display name, or sign in first.
 */
export function Join({ id, invitation }: { id: string; invitation?: boolean }) {
  const [name, setName] = useState('');
  const [pin, setPin] = useState('');
  const { user, needPin, join, error, busy } = useJoin(id, Boolean(invitation));
  const submit = (e: Event) => {
    e.preventDefault();
    join(name, pin);
  };

  const returnTo = invitation ? `/invite/${id}` : `/join/${id}`;
  return (
    <main class="auth" aria-labelledby="join-title">
      <form class="card" onSubmit={submit}>
        <h1 id="join-title">{invitation ? 'Accept the invitation' : 'Join the space'}</h1>
        {!user && (
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
        {user && !needPin && <p>Joining as {user.displayname}…</p>}
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
        {(!user || needPin) && (
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Joining…' : 'Join'}
          </button>
        )}
        {user && (
          <p class="switch">
            <a href="#/">Back to my spaces</a>
          </p>
        )}
      </form>
    </main>
  );
}
