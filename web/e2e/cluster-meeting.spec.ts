// A meeting across three Plaza nodes sharing PostgreSQL and Redis: Ann's browser is on node A
// (PLAZA_URL), Bob's on node B (PLAZA_URL_B), and node C (PLAZA_URL_HOST) hosts the space's
// media, their signalling relayed to it. Node C is killed (SIGKILL to PLAZA_HOST_PID): the
// server ends both media sessions with reason `moved`, each page's MediaSession joins again
// by itself (a new host), and both receive each other's audio and video again without a
// click; nobody leaves and comes back more than once (the drop grace keeps their place).
// Run by the Rust cluster test, which starts the nodes and sets those variables; the
// one-node browser run skips it.
import type { Page, WebSocket } from '@playwright/test';

import { PlazaClient } from '../sdk/src/index.js';
import { baseUrl, createSpace, expect, inviteByEmail, PASSWORD, register, screenshot, test, unique } from './fixtures.js';
import { expectReceiving, growth, joinMeeting } from './meetings.js';

const nodeB = (process.env.PLAZA_URL_B ?? '').replace(/\/+$/, '');
const host = (process.env.PLAZA_URL_HOST ?? '').replace(/\/+$/, '');
const hostPid = Number(process.env.PLAZA_HOST_PID);

/**
 * How long after the host's death both must receive each other's media again: the server's
 * noticing (at worst `realtime.node_timeout_ms`), the rejoin, ICE and two stats samples.
 * PLAZA_MEDIA_RECOVERY_MS overrides it (for a cluster with a longer node timeout).
 */
const RECOVERY_MS = Number(process.env.PLAZA_MEDIA_RECOVERY_MS) || 20_000;

test.skip(!nodeB, 'needs three Plaza nodes: PLAZA_URL_B, PLAZA_URL_HOST and PLAZA_HOST_PID (set by the cluster test)');
test.describe.configure({ mode: 'serial' });

interface MeetingEvent {
  category: string;
  attendee: string;
}

/**
 * Records the meeting events (`MEDIA_SESSION_RESPONSE`) the page's sockets receive, from
 * every socket the page opens: Socket.IO's text frames `42/chat,["EVENT",payload]`.
 */
function recordMeetingEvents(page: Page): MeetingEvent[] {
  const events: MeetingEvent[] = [];
  page.on('websocket', (ws: WebSocket) =>
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') return;
      const packet = /^42(?:\/[^,[]*,)?\d*(\[[\s\S]*\])$/.exec(payload);
      if (!packet) return;
      try {
        const [name, body] = JSON.parse(packet[1]!) as [string, { category?: string; content?: { attendee?: { _id?: string } } }];
        if (name !== 'MEDIA_SESSION_RESPONSE' || !body?.category?.startsWith('app.event.')) return;
        events.push({ category: body.category, attendee: body.content?.attendee?._id ?? '' });
      } catch {
        // Not JSON: not an event of ours.
      }
    }),
  );
  return events;
}

/** The address (ip:port) of the first candidate in the server's SDP: which node's SFU the page's media is on. */
function mediaHost(page: Page): Promise<string> {
  return page.evaluate(() => {
    const pc = window.__plazaMedia?.pc as unknown as RTCPeerConnection | null | undefined;
    const candidate = (pc?.remoteDescription?.sdp ?? '').split('\r\n').find((l) => l.startsWith('a=candidate:'));
    const [, , , , address, port] = candidate?.split(' ') ?? [];
    return address && port ? `${address}:${port}` : '';
  });
}

/** The page's media session id and connection state. */
const mediaState = (page: Page) =>
  page.evaluate(() => ({ sessionId: window.__plazaMedia?.sessionId ?? '', connection: window.__plazaMedia?.connection ?? '' }));

