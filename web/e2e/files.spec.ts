// Files: attaching, the image thumbnail, downloading the same bytes.
import { readFileSync } from 'node:fs';

import { expect, messageIn, png, runTag, send, test, twoInASpace } from './fixtures.js';

test('a file is attached, shown and downloaded', async ({ open }) => {
  const { ann, bob } = await twoInASpace(open, 'files');
  const text = `Plaza e2e file ${runTag}\n`.repeat(200);
  await ann.locator('.composer input[type=file]').setInputFiles([
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(text) },
    { name: 'dot.png', mimeType: 'image/png', buffer: png(64, 48) },
  ]);
  await ann.getByRole('list', { name: 'Files to send' }).getByText('ready').nth(1).waitFor();
  await send(ann, 'Two files for you');
  const message = messageIn(bob, 'Two files for you');
  await message.getByText('notes.txt').waitFor();
  await message.locator('img.thumb').waitFor();
  // The element appears before its image has loaded: wait for the load (or failure).
  const thumbLoaded = await message.locator('img.thumb').evaluate(
    (img: HTMLImageElement) =>
      new Promise<boolean>((resolve) => {
        const settle = () => resolve(img.naturalWidth > 0);
        if (img.complete) settle();
        else {
          img.addEventListener('load', settle, { once: true });
          img.addEventListener('error', settle, { once: true });
        }
      }),
  );
  expect(thumbLoaded, 'the image thumbnail loads').toBe(true);
  const [download] = await Promise.all([bob.waitForEvent('download'), message.getByRole('button', { name: 'Download notes.txt' }).click()]);
  const path = await download.path();
  expect(download.suggestedFilename(), 'the download is named notes.txt').toBe('notes.txt');
  expect(readFileSync(path, 'utf8') === text, 'the downloaded bytes are the uploaded ones').toBe(true);
});
