import type { Member, Space } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { session } from '../session.js';
import { ErrorNote, useAction } from '../ui.js';

/** The form that publishes a post. */
export function NewPost({ space }: { space: Space }) {
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

/** The form that adds a task: title, details, due date, assignees. */
export function NewTask({ space, members }: { space: Space; members: Member[] }) {
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
