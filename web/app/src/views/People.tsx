import type { InviteOutcome, Member, Role, Space } from '@plaza/web-sdk';

import { usePeople } from '../data/people.js';
import { inviteLink } from '../router.js';
import { session } from '../session.js';
import { Avatar, ErrorNote, GuestTag, memberName } from '../ui.js';
import { PeoplePicker } from './PeoplePicker.js';

type PeopleActions = ReturnType<typeof usePeople>;

/** Members with their roles, invitations by person or email, and the join link. */
export function People({
  space,
  members,
  online,
  isAdmin,
  reload,
}: {
  space: Space;
  members: Member[];
  online: Set<string>;
  isAdmin: boolean;
  reload: () => void;
}) {
  const p = usePeople(space, reload);
  const canInvite = space.role === 'admin' || space.role === 'member';
  return (
    <section class="people" aria-label="People">
      {space.type !== 'direct' && (
        <div class="card">
          <label>
            Invite link
            <span class="row">
              <input id="join-link" readOnly value={p.link} onFocus={(e) => e.currentTarget.select()} />
              <button type="button" onClick={() => void p.copy()}>
                {p.copied ? 'Copied' : 'Copy link'}
              </button>
            </span>
          </label>
          <p class="hint">Anyone with the link can join as a guest{space.settings?.confPin ? ' with the PIN' : ''}.</p>
        </div>
      )}
      <ErrorNote error={p.error} />
      {canInvite && space.type === 'group' && (
        <div class="card invite">
          <h3>Invite people</h3>
          <label>
            Role for new people
            <select value={p.role} onChange={(e) => p.setRole(e.currentTarget.value as Role)}>
              <option value="member">Member</option>
              <option value="guest">Guest</option>
              {isAdmin && <option value="admin">Admin</option>}
            </select>
          </label>
          <PeoplePicker label="Invite a person" onPick={p.inviteUser} />
          <form onSubmit={p.inviteEmail} class="row wrap">
            <label>
              Invite by email
              <input
                type="email"
                value={p.email}
                onInput={(e) => p.setEmail(e.currentTarget.value)}
                required
                placeholder="name@example.com"
              />
            </label>
            <button type="submit" disabled={p.busy}>
              Invite
            </button>
          </form>
          {p.invites.length > 0 && (
            <ul class="invites" aria-label="Invitations">
              {p.invites.map((i) => (
                <li key={i.inviteId ?? i.invitee}>{i.status === 'added' ? <>Added as {i.role}.</> : <PendingInvite invite={i} />}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <h3>Members ({members.length})</h3>
      <ul class="members" aria-label="Members">
        {members.map((m) => (
          <MemberRow key={m.member} member={m} online={online.has(m.member)} isAdmin={isAdmin} actions={p} />
        ))}
      </ul>
    </section>
  );
}

/** A member: presence, role (a choice for admins), removal, a direct message. */
function MemberRow({ member: m, online, isAdmin, actions }: { member: Member; online: boolean; isAdmin: boolean; actions: PeopleActions }) {
  const me = session.user!;
  const isMe = m.member === me._id;
  return (
    <li class="member">
      <Avatar person={m} online={online || isMe} />
      <span class="grow">
        {memberName(m)}
        <GuestTag anonymous={m.memberType === 'anonymousId'} />
        {isMe && ' (you)'}
        <span class="sr-only">{online || isMe ? ', online' : ', offline'}</span>
      </span>
      {isAdmin && !isMe ? (
        <>
          <label class="sr-only" for={`role-${m.member}`}>
            Role of {memberName(m)}
          </label>
          <select id={`role-${m.member}`} value={m.role} onChange={(e) => actions.changeRole(m, e.currentTarget.value as Role)}>
            <option value="admin">Admin</option>
            <option value="member">Member</option>
            <option value="guest">Guest</option>
          </select>
          <button
            type="button"
            class="small danger"
            onClick={() => confirm(`Remove ${memberName(m)} from this space?`) && actions.remove(m)}
          >
            Remove
          </button>
        </>
      ) : (
        <span class="tag">{m.role}</span>
      )}
      {!isMe && m.memberType === 'userId' && !session.guest && (
        <button type="button" class="small" aria-label={`Message ${memberName(m)}`} onClick={() => actions.message(m)}>
          Message
        </button>
      )}
    </li>
  );
}

/** A pending email invitation: emailed, or a link to pass on by hand. */
function PendingInvite({ invite: i }: { invite: InviteOutcome }) {
  const link = (
    <input
      readOnly
      aria-label={`Invitation link for ${i.invitee}`}
      value={inviteLink(i.inviteId ?? '')}
      onFocus={(e) => e.currentTarget.select()}
    />
  );
  if (i.mailSent) {
    return (
      <>
        <span role="status">Invitation emailed to {i.invitee}.</span> <span class="hint">The link, to share another way:</span> {link}
      </>
    );
  }
  return (
    <>
      Invitation for {i.invitee}: {link}
      {i.mailSent === false && (
        <span class="hint" role="status">
          {' '}
          No email was sent{i.mailError ? ` (${i.mailError})` : ''}: share this link with them yourself.
        </span>
      )}
    </>
  );
}
