// Links that arrive by email: an invitation, a password reset. They need a server that
// sends mail to a test sink whose log is PLAZA_MAIL_LOG; without it they are skipped.
import { createSpace, linkIn, mailLog, mailTo, NO_MAIL, openTab, PASSWORD, register, test, unique } from './fixtures.js';

test.skip(!mailLog(), NO_MAIL);

test('an emailed invitation is followed to join', async ({ open }) => {
  const ann = await open();
  await register(ann, 'Ann');
  const title = unique('mailed');
  await createSpace(ann, title);
  const email = `${unique('newcomer')}@example.com`;
  await openTab(ann, 'People');
  await ann.getByLabel('Invite by email').fill(email);
  await ann.getByRole('button', { name: 'Invite', exact: true }).click();
  await ann.getByText(`Invitation emailed to ${email}`).waitFor();
  const link = linkIn(await mailTo(email), 'invite');
  const newcomer = await open();
  await register(newcomer, 'Nia', email);
  await newcomer.goto(link);
  await newcomer.locator('#space-title', { hasText: title }).waitFor();
});

test('password reset by email', async ({ open }) => {
  const page = await open();
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
});
