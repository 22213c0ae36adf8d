import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateRawSync } from 'node:zlib';

import {
  MediaSession,
  parseSdpMedia,
  PlazaClient,
  PlazaRealtime,
  sdpField,
  type MediaSessionOptions,
  type MediaStreamTrackLike,
  type PeerConnectionLike,
  type SessionDescriptionLike,
  type TransceiverInit,
  type TransceiverLike,
} from '../src/index.js';
import { fakeFetch, FakeSocket, tick } from './helpers.js';

// ---- an SDP the way the SFU writes it -------------------------------------------------

function section(mid: string, kind: string, direction: string, msid?: string) {
  return [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF 96`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    `a=${direction}`,
    ...(msid ? [`a=msid:${msid}`] : []),
  ].join('\r\n');
}
function sdp(...sections: string[]) {
  return ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2 3', ...sections, ''].join('\r\n');
}

test('parseSdpMedia reads each m-line: mid, kind, direction, msid, stopped', () => {
  const text = sdp(
    section('0', 'audio', 'recvonly'),
    section('1', 'video', 'sendonly', 'peer-b video-7'),
    'm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=inactive',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=sendonly\r\na=ssrc:1234 msid:peer-c audio-9',
  );
  const media = parseSdpMedia(text);
  assert.deepEqual(
    media.map((m) => [m.mid, m.kind, m.direction, m.stopped, m.streamId, m.trackId]),
    [
      ['0', 'audio', 'recvonly', false, null, null],
      ['1', 'video', 'sendonly', false, 'peer-b', 'video-7'],
      ['2', 'video', 'inactive', true, null, null],
      ['3', 'audio', 'sendonly', false, 'peer-c', 'audio-9'],
    ],
  );
});

// ---- a peer connection double -----------------------------------------------------------

class FakeTrack implements MediaStreamTrackLike {
  enabled = true;
  stopped = false;
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {}
  stop() {
    this.stopped = true;
  }
}

class FakeTransceiver implements TransceiverLike {
  mid: string | null = null;
  readonly sender: { track: MediaStreamTrackLike | null; replaceTrack(t: MediaStreamTrackLike | null): Promise<void> };
  readonly receiver: { track: FakeTrack; getStats(): Promise<Map<string, any>> };
  constructor(
    public direction: string,
    kind: string,
    sending: MediaStreamTrackLike | null,
    stats: () => Map<string, any>,
  ) {
    const sender = {
      track: sending,
      async replaceTrack(t: MediaStreamTrackLike | null) {
        sender.track = t;
      },
    };
    this.sender = sender;
    this.receiver = { track: new FakeTrack(kind, `remote-${Math.random()}`), getStats: async () => stats() };
  }
}

class FakePeer implements PeerConnectionLike {
  signalingState = 'stable';
  connectionState = 'new';
  remoteDescription: SessionDescriptionLike | null = null;
  readonly transceivers: FakeTransceiver[] = [];
  readonly log: string[] = [];
  offers = 0;
  closed = false;
  stats = new Map<string, any>();
  private readonly handlers = new Map<string, ((e: any) => void)[]>();

  /** Its operations never settle (as a closed browser connection's may not). */
  hang = false;
  async createOffer() {
    if (this.hang) await new Promise(() => undefined);
    this.offers += 1;
    // Our offer lists every transceiver; new ones get the next mids.
    this.transceivers.forEach((t, i) => (t.mid ??= String(i)));
    return { type: 'offer' as const, sdp: `client-offer-${this.offers}` };
  }
  async createAnswer() {
    return { type: 'answer' as const, sdp: 'client-answer' };
  }
  async setLocalDescription(d: SessionDescriptionLike) {
    this.log.push(`local ${d.type}`);
    this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable';
  }
  async setRemoteDescription(d: SessionDescriptionLike) {
    this.log.push(`remote ${d.type}`);
    this.remoteDescription = d;
    if (d.type === 'offer') {
      this.signalingState = 'have-remote-offer';
      for (const m of parseSdpMedia(d.sdp ?? ''))
        if (!this.transceivers.some((t) => t.mid === m.mid)) {
          const t = new FakeTransceiver('recvonly', m.kind, null, () => this.stats);
          t.mid = m.mid;
          this.transceivers.push(t);
        }
    } else this.signalingState = 'stable';
  }
  readonly inits: TransceiverInit[] = [];
  addTransceiver(trackOrKind: MediaStreamTrackLike | string, init: TransceiverInit) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    const t = new FakeTransceiver(init.direction, kind, typeof trackOrKind === 'string' ? null : trackOrKind, () => this.stats);
    this.transceivers.push(t);
    this.inits.push(init);
    return t;
  }
  getTransceivers() {
    return this.transceivers;
  }
  addEventListener(type: string, listener: (e: any) => void) {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), listener]);
  }
  fire(type: string, event: unknown = {}) {
    for (const h of this.handlers.get(type) ?? []) h(event);
  }
  async getStats() {
    return this.stats;
  }
  close() {
    this.closed = true;
  }
}

async function settle() {
  for (let i = 0; i < 10; i++) await tick();
}

async function joined(
  options: Partial<Omit<MediaSessionOptions, 'rest' | 'realtime' | 'spaceId'>> = {},
  // What the server says before its answer, and more of the answer's fields.
  early: (socket: FakeSocket) => void = () => {},
  answer: Record<string, unknown> = {},
) {
  const socket = new FakeSocket();
  const rt = new PlazaRealtime({ token: 'tok', socketFactory: () => socket });
  socket.serverAccepts();
  // Each media token is a new one: `media-tok`, then `media-tok-2`, ...
  let tokens = 0;
  const { fetch, calls } = fakeFetch(() => {
    tokens += 1;
    return { body: { token: tokens === 1 ? 'media-tok' : `media-tok-${tokens}`, sessionId: 'x', confId: 'c', expires: '' } };
  });
  const rest = new PlazaClient({ baseUrl: 'http://plaza.test', token: 't', fetch });
  let config: unknown;
  const peers: FakePeer[] = [];
  const session = new MediaSession({
    rest,
    realtime: rt,
    spaceId: 's1',
    peerConnection: (c) => {
      config = c;
      const peer = new FakePeer();
      peers.push(peer);
      return peer;
    },
    ...options,
  });
  const mic = new FakeTrack('audio', 'mic');
  const joining = session.join({ microphone: mic });
  await settle();
  assert.equal(calls[0]?.url, 'http://plaza.test/api/mediasessions/mpaas/token/s1');
  assert.deepEqual(socket.sent('MEDIA_JOIN'), [{ topicId: 's1', token: 'media-tok' }]);
  early(socket);
  socket.deliver('MEDIA_JOINED', {
    topicId: 's1',
    sessionId: 'me',
    iceServers: [{ urls: 'turn:turn.test' }],
    participants: [{ sessionId: 'me', userId: 'u1', displayname: 'Ann' }],
    maxVideoKbps: 1000,
    ...answer,
  });
  await joining;
  await settle();
  return { socket, rt, session, peer: peers[0]!, peers, calls, mic, config: () => config };
}

const serverOffer = (...sections: string[]) => sdp(section('0', 'audio', 'recvonly'), section('1', 'video', 'inactive'), ...sections);

test('join: token, MEDIA_JOIN, one max-bundle connection with the given ICE servers, then our offer', async () => {
  const { socket, session, peer, config } = await joined();
  assert.deepEqual(config(), { iceServers: [{ urls: 'turn:turn.test' }], bundlePolicy: 'max-bundle' });
  assert.equal(session.sessionId, 'me');
  assert.deepEqual(
    peer.transceivers.map((t) => t.direction),
    ['sendonly', 'inactive'],
    'the microphone sends; the camera m-line waits, inactive',
  );
  assert.deepEqual(socket.sent('MEDIA_OFFER'), [{ sessionId: 'me', sdp: 'client-offer-1' }]);
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  await settle();
  assert.equal(peer.signalingState, 'stable');
});

test('the camera m-line carries three simulcast layers under the server cap; qualities are asked once each', async () => {
  const { socket, session, peer } = await joined();
  assert.equal(session.maxVideoKbps, 1000);
  assert.equal(peer.inits[0]?.sendEncodings, undefined, 'the microphone has no layers');
  assert.deepEqual(peer.inits[1]?.sendEncodings, [
    { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
    { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 1_000_000 },
  ]);
  session.setQuality('bob', 'low');
  session.setQuality('bob', 'low');
  session.setQuality('bob', 'high');
  session.setQuality('cat', 'medium');
  assert.deepEqual(socket.sent('MEDIA_QUALITY'), [
    { sessionId: 'me', publisher: 'bob', quality: 'low' },
    { sessionId: 'me', publisher: 'bob', quality: 'high' },
    { sessionId: 'me', publisher: 'cat', quality: 'medium' },
  ]);
  // Cat left as the ask went out: no error to show, and a later ask goes out again.
  const errors: string[] = [];
  session.on('error', (e) => errors.push(e.code));
  socket.deliver('MEDIA_QUALITY_FAILED', {
    sessionId: 'me',
    publisher: 'cat',
    quality: 'medium',
    error: {
      code: 'request.invalid',
      message: 'gone',
      fields: [{ field: 'publisher', message: 'must be the sessionId of someone in the room' }],
    },
  });
  session.setQuality('cat', 'medium');
  assert.equal(socket.sent('MEDIA_QUALITY').length, 4);
  socket.deliver('MEDIA_QUALITY_FAILED', {
    sessionId: 'me',
    publisher: 'cat',
    quality: 'huge',
    error: { code: 'request.invalid', message: 'bad' },
  });
  assert.deepEqual(errors, ['request.invalid'], 'other refusals are reported');
});

test('a long SDP goes as sdpDeflate (raw DEFLATE in base64), a short one as it is', async () => {
  assert.deepEqual(await sdpField('v=0\r\n'), { sdp: 'v=0\r\n' });
  const long = 'v=0\r\n' + 'a=candidate:1 1 udp 2130706431 10.0.0.1 50000 typ host\r\n'.repeat(2000);
  const field = await sdpField(long);
  assert.ok('sdpDeflate' in field);
  assert.ok(field.sdpDeflate.length < long.length / 10, `${field.sdpDeflate.length} of ${long.length}`);
  assert.equal(inflateRawSync(Buffer.from(field.sdpDeflate, 'base64')).toString(), long);
});

test('a refused join rejects with the server code (room full)', async () => {
  const socket = new FakeSocket();
  const rt = new PlazaRealtime({ token: 'tok', socketFactory: () => socket });
  socket.serverAccepts();
  const { fetch } = fakeFetch(() => ({ body: { token: 'media-tok', sessionId: 'x', confId: 'c', expires: '' } }));
  const session = new MediaSession({
    rest: new PlazaClient({ baseUrl: '', fetch }),
    realtime: rt,
    spaceId: 's1',
    peerConnection: () => new FakePeer(),
  });
  const joining = session.join();
  await settle();
  socket.deliver('MEDIA_JOIN_FAILED', { topicId: 's1', error: { code: 'meeting.full', message: 'the meeting is full' } });
  await assert.rejects(joining, (e: any) => e.code === 'meeting.full');
});

test('server offers are answered and their msid maps each remote track to its publisher', async () => {
  const { socket, session, peer } = await joined();
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  await settle();
  const added: string[] = [];
  const removed: string[] = [];
  session.on('trackAdded', (t) => added.push(`${t.sessionId}/${t.kind}/${t.mid}`));
  session.on('trackRemoved', (t) => removed.push(`${t.sessionId}/${t.kind}/${t.mid}`));
  socket.deliver('MEDIA_OFFER', {
    sessionId: 'me',
    sdp: serverOffer(section('2', 'audio', 'sendonly', 'bob audio-3'), section('3', 'video', 'sendonly', 'bob video-4')),
  });
  // An offer for another session is not ours.
  socket.deliver('MEDIA_OFFER', { sessionId: 'someone-else', sdp: serverOffer() });
  await settle();
  assert.deepEqual(socket.sent('MEDIA_ANSWER'), [{ sessionId: 'me', sdp: 'client-answer' }]);
  assert.deepEqual(added, ['bob/audio/2', 'bob/video/3']);
  assert.equal(session.tracksOf('bob').length, 2);
  assert.equal(session.tracksOf('bob')[1]?.track, peer.transceivers[3]?.receiver.track, "the track is the receiver's");
  // Bob turns his camera off: the server stops that m-line.
  socket.deliver('MEDIA_OFFER', {
    sessionId: 'me',
    sdp: serverOffer(section('2', 'audio', 'sendonly', 'bob audio-3'), 'm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:3\r\na=inactive'),
  });
  await settle();
  assert.deepEqual(removed, ['bob/video/3']);
  assert.deepEqual(
    session.tracks.map((t) => t.mid),
    ['2'],
  );
});

test('crossing offers: ours wins, the server offer is dropped and its re-made offer answered', async () => {
  const { socket, session, peer } = await joined();
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  await settle();
  // We turn the camera on (an offer goes out) while the server's offer is on its way.
  const cam = new FakeTrack('video', 'cam');
  const publishing = session.publish('camera', cam);
  await settle();
  assert.equal(socket.sent('MEDIA_OFFER').length, 2);
  socket.deliver('MEDIA_OFFER', { sessionId: 'me', sdp: serverOffer(section('2', 'audio', 'sendonly', 'bob audio-3')) });
  await settle();
  assert.equal(socket.sent('MEDIA_ANSWER').length, 0, 'the crossing server offer is not answered');
  assert.equal(peer.signalingState, 'have-local-offer');
  // The server answers ours, then offers again.
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: sdp(section('0', 'audio', 'recvonly'), section('1', 'video', 'recvonly')) });
  socket.deliver('MEDIA_OFFER', { sessionId: 'me', sdp: serverOffer(section('2', 'audio', 'sendonly', 'bob audio-3')) });
  await publishing;
  await settle();
  assert.equal(socket.sent('MEDIA_ANSWER').length, 1);
  assert.equal(peer.transceivers[1]?.direction, 'sendonly');
  assert.equal(peer.transceivers[1]?.sender.track, cam);
  assert.deepEqual(
    session.tracks.map((t) => t.sessionId),
    ['bob'],
  );
});

test('a server offer that overtook the answer to ours (made after it) is answered once the answer is in', async () => {
  const { socket, session } = await joined();
  // The server answered our first offer, then offered Bob's tracks; the offer came first.
  const answer = sdp(section('0', 'audio', 'recvonly'), section('1', 'video', 'inactive'));
  socket.deliver('MEDIA_OFFER', { sessionId: 'me', sdp: serverOffer(section('2', 'audio', 'sendonly', 'bob audio-3')) });
  await settle();
  assert.equal(socket.sent('MEDIA_ANSWER').length, 0, 'held until our answer is in');
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: answer });
  await settle();
  assert.deepEqual(socket.sent('MEDIA_ANSWER'), [{ sessionId: 'me', sdp: 'client-answer' }]);
  assert.deepEqual(
    session.tracks.map((t) => t.sessionId),
    ['bob'],
  );
});

test('changes made while an offer is out go in one more offer after its answer', async () => {
  const { socket, session } = await joined();
  // The first offer (from join) is still unanswered: a screen share starts and the camera turns on.
  void session.publish('camera', new FakeTrack('video', 'cam'));
  void session.publish('screen', new FakeTrack('video', 'screen'));
  await settle();
  assert.equal(socket.sent('MEDIA_OFFER').length, 1, 'one offer at a time');
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  await settle();
  assert.equal(socket.sent('MEDIA_OFFER').length, 2, 'one more offer carries both changes');
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer(section('2', 'video', 'recvonly')) });
  await settle();
  assert.equal(socket.sent('MEDIA_OFFER').length, 2);
});

test('turning a slot off stops its track and makes the m-line inactive', async () => {
  const { socket, session, peer, mic } = await joined();
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  await settle();
  session.setMicrophoneEnabled(false);
  assert.equal(mic.enabled, false, 'muting does not renegotiate');
  assert.equal(socket.sent('MEDIA_OFFER').length, 1);
  void session.publish('microphone', null);
  await settle();
  assert.equal(mic.stopped, true);
  assert.equal(peer.transceivers[0]?.direction, 'inactive');
  assert.equal(socket.sent('MEDIA_OFFER').length, 2);
});

test('a refused offer is rolled back and reported', async () => {
  const { socket, session, peer } = await joined();
  const errors: string[] = [];
  session.on('error', (e) => errors.push(e.code));
  socket.deliver('MEDIA_OFFER_FAILED', { sessionId: 'me', sdp: 'x', error: { code: 'media.bad_sdp', message: 'bad' } });
  await settle();
  assert.deepEqual(errors, ['media.bad_sdp']);
  assert.equal(peer.signalingState, 'stable');
  assert.ok(peer.log.includes('local rollback'));
});

test('participants, active speaker, forwarding, candidates and the end', async () => {
  const { socket, session, peer, mic } = await joined();
  const seen: string[] = [];
  session.on('participants', (p) => seen.push(`participants ${p.map((x) => x.sessionId).join(',')}`));
  session.on('activeSpeaker', (sid, uid) => seen.push(`speaker ${sid} ${uid}`));
  session.on('forwarding', (f) => seen.push(`forwarding ${f.sessionId} ${f.kind} ${f.forwarding}`));
  session.on('ended', (reason) => seen.push(`ended ${reason}`));
  socket.deliver('MEDIA_PARTICIPANTS', { topicId: 's1', participants: [{ sessionId: 'me' }, { sessionId: 'bob' }] });
  socket.deliver('MEDIA_PARTICIPANTS', { topicId: 'other', participants: [] });
  socket.deliver('MEDIA_ACTIVE_SPEAKER', { topicId: 's1', sessionId: 'bob', userId: 'u2' });
  socket.deliver('MEDIA_FORWARDING', { topicId: 's1', sessionId: 'me', userId: 'u1', kind: 'audio', forwarding: false });
  peer.fire('icecandidate', { candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0' } });
  peer.fire('icecandidate', { candidate: { candidate: '' } }); // the end of candidates is not sent
  assert.deepEqual(socket.sent('MEDIA_CANDIDATE'), [{ sessionId: 'me', candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' }]);
  socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'meeting.ended' });
  assert.deepEqual(seen, ['participants me,bob', 'speaker bob u2', 'forwarding me audio false', 'ended meeting.ended']);
  assert.equal(peer.closed, true);
  assert.equal(mic.stopped, true);
  assert.equal(session.connection, 'closed');
});

test('the newest list of participants wins, whichever way it came and in whatever order', async () => {
  // Across nodes the space's list (Bob joined after us) can overtake the answer to our join.
  const newer = { topicId: 's1', participants: [{ sessionId: 'me' }, { sessionId: 'bob' }], rosterVersion: 20 };
  const { socket, session } = await joined({}, (s) => s.deliver('MEDIA_PARTICIPANTS', newer), { rosterVersion: 10 });
  assert.deepEqual(
    session.participants.map((p) => p.sessionId),
    ['me', 'bob'],
  );
  socket.deliver('MEDIA_PARTICIPANTS', { topicId: 's1', participants: [{ sessionId: 'me' }], rosterVersion: 15 });
  assert.deepEqual(
    session.participants.map((p) => p.sessionId),
    ['me', 'bob'],
    'an older list that arrives late is dropped',
  );
  socket.deliver('MEDIA_PARTICIPANTS', { topicId: 's1', participants: [{ sessionId: 'me' }], rosterVersion: 30 });
  assert.deepEqual(
    session.participants.map((p) => p.sessionId),
    ['me'],
  );
});

test('leave sends MEDIA_LEAVE and closes; the connection timing out says the media port is unreachable', async () => {
  const { socket, session, peer } = await joined({ connectTimeoutMs: 20 });
  const errors: string[] = [];
  session.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(session.connection, 'failed');
  assert.match(errors[0] ?? '', /^media\.unreachable: the media port is unreachable/);
  session.leave();
  assert.deepEqual(socket.sent('MEDIA_LEAVE'), [{ sessionId: 'me' }]);
  assert.equal(peer.closed, true);
});

test('inboundStats sums inbound-rtp per remote track', async () => {
  const { socket, session, peer } = await joined();
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  socket.deliver('MEDIA_OFFER', { sessionId: 'me', sdp: serverOffer(section('2', 'audio', 'sendonly', 'bob audio-3')) });
  await settle();
  peer.stats = new Map<string, any>([
    ['a', { type: 'inbound-rtp', bytesReceived: 1000, packetsReceived: 10, totalAudioEnergy: 0.5 }],
    ['b', { type: 'candidate-pair', bytesReceived: 99 }],
  ]);
  assert.deepEqual(await session.inboundStats(), [
    { sessionId: 'bob', kind: 'audio', mid: '2', bytesReceived: 1000, packetsReceived: 10, framesDecoded: 0, totalAudioEnergy: 0.5 },
  ]);
});

// ---- the media host went away (`moved`): joining again ----------------------------------

/** Everything a session emits, as short lines. */
function record(session: MediaSession) {
  const seen: string[] = [];
  session.on('connection', (state) => seen.push(`connection ${state}`));
  session.on('ended', (reason) => seen.push(`ended ${reason}`));
  session.on('rejoined', (sid, previous) => seen.push(`rejoined ${previous} -> ${sid}`));
  session.on('tracks', (tracks) => seen.push(`tracks ${tracks.map((t) => `${t.sessionId}/${t.kind}`).join(',')}`));
  session.on('participants', (p) => seen.push(`participants ${p.map((x) => x.sessionId).join(',')}`));
  session.on('error', (e) => seen.push(`error ${e.code}`));
  return seen;
}

const bobsTracks = (sid: string) =>
  serverOffer(section('2', 'audio', 'sendonly', `${sid} audio-3`), section('3', 'video', 'sendonly', `${sid} video-4`));

test('moved: the same session joins again with the same tracks, a new connection and session id; the old one is ignored', async () => {
  const { socket, session, peers, mic, calls } = await joined();
  const first = peers[0]!;
  const cam = new FakeTrack('video', 'cam');
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  await settle();
  await session.publish('camera', cam);
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  socket.deliver('MEDIA_PARTICIPANTS', {
    topicId: 's1',
    participants: [
      { sessionId: 'me', userId: 'u1' },
      { sessionId: 'bob', userId: 'u2', streamId: 'bob' },
    ],
  });
  socket.deliver('MEDIA_OFFER', { sessionId: 'me', sdp: bobsTracks('bob') });
  await settle();
  first.connectionState = 'connected';
  first.fire('connectionstatechange');
  session.setQuality('bob', 'low');
  session.setMicrophoneEnabled(false);
  assert.equal(session.tracks.length, 2);
  const seen = record(session);

  socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'moved' });
  assert.equal(first.closed, true, 'the old connection is closed at once');
  assert.equal(session.connection, 'reconnecting');
  assert.equal(session.pc, null);
  assert.equal(session.tracks.length, 0, "the old connection's remote tracks ended");
  // Late events of the old session change nothing.
  socket.deliver('MEDIA_OFFER', { sessionId: 'me', sdp: bobsTracks('bob') });
  socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'left' });
  // The person turns their screen share on while the media reconnects.
  const screen = new FakeTrack('video', 'screen');
  await session.publish('screen', screen);
  await settle();
  assert.equal(calls.length, 2, 'a new media token');
  assert.deepEqual(socket.sent('MEDIA_JOIN').at(-1), { topicId: 's1', token: 'media-tok-2' });
  assert.equal(socket.sent('MEDIA_ANSWER').length, 1, "the old session's late offer is not answered");

  socket.deliver('MEDIA_JOINED', {
    topicId: 's1',
    sessionId: 'me2',
    iceServers: [],
    participants: [
      { sessionId: 'bob2', userId: 'u2', streamId: 'bob2' },
      { sessionId: 'me2', userId: 'u1' },
    ],
    maxVideoKbps: 1000,
  });
  await settle();
  const second = peers[1]!;
  assert.ok(second, 'a new connection');
  assert.equal(session.pc, second);
  assert.equal(session.sessionId, 'me2');
  assert.deepEqual(
    second.transceivers.map((t) => [t.direction, t.sender.track]),
    [
      ['sendonly', mic],
      ['sendonly', cam],
      ['sendonly', screen],
    ],
    'the microphone, the camera and the screen share are published again',
  );
  assert.equal(second.inits[1]?.sendEncodings?.length, 3, 'the camera in simulcast layers again');
  assert.equal(mic.enabled, false, 'still muted');
  assert.equal(mic.stopped || cam.stopped || screen.stopped, false, 'the local tracks were kept');
  assert.deepEqual(socket.sent('MEDIA_OFFER').at(-1), { sessionId: 'me2', sdp: 'client-offer-1' });
  assert.deepEqual(
    socket.sent('MEDIA_QUALITY').at(-1),
    { sessionId: 'me2', publisher: 'bob2', quality: 'low' },
    "Bob's new session, as asked before",
  );

  socket.deliver('MEDIA_ANSWER', { sessionId: 'me2', sdp: serverOffer() });
  socket.deliver('MEDIA_OFFER', { sessionId: 'me2', sdp: bobsTracks('bob2') });
  await settle();
  assert.deepEqual(socket.sent('MEDIA_ANSWER').at(-1), { sessionId: 'me2', sdp: 'client-answer' });
  assert.deepEqual(
    session.tracks.map((t) => `${t.sessionId}/${t.kind}`),
    ['bob2/audio', 'bob2/video'],
  );
  assert.equal(session.tracks[1]?.track, second.transceivers[3]?.receiver.track, "the new connection's track");
  second.connectionState = 'connected';
  second.fire('connectionstatechange');
  // The old connection's events are not the session's any more.
  first.connectionState = 'failed';
  first.fire('connectionstatechange');
  assert.equal(session.connection, 'connected');
  second.stats = new Map<string, any>([['v', { type: 'inbound-rtp', bytesReceived: 5, framesDecoded: 2 }]]);
  assert.deepEqual(
    (await session.inboundStats()).map((r) => [r.sessionId, r.framesDecoded]),
    [
      ['bob2', 2],
      ['bob2', 2],
    ],
    "stats come from the new connection's receivers",
  );
  assert.deepEqual(seen, [
    'connection reconnecting',
    'tracks ',
    'participants bob2,me2',
    'rejoined me -> me2',
    'tracks bob2/audio,bob2/video',
    'connection connected',
  ]);
  session.leave();
  assert.deepEqual(socket.sent('MEDIA_LEAVE'), [{ sessionId: 'me2' }]);
  assert.equal(second.closed, true);
  assert.equal(mic.stopped && cam.stopped && screen.stopped, true);
});

test('moved: a refused join is tried again with a new token after a short wait', async () => {
  const { socket, session, peers } = await joined({ rejoinBackoffMs: 5 });
  const seen = record(session);
  socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'moved' });
  await settle();
  assert.equal(socket.sent('MEDIA_JOIN').length, 2);
  socket.deliver('MEDIA_JOIN_FAILED', { topicId: 's1', error: { code: 'resource.conflict', message: 'in use' } });
  await new Promise((r) => setTimeout(r, 20));
  await settle();
  assert.deepEqual(
    socket.sent('MEDIA_JOIN').map((j) => j.token),
    ['media-tok', 'media-tok-2', 'media-tok-3'],
  );
  socket.deliver('MEDIA_JOINED', { topicId: 's1', sessionId: 'me3', participants: [{ sessionId: 'me3', userId: 'u1' }] });
  await settle();
  assert.equal(peers.length, 2);
  assert.equal(session.sessionId, 'me3');
  assert.deepEqual(socket.sent('MEDIA_OFFER').at(-1), { sessionId: 'me3', sdp: 'client-offer-1' });
  assert.deepEqual(seen, ['connection reconnecting', 'participants me3', 'rejoined me -> me3']);
});

test('moved: when every try fails the session ends with reason moved; a final refusal is not tried again', async () => {
  {
    const { socket, session, mic } = await joined({ rejoinAttempts: 3, rejoinBackoffMs: 2 });
    const seen = record(session);
    socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'moved' });
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 15));
      await settle();
      assert.equal(socket.sent('MEDIA_JOIN').length, 2 + i);
      socket.deliver('MEDIA_JOIN_FAILED', { topicId: 's1', error: { code: 'media.unavailable', message: 'no host' } });
    }
    await new Promise((r) => setTimeout(r, 20));
    await settle();
    assert.equal(socket.sent('MEDIA_JOIN').length, 4, 'three tries');
    assert.deepEqual(seen, ['connection reconnecting', 'error media.unavailable', 'connection closed', 'ended moved']);
    assert.equal(mic.stopped, true);
  }
  {
    const { socket, session } = await joined({ rejoinBackoffMs: 2 });
    const seen = record(session);
    socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'moved' });
    await settle();
    socket.deliver('MEDIA_JOIN_FAILED', { topicId: 's1', error: { code: 'permission.denied', message: 'removed' } });
    await new Promise((r) => setTimeout(r, 20));
    await settle();
    assert.equal(socket.sent('MEDIA_JOIN').length, 2, 'one try');
    assert.deepEqual(seen, ['connection reconnecting', 'error permission.denied', 'connection closed', 'ended moved']);
  }
});

test('moved: leaving while joining again stops the tries and the tracks', async () => {
  const { socket, session, mic, peers } = await joined({ rejoinBackoffMs: 2 });
  socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'moved' });
  await settle();
  session.leave();
  socket.deliver('MEDIA_JOINED', { topicId: 's1', sessionId: 'me2', participants: [] });
  await new Promise((r) => setTimeout(r, 20));
  await settle();
  assert.equal(peers.length, 1, 'no new connection');
  assert.equal(socket.sent('MEDIA_JOIN').length, 2);
  assert.equal(mic.stopped, true);
  assert.equal(session.connection, 'closed');
});

test("moved: a step of the old connection that never settles does not hold up the new one's", async () => {
  const { socket, session, peers } = await joined();
  socket.deliver('MEDIA_ANSWER', { sessionId: 'me', sdp: serverOffer() });
  await settle();
  peers[0]!.hang = true;
  const publishing = session.publish('camera', new FakeTrack('video', 'cam'));
  await settle();
  socket.deliver('MEDIA_SESSION_ENDED', { topicId: 's1', sessionId: 'me', reason: 'moved' });
  await publishing;
  await settle();
  socket.deliver('MEDIA_JOINED', { topicId: 's1', sessionId: 'me2', participants: [] });
  await settle();
  assert.deepEqual(socket.sent('MEDIA_OFFER'), [
    { sessionId: 'me', sdp: 'client-offer-1' },
    { sessionId: 'me2', sdp: 'client-offer-1' },
  ]);
  assert.deepEqual(
    peers[1]!.transceivers.map((t) => t.direction),
    ['sendonly', 'sendonly'],
  );
});
