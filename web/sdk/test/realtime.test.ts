import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PlazaApiError, PlazaClient, PlazaRealtime, type Message, type MessageInfo } from '../src/index.js';
import { fakeFetch, FakeSocket, message, tick } from './helpers.js';

function setup(rest?: PlazaClient) {
  const socket = new FakeSocket();
  let opened: { url: string; options: Record<string, unknown> } | undefined;
  const rt = new PlazaRealtime({
    baseUrl: 'http://plaza.test/',
    token: 'tok',
    selfId: 'me',
    ...(rest ? { rest } : {}),
    sendTimeoutMs: 50,
    socketFactory: (url, options) => {
      opened = { url, options };
      return socket;
    },
  });
  const got: [Message, MessageInfo][] = [];
  rt.on('message', (m, info) => got.push([m, info]));
  return { socket, rt, got, opened: () => opened! };
}

function subscribeOk(socket: FakeSocket, spaceId: string) {
  socket.deliver('CHANNEL_SUBSCRIBED', { channel: { _id: spaceId, type: 'topic' }, sessionId: 'x' });
}

test('connects to /chat with the token in the auth object', () => {
  const { opened } = setup();
  assert.equal(opened().url, 'http://plaza.test/chat');
  assert.deepEqual(opened().options.auth, { token: 'tok', tokenType: 'jwt' });
});

test('subscribe waits for the connection and resolves on CHANNEL_SUBSCRIBED', async () => {
  const { socket, rt } = setup();
  let done = false;
  const subscribed = rt.subscribe('s1', '1234').then(() => (done = true));
  assert.equal(socket.sent('SUBSCRIBE_CHANNEL').length, 0, 'nothing is sent before connecting');
  socket.serverAccepts();
  assert.deepEqual(socket.sent('SUBSCRIBE_CHANNEL'), [{ channel: { _id: 's1', type: 'topic', password: '1234' }, version: '1.1' }]);
  await tick();
  assert.equal(done, false);
  subscribeOk(socket, 's1');
  await subscribed;
  assert.ok(rt.isSubscribed('s1'));
  // It announces itself for the roster.
  assert.equal(socket.sent('SEND_PRESENCE_EVENT')[0].category, 'app.event.presence.party.online');
});

test('a refused subscription rejects with the server code', async () => {
  const { socket, rt } = setup();
  socket.serverAccepts();
  const subscribed = rt.subscribe('s1');
  socket.deliver('SUBSCRIBE_CHANNEL_FAILED', { channel: { _id: 's1' }, error: { code: 'topic.password_required', message: 'PIN please' } });
  await assert.rejects(subscribed, (e: unknown) => e instanceof PlazaApiError && e.code === 'topic.password_required');
  assert.equal(rt.isSubscribed('s1'), false);
});

test('after a drop it resubscribes from the newest message seen and drops repeats', async () => {
  const { socket, rt, got } = setup();
  socket.serverAccepts();
  const sub = rt.subscribe('s1');
  subscribeOk(socket, 's1');
  await sub;
  const one = message('s1', 'one');
  const two = message('s1', 'two');
  socket.deliver('MESSAGE_SENT', one);
  socket.deliver('MESSAGE_SENT', two);
  socket.serverDrops();
  assert.equal(rt.status, 'offline');
  assert.equal(rt.isSubscribed('s1'), false);

  socket.serverAccepts();
  const resubscribe = socket.sent('SUBSCRIBE_CHANNEL').at(-1);
  assert.deepEqual(resubscribe, { channel: { _id: 's1', type: 'topic' }, version: '1.1', lastMessageId: two._id });
  subscribeOk(socket, 's1');
  // The catch-up overlaps what was already delivered live.
  const three = message('s1', 'three');
  socket.deliver('MESSAGE_SENT', two);
  socket.deliver('MESSAGE_SENT', three);
  socket.deliver('MESSAGE_SENT', three);
  assert.deepEqual(
    got.map(([m]) => m.content.bodyText),
    ['one', 'two', 'three'],
  );
  // An edit of an old message is a change, not a repeat.
  socket.deliver('MESSAGE_SENT', { ...one, content: { bodyText: 'one!' }, modified: new Date(Date.now() + 1000).toISOString() });
  assert.deepEqual(got.at(-1)![1], { kind: 'changed', replay: false });
  assert.equal(got.length, 4);
});

test('a space with nothing seen catches up from the history after a drop', async () => {
  const old = message('s1', 'before');
  const missed = message('s1', 'while away');
  const { fetch, calls } = fakeFetch((req) => {
    if (req.url.includes('/messages/query')) return { body: { data: [missed, old], nextPageUrl: '' } };
    if (req.url.includes('/users/me/messages')) return { body: { data: [missed], nextPageUrl: '' } };
    return { status: 404, body: { code: 'route.not_found', message: req.url } };
  });
  const rest = new PlazaClient({ token: 'tok', fetch });
  const { socket, rt, got } = setup(rest);
  socket.serverAccepts();
  const sub = rt.subscribe('s1');
  subscribeOk(socket, 's1');
  await sub;
  socket.serverDrops();
  socket.serverAccepts();
  assert.equal(socket.sent('SUBSCRIBE_CHANNEL').at(-1).lastMessageId, undefined);
  subscribeOk(socket, 's1');
  for (let i = 0; i < 20; i++) await tick();
  // Both sources bring 'while away'; it is reported once.
  assert.deepEqual(got.map(([m, info]) => [m.content.bodyText, info.replay]).sort(), [
    ['before', true],
    ['while away', true],
  ]);
  assert.ok(
    calls.some((c) => c.url.startsWith('/api/users/me/messages?spacelist=s1&after=')),
    'edits made while away are synced',
  );
});

