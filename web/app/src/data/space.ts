import { PlazaApiError, type Member, type Space } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { notifier } from '../notify.js';
import { go } from '../router.js';
import { session } from '../session.js';
import { useAction } from '../ui.js';

/**
 * One open space: the space itself, its members, who is online, and whether the caller
 * was removed. A space behind a PIN sends the person to its join page. Updates, roster
 * changes and strangers (someone unknown online or writing: Plaza announces no
 * membership changes on the socket) keep it current.
 */
export function useSpace(id: string, onSpaceChange: () => void) {
  const client = session.client;
  const [space, setSpace] = useState<Space | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [online, setOnline] = useState<Set<string>>(new Set());
  const [gone, setGone] = useState<string | null>(null);
  const { error, run } = useAction();

  const known = useRef<Set<string>>(new Set());
  known.current = new Set(members.map((m) => m.member));
  const stranger = (userId: string | undefined) => {
    if (userId && userId !== session.user?._id && !known.current.has(userId)) {
      known.current.add(userId);
      void loadMembers();
    }
  };
  const pin = () => sessionStorage.getItem(`plaza.pin.${id}`) ?? undefined;
  const loadMembers = () => run(async () => setMembers(await client.members(id, { size: 100 }).collect(500)));

  useEffect(() => {
    setSpace(null);
    setGone(null);
    setMembers([]);
    void run(async () => {
      try {
        const loaded = await client.space(id, pin());
        notifier.learn([loaded]);
        setSpace(loaded);
      } catch (e) {
        if (e instanceof PlazaApiError && (e.code === 'topic.password_required' || e.code === 'topic.password_invalid')) {
          go(`/join/${id}`);
          return;
        }
        throw e;
      }
      await loadMembers();
    });
    const rt = session.realtime;
    if (!rt) return;
    rt.subscribe(id, pin()).catch(() => undefined);
    setOnline(new Set(rt.online(id).map((p) => p._id)));
    const offRoster = rt.on('roster', (spaceId, people) => {
      if (spaceId !== id) return;
      setOnline(new Set(people.map((p) => p._id)));
      people.forEach((p) => stranger(p._id));
    });
    const offMessage = rt.on('message', (m) => m.topicId === id && m.sender?.type !== 'spaceserver' && stranger(m.sender?._id));
    const offUpdate = rt.on('spaceUpdated', (p) => {
      if (p.topicId !== id) return;
      const content = p.content as { title?: string; description?: string; status?: number };
      setSpace((s) =>
        s
          ? { ...s, title: content.title ?? s.title, description: content.description ?? s.description, status: content.status ?? s.status }
          : s,
      );
      void loadMembers();
      onSpaceChange();
    });
    const offRemoved = rt.on(
      'unsubscribed',
      (spaceId, removed) => removed && spaceId === id && setGone('You were removed from this space.'),
    );
    return () => {
      offRoster();
      offMessage();
      offUpdate();
      offRemoved();
    };
  }, [id]);

  const me = session.user!;
  const myRole = members.find((m) => m.member === me._id)?.role ?? space?.role;
  return { space, setSpace, members, online, gone, error, myRole, reloadMembers: () => void loadMembers() };
}
