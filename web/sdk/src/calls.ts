// 1:1 calls in direct spaces: the ring and the answer (`space.call.*` media-session events
// over the socket), as a small state machine. The media of a call is the space's media room,
// joined with `MediaSession` like any meeting once the call is accepted. See
// docs/decisions.md ("1:1 calls").
import type { PlazaRealtime } from './realtime.js';
import type { Id, MediaEvent, Sender } from './types.js';

export const CALL_OFFER = 'space.call.offer';
export const CALL_ACCEPTED = 'space.call.accepted';
export const CALL_REJECTED = 'space.call.rejected';
export const CALL_CANCELLED = 'space.call.cancelled';
export const CALL_ENDED = 'space.call.ended';
/** The server's: the callee answered (to both parties). */
export const CALL_OFFER_ACCEPTED = 'space.call.offer.accepted';
/** The server's: nobody answered within its ring timeout (to both parties). */
export const CALL_NOT_ANSWERED = 'space.call.not.answered';

/**
 * How a call ended, when not by this client's own action (those clear the call):
 * `declined` or `busy` (the callee refused, or was in another call), `unanswered` (the
 * caller's call rang out), `missed` (the callee's: the caller gave up, or it rang out),
 * `ended` (the other party hung up).
 */
export type CallOutcome = 'declined' | 'busy' | 'unanswered' | 'missed' | 'ended';

export interface DirectCall {
  /** The `spaceCallId`. */
  id: string;
  spaceId: Id;
  direction: 'outgoing' | 'incoming';
  /** The other party: an incoming call's caller, or whom the caller said it calls. */
  peer: Sender | null;
  status: 'ringing' | 'active' | 'over';
  outcome?: CallOutcome;
}

export interface DirectCallsOptions {
  realtime: Pick<PlazaRealtime, 'on' | 'sendMediaEvent'>;
  /** The signed-in user: events they sent (from this or another device) are told apart. */
  selfId: Id;
  /**
   * How long a call may ring before this client gives up by itself, in ms (default 60 s);
   * the server's own ring timeout (`space.call.not.answered`, 45 s by default) comes first.
   */
  ringTimeoutMs?: number;
  /** Makes a `spaceCallId` (default: a random UUID). */
  newId?: () => string;
}

export interface DirectCallsEvents {
  change: (call: DirectCall | null) => void;
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

function callIdOf(event: MediaEvent): string {
  const top = (event as { spaceCallId?: unknown }).spaceCallId;
  if (typeof top === 'string') return top;
  const inner = event.content?.spaceCallId;
  return typeof inner === 'string' ? inner : '';
}

/**
 * One person's 1:1 calls, across all their direct spaces: at most one at a time. `call()`
 * rings the other party of a direct space, who sees an incoming call (`current`, ringing)
 * wherever they are, and `accept()`s or `decline()`s it; either party `hangUp()`s. An offer
 * that arrives while a call rings or runs is refused as busy. Answers given on another of
 * the person's devices stop the ringing here.
 */
export class DirectCalls {
  private readonly options: DirectCallsOptions;
  private readonly listeners = new Set<(call: DirectCall | null) => void>();
  private readonly off: () => void;
  private currentValue: DirectCall | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: DirectCallsOptions) {
    this.options = options;
    this.off = options.realtime.on('media', (event) => this.onEvent(event));
  }

  /** The call ringing or running, or the last one that ended (until dismissed or replaced). */
  get current(): DirectCall | null {
    return this.currentValue;
  }

  /** Whether a call rings or runs (a new one cannot start). */
  get busy(): boolean {
    return this.currentValue !== null && this.currentValue.status !== 'over';
  }

