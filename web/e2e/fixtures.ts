// What the browser tests share: the `open` fixture (a fresh browser context and page per
// person, each watched for page errors), and helpers that drive the UI like a person
// (registering, opening a space, inviting, sending). PLAZA_URL must be a Plaza that serves
// the built UI at `/`; every test registers fresh users, so any server will do.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

import { test as base, expect, type BrowserContextOptions, type Page } from '@playwright/test';

export { expect };

declare global {
  interface Window {
    __notifications: { title: string; body: string; tag: string }[];
    __setHidden: (value: boolean) => void;
  }
}

export const baseUrl = (process.env.PLAZA_URL ?? '').replace(/\/+$/, '');
export const PASSWORD = 'correct horse battery';
/** How long a single wait lasts (the config's action timeout too). */
export const TIMEOUT = 15_000;

const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
let counter = 0;
/** A name no earlier run used. */
export const unique = (prefix: string) => `${prefix}-${run}-${++counter}`;
/** The last characters of this run's id, in display names. */
export const runTag = run.slice(-4);

const shots = process.env.PLAZA_SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

/** A PNG of the screen in `PLAZA_SCREENSHOTS`, when set. */
export async function screenshot(page: Page, name: string) {
  if (!shots) return;
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}

type Open = (options?: BrowserContextOptions) => Promise<Page>;

export const test = base.extend<{ open: Open }>({
  /** Opens a page in a context of its own (one per person); all are closed after the test. */
  open: async ({ browser }, use, testInfo) => {
    const opened: { page: Page; problems: string[] }[] = [];
    await use(async (options = {}) => {
      const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 }, ...options });
      const page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on(
        'console',
        (m) =>
          m.type() === 'error' &&
          !/Failed to load resource|net::ERR_INTERNET_DISCONNECTED|WebSocket/.test(m.text()) &&
          problems.push(`console: ${m.text()}`),
      );
      opened.push({ page, problems });
      return page;
    });
    if (testInfo.status !== testInfo.expectedStatus) {
      const said = opened.flatMap(({ problems }, i) => problems.slice(0, 5).map((p) => `page ${i + 1}: ${p}`));
      if (said.length > 0) {
        console.log(`     ${said.join('\n     ')}`);
        await testInfo.attach('page errors', { body: said.join('\n'), contentType: 'text/plain' });
      }
    }
    for (const { page } of opened)
      await page
        .context()
        .close()
        .catch(() => undefined);
  },
});

// ---- helpers that drive the UI like a person ---------------------------------------

/** Registers through the UI of the Plaza at `at` (PLAZA_URL unless given), where the page then stays signed in. */
export async function register(page: Page, who: string, email = `${unique(who.toLowerCase())}@example.com`, { at = baseUrl } = {}) {
  const name = `${who} ${runTag}`;
  await page.goto(`${at.replace(/\/+$/, '')}/#/register`);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('.topbar .me', { hasText: name }).waitFor();
  return { email, name };
}

export async function createSpace(page: Page, title: string) {
  await page.getByRole('button', { name: 'New space' }).click();
  const dialog = page.getByRole('dialog', { name: 'New space' });
  await dialog.getByLabel('Title').fill(title);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('#space-title', { hasText: title }).waitFor();
  const id = new URL(page.url()).hash.split('/')[2] ?? '';
  expect(id, `the new space's id is in the URL (${page.url()})`).toMatch(/^[0-9a-f]{24}$/);
  return id;
}

/** The person's own settings, from the top bar. */
export async function openSettings(page: Page) {
  await page.getByRole('banner').getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
}

export async function openTab(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Space sections' }).getByRole('link', { name, exact: true }).click();
}

/**
 * The admin invites `email` by email; the invitee opens the invitation link and lands in the
 * space. The link names the admin's Plaza; an invitee signed in at another node of the same
 * cluster follows it there.
 */
export async function inviteByEmail(admin: Page, invitee: Page, email: string, spaceTitle: string) {
  await openTab(admin, 'People');
  await admin.getByLabel('Invite by email').fill(email);
  await admin.getByRole('button', { name: 'Invite', exact: true }).click();
  const link = await admin.getByLabel(`Invitation link for ${email}`).inputValue();
  expect(link, `the invitation link is one of the app's (${link})`).toContain('#/invite/');
  const there = new URL(link);
  const here = new URL(invitee.url());
  const onOwnNode = /^https?:$/.test(here.protocol) && here.origin !== there.origin;
  await invitee.goto(onOwnNode ? `${here.origin}${there.pathname}${there.hash}` : link);
  await invitee.locator('#space-title', { hasText: spaceTitle }).waitFor();
}

