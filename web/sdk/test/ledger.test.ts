import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compareIds, mergeMessages, MessageLedger, Roster } from '../src/index.js';

const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms).toISOString();

test('the ledger reports new, duplicate and changed messages', () => {
  const ledger = new MessageLedger();
  const m = { _id: '65a000000000000000000001', topicId: 's', created: at(0), modified: at(0) };
  assert.equal(ledger.observe(m), 'new');
  assert.equal(ledger.observe({ ...m }), 'duplicate');
  assert.equal(ledger.observe({ ...m, modified: at(5) }), 'changed');
  assert.equal(ledger.observe({ ...m, modified: at(5) }), 'duplicate');
  // An older copy arriving late (a catch-up after the edit) is not a change.
  assert.equal(ledger.observe({ ...m, modified: at(1) }), 'duplicate');
});

test('the ledger keeps the newest id per space, whatever the arrival order', () => {
  const ledger = new MessageLedger();
  ledger.observe({ _id: '65a000000000000000000002', topicId: 's1', modified: at(0) });
  ledger.observe({ _id: '65a000000000000000000001', topicId: 's1', modified: at(0) });
  ledger.observe({ _id: '65a0000000000000000000ff', topicId: 's2', modified: at(0) });
  ledger.observe({ _id: 'not-an-object-id', topicId: 's1', modified: at(0) });
  assert.equal(ledger.newestIn('s1'), '65a000000000000000000002');
  assert.equal(ledger.newestIn('s2'), '65a0000000000000000000ff');
  assert.equal(ledger.newestIn('s3'), undefined);
});

test('the ledger forgets the least recently seen beyond its limit', () => {
  const ledger = new MessageLedger(2);
  ledger.observe({ _id: 'a', topicId: 's', modified: at(0) });
  ledger.observe({ _id: 'b', topicId: 's', modified: at(0) });
  ledger.observe({ _id: 'c', topicId: 's', modified: at(0) });
  assert.equal(ledger.has('a'), false);
  assert.equal(ledger.has('c'), true);
});

test('compareIds orders by creation', () => {
  assert.ok(compareIds('65a000000000000000000002', '65A000000000000000000001') > 0);
  assert.equal(compareIds('65a000000000000000000001', '65A000000000000000000001'), 0);
});

test('mergeMessages keeps one copy per id, oldest first, newest version wins', () => {
  const a = { _id: 'a', created: at(0), modified: at(0), v: 1 };
  const b = { _id: 'b', created: at(10), modified: at(10), v: 1 };
  const a2 = { ...a, modified: at(20), v: 2 };
  const aOld = { ...a, v: 0, modified: at(-1) };
  const merged = mergeMessages([b, a], [a2, b, aOld]);
  assert.deepEqual(
    merged.map((m) => [m._id, m.v]),
    [
      ['a', 2],
      ['b', 1],
    ],
  );
});

test('the roster answers newcomers, ignores itself and drops those who leave', () => {
  const roster = new Roster('me');
  const ann = { _id: 'ann', type: 'user' as const, displayname: 'Ann' };
  const online = 'app.event.presence.party.online';
  assert.deepEqual(roster.apply({ category: online, topicId: 's', sender: { _id: 'me', type: 'user' } }), { changed: false });
  assert.deepEqual(roster.apply({ category: online, topicId: 's', sender: ann, receivers: [] }), { changed: true, replyTo: ann });
  // A targeted answer to our own announcement needs no reply.
  assert.deepEqual(roster.apply({ category: online, topicId: 's', sender: ann, receivers: [{ _id: 'me' }] }), { changed: false });
  assert.ok(roster.isOnline('ann'));
  assert.equal(roster.apply({ category: 'party.typing', topicId: 's', sender: ann }).typing, ann);
  assert.deepEqual(roster.apply({ category: 'app.event.presence.party.leaves', topicId: 's', sender: ann }), { changed: true });
  assert.equal(roster.isOnline('ann'), false);
  assert.deepEqual(roster.online(), []);
});
