import { mergeMessages, type Member, type Message, type Pager, type Space } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { session } from '../session.js';
import { ErrorNote, plainText, RichText, senderName, time, useAction } from '../ui.js';
import { Attachments } from './Attachments.js';
import { Composer } from './Composer.js';

/** The Posts or Tasks tab: the list, a form to add one, and comments on each. */
export function Threads({ space, members, kind, isAdmin }: { space: Space; members: Member[]; kind: 'idea' | 'task'; isAdmin: boolean }) {
  const client = session.client;
  const [items, setItems] = useState<Message[]>([]);
  const [done, setDone] = useState(false);
  const [filter, setFilter] = useState<'all' | 'pending' | 'completed'>('all');
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
  return (
    <div class="comments">
      <ErrorNote error={error} />
      <ol aria-label="Comments">
        {comments
          .filter((c) => !c.deleted)
          .map((c) => (
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

function NewPost({ space }: { space: Space }) {
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const { error, busy, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await session.client.createPost(space._id, title.trim(), text.trim());
      setTitle('');
      setText('');
    });
  };
  return (
    <form class="card new-thread" onSubmit={submit} aria-label="New post">
      <label>
        Post title
        <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
      </label>
      <label>
        Text
        <textarea value={text} onInput={(e) => setText(e.currentTarget.value)} rows={3} />
      </label>
      <ErrorNote error={error} />
      <button type="submit" class="primary" disabled={busy}>
        Publish post
      </button>
    </form>
  );
}

function NewTask({ space, members }: { space: Space; members: Member[] }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [due, setDue] = useState('');
  const [assignees, setAssignees] = useState<string[]>([]);
  const { error, busy, run } = useAction();
  const people = members.filter((m) => m.memberType === 'userId');
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await session.client.createTask(space._id, { title: title.trim(), description: description.trim(), assignees, dueDate: due || null });
      setTitle('');
      setDescription('');
      setDue('');
      setAssignees([]);
    });
  };
  return (
    <form class="card new-thread" onSubmit={submit} aria-label="New task">
      <label>
        Task title
        <input value={title} onInput={(e) => setTitle(e.currentTarget.value)} required />
      </label>
      <label>
        Details
        <textarea value={description} onInput={(e) => setDescription(e.currentTarget.value)} rows={2} />
      </label>
      <div class="row wrap">
        <label>
          Due date
          <input type="date" value={due} onInput={(e) => setDue(e.currentTarget.value)} />
        </label>
        <fieldset class="assignees">
          <legend>Assignees</legend>
          {people.map((m) => (
            <label class="check" key={m.member}>
              <input
                type="checkbox"
                checked={assignees.includes(m.member)}
                onChange={(e) => setAssignees((a) => (e.currentTarget.checked ? [...a, m.member] : a.filter((x) => x !== m.member)))}
              />{' '}
              {m.displayname || m.username}
            </label>
          ))}
        </fieldset>
      </div>
      <ErrorNote error={error} />
      <button type="submit" class="primary" disabled={busy}>
        Add task
      </button>
    </form>
  );
}
