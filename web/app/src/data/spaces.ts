import type { Pager, Space, User } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { hidden, notifier } from '../notify.js';
import { session } from '../session.js';
import { literal, useAction } from '../ui.js';

export type SpaceKind = 'group' | 'direct' | 'all';

export interface SpaceQuery {
  search: string;
  kind: SpaceKind;
  pinned: boolean;
}

/**
 * The caller's spaces for the sidebar: paged (the last row coming into view loads the
 * next page), searched, and kept live: unread counts, new direct spaces, renames,
 * removals, the open space's badge cleared. The tab title counts what the list shows.
 */
export function useSpaceList(current: string | undefined, refresh: number, { search, kind, pinned }: SpaceQuery) {
  const client = session.client;
  const me = session.user;
  const [spaces, setSpaces] = useState<Space[]>([]);
  const [done, setDone] = useState(false);
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

  const addSpace = (space: Space) => setSpaces((prev) => (prev.some((x) => x._id === space._id) ? prev : [space, ...prev]));

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

  const created = (space: Space) => setSpaces((p) => [space, ...p]);
  return { spaces, done, error, sentinel, created };
}

/** Creates a space and subscribes to it. */
export async function createSpace(title: string, description: string): Promise<Space> {
  const { space } = await session.client.createSpace(title.trim(), { description: description.trim() });
  session.realtime?.subscribe(space._id).catch(() => undefined);
  return space;
}

/** The direct space with a person or guest (created the first time), subscribed to. */
export async function directSpace(user: User): Promise<Space> {
  const space = await session.client.direct(user._id, user.type === 'anonymous' ? 'anonymous' : 'user');
  session.realtime?.subscribe(space._id).catch(() => undefined);
  return space;
}
