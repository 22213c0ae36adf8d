// Browser tests of the Plaza web client, driving Debian's Chromium with playwright-core.
//   PLAZA_URL=http://127.0.0.1:8080 [CHROMIUM_PATH=path/to/chromium] [PLAZA_SCREENSHOTS=dir] node e2e/run.mjs [scenario...]
// PLAZA_URL must be a Plaza that serves the built UI at `/`. Every scenario registers
// fresh users, so it can run against any server. Exits non-zero on any failure.
// The email scenarios (password reset, emailed invitation) run only with PLAZA_MAIL_LOG:
// the file a test SMTP sink appends each received email to, one JSON object a line
// (`{to: [...], from, subject, text, html}`); without it they are reported as skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { deflateSync } from 'node:zlib';

import { chromium } from 'playwright-core';

/** A small valid PNG (a gradient), so the server can make a thumbnail of it. */
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.set([(x * 255) / width, (y * 255) / height, 160], 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const base = (process.env.PLAZA_URL ?? '').replace(/\/+$/, '');
if (!base) {
  console.error('e2e: set PLAZA_URL to a Plaza server that serves the web UI (e.g. http://127.0.0.1:8080)');
  process.exit(2);
}
let executablePath = process.env.CHROMIUM_PATH;
if (!executablePath) {
  try {
    executablePath = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    executablePath = '';
  }
}
if (!executablePath) {
  console.error("e2e: no Chromium found; install Debian's `chromium` package or set CHROMIUM_PATH");
  process.exit(2);
}
const shots = process.env.PLAZA_SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
let counter = 0;
const unique = (prefix) => `${prefix}-${run}-${++counter}`;
const PASSWORD = 'correct horse battery';
const TIMEOUT = 15_000;

class Failure extends Error {}
function check(condition, message) {
  if (!condition) throw new Failure(message);
}

async function screenshot(page, name) {
  if (!shots) return;
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}

// ---- helpers that drive the UI like a person ---------------------------------------

async function newPage(browser, options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on(
    'console',
    (m) =>
      m.type() === 'error' &&
      !/Failed to load resource|net::ERR_INTERNET_DISCONNECTED|WebSocket/.test(m.text()) &&
      problems.push(`console: ${m.text()}`),
  );
  page.problems = problems;
  return page;
}

async function register(page, who, email = `${unique(who.toLowerCase())}@example.com`) {
  const name = `${who} ${run.slice(-4)}`;
  await page.goto(`${base}/#/register`);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('.topbar .me', { hasText: name }).waitFor();
  return { email, name };
}

async function createSpace(page, title) {
  await page.getByRole('button', { name: 'New space' }).click();
  const dialog = page.getByRole('dialog', { name: 'New space' });
  await dialog.getByLabel('Title').fill(title);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('#space-title', { hasText: title }).waitFor();
  const id = new URL(page.url()).hash.split('/')[2];
  check(id && /^[0-9a-f]{24}$/.test(id), `the new space's id is in the URL (${page.url()})`);
  return id;
}

/** The person's own settings, from the top bar. */
async function openSettings(page) {
  await page.getByRole('banner').getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
}

async function openTab(page, name) {
  await page.getByRole('navigation', { name: 'Space sections' }).getByRole('link', { name, exact: true }).click();
}

/** The admin invites `email` by email; the invitee opens the invitation link and lands in the space. */
async function inviteByEmail(admin, invitee, email, spaceTitle) {
  await openTab(admin, 'People');
  await admin.getByLabel('Invite by email').fill(email);
  await admin.getByRole('button', { name: 'Invite', exact: true }).click();
  const link = await admin.getByLabel(`Invitation link for ${email}`).inputValue();
  check(link.includes('#/invite/'), `the invitation link is one of the app's (${link})`);
  await invitee.goto(link);
  await invitee.locator('#space-title', { hasText: spaceTitle }).waitFor();
}

/** Two registered people in one fresh space, both on its chat. */
async function twoInASpace(browser, label) {
  const ann = await newPage(browser);
  const bob = await newPage(browser);
  const a = await register(ann, 'Ann');
  const b = await register(bob, 'Bob');
  const title = unique(label);
  const spaceId = await createSpace(ann, title);
  await inviteByEmail(ann, bob, b.email, title);
  await openTab(ann, 'Chat');
  return { ann, bob, a, b, title, spaceId };
}

async function send(page, text) {
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(text);
  await box.press('Enter');
}

function messageIn(page, text) {
  return page.locator('ol.messages li.message', { hasText: text });
}

async function expectMessage(page, text) {
  await messageIn(page, text).first().waitFor();
  const count = await messageIn(page, text).count();
  check(count === 1, `"${text}" is shown once, not ${count} times`);
}

/**
 * Runs before the app in every page of the context: records each `new Notification(...)`
 * in `window.__notifications`, and lets a test hide the page (`window.__setHidden(true)`
 * makes `document.visibilityState` 'hidden' and fires `visibilitychange`).
 */
function notificationProbe() {
  const Real = window.Notification;
  window.__notifications = [];
  if (typeof Real === 'function') {
    class Recorded extends Real {
      constructor(title, options = {}) {
        window.__notifications.push({ title, body: options.body ?? '', tag: options.tag ?? '' });
        super(title, options);
      }
      static get permission() {
        return Real.permission;
      }
      static requestPermission(...args) {
        return Real.requestPermission(...args);
      }
    }
    window.Notification = Recorded;
  }
  let hidden = false;
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  window.__setHidden = (value) => {
    hidden = Boolean(value);
    document.dispatchEvent(new Event('visibilitychange'));
  };
}

const notifications = (page) => page.evaluate(() => window.__notifications);

/** The emails the test SMTP sink wrote to `PLAZA_MAIL_LOG` for `address`, waiting up to 15 s for the first. */
async function mailTo(address, { after = 0 } = {}) {
  const file = process.env.PLAZA_MAIL_LOG;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mails = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line.trim())
          .map((line) => {
            try {
              return JSON.parse(line);
            } catch {
              return null;
            }
          })
          .filter((m) => m && (m.to ?? []).some((to) => String(to).toLowerCase().includes(address.toLowerCase())))
      : [];
    if (mails.length > after) return mails[after];
    check(Date.now() < deadline, `an email to ${address} is in ${file} within 15 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The first `http…#/<kind>/…` link of an email's text body. */
function linkIn(mail, kind) {
  const link = new RegExp(`https?://[^\\s"'<>]+#/${kind}/[^\\s"'<>)]+`).exec(mail.text ?? '')?.[0];
  check(link, `the email "${mail.subject}" carries a #/${kind}/ link (${String(mail.text).slice(0, 300)})`);
  const url = new URL(link);
  if (url.origin === new URL(base).origin) return link;
  // The server writes links with its configured public address; follow them on PLAZA_URL.
  console.log(`     (the emailed link names ${url.origin}; following it on ${base})`);
  return `${base}${url.pathname.replace(/\/+$/, '')}/${url.hash}`;
}

/** The mail scenarios need a server that sends email to a test sink whose log is `PLAZA_MAIL_LOG`. */
const mailLog = () => Boolean(process.env.PLAZA_MAIL_LOG);
/** What a scenario answers when it cannot run here; the runner reports it as skipped. */
const NO_MAIL = { skipped: "PLAZA_MAIL_LOG is not set (the test mail sink's log file)" };

async function closeAll(...pages) {
  for (const page of pages)
    await page
      .context()
      .close()
      .catch(() => undefined);
}

// ---- scenarios ----------------------------------------------------------------------

const scenarios = {
  async 'two people chat in real time'(browser) {
    const login = await newPage(browser);
    await login.goto(`${base}/#/login`);
    await login.getByRole('heading', { name: 'Sign in to Plaza' }).waitFor();
    await screenshot(login, 'login');
    // A refusal shows the server's message and code.
    await login.getByLabel('Email').fill(`${unique('nobody')}@example.com`);
    await login.getByLabel('Password').fill('not the password');
    await login.getByRole('button', { name: 'Sign in' }).click();
    await login.getByRole('alert').filter({ hasText: 'auth.invalid_credentials' }).waitFor();
    await closeAll(login);

    const { ann, bob, a, b, title } = await twoInASpace(browser, 'chat');
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
    ann.once('dialog', (d) => d.accept());
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
    await ann.waitForFunction(() => document.querySelector(`select[id^=role-]`)?.value === 'admin');
    ann.once('dialog', (d) => d.accept());
    await ann.getByRole('list', { name: 'Members' }).getByRole('button', { name: 'Remove' }).click();
    await bob.getByText('You were removed from this space.').waitFor();
    await ann.getByRole('heading', { name: 'Members (1)' }).waitFor();
    await closeAll(ann, bob);
  },

  async 'a guest joins by link with a PIN and sees only new messages'(browser) {
    const ann = await newPage(browser);
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
    check(link.includes('#/join/'), `the invite link is the app's join page (${link})`);

    const guest = await newPage(browser);
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
    check((await messageIn(guest, 'Said before the guest came').count()) === 0, 'the guest does not see history from before joining');

    await openTab(ann, 'Chat');
    await send(ann, 'Welcome, Val');
    await expectMessage(guest, 'Welcome, Val');
    await send(guest, 'Thanks, glad to be here');
    await expectMessage(ann, 'Thanks, glad to be here');
    check((await messageIn(guest, 'Said before the guest came').count()) === 0, 'still no earlier history for the guest');
    await closeAll(ann, guest);
  },

  async 'a file is attached, shown and downloaded'(browser) {
    const { ann, bob } = await twoInASpace(browser, 'files');
    const text = `Plaza e2e file ${run}\n`.repeat(200);
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
      (img) =>
        new Promise((resolve) => {
          const settle = () => resolve(img.naturalWidth > 0);
          if (img.complete) settle();
          else {
            img.addEventListener('load', settle, { once: true });
            img.addEventListener('error', settle, { once: true });
          }
        }),
    );
    check(thumbLoaded, 'the image thumbnail loads');
    const [download] = await Promise.all([
      bob.waitForEvent('download'),
      message.getByRole('button', { name: 'Download notes.txt' }).click(),
    ]);
    const path = await download.path();
    check(download.suggestedFilename() === 'notes.txt', `the download is named notes.txt (${download.suggestedFilename()})`);
    check(readFileSync(path, 'utf8') === text, 'the downloaded bytes are the uploaded ones');
    await closeAll(ann, bob);
  },

  async 'a task is created, assigned and completed; posts, comments and the meeting panel'(browser) {
    const { ann, bob, b } = await twoInASpace(browser, 'tasks');
    await openTab(ann, 'Tasks');
    await openTab(bob, 'Tasks');
    const form = ann.getByRole('form', { name: 'New task' });
    await form.getByLabel('Task title').fill('Write the release notes');
    await form.getByLabel('Details').fill('Cover the web client');
    await form.getByLabel('Due date').fill('2031-03-15');
    await form.getByLabel(b.name).check();
    await form.getByRole('button', { name: 'Add task' }).click();
    const task = bob.locator('li.thread', { hasText: 'Write the release notes' });
    await task.getByText(`Assigned to ${b.name}`).waitFor();
    await task.getByText('Pending').waitFor();
    // Bob comments and completes it; Ann sees both.
    await task.getByRole('button', { name: /Comments/ }).click();
    await task.getByRole('textbox', { name: 'Comment' }).fill('On it');
    await task.getByRole('textbox', { name: 'Comment' }).press('Enter');
    await ann.locator('li.thread', { hasText: 'Write the release notes' }).getByRole('button', { name: 'Comments (1)' }).waitFor();
    // Bob, the assignee, ticks it off; Ann (the author) sees it live.
    check(!(await task.getByRole('checkbox').isDisabled()), 'the assignee may tick the task');
    await task.getByRole('checkbox').click();
    await ann.locator('li.thread[data-status=completed]', { hasText: 'Write the release notes' }).waitFor();
    await ann.locator('li.thread', { hasText: 'Write the release notes' }).getByText('Completed').waitFor();
    await screenshot(ann, 'tasks');
    // A post, with a comment from the other side.
    await openTab(ann, 'Posts');
    await openTab(bob, 'Posts');
    const postForm = ann.getByRole('form', { name: 'New post' });
    await postForm.getByLabel('Post title').fill('Release plan');
    await postForm.getByLabel('Text').fill('We ship on Friday.');
    await postForm.getByRole('button', { name: 'Publish post' }).click();
    const post = bob.locator('li.thread', { hasText: 'Release plan' });
    await post.getByText('We ship on Friday.').waitFor();
    await post.getByRole('button', { name: 'Comments (0)' }).click();
    await post.getByRole('textbox', { name: 'Comment' }).fill('Sounds good');
    await post.getByRole('textbox', { name: 'Comment' }).press('Enter');
    await post.locator('.comment', { hasText: 'Sounds good' }).waitFor();
    await ann.locator('li.thread', { hasText: 'Release plan' }).getByRole('button', { name: 'Comments (1)' }).waitFor();
    // The meeting panel: Ann starts, Bob joins and raises a hand, Ann sees it and records.
    await openTab(ann, 'Meeting');
    await openTab(bob, 'Meeting');
    await ann.getByRole('button', { name: 'Start meeting' }).click();
    await bob.getByText('Meeting in progress').waitFor();
    await bob.getByRole('button', { name: 'Join meeting' }).click();
    await ann.getByRole('heading', { name: 'Attendees (2)' }).waitFor();
    await bob.getByRole('button', { name: 'Raise hand' }).click();
    await ann.getByLabel('Hand raised').waitFor();
    await ann.getByRole('button', { name: 'Start recording' }).click();
    await bob.getByLabel('Recording').waitFor();
    await screenshot(ann, 'meeting');
    await ann.getByRole('button', { name: 'End meeting' }).click();
    await bob.getByText('No meeting is running').waitFor();
    await closeAll(ann, bob);
  },

  async 'a network drop is recovered without loss'(browser) {
    const { ann, bob } = await twoInASpace(browser, 'offline');
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
    await closeAll(ann, bob);
  },

  async 'a hidden tab is notified of a mention, not of a muted space'(browser) {
    const ann = await newPage(browser);
    const bob = await newPage(browser, { permissions: ['notifications'] });
    await bob.context().grantPermissions(['notifications'], { origin: new URL(base).origin });
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
    check(/^Plaza$/.test(await bob.title()), `nothing unread yet (${await bob.title()})`);

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
    check(shown.length === 1, `exactly one notification (${JSON.stringify(shown)})`);
    check(shown[0].title === title, `titled with the space (${shown[0].title})`);
    check(shown[0].body === `${a.name}: Have a look, @${b.name} please`, `the sender and the text (${shown[0].body})`);
    await bob
      .waitForFunction(() => document.title === '(2) Plaza')
      .catch(async () => check(false, `the tab title counts the two unread messages (${await bob.title()})`));
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
    check(shown.length === 1, `no notification from the muted space (${JSON.stringify(shown)})`);

    // A direct message from Ann while Bob's tab is hidden.
    await openTab(ann, 'People');
    await ann.getByRole('button', { name: `Message ${b.name}` }).click();
    await ann.locator('#space-title', { hasText: b.name }).waitFor();
    await send(ann, 'A private word');
    await bob.waitForFunction(() => window.__notifications.length > 1);
    shown = await notifications(bob);
    check(shown.length === 2, `one more notification, for the direct message (${JSON.stringify(shown)})`);
    check(
      shown[1].body === `${a.name}: A private word` && shown[1].title.includes(a.name),
      `the direct message (${JSON.stringify(shown[1])})`,
    );
    await screenshot(bob, 'notified');
    await closeAll(ann, bob);
  },

  async 'settings: sound and email digest'(browser) {
    const page = await newPage(browser);
    await register(page, 'Sam');
    await openSettings(page);
    const sound = page.getByLabel('Play a sound for mentions and direct messages');
    check(await sound.isChecked(), 'the sound is on by default');
    await sound.uncheck();
    await page.reload();
    check(!(await page.getByLabel('Play a sound for mentions and direct messages').isChecked()), 'the sound stays off after a reload');
    // The digest setting comes with the server's email support.
    if (!mailLog()) {
      console.log('     (the email digest part skipped: PLAZA_MAIL_LOG is not set)');
      return closeAll(page);
    }
    const digest = page.getByLabel('Email me a digest of missed mentions and direct messages');
    await page.waitForFunction(() => !document.querySelector('.preferences input[type=checkbox]:disabled'));
    check(await digest.isChecked(), 'the digest is on by default');
    await digest.uncheck();
    await page.getByText('No more email digests.').waitFor();
    await page.reload();
    await page.waitForFunction(() => !document.querySelector('.preferences input[type=checkbox]:disabled'));
    check(!(await digest.isChecked()), 'the digest stays off (kept by the server)');
    await screenshot(page, 'settings');
    await closeAll(page);
  },

  async 'an emailed invitation is followed to join'(browser) {
    if (!mailLog()) return NO_MAIL;
    const ann = await newPage(browser);
    await register(ann, 'Ann');
    const title = unique('mailed');
    await createSpace(ann, title);
    const email = `${unique('newcomer')}@example.com`;
    await openTab(ann, 'People');
    await ann.getByLabel('Invite by email').fill(email);
    await ann.getByRole('button', { name: 'Invite', exact: true }).click();
    await ann.getByText(`Invitation emailed to ${email}`).waitFor();
    const link = linkIn(await mailTo(email), 'invite');
    const newcomer = await newPage(browser);
    await register(newcomer, 'Nia', email);
    await newcomer.goto(link);
    await newcomer.locator('#space-title', { hasText: title }).waitFor();
    await closeAll(ann, newcomer);
  },

  async 'password reset by email'(browser) {
    if (!mailLog()) return NO_MAIL;
    const page = await newPage(browser);
    const { email, name } = await register(page, 'Rae');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Plaza' }).waitFor();
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByText('If an account exists for that address, a reset link is on its way').waitFor();
    const link = linkIn(await mailTo(email), 'reset');
    await page.goto(link);
    const fresh = 'a brand new passphrase';
    await page.getByLabel('New password').fill(fresh);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password has been changed').waitFor();
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    // The old password no longer works; the new one does.
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'auth.invalid_credentials' }).waitFor();
    await page.getByLabel('Password').fill(fresh);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.topbar .me', { hasText: name }).waitFor();
    // The link works once.
    await page.goto(link);
    await page.getByLabel('New password').fill('yet another passphrase');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('alert').filter({ hasText: 'auth.reset_token_invalid' }).waitFor();
    await closeAll(page);
  },

  async 'history pages back, the list searches, and the layout fits a phone'(browser) {
    const page = await newPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await register(page, 'Pat');
    const other = unique('elsewhere');
    await createSpace(page, other);
    await page.getByRole('link', { name: 'Back to spaces' }).click();
    const title = unique('phone');
    const spaceId = await createSpace(page, title);
    // 45 older messages, written over REST with the page's own session.
    const written = await page.evaluate(async (id) => {
      const { token } = JSON.parse(localStorage.getItem('plaza.session'));
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
    check(written === 45, `45 messages written over REST (${written})`);
    await page.reload();
    await expectMessage(page, 'History 45');
    const first = page.locator('ol.messages p.body').filter({ hasText: /^History 1$/ });
    check((await first.count()) === 0, 'the first page holds only the newest messages');
    // Scrolling up loads older pages, until the first message.
    for (let i = 0; i < 6 && (await first.count()) === 0; i++) {
      await page.locator('ol.messages').evaluate((el) => el.scrollTo(0, 0));
      await page.waitForTimeout(400);
    }
    check((await first.count()) === 1, 'scrolling up reached the first message, shown once');
    await expectMessage(page, 'History 45');
    await send(page, 'Small screens work too');
    await expectMessage(page, 'Small screens work too');
    check(await page.getByRole('navigation', { name: 'Spaces' }).isHidden(), 'the space list gives way to the open space');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `nothing overflows sideways (${width}px)`);
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
    await closeAll(page);
  },
};

