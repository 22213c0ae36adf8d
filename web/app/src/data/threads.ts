import { mergeMessages, type Message, type Pager, type Space } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { session } from '../session.js';
import { useAction } from '../ui.js';

export type ThreadKind = 'idea' | 'task';

/** A space's posts (`idea`) or tasks, paged, kept live, with their comment counts. */
export function useThreads(space: Space, kind: ThreadKind) {
  const client = session.client;
  const [items, setItems] = useState<Message[]>([]);
  const [done, setDone] = useState(false);
  const { error, run } = useAction();
  const pager = useRef<Pager<Message> | null>(null);

  const more = () =>
    run(async () => {
      const p = pager.current;
      if (!p || p.done) return;
      const page = await p.next();
      setItems((prev) => mergeMessages(prev, page));
      setDone(p.done);
    });

  useEffect(() => {
    pager.current = kind === 'task' ? client.tasks(space._id, { size: 30 }) : client.posts(space._id, { size: 30 });
    setItems([]);
    void more();
    const rt = session.realtime;
    if (!rt) return;
    return rt.on('message', (m, info) => {
      if (m.topicId !== space._id) return;
      if (m.category === kind) setItems((prev) => (m.deleted ? prev.filter((x) => x._id !== m._id) : mergeMessages(prev, [m])));
      if (m.parentMsg && m.category === 'chat' && info.kind === 'new')
        setItems((prev) => prev.map((x) => (x._id === m.parentMsg!._id && !m.deleted ? { ...x, chatCount: (x.chatCount ?? 0) + 1 } : x)));
    });
  }, [space._id, kind]);

  return { items, done, more, error };
}

/** The comments on a post or task, kept live. */
export function useComments(parent: Message) {
  const [comments, setComments] = useState<Message[]>([]);
  const { error, run } = useAction();
  useEffect(() => {
    // Merged into what is there: a comment that arrived live while the page loaded stays.
    void run(async () => {
      const page = await session.client.comments(parent, 100).next();
      setComments((prev) => mergeMessages(prev, page));
    });
    return session.realtime?.on('message', (m) => {
      if (m.parentMsg?._id === parent._id) setComments((prev) => mergeMessages(prev, [m]));
    });
  }, [parent._id]);
  return { comments: comments.filter((c) => !c.deleted), error };
}
