import type { Member, Mention, Message, Space } from '@plaza/web-sdk';
import { useRef, useState } from 'preact/hooks';

import { session } from '../session.js';
import { useAction } from '../ui.js';
import { useUploads } from './uploads.js';

/**
 * What the message box holds and does: the text, the `@` mention candidates, files being
 * uploaded, messages on their way, typing notices, and sending (over the socket when
 * there is one, else REST). With `parent`, it writes comments.
 */
export function useComposer(space: Space, members: Member[], parent?: Message) {
  const [text, setText] = useState('');
  const [mentionQuery, setMentionQuery] = useState<string | null>(null);
  const [pending, setPending] = useState<{ id: number; text: string }[]>([]);
  const { error, run } = useAction();
  const uploads = useUploads(space._id);
  const lastTyping = useRef(0);
  const box = useRef<HTMLTextAreaElement>(null);

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

  return { text, onInput, candidates, pickMention, pending, uploads, send, error, box };
}
