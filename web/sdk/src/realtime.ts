import { io as ioConnect } from 'socket.io-client';

import { errorFromSocket, PlazaApiError } from './errors.js';
import { MessageLedger, type Arrival } from './ledger.js';
import { LEAVES, ONLINE, Roster, TYPING } from './presence.js';
import type { PlazaClient } from './rest.js';
import type { Id, MediaEvent, Message, MessageContent, PresenceEvent, Sender } from './types.js';

/** The part of a socket.io-client `Socket` this client uses (tests pass a fake). */
export interface SocketLike {
  readonly connected: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  connect(): unknown;
  disconnect(): unknown;
}

export type SocketFactory = (url: string, options: Record<string, unknown>) => SocketLike;

export type ConnectionStatus = 'connecting' | 'online' | 'offline';

export interface RealtimeOptions {
  /** Where Plaza is; `''` for the page's own origin. */
  baseUrl?: string;
  token: string;
  /** `jwt` (default) or `oauth`. */
  tokenType?: 'jwt' | 'oauth';
  /** The caller's user id (for the roster, which leaves oneself out). */
  selfId?: Id;
  /** With a REST client, a reconnect also syncs edits and deletes made while away. */
  rest?: PlazaClient;
  /** Browsers: drop the socket on `offline` and reconnect on `online` at once. */
  watchOnline?: boolean;
  /** How long a send waits for the server's answer, in ms. */
  sendTimeoutMs?: number;
  socketFactory?: SocketFactory;
}

export interface MessageInfo {
  kind: Exclude<Arrival, 'duplicate'>;
  /** True when it arrived through a catch-up rather than live. */
  replay: boolean;
}

export interface RealtimeEvents {
  message: (message: Message, info: MessageInfo) => void;
  /** `topic.updated`: a space's title, description or status changed. */
  spaceUpdated: (payload: Message) => void;
  presence: (event: PresenceEvent) => void;
  roster: (spaceId: Id, online: Sender[]) => void;
  typing: (spaceId: Id, who: Sender) => void;
  media: (event: MediaEvent) => void;
  /** A media-plane signalling event (`MEDIA_JOINED`, `MEDIA_OFFER`, ...; see `MediaSession`). */
  signal: (event: string, payload: any) => void;
  status: (status: ConnectionStatus) => void;
  subscribed: (spaceId: Id) => void;
  /** The server stopped delivering a space (`removed`: the caller was removed). */
  unsubscribed: (spaceId: Id, removed: boolean) => void;
  error: (error: PlazaApiError) => void;
}

type Listener<K extends keyof RealtimeEvents> = RealtimeEvents[K];

interface Subscription {
  password?: string | undefined;
  active: boolean;
  /** Subscribing again after a lost connection. */
  resumed: boolean;
  waiters: { resolve: () => void; reject: (e: PlazaApiError) => void }[];
}

interface PendingSend {
  spaceId: Id;
  payload: Record<string, unknown>;
  resolve: (m: Message) => void;
  reject: (e: PlazaApiError) => void;
  timer?: ReturnType<typeof setTimeout>;
  emitted: boolean;
}

/** The media-plane events the server sends on `/chat` (see `MediaSession`). */
export const MEDIA_SIGNALS = [
  'MEDIA_JOINED',
  'MEDIA_JOIN_FAILED',
  'MEDIA_OFFER',
  'MEDIA_OFFER_FAILED',
  'MEDIA_ANSWER',
  'MEDIA_ANSWER_FAILED',
  'MEDIA_CANDIDATE_FAILED',
  'MEDIA_LEAVE_FAILED',
  'MEDIA_QUALITY_FAILED',
  'MEDIA_PARTICIPANTS',
  'MEDIA_ACTIVE_SPEAKER',
  'MEDIA_FORWARDING',
  'MEDIA_SESSION_ENDED',
] as const;

