import type { Member, Message, Space } from '@plaza/web-sdk';

import { useComposer } from '../data/composer.js';
import { ErrorNote } from '../ui.js';
import { UploadList } from './Attachments.js';

/** The message box: Enter sends, Shift+Enter is a new line, `@` mentions a member. */
export function Composer({
  space,
  members,
  parent,
  placeholder,
}: {
  space: Space;
  members: Member[];
  parent?: Message;
  placeholder?: string;
}) {
  const { text, onInput, candidates, pickMention, pending, uploads, send, error, box } = useComposer(space, members, parent);
  const inputId = `composer-${parent?._id ?? space._id}`;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {pending.length > 0 && (
        <ul class="pending" aria-label="Sending">
          {pending.map((p) => (
            <li key={p.id}>Sending “{p.text}”…</li>
          ))}
        </ul>
      )}
      <UploadList uploads={uploads.uploads} remove={uploads.remove} />
      {candidates.length > 0 && (
        <ul class="mentions" aria-label="Mention someone">
          {candidates.map((m) => (
            <li key={m.member}>
              <button type="button" class="person" onClick={() => pickMention(m)}>
                {m.displayname || m.username}
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorNote error={error} />
      <div class="composer-row">
        <label class="attach button" title="Attach files">
          <svg
            aria-hidden="true"
            width="18"
            height="18"
            viewBox="0 0 24 24"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
          >
            <path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l8-8" />
          </svg>
          <span class="sr-only">Attach files</span>
          <input
            type="file"
            multiple
            class="sr-only"
            onChange={(e) => {
              uploads.add(e.currentTarget.files);
              e.currentTarget.value = '';
            }}
          />
        </label>
        <label class="sr-only" for={inputId}>
          {parent ? 'Comment' : 'Message'}
        </label>
        <textarea
          id={inputId}
          ref={box}
          rows={1}
          value={text}
          placeholder={placeholder ?? 'Message… (@ to mention)'}
          onInput={(e) => onInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="primary" disabled={uploads.busy}>
          Send
        </button>
      </div>
    </form>
  );
}
