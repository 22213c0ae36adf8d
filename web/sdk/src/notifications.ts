/**
 * Which new messages deserve a desktop notification, and the text of one. Pure
 * functions, so clients (and tests) decide the same way without a browser.
 */
import type { Id, Mention, Message, SpaceType } from './types.js';

/** What a client knows about the space a message arrived in. */
export interface NotifySpace {
  /** `group`, `direct` or `personal`, from the caller's space list. */
  type?: SpaceType | string | undefined;
  /** The caller's membership preference: `false` mutes the space. */
  notification?: boolean | null | undefined;
}

export type NotifyReason = 'direct' | 'mention';

function listedMentions(value: unknown): Mention[] {
  return Array.isArray(value) ? (value.filter((m) => m && typeof m === 'object') as Mention[]) : [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Whether the message mentions `userId`: an entry of `content.mentions` (or a top-level
 * `mentions`, as some clients send it) with that id, or a `<mention id="…">` tag in
 * the HTML body.
 */
export function mentionsUser(message: Pick<Message, 'content'> & { mentions?: unknown }, userId: Id): boolean {
  if (!userId) return false;
  const listed = [...listedMentions(message.content?.mentions), ...listedMentions(message.mentions)];
  if (listed.some((m) => m.id === userId)) return true;
  const body = message.content?.bodyText;
  if (typeof body !== 'string' || !body.includes('<mention')) return false;
  return new RegExp(`<mention\\b[^>]*\\bid\\s*=\\s*["']${escapeRegExp(userId)}["']`, 'i').test(body);
}

/**
 * Why a newly sent message is for `selfId` (`direct` space or `mention`), or null when
 * it is not: one's own messages, system messages, meetings and deleted messages never
 * are, and nothing from a space whose membership says `notification: false` is.
 */
export function notificationReason(
  message: Pick<Message, 'content' | 'sender' | 'category'> & { topicType?: string; deleted?: boolean; mentions?: unknown },
  selfId: Id,
  space: NotifySpace = {},
): NotifyReason | null {
  if (!selfId || !message || message.deleted) return null;
  const sender = message.sender;
  if (!sender || sender._id === selfId || sender.type === 'spaceserver') return null;
  if (message.category === 'meeting' || String(message.category ?? '').startsWith('topic.')) return null;
  if (space.notification === false) return null;
  if (message.topicType === 'direct' || space.type === 'direct') return 'direct';
  if (mentionsUser(message, selfId)) return 'mention';
  return null;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/**
 * A message body as plain text for a notification: `<mention>` tags become `@name`
 * (their `value`, else their text), other tags go, paragraphs become spaces.
 */
export function notificationText(body: string | undefined | null, limit = 200): string {
  if (!body) return '';
  let text = body.replace(/<mention\b([^>]*)>([\s\S]*?)<\/mention>/gi, (_, attrs: string, inner: string) => {
    const value = /\bvalue\s*=\s*"([^"]*)"/i.exec(attrs)?.[1] ?? /\bvalue\s*=\s*'([^']*)'/i.exec(attrs)?.[1];
    const name = (value ?? inner.replace(/<[^>]*>/g, '')).trim().replace(/^@/, '');
    return `@${name}`;
  });
  text = text
    .replace(/<(br|\/p|\/div|\/li)\b[^>]*>/gi, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, name: string) => ENTITIES[name] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** The tab title with an unread count in front: `(3) Plaza`, or the plain title at 0. */
export function unreadTitle(unread: number, title = 'Plaza'): string {
  if (!Number.isFinite(unread) || unread <= 0) return title;
  return `(${unread > 99 ? '99+' : Math.floor(unread)}) ${title}`;
}