test('send resolves with the loopback copy; a send while offline waits for the resubscription', async () => {
  const { socket, rt, got } = setup();
  socket.serverAccepts();
  const sub = rt.subscribe('s1');
  subscribeOk(socket, 's1');
  await sub;
  socket.serverDrops();

  const sending = rt.send('s1', { bodyText: 'queued' });
  assert.equal(socket.sent('SEND_MESSAGE').length, 0, 'nothing is emitted while offline');
  socket.serverAccepts();
  assert.equal(socket.sent('SEND_MESSAGE').length, 0, 'nothing is emitted before the space is subscribed again');
  subscribeOk(socket, 's1');
  const [payload] = socket.sent('SEND_MESSAGE');
  assert.equal(payload.topicId, 's1');
  assert.equal(payload.category, 'chat');
  assert.deepEqual(payload.content, { bodyText: 'queued' });
  const stored = { ...message('s1', 'queued'), loopbackMetadata: payload.loopbackMetadata };
  socket.deliver('MESSAGE_SENT', stored);
  assert.equal((await sending)._id, stored._id);
  assert.equal(got.length, 1);
});

test('SEND_MESSAGE_FAILED rejects the matching send with the server error', async () => {
  const { socket, rt } = setup();
  socket.serverAccepts();
  const sub = rt.subscribe('s1');
  subscribeOk(socket, 's1');
  await sub;
  const first = rt.send('s1', { bodyText: 'a' });
  const second = rt.send('s1', { bodyText: 'b' });
  const [, p2] = socket.sent('SEND_MESSAGE');
  socket.deliver('SEND_MESSAGE_FAILED', { ...p2, error: { code: 'request.rate_limited', message: 'slow', retryAfter: 2 } });
  await assert.rejects(second, (e: unknown) => e instanceof PlazaApiError && e.code === 'request.rate_limited' && e.retryAfter === 2);
  // The other one times out: it was never confirmed.
  await assert.rejects(first, (e: unknown) => e instanceof PlazaApiError && e.code === 'socket.timeout');
});

test('presence builds the roster and answers newcomers; removal unsubscribes', async () => {
  const { socket, rt } = setup();
  const rosters: string[][] = [];
  const removed: string[] = [];
  rt.on('roster', (_space, online) => rosters.push(online.map((p) => p._id)));
  rt.on('unsubscribed', (space, wasRemoved) => wasRemoved && removed.push(space));
  socket.serverAccepts();
  const sub = rt.subscribe('s1');
  subscribeOk(socket, 's1');
  await sub;
  const bob = { _id: 'bob', type: 'user' as const, displayname: 'Bob' };
  socket.deliver('PRESENCE_EVENT_RESPONSE', { category: 'app.event.presence.party.online', topicId: 's1', sender: bob, receivers: [] });
  const reply = socket.sent('SEND_PRESENCE_EVENT').at(-1);
  assert.deepEqual(reply.receivers, [{ _id: 'bob', type: 'user' }]);
  assert.deepEqual(
    rt.online('s1').map((p) => p._id),
    ['bob'],
  );
  socket.deliver('PRESENCE_EVENT_RESPONSE', { category: 'app.event.presence.party.leaves', topicId: 's1', sender: bob });
  assert.deepEqual(rosters, [['bob'], []]);

  socket.deliver('CHANNEL_UNSUBSCRIBED', { channel: { _id: 's1', type: 'topic' } });
  assert.deepEqual(removed, ['s1']);
  assert.equal(rt.isSubscribed('s1'), false);
});

test('topic.updated is reported as a space change, not a message', async () => {
  const { socket, rt, got } = setup();
  const updates: string[] = [];
  rt.on('spaceUpdated', (p) => updates.push(String(p.topicTitle)));
  socket.serverAccepts();
  socket.deliver('MESSAGE_SENT', { category: 'topic.updated', topicId: 's1', topicTitle: 'Renamed', content: {} });
  assert.deepEqual(updates, ['Renamed']);
  assert.equal(got.length, 0);
});

test('the browser going offline drops the socket at once; online reconnects', async () => {
  const target = new EventTarget();
  (globalThis as { window?: unknown }).window = target;
  try {
    const socket = new FakeSocket();
    const statuses: string[] = [];
    const rt = new PlazaRealtime({ token: 't', watchOnline: true, socketFactory: () => socket });
    rt.on('status', (s) => statuses.push(s));
    socket.serverAccepts();
    target.dispatchEvent(new Event('offline'));
    assert.equal(socket.disconnectCalls, 1);
    assert.equal(rt.status, 'offline');
    target.dispatchEvent(new Event('online'));
    assert.equal(socket.connectCalls, 1);
    socket.serverAccepts();
    assert.deepEqual(statuses, ['online', 'offline', 'online']);
    rt.close();
    target.dispatchEvent(new Event('online'));
    assert.equal(socket.connectCalls, 1, 'a closed client stays closed');
  } finally {
    delete (globalThis as { window?: unknown }).window;
  }
});

test('SESSION_ENDED reports why, closes the connection and does not reconnect', () => {
  const { socket, rt } = setup();
  const errors: PlazaApiError[] = [];
  rt.on('error', (e) => errors.push(e));
  socket.serverAccepts();
  socket.deliver('SESSION_ENDED', { code: 'auth.account_disabled', message: 'this account is disabled', reason: 'account_disabled' });
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'auth.account_disabled');
  assert.equal(rt.status, 'offline');
  assert.equal(socket.disconnectCalls, 1, 'the client lets go of the socket');
  const reconnects = socket.connectCalls;
  socket.serverAccepts();
  socket.serverDrops();
  assert.equal(socket.connectCalls, reconnects, 'no reconnection with ended credentials');
});
