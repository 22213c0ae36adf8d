import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildQuery, errorFromResponse, PlazaApiError, PlazaClient, normaliseDate, taskBody } from '../src/index.js';
import { fakeFetch } from './helpers.js';

test('buildQuery leaves out absent values and joins lists', () => {
  assert.equal(buildQuery({ a: 1, b: undefined, c: '', d: null, e: ['group', 'direct'], f: 'x y' }), '?a=1&e=group%2Cdirect&f=x+y');
  assert.equal(buildQuery({}), '');
  assert.equal(buildQuery(undefined), '');
});

test('requests carry the token scheme, JSON body and the PIN header', async () => {
  const { calls, fetch } = fakeFetch(() => ({ body: { topic: { _id: 's1', status: 0 } } }));
  const client = new PlazaClient({ baseUrl: 'http://plaza.test/', token: 'T0K', fetch });
  const space = await client.join('s1', '4321');
  assert.equal(space._id, 's1');
  assert.equal(calls[0]!.url, 'http://plaza.test/api/spaces/s1/join');
  assert.equal(calls[0]!.headers.authorization, 'jwt T0K');
  assert.equal(calls[0]!.headers['spaces-x-space-password'], '4321');
  await client.join('s1');
  assert.equal(calls[1]!.headers['spaces-x-space-password'], undefined);

  client.tokenType = 'bearer';
  await client.setRole('s1', { member: 'u2', memberType: 'userId' }, 'admin');
  assert.equal(calls[2]!.method, 'POST');
  assert.equal(calls[2]!.url, 'http://plaza.test/api/spaces/s1/attendees/userId/u2');
  assert.equal(calls[2]!.headers.authorization, 'bearer T0K');
  assert.deepEqual(calls[2]!.body, { role: 'admin' });
});

test('login keeps the token; logout revokes it and forgets it even if refused', async () => {
  let refuse = false;
  const { calls, fetch } = fakeFetch((req) => {
    if (req.url.endsWith('/api/auth/login')) return { body: { token: 'new', tokenType: 'jwt', user: { _id: 'u1' } } };
    if (refuse) return { status: 401, body: { code: 'auth.invalid_token', message: 'revoked' } };
    return { status: 204 };
  });
  const client = new PlazaClient({ fetch });
  await client.login('a@example.com', 'password1');
  assert.equal(calls[0]!.headers.authorization, undefined, 'login sends no Authorization');
  assert.equal(client.token, 'new');
  await client.logout();
  assert.equal(calls[1]!.headers.authorization, 'jwt new');
  assert.equal(client.token, null);
  client.token = 'stale';
  refuse = true;
  await assert.rejects(client.logout(), (e: unknown) => e instanceof PlazaApiError && e.code === 'auth.invalid_token');
  assert.equal(client.token, null);
});

test('a refusal becomes PlazaApiError with the server code, fields and retryAfter', async () => {
  const { fetch } = fakeFetch(() => ({
    status: 429,
    body: { code: 'request.rate_limited', message: 'slow down', fields: [{ field: 'content', message: 'too long' }] },
    headers: { 'retry-after': '3', 'x-request-id': 'req-1' },
  }));
  const seen: PlazaApiError[] = [];
  const client = new PlazaClient({ token: 't', fetch, onError: (e) => seen.push(e) });
  const error = await client.sendChat('s1', { bodyText: 'hi' }).catch((e: unknown) => e);
  assert.ok(error instanceof PlazaApiError);
  assert.equal(error.status, 429);
  assert.equal(error.code, 'request.rate_limited');
  assert.equal(error.message, 'slow down');
  assert.equal(error.retryAfter, 3);
  assert.equal(error.requestId, 'req-1');
  assert.equal(error.describe(), 'slow down; content: too long');
  assert.equal(seen.length, 1);
});

test('errors that are not Plaza JSON still get a code', () => {
  const html = errorFromResponse(502, '<html>Bad gateway</html>');
  assert.equal(html.code, 'http.502');
  assert.match(html.message, /Bad gateway/);
  const empty = errorFromResponse(500, '');
  assert.equal(empty.message, 'the server answered 500');
  const oauth = errorFromResponse(400, JSON.stringify({ error: 'invalid_grant', error_description: 'expired' }));
  assert.equal(oauth.code, 'oauth.invalid_grant');
  assert.equal(oauth.message, 'expired');
});

