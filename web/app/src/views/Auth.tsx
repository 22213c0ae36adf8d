import { useState } from 'preact/hooks';

import { go } from '../router.js';
import { session } from '../session.js';
import { ErrorNote, useAction } from '../ui.js';

/** Sign in or create an account; `then` is where to go afterwards. */
export function Auth({ mode, then }: { mode: 'login' | 'register'; then?: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayname, setDisplayname] = useState('');
  const { error, busy, run } = useAction();
  const register = mode === 'register';

  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      if (register) await session.register(username.trim(), password, displayname.trim());
      else await session.login(username.trim(), password);
      go(then ?? '/');
    });
  };

  return (
    <main class="auth" aria-labelledby="auth-title">
      <form class="card" onSubmit={submit} aria-describedby={error ? 'auth-error' : undefined}>
        <h1 id="auth-title">{register ? 'Create your Plaza account' : 'Sign in to Plaza'}</h1>
        {session.notice && !register && <p class="notice">{session.notice}</p>}
        {register && (
          <label>
            Display name
            <input
              name="displayname"
              autocomplete="name"
              value={displayname}
              onInput={(e) => setDisplayname(e.currentTarget.value)}
              required
            />
          </label>
        )}
        <label>
          Email
          <input
            name="username"
            type="email"
            autocomplete="username"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            required
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={register ? 'new-password' : 'current-password'}
            minLength={register ? 8 : undefined}
            aria-describedby={register ? 'password-hint' : undefined}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {register ? (
          <p class="hint" id="password-hint">
            At least 8 characters.
          </p>
        ) : (
          <p class="forgot">
            <a href="#/forgot">Forgot password?</a>
          </p>
        )}
        <ErrorNote error={error} id="auth-error" />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Please wait…' : register ? 'Create account' : 'Sign in'}
        </button>
        <p class="switch">
          {register ? (
            <>
              Have an account? <a href="#/login">Sign in</a>
            </>
          ) : (
            <>
              New here? <a href="#/register">Create an account</a>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
