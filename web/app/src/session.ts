import { PlazaApiError, PlazaClient, PlazaRealtime, type ConnectionStatus, type User } from '@plaza/web-sdk';

/** The signed-in person, kept in localStorage so a reload stays signed in. */
export interface Saved {
  token: string;
  user: User;
}

const KEY = 'plaza.session';

type Listener = () => void;

/**
 * The app's one connection to Plaza: a REST client, and once signed in, a realtime
 * client. Components read it through `useSession()` and re-render when it changes.
 */
class Session {
  readonly client: PlazaClient;
  user: User | null = null;
  realtime: PlazaRealtime | null = null;
  status: ConnectionStatus = 'connecting';
  /** Set when a token stopped working: the sign-in page says why. */
  notice: string | null = null;
  private readonly listeners = new Set<Listener>();

  constructor() {
    this.client = new PlazaClient({
      baseUrl: '',
      onError: (error) => {
        if (error.code === 'auth.invalid_token' && this.user) {
          this.notice = 'Your session ended. Please sign in again.';
          this.forget();
        }
      },
    });
    const saved = readSaved();
    if (saved) this.start(saved.token, saved.user);
  }

  get guest(): boolean {
    return this.user?.type === 'anonymous';
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    for (const l of this.listeners) l();
  }

  /** Starts a signed-in session with a token. */
  start(token: string, user: User): void {
    this.client.token = token;
    this.client.tokenType = 'jwt';
    this.user = user;
    this.notice = null;
    try {
      localStorage.setItem(KEY, JSON.stringify({ token, user } satisfies Saved));
    } catch {
      /* private mode: stay signed in for this tab only */
    }
    this.realtime?.close();
    const realtime = new PlazaRealtime({ baseUrl: '', token, selfId: user._id, rest: this.client, watchOnline: true });
    realtime.on('status', (status) => {
      this.status = status;
      this.changed();
    });
    realtime.on('error', (error) => {
      if (error.code === 'auth.invalid_token' || error.code === 'auth.required' || error.code === 'auth.account_disabled') {
        this.notice = 'Your session ended. Please sign in again.';
        this.forget();
      }
    });
    this.realtime = realtime;
    this.status = 'connecting';
    this.changed();
  }

  async login(username: string, password: string): Promise<void> {
    const issued = await this.client.login(username, password);
    this.start(issued.token, issued.user);
  }

  async register(username: string, password: string, displayname: string): Promise<void> {
    const issued = await this.client.register(username, password, displayname);
    this.start(issued.token, issued.user);
  }

  async guestLogin(displayname: string): Promise<void> {
    const token = await this.client.guest(displayname);
    const user = await this.client.me();
    this.start(token, user);
  }

  async logout(): Promise<void> {
    try {
      await this.client.logout();
    } catch (error) {
      if (!(error instanceof PlazaApiError)) throw error;
    } finally {
      this.forget();
    }
  }

  private forget(): void {
    this.realtime?.close();
    this.realtime = null;
    this.user = null;
    this.client.token = null;
    try {
      localStorage.removeItem(KEY);
    } catch {
      /* nothing kept */
    }
    this.changed();
  }
}

function readSaved(): Saved | null {
  try {
    const raw = localStorage.getItem(KEY);
    const saved = raw ? (JSON.parse(raw) as Saved) : null;
    return saved && typeof saved.token === 'string' && saved.user ? saved : null;
  } catch {
    return null;
  }
}

export const session = new Session();
