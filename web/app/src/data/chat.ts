import { mergeMessages, type Message, type Pager, type Space } from '@plaza/web-sdk';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

import { session } from '../session.js';
import { useAction } from '../ui.js';

/** Typing notices last this long after the last `party.typing`. */
const TYPING_MS = 5000;

/**
 * A space's chat: the history, paged back as the list scrolls up, live messages, who is
 * typing, and the read mark. The list element is the hook's, so it keeps the view at the
 * bottom for new messages and steady when older ones load above.
 */
export function useChat(space: Space) {
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
  return { messages, done, error, list, loadOlder, onScroll, typingNames };
}

/** Editing and deleting one message. */
export function useMessageActions(m: Message) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const { error, busy, run } = useAction();
  const startEdit = (body: string) => {
    setText(body);
    setEditing(true);
  };
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
  return { editing, text, setText, startEdit, cancel: () => setEditing(false), save, remove, error, busy };
}
