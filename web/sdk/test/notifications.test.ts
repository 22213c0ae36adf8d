import assert from 'node:assert/strict';
import { test } from 'node:test';

import { mentionsUser, notificationReason, notificationText, PlazaApiError, PlazaClient, unreadTitle } from '../src/index.js';
import { fakeFetch, message } from './helpers.js';

const ME = '65a0000000000000000000b0';
const mention = { id: ME, type: 'user', title: 'Bob' };

test('a message in a direct space is for me; the same in a group space is not', () => {
  assert.equal(notificationReason(message('s1', 'hi', { topicType: 'direct' }), ME), 'direct');
  assert.equal(notificationReason(message('s1', 'hi'), ME, { type: 'direct' }), 'direct');
  assert.equal(notificationReason(message('s1', 'hi', { topicType: 'group' }), ME, { type: 'group' }), null);
  assert.equal(notificationReason(message('s1', 'hi'), ME), null);
});

test('a mention of me, in content.mentions, top-level mentions or a <mention> tag, is for me', () => {
  const inContent = message('s1', 'Thanks @Bob', { topicType: 'group' });
  inContent.content = { bodyText: 'Thanks @Bob', mentions: [mention] } as typeof inContent.content;
  assert.equal(notificationReason(inContent, ME), 'mention');
  assert.equal(notificationReason(message('s1', 'Thanks @Bob', { mentions: [mention] }), ME), 'mention');
  const tagged = message('s1', `<p>Thanks <mention id="${ME}" type="user" value="Bob">@Bob</mention></p>`);
  assert.equal(notificationReason(tagged, ME), 'mention');
  const singleQuoted = message('s1', `<mention type='user' id='${ME}'>@Bob</mention>`);
  assert.equal(mentionsUser(singleQuoted, ME), true);
});

test('mentions of someone else, or ids that only start like mine, are not for me', () => {
  const other = message('s1', 'Thanks @Cy', { mentions: [{ id: '65a0000000000000000000c0', type: 'user', title: 'Cy' }] });
  assert.equal(notificationReason(other, ME), null);
  assert.equal(mentionsUser(message('s1', `<mention id="${ME}0">@Bobby</mention>`), ME), false);
  assert.equal(mentionsUser(message('s1', `my id is ${ME}`), ME), false);
  assert.equal(mentionsUser(message('s1', 'x', { mentions: 'not a list' }), ME), false);
  assert.equal(mentionsUser(message('s1', 'x'), ''), false);
});

test('my own messages, muted spaces, meetings, system and deleted messages never notify', () => {
  const mine = message('s1', 'hi', { topicType: 'direct', sender: { _id: ME, type: 'user', displayname: 'Bob' } });
  assert.equal(notificationReason(mine, ME), null);
  assert.equal(notificationReason(message('s1', 'hi', { topicType: 'direct' }), ME, { type: 'direct', notification: false }), null);
  assert.equal(notificationReason(message('s1', 'Hey @Bob', { mentions: [mention] }), ME, { notification: false }), null);
  assert.equal(notificationReason(message('s1', 'Hey @Bob', { mentions: [mention] }), ME, { notification: null }), 'mention');
  assert.equal(notificationReason(message('s1', 'Hey @Bob', { mentions: [mention] }), ME, { notification: true }), 'mention');
  assert.equal(notificationReason(message('s1', '', { topicType: 'direct', category: 'meeting' }), ME), null);
  const system = message('s1', 'x', { topicType: 'direct', sender: { _id: 'srv', type: 'spaceserver' } });
  assert.equal(notificationReason(system, ME), null);
  assert.equal(notificationReason(message('s1', '', { topicType: 'direct', deleted: true }), ME), null);
});

test('notification text turns mention tags into @names and drops other markup', () => {
  assert.equal(
    notificationText(`<p>Thanks <mention id="${ME}" value="Bob Jones">@Bob</mention> &amp; all</p><p>see you</p>`),
    'Thanks @Bob Jones & all see you',
  );
  assert.equal(notificationText(`<mention id="${ME}">@Bob</mention>, look`), '@Bob, look');
  assert.equal(notificationText('plain @Bob text'), 'plain @Bob text');
  assert.equal(notificationText(undefined), '');
  assert.equal(notificationText('x'.repeat(300), 10), `${'x'.repeat(9)}…`);
});

test('the tab title carries the unread count', () => {
  assert.equal(unreadTitle(0), 'Plaza');
  assert.equal(unreadTitle(3), '(3) Plaza');
  assert.equal(unreadTitle(250, 'Team'), '(99+) Team');
  assert.equal(unreadTitle(Number.NaN), 'Plaza');
});

test('mute, settings and password reset calls', async () => {
  const { calls, fetch } = fakeFetch((req) => {
    if (req.url.endsWith('/password/forgot')) return { status: 202, body: { mailSent: true } };
    if (req.url.endsWith('/password/reset')) return { status: 400, body: { code: 'auth.reset_token_invalid', message: 'used' } };
    if (req.url.endsWith('/settings') && req.method === 'GET') return { body: { data: [{ _id: 'x', muteaudio: false }] } };
    if (req.url.endsWith('/settings')) return { body: { data: { _id: 'x', emailDigest: false } } };
    return { body: { data: { topicId: 's1', notification: false } } };
  });
  const client = new PlazaClient({ token: 't', fetch });
  await client.setNotification('s1', false);
  assert.equal(calls[0]!.url, '/api/users/me/topics/s1/preference');
  assert.deepEqual(calls[0]!.body, { notification: false });
  assert.deepEqual(await client.forgotPassword('bob@example.com'), { mailSent: true });
  assert.equal(calls[1]!.headers.authorization, undefined, 'the forgot call is anonymous');
  assert.deepEqual(calls[1]!.body, { username: 'bob@example.com' });
  await assert.rejects(
    client.resetPassword('tok', 'new password'),
    (e: unknown) => e instanceof PlazaApiError && e.code === 'auth.reset_token_invalid',
  );
  assert.deepEqual(calls[2]!.body, { token: 'tok', password: 'new password' });
  assert.equal((await client.settings()).emailDigest, undefined);
  assert.equal((await client.updateSettings({ emailDigest: false })).emailDigest, false);
  assert.deepEqual(calls[4]!.body, { emailDigest: false });
});
