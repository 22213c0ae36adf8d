import type { InviteOutcome, Member, Role, Space, User } from '@plaza/web-sdk';
import { useEffect, useState } from 'preact/hooks';

import { go, joinLink } from '../router.js';
import { session } from '../session.js';
import { useAction } from '../ui.js';

/** People the caller shares spaces with, searched as `search` changes (debounced). */
export function useColleagues(search: string) {
  const [people, setPeople] = useState<User[]>([]);
  const { error, run } = useAction();
  useEffect(() => {
    const timer = setTimeout(() => {
      void run(async () => setPeople(await session.client.colleagues(search.trim() || undefined, 20).next()));
    }, 200);
    return () => clearTimeout(timer);
  }, [search]);
  return { people: people.filter((p) => p._id !== session.user?._id), found: people.length, error };
}

/**
 * What the People tab does: invitations (by person or email, with the role new people
 * get), copying the join link, and, for admins, roles and removals; a direct message
 * with a member. Members are read again (`reload`) after each change.
 */
export function usePeople(space: Space, reload: () => void) {
  const client = session.client;
  const { error, busy, run } = useAction();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [invites, setInvites] = useState<InviteOutcome[]>([]);
  const [copied, setCopied] = useState(false);
  const link = joinLink(space._id);

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
  const inviteUser = (user: User) =>
    void run(async () => {
      setInvites(await client.inviteUser(space._id, user._id, role));
      reload();
    });
  const changeRole = (m: Member, to: Role) =>
    void run(async () => {
      await client.setRole(space._id, m, to);
      reload();
    });
  const remove = (m: Member) =>
    void run(async () => {
      await client.removeMember(space._id, m);
      reload();
    });
  const message = (m: Member) =>
    void run(async () => {
      const direct = await client.direct(m.member);
      go(`/spaces/${direct._id}`);
    });
  return { link, copied, copy, email, setEmail, role, setRole, invites, inviteEmail, inviteUser, changeRole, remove, message, error, busy };
}
