import { useState } from 'preact/hooks';

import { session } from '../session.js';
import { ErrorNote, useAction } from '../ui.js';

/** `#/forgot`: asks for a reset link by email. */
export function Forgot() {
  const [username, setUsername] = useState('');
  const [sent, setSent] = useState(false);
  const { error, busy, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await session.client.forgotPassword(username.trim());
      setSent(true);
    });
  };
  return (
    <main class="auth" aria-labelledby="forgot-title">
      <form class="card" onSubmit={submit} aria-describedby={error ? 'forgot-error' : undefined}>
        <h1 id="forgot-title">Reset your password</h1>
        {sent ? (
          <p class="notice" role="status">
            If an account exists for that address, a reset link is on its way. It works once, for a limited time.
          </p>
        ) : (
          <>
            <p>We will email you a link to choose a new password.</p>
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
            <ErrorNote error={error} id="forgot-error" />
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Please wait…' : 'Send reset link'}
            </button>
          </>
        )}
        <p class="switch">
          <a href="#/login">Back to sign in</a>
        </p>
      </form>
    </main>
  );
}

/** `#/reset/<token>`: the emailed link; sets a new password. */
export function Reset({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const { error, busy, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await session.client.resetPassword(token, password);
      setPassword('');
      setDone(true);
    });
  };
  return (
    <main class="auth" aria-labelledby="reset-title">
      <form class="card" onSubmit={submit} aria-describedby={error ? 'reset-error' : undefined}>
        <h1 id="reset-title">Password reset</h1>
        {done ? (
          <p class="notice" role="status">
            Your password has been changed. Sign in with the new one.
          </p>
        ) : (
          <>
            <label>
              New password
              <input
                name="password"
                type="password"
                autocomplete="new-password"
                minLength={8}
                aria-describedby="new-password-hint"
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
                required
              />
            </label>
            <p class="hint" id="new-password-hint">
              At least 8 characters.
            </p>
            <ErrorNote error={error} id="reset-error" />
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Please wait…' : 'Set password'}
            </button>
          </>
        )}
        <p class="switch">
          {done ? (
            <a href="#/login">Sign in</a>
          ) : (
            <>
              Link expired? <a href="#/forgot">Ask for a new one</a>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
