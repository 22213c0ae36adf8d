import './styles.css';

import { render } from 'preact';
import { useState } from 'preact/hooks';

import { go, useRoute } from './router.js';
import { session } from './session.js';
import { useSession } from './ui.js';
import { Auth } from './views/Auth.js';
import { Join } from './views/Join.js';
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
  if (!s.user) {
    const then = sessionStorage.getItem('plaza.then') ?? undefined;
    const done = then ? () => sessionStorage.removeItem('plaza.then') : undefined;
    if (done && s.user) done();
    return <Auth mode={route.name === 'register' ? 'register' : 'login'} then={then} />;
  }
  if (route.name === 'login' || route.name === 'register') {
    sessionStorage.removeItem('plaza.then');
    go('/');
  }
  const current = route.name === 'space' ? route.params.id : undefined;
  return (
    <div class={current ? 'shell has-space' : 'shell'}>
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
        <button type="button" class="ghost" onClick={() => void session.logout().then(() => go('/login'))}>
          Sign out
        </button>
      </header>
      <Banner />
      <div class="layout">
        <SpaceList current={current} refresh={listVersion} />
        {current ? (
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

render(<App />, document.getElementById('app')!);
