// The person's own settings: the sound, and the email digest kept by the server.
import { expect, mailLog, openSettings, register, screenshot, test } from './fixtures.js';

test('settings: sound and email digest', async ({ open }) => {
  const page = await open();
  await register(page, 'Sam');
  await openSettings(page);
  const sound = page.getByLabel('Play a sound for mentions and direct messages');
  expect(await sound.isChecked(), 'the sound is on by default').toBe(true);
  await sound.uncheck();
  await page.reload();
  expect(await page.getByLabel('Play a sound for mentions and direct messages').isChecked(), 'the sound stays off after a reload').toBe(
    false,
  );
  // The digest setting comes with the server's email support.
  if (!mailLog()) {
    test.info().annotations.push({ type: 'skipped part', description: 'the email digest: PLAZA_MAIL_LOG is not set' });
    console.log('     (the email digest part skipped: PLAZA_MAIL_LOG is not set)');
    return;
  }
  const digest = page.getByLabel('Email me a digest of missed mentions and direct messages');
  await page.waitForFunction(() => !document.querySelector('.preferences input[type=checkbox]:disabled'));
  expect(await digest.isChecked(), 'the digest is on by default').toBe(true);
  await digest.uncheck();
  await page.getByText('No more email digests.').waitFor();
  await page.reload();
  await page.waitForFunction(() => !document.querySelector('.preferences input[type=checkbox]:disabled'));
  expect(await digest.isChecked(), 'the digest stays off (kept by the server)').toBe(false);
  await screenshot(page, 'settings');
});
