import { PlazaApiError, type Member, type Message, type Sender, type Space, type User } from '@plaza/web-sdk';
import type { ComponentChildren } from 'preact';
import { useEffect, useReducer, useState } from 'preact/hooks';

import { session } from './session.js';

/** Re-renders the component whenever the session changes (sign-in, connection). */
export function useSession() {
  const [, bump] = useReducer((n: number, _: unknown) => n + 1, 0);
  useEffect(() => session.subscribe(() => bump(undefined)), []);
  return session;
}

/** What to tell a person about a failure: the server's message and its code. */
export function errorText(error: unknown): string {
  if (error instanceof PlazaApiError) {
    if (error.code === 'network.error') return 'Cannot reach the server. Check your connection and try again.';
    return `${error.describe()} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorNote({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" id={id}>
      {errorText(error)}
    </p>
  );
}

/** Runs an action, keeping its error and busy state for the form that started it. */
export function useAction() {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run, setError };
}

export function Avatar({ person, online }: { person: Pick<Sender, 'displayname' | 'username'> | undefined; online?: boolean }) {
  const name = person?.displayname || person?.username || '?';
  const initials = name
    .split(/\s+/)
    .map((w) => w[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();
  // Dark enough for the white initials to keep 4.5:1 whatever the hue.
  let hue = 0;
  for (const ch of name) hue = (hue * 31 + ch.charCodeAt(0)) % 360;
  return (
    <span class="avatar" style={{ background: `hsl(${hue} 45% 30%)` }} aria-hidden="true">
      {initials}
      {online !== undefined && <span class={online ? 'dot on' : 'dot'} />}
    </span>
  );
}

export function time(iso: string | undefined | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/**
 * The text of a message body. Spaces web clients send HTML (`<p>..</p>`, `<mention>`);
 * it is shown as text, never as markup, with mentions as `@name`.
 */
export function plainText(body: string | undefined): string {
  if (!body) return '';
  if (!/[<&]/.test(body)) return body;
  const doc = new DOMParser().parseFromString(`<body>${body}</body>`, 'text/html');
  doc.querySelectorAll('mention').forEach((m) => m.replaceWith(`@${m.getAttribute('value') ?? m.textContent ?? ''}`));
  doc.querySelectorAll('p, br, div, li').forEach((el) => el.append('\n'));
  return (doc.body.textContent ?? '').replace(/\n+$/, '');
}

/** Text with `@name` mentions highlighted. */
export function RichText({ text, mentions }: { text: string; mentions?: { title: string }[] }) {
  const names = (mentions ?? []).map((m) => m.title).filter(Boolean);
  if (names.length === 0) return <>{text}</>;
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const parts = text.split(new RegExp(`(@(?:${escaped.join('|')}))`, 'g'));
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <strong class="mention" key={i}>
            {part}
          </strong>
        ) : (
          part
        ),
      )}
    </>
  );
}

/** A space's name as people see it: the title, or for a direct space the other person. */
export function spaceName(space: Space | undefined, me: User | null): string {
  if (!space) return '';
  if (space.type === 'direct') {
    const other = (space.members ?? []).find((m) => m.member !== me?._id);
    return other?.displayname || other?.username || space.title || 'Direct message';
  }
  return space.title || 'Untitled space';
}

export function senderName(m: Pick<Message, 'sender'>): string {
  return m.sender?.displayname || m.sender?.username || 'Someone';
}

/** Anonymous guests choose any name, so they are marked wherever a name is shown. */
export function GuestTag({ anonymous }: { anonymous: boolean }) {
  return anonymous ? (
    <span class="tag guest-tag" title="Joined by link without an account: the name is theirs to choose">
      guest
    </span>
  ) : null;
}

export function memberName(m: Pick<Member, 'displayname' | 'username'>): string {
  return m.displayname || m.username;
}

export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  const id = `dlg-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby={id}>
        <header>
          <h2 id={id}>{title}</h2>
          <button type="button" class="ghost" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

export function formatBytes(n: number | undefined): string {
  if (!n && n !== 0) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Escapes text so the server's regular-expression search matches it literally. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
