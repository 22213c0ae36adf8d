// Guests: joining by the shared link with a PIN, and the history cut.
import { createSpace, expect, expectMessage, messageIn, openTab, register, send, test, unique } from './fixtures.js';

test('a guest joins by link with a PIN and sees only new messages', async ({ open }) => {
  const ann = await open();
  await register(ann, 'Ann');
  const title = unique('guests');
  await createSpace(ann, title);
  await send(ann, 'Said before the guest came');
  await expectMessage(ann, 'Said before the guest came');
  await openTab(ann, 'Settings');
  await ann.getByLabel('Guest PIN').fill('4321');
  await ann.getByRole('button', { name: 'Save PIN' }).click();
  await ann.getByText('PIN set.').waitFor();
  await openTab(ann, 'People');
  const link = await ann.locator('#join-link').inputValue();
  expect(link, `the invite link is the app's join page (${link})`).toContain('#/join/');

  const guest = await open();
  await guest.goto(link);
  await guest.getByLabel('Your name').fill('Visiting Val');
  await guest.getByRole('button', { name: 'Join' }).click();
  await guest.getByLabel('Space PIN').fill('0000');
  await guest.getByRole('button', { name: 'Join' }).click();
  await guest.getByRole('alert').filter({ hasText: 'topic.password_invalid' }).waitFor();
  await guest.getByLabel('Space PIN').fill('4321');
  await guest.getByRole('button', { name: 'Join' }).click();
  await guest.locator('#space-title', { hasText: title }).waitFor();
  await guest.getByText('No messages yet').waitFor();
  expect(await messageIn(guest, 'Said before the guest came').count(), 'the guest does not see history from before joining').toBe(0);

  await openTab(ann, 'Chat');
  await send(ann, 'Welcome, Val');
  await expectMessage(guest, 'Welcome, Val');
  await send(guest, 'Thanks, glad to be here');
  await expectMessage(ann, 'Thanks, glad to be here');
  expect(await messageIn(guest, 'Said before the guest came').count(), 'still no earlier history for the guest').toBe(0);
});
