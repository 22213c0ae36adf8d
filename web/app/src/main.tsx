import './styles.css';

import { render } from 'preact';
import { useState } from 'preact/hooks';

import { calls } from './data/calls.js';
import { notifier } from './notify.js';
import { go, useRoute } from './router.js';
import { session } from './session.js';
import { useSession } from './ui.js';
import { Auth } from './views/Auth.js';
import { IncomingCall } from './views/Call.js';
import { Join } from './views/Join.js';
import { NotifyOffer } from './views/Notifications.js';
import { Preferences } from './views/Preferences.js';
import { Forgot, Reset } from './views/Recover.js';
import { SpaceList } from './views/SpaceList.js';
import { SpaceView } from './views/SpaceView.js';

function Banner() {
  const s = useSession();
  if (!s.user || s.status === 'online') return null;
  return (
    <div class="banner" role="status" aria-live="assertive" data-testid="offline-banner">
      {s.status === 'connecting'
        ? 'Connecting…'
        : 'You are offline. Reconnecting… Messages you send will go out once the connection is back.'}
    </div>
  );
}

function App() {
  const s = useSession();
  const route = useRoute();
  const [listVersion, setListVersion] = useState(0);

  if (route.name === 'join' || route.name === 'invite') {
    return (
      <>
        <Banner />
        <Join id={route.params.id ?? ''} invitation={route.name === 'invite'} />
      </>
    );
  }
  // Reset links work signed in or not (a used link must still say so).
  if (route.name === 'reset') return <Reset key={route.params.token} token={route.params.token ?? ''} />;
  if (route.name === 'forgot' && !s.user) return <Forgot />;
  if (!s.user) {
    const then = sessionStorage.getItem('plaza.then') ?? undefined;
    const done = then ? () => sessionStorage.removeItem('plaza.then') : undefined;
    if (done && s.user) done();
    return <Auth mode={route.name === 'register' ? 'register' : 'login'} then={then} />;
  }
  if (route.name === 'login' || route.name === 'register' || route.name === 'forgot') {
    sessionStorage.removeItem('plaza.then');
    go('/');
  }
  const current = route.name === 'space' ? route.params.id : undefined;
  return (
    <div class={current || route.name === 'settings' ? 'shell has-space' : 'shell'}>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <a href="#/" class="brand">
          Plaza
        </a>
        <span class="grow" />
        <span class="me" aria-label="Signed in as">
          {s.user.displayname}
          {s.guest && ' (guest)'}
        </span>
        <a href="#/settings" class="button ghost" aria-current={route.name === 'settings' ? 'page' : undefined}>
          Settings
        </a>
        <button type="button" class="ghost" onClick={() => void session.logout().then(() => go('/login'))}>
          Sign out
        </button>
      </header>
      <Banner />
      <NotifyOffer />
      <IncomingCall />
      <div class="layout">
        <SpaceList current={current} refresh={listVersion} />
        {route.name === 'settings' ? (
          <Preferences />
        ) : current ? (
          <SpaceView id={current} tab={route.params.tab ?? 'chat'} onSpaceChange={() => setListVersion((v) => v + 1)} />
        ) : (
          <main class="space empty-state" id="main" tabIndex={-1}>
            <h1>Welcome, {s.user.displayname}</h1>
            <p>Pick a space on the left, or create one.</p>
          </main>
        )}
      </div>
    </div>
  );
}

notifier.start();
calls.start();
render(<App />, document.getElementById('app')!);
