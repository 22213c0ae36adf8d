// Desktop notifications: a mention and a direct message notify a hidden tab; a muted space does not.
import {
  baseUrl,
  createSpace,
  expect,
  expectMessage,
  inviteByEmail,
  notificationProbe,
  notifications,
  openSettings,
  openTab,
  register,
  screenshot,
  send,
  test,
  unique,
} from './fixtures.js';

test('a hidden tab is notified of a mention, not of a muted space', async ({ open }) => {
  const ann = await open();
  const bob = await open({ permissions: ['notifications'] });
  await bob.context().grantPermissions(['notifications'], { origin: new URL(baseUrl).origin });
  await bob.context().addInitScript(notificationProbe);
  const a = await register(ann, 'Ann');
  const b = await register(bob, 'Bob');
  const title = unique('notify');
  await createSpace(ann, title);
  await inviteByEmail(ann, bob, b.email, title);
  await openTab(ann, 'Chat');
  // Bob turns desktop notifications on from the offer under the top bar, then hides the tab.
  await bob.getByRole('region', { name: 'Desktop notifications' }).getByRole('button', { name: 'Enable desktop notifications' }).click();
  await bob.getByRole('region', { name: 'Desktop notifications' }).waitFor({ state: 'detached' });
  await openSettings(bob);
  await bob.getByText('Desktop notifications are on').waitFor();
  await bob.getByRole('link', { name: title }).click();
  await bob.locator('#space-title', { hasText: title }).waitFor();
  await bob.evaluate(() => window.__setHidden(true));
  expect(await bob.title(), 'nothing unread yet').toMatch(/^Plaza$/);

  // A message that mentions nobody: no notification.
  await send(ann, 'Good morning, everyone');
  await expectMessage(bob, 'Good morning, everyone');
  // Ann mentions Bob with the composer's @ picker.
  const first = b.name.split(' ')[0];
  const box = ann.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(`Have a look, @${first}`);
  await ann.getByRole('list', { name: 'Mention someone' }).getByRole('button', { name: b.name }).click();
  await box.press('End');
  await box.pressSequentially('please');
  await box.press('Enter');
  await expectMessage(bob, 'please');
  await bob.waitForFunction(() => window.__notifications.length > 0);
  await bob.waitForTimeout(500);
  let shown = await notifications(bob);
  expect(shown.length, `exactly one notification (${JSON.stringify(shown)})`).toBe(1);
  expect(shown[0]!.title, 'titled with the space').toBe(title);
  expect(shown[0]!.body, 'the sender and the text').toBe(`${a.name}: Have a look, @${b.name} please`);
  await expect(bob, 'the tab title counts the two unread messages').toHaveTitle('(2) Plaza');
  // Back on the tab: read.
  await bob.evaluate(() => window.__setHidden(false));
  await bob.waitForFunction(() => document.title === 'Plaza');

  // Bob mutes the space: the next mention is shown in the chat but not notified.
  await bob.getByRole('button', { name: 'Mute notifications' }).click();
  await bob.getByRole('button', { name: 'Unmute notifications' }).waitFor();
  await bob.evaluate(() => window.__setHidden(true));
  await box.fill(`@${first}`);
  await ann.getByRole('list', { name: 'Mention someone' }).getByRole('button', { name: b.name }).click();
  await box.press('End');
  await box.pressSequentially('again, while muted');
  await box.press('Enter');
  await expectMessage(bob, 'again, while muted');
  await bob.waitForTimeout(800);
  shown = await notifications(bob);
  expect(shown.length, `no notification from the muted space (${JSON.stringify(shown)})`).toBe(1);

  // A direct message from Ann while Bob's tab is hidden.
  await openTab(ann, 'People');
  await ann.getByRole('button', { name: `Message ${b.name}` }).click();
  await ann.locator('#space-title', { hasText: b.name }).waitFor();
  await send(ann, 'A private word');
  await bob.waitForFunction(() => window.__notifications.length > 1);
  shown = await notifications(bob);
  expect(shown.length, `one more notification, for the direct message (${JSON.stringify(shown)})`).toBe(2);
  expect(
    shown[1]!.body === `${a.name}: A private word` && shown[1]!.title.includes(a.name),
    `the direct message (${JSON.stringify(shown[1])})`,
  ).toBe(true);
  await screenshot(bob, 'notified');
});
