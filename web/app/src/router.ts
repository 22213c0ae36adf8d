import { useEffect, useState } from 'preact/hooks';

/** Routes live in the hash (`#/spaces/<id>/chat`), so any static server can serve the app. */
export interface Route {
  name: 'login' | 'register' | 'forgot' | 'reset' | 'settings' | 'home' | 'space' | 'join' | 'invite';
  params: Record<string, string>;
}

export function parse(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/+/, '');
  const [head, a, b] = path.split('/').map((p) => decodeURIComponent(p));
  switch (head) {
    case 'login':
      return { name: 'login', params: {} };
    case 'register':
      return { name: 'register', params: {} };
    case 'forgot':
      return { name: 'forgot', params: {} };
    case 'reset':
      return { name: 'reset', params: { token: a ?? '' } };
    case 'settings':
      return { name: 'settings', params: {} };
    case 'spaces':
      if (a) return { name: 'space', params: { id: a, tab: b || 'chat' } };
      return { name: 'home', params: {} };
    case 'join':
      return { name: 'join', params: { id: a ?? '' } };
    case 'invite':
      return { name: 'invite', params: { id: a ?? '' } };
    default:
      return { name: 'home', params: {} };
  }
}

export function go(path: string): void {
  const target = `#${path.startsWith('/') ? path : `/${path}`}`;
  if (location.hash !== target) location.hash = target;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const update = () => setRoute(parse(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** A link to this app's join page for a space: what people copy and share. */
export function joinLink(spaceId: string): string {
  return `${location.origin}${location.pathname}#/join/${encodeURIComponent(spaceId)}`;
}

export function inviteLink(inviteId: string): string {
  return `${location.origin}${location.pathname}#/invite/${encodeURIComponent(inviteId)}`;
}
