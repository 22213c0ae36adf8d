// Accessibility: axe-core over every view of the app. Any `serious` or `critical`
// violation fails the test (each view is one soft check, so a run lists them all).
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';

import { baseUrl, createSpace, expect, openSettings, openTab, png, register, send, test, twoInASpace, unique } from './fixtures.js';

/** Runs axe over the page as it is now; the serious and critical findings fail the test. */
async function axe(page: Page, view: string) {
  await test.step(`axe: ${view}`, async () => {
    // Let transitions and the first paint of loaded data settle.
    await page.waitForLoadState('networkidle').catch(() => undefined);
    const { violations } = await new AxeBuilder({ page }).analyze();
    const findings = violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.help}, at ${v.nodes
            .map((n) => n.target.join(' '))
            .slice(0, 6)
            .join(' | ')}`,
      );
    expect.soft(findings, `serious or critical accessibility violations on ${view}`).toEqual([]);
  });
}

test('the signed-out pages are accessible', async ({ open }) => {
  const page = await open();
  await page.goto(`${baseUrl}/#/login`);
  await page.getByRole('heading', { name: 'Sign in to Plaza' }).waitFor();
  await axe(page, 'sign-in');
  // A refusal's message, too.
  await page.getByLabel('Email').fill(`${unique('nobody')}@example.com`);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await axe(page, 'sign-in, refused');
  await page.goto(`${baseUrl}/#/register`);
  await page.getByRole('button', { name: 'Create account' }).waitFor();
  await axe(page, 'register');
  await page.goto(`${baseUrl}/#/forgot`);
  await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
  await axe(page, 'forgot password');
  await page.getByLabel('Email').fill(`${unique('nobody')}@example.com`);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  // Sent, or refused where the server sends no mail: either way the answer is shown.
  await page.getByRole('status').or(page.getByRole('alert')).waitFor();
  await axe(page, 'forgot password, answered');
  await page.goto(`${baseUrl}/#/reset/not-a-real-token`);
  await page.getByLabel('New password').waitFor();
  await axe(page, 'reset password');
  await page.getByLabel('New password').fill('a brand new passphrase');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('alert').waitFor();
  await axe(page, 'reset password, refused');
});

