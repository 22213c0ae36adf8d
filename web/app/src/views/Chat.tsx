import type { Member, Space } from '@plaza/web-sdk';

import { useChat } from '../data/chat.js';
import { session } from '../session.js';
import { ErrorNote } from '../ui.js';
import { Composer } from './Composer.js';
import { MessageItem } from './MessageItem.js';

/** The Chat tab: the messages (older ones load as the list scrolls up), who is typing, the composer. */
export function Chat({ space, members, isAdmin }: { space: Space; members: Member[]; isAdmin: boolean }) {
  const me = session.user!;
  const { messages, done, error, list, loadOlder, onScroll, typingNames } = useChat(space);
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
