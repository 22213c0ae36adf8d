// A meeting's media: one RTCPeerConnection to Plaza's SFU, signalled over the realtime
// socket (`MEDIA_JOIN`, `MEDIA_OFFER`/`MEDIA_ANSWER` both ways, `MEDIA_CANDIDATE`,
// `MEDIA_LEAVE`; the server's `MEDIA_PARTICIPANTS`, `MEDIA_ACTIVE_SPEAKER`,
// `MEDIA_FORWARDING`, `MEDIA_SESSION_ENDED`). See docs/decisions.md, "Media signalling".
// A session whose media host went away (`MEDIA_SESSION_ENDED` with reason `moved`) joins
// again by itself, keeping its tracks: see `MediaSession`.
import { PlazaApiError } from './errors.js';
import type { PlazaRealtime } from './realtime.js';
import type { PlazaClient } from './rest.js';
import { parseSdpMedia, sends } from './sdp.js';
import type { Id } from './types.js';

/** One person in the media room, as `MEDIA_JOINED` and `MEDIA_PARTICIPANTS` list them. */
export interface MediaParticipant {
  sessionId: string;
  userId: Id;
  displayname?: string;
  audio?: boolean;
  video?: boolean;
  screenshare?: boolean;
  /** The stream id (msid) of their tracks in the server's offers (the session id). */
  streamId?: string;
  [key: string]: unknown;
}

/** A track the SFU forwards to us: `sessionId` is its publisher's media session. */
export interface RemoteTrack {
  mid: string;
  kind: 'audio' | 'video';
  sessionId: string;
  trackId: string | null;
  track: MediaStreamTrackLike;
  receiver: ReceiverLike;
}

export interface ForwardingChange {
  sessionId: string;
  userId: Id;
  kind: 'audio' | 'video';
  forwarding: boolean;
}

/**
 * `connecting` until ICE and DTLS are up; `failed` when the media port cannot be reached;
 * `reconnecting` while the session joins again because its media host went away
 * (`MEDIA_SESSION_ENDED` with reason `moved`), until the new connection is `connected`
 * (or the session ends: `ended` with reason `moved` when joining again failed).
 */
export type MediaConnection = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

export interface MediaSessionEvents {
  /** The people in the media room (after a rejoin: the new room's, with new session ids). */
  participants: (participants: MediaParticipant[]) => void;
  /** The remote tracks changed: all of them, each time (emptied when a rejoin starts). */
  tracks: (tracks: RemoteTrack[]) => void;
  trackAdded: (track: RemoteTrack) => void;
  trackRemoved: (track: RemoteTrack) => void;
  activeSpeaker: (sessionId: string, userId: Id) => void;
  forwarding: (change: ForwardingChange) => void;
  /** The connection's state; `reconnecting` then `connected` around a transparent rejoin. */
  connection: (state: MediaConnection) => void;
  /**
   * The session joined again after its media host went away: same tracks, a new
   * connection and a new `sessionId` (`previous` is the old one, which the server forgot).
   */
  rejoined: (sessionId: string, previous: string) => void;
  /**
   * The server ended the session (`left`, `disconnected`, `failed`), or joining again
   * after a `moved` failed every time (`moved`). Not emitted for a rejoin that works.
   */
  ended: (reason: string) => void;
  error: (error: PlazaApiError) => void;
}

// ---- the parts of the browser's WebRTC objects this client uses (tests pass fakes) ----

export interface MediaStreamTrackLike {
  readonly id: string;
  readonly kind: string;
  enabled: boolean;
  stop(): void;
}

export interface ReceiverLike {
  readonly track: MediaStreamTrackLike;
  getStats(): Promise<Map<string, any> | { forEach(cb: (value: any) => void): void }>;
}

export interface SenderLike {
  readonly track: MediaStreamTrackLike | null;
  replaceTrack(track: MediaStreamTrackLike | null): Promise<void>;
}

export interface TransceiverLike {
  readonly mid: string | null;
  direction: string;
  readonly sender: SenderLike;
  readonly receiver: ReceiverLike;
}

