import type { Upload } from '@plaza/web-sdk';
import { useEffect, useState } from 'preact/hooks';

import { session } from '../session.js';
import { errorText } from '../ui.js';

/** Signed download URLs live an hour; keep them for half of that. */
const urls = new Map<string, { url: string; until: number }>();

/** A signed URL to download (or show) a file. */
export async function signedUrl(fileKey: string): Promise<string> {
  const cached = urls.get(fileKey);
  if (cached && cached.until > Date.now()) return cached.url;
  const { url } = await session.client.downloadUrl(fileKey);
  urls.set(fileKey, { url, until: Date.now() + 30 * 60_000 });
  return url;
}

export interface PendingUpload {
  id: number;
  name: string;
  fraction: number;
  upload?: Upload;
  error?: string;
}

let uploadSeq = 0;

/** Files uploaded at once, with progress, and the finished attachments. */
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

/** The signed URL of a file, once known (`null` until then, or when it cannot be had). */
export function useSignedUrl(fileKey: string): string | null {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    signedUrl(fileKey)
      .then((u) => live && setSrc(u))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [fileKey]);
  return src;
}

/** Saves a file the way a download link would. */
export async function download(fileKey: string, name: string): Promise<void> {
  const a = document.createElement('a');
  a.href = await signedUrl(fileKey);
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
