import { useSpaceCall } from '../data/calls.js';
import { useMediaCall } from '../data/media.js';
import { useSpace } from '../data/space.js';
import { session } from '../session.js';
import { ErrorNote, spaceName } from '../ui.js';
import { CallButton, CallStatus } from './Call.js';
import { Chat } from './Chat.js';
import { MeetingPanel } from './Meeting.js';
import { RemoteAudio } from './MeetingStage.js';
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

/** An open space: its header (name, members, who is online, mute) and its tabs. */
export function SpaceView({ id, tab, onSpaceChange }: { id: string; tab: string; onSpaceChange: () => void }) {
  const { space, setSpace, members, online, gone, error, myRole, reloadMembers } = useSpace(id, onSpaceChange);
  const me = session.user!;
  // The meeting's media outlives the Meeting tab: people keep hearing it in the chat.
  const call = useMediaCall(id);
  // A direct space's 1:1 call rings over the socket, then meets in this same media.
  const spaceCall = useSpaceCall(id, call);
  const isAdmin = myRole === 'admin';
  const name = spaceName(space ?? undefined, me);
  const other = space?.type === 'direct' ? space.members?.find((m) => m.member !== me._id) : undefined;

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
        {space?.type === 'direct' && other?.memberType === 'userId' && (
          <CallButton spaceCall={spaceCall} name={name} peer={{ _id: other.member, type: 'user', displayname: name }} />
        )}
        {space && <MuteButton space={space} onChange={setSpace} />}
      </header>
      <ErrorNote error={error} />
      <CallStatus spaceCall={spaceCall} media={call} name={name} tab={tab} />
      {space && (
        <>
          <nav class="tabs" aria-label="Space sections">
            {TABS.map(([key, label]) => (
              <a
                key={key}
                href={`#/spaces/${id}/${key}`}
                class={tab === key ? 'tab active' : 'tab'}
                aria-current={tab === key ? 'page' : undefined}
              >
                {label}
                {key === 'meeting' && call.phase === 'joined' && (
                  <span class="tag live" aria-hidden="true">
                    ●
                  </span>
                )}
              </a>
            ))}
          </nav>
          <RemoteAudio call={call} />
          <div class="tab-body">
            {tab === 'chat' && <Chat space={space} members={members} isAdmin={isAdmin} />}
            {tab === 'posts' && <Threads space={space} members={members} kind="idea" isAdmin={isAdmin} />}
            {tab === 'tasks' && <Threads space={space} members={members} kind="task" isAdmin={isAdmin} />}
            {tab === 'meeting' && (
              <MeetingPanel
                space={space}
                isAdmin={isAdmin}
                call={call}
                onHangUp={spaceCall.call?.status === 'active' ? spaceCall.hangUp : undefined}
              />
            )}
            {tab === 'people' && <People space={space} members={members} online={online} isAdmin={isAdmin} reload={reloadMembers} />}
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