// ---- runner ---------------------------------------------------------------------------

const wanted = process.argv.slice(2);
const selected = Object.entries(scenarios).filter(([name]) => wanted.length === 0 || wanted.some((w) => name.includes(w)));
const started = Date.now();
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  for (const [name, scenario] of selected) {
    const t0 = Date.now();
    const before = new Set(browser.contexts());
    try {
      const outcome = await scenario(browser);
      if (outcome?.skipped) {
        skipped += 1;
        console.log(`skip ${name}: ${outcome.skipped}`);
      } else {
        passed += 1;
        console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }
    } catch (error) {
      failed += 1;
      console.log(
        `FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n     ${String(error?.message ?? error)
          .split('\n')
          .slice(0, 6)
          .join('\n     ')}`,
      );
      for (const context of browser.contexts()) {
        if (before.has(context)) continue;
        for (const page of context.pages()) {
          if (page.problems?.length) console.log(`     ${page.problems.slice(0, 5).join('\n     ')}`);
          if (shots)
            await page
              .screenshot({
                path: join(shots, `failure-${failed}-${context.pages().indexOf(page)}-${Math.random().toString(36).slice(2, 6)}.png`),
              })
              .catch(() => undefined);
        }
      }
    } finally {
      for (const context of browser.contexts()) if (!before.has(context)) await context.close().catch(() => undefined);
    }
  }
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed === 0 && passed + skipped > 0 ? 0 : 1);
