import type { Member, Message, Space } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { useComments, useThreads, type ThreadKind } from '../data/threads.js';
import { session } from '../session.js';
import { ErrorNote, plainText, RichText, senderName, time, useAction } from '../ui.js';
import { Attachments } from './Attachments.js';
import { Composer } from './Composer.js';
import { NewPost, NewTask } from './ThreadForms.js';

/** The Posts or Tasks tab: the list, a form to add one, and comments on each. */
export function Threads({ space, members, kind, isAdmin }: { space: Space; members: Member[]; kind: ThreadKind; isAdmin: boolean }) {
  const { items, done, more, error } = useThreads(space, kind);
  const [filter, setFilter] = useState<'all' | 'pending' | 'completed'>('all');
  const shown = [...items].reverse().filter((t) => filter === 'all' || (t.content.status === 'completed') === (filter === 'completed'));
  const label = kind === 'task' ? 'Tasks' : 'Posts';
  return (
    <section class="threads" aria-label={label}>
      {kind === 'task' ? <NewTask space={space} members={members} /> : <NewPost space={space} />}
      {kind === 'task' && (
        <label class="inline">
          Show{' '}
          <select value={filter} onChange={(e) => setFilter(e.currentTarget.value as typeof filter)}>
            <option value="all">all tasks</option>
            <option value="pending">pending</option>
            <option value="completed">completed</option>
          </select>
        </label>
      )}
      <ErrorNote error={error} />
      <ul class="thread-list" aria-label={`${label} list`}>
        {shown.map((t) => (
          <Thread key={t._id} item={t} space={space} members={members} isAdmin={isAdmin} />
        ))}
        {done && shown.length === 0 && <li class="empty">No {label.toLowerCase()} yet.</li>}
      </ul>
      {!done && (
        <button type="button" onClick={() => void more()}>
          Load more
        </button>
      )}
    </section>
  );
}

function Thread({ item, space, members, isAdmin }: { item: Message; space: Space; members: Member[]; isAdmin: boolean }) {
  const [open, setOpen] = useState(false);
  const { error, busy, run } = useAction();
  const task = item.category === 'task';
  const completed = item.content.status === 'completed';
  const assignees = (item.content.assignees ?? []).map((a) => members.find((m) => m.member === a._id)?.displayname ?? 'someone');
  const due = item.content.dueDate ? new Date(item.content.dueDate) : null;
  const overdue = due && !completed && due.getTime() < Date.now();
  const me = session.user!;
  // The author and admins change a task; its assignees may also mark it done or not.
  const mayChange = item.sender?._id === me._id || isAdmin;
  const mayComplete = mayChange || (item.content.assignees ?? []).some((a) => a._id === me._id);
  return (
    <li class={completed ? 'thread done' : 'thread'} data-message-id={item._id} data-status={item.content.status}>
      <div class="thread-head">
        {task && (
          <input
            type="checkbox"
            checked={completed}
            disabled={busy || !mayComplete}
            title={mayComplete ? undefined : 'Only the author, an assignee or an admin can change this task'}
            aria-label={`Mark “${plainText(item.content.bodyText)}” ${completed ? 'pending' : 'completed'}`}
            onChange={() => void run(() => session.client.setTaskStatus(item, completed ? 'pending' : 'completed'))}
          />
        )}
        <div>
          <h3 class="thread-title">
            <RichText text={plainText(item.content.bodyText)} />
          </h3>
          <p class="hint">
            {senderName(item)} · {time(item.created)}
            {task && assignees.length > 0 && <> · Assigned to {assignees.join(', ')}</>}
            {due && (
              <>
                {' '}
                · <span class={overdue ? 'overdue' : ''}>Due {due.toLocaleDateString()}</span>
              </>
            )}
            {task && <> · {completed ? 'Completed' : 'Pending'}</>}
          </p>
        </div>
      </div>
      {item.content.description && <p class="description">{plainText(item.content.description)}</p>}
      <Attachments items={item.content.data} />
      <ErrorNote error={error} />
      <div class="actions">
        <button type="button" class="small" aria-expanded={open} onClick={() => setOpen(!open)}>
          Comments ({item.chatCount ?? 0})
        </button>
        {mayChange && (
          <button
            type="button"
            class="ghost small"
            onClick={() => confirm('Delete this?') && void run(() => session.client.deleteMessage(item._id))}
          >
            Delete
          </button>
        )}
      </div>
      {open && <Comments parent={item} space={space} members={members} />}
    </li>
  );
}

function Comments({ parent, space, members }: { parent: Message; space: Space; members: Member[] }) {
  const { comments, error } = useComments(parent);
  return (
    <div class="comments">
      <ErrorNote error={error} />
      <ol aria-label="Comments">
        {comments.map((c) => (
          <li key={c._id} class="comment">
            <strong>{senderName(c)}</strong> <span class="hint">{time(c.created)}</span>
            <p>
              <RichText text={plainText(c.content.bodyText)} mentions={c.content.mentions} />
            </p>
            <Attachments items={c.content.data} />
          </li>
        ))}
      </ol>
      <Composer space={space} members={members} parent={parent} placeholder="Write a comment…" />
    </div>
  );
}
