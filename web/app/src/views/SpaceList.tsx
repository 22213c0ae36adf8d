import type { Pager, Space, User } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { hidden, notifier } from '../notify.js';
import { go } from '../router.js';
import { session } from '../session.js';
import { Avatar, Dialog, ErrorNote, literal, spaceName, useAction } from '../ui.js';

type Kind = 'group' | 'direct' | 'all';

/** The sidebar: the caller's spaces with search, type filter, pinned, unread badges. */
export function SpaceList({ current, refresh }: { current?: string | undefined; refresh: number }) {
  const client = session.client;
  const me = session.user;
  const [search, setSearch] = useState('');
  const [kind, setKind] = useState<Kind>('all');
  const [pinned, setPinned] = useState(false);
  const [spaces, setSpaces] = useState<Space[]>([]);
  const [done, setDone] = useState(false);
  const [creating, setCreating] = useState<null | 'space' | 'direct'>(null);
  const { error, run } = useAction();
  const pager = useRef<Pager<Space> | null>(null);
  const sentinel = useRef<HTMLLIElement>(null);
  const currentRef = useRef(current);
  currentRef.current = current;

  const loadMore = () =>
    run(async () => {
      const p = pager.current;
      if (!p || p.done) return;
      const items = await p.next();
      if (pager.current !== p) return;
      const live = items.filter((s) => s.status !== 2);
      notifier.learn(live);
      setSpaces((prev) => [...prev, ...live.filter((s) => !prev.some((x) => x._id === s._id))]);
      setDone(p.done);
      for (const s of live) if (s.status === 0) session.realtime?.subscribe(s._id).catch(() => undefined);
    });

  // A new query starts a new pager (debounced while typing).
  useEffect(() => {
    const timer = setTimeout(
      () => {
        pager.current = client.spaces({
          search: search.trim() ? literal(search.trim()) : undefined,
          topictype: kind === 'all' ? 'all' : kind,
          pinned,
          size: 20,
        });
        setSpaces([]);
        setDone(false);
        void loadMore();
      },
      search ? 250 : 0,
    );
    return () => clearTimeout(timer);
  }, [search, kind, pinned, refresh]);

  // Infinite scroll: the last row coming into view loads the next page.
  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void loadMore());
    observer.observe(el);
    return () => observer.disconnect();
  }, [spaces.length, done]);

  // Live: unread counts, new direct spaces, renamed spaces.
  useEffect(() => {
    const rt = session.realtime;
    if (!rt) return;
    const offMessage = rt.on('message', (m, info) => {
      if (info.kind !== 'new' || m.sender?._id === me?._id || m.parentMsg) return;
      setSpaces((prev) => {
        const index = prev.findIndex((s) => s._id === m.topicId);
        if (index < 0) {
          // A space not listed yet (a first direct message, a space joined elsewhere).
          void client.space(m.topicId).then(
            (s) => {
              notifier.learn([s]);
              addSpace({ ...s, unreadMessagesCount: currentRef.current === s._id && !hidden() ? 0 : 1 });
            },
            () => undefined,
          );
          return prev;
        }
        const space = prev[index]!;
        // The open space counts too while the tab is hidden: nobody is reading it.
        const unread = currentRef.current === m.topicId && !hidden() ? 0 : (space.unreadMessagesCount ?? 0) + 1;
        const updated = { ...space, unreadMessagesCount: unread, lastUpdateTime: m.created };
        return [updated, ...prev.slice(0, index), ...prev.slice(index + 1)];
      });
    });
    const offUpdate = rt.on('spaceUpdated', (p) =>
      setSpaces((prev) =>
        prev
          .map((s) =>
            s._id === p.topicId
              ? { ...s, title: String(p.topicTitle ?? s.title), status: Number((p.content as { status?: number }).status ?? s.status) }
              : s,
          )
          .filter((s) => s.status === 0 || kind === 'all'),
      ),
    );
    const offRemoved = rt.on('unsubscribed', (id, removed) => removed && setSpaces((prev) => prev.filter((s) => s._id !== id)));
    return () => {
      offMessage();
      offUpdate();
      offRemoved();
    };
  }, [session.realtime]);

  const addSpace = (space: Space) => setSpaces((prev) => (prev.some((x) => x._id === space._id) ? prev : [space, ...prev]));

  // The tab title counts what the list shows.
  useEffect(() => notifier.setUnread(Object.fromEntries(spaces.map((s) => [s._id, s.unreadMessagesCount ?? 0]))), [spaces]);

  // Coming back to the tab reads the open space.
  useEffect(() => {
    const seen = () =>
      !hidden() && current && setSpaces((prev) => prev.map((s) => (s._id === current ? { ...s, unreadMessagesCount: 0 } : s)));
    document.addEventListener('visibilitychange', seen);
    return () => document.removeEventListener('visibilitychange', seen);
  }, [current]);

  // Opening a space clears its badge, and lists it if it was not (joined by link, invited).
  useEffect(() => {
    if (!current) return;
    let listed = false;
    setSpaces((prev) => {
      listed = prev.some((s) => s._id === current);
      return prev.map((s) => (s._id === current ? { ...s, unreadMessagesCount: 0 } : s));
    });
    if (!listed)
      void client.space(current).then(
        (s) => {
          notifier.learn([s]);
          addSpace({ ...s, unreadMessagesCount: 0 });
        },
        () => undefined,
      );
  }, [current]);

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
            <select aria-label="Space type" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
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
                aria-label={unread ? `${name}, ${unread} unread` : name}
                data-space-id={s._id}
              >
                <Avatar person={{ displayname: name, username: name }} />
                <span class="space-name">
                  {name}
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
      {creating === 'space' && <CreateSpace onClose={() => setCreating(null)} onCreated={(s) => setSpaces((p) => [s, ...p])} />}
      {creating === 'direct' && <NewDirect onClose={() => setCreating(null)} />}
    </nav>
  );
}

