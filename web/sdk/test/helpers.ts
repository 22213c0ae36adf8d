/** A fetch that answers from a script and records every request. */
export interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Answer = { status?: number; body?: unknown; text?: string; headers?: Record<string, string> };

export function fakeFetch(answer: (req: Recorded) => Answer | Promise<Answer>) {
  const calls: Recorded[] = [];
  const impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init?.headers as Record<string, string>) ?? {})) headers[k.toLowerCase()] = v;
    const raw = init?.body;
    const req: Recorded = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers,
      body: typeof raw === 'string' ? JSON.parse(raw) : raw,
    };
    calls.push(req);
    const a = await answer(req);
    const text = a.text ?? (a.body === undefined ? '' : JSON.stringify(a.body));
    return new Response(text === '' ? null : text, { status: a.status ?? 200, headers: a.headers ?? {} });
  }) as typeof fetch;
  return { calls, fetch: impl };
}

/** A socket double: records what the client emits and lets a test play the server. */
export class FakeSocket {
  connected = false;
  readonly emitted: { event: string; payload: any }[] = [];
  private readonly handlers = new Map<string, ((...args: any[]) => void)[]>();
  connectCalls = 0;
  disconnectCalls = 0;

  on(event: string, listener: (...args: any[]) => void): this {
    const list = this.handlers.get(event) ?? [];
    list.push(listener);
    this.handlers.set(event, list);
    return this;
  }

  emit(event: string, payload?: unknown): this {
    this.emitted.push({ event, payload });
    return this;
  }

  connect(): this {
    this.connectCalls += 1;
    return this;
  }

  disconnect(): this {
    this.disconnectCalls += 1;
    if (this.connected) this.serverDrops();
    return this;
  }

  /** The server side: deliver an event to the client. */
  deliver(event: string, payload?: unknown): void {
    for (const listener of this.handlers.get(event) ?? []) listener(payload);
  }

  serverAccepts(): void {
    this.connected = true;
    this.deliver('connect');
  }

  serverDrops(): void {
    this.connected = false;
    this.deliver('disconnect', 'transport close');
  }

  sent(event: string): any[] {
    return this.emitted.filter((e) => e.event === event).map((e) => e.payload);
  }
}

let counter = 0x100;
/** A time-ordered 24-hex id, like the server's. */
export function nextId(): string {
  counter += 1;
  return (Math.floor(Date.now() / 1000).toString(16) + counter.toString(16).padStart(16, '0')).slice(0, 24);
}

export function message(spaceId: string, text: string, extra: Record<string, unknown> = {}) {
  const now = new Date().toISOString();
  return {
    _id: nextId(),
    category: 'chat',
    topicId: spaceId,
    sender: { _id: 'u1', type: 'user' as const, displayname: 'Ann' },
    content: { bodyText: text },
    created: now,
    modified: now,
    ...extra,
  };
}

export const tick = () => new Promise((r) => setTimeout(r, 0));