  on<K extends keyof DirectCallsEvents>(event: K, listener: DirectCallsEvents[K]): () => void {
    if (event !== 'change') return () => undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rings the other party of the direct space `spaceId`. */
  call(spaceId: Id, peer: Sender | null = null): DirectCall {
    if (this.busy) throw new Error('a call is already ringing or running');
    const id = (this.options.newId ?? randomId)();
    this.send(spaceId, CALL_OFFER, id);
    this.set({ id, spaceId, direction: 'outgoing', peer, status: 'ringing' });
    return this.currentValue!;
  }

  /** The caller gives up before an answer. */
  cancel(): void {
    const c = this.currentValue;
    if (!c || c.direction !== 'outgoing' || c.status !== 'ringing') return;
    this.send(c.spaceId, CALL_CANCELLED, c.id);
    this.set(null);
  }

  /** The callee answers: the call is active, and both join the space's media. */
  accept(): void {
    const c = this.currentValue;
    if (!c || c.direction !== 'incoming' || c.status !== 'ringing') return;
    this.send(c.spaceId, CALL_ACCEPTED, c.id);
    this.set({ ...c, status: 'active' });
  }

  /** The callee refuses. */
  decline(): void {
    const c = this.currentValue;
    if (!c || c.direction !== 'incoming' || c.status !== 'ringing') return;
    this.send(c.spaceId, CALL_REJECTED, c.id);
    this.set(null);
  }

  /** Ends the call, whatever its state: cancels, declines or hangs up. */
  hangUp(): void {
    const c = this.currentValue;
    if (!c || c.status === 'over') return;
    if (c.status === 'ringing') return c.direction === 'outgoing' ? this.cancel() : this.decline();
    this.send(c.spaceId, CALL_ENDED, c.id);
    this.set(null);
  }

  /** Forgets a call that is over. */
  dismiss(): void {
    if (this.currentValue?.status === 'over') this.set(null);
  }

  /** Stops listening (hanging up first). */
  close(): void {
    this.hangUp();
    this.off();
    this.set(null);
    this.listeners.clear();
  }

  // ---- internals --------------------------------------------------------------------

  private send(spaceId: Id, category: string, id: string, content: Record<string, unknown> = {}): void {
    this.options.realtime.sendMediaEvent(spaceId, category, content, { spaceCallId: id });
  }

  private set(call: DirectCall | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.currentValue = call;
    if (call?.status === 'ringing') {
      // Should the server's answer never come (a lost connection), stop ringing anyway.
      const id = call.id;
      this.timer = setTimeout(() => {
        const c = this.currentValue;
        if (c?.id !== id || c.status !== 'ringing') return;
        if (c.direction === 'outgoing') this.send(c.spaceId, CALL_CANCELLED, c.id);
        this.over(c.direction === 'outgoing' ? 'unanswered' : 'missed');
      }, this.options.ringTimeoutMs ?? 60_000);
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(call);
      } catch (error) {
        console.error('plaza: a call listener threw', error);
      }
    }
  }

  private over(outcome: CallOutcome): void {
    const c = this.currentValue;
    if (c) this.set({ ...c, status: 'over', outcome });
  }

  private onEvent(event: MediaEvent): void {
    if (!event || typeof event.category !== 'string' || !event.category.startsWith('space.call.')) return;
    const id = callIdOf(event);
    if (!id) return;
    const fromSelf = event.sender?._id === this.options.selfId;
    const c = this.currentValue;
    const ours = c !== null && c.id === id && c.status !== 'over';

    if (event.category === CALL_OFFER) {
      if (fromSelf || ours) return; // our own offer, from this or another device
      if (this.busy) {
        this.send(event.topicId, CALL_REJECTED, id, { reason: 'busy' });
        return;
      }
      this.set({ id, spaceId: event.topicId, direction: 'incoming', peer: event.sender ?? null, status: 'ringing' });
      return;
    }
    if (!ours) return;
    const ringing = c.status === 'ringing';
    switch (event.category) {
      case CALL_ACCEPTED:
      case CALL_OFFER_ACCEPTED:
        if (c.direction === 'outgoing' && ringing) this.set({ ...c, status: 'active' });
        // Answered on another of our devices: it rings no more here.
        else if (c.direction === 'incoming' && ringing && fromSelf) this.set(null);
        return;
      case CALL_REJECTED:
        if (c.direction === 'outgoing' && ringing && !fromSelf) this.over(event.content?.reason === 'busy' ? 'busy' : 'declined');
        else if (c.direction === 'incoming' && ringing && fromSelf) this.set(null);
        return;
      case CALL_CANCELLED:
        if (c.direction === 'incoming' && ringing && !fromSelf) this.over('missed');
        else if (c.direction === 'outgoing' && ringing && fromSelf) this.set(null);
        return;
      case CALL_NOT_ANSWERED:
        if (ringing) this.over(c.direction === 'outgoing' ? 'unanswered' : 'missed');
        return;
      case CALL_ENDED:
        if (!fromSelf) this.over('ended');
        else this.set(null);
        return;
      default:
        return;
    }
  }
}
