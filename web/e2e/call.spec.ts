// 1:1 calls in a direct space: Ann calls Bob from their direct space while Bob reads another
// space; Bob declines one call, sees a cancelled one stop ringing, and accepts the next from
// where he is; both then receive each other's audio and video through the SFU (judged by
// RTCPeerConnection stats, `window.__plazaMedia`), and Bob's hang-up ends the call for both.
// With PLAZA_RING_TIMEOUT_MS set to the server's `meetings.ring_timeout_ms` (10 s at most),
// a call nobody answers rings out too.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';

import { expect, openTab, screenshot, test, twoInASpace } from './fixtures.js';

/** Bytes, decoded frames and audio energy `page` has received from its one peer, per kind. */
function received(page: Page) {
  return page.evaluate(async () => {
    const media = window.__plazaMedia;
    const totals = { audio: { bytes: 0, energy: 0 }, video: { bytes: 0, frames: 0 } };
    if (!media) return totals;
    for (const r of await media.inboundStats()) {
      if (r.kind === 'audio') {
        totals.audio.bytes += r.bytesReceived;
        totals.audio.energy += r.totalAudioEnergy;
      } else {
        totals.video.bytes += r.bytesReceived;
        totals.video.frames += r.framesDecoded;
      }
    }
    return totals;
  });
}

/** Waits until `page` receives its peer's audio (with energy) and video (frames decoded), both rising. */
async function expectReceiving(page: Page, who: string) {
  await expect
    .poll(
      async () => {
        const before = await received(page);
        await page.waitForTimeout(700);
        const after = await received(page);
        const frames = after.video.frames - before.video.frames;
        const audio = after.audio.bytes - before.audio.bytes;
        console.log(`     ${who}: video +${frames} frames, audio +${audio} B, energy ${after.audio.energy.toFixed(3)}`);
        return frames > 0 && after.video.bytes > before.video.bytes && audio > 0 && after.audio.energy > 0;
      },
      { message: `${who} receives the other's audio and video`, timeout: 30_000, intervals: [300] },
    )
    .toBe(true);
}

const incoming = (page: Page) => page.getByRole('alertdialog');

/** The server's `meetings.ring_timeout_ms`, when the runner says it is short enough to wait for (at most 10 s). */
const ringTimeoutMs = Number(process.env.PLAZA_RING_TIMEOUT_MS ?? 0);

test('a 1:1 call in a direct space: declined, cancelled, then accepted from elsewhere, media both ways, hung up', async ({ open }) => {
  const { ann, bob, a, b, title } = await twoInASpace(open, 'call');
  // Ann opens her direct space with Bob; Bob stays in the group space's chat.
  await openTab(ann, 'People');
  await ann.getByRole('button', { name: `Message ${b.name}` }).click();
  await ann.locator('#space-title', { hasText: b.name }).waitFor();
  const direct = new URL(ann.url()).hash.split('/')[2] ?? '';
  const callBob = ann.getByRole('button', { name: `Call ${b.name}` });

  await test.step('Bob declines: Ann is told', async () => {
    await callBob.click();
    await ann.getByText(`Calling ${b.name}…`).waitFor();
    await expect(ann.getByLabel('Your camera preview')).toBeVisible();
    await screenshot(ann, 'call-ringing');
    const ring = incoming(bob);
    await expect(ring).toHaveAccessibleName(`${a.name} is calling`);
    // The ringing takes the focus (and gives it back after).
    await expect(ring.getByRole('button', { name: 'Accept' })).toBeFocused();
    await screenshot(bob, 'call-incoming');
    const { violations } = await new AxeBuilder({ page: bob }).include('.incoming-call').analyze();
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
    expect(serious, 'the incoming call dialog has no serious accessibility violations').toEqual([]);
    await ring.getByRole('button', { name: 'Decline' }).click();
    await expect(ring).toBeHidden();
    await ann.getByText(`${b.name} declined the call.`).waitFor();
    await expect(ann.getByText(`Calling ${b.name}…`)).toBeHidden();
    await ann.getByRole('button', { name: 'Dismiss' }).click();
  });

  await test.step('Ann cancels: the ringing stops at Bob; Escape declines', async () => {
    await callBob.click();
    await incoming(bob).waitFor();
    await ann.getByRole('group', { name: 'Outgoing call' }).getByRole('button', { name: 'Cancel' }).click();
    await expect(incoming(bob)).toBeHidden();
    await expect(callBob).toBeEnabled();
    await callBob.click();
    await incoming(bob).waitFor();
    await bob.keyboard.press('Escape');
    await expect(incoming(bob)).toBeHidden();
    await ann.getByText(`${b.name} declined the call.`).waitFor();
    await ann.getByRole('button', { name: 'Dismiss' }).click();
  });

  await test.step('Bob accepts from the group space: both meet in the direct space', async () => {
    expect(bob.url(), 'Bob is elsewhere').not.toContain(direct);
    await bob.locator('#space-title', { hasText: title }).waitFor();
    await callBob.click();
    await incoming(bob).getByRole('button', { name: 'Accept' }).click();
    await expect(incoming(bob)).toBeHidden();
    await bob.waitForURL(new RegExp(`#/spaces/${direct}/meeting$`));
    for (const page of [ann, bob]) await page.getByRole('region', { name: 'Meeting video' }).waitFor({ timeout: 30_000 });
    await expectReceiving(ann, 'Ann ← Bob');
    await expectReceiving(bob, 'Bob ← Ann');
    await expect(ann.getByRole('list', { name: 'Participants' }).getByRole('listitem', { name: b.name, exact: true })).toBeVisible();
    await expect(bob.getByRole('list', { name: 'Participants' }).getByRole('listitem', { name: a.name, exact: true })).toBeVisible();
    await ann.getByText(`In a call with ${b.name}`).waitFor();
    await screenshot(ann, 'call-running');
  });

  await test.step('Bob hangs up: both leave the media', async () => {
    await bob.getByRole('toolbar', { name: 'Media controls' }).getByRole('button', { name: 'Hang up' }).click();
    await ann.getByText(`${b.name} ended the call.`).waitFor();
    for (const page of [ann, bob]) {
      await expect(page.getByRole('region', { name: 'Meeting video' })).toBeHidden();
      await expect.poll(() => page.evaluate(() => window.__plazaMedia === undefined), { message: 'the media session is gone' }).toBe(true);
    }
    await expect(callBob).toBeEnabled();
  });

  if (ringTimeoutMs > 0 && ringTimeoutMs <= 10_000) {
    await test.step('nobody answers: the call rings out at both', async () => {
      await ann.getByRole('button', { name: 'Dismiss' }).click();
      await callBob.click();
      await incoming(bob).waitFor();
      await ann.getByText(`${b.name} did not answer.`).waitFor({ timeout: ringTimeoutMs + 10_000 });
      await expect(incoming(bob)).toBeHidden();
      await bob.getByText(`You missed a call from ${a.name}.`).waitFor();
    });
  }
});
