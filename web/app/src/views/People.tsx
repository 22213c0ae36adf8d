import type { InviteOutcome, Member, Role, Space } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { go, inviteLink, joinLink } from '../router.js';
import { session } from '../session.js';
import { Avatar, ErrorNote, GuestTag, memberName, useAction } from '../ui.js';
import { PeoplePicker } from './SpaceList.js';

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
  const client = session.client;
  const me = session.user!;
  const { error, busy, run } = useAction();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [invites, setInvites] = useState<InviteOutcome[]>([]);
  const [copied, setCopied] = useState(false);
  const link = joinLink(space._id);
  const canInvite = space.role === 'admin' || space.role === 'member';

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      (document.getElementById('join-link') as HTMLInputElement | null)?.select();
    }
  };

  const inviteEmail = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const outcome = await client.inviteEmail(space._id, email.trim(), role);
      setInvites((i) => [...outcome, ...i]);
      setEmail('');
      reload();
    });
  };

  return (
    <section class="people" aria-label="People">
      {space.type !== 'direct' && (
        <div class="card">
          <label>
            Invite link
            <span class="row">
              <input id="join-link" readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
              <button type="button" onClick={() => void copy()}>
                {copied ? 'Copied' : 'Copy link'}
              </button>
            </span>
          </label>
          <p class="hint">Anyone with the link can join as a guest{space.settings?.confPin ? ' with the PIN' : ''}.</p>
        </div>
      )}
      <ErrorNote error={error} />
      {canInvite && space.type === 'group' && (
        <div class="card invite">
          <h3>Invite people</h3>
          <label>
            Role for new people
            <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              <option value="member">Member</option>
              <option value="guest">Guest</option>
              {isAdmin && <option value="admin">Admin</option>}
            </select>
          </label>
          <PeoplePicker
            label="Invite a person"
            onPick={(user) =>
              void run(async () => {
                setInvites(await client.inviteUser(space._id, user._id, role));
                reload();
              })
            }
          />
          <form onSubmit={inviteEmail} class="row wrap">
            <label>
              Invite by email
              <input type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required placeholder="name@example.com" />
            </label>
            <button type="submit" disabled={busy}>
              Invite
            </button>
          </form>
          {invites.length > 0 && (
            <ul class="invites" aria-label="Invitations">
              {invites.map((i) => (
                <li key={i.inviteId ?? i.invitee}>{i.status === 'added' ? <>Added as {i.role}.</> : <PendingInvite invite={i} />}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <h3>Members ({members.length})</h3>
      <ul class="members" aria-label="Members">
        {members.map((m) => (
          <li key={m.member} class="member">
            <Avatar person={m} online={online.has(m.member) || m.member === me._id} />
            <span class="grow">
              {memberName(m)}
              <GuestTag anonymous={m.memberType === 'anonymousId'} />
              {m.member === me._id && ' (you)'}
              <span class="sr-only">{online.has(m.member) || m.member === me._id ? ', online' : ', offline'}</span>
            </span>
            {isAdmin && m.member !== me._id ? (
              <>
                <label class="sr-only" for={`role-${m.member}`}>
                  Role of {memberName(m)}
                </label>
                <select
                  id={`role-${m.member}`}
                  value={m.role}
                  onChange={(e) =>
                    void run(async () => {
                      await client.setRole(space._id, m, e.currentTarget.value as Role);
                      reload();
                    })
                  }
                >
                  <option value="admin">Admin</option>
                  <option value="member">Member</option>
                  <option value="guest">Guest</option>
                </select>
                <button
                  type="button"
                  class="small danger"
                  onClick={() =>
                    confirm(`Remove ${memberName(m)} from this space?`) &&
                    void run(async () => {
                      await client.removeMember(space._id, m);
                      reload();
                    })
                  }
                >
                  Remove
                </button>
              </>
            ) : (
              <span class="tag">{m.role}</span>
            )}
            {m.member !== me._id && m.memberType === 'userId' && !session.guest && (
              <button
                type="button"
                class="small"
                aria-label={`Message ${memberName(m)}`}
                onClick={() =>
                  void run(async () => {
                    const direct = await client.direct(m.member);
                    go(`/spaces/${direct._id}`);
                  })
                }
              >
                Message
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
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
