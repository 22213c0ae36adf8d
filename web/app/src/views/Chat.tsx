import { mergeMessages, type Member, type Mention, type Message, type Pager, type Space } from '@plaza/web-sdk';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

import { session } from '../session.js';
import { Avatar, ErrorNote, GuestTag, plainText, RichText, senderName, time, useAction } from '../ui.js';
import { Attachments, UploadList, useUploads } from './Attachments.js';

/** Typing notices last this long after the last `party.typing`. */
const TYPING_MS = 5000;

export function Chat({ space, members, isAdmin }: { space: Space; members: Member[]; isAdmin: boolean }) {
  const client = session.client;
  const me = session.user!;
  const [messages, setMessages] = useState<Message[]>([]);
  const [done, setDone] = useState(false);
  const [typing, setTyping] = useState<Record<string, { name: string; until: number }>>({});
  const { error, run } = useAction();
  const pager = useRef<Pager<Message> | null>(null);
  const list = useRef<HTMLOListElement>(null);
  const keepBottom = useRef(true);
  const anchor = useRef<{ height: number; top: number } | null>(null);

  const loadOlder = () =>
    run(async () => {
      const p = pager.current;
      if (!p || p.done) return;
      const el = list.current;
      if (el && messages.length > 0) anchor.current = { height: el.scrollHeight, top: el.scrollTop };
      const page = await p.next();
      if (pager.current !== p) return;
      session.realtime?.remember(page);
      setMessages((prev) =>
        mergeMessages(
          prev,
          page.filter((m) => !m.parentMsg),
        ),
      );
      setDone(p.done);
    });

  useEffect(() => {
    pager.current = client.history(space._id, { size: 30 });
    setMessages([]);
    setDone(false);
    keepBottom.current = true;
    void loadOlder();
    void client.markRead(space._id).catch(() => undefined);
    const rt = session.realtime;
    if (!rt) return;
    const offMessage = rt.on('message', (m) => {
      if (m.topicId !== space._id || m.parentMsg) return;
      const el = list.current;
      keepBottom.current = !el || el.scrollHeight - el.scrollTop - el.clientHeight < 120 || m.sender?._id === me._id;
      setMessages((prev) => mergeMessages(prev, [m]));
      setTyping((t) => {
        const { [m.sender?._id ?? '']: _, ...rest } = t;
        return rest;
      });
      if (document.visibilityState === 'visible') void client.markRead(space._id).catch(() => undefined);
    });
    const offTyping = rt.on('typing', (spaceId, who) => {
      if (spaceId !== space._id) return;
      setTyping((t) => ({ ...t, [who._id]: { name: who.displayname || who.username || 'Someone', until: Date.now() + TYPING_MS } }));
    });
    const timer = setInterval(() => setTyping((t) => Object.fromEntries(Object.entries(t).filter(([, v]) => v.until > Date.now()))), 1000);
    // What arrived while the tab was hidden is read once it is back.
    const onVisible = () => document.visibilityState === 'visible' && void client.markRead(space._id).catch(() => undefined);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      offMessage();
      offTyping();
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [space._id]);

  // Keep the view at the bottom for new messages, and steady when older ones load above.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (anchor.current) {
      el.scrollTop = anchor.current.top + (el.scrollHeight - anchor.current.height);
      anchor.current = null;
    } else if (keepBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages]);

  const onScroll = () => {
    const el = list.current;
    if (el && el.scrollTop < 80 && !done) void loadOlder();
  };

  const typingNames = Object.values(typing).map((t) => t.name);
  return (
    <section class="chat" aria-label="Chat">
      <ol class="messages" ref={list} onScroll={onScroll} aria-label="Messages" aria-live="polite" tabIndex={0}>
        {!done && (
          <li class="older">
            <button type="button" class="small" onClick={() => void loadOlder()}>
              Load older messages
            </button>
          </li>
        )}
        {done && messages.length === 0 && <li class="empty">No messages yet. Say hello!</li>}
        {messages.map((m) => (
          <MessageItem key={m._id} message={m} mine={m.sender?._id === me._id} isAdmin={isAdmin} />
        ))}
      </ol>
      <ErrorNote error={error} />
      <p class="typing" aria-live="polite">
        {typingNames.length > 0 && `${typingNames.join(', ')} ${typingNames.length === 1 ? 'is' : 'are'} typing…`}
      </p>
      <Composer space={space} members={members} />
    </section>
  );
}

