// Chat: real-time messages between two people, edits, deletes, mentions, presence,
// direct messages, roles; recovery after a network drop; paging back and the phone layout.
import {
  baseUrl,
  createSpace,
  expect,
  expectMessage,
  messageIn,
  openTab,
  register,
  screenshot,
  send,
  test,
  twoInASpace,
  unique,
} from './fixtures.js';

test('two people chat in real time', async ({ open }) => {
  const login = await open();
  await login.goto(`${baseUrl}/#/login`);
  await login.getByRole('heading', { name: 'Sign in to Plaza' }).waitFor();
  await screenshot(login, 'login');
  // A refusal shows the server's message and code.
  await login.getByLabel('Email').fill(`${unique('nobody')}@example.com`);
  await login.getByLabel('Password').fill('not the password');
  await login.getByRole('button', { name: 'Sign in' }).click();
  await login.getByRole('alert').filter({ hasText: 'auth.invalid_credentials' }).waitFor();
  await login.context().close();

  const { ann, bob, a, b, title } = await twoInASpace(open, 'chat');
  await send(ann, 'Hello Bob, this is Ann');
  await expectMessage(bob, 'Hello Bob, this is Ann');
  // Bob types: Ann sees the typing notice, then the message.
  await bob.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('Hi Ann', { delay: 20 });
  await ann.getByText(/is typing/).waitFor();
  await bob.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
  await expectMessage(ann, 'Hi Ann');
  // An edit and a delete reach the other side live.
  const mine = messageIn(ann, 'Hello Bob, this is Ann');
  await mine.getByRole('button', { name: 'Edit' }).click();
  await ann.getByLabel('Edit message').fill('Hello Bob, this is Ann (edited)');
  await ann.getByRole('button', { name: 'Save' }).click();
  await expectMessage(bob, 'Hello Bob, this is Ann (edited)');
  ann.once('dialog', (d) => void d.accept());
  await messageIn(ann, 'this is Ann (edited)').getByRole('button', { name: 'Delete' }).click();
  await bob.locator('ol.messages .deleted').first().waitFor();
  // A mention is highlighted for the reader.
  await ann.getByRole('textbox', { name: 'Message', exact: true }).fill(`Thanks @${b.name.split(' ')[0]}`);
  await ann.getByRole('list', { name: 'Mention someone' }).getByRole('button', { name: b.name }).click();
  await ann.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
  await bob.locator('ol.messages .mention', { hasText: `@${b.name}` }).waitFor();
  // Presence: Ann sees Bob online in People.
  await openTab(ann, 'People');
  await ann.getByRole('list', { name: 'Members' }).getByText(`${b.name}, online`).waitFor();
  await openTab(ann, 'Chat');
  await expectMessage(ann, 'Hi Ann');
  await screenshot(ann, 'chat');

  // A direct message: Bob's list gains the space with an unread badge.
  await openTab(ann, 'People');
  await ann.getByRole('button', { name: `Message ${b.name}` }).click();
  await ann.locator('#space-title', { hasText: b.name }).waitFor();
  await send(ann, 'Psst, a direct message');
  const unread = bob.getByRole('link', { name: `${a.name}, 1 unread` });
  await unread.waitFor();
  await screenshot(bob, 'space-list');
  await unread.click();
  await expectMessage(bob, 'Psst, a direct message');
  await bob.getByRole('link', { name: a.name, exact: true }).waitFor();

  // Roles and removal: Ann makes Bob an admin, then removes him; Bob is told at once.
  await bob.getByRole('link', { name: title }).click();
  await bob.locator('#space-title', { hasText: title }).waitFor();
  await ann.getByRole('link', { name: title }).click();
  await openTab(ann, 'People');
  const role = ann.getByLabel(`Role of ${b.name}`);
  await role.selectOption('admin');
  await ann.waitForFunction(() => document.querySelector<HTMLSelectElement>(`select[id^=role-]`)?.value === 'admin');
  ann.once('dialog', (d) => void d.accept());
  await ann.getByRole('list', { name: 'Members' }).getByRole('button', { name: 'Remove' }).click();
  await bob.getByText('You were removed from this space.').waitFor();
  await ann.getByRole('heading', { name: 'Members (1)' }).waitFor();
});

test('a network drop is recovered without loss', async ({ open }) => {
  const { ann, bob } = await twoInASpace(open, 'offline');
  await send(ann, 'Before the drop');
  await expectMessage(bob, 'Before the drop');
  await bob.context().setOffline(true);
  await bob.getByTestId('offline-banner').waitFor();
  for (const n of [1, 2, 3]) await send(ann, `While Bob was away ${n}`);
  await expectMessage(ann, 'While Bob was away 3');
  await send(bob, 'Written while offline');
  await bob.waitForTimeout(500);
  await bob.context().setOffline(false);
  await bob.getByTestId('offline-banner').waitFor({ state: 'detached' });
  for (const n of [1, 2, 3]) await expectMessage(bob, `While Bob was away ${n}`);
  await expectMessage(ann, 'Written while offline');
  await expectMessage(bob, 'Before the drop');
  await bob.waitForTimeout(300);
  await expectMessage(bob, 'Written while offline');
});

test('history pages back, the list searches, and the layout fits a phone', async ({ open }) => {
  const page = await open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await register(page, 'Pat');
  const other = unique('elsewhere');
  await createSpace(page, other);
  await page.getByRole('link', { name: 'Back to spaces' }).click();
  const title = unique('phone');
  const spaceId = await createSpace(page, title);
  // 45 older messages, written over REST with the page's own session.
  const written = await page.evaluate(async (id) => {
    const { token } = JSON.parse(localStorage.getItem('plaza.session') ?? '{}') as { token: string };
    let ok = 0;
    for (let i = 1; i <= 45; i++) {
      const r = await fetch(`/api/spaces/${id}/chats`, {
        method: 'POST',
        headers: { authorization: `jwt ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: { bodyText: `History ${i}` } }),
      });
      if (r.ok) ok += 1;
    }
    return ok;
  }, spaceId);
  expect(written, `45 messages written over REST (${written})`).toBe(45);
  await page.reload();
  await expectMessage(page, 'History 45');
  const first = page.locator('ol.messages p.body').filter({ hasText: /^History 1$/ });
  expect(await first.count(), 'the first page holds only the newest messages').toBe(0);
  // Scrolling up loads older pages, until the first message.
  for (let i = 0; i < 6 && (await first.count()) === 0; i++) {
    await page.locator('ol.messages').evaluate((el) => el.scrollTo(0, 0));
    await page.waitForTimeout(400);
  }
  expect(await first.count(), 'scrolling up reached the first message, shown once').toBe(1);
  await expectMessage(page, 'History 45');
  await send(page, 'Small screens work too');
  await expectMessage(page, 'Small screens work too');
  expect(await page.getByRole('navigation', { name: 'Spaces' }).isHidden(), 'the space list gives way to the open space').toBe(true);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, `nothing overflows sideways (${width}px)`).toBeLessThanOrEqual(390);
  await screenshot(page, 'phone-chat');
  await page.getByRole('link', { name: 'Back to spaces' }).click();
  await page.getByRole('link', { name: title }).waitFor();
  await screenshot(page, 'phone');
  // Search narrows the list; the type filter shows direct messages only.
  await page.getByLabel('Search spaces').fill(other);
  await page.getByRole('link', { name: title }).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: other }).waitFor();
  await page.getByLabel('Search spaces').fill('');
  await page.getByLabel('Space type').selectOption('direct');
  await page.getByText('No spaces yet.').waitFor();
});