test('every view of a space is accessible', async ({ open }) => {
  const { ann, bob, a, b, title, spaceId } = await twoInASpace(open, 'a11y');
  await ann.goto(`${baseUrl}/#/`);
  await ann.getByRole('heading', { name: /^Welcome/ }).waitFor();
  // An unread badge in the list.
  await send(bob, 'Anyone here?');
  await ann.getByRole('link', { name: `${title}, 1 unread` }).waitFor();
  await axe(ann, 'space list (home)');
  await ann.getByRole('button', { name: 'New space' }).click();
  await ann.getByRole('dialog', { name: 'New space' }).waitFor();
  await axe(ann, 'new space dialog');
  await ann.keyboard.press('Escape');
  await ann.getByRole('button', { name: 'New message' }).click();
  await ann.getByRole('dialog', { name: 'New direct message' }).getByRole('button', { name: b.name }).waitFor();
  await axe(ann, 'new direct message dialog');
  await ann.keyboard.press('Escape');

  // Chat, with a mention, an edited message and files.
  await ann.goto(`${baseUrl}/#/spaces/${spaceId}/chat`);
  await send(ann, `Hello @${b.name}`);
  await send(bob, 'Hello Ann');
  await ann.locator('ol.messages li.message', { hasText: 'Hello Ann' }).waitFor();
  await ann.locator('.composer input[type=file]').setInputFiles([
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('notes\n'.repeat(50)) },
    { name: 'dot.png', mimeType: 'image/png', buffer: png(64, 48) },
  ]);
  await ann.getByRole('list', { name: 'Files to send' }).getByText('ready').nth(1).waitFor();
  await axe(ann, 'chat, files about to be sent');
  await send(ann, 'Two files');
  await ann.locator('ol.messages li.message', { hasText: 'Two files' }).locator('img.thumb').waitFor();
  await ann.getByRole('textbox', { name: 'Message', exact: true }).fill(`@${b.name.split(' ')[0]}`);
  await ann.getByRole('list', { name: 'Mention someone' }).waitFor();
  await axe(ann, 'chat, with files and the mention picker');
  await ann.getByRole('textbox', { name: 'Message', exact: true }).fill('');
  await ann.locator('ol.messages li.message', { hasText: 'Two files' }).getByRole('button', { name: 'Edit' }).click();
  await ann.getByLabel('Edit message').waitFor();
  await axe(ann, 'chat, editing a message');
  await ann.getByRole('button', { name: 'Cancel' }).click();

  // Posts and tasks, with their comments open.
  await openTab(ann, 'Posts');
  const postForm = ann.getByRole('form', { name: 'New post' });
  await postForm.getByLabel('Post title').fill('Release plan');
  await postForm.getByLabel('Text').fill('We ship on Friday.');
  await postForm.getByRole('button', { name: 'Publish post' }).click();
  const post = ann.locator('li.thread', { hasText: 'Release plan' });
  await post.getByRole('button', { name: /Comments/ }).click();
  await post.getByRole('textbox', { name: 'Comment' }).fill('Sounds good');
  await post.getByRole('textbox', { name: 'Comment' }).press('Enter');
  await post.locator('.comment', { hasText: 'Sounds good' }).waitFor();
  await axe(ann, 'posts');
  await openTab(ann, 'Tasks');
  const form = ann.getByRole('form', { name: 'New task' });
  await form.getByLabel('Task title').fill('Write the release notes');
  await form.getByLabel('Due date').fill('2020-03-15');
  await form.getByLabel(b.name).check();
  await form.getByRole('button', { name: 'Add task' }).click();
  await ann
    .locator('li.thread', { hasText: 'Write the release notes' })
    .getByRole('button', { name: /Comments/ })
    .click();
  await axe(ann, 'tasks');
  await openTab(bob, 'Tasks');
  await bob.locator('li.thread', { hasText: 'Write the release notes' }).waitFor();
  await axe(bob, 'tasks, as an assignee');

  // The meeting panel, as the admin, with an attendee's raised hand and a recording.
  await openTab(ann, 'Meeting');
  await ann.getByRole('button', { name: 'Start meeting' }).waitFor();
  await axe(ann, 'meeting panel, no meeting');
  await ann.getByRole('button', { name: 'Start meeting' }).click();
  await ann.getByRole('button', { name: 'Join now' }).waitFor();
  await ann.getByLabel('Your camera preview').waitFor();
  await axe(ann, 'meeting, joining: devices and preview');
  await ann.getByRole('button', { name: 'Join now' }).click();
  await ann.getByRole('region', { name: 'Meeting video' }).waitFor();
  await openTab(bob, 'Meeting');
  await bob.getByRole('button', { name: 'Join meeting' }).click();
  await bob.getByRole('button', { name: 'Join now' }).click();
  await bob.getByRole('list', { name: 'Participants' }).getByRole('listitem', { name: a.name, exact: true }).waitFor();
  await axe(bob, 'meeting, in the call: tiles and controls');
  await bob.getByRole('button', { name: 'Raise hand' }).click();
  await ann.getByLabel('Hand raised').waitFor();
  await ann.getByRole('button', { name: 'Start recording' }).click();
  await ann.getByLabel('Recording').waitFor();
  await axe(ann, 'meeting panel, running');
  await axe(bob, 'meeting panel, as an attendee');
  await ann.getByRole('button', { name: 'End meeting' }).click();

  // People: members, roles, invitations (a pending one with its link).
  await openTab(ann, 'People');
  const newcomer = `${unique('newcomer')}@example.com`;
  await ann.getByLabel('Invite by email').fill(newcomer);
  await ann.getByRole('button', { name: 'Invite', exact: true }).click();
  const invitation = await ann.getByLabel(`Invitation link for ${newcomer}`).inputValue();
  await ann.getByRole('list', { name: 'Members' }).getByText(`${b.name}, online`).waitFor();
  await axe(ann, 'people');
  await openTab(bob, 'People');
  await bob.getByRole('heading', { name: /^Members/ }).waitFor();
  await axe(bob, 'people, as a member');

  // The space's settings, and the person's own.
  await openTab(ann, 'Settings');
  await ann.getByLabel('Guest PIN').waitFor();
  await axe(ann, 'space settings');
  await openTab(bob, 'Settings');
  await axe(bob, 'space settings, as a member');
  await ann.getByLabel('Pin this space to the top of my list').click();
  await ann.getByRole('link', { name: `${title} pinned` }).waitFor();
  await axe(ann, 'space settings, pinned');
  await openSettings(ann);
  await axe(ann, 'personal settings');

  // The shared join link and an emailed invitation, opened by someone signed out.
  const guest = await open();
  await guest.goto(`${baseUrl}/#/join/${spaceId}`);
  await guest.getByLabel('Your name').waitFor();
  await axe(guest, 'join by link');
  await guest.goto(invitation);
  await guest.getByRole('heading', { name: 'Accept the invitation' }).waitFor();
  await axe(guest, 'invitation');

  // The phone layout of the space list.
  const phone = await open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await register(phone, 'Pat');
  await createSpace(phone, unique('phone'));
  await axe(phone, 'chat on a phone');
  await phone.getByRole('link', { name: 'Back to spaces' }).click();
  await axe(phone, 'space list on a phone');
});
