import type { Attachment, Upload } from '@plaza/web-sdk';
import { useEffect, useState } from 'preact/hooks';

import { session } from '../session.js';
import { errorText, formatBytes } from '../ui.js';

/** Signed download URLs live an hour; keep them for half of that. */
const urls = new Map<string, { url: string; until: number }>();

async function signedUrl(fileKey: string): Promise<string> {
  const cached = urls.get(fileKey);
  if (cached && cached.until > Date.now()) return cached.url;
  const { url } = await session.client.downloadUrl(fileKey);
  urls.set(fileKey, { url, until: Date.now() + 30 * 60_000 });
  return url;
}

function Thumbnail({ item }: { item: Attachment }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    signedUrl(item.thumbnailFile || item.fileId)
      .then((u) => live && setSrc(u))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [item.thumbnailFile, item.fileId]);
  return src ? (
    <img class="thumb" src={src} alt={item.name ? `Preview of ${item.name}` : 'Image preview'} loading="lazy" />
  ) : (
    <span class="thumb placeholder" aria-hidden="true" />
  );
}

export function Attachments({ items }: { items: Attachment[] | undefined }) {
  const [error, setError] = useState<string | null>(null);
  const native = (items ?? []).filter((a) => (a.provider ?? 'native') === 'native' && a.fileId);
  if (native.length === 0) return null;
  const download = async (item: Attachment) => {
    setError(null);
    try {
      const a = document.createElement('a');
      a.href = await signedUrl(item.fileId);
      a.download = item.name ?? '';
      a.rel = 'noopener';
      document.body.append(a);
      a.click();
      a.remove();
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
          <button type="button" class="small" onClick={() => void download(item)} aria-label={`Download ${item.name || 'file'}`}>
            Download
          </button>
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

export interface PendingUpload {
  id: number;
  name: string;
  fraction: number;
  upload?: Upload;
  error?: string;
}

let uploadSeq = 0;

/** A file input that uploads at once, with progress, and reports finished attachments. */
export function useUploads(spaceId: string) {
  const [uploads, setUploads] = useState<PendingUpload[]>([]);
  const add = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      const id = ++uploadSeq;
      setUploads((u) => [...u, { id, name: file.name, fraction: 0 }]);
      const patch = (change: Partial<PendingUpload>) => setUploads((u) => u.map((x) => (x.id === id ? { ...x, ...change } : x)));
      session.client
        .upload(file, { topicId: spaceId, onProgress: (p) => patch({ fraction: p.fraction }) })
        .then((upload) => patch({ upload, fraction: 1 }))
        .catch((e) => patch({ error: errorText(e) }));
    }
  };
  const remove = (id: number) => setUploads((u) => u.filter((x) => x.id !== id));
  const clear = () => setUploads([]);
  const ready = uploads.filter((u) => u.upload).map((u) => u.upload!.attachment);
  const busy = uploads.some((u) => !u.upload && !u.error);
  return { uploads, add, remove, clear, ready, busy };
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