test('a meeting across three nodes survives the death of the node hosting its media', async ({ open }) => {
  test.setTimeout(70_000 + RECOVERY_MS);
  expect(host, 'PLAZA_URL_HOST names the node that hosts the media').toMatch(/^https?:\/\//);
  expect(Number.isInteger(hostPid) && hostPid > 0, `PLAZA_HOST_PID is the hosting node's process id (${process.env.PLAZA_HOST_PID})`).toBe(
    true,
  );

  const ann = await open();
  const bob = await open();
  const annEvents = recordMeetingEvents(ann);
  const bobEvents = recordMeetingEvents(bob);
  const a = await register(ann, 'Ann');
  const b = await register(bob, 'Bob', undefined, { at: nodeB });
  const title = unique('cluster-meeting');
  const spaceId = await createSpace(ann, title);
  await inviteByEmail(ann, bob, b.email, title);
  expect(new URL(bob.url()).origin, "Bob's page stays on node B").toBe(new URL(nodeB).origin);

  // Ann's REST client on node A (for the meeting's record afterwards), and both user ids.
  const rest = new PlazaClient({ baseUrl });
  await rest.login(a.email, PASSWORD);
  const annId = (await rest.me())._id;
  const bobRest = new PlazaClient({ baseUrl: nodeB });
  await bobRest.login(b.email, PASSWORD);
  const bobId = (await bobRest.me())._id;

  await test.step('node C becomes the media host: the first node to issue a media token for the space', async () => {
    const atHost = new PlazaClient({ baseUrl: host });
    await atHost.login(a.email, PASSWORD);
    const token = await atHost.mediaToken(spaceId);
    expect(token.token, 'node C issued a media token').toBeTruthy();
  });

  let before = '';
  let sessionsBefore = { ann: '', bob: '' };
  await test.step('Ann (node A) and Bob (node B) join; each receives the other', async () => {
    await joinMeeting(ann, true);
    await joinMeeting(bob, false);
    await ann.getByRole('heading', { name: 'Attendees (2)' }).waitFor({ timeout: 20_000 });
    await expectReceiving(ann, a.name, b.name, { timeout: 20_000 });
    await expectReceiving(bob, b.name, a.name, { timeout: 20_000 });
    before = await mediaHost(ann);
    expect(before, "the server's SDP names its media address").not.toBe('');
    expect(await mediaHost(bob), "Bob's media is on the same host as Ann's").toBe(before);
    sessionsBefore = { ann: (await mediaState(ann)).sessionId, bob: (await mediaState(bob)).sessionId };
    console.log(`     media host before: ${before}; sessions ${sessionsBefore.ann} (Ann), ${sessionsBefore.bob} (Bob)`);
  });

  await test.step('node C dies: both receive each other again, without a click', async () => {
    const killed = Date.now();
    process.kill(hostPid, 'SIGKILL');
    const left = () => Math.max(1_000, killed + RECOVERY_MS - Date.now());
    /** The page's media session joined again by itself, and `from`'s media flows to it again. */
    const back = async (page: Page, who: string, from: string, previous: string) => {
      await expect
        .poll(
          async () => {
            const { sessionId } = await mediaState(page);
            return sessionId !== '' && sessionId !== previous;
          },
          { message: `${who}'s media session joins again (a new session id)`, timeout: left(), intervals: [250] },
        )
        .toBe(true);
      await expectReceiving(page, who, from, { timeout: left() });
    };
    // Both sides in parallel, within the same time.
    await Promise.all([back(ann, a.name, b.name, sessionsBefore.ann), back(bob, b.name, a.name, sessionsBefore.bob)]);
    console.log(`     media back on both pages ${((Date.now() - killed) / 1000).toFixed(1)} s after the host died`);
    const after = { ann: await mediaState(ann), bob: await mediaState(bob) };
    expect(after.ann.connection, "Ann's media is connected").toBe('connected');
    expect(after.bob.connection, "Bob's media is connected").toBe('connected');
    // What each receives comes from the other's new session, on the new host.
    expect((await growth(ann, b.name, 'video')).sessions).toEqual([after.bob.sessionId]);
    expect((await growth(bob, a.name, 'video')).sessions).toEqual([after.ann.sessionId]);
    const now = await mediaHost(ann);
    console.log(`     media host after: ${now}`);
    expect(now, 'the media moved to another node').not.toBe(before);
    expect(await mediaHost(bob), "Bob's media is on Ann's new host").toBe(now);
    // The rejoin showed no error, and each page shows the other's tile again.
    for (const [page, other] of [
      [ann, b.name],
      [bob, a.name],
    ] as const) {
      await expect(page.getByRole('region', { name: 'Meeting', exact: true }).getByRole('alert')).toHaveCount(0);
      await expect(page.getByText('Reconnecting media…')).toHaveCount(0);
      await expect(page.getByRole('list', { name: 'Participants' }).getByRole('listitem', { name: other, exact: true })).toBeVisible();
    }
    await screenshot(ann, 'cluster-meeting-after-move');
  });

  await test.step('each person left and came back at most once; both are still in the meeting', async () => {
    await ann.getByRole('heading', { name: 'Attendees (2)' }).waitFor();
    const meeting = await rest.activeMeeting(spaceId);
    expect(meeting, 'the meeting still runs').not.toBeNull();
    for (const [id, name] of [
      [annId, a.name],
      [bobId, b.name],
    ] as const) {
      const attendee = meeting!.content.attendees.find((x) => x._id === id);
      expect(attendee, `${name} is an attendee`).toBeTruthy();
      expect(attendee?.leftTime ?? null, `${name} is still in the meeting`).toBeNull();
    }
    expect(
      annEvents.some((e) => e.category === 'app.event.attendee.added' && e.attendee === bobId),
      "Ann's page saw Bob join (the events are recorded)",
    ).toBe(true);
    for (const [page, events] of [
      ['Ann', annEvents],
      ['Bob', bobEvents],
    ] as const) {
      const count = (category: string, id: string) => events.filter((e) => e.category === category && e.attendee === id).length;
      for (const [id, name] of [
        [annId, a.name],
        [bobId, b.name],
      ] as const) {
        const added = count('app.event.attendee.added', id);
        const left = count('app.event.attendee.left', id);
        console.log(`     at ${page}'s page: ${name} added ${added}×, left ${left}×`);
        expect(left, `${name} left at most once (seen at ${page}'s page)`).toBeLessThanOrEqual(1);
        expect(added, `${name} was added at most once more than they left (seen at ${page}'s page)`).toBeLessThanOrEqual(left + 1);
      }
      const ended = events.filter((e) => e.category === 'app.event.meeting.ended').length;
      console.log(
        `     at ${page}'s page: meeting started ${events.filter((e) => e.category === 'app.event.meeting.started').length}×, ended ${ended}×`,
      );
    }
  });
});
