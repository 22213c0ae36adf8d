import type { Mention, Message } from '@plaza/web-sdk';

import { useMessageActions } from '../data/chat.js';
import { Avatar, ErrorNote, GuestTag, plainText, RichText, senderName, time } from '../ui.js';
import { Attachments } from './Attachments.js';

/** One message of the chat, with its edit form and its Edit and Delete buttons. */
export function MessageItem({ message: m, mine, isAdmin }: { message: Message; mine: boolean; isAdmin: boolean }) {
  const { editing, text, setText, startEdit, cancel, save, remove, error, busy } = useMessageActions(m);
  const body = plainText(m.content?.bodyText);
  const edited = !m.deleted && Date.parse(m.modified) - Date.parse(m.created) > 1000 && m.category === 'chat';
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
              <button type="button" class="small" onClick={cancel}>
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
              <button type="button" class="ghost small" onClick={() => startEdit(body)}>
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
