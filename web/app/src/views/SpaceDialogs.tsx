import type { Space, User } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { createSpace, directSpace } from '../data/spaces.js';
import { go } from '../router.js';
import { Dialog, ErrorNote, useAction } from '../ui.js';
import { PeoplePicker } from './PeoplePicker.js';

/** The "New space" dialog: a title and an optional description; the new space opens. */
export function CreateSpace({ onClose, onCreated }: { onClose: () => void; onCreated: (space: Space) => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const { error, busy, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const space = await createSpace(title, description);
      onCreated(space);
      onClose();
      go(`/spaces/${space._id}`);
    });
  };
  return (
    <Dialog title="New space" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Title
          <input name="title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required autoFocus maxLength={200} />
        </label>
        <label>
          Description <span class="hint">(optional)</span>
          <textarea name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} rows={3} />
        </label>
        <ErrorNote error={error} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The "New direct message" dialog: pick a person, their direct space opens. */
export function NewDirect({ onClose }: { onClose: () => void }) {
  const { error, run } = useAction();
  const pick = (user: User) =>
    void run(async () => {
      const space = await directSpace(user);
      onClose();
      go(`/spaces/${space._id}`);
    });
  return (
    <Dialog title="New direct message" onClose={onClose}>
      <PeoplePicker label="Find a person" onPick={pick} />
      <ErrorNote error={error} />
    </Dialog>
  );
}
