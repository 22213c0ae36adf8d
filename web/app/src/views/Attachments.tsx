import type { Attachment } from '@plaza/web-sdk';
import { useState } from 'preact/hooks';

import { download, useSignedUrl, type PendingUpload } from '../data/uploads.js';
import { errorText, formatBytes } from '../ui.js';

function Thumbnail({ item }: { item: Attachment }) {
  const src = useSignedUrl(item.thumbnailFile || item.fileId);
  return src ? (
    <img class="thumb" src={src} alt={item.name ? `Preview of ${item.name}` : 'Image preview'} loading="lazy" />
  ) : (
    <span class="thumb placeholder" aria-hidden="true" />
  );
}

/** Plays an audio or video file in place (a meeting recording's track). */
function Player({ item }: { item: Attachment }) {
  const src = useSignedUrl(item.fileId);
  const label = `Playing ${item.name || 'file'}`;
  if (!src) return <span class="hint">Loading…</span>;
  return item.fileType === 'audio' ? (
    <audio class="player" src={src} controls aria-label={label} />
  ) : (
    <video class="player" src={src} controls playsInline aria-label={label} />
  );
}

export function Attachments({ items }: { items: Attachment[] | undefined }) {
  const [error, setError] = useState<string | null>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const native = (items ?? []).filter((a) => (a.provider ?? 'native') === 'native' && a.fileId);
  if (native.length === 0) return null;
  const save = async (item: Attachment) => {
    setError(null);
    try {
      await download(item.fileId, item.name ?? '');
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <ul class="attachments" aria-label="Attachments">
      {native.map((item) => (
        <li key={item.fileId} class="attachment">
          {item.fileType === 'image' && <Thumbnail item={item} />}
          <span class="file-name">{item.name || 'file'}</span>
          <span class="hint">{formatBytes(item.fileSize)}</span>
          {(item.fileType === 'audio' || item.fileType === 'video') && playing !== item.fileId && (
            <button type="button" class="small" onClick={() => setPlaying(item.fileId)} aria-label={`Play ${item.name || 'file'}`}>
              Play
            </button>
          )}
          <button type="button" class="small" onClick={() => void save(item)} aria-label={`Download ${item.name || 'file'}`}>
            Download
          </button>
          {playing === item.fileId && <Player item={item} />}
        </li>
      ))}
      {error && (
        <li class="error" role="alert">
          {error}
        </li>
      )}
    </ul>
  );
}

export function UploadList({ uploads, remove }: { uploads: PendingUpload[]; remove: (id: number) => void }) {
  if (uploads.length === 0) return null;
  return (
    <ul class="uploads" aria-label="Files to send">
      {uploads.map((u) => (
        <li key={u.id}>
          <span class="file-name">{u.name}</span>
          {u.error ? (
            <span class="error" role="alert">
              {u.error}
            </span>
          ) : (
            <progress max={1} value={u.fraction} aria-label={`Uploading ${u.name}`}>
              {Math.round(u.fraction * 100)}%
            </progress>
          )}
          {u.upload && <span class="hint">ready</span>}
          <button type="button" class="ghost small" aria-label={`Remove ${u.name}`} onClick={() => remove(u.id)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
