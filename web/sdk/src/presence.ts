import type { PresenceEvent, Sender } from './types.js';

export const ONLINE = 'app.event.presence.party.online';
export const LEAVES = 'app.event.presence.party.leaves';
export const REQUEST_PARTIES = 'app.event.presence.request.parties';
export const TYPING = 'party.typing';

export interface RosterChange {
  /** True when who is online changed. */
  changed: boolean;
  /** Someone new announced themselves to everyone: answer them with a targeted `online`. */
  replyTo?: Sender;
  /** Everyone was asked to announce themselves again. */
  reannounce?: boolean;
  /** Someone is typing. */
  typing?: Sender;
}

/**
 * Who is online in one space, by the Spaces roster protocol: a newcomer broadcasts
 * `online` with no `receivers`; everyone present answers with an `online` addressed to
 * the newcomer; `leaves` (sent by the server when a connection goes away) removes them.
 */
export class Roster {
  private readonly people = new Map<string, Sender>();
  private readonly selfId: string;

  constructor(selfId: string) {
    this.selfId = selfId;
  }

  apply(event: PresenceEvent): RosterChange {
    const sender = event.sender;
    if (!sender || sender._id === this.selfId) return { changed: false };
    switch (event.category) {
      case ONLINE: {
        const changed = !this.people.has(sender._id);
        this.people.set(sender._id, sender);
        const broadcast = !Array.isArray(event.receivers) || event.receivers.length === 0;
        return broadcast ? { changed, replyTo: sender } : { changed };
      }
      case LEAVES:
        return { changed: this.people.delete(sender._id) };
      case REQUEST_PARTIES:
        return { changed: false, reannounce: true };
      case TYPING: {
        const changed = !this.people.has(sender._id);
        this.people.set(sender._id, sender);
        return { changed, typing: sender };
      }
      default:
        return { changed: false };
    }
  }

  online(): Sender[] {
    return [...this.people.values()];
  }

  isOnline(userId: string): boolean {
    return userId === this.selfId || this.people.has(userId);
  }

  clear(): void {
    this.people.clear();
  }
}
