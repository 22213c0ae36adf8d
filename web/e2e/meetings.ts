// What the meeting specs share: joining a space's meeting through the UI, and judging the
// media a page receives by RTCPeerConnection stats (`window.__plazaMedia`, the page's
// MediaSession, whose `inboundStats()` reads the receivers of its current connection).
import type { Page } from '@playwright/test';

import { expect, openTab } from './fixtures.js';

export interface Row {
  name: string;
  sessionId: string;
  kind: 'audio' | 'video';
  mid: string;
  bytesReceived: number;
  framesDecoded: number;
  totalAudioEnergy: number;
}

/** inbound-rtp per remote track on this page, named by its publisher. */
export function inbound(page: Page): Promise<Row[]> {
  return page.evaluate(async () => {
    const media = window.__plazaMedia;
    if (!media) return [];
    const names = new Map(media.participants.map((p) => [p.streamId ?? p.sessionId, p.displayname ?? '']));
    return (await media.inboundStats()).map((r) => ({ ...r, name: names.get(r.sessionId) ?? r.sessionId }));
  });
}

const of = (rows: Row[], name: string, kind: 'audio' | 'video') => rows.filter((r) => r.name === name && r.kind === kind);
const sum = (rows: Row[], key: 'bytesReceived' | 'framesDecoded' | 'totalAudioEnergy') => rows.reduce((n, r) => n + r[key], 0);

/** Two samples a second apart: how much `name`'s `kind` grew at `page`. */
export async function growth(page: Page, name: string, kind: 'audio' | 'video') {
  const before = await inbound(page);
  await page.waitForTimeout(1000);
  const after = await inbound(page);
  const a = of(before, name, kind);
  const b = of(after, name, kind);
  return {
    tracks: b.length,
    /** The publisher's media sessions these tracks come from. */
    sessions: [...new Set(b.map((t) => t.sessionId))],
    bytes: sum(b, 'bytesReceived') - sum(a, 'bytesReceived'),
    frames: sum(b, 'framesDecoded') - sum(a, 'framesDecoded'),
    energy: sum(b, 'totalAudioEnergy'),
    perTrackFrames: b.map((t) => t.framesDecoded - (a.find((x) => x.mid === t.mid)?.framesDecoded ?? 0)),
  };
}

/** Waits until `page` receives `from`'s audio (energy > 0) and video (frames decoded), both rising. */
export async function expectReceiving(page: Page, who: string, from: string, { timeout = 30_000 } = {}) {
  await expect
    .poll(
      async () => {
        const v = await growth(page, from, 'video');
        const a = await growth(page, from, 'audio');
        if (process.env.MEDIA_DEBUG)
          console.log(
            await page.evaluate(() => {
              const m = window.__plazaMedia;
              const pc = m?.pc as unknown as RTCPeerConnection | null | undefined;
              if (!m || !pc) return JSON.stringify({ media: Boolean(m), connection: m?.connection });
              return JSON.stringify({
                tracks: m.tracks.map((t) => [t.sessionId, t.kind, t.mid]),
                parts: m.participants,
                sig: pc.signalingState,
                conn: pc.connectionState,
                tr: pc.getTransceivers().map((t) => [t.mid, t.direction, t.currentDirection]),
                remote: (pc.remoteDescription?.sdp ?? '')
                  .split('\r\n')
                  .filter((l) => /^(m=|a=mid|a=msid|a=send|a=recv|a=inactive)/.test(l)),
              });
            }),
          );
        console.log(
          `     ${who} ← ${from}: video +${v.frames} frames +${v.bytes} B/s; audio +${a.bytes} B/s, energy ${a.energy.toFixed(3)}`,
        );
        return v.tracks >= 1 && v.frames > 0 && v.bytes > 0 && a.tracks >= 1 && a.bytes > 0 && a.energy > 0;
      },
      { message: `${who} receives ${from}'s audio and video`, timeout, intervals: [500] },
    )
    .toBe(true);
}

/** Opens the space's Meeting tab and joins with the camera and microphone (`first`: starts the meeting). */
export async function joinMeeting(page: Page, first: boolean) {
  await openTab(page, 'Meeting');
  if (first) await page.getByRole('button', { name: 'Start meeting' }).click();
  else {
    // The first one's media connecting started the meeting.
    await page.getByText('Meeting in progress').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Join meeting' }).click();
  }
  await page.getByLabel('Your camera preview').waitFor();
  await page.getByRole('button', { name: 'Join now' }).click();
  await page.getByRole('region', { name: 'Meeting video' }).waitFor();
}