/** Two registered people in one fresh space, both on its chat. */
export async function twoInASpace(open: Open, label: string) {
  const ann = await open();
  const bob = await open();
  const a = await register(ann, 'Ann');
  const b = await register(bob, 'Bob');
  const title = unique(label);
  const spaceId = await createSpace(ann, title);
  await inviteByEmail(ann, bob, b.email, title);
  await openTab(ann, 'Chat');
  return { ann, bob, a, b, title, spaceId };
}

export async function send(page: Page, text: string) {
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(text);
  await box.press('Enter');
}

export function messageIn(page: Page, text: string) {
  return page.locator('ol.messages li.message', { hasText: text });
}

export async function expectMessage(page: Page, text: string) {
  await messageIn(page, text).first().waitFor();
  const count = await messageIn(page, text).count();
  expect(count, `"${text}" is shown once, not ${count} times`).toBe(1);
}

// ---- email: the test SMTP sink's log ---------------------------------------------------

/** The mail tests need a server that sends email to a test sink whose log is `PLAZA_MAIL_LOG`. */
export const mailLog = () => Boolean(process.env.PLAZA_MAIL_LOG);
export const NO_MAIL = "PLAZA_MAIL_LOG is not set (the test mail sink's log file)";

interface Mail {
  to?: string[];
  from?: string;
  subject?: string;
  text?: string;
  html?: string;
}

/** The emails the test SMTP sink wrote to `PLAZA_MAIL_LOG` for `address`, waiting up to 15 s for the first. */
export async function mailTo(address: string, { after = 0 } = {}): Promise<Mail> {
  const file = process.env.PLAZA_MAIL_LOG ?? '';
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mails = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line.trim())
          .map((line): Mail | null => {
            try {
              return JSON.parse(line) as Mail;
            } catch {
              return null;
            }
          })
          .filter((m): m is Mail => m !== null && (m.to ?? []).some((to) => String(to).toLowerCase().includes(address.toLowerCase())))
      : [];
    const mail = mails[after];
    if (mail) return mail;
    expect(Date.now() < deadline, `an email to ${address} is in ${file} within 15 s`).toBe(true);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The first `http…#/<kind>/…` link of an email's text body. */
export function linkIn(mail: Mail, kind: string): string {
  const link = new RegExp(`https?://[^\\s"'<>]+#/${kind}/[^\\s"'<>)]+`).exec(mail.text ?? '')?.[0];
  expect(link, `the email "${mail.subject}" carries a #/${kind}/ link (${String(mail.text).slice(0, 300)})`).toBeTruthy();
  const url = new URL(link!);
  if (url.origin === new URL(baseUrl).origin) return link!;
  // The server writes links with its configured public address; follow them on PLAZA_URL.
  console.log(`     (the emailed link names ${url.origin}; following it on ${baseUrl})`);
  return `${baseUrl}${url.pathname.replace(/\/+$/, '')}/${url.hash}`;
}

// ---- notifications ----------------------------------------------------------------------

/**
 * Runs before the app in every page of the context: records each `new Notification(...)`
 * in `window.__notifications`, and lets a test hide the page (`window.__setHidden(true)`
 * makes `document.visibilityState` 'hidden' and fires `visibilitychange`).
 */
export function notificationProbe() {
  const Real = window.Notification;
  window.__notifications = [];
  if (typeof Real === 'function') {
    class Recorded extends Real {
      constructor(title: string, options: NotificationOptions = {}) {
        window.__notifications.push({ title, body: options.body ?? '', tag: options.tag ?? '' });
        super(title, options);
      }
      static override get permission() {
        return Real.permission;
      }
      static override requestPermission(...args: Parameters<typeof Notification.requestPermission>) {
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

export const notifications = (page: Page) => page.evaluate(() => window.__notifications);

// ---- files ------------------------------------------------------------------------------

/** A small valid PNG (a gradient), so the server can make a thumbnail of it. */
export function png(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
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