test('an unreachable server is network.error with status 0', async () => {
  const client = new PlazaClient({
    fetch: (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch,
  });
  const error = await client.me().catch((e: unknown) => e);
  assert.ok(error instanceof PlazaApiError);
  assert.equal(error.status, 0);
  assert.equal(error.code, 'network.error');
});

test('activeMeeting answers null for meeting.not_found but throws other refusals', async () => {
  let code = 'meeting.not_found';
  const { fetch } = fakeFetch(() => ({ status: code === 'meeting.not_found' ? 404 : 403, body: { code, message: 'x' } }));
  const client = new PlazaClient({ token: 't', fetch });
  assert.equal(await client.activeMeeting('s1'), null);
  code = 'permission.denied';
  await assert.rejects(client.activeMeeting('s1'), (e: unknown) => e instanceof PlazaApiError && e.code === 'permission.denied');
});

test('task bodies carry content and the top-level REST fields', () => {
  const body = taskBody({ title: 'Ship', assignees: ['u1', 'u2'], dueDate: '2030-01-31', completed: false });
  assert.deepEqual(body, {
    content: {
      bodyText: 'Ship',
      description: '',
      status: 'pending',
      assignees: [{ _id: 'u1' }, { _id: 'u2' }],
      dueDate: '2030-01-31T23:59:59.000Z',
    },
    assignees: ['u1', 'u2'],
    status: 0,
    dueDate: '2030-01-31T23:59:59.000Z',
  });
  assert.equal((taskBody({ title: 'Done', completed: true }) as { status: number }).status, 1);
  assert.throws(() => normaliseDate('next tuesday'), PlazaApiError);
});

test('createSpace splits the space from the invitation outcomes', async () => {
  const { calls, fetch } = fakeFetch(() => ({
    status: 201,
    body: {
      data: [
        { topicId: 's9', topic: { _id: 's9', title: 'Team', status: 0 } },
        {
          topicId: 's9',
          inviteeType: 'email',
          invitee: 'x@example.com',
          role: 'member',
          status: 'pending',
          inviteId: 'i1',
          joinUrl: 'http://h/api/spaces/invites/i1/join',
        },
      ],
    },
  }));
  const client = new PlazaClient({ token: 't', fetch });
  const { space, invites } = await client.createSpace('Team', { invitees: [{ inviteeType: 'email', invitee: 'x@example.com' }] });
  assert.equal(space._id, 's9');
  assert.equal(invites.length, 1);
  assert.equal(invites[0]!.inviteId, 'i1');
  assert.deepEqual(calls[0]!.body, {
    topic: { title: 'Team', type: 'group' },
    invitees: [{ inviteeType: 'email', invitee: 'x@example.com' }],
  });
});

test('upload asks for a signed URL, PUTs with progress and builds the attachment', async () => {
  const { calls, fetch } = fakeFetch((req) => {
    if (req.url.endsWith('/api/files/getuploadurl')) {
      return { body: { data: [{ url: 'http://elsewhere:8080/api/files/upload/k1?expires=1&signature=s', fileKey: 'k1' }] } };
    }
    return { status: 500 };
  });
  const puts: { url: string; type: string; size: number }[] = [];
  const progress: number[] = [];
  const client = new PlazaClient({
    baseUrl: 'http://plaza.test',
    token: 't',
    fetch,
    put: async (url, body, type, onProgress) => {
      puts.push({ url, type, size: body.size });
      onProgress?.({ loaded: 2, total: 4, fraction: 0.5 });
      onProgress?.({ loaded: 4, total: 4, fraction: 1 });
      return { fileKey: 'k1', contentType: type, contentLength: body.size, thumbnailFile: 'k1-thumb' };
    },
  });
  const file = Object.assign(new Blob([new Uint8Array([1, 2, 3, 4])], { type: 'image/png' }), { name: 'dot.png' });
  const upload = await client.upload(file, { topicId: 's1', onProgress: (p) => progress.push(p.fraction) });
  assert.deepEqual(calls[0]!.body, { files: [{ 'Content-Type': 'image/png', 'Content-Length': 4, name: 'dot.png' }], topicId: 's1' });
  // The signed URL's path is used on the client's own base URL.
  assert.deepEqual(puts, [{ url: 'http://plaza.test/api/files/upload/k1?expires=1&signature=s', type: 'image/png', size: 4 }]);
  assert.deepEqual(progress, [0.5, 1]);
  assert.deepEqual(upload.attachment, {
    fileId: 'k1',
    fileSize: 4,
    fileType: 'image',
    name: 'dot.png',
    provider: 'native',
    providerFileType: 'image/png',
    thumbnailFile: 'k1-thumb',
  });
});

test('setGuestHistory toggles only the guest history cut in restrict', async () => {
  const { calls, fetch } = fakeFetch(() => ({ body: { _id: 's1', status: 0 } }));
  const client = new PlazaClient({ baseUrl: 'http://plaza.test', token: 'T', fetch });
  const space = { _id: 's1', status: 0, restrict: ['deny_guest_access_history_msg', 'other'] };
  await client.setGuestHistory(space, true);
  assert.equal(calls[0]!.url, 'http://plaza.test/api/spaces/s1');
  assert.deepEqual(calls[0]!.body, { restrict: ['other'] });
  await client.setGuestHistory({ ...space, restrict: ['other'] }, false);
  assert.deepEqual(calls[1]!.body, { restrict: ['other', 'deny_guest_access_history_msg'] });
});
