import { useState } from 'preact/hooks';

import { useSpaceList, type SpaceKind } from '../data/spaces.js';
import { session } from '../session.js';
import { Avatar, ErrorNote, spaceName } from '../ui.js';
import { CreateSpace, NewDirect } from './SpaceDialogs.js';

/** The sidebar: the caller's spaces with search, type filter, pinned, unread badges. */
export function SpaceList({ current, refresh }: { current?: string | undefined; refresh: number }) {
  const me = session.user;
  const [search, setSearch] = useState('');
  const [kind, setKind] = useState<SpaceKind>('all');
  const [pinned, setPinned] = useState(false);
  const [creating, setCreating] = useState<null | 'space' | 'direct'>(null);
  const { spaces, done, error, sentinel, created } = useSpaceList(current, refresh, { search, kind, pinned });

  return (
    <nav class="sidebar" aria-label="Spaces">
      <div class="sidebar-tools">
        <div class="row">
          <button type="button" class="primary" onClick={() => setCreating('space')} disabled={session.guest}>
            New space
          </button>
          <button type="button" onClick={() => setCreating('direct')} disabled={session.guest}>
            New message
          </button>
        </div>
        <label class="sr-only" for="space-search">
          Search spaces
        </label>
        <input
          id="space-search"
          type="search"
          placeholder="Search spaces"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <div class="row filters">
          <label>
            <span class="sr-only">Space type</span>
            <select aria-label="Space type" value={kind} onChange={(e) => setKind(e.currentTarget.value as SpaceKind)}>
              <option value="all">All</option>
              <option value="group">Spaces</option>
              <option value="direct">Direct messages</option>
            </select>
          </label>
          <label class="check">
            <input type="checkbox" checked={pinned} onChange={(e) => setPinned(e.currentTarget.checked)} /> Pinned
          </label>
        </div>
      </div>
      <ErrorNote error={error} />
      <ul class="space-list" aria-label="Your spaces">
        {spaces.map((s) => {
          const unread = s.unreadMessagesCount ?? 0;
          const name = spaceName(s, me);
          return (
            <li key={s._id}>
              <a
                href={`#/spaces/${s._id}`}
                class={s._id === current ? 'space-link active' : 'space-link'}
                aria-current={s._id === current ? 'page' : undefined}
                data-space-id={s._id}
              >
                <Avatar person={{ displayname: name, username: name }} />
                {/* Named by its text, as a person reads it (the initials and the badge are decoration). */}
                <span class="space-name">
                  {name}
                  {unread > 0 && <span class="unread-text">, {unread} unread</span>}
                  {s.isPinned && <span class="tag">pinned</span>}
                  {s.status === 1 && <span class="tag">archived</span>}
                </span>
                {unread > 0 && (
                  <span class="badge" aria-hidden="true">
                    {unread > 99 ? '99+' : unread}
                  </span>
                )}
              </a>
            </li>
          );
        })}
        {!done && (
          <li ref={sentinel} class="loading" aria-live="polite">
            Loading…
          </li>
        )}
        {done && spaces.length === 0 && <li class="empty">No spaces yet.</li>}
      </ul>
      {creating === 'space' && <CreateSpace onClose={() => setCreating(null)} onCreated={created} />}
      {creating === 'direct' && <NewDirect onClose={() => setCreating(null)} />}
    </nav>
  );
}