function CreateSpace({ onClose, onCreated }: { onClose: () => void; onCreated: (space: Space) => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const { error, busy, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const { space } = await session.client.createSpace(title.trim(), { description: description.trim() });
      onCreated(space);
      session.realtime?.subscribe(space._id).catch(() => undefined);
      onClose();
      go(`/spaces/${space._id}`);
    });
  };
  return (
    <Dialog title="New space" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Title
          <input name="title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required autoFocus maxLength={200} />
        </label>
        <label>
          Description <span class="hint">(optional)</span>
          <textarea name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} rows={3} />
        </label>
        <ErrorNote error={error} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** People the caller shares spaces with, searched as they type. */
export function PeoplePicker({ onPick, label }: { onPick: (user: User) => void; label: string }) {
  const [search, setSearch] = useState('');
  const [people, setPeople] = useState<User[]>([]);
  const { error, run } = useAction();
  useEffect(() => {
    const timer = setTimeout(() => {
      void run(async () => setPeople(await session.client.colleagues(search.trim() || undefined, 20).next()));
    }, 200);
    return () => clearTimeout(timer);
  }, [search]);
  return (
    <div class="picker">
      <label>
        {label}
        <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="Name or email" />
      </label>
      <ErrorNote error={error} />
      <ul aria-label="People">
        {people
          .filter((p) => p._id !== session.user?._id)
          .map((p) => (
            <li key={p._id}>
              <button type="button" class="person" onClick={() => onPick(p)}>
                <Avatar person={p} /> {p.displayname} <span class="hint">{p.username}</span>
              </button>
            </li>
          ))}
        {people.length === 0 && <li class="hint">Nobody found. People appear here once you share a space.</li>}
      </ul>
    </div>
  );
}

function NewDirect({ onClose }: { onClose: () => void }) {
  const { error, run } = useAction();
  const pick = (user: User) =>
    void run(async () => {
      const space = await session.client.direct(user._id, user.type === 'anonymous' ? 'anonymous' : 'user');
      session.realtime?.subscribe(space._id).catch(() => undefined);
      onClose();
      go(`/spaces/${space._id}`);
    });
  return (
    <Dialog title="New direct message" onClose={onClose}>
      <PeoplePicker label="Find a person" onPick={pick} />
      <ErrorNote error={error} />
    </Dialog>
  );
}
