import assert from 'node:assert/strict';
import { test } from 'node:test';

import { linkPath, Pager, PlazaClient } from '../src/index.js';
import { fakeFetch } from './helpers.js';

test('linkPath keeps path and query of absolute and relative links', () => {
  assert.equal(linkPath('http://10.0.0.1:8080/api/x?a=1&b=2'), '/api/x?a=1&b=2');
  assert.equal(linkPath('/api/x?a=1'), '/api/x?a=1');
  assert.equal(linkPath('api/x'), '/api/x');
});

test('the space listing follows nextPageUrl cursors until the last page', async () => {
  const pages: Record<string, unknown> = {
    '/api/users/me/spaces?search=team&topictype=group%2Cdirect&filtertype=pinned&size=2': {
      data: [{ _id: 'a' }, { _id: 'b' }],
      nextPageUrl: '/api/users/me/spaces?search=team&pageToken=T1&pageref=1&size=2',
    },
    '/api/users/me/spaces?search=team&pageToken=T1&pageref=1&size=2': {
      data: [{ _id: 'c' }],
      nextPageUrl: 'http://other-host/api/users/me/spaces?pageToken=T2&size=2',
    },
    '/api/users/me/spaces?pageToken=T2&size=2': { data: [{ _id: 'd' }], nextPageUrl: '' },
  };
  const { calls, fetch } = fakeFetch((req) => {
    const path = req.url.replace('http://plaza.test', '');
    const body = pages[path];
    return body ? { body } : { status: 404, body: { code: 'route.not_found', message: path } };
  });
  const client = new PlazaClient({ baseUrl: 'http://plaza.test', token: 't', fetch });
  const pager = client.spaces({ search: 'team', topictype: ['group', 'direct'], pinned: true, size: 2 });
  assert.deepEqual(
    (await pager.next()).map((s) => s._id),
    ['a', 'b'],
  );
  assert.equal(pager.done, false);
  assert.deepEqual(
    (await pager.next()).map((s) => s._id),
    ['c'],
  );
  assert.deepEqual(
    (await pager.next()).map((s) => s._id),
    ['d'],
  );
  assert.equal(pager.done, true);
  assert.deepEqual(await pager.next(), []);
  assert.equal(calls.length, 3, 'no request after the last page');
});

test('concurrent next() calls share one request', async () => {
  let requests = 0;
  const pager = new Pager<number>(
    async () => {
      requests += 1;
      await new Promise((r) => setTimeout(r, 5));
      return { data: [1, 2], nextPageUrl: '/more' };
    },
    async () => {
      requests += 1;
      return { data: [3], nextPageUrl: '' };
    },
  );
  const [a, b] = await Promise.all([pager.next(), pager.next()]);
  assert.deepEqual(a, [1, 2]);
  assert.strictEqual(a, b);
  assert.equal(requests, 1);
  assert.deepEqual(await pager.collect(), [3]);
  assert.equal(requests, 2);
});

test('an empty page ends the list even if it names a next page', async () => {
  const pager = new Pager<number>(
    async () => ({ data: [], nextPageUrl: '/loop' }),
    async () => {
      throw new Error('must not follow');
    },
  );
  assert.deepEqual(await pager.collect(), []);
  assert.equal(pager.done, true);
});

test('a failed page can be retried', async () => {
  let fail = true;
  const pager = new Pager<number>(
    async () => {
      if (fail) throw new Error('offline');
      return { data: [7] };
    },
    async () => ({ data: [] }),
  );
  await assert.rejects(pager.next(), /offline/);
  assert.equal(pager.done, false);
  fail = false;
  assert.deepEqual(await pager.next(), [7]);
  assert.equal(pager.done, true);
});

test('history sends the Spaces filter names and pages back with nextRefObjId', async () => {
  const { calls, fetch } = fakeFetch((req) =>
    req.url.includes('nextRefObjId')
      ? { body: { data: [{ _id: 'm1' }], nextPageUrl: '' } }
      : {
          body: { data: [{ _id: 'm3' }, { _id: 'm2' }], nextPageUrl: '/api/spaces/s1/messages/query?size=2&category=chat&nextRefObjId=m2' },
        },
  );
  const client = new PlazaClient({ token: 't', fetch });
  const all = await client.history('s1', { size: 2, category: 'chat', file_only: false }).collect();
  assert.deepEqual(
    all.map((m) => m._id),
    ['m3', 'm2', 'm1'],
  );
  assert.equal(calls[0]!.url, '/api/spaces/s1/messages/query?size=2&category=chat&file_only=false');
  assert.equal(calls[1]!.url, '/api/spaces/s1/messages/query?size=2&category=chat&nextRefObjId=m2');
});
