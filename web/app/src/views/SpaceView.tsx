import { PlazaApiError, type Member, type Space } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { notifier } from '../notify.js';
import { go } from '../router.js';
import { session } from '../session.js';
import { ErrorNote, spaceName, useAction } from '../ui.js';
import { Chat } from './Chat.js';
import { MeetingPanel } from './Meeting.js';
import { MuteButton } from './Notifications.js';
import { People } from './People.js';
import { Settings } from './Settings.js';
import { Threads } from './Threads.js';

const TABS = [
  ['chat', 'Chat'],
  ['posts', 'Posts'],
  ['tasks', 'Tasks'],
  ['meeting', 'Meeting'],
  ['people', 'People'],
  ['settings', 'Settings'],
] as const;

export function SpaceView({ id, tab, onSpaceChange }: { id: string; tab: string; onSpaceChange: () => void }) {
  const client = session.client;
  const [space, setSpace] = useState<Space | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [online, setOnline] = useState<Set<string>>(new Set());
  const [gone, setGone] = useState<string | null>(null);
  const { error, run } = useAction();

  const known = useRef<Set<string>>(new Set());
  known.current = new Set(members.map((m) => m.member));
  // Plaza announces no membership changes on the socket: someone unknown showing up
  // online or writing is the sign to read the members again.
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
  const isAdmin = myRole === 'admin';
  const name = spaceName(space ?? undefined, me);

  if (gone) {
    return (
      <main class="space" id="main">
        <p class="notice" role="alert">
          {gone}
        </p>
        <a href="#/">Back to my spaces</a>
      </main>
    );
  }
  return (
    <main class="space" id="main" aria-labelledby="space-title">
      <header class="space-head">
        <a href="#/" class="back button ghost" aria-label="Back to spaces">
          ←
        </a>
        <div class="grow">
          <h1 id="space-title">{space ? name : 'Loading…'}</h1>
          {space && (
            <p class="hint">
              {space.type === 'direct' ? 'Direct message' : `${members.length} ${members.length === 1 ? 'member' : 'members'}`} ·{' '}
              {online.size + 1} online
              {space.status === 1 && ' · archived'}
              {myRole && ` · you are ${myRole === 'admin' ? 'an admin' : `a ${myRole}`}`}
            </p>
          )}
        </div>
        {space && <MuteButton space={space} onChange={setSpace} />}
      </header>
      <ErrorNote error={error} />
      {space && (
        <>
          <nav class="tabs" aria-label="Space sections">
            {TABS.filter(([key]) => !(space.type === 'direct' && key === 'settings' && false)).map(([key, label]) => (
              <a
                key={key}
                href={`#/spaces/${id}/${key}`}
                class={tab === key ? 'tab active' : 'tab'}
                aria-current={tab === key ? 'page' : undefined}
              >
                {label}
              </a>
            ))}
          </nav>
          <div class="tab-body">
            {tab === 'chat' && <Chat space={space} members={members} isAdmin={isAdmin} />}
            {tab === 'posts' && <Threads space={space} members={members} kind="idea" isAdmin={isAdmin} />}
            {tab === 'tasks' && <Threads space={space} members={members} kind="task" isAdmin={isAdmin} />}
            {tab === 'meeting' && <MeetingPanel space={space} isAdmin={isAdmin} />}
            {tab === 'people' && (
              <People space={space} members={members} online={online} isAdmin={isAdmin} reload={() => void loadMembers()} />
            )}
            {tab === 'settings' && (
              <Settings
                space={space}
                isAdmin={isAdmin}
                onChange={(s) => {
                  setSpace(s);
                  onSpaceChange();
                }}
              />
            )}
          </div>
        </>
      )}
    </main>
  );
}
