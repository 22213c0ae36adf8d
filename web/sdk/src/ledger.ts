import type { Message } from './types.js';

/** What a message arriving means for a client that has seen some already. */
export type Arrival = 'new' | 'changed' | 'duplicate';

function millis(time: string | undefined): number {
  const t = time ? Date.parse(time) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Remembers which messages (by `_id` and `modified`) a client has seen, so that the
 * same message arriving twice (a catch-up overlapping live delivery, a REST answer and
 * the socket's copy, a resend after reconnecting) is shown once, while an edit or a
 * delete (same `_id`, later `modified`) still counts. It also knows the newest message
 * id seen per space: Plaza's ids are time-ordered, so that is where a catch-up starts.
 */
export class MessageLedger {
  private readonly seen = new Map<string, number>();
  private readonly newest = new Map<string, string>();
  private readonly limit: number;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  /** Records `message` and says whether it is new, a change, or already known. */
  observe(message: Pick<Message, '_id' | 'modified' | 'topicId'> & { created?: string }): Arrival {
    const modified = millis(message.modified ?? message.created);
    const known = this.seen.get(message._id);
    this.noteNewest(message.topicId, message._id);
    if (known !== undefined && modified <= known) return 'duplicate';
    // Re-inserting keeps the map in least-recently-seen order for trimming.
    this.seen.delete(message._id);
    this.seen.set(message._id, modified);
    if (this.seen.size > this.limit) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return known === undefined ? 'new' : 'changed';
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** The newest message id seen in a space (the `lastMessageId` of a catch-up). */
  newestIn(spaceId: string): string | undefined {
    return this.newest.get(spaceId);
  }

  private noteNewest(spaceId: string | undefined, id: string): void {
    if (!spaceId || !isObjectId(id)) return;
    const current = this.newest.get(spaceId);
    if (current === undefined || compareIds(id, current) > 0) this.newest.set(spaceId, id);
  }
}

export function isObjectId(id: string): boolean {
  return /^[0-9a-f]{24}$/i.test(id);
}

/** Orders two 24-hex ids by creation (their leading bytes are a timestamp). */
export function compareIds(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Merges messages into a list kept oldest first without repeats: a later copy of a
 * message replaces the earlier one only when its `modified` is not older.
 */
export function mergeMessages<T extends Pick<Message, '_id' | 'modified' | 'created'>>(list: T[], incoming: T[]): T[] {
  const byId = new Map<string, T>();
  for (const m of list) byId.set(m._id, m);
  for (const m of incoming) {
    const old = byId.get(m._id);
    if (!old || millis(m.modified) >= millis(old.modified)) byId.set(m._id, m);
  }
  return [...byId.values()].sort((a, b) => millis(a.created) - millis(b.created) || compareIds(a._id, b._id));
}