let sequence = 0;
function clientId(): string {
  sequence += 1;
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${sequence}`;
}

function channelId(payload: unknown): string {
  const id = (payload as { channel?: { _id?: unknown } } | undefined)?.channel?._id;
  return typeof id === 'string' ? id : '';
}

/**
 * A live connection to Plaza's Socket.IO API (namespace `/chat`). It subscribes to
 * spaces, sends and receives messages, presence and media-session events, and rides
 * out lost connections: on reconnecting it subscribes again to every space with the
 * newest message id it saw (`lastMessageId`), so the server replays what was missed,
 * falls back to the history for spaces it had seen nothing of, and (given a REST
 * client) syncs edits and deletes made meanwhile. Every message is reported once per
 * version: repeats by `_id` and `modified` are dropped.
 */
export class PlazaRealtime {
  readonly ledger = new MessageLedger();
  private readonly socket: SocketLike;
  private readonly options: RealtimeOptions;
  private readonly listeners = new Map<keyof RealtimeEvents, Set<(...args: any[]) => void>>();
  private readonly subscriptions = new Map<Id, Subscription>();
  private readonly rosters = new Map<Id, Roster>();
  private readonly pending = new Map<string, PendingSend>();
  private statusValue: ConnectionStatus = 'connecting';
  private everConnected = false;
  private disconnectedAt: number | null = null;
  private closed = false;
  private readonly unwatch: (() => void) | undefined;

  constructor(options: RealtimeOptions) {
    this.options = options;
    const base = (options.baseUrl ?? '').replace(/\/+$/, '');
    const factory: SocketFactory = options.socketFactory ?? ((url, opts) => ioConnect(url, opts) as unknown as SocketLike);
    this.socket = factory(`${base}/chat`, {
      auth: { token: options.token, tokenType: options.tokenType ?? 'jwt' },
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('disconnect', () => this.onDisconnect());
    this.socket.on('connect_error', (error: Error & { data?: unknown }) => this.onConnectError(error));
    this.socket.on('CHANNEL_SUBSCRIBED', (p: unknown) => this.onSubscribed(channelId(p)));
    this.socket.on('SUBSCRIBE_CHANNEL_FAILED', (p: unknown) => this.onSubscribeFailed(channelId(p), p));
    this.socket.on('CHANNEL_UNSUBSCRIBED', (p: unknown) => this.onUnsubscribed(channelId(p)));
    this.socket.on('MESSAGE_SENT', (m: Message) => this.onMessage(m));
    this.socket.on('SEND_MESSAGE_FAILED', (p: Record<string, unknown>) => this.onSendFailed(p));
    this.socket.on('PRESENCE_EVENT_RESPONSE', (e: PresenceEvent) => this.onPresence(e));
    this.socket.on('MEDIA_SESSION_RESPONSE', (e: MediaEvent) => this.emitEvent('media', e));
    for (const name of MEDIA_SIGNALS) this.socket.on(name, (p: unknown) => this.emitEvent('signal', name, p));
    // The server ends a socket whose credentials ended (logout elsewhere, a disabled
    // account, an expired token): say why, and do not reconnect with them.
    this.socket.on('SESSION_ENDED', (p: unknown) => {
      const body = p as { code?: unknown; message?: unknown } | undefined;
      const code = typeof body?.code === 'string' ? body.code : 'auth.invalid_token';
      const message = typeof body?.message === 'string' ? body.message : 'the session ended';
      this.close();
      this.emitEvent('error', new PlazaApiError(401, { code, message }, undefined, p));
    });
    this.socket.on('SEND_MEDIA_SESSION_EVENTS_FAILED', (p: unknown) =>
      this.emitEvent('error', errorFromSocket(p, 'the media-session event was refused')),
    );
    if (options.watchOnline && typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      const offline = () => {
        // The browser knows first; don't wait for heartbeats to time out.
        if (this.socket.connected) this.socket.disconnect();
        this.setStatus('offline');
      };
      const online = () => {
        if (!this.closed && !this.socket.connected) this.socket.connect();
      };
      window.addEventListener('offline', offline);
      window.addEventListener('online', online);
      this.unwatch = () => {
        window.removeEventListener('offline', offline);
        window.removeEventListener('online', online);
      };
    }
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  on<K extends keyof RealtimeEvents>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (...args: any[]) => void);
    return () => set.delete(listener as (...args: any[]) => void);
  }

  private emitEvent<K extends keyof RealtimeEvents>(event: K, ...args: Parameters<RealtimeEvents[K]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(...args);
      } catch (error) {
        console.error(`plaza: a ${String(event)} listener threw`, error);
      }
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    this.emitEvent('status', status);
  }

  /** Sends a media-plane signalling event (`MEDIA_JOIN`, `MEDIA_OFFER`, ...) as is. */
  signal(event: string, payload: Record<string, unknown>): void {
    this.socket.emit(event, payload);
  }

  /** Subscribes to a space (joining it by link as `/join` would); `password` is its PIN. */
  subscribe(spaceId: Id, password?: string): Promise<void> {
    let sub = this.subscriptions.get(spaceId);
    if (!sub) {
      sub = { password, active: false, resumed: false, waiters: [] };
      this.subscriptions.set(spaceId, sub);
    } else if (password !== undefined) {
      sub.password = password;
    }
    if (sub.active) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => sub.waiters.push({ resolve, reject }));
    if (this.socket.connected) this.emitSubscribe(spaceId);
    return done;
  }

  unsubscribe(spaceId: Id): void {
    const sub = this.subscriptions.get(spaceId);
    this.subscriptions.delete(spaceId);
    this.rosters.delete(spaceId);
    if (sub?.active && this.socket.connected) {
      this.socket.emit('UNSUBSCRIBE_CHANNEL', { channel: { _id: spaceId, type: 'topic' } });
    }
  }

  isSubscribed(spaceId: Id): boolean {
    return this.subscriptions.get(spaceId)?.active ?? false;
  }

  private emitSubscribe(spaceId: Id): void {
    const sub = this.subscriptions.get(spaceId);
    if (!sub) return;
    const channel: Record<string, unknown> = { _id: spaceId, type: 'topic' };
    if (sub.password) channel.password = sub.password;
    const payload: Record<string, unknown> = { channel, version: '1.1' };
    const last = this.ledger.newestIn(spaceId);
    if (last) payload.lastMessageId = last;
    this.socket.emit('SUBSCRIBE_CHANNEL', payload);
  }

  /**
   * Sends a message over the socket; resolves with the stored message (the server's
   * own copy, matched by `loopbackMetadata`) or rejects with the server's refusal.
   * While offline the message waits and goes out once the space is subscribed again.
   */
  send(spaceId: Id, content: MessageContent, options: { category?: 'chat' | 'idea' | 'task'; parentMsg?: Id } = {}): Promise<Message> {
    const id = clientId();
    const payload: Record<string, unknown> = {
      category: options.category ?? 'chat',
      topicId: spaceId,
      content,
      version: '1.1',
      created: new Date().toISOString(),
      loopbackMetadata: { clientId: id },
      ...(options.parentMsg ? { parentMsg: { _id: options.parentMsg } } : {}),
    };
    return new Promise<Message>((resolve, reject) => {
      const entry: PendingSend = { spaceId, payload, resolve, reject, emitted: false };
      this.pending.set(id, entry);
      if (this.socket.connected && this.isSubscribed(spaceId)) this.emitSend(id, entry);
    });
  }

  private emitSend(id: string, entry: PendingSend): void {
    entry.emitted = true;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      if (!this.socket.connected) {
        // It will be sent again after reconnecting; the ledger drops a repeat.
        entry.emitted = false;
        return;
      }
      this.pending.delete(id);
      entry.reject(new PlazaApiError(0, { code: 'socket.timeout', message: 'the server did not confirm the message in time' }));
    }, this.options.sendTimeoutMs ?? 15_000);
    this.socket.emit('SEND_MESSAGE', entry.payload);
  }

  /** Relays a presence event to the space (or only to `receivers`). */
  sendPresence(spaceId: Id, category: string, content: Record<string, unknown> = {}, receivers: Sender[] = []): void {
    if (!this.socket.connected || !this.isSubscribed(spaceId)) return;
    this.socket.emit('SEND_PRESENCE_EVENT', {
      category,
      topicId: spaceId,
      content,
      receivers: receivers.map((r) => ({ _id: r._id, type: r.type })),
      version: '1.1',
    });
  }

  /** Tells the space the caller is typing. */
  typing(spaceId: Id): void {
    this.sendPresence(spaceId, TYPING, { subscribeTime: new Date().toISOString(), mediaSession: {} });
  }

  /** Sends a media-session event (`tracksstatus`, `video.end`, ...). */
  sendMediaEvent(spaceId: Id, category: string, content: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): void {
    this.socket.emit('SEND_MEDIA_SESSION_EVENTS', { category, topicId: spaceId, content, data: [], version: '1.1', ...extra });
  }

  /** Who else is online in a subscribed space. */
  online(spaceId: Id): Sender[] {
    return this.rosters.get(spaceId)?.online() ?? [];
  }

  /** Reports a message obtained some other way (e.g. REST history) so it is not repeated. */
  remember(messages: Message[]): void {
    for (const m of messages) this.ledger.observe(m);
  }

  close(): void {
    this.closed = true;
    this.unwatch?.();
    for (const [id, entry] of this.pending) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(new PlazaApiError(0, { code: 'socket.closed', message: 'the connection was closed' }));
      this.pending.delete(id);
    }
    this.socket.disconnect();
    this.setStatus('offline');
  }

  // ---- socket events -------------------------------------------------------------

  private onConnect(): void {
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.setStatus('online');
    for (const [spaceId, sub] of this.subscriptions) {
      sub.active = false;
      sub.resumed = reconnect;
      this.emitSubscribe(spaceId);
    }
    if (reconnect) void this.syncChanges();
  }

  private onDisconnect(): void {
    this.disconnectedAt ??= Date.now();
    for (const sub of this.subscriptions.values()) sub.active = false;
    for (const roster of this.rosters.values()) roster.clear();
    if (!this.closed) this.setStatus('offline');
  }

  private onConnectError(error: Error & { data?: unknown }): void {
    const data = error.data as { code?: unknown; message?: unknown } | undefined;
    if (data && typeof data.code === 'string') {
      this.emitEvent('error', new PlazaApiError(401, { code: data.code, message: String(data.message ?? error.message) }));
    }
    if (!this.closed) this.setStatus('offline');
  }

  private onSubscribed(spaceId: Id): void {
    const sub = this.subscriptions.get(spaceId);
    if (!sub) return;
    const firstTime = !sub.active;
    sub.active = true;
    if (!this.rosters.has(spaceId)) this.rosters.set(spaceId, new Roster(this.options.selfId ?? ''));
    for (const waiter of sub.waiters.splice(0)) waiter.resolve();
    if (firstTime) {
      this.emitEvent('subscribed', spaceId);
      this.sendPresence(spaceId, ONLINE, { desktop: true });
      // Nothing seen yet, so no lastMessageId to resume from: read the history.
      if (sub.resumed && !this.ledger.newestIn(spaceId)) void this.catchUpFromHistory(spaceId);
      sub.resumed = false;
    }
    for (const [id, entry] of this.pending) {
      if (entry.spaceId === spaceId && !entry.emitted) this.emitSend(id, entry);
    }
  }

  private onSubscribeFailed(spaceId: Id, payload: unknown): void {
    const sub = this.subscriptions.get(spaceId);
    const error = errorFromSocket(payload, 'the subscription was refused');
    if (sub) {
      this.subscriptions.delete(spaceId);
      for (const waiter of sub.waiters.splice(0)) waiter.reject(error);
    }
    for (const [id, entry] of this.pending) {
      if (entry.spaceId === spaceId) {
        this.pending.delete(id);
        entry.reject(error);
      }
    }
    this.emitEvent('error', error);
  }

  private onUnsubscribed(spaceId: Id): void {
    const sub = this.subscriptions.get(spaceId);
    // Our own UNSUBSCRIBE_CHANNEL removed it already; otherwise the server did.
    if (!sub) return;
    this.subscriptions.delete(spaceId);
    this.rosters.delete(spaceId);
    this.emitEvent('unsubscribed', spaceId, true);
  }

  private onMessage(message: Message, replay = false): void {
    if (!message || typeof message !== 'object') return;
    if (message.category === 'topic.updated') {
      this.emitEvent('spaceUpdated', message);
      return;
    }
    const loop = message.loopbackMetadata as { clientId?: string } | undefined;
    if (loop?.clientId) {
      const entry = this.pending.get(loop.clientId);
      if (entry) {
        this.pending.delete(loop.clientId);
        if (entry.timer) clearTimeout(entry.timer);
        entry.resolve(message);
      }
    }
    if (typeof message._id !== 'string') return;
    const kind = this.ledger.observe(message);
    if (kind === 'duplicate') return;
    this.emitEvent('message', message, { kind, replay });
  }

  private onSendFailed(payload: Record<string, unknown>): void {
    const loop = payload.loopbackMetadata as { clientId?: string } | undefined;
    const error = errorFromSocket(payload, 'the message was refused');
    const entry = loop?.clientId ? this.pending.get(loop.clientId) : undefined;
    if (entry && loop?.clientId) {
      this.pending.delete(loop.clientId);
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(error);
      return;
    }
    this.emitEvent('error', error);
  }

  private onPresence(event: PresenceEvent): void {
    this.emitEvent('presence', event);
    const spaceId = event.topicId;
    const roster = this.rosters.get(spaceId);
    if (!roster) return;
    const change = roster.apply(event);
    if (change.replyTo) this.sendPresence(spaceId, ONLINE, { desktop: true }, [change.replyTo]);
    if (change.reannounce) this.sendPresence(spaceId, ONLINE, { desktop: true });
    if (change.typing) this.emitEvent('typing', spaceId, change.typing);
    if (change.changed || event.category === LEAVES) this.emitEvent('roster', spaceId, roster.online());
  }

  // ---- catch-up -----------------------------------------------------------------

  /** For a space with no message seen yet: the newest history page, oldest first. */
  private async catchUpFromHistory(spaceId: Id): Promise<void> {
    const rest = this.options.rest;
    if (!rest) return;
    try {
      const page = await rest.history(spaceId, { size: 50 }).next();
      for (const message of page.reverse()) this.onMessage(message, true);
    } catch (error) {
      if (error instanceof PlazaApiError) this.emitEvent('error', error);
    }
  }

  /** Edits and deletes made while away (creations come with `lastMessageId`). */
  private async syncChanges(): Promise<void> {
    const rest = this.options.rest;
    const since = this.disconnectedAt;
    this.disconnectedAt = null;
    if (!rest || since === null) return;
    const spaces = [...this.subscriptions.keys()];
    for (let i = 0; i < spaces.length; i += 15) {
      const pager = rest.changes(spaces.slice(i, i + 15), since - 5_000);
      try {
        for (let pages = 0; pages < 5 && !pager.done; pages++) {
          for (const message of await pager.next()) this.onMessage(message, true);
        }
      } catch (error) {
        if (error instanceof PlazaApiError) this.emitEvent('error', error);
      }
    }
  }
}