export interface SessionDescriptionLike {
  type: 'offer' | 'answer' | 'rollback' | 'pranswer';
  sdp?: string;
}

export interface PeerConnectionLike {
  readonly signalingState: string;
  readonly connectionState: string;
  readonly remoteDescription: SessionDescriptionLike | null;
  createOffer(): Promise<SessionDescriptionLike>;
  createAnswer(): Promise<SessionDescriptionLike>;
  setLocalDescription(description: SessionDescriptionLike): Promise<void>;
  setRemoteDescription(description: SessionDescriptionLike): Promise<void>;
  addTransceiver(trackOrKind: MediaStreamTrackLike | string, init: TransceiverInit): TransceiverLike;
  getTransceivers(): TransceiverLike[];
  addEventListener(type: string, listener: (event: any) => void): void;
  getStats(): Promise<unknown>;
  close(): void;
}

/** SDPs longer than this go compressed: a socket packet is at most 100 kB, and a large room's answer is more. */
export const DEFLATE_SDP_OVER = 48 * 1024;

/**
 * The SDP field of `MEDIA_OFFER`/`MEDIA_ANSWER`: `sdp` as it is, or, when long and the
 * platform can compress, `sdpDeflate` (raw DEFLATE in base64; the server inflates it).
 */
export async function sdpField(sdp: string): Promise<{ sdp: string } | { sdpDeflate: string }> {
  if (sdp.length <= DEFLATE_SDP_OVER || typeof CompressionStream === 'undefined') return { sdp };
  const stream = new Blob([sdp]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { sdpDeflate: btoa(binary) };
}

/** One simulcast layer of the camera, as `RTCRtpEncodingParameters`. */
export interface SendEncoding {
  rid: string;
  scaleResolutionDownBy: number;
  maxBitrate: number;
}

export interface TransceiverInit {
  direction: string;
  sendEncodings?: SendEncoding[];
}

/** The quality wanted of someone's camera: the size of its tile (`MEDIA_QUALITY`). */
export type VideoQuality = 'low' | 'medium' | 'high';

/**
 * The camera's simulcast layers, smallest first: a quarter, half and full size. The server
 * gives each viewer one of them (by its tile size and bandwidth), so a thumbnail never
 * costs a full-size picture and one slow viewer never lowers what the others see. The
 * largest layer's bitrate stays under the server's cap (`maxVideoKbps`).
 */
export function cameraLayers(maxVideoKbps: number): SendEncoding[] {
  const cap = maxVideoKbps > 0 ? maxVideoKbps * 1000 : Infinity;
  return [
    { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: Math.min(150_000, cap) },
    { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: Math.min(500_000, cap) },
    { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: Math.min(1_500_000, cap) },
  ];
}

export type PeerConnectionFactory = (config: { iceServers: unknown[]; bundlePolicy: 'max-bundle' }) => PeerConnectionLike;

export interface MediaSessionOptions {
  rest: PlazaClient;
  realtime: PlazaRealtime;
  spaceId: Id;
  /** Defaults to the browser's `RTCPeerConnection`. */
  peerConnection?: PeerConnectionFactory;
  /** How long `MEDIA_JOIN` may wait for its answer, in ms (default 15 s). */
  joinTimeoutMs?: number;
  /** How long ICE and DTLS may take before the media port counts as unreachable (default 20 s). */
  connectTimeoutMs?: number;
  /** Send the camera as three simulcast layers (default true). */
  simulcast?: boolean;
  /** Tries at joining again when the media host went away (`moved`) before giving up (default 4). */
  rejoinAttempts?: number;
  /** The wait before the second try at joining again, doubled before each later one, in ms (default 500; the first try is at once). */
  rejoinBackoffMs?: number;
  /** How long each try's `MEDIA_JOIN` may wait for its answer, in ms (default 8 s). */
  rejoinTimeoutMs?: number;
}

interface Joined {
  sessionId: string;
  iceServers?: unknown[];
  participants?: MediaParticipant[];
  rosterVersion?: number;
  maxVideoKbps?: number;
}

/** Refusals that joining again cannot cure: the person may no longer use the space's media. */
const FINAL_REFUSALS = new Set(['permission.denied', 'topic.archived', 'media.disabled']);

function worthRetrying(error: unknown): boolean {
  if (!(error instanceof PlazaApiError)) return true;
  if (FINAL_REFUSALS.has(error.code)) return false;
  return error.status !== 401 && error.status !== 403 && error.status !== 404;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a person publishes: each slot is one sending m-line, kept for the session. */
export type Slot = 'microphone' | 'camera' | 'screen';

/** Per remote track, the inbound-rtp figures (for tests and a connection-quality view). */
export interface InboundStats {
  sessionId: string;
  kind: 'audio' | 'video';
  mid: string;
  bytesReceived: number;
  packetsReceived: number;
  framesDecoded: number;
  totalAudioEnergy: number;
}

/** Whether a server offer was made after the server's answer: it agrees with it on every m-line. */
export function madeAfter(offer: string, answer: string): boolean {
  const offered = parseSdpMedia(offer);
  return parseSdpMedia(answer).every((a) => {
    const o = offered.find((m) => m.mid === a.mid);
    return o !== undefined && o.kind === a.kind && o.direction === a.direction && o.stopped === a.stopped;
  });
}

const UNREACHABLE = 'the media port is unreachable: the media connection could not be established';

/**
 * One person's media in one space's meeting. `join()` gets a media token, sends
 * `MEDIA_JOIN`, opens one `RTCPeerConnection` (the server's ICE servers, max-bundle),
 * publishes the given microphone/camera tracks and answers the server's offers of the
 * others' tracks. Offers go one at a time each way; when the client's offer crosses the
 * server's, the client's wins: the server's crossing offer is dropped (the server makes it
 * again after answering).
 *
 * When the node hosting the space's media goes away, the server ends the session with
 * reason `moved`. The session then joins again by itself, as the same object: the old
 * connection is closed and its remote tracks removed (`connection` is `reconnecting`),
 * then a new token, `MEDIA_JOIN` and a new connection publish the same local tracks
 * (microphone, camera, screen share, their `enabled` state) and ask again for the
 * qualities chosen with `setQuality` (by the publisher's user, whose session id changes
 * too). `sessionId` is the new session's from then on (`rejoined`); late events of the old
 * one are ignored. A refused or unanswered join is tried again a few times with a short
 * backoff; then the session ends (`ended` with reason `moved`).
 */
export class MediaSession {
  sessionId = '';
  participants: MediaParticipant[] = [];
  /** The number of the list in `participants`: a join's answer and the space's rosters
   * come by different ways between nodes, so an older list may arrive after a newer. */
  private rosterVersion = -1;
  tracks: RemoteTrack[] = [];
  iceServers: unknown[] = [];
  connection: MediaConnection = 'connecting';
  /** The server's cap on one video we send, in kbit/s (0: none). */
  maxVideoKbps = 0;
  private readonly qualities = new Map<string, VideoQuality>();
  private pcValue: PeerConnectionLike | null = null;
  private readonly options: MediaSessionOptions;
  private readonly listeners = new Map<keyof MediaSessionEvents, Set<(...args: any[]) => void>>();
  private readonly slots = new Map<Slot, TransceiverLike>();
  private readonly local = new Map<Slot, MediaStreamTrackLike>();
  private readonly unsubscribe: () => void;
  /** Operations on the peer connection, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  /** Our offer is out and its answer not yet in. */
  private offering = false;
  /** Something changed while our offer was out: offer again after its answer. */
  private again = false;
  private closed = false;
  /** Joining again after a `moved`: no connection, and the old session's events are not ours. */
  private rejoining = false;
  /** Qualities chosen before a rejoin, by the publisher's user, to ask again of their new session. */
  private readonly carriedQualities = new Map<Id, VideoQuality>();
  /** Settles when the current connection is closed or replaced: its pending steps are dropped. */
  private retired: Promise<void> = Promise.resolve();
  private retire: () => void = () => undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private joinWaiter: { resolve: (p: any) => void; reject: (e: PlazaApiError) => void } | undefined;

  constructor(options: MediaSessionOptions) {
    this.options = options;
    this.unsubscribe = options.realtime.on('signal', (event, payload) => this.onSignal(event, payload));
  }

  /** The current peer connection (for `getStats()` in tests and diagnostics): a rejoin replaces it, and it is null meanwhile. */
  get pc(): PeerConnectionLike | null {
    return this.pcValue;
  }

  on<K extends keyof MediaSessionEvents>(event: K, listener: MediaSessionEvents[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (...args: any[]) => void);
    return () => set.delete(listener as (...args: any[]) => void);
  }

  private emit<K extends keyof MediaSessionEvents>(event: K, ...args: Parameters<MediaSessionEvents[K]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(...args);
      } catch (error) {
        console.error(`plaza: a media ${String(event)} listener threw`, error);
      }
    }
  }

  private fail(code: string, message: string, payload?: unknown): void {
    this.emit('error', new PlazaApiError(0, { code, message }, undefined, payload));
  }

  /** Joins the space's media room, publishing the tracks given (either may be absent). */
  async join(tracks: { microphone?: MediaStreamTrackLike | null; camera?: MediaStreamTrackLike | null } = {}): Promise<void> {
    const joined = await this.enter(this.options.joinTimeoutMs ?? 15_000);
    if (this.closed) return;
    this.open(joined, tracks);
    await this.chain;
  }

  /** A list of participants, unless a newer one came first. */
  private takeRoster(participants: MediaParticipant[], version: unknown): void {
    if (typeof version === 'number') {
      if (version < this.rosterVersion) return;
      this.rosterVersion = version;
    }
    this.participants = participants;
    this.emit('participants', this.participants);
  }

  /** A media token, then `MEDIA_JOIN` and its answer. */
  private async enter(timeoutMs: number): Promise<Joined> {
    const { rest, realtime, spaceId } = this.options;
    // A room's new host numbers its rosters afresh (above the old one's, by its clock).
    this.rosterVersion = -1;
    const token = await rest.mediaToken(spaceId);
    if (this.closed) throw new PlazaApiError(0, { code: 'media.not_joined', message: 'the media session was left' });
    return new Promise<Joined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.joinWaiter = undefined;
        reject(new PlazaApiError(0, { code: 'media.timeout', message: 'the server did not answer the media join' }));
      }, timeoutMs);
      this.joinWaiter = {
        resolve: (p) => {
          clearTimeout(timer);
          this.joinWaiter = undefined;
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.joinWaiter = undefined;
          reject(e);
        },
      };
      realtime.signal('MEDIA_JOIN', { topicId: spaceId, token: token.token });
    });
  }

  /** The joined session's connection, publishing `tracks` (a slot without one gets an inactive m-line). */
  private open(joined: Joined, tracks: { [slot in Slot]?: MediaStreamTrackLike | null | undefined }): void {
    const { realtime } = this.options;
    this.sessionId = joined.sessionId;
    this.iceServers = joined.iceServers ?? [];
    this.maxVideoKbps = typeof joined.maxVideoKbps === 'number' ? joined.maxVideoKbps : 0;
    this.takeRoster(joined.participants ?? [], joined.rosterVersion);
    const factory: PeerConnectionFactory =
      this.options.peerConnection ?? ((config) => new RTCPeerConnection(config as RTCConfiguration) as unknown as PeerConnectionLike);
    const pc = factory({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    this.pcValue = pc;
    this.retired = new Promise((resolve) => (this.retire = resolve));
    this.forgetNegotiation();
    this.slots.clear();
    // Events of a connection that was closed or replaced are not this session's.
    const current = () => pc === this.pcValue && !this.closed;
    // Trickled as the `candidate:...` line (the server is ICE-lite: this is optional).
    pc.addEventListener('icecandidate', (e: { candidate?: { candidate?: string } | null }) => {
      const candidate = e.candidate?.candidate;
      if (candidate && current()) realtime.signal('MEDIA_CANDIDATE', { sessionId: this.sessionId, candidate });
    });
    pc.addEventListener('connectionstatechange', () => {
      if (current()) this.onConnectionState(pc.connectionState);
    });
    pc.addEventListener('track', () => {
      if (current()) this.refreshTracks();
    });
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (current() && (this.connection === 'connecting' || this.connection === 'reconnecting')) this.setConnection('failed');
    }, this.options.connectTimeoutMs ?? 20_000);
    // The microphone and camera m-lines always exist (inactive when not sending), so
    // turning either on later is a change of direction, not a new m-line.
    this.slot('microphone', tracks.microphone ?? null, 'audio');
    this.slot('camera', tracks.camera ?? null, 'video');
    const screen = tracks.screen;
    if (screen) {
      this.slots.set('screen', pc.addTransceiver(screen, { direction: 'sendonly' }));
      this.local.set('screen', screen);
    }
    this.negotiate();
  }

  /**
   * Our media host went away (`moved`): the old connection closes and its remote tracks
   * end, then the session joins again with the same local tracks, trying a few times.
   */
  private async rejoin(): Promise<void> {
    const previous = this.sessionId;
    this.rejoining = true;
    this.retire();
    const old = this.pcValue;
    this.pcValue = null;
    old?.close();
    clearTimeout(this.connectTimer);
    this.forgetNegotiation();
    this.setConnection('reconnecting');
    this.dropTracks();
    // Everyone's session id changes: the qualities asked are kept by the publisher's user.
    for (const [publisher, quality] of this.qualities) {
      const p = this.participants.find((x) => x.sessionId === publisher || x.streamId === publisher);
      if (p) this.carriedQualities.set(p.userId, quality);
    }
    this.qualities.clear();
    const attempts = Math.max(1, this.options.rejoinAttempts ?? 4);
    let backoff = this.options.rejoinBackoffMs ?? 500;
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        await sleep(backoff);
        backoff *= 2;
      }
      if (this.closed) return;
      try {
        const joined = await this.enter(this.options.rejoinTimeoutMs ?? 8_000);
        if (this.closed) return;
        this.rejoining = false;
        this.open(joined, {
          microphone: this.local.get('microphone'),
          camera: this.local.get('camera'),
          screen: this.local.get('screen'),
        });
        this.emit('rejoined', this.sessionId, previous);
        this.askCarriedQualities();
        return;
      } catch (error) {
        if (this.closed) return;
        last = error;
        if (!worthRetrying(error)) break;
      }
    }
    this.rejoining = false;
    if (last instanceof PlazaApiError) this.emit('error', last);
    this.close();
    this.emit('ended', 'moved');
  }

  /** Asks again, of the others' new sessions, the qualities chosen before a rejoin. */
  private askCarriedQualities(): void {
    if (!this.carriedQualities.size) return;
    for (const p of this.participants) {
      const quality = this.carriedQualities.get(p.userId);
      if (!quality || p.sessionId === this.sessionId || this.qualities.has(p.sessionId)) continue;
      this.carriedQualities.delete(p.userId);
      this.setQuality(p.sessionId, quality);
    }
  }

  private slot(slot: Slot, track: MediaStreamTrackLike | null, kind: 'audio' | 'video'): TransceiverLike {
    const pc = this.pcValue!;
    const direction = track ? 'sendonly' : 'inactive';
    // Layers are fixed when the m-line is made: the camera's gets them even while off.
    const simulcast = slot === 'camera' && this.options.simulcast !== false;
    const init: TransceiverInit = simulcast ? { direction, sendEncodings: cameraLayers(this.maxVideoKbps) } : { direction };
    const t = pc.addTransceiver(track ?? kind, init);
    this.slots.set(slot, t);
    if (track) this.local.set(slot, track);
    return t;
  }

  /** The track published in a slot, if any. */
  localTrack(slot: Slot): MediaStreamTrackLike | null {
    return this.local.get(slot) ?? null;
  }

  /**
   * Publishes `track` in `slot` (a camera turned on, a screen share started), or stops
   * publishing it (`null`: the m-line goes inactive and the old track is stopped).
   * Renegotiates when the m-line's direction changes.
   */
  async publish(slot: Slot, track: MediaStreamTrackLike | null): Promise<void> {
    const pc = this.pcValue;
    if ((!pc && !this.rejoining) || this.closed)
      throw new PlazaApiError(0, { code: 'media.not_joined', message: 'not in the media session' });
    const old = this.local.get(slot);
    if (old && old !== track) old.stop();
    if (track) this.local.set(slot, track);
    else this.local.delete(slot);
    // Joining again: the new connection publishes what is in `local` when it opens.
    if (!pc) return;
    let t = this.slots.get(slot);
    if (!t) {
      if (!track) return;
      t = pc.addTransceiver(track, { direction: 'sendonly' });
      this.slots.set(slot, t);
      this.negotiate();
      return this.chain;
    }
    await t.sender.replaceTrack(track);
    const direction = track ? 'sendonly' : 'inactive';
    if (t.direction !== direction) {
      t.direction = direction;
      this.negotiate();
    }
    return this.chain;
  }

  /**
   * Asks the server for `publisher`'s camera at `quality` (`MEDIA_QUALITY`): `low` for a
   * thumbnail, `medium` for a grid tile, `high` for a large one. Sent only when it changes.
   * Ignored while joining again (`reconnecting`): the choices made before are asked again
   * of the publishers' new sessions.
   */
  setQuality(publisher: string, quality: VideoQuality): void {
    if (this.closed || this.rejoining || !this.sessionId || this.qualities.get(publisher) === quality) return;
    this.qualities.set(publisher, quality);
    this.options.realtime.signal('MEDIA_QUALITY', { sessionId: this.sessionId, publisher, quality });
  }

  /** Mutes or unmutes the microphone without renegotiating (the track sends silence). */
  setMicrophoneEnabled(enabled: boolean): void {
    const track = this.local.get('microphone');
    if (track) track.enabled = enabled;
  }

  /** Leaves the media room: `MEDIA_LEAVE`, the connection closed, our tracks stopped. */
  leave(): void {
    if (this.closed) return;
    // While joining again this names the old session, which the server may have forgotten
    // (a refusal nobody hears); if it still holds our place, it lets it go.
    if (this.sessionId) this.options.realtime.signal('MEDIA_LEAVE', { sessionId: this.sessionId });
    this.close();
  }

  private close(): void {
    this.closed = true;
    this.rejoining = false;
    clearTimeout(this.connectTimer);
    this.unsubscribe();
    for (const track of this.local.values()) track.stop();
    this.local.clear();
    this.retire();
    this.pcValue?.close();
    this.setConnection('closed');
    this.dropTracks();
  }

  /** No offer of ours is out, none is due, and no server offer is held. */
  private forgetNegotiation(): void {
    this.offering = false;
    this.again = false;
    this.heldOffer = null;
  }

  /** The remote tracks end (their connection closed). */
  private dropTracks(): void {
    const gone = this.tracks;
    this.tracks = [];
    for (const t of gone) this.emit('trackRemoved', t);
    if (gone.length) this.emit('tracks', this.tracks);
  }

  /**
   * Runs `step` on the current connection after the steps before it. A step of a connection
   * that is closed or replaced before or while it runs is dropped (its promises may never
   * settle), and its errors are not reported; steps check `pc === this.pcValue` after each wait.
   */
  private run(step: (pc: PeerConnectionLike) => Promise<void>): void {
    const pc = this.pcValue;
    this.chain = this.chain.then(async () => {
      if (!pc || pc !== this.pcValue || this.closed) return;
      try {
        await Promise.race([step(pc), this.retired]);
      } catch (error) {
        if (pc !== this.pcValue || this.closed) return;
        const message = error instanceof Error ? error.message : String(error);
        this.fail('media.negotiation', `media negotiation failed: ${message}`);
      }
    });
  }

  /** Sends our offer now, or after the answer to the one that is out. */
  private negotiate(): void {
    this.run(async (pc) => {
      if (this.offering) {
        this.again = true;
        return;
      }
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (pc !== this.pcValue) return;
      this.offering = true;
      const field = await sdpField(offer.sdp ?? '');
      if (pc !== this.pcValue) return;
      this.options.realtime.signal('MEDIA_OFFER', { sessionId: this.sessionId, ...field });
    });
  }

  /**
   * A server offer that arrives while ours is out is kept (the newest only) until our
   * answer comes. It either crossed ours (made before the server saw our offer: the
   * server dropped it and offers again) or was made after the server answered ours and
   * overtook that answer on the way. Only the second kind agrees with the answer on
   * every m-line of our offer; it is answered, the first kind is dropped.
   */
  private heldOffer: string | null = null;

  private onServerOffer(sdp: string): void {
    this.run(async (pc) => {
      if (this.offering || pc.signalingState === 'have-local-offer') {
        this.heldOffer = sdp;
        return;
      }
      await this.answerOffer(pc, sdp);
    });
  }

  private async answerOffer(pc: PeerConnectionLike, sdp: string): Promise<void> {
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    const field = await sdpField(answer.sdp ?? '');
    if (pc !== this.pcValue) return;
    this.options.realtime.signal('MEDIA_ANSWER', { sessionId: this.sessionId, ...field });
    this.refreshTracks();
  }

  private onServerAnswer(sdp: string): void {
    this.run(async (pc) => {
      if (!this.offering) return;
      await pc.setRemoteDescription({ type: 'answer', sdp });
      if (pc !== this.pcValue) return;
      this.offering = false;
      this.refreshTracks();
      const held = this.heldOffer;
      this.heldOffer = null;
      if (held !== null && madeAfter(held, sdp)) await this.answerOffer(pc, held);
      if (this.again) {
        this.again = false;
        this.negotiate();
      }
    });
  }

  private onOfferRefused(payload: any): void {
    this.run(async (pc) => {
      if (!this.offering) return;
      this.forgetNegotiation();
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
    });
    this.fail(payload?.error?.code ?? 'media.offer_refused', payload?.error?.message ?? 'the server refused the media offer', payload);
  }

  /** Remote tracks from the server's description: its sending m-lines and their msid. */
  private refreshTracks(): void {
    const pc = this.pcValue;
    const sdp = pc?.remoteDescription?.sdp;
    if (!pc || !sdp || this.closed) return;
    const transceivers = pc.getTransceivers();
    const next: RemoteTrack[] = [];
    for (const m of parseSdpMedia(sdp)) {
      if (!sends(m) || !m.streamId || (m.kind !== 'audio' && m.kind !== 'video')) continue;
      const t = transceivers.find((x) => x.mid === m.mid);
      if (!t) continue;
      const known = this.tracks.find((r) => r.mid === m.mid && r.sessionId === m.streamId && r.track === t.receiver.track);
      next.push(
        known ?? { mid: m.mid, kind: m.kind, sessionId: m.streamId, trackId: m.trackId, track: t.receiver.track, receiver: t.receiver },
      );
    }
    const removed = this.tracks.filter((r) => !next.includes(r));
    const added = next.filter((r) => !this.tracks.includes(r));
    if (!removed.length && !added.length) return;
    this.tracks = next;
    for (const r of removed) this.emit('trackRemoved', r);
    for (const r of added) this.emit('trackAdded', r);
    this.emit('tracks', this.tracks);
  }

  /** The remote tracks of one participant. */
  tracksOf(sessionId: string): RemoteTrack[] {
    return this.tracks.filter((t) => t.sessionId === sessionId);
  }

  /** inbound-rtp figures per remote track. */
  async inboundStats(): Promise<InboundStats[]> {
    const out: InboundStats[] = [];
    for (const t of this.tracks) {
      const report = await t.receiver.getStats();
      const row: InboundStats = {
        sessionId: t.sessionId,
        kind: t.kind,
        mid: t.mid,
        bytesReceived: 0,
        packetsReceived: 0,
        framesDecoded: 0,
        totalAudioEnergy: 0,
      };
      report.forEach((s: any) => {
        if (s?.type !== 'inbound-rtp') return;
        row.bytesReceived += Number(s.bytesReceived ?? 0);
        row.packetsReceived += Number(s.packetsReceived ?? 0);
        row.framesDecoded += Number(s.framesDecoded ?? 0);
        row.totalAudioEnergy += Number(s.totalAudioEnergy ?? 0);
      });
      out.push(row);
    }
    return out;
  }

  private setConnection(state: MediaConnection): void {
    if (this.connection === state || (this.connection === 'closed' && state !== 'closed')) return;
    this.connection = state;
    if (state !== 'connecting') clearTimeout(this.connectTimer);
    this.emit('connection', state);
    if (state === 'failed') this.fail('media.unreachable', UNREACHABLE);
  }

  private onConnectionState(state: string): void {
    if (this.closed) return;
    if (state === 'connected') this.setConnection('connected');
    else if (state === 'failed') this.setConnection('failed');
  }

  private onSignal(event: string, payload: any): void {
    if (this.closed || !payload || typeof payload !== 'object') return;
    const spaceId = this.options.spaceId;
    // While joining again, the old session's late events are not ours; after, the new one's are.
    const mine = payload.sessionId !== undefined && payload.sessionId === this.sessionId && this.sessionId !== '' && !this.rejoining;
    switch (event) {
      case 'MEDIA_JOINED':
        if (payload.topicId === spaceId && this.joinWaiter) this.joinWaiter.resolve(payload);
        return;
      case 'MEDIA_JOIN_FAILED':
        if (payload.topicId === spaceId && this.joinWaiter)
          this.joinWaiter.reject(
            new PlazaApiError(0, {
              code: payload.error?.code ?? 'media.join_failed',
              message: payload.error?.message ?? 'the media join was refused',
            }),
          );
        return;
      case 'MEDIA_OFFER':
        if (mine && typeof payload.sdp === 'string') this.onServerOffer(payload.sdp);
        return;
      case 'MEDIA_ANSWER':
        if (mine && typeof payload.sdp === 'string') this.onServerAnswer(payload.sdp);
        return;
      case 'MEDIA_OFFER_FAILED':
        if (mine) this.onOfferRefused(payload);
        return;
      case 'MEDIA_QUALITY_FAILED':
        if (!mine) return;
        // Asked of someone who left the room meanwhile (a tile resized as they went, or a
        // session that a rejoin replaced): nothing to show; a later ask goes out again.
        if (Array.isArray(payload.error?.fields) && payload.error.fields.some((f: any) => f?.field === 'publisher')) {
          if (typeof payload.publisher === 'string') this.qualities.delete(payload.publisher);
          return;
        }
        this.fail(payload.error?.code ?? 'media.refused', payload.error?.message ?? `${event} refused`, payload);
        return;
      case 'MEDIA_ANSWER_FAILED':
      case 'MEDIA_CANDIDATE_FAILED':
      case 'MEDIA_LEAVE_FAILED':
        if (mine) this.fail(payload.error?.code ?? 'media.refused', payload.error?.message ?? `${event} refused`, payload);
        return;
      case 'MEDIA_PARTICIPANTS':
        if (payload.topicId === spaceId && Array.isArray(payload.participants)) {
          this.takeRoster(payload.participants, payload.rosterVersion);
          if (!this.rejoining) this.askCarriedQualities();
        }
        return;
      case 'MEDIA_ACTIVE_SPEAKER':
        if (payload.topicId === spaceId) this.emit('activeSpeaker', payload.sessionId, payload.userId);
        return;
      case 'MEDIA_FORWARDING':
        if (payload.topicId === spaceId)
          this.emit('forwarding', {
            sessionId: payload.sessionId,
            userId: payload.userId,
            kind: payload.kind,
            forwarding: Boolean(payload.forwarding),
          });
        return;
      case 'MEDIA_SESSION_ENDED':
        if (!mine) return;
        // Our media host went away; our place in the meeting is kept a while: join again.
        if (payload.reason === 'moved') {
          void this.rejoin();
          return;
        }
        this.close();
        this.emit('ended', String(payload.reason ?? 'ended'));
        return;
    }
  }
}