function MessageItem({ message: m, mine, isAdmin }: { message: Message; mine: boolean; isAdmin: boolean }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const { error, busy, run } = useAction();
  const body = plainText(m.content?.bodyText);
  const edited = !m.deleted && Date.parse(m.modified) - Date.parse(m.created) > 1000 && m.category === 'chat';
  const save = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await session.client.editMessage(m._id, { bodyText: text }, m.modified);
      setEditing(false);
    });
  };
  const remove = () => {
    if (confirm('Delete this message?')) void run(() => session.client.deleteMessage(m._id));
  };
  const kind = m.category === 'idea' ? 'Post' : m.category === 'task' ? 'Task' : m.category === 'meeting' ? 'Meeting' : null;
  return (
    <li class={mine ? 'message mine' : 'message'} data-message-id={m._id} data-category={m.category}>
      <Avatar person={m.sender} />
      <div class="bubble">
        <header>
          <span class="who">{m.category === 'meeting' ? 'Meeting' : senderName(m)}</span>
          <GuestTag anonymous={m.sender?.type === 'anonymous'} />
          <time dateTime={m.created}>{time(m.created)}</time>
          {edited && <span class="hint">(edited)</span>}
        </header>
        {m.deleted ? (
          <p class="deleted">This message was deleted.</p>
        ) : editing ? (
          <form onSubmit={save} class="edit">
            <label class="sr-only" for={`edit-${m._id}`}>
              Edit message
            </label>
            <textarea id={`edit-${m._id}`} value={text} onInput={(e) => setText(e.currentTarget.value)} rows={2} autoFocus />
            <div class="row">
              <button type="submit" class="primary small" disabled={busy}>
                Save
              </button>
              <button type="button" class="small" onClick={() => setEditing(false)}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <>
            {kind && kind !== 'Meeting' && <span class="tag">{kind}</span>}
            {m.category === 'meeting' ? (
              <p class="body">
                {(m.content as { meetingStatus?: string }).meetingStatus === 'active' ? 'A meeting is running.' : 'A meeting took place.'}
              </p>
            ) : (
              <p class="body">
                <RichText text={body} mentions={m.content?.mentions as Mention[] | undefined} />
              </p>
            )}
            {m.content?.description && m.category !== 'chat' && <p class="description">{plainText(m.content.description)}</p>}
            {m.category === 'task' && <p class="hint">Status: {m.content.status === 'completed' ? 'completed' : 'pending'}</p>}
            <Attachments items={m.content?.data} />
            {(m.chatCount ?? 0) > 0 && <p class="hint">{m.chatCount} comments</p>}
          </>
        )}
        <ErrorNote error={error} />
        {!m.deleted && !editing && m.category !== 'meeting' && (mine || isAdmin) && (
          <div class="actions">
            {mine && m.category === 'chat' && (
              <button
                type="button"
                class="ghost small"
                onClick={() => {
                  setText(body);
                  setEditing(true);
                }}
              >
                Edit
              </button>
            )}
            <button type="button" class="ghost small" onClick={remove}>
              Delete
            </button>
          </div>
        )}
      </div>
    </li>
  );
}

/** The message box: Enter sends, Shift+Enter is a new line, `@` mentions a member. */
export function Composer({
  space,
  members,
  parent,
  placeholder,
}: {
  space: Space;
  members: Member[];
  parent?: Message;
  placeholder?: string;
}) {
  const [text, setText] = useState('');
  const [mentionQuery, setMentionQuery] = useState<string | null>(null);
  const [pending, setPending] = useState<{ id: number; text: string }[]>([]);
  const { error, run } = useAction();
  const uploads = useUploads(space._id);
  const lastTyping = useRef(0);
  const box = useRef<HTMLTextAreaElement>(null);
  const inputId = `composer-${parent?._id ?? space._id}`;

  const candidates =
    mentionQuery === null
      ? []
      : members
          .filter((m) => m.member !== session.user?._id && (m.displayname || m.username).toLowerCase().includes(mentionQuery.toLowerCase()))
          .slice(0, 6);

  const onInput = (value: string) => {
    setText(value);
    const match = /(?:^|\s)@([^\s@]*)$/.exec(value);
    setMentionQuery(match ? match[1]! : null);
    if (!parent && Date.now() - lastTyping.current > 3000) {
      lastTyping.current = Date.now();
      session.realtime?.typing(space._id);
    }
  };

  const pickMention = (m: Member) => {
    setText((t) => t.replace(/@([^\s@]*)$/, `@${m.displayname || m.username} `));
    setMentionQuery(null);
    box.current?.focus();
  };

  const send = () => {
    const body = text.trim();
    if ((!body && uploads.ready.length === 0) || uploads.busy) return;
    const mentions: Mention[] = members
      .filter((m) => body.includes(`@${m.displayname || m.username}`))
      .map((m) => ({ id: m.member, type: m.memberType === 'anonymousId' ? 'anonymous' : 'user', title: m.displayname || m.username }));
    const content = { bodyText: body, ...(uploads.ready.length ? { data: uploads.ready } : {}), ...(mentions.length ? { mentions } : {}) };
    const id = Date.now();
    setText('');
    setMentionQuery(null);
    uploads.clear();
    setPending((p) => [...p, { id, text: body || 'file' }]);
    void run(async () => {
      try {
        const rt = session.realtime;
        const options = parent ? { parentMsg: parent._id } : {};
        if (rt) await rt.send(space._id, content, options);
        else await session.client.sendChat(space._id, content, options);
      } finally {
        setPending((p) => p.filter((x) => x.id !== id));
      }
    });
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {pending.length > 0 && (
        <ul class="pending" aria-label="Sending">
          {pending.map((p) => (
            <li key={p.id}>Sending “{p.text}”…</li>
          ))}
        </ul>
      )}
      <UploadList uploads={uploads.uploads} remove={uploads.remove} />
      {candidates.length > 0 && (
        <ul class="mentions" aria-label="Mention someone">
          {candidates.map((m) => (
            <li key={m.member}>
              <button type="button" class="person" onClick={() => pickMention(m)}>
                {m.displayname || m.username}
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorNote error={error} />
      <div class="composer-row">
        <label class="attach button" title="Attach files">
          <svg
            aria-hidden="true"
            width="18"
            height="18"
            viewBox="0 0 24 24"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
          >
            <path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l8-8" />
          </svg>
          <span class="sr-only">Attach files</span>
          <input
            type="file"
            multiple
            class="sr-only"
            onChange={(e) => {
              uploads.add(e.currentTarget.files);
              e.currentTarget.value = '';
            }}
          />
        </label>
        <label class="sr-only" for={inputId}>
          {parent ? 'Comment' : 'Message'}
        </label>
        <textarea
          id={inputId}
          ref={box}
          rows={1}
          value={text}
          placeholder={placeholder ?? 'Message… (@ to mention)'}
          onInput={(e) => onInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="primary" disabled={uploads.busy}>
          Send
        </button>
      </div>
    </form>
  );
}
