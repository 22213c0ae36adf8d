import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DirectCalls, PlazaRealtime, type DirectCall } from '../src/index.js';
import { FakeSocket } from './helpers.js';

const ANN = { _id: 'ann', type: 'user' as const, displayname: 'Ann' };
const BOB = { _id: 'bob', type: 'user' as const, displayname: 'Bob' };

/** One person's calls on a fake socket; `server(...)` plays a `MEDIA_SESSION_RESPONSE`. */
function setup(self = ANN, ringTimeoutMs?: number) {
  const socket = new FakeSocket();
  const rt = new PlazaRealtime({ token: 't', selfId: self._id, socketFactory: () => socket });
  socket.serverAccepts();
  let n = 0;
  let events = 0;
  const calls = new DirectCalls({
    realtime: rt,
    selfId: self._id,
    newId: () => `call-${++n}`,
    ...(ringTimeoutMs ? { ringTimeoutMs } : {}),
  });
  const changes: (DirectCall | null)[] = [];
  calls.on('change', (c) => changes.push(c));
  const server = (category: string, spaceCallId: string, sender: typeof ANN | null, content: Record<string, unknown> = {}) =>
    socket.deliver('MEDIA_SESSION_RESPONSE', {
      _id: `e${++events}`,
      category,
      topicId: 'd1',
      content: sender ? content : { ...content, spaceCallId },
      spaceCallId,
      ...(sender ? { sender } : {}),
    });
  const sent = () => socket.sent('SEND_MEDIA_SESSION_EVENTS').map((p) => [p.category, p.spaceCallId, p.topicId]);
  const current = (): DirectCall | null => calls.current;
  return { socket, calls, changes, server, sent, current };
}

test('a call rings, the callee accepts, and the caller is told', () => {
  const { calls, server, sent, current } = setup();
  const call = calls.call('d1', BOB);
  assert.deepEqual(call, { id: 'call-1', spaceId: 'd1', direction: 'outgoing', peer: BOB, status: 'ringing' });
  assert.deepEqual(sent(), [['space.call.offer', 'call-1', 'd1']]);
  assert.equal(calls.busy, true);
  // Our own offer comes back to us, with the server's `offer.sent`: still ringing.
  server('space.call.offer', 'call-1', ANN);
  server('space.call.offer.sent', 'call-1', null);
  assert.equal(current()?.status, 'ringing');
  server('space.call.accepted', 'call-1', BOB);
  assert.equal(current()?.status, 'active');
  server('space.call.offer.accepted', 'call-1', null);
  assert.equal(current()?.status, 'active');
  // The callee hangs up.
  server('space.call.ended', 'call-1', BOB);
  assert.deepEqual(current(), { ...call, status: 'over', outcome: 'ended' });
  assert.equal(calls.busy, false);
  calls.dismiss();
  assert.equal(current(), null);
});

test('the caller learns of a decline, a busy callee, and a call nobody answered', () => {
  const { calls, server, current } = setup();
  calls.call('d1', BOB);
  server('space.call.rejected', 'call-1', BOB);
  assert.equal(current()?.outcome, 'declined');
  calls.call('d1', BOB);
  server('space.call.rejected', 'call-2', BOB, { reason: 'busy' });
  assert.equal(current()?.outcome, 'busy');
  calls.call('d1', BOB);
  server('space.call.not.answered', 'call-3', null);
  assert.deepEqual(current(), { id: 'call-3', spaceId: 'd1', direction: 'outgoing', peer: BOB, status: 'over', outcome: 'unanswered' });
  // Events of other calls change nothing.
  server('space.call.accepted', 'call-1', BOB);
  assert.equal(current()?.outcome, 'unanswered');
});

test('the caller cancels, and hangs up an active call', () => {
  const { calls, server, sent, changes, current } = setup();
  calls.call('d1', BOB);
  calls.cancel();
  assert.equal(current(), null);
  calls.call('d1', BOB);
  server('space.call.accepted', 'call-2', BOB);
  calls.hangUp();
  assert.equal(current(), null);
  assert.deepEqual(sent(), [
    ['space.call.offer', 'call-1', 'd1'],
    ['space.call.cancelled', 'call-1', 'd1'],
    ['space.call.offer', 'call-2', 'd1'],
    ['space.call.ended', 'call-2', 'd1'],
  ]);
  assert.deepEqual(
    changes.map((c) => c?.status ?? null),
    ['ringing', null, 'ringing', 'active', null],
  );
  assert.throws(() => {
    calls.call('d1', BOB);
    calls.call('d1', BOB);
  }, /already/);
});

test('an incoming call rings until accepted, declined, cancelled or rung out', () => {
  const { calls, server, sent, current } = setup(BOB);
  server('space.call.offer', 'c1', ANN);
  assert.deepEqual(current(), { id: 'c1', spaceId: 'd1', direction: 'incoming', peer: ANN, status: 'ringing' });
  calls.accept();
  assert.equal(current()?.status, 'active');
  server('space.call.accepted', 'c1', BOB); // our own answer, back
  server('space.call.offer.accepted', 'c1', null);
  assert.equal(current()?.status, 'active');
  server('space.call.ended', 'c1', ANN);
  assert.equal(current()?.outcome, 'ended');

  server('space.call.offer', 'c2', ANN);
  calls.decline();
  assert.equal(current(), null);

  server('space.call.offer', 'c3', ANN);
  server('space.call.cancelled', 'c3', ANN);
  assert.equal(current()?.outcome, 'missed');

  server('space.call.offer', 'c4', ANN);
  server('space.call.not.answered', 'c4', null);
  assert.equal(current()?.outcome, 'missed');
  assert.deepEqual(sent(), [
    ['space.call.accepted', 'c1', 'd1'],
    ['space.call.rejected', 'c2', 'd1'],
  ]);
});

test('an answer on another of our devices stops the ringing; a second caller finds us busy', () => {
  const { calls, server, sent, socket, current } = setup(BOB);
  server('space.call.offer', 'c1', ANN);
  server('space.call.accepted', 'c1', BOB);
  assert.equal(current(), null, 'accepted elsewhere');
  server('space.call.offer', 'c2', ANN);
  server('space.call.rejected', 'c2', BOB);
  assert.equal(current(), null, 'declined elsewhere');

  server('space.call.offer', 'c3', ANN);
  calls.accept();
  server('space.call.offer', 'c4', { _id: 'cat', type: 'user', displayname: 'Cat' });
  assert.equal(current()?.id, 'c3');
  assert.deepEqual(sent().at(-1), ['space.call.rejected', 'c4', 'd1']);
  assert.deepEqual(socket.sent('SEND_MEDIA_SESSION_EVENTS').at(-1).content, { reason: 'busy' });
});

test('a call whose answer never comes stops ringing by itself', async () => {
  const { calls, sent, current } = setup(ANN, 20);
  calls.call('d1', BOB);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(current()?.outcome, 'unanswered');
  assert.deepEqual(sent().at(-1), ['space.call.cancelled', 'call-1', 'd1']);
  calls.close();
});
