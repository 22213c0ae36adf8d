import { errorFromResponse, networkError, PlazaApiError } from './errors.js';

export interface UploadProgress {
  loaded: number;
  total: number;
  /** 0 to 1. */
  fraction: number;
}

export type ProgressListener = (progress: UploadProgress) => void;

/** What an upload `PUT` answered: the parsed JSON body. */
export type PutResult = Record<string, unknown>;

/** Sends `body` with `PUT` to a signed upload URL, reporting progress as it goes. */
export type PutTransport = (
  url: string,
  body: Blob,
  contentType: string,
  onProgress?: ProgressListener,
  signal?: AbortSignal,
) => Promise<PutResult>;

/**
 * In browsers, `XMLHttpRequest`, whose `upload.onprogress` is the only way to watch
 * bytes leave (fetch has no upload progress). Elsewhere (Node), fetch, with one
 * progress report at the end.
 */
export const defaultPut: PutTransport = (url, body, contentType, onProgress, signal) => {
  if (typeof XMLHttpRequest !== 'undefined') return xhrPut(url, body, contentType, onProgress, signal);
  return fetchPut(url, body, contentType, onProgress, signal);
};

function progressOf(loaded: number, total: number): UploadProgress {
  return { loaded, total, fraction: total > 0 ? Math.min(1, loaded / total) : 1 };
}

function xhrPut(url: string, body: Blob, contentType: string, onProgress?: ProgressListener, signal?: AbortSignal): Promise<PutResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.upload.onprogress = (event) => {
      onProgress?.(progressOf(event.loaded, event.lengthComputable ? event.total : body.size));
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(progressOf(body.size, body.size));
        try {
          resolve(xhr.responseText ? (JSON.parse(xhr.responseText) as PutResult) : {});
        } catch {
          resolve({});
        }
      } else {
        reject(errorFromResponse(xhr.status, xhr.responseText, xhr.getResponseHeader('x-request-id')));
      }
    };
    xhr.onerror = () => reject(networkError(new Error('the upload was interrupted')));
    xhr.onabort = () => reject(new PlazaApiError(0, { code: 'upload.aborted', message: 'the upload was cancelled' }));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

async function fetchPut(
  url: string,
  body: Blob,
  contentType: string,
  onProgress?: ProgressListener,
  signal?: AbortSignal,
): Promise<PutResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': contentType },
      body: new Uint8Array(await body.arrayBuffer()),
      ...(signal ? { signal } : {}),
    });
  } catch (cause) {
    throw networkError(cause);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromResponse(response.status, text, response.headers.get('x-request-id'));
  onProgress?.(progressOf(body.size, body.size));
  return text ? (JSON.parse(text) as PutResult) : {};
}

/** The Spaces attachment kind of a MIME type. */
export function fileKind(mime: string): 'image' | 'video' | 'audio' | 'document' {
  const major = mime.split('/')[0]?.toLowerCase();
  if (major === 'image' || major === 'video' || major === 'audio') return major;
  return 'document';
}
