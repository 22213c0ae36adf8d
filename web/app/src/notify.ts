import { notificationReason, notificationText, unreadTitle, type Id, type Message, type PlazaRealtime, type Space } from '@plaza/web-sdk';

import { go } from './router.js';
import { session } from './session.js';

/**
 * Desktop notifications, the notification sound and the unread count in the tab
 * title. It learns each space's type, mute choice and unread count from the views
 * that load them, and watches the realtime messages itself. Permission is asked only
 * when the person clicks "Enable desktop notifications".
 */

const DESKTOP_KEY = 'plaza.notify.desktop';
const SOUND_KEY = 'plaza.notify.sound';
const OFFER_KEY = 'plaza.notify.offer';
const BASE_TITLE = 'Plaza';

interface Known {
  type?: string | undefined;
  title?: string | undefined;
  notification?: boolean | null | undefined;
  unread: number;
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* private mode: the choice lasts for this page */
  }
}

export function hidden(): boolean {
  return document.visibilityState !== 'visible';
}

class Notifier {
  private readonly spaces = new Map<Id, Known>();
  private readonly listeners = new Set<() => void>();
  private realtime: PlazaRealtime | null = null;
  private userId: Id | null = null;
  private unbind: (() => void) | null = null;
  private audio: AudioContext | null = null;
  private desktopChoice = read(DESKTOP_KEY) === 'on';

  start(): void {
    session.subscribe(() => this.bind());
    document.addEventListener('visibilitychange', () => this.updateTitle());
    this.bind();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** Follows the session: a new sign-in forgets the previous person's spaces. */
  private bind(): void {
    const userId = session.user?._id ?? null;
    if (userId !== this.userId) {
      this.userId = userId;
      this.spaces.clear();
      this.updateTitle();
    }
    if (session.realtime === this.realtime) return;
    this.unbind?.();
    this.unbind = null;
    this.realtime = session.realtime;
    const rt = this.realtime;
    if (!rt) return;
    const offMessage = rt.on('message', (m, info) => info.kind === 'new' && !info.replay && this.onMessage(m));
    // Removed from a space: its unread messages no longer count.
    const offRemoved = rt.on('unsubscribed', (id, removed) => removed && this.spaces.delete(id) && this.updateTitle());
    this.unbind = () => {
      offMessage();
      offRemoved();
    };
  }

  // ---- what the views know ---------------------------------------------------------

  /** Space objects fresh from the server: their type, title and mute choice. */
  learn(spaces: Space[]): void {
    for (const s of spaces) {
      const known = this.spaces.get(s._id) ?? { unread: s.unreadMessagesCount ?? 0 };
      const notification = 'notification' in s ? s.notification : known.notification;
      this.spaces.set(s._id, { ...known, type: s.type ?? known.type, title: s.title ?? known.title, notification });
    }
    this.updateTitle();
  }

  /** Unread counts as the space list shows them. */
  setUnread(counts: Record<Id, number>): void {
    for (const [id, unread] of Object.entries(counts)) {
      const known = this.spaces.get(id);
      this.spaces.set(id, { ...(known ?? {}), unread });
    }
    this.updateTitle();
  }

  private updateTitle(): void {
    let total = 0;
    for (const s of this.spaces.values()) if (s.notification !== false) total += s.unread;
    const title = this.userId ? unreadTitle(total, BASE_TITLE) : BASE_TITLE;
    if (document.title !== title) document.title = title;
  }

  // ---- choices ---------------------------------------------------------------------

  get supported(): boolean {
    return typeof window.Notification === 'function';
  }

  get permission(): NotificationPermission | 'unsupported' {
    return this.supported ? Notification.permission : 'unsupported';
  }

  /** On when the person turned them on here and the browser allows them. */
  get desktop(): boolean {
    return this.desktopChoice && this.permission === 'granted';
  }

  /** Whether to offer the banner: not yet on, not refused, not dismissed. */
  get offer(): boolean {
    return this.supported && !this.desktop && this.permission !== 'denied' && read(OFFER_KEY) !== 'dismissed';
  }

  /** Asks the browser (from a click) and remembers the choice. */
  async enable(): Promise<NotificationPermission | 'unsupported'> {
    if (!this.supported) return 'unsupported';
    const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
    this.desktopChoice = permission === 'granted';
    write(DESKTOP_KEY, this.desktopChoice ? 'on' : null);
    this.changed();
    return permission;
  }

  disable(): void {
    this.desktopChoice = false;
    write(DESKTOP_KEY, null);
    this.changed();
  }

  dismissOffer(): void {
    write(OFFER_KEY, 'dismissed');
    this.changed();
  }

  get sound(): boolean {
    return read(SOUND_KEY) !== 'off';
  }

  set sound(on: boolean) {
    write(SOUND_KEY, on ? null : 'off');
    this.changed();
  }

  // ---- a message arrives -----------------------------------------------------------

  private onMessage(m: Message): void {
    const me = session.user;
    if (!me || !hidden()) return;
    const known = this.spaces.get(m.topicId);
    if (!notificationReason(m, me._id, known ?? {})) return;
    if (this.sound) this.beep();
    if (!this.desktop) return;
    const sender = m.sender?.displayname || m.sender?.username || 'Someone';
    const direct = m.topicType === 'direct' || known?.type === 'direct';
    const title = direct ? `Direct message from ${sender}` : m.topicTitle || known?.title || BASE_TITLE;
    const text = notificationText(m.content?.bodyText) || (m.content?.data?.length ? 'sent a file' : '');
    try {
      const shown = new Notification(title, { body: `${sender}: ${text}`, tag: `plaza-${m.topicId}` });
      shown.onclick = () => {
        window.focus();
        go(`/spaces/${m.topicId}`);
        shown.close();
      };
    } catch {
      /* some browsers only notify from a service worker */
    }
  }

  // ---- a call rings -----------------------------------------------------------------

  /**
   * An incoming 1:1 call: the chime every few seconds (when sounds are on) and, in a
   * background tab with desktop notifications on, a notification that opens the space.
   * Returns what stops it.
   */
  ring(title: string, spaceId: Id): () => void {
    const chime = () => this.sound && this.beep();
    chime();
    const timer = setInterval(chime, 2_500);
    let shown: Notification | null = null;
    if (this.desktop && hidden()) {
      try {
        shown = new Notification(title, { body: 'Incoming call', tag: `plaza-call-${spaceId}`, requireInteraction: true });
        shown.onclick = () => {
          window.focus();
          shown?.close();
        };
      } catch {
        /* some browsers only notify from a service worker */
      }
    }
    return () => {
      clearInterval(timer);
      shown?.close();
    };
  }

  /** A short two-note chime made with WebAudio: no sound file to load. */
  private beep(): void {
    try {
      this.audio ??= new AudioContext();
      const ctx = this.audio;
      void ctx.resume().catch(() => undefined);
      const t = ctx.currentTime;
      const gain = ctx.createGain();
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
      gain.connect(ctx.destination);
      const osc = ctx.createOscillator();
      osc.type = 'sine';
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(1320, t + 0.12);
      osc.connect(gain);
      osc.start(t);
      osc.stop(t + 0.36);
    } catch {
      /* no audio here */
    }
  }
}

export const notifier = new Notifier();
