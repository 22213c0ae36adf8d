import type { User } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { useColleagues } from '../data/people.js';
import { Avatar, ErrorNote } from '../ui.js';

/** People the caller shares spaces with, searched as they type. */
export function PeoplePicker({ onPick, label }: { onPick: (user: User) => void; label: string }) {
  const [search, setSearch] = useState('');
  const { people, found, error } = useColleagues(search);
  return (
    <div class="picker">
      <label>
        {label}
        <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="Name or email" />
      </label>
      <ErrorNote error={error} />
      <ul aria-label="People">
        {people.map((p) => (
          <li key={p._id}>
            <button type="button" class="person" onClick={() => onPick(p)}>
              <Avatar person={p} /> {p.displayname} <span class="hint">{p.username}</span>
            </button>
          </li>
        ))}
        {found === 0 && <li class="hint">Nobody found. People appear here once you share a space.</li>}
      </ul>
    </div>
  );
}
