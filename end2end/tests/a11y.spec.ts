import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import {
  PASSWORD,
  createAdmin,
  createUser,
  headerMenu,
  hydrated,
  linkTo,
  logIn,
  logInFromScratch,
  nextCode,
  onTaskListAs,
  openMail,
  uniqueEmail,
  wrongCode,
} from './helpers';

// axe-core on every page and state, in the light and the dark theme: WCAG 2.0-2.2 A and AA
// rules plus axe's best practices, and any violation fails the test with what and where.

async function expectNoViolations(page: Page, state: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
      .analyze();
    const found = results.violations.map(
      (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`,
    );
    expect(found, `axe violations on ${state}, ${colorScheme} theme`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test('pages for visitors: start, log in (with an error), sign up (with errors), not found', async ({ page, baseURL }) => {
  await page.goto('/');
  await hydrated(page);
  await expectNoViolations(page, 'the start page');

  await page.goto('/login');
  await hydrated(page);
  await expectNoViolations(page, 'the login page');
  const email = uniqueEmail('axe-login');
  await createUser(baseURL!, 'Axe', email);
  await logIn(page, email, 'not the password');
  await expect(page.getByRole('alert').filter({ hasText: 'Incorrect email or password.' })).toBeVisible();
  await expectNoViolations(page, 'the login page with an error');

  await page.goto('/register');
  await hydrated(page);
  await expectNoViolations(page, 'the sign-up page');
  await page.getByLabel('Name', { exact: true }).fill('Axe');
  await page.getByLabel('Email', { exact: true }).fill(uniqueEmail('axe-signup'));
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByLabel('Confirm password', { exact: true }).fill('other');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.locator('#field-password-error')).not.toBeEmpty();
  await expectNoViolations(page, 'the sign-up page with errors');

  await page.goto('/register/passkey');
  await hydrated(page);
  await expectNoViolations(page, 'the passkey sign-up page');

  await page.goto('/no-such-page');
  await expectNoViolations(page, 'the not-found page');
});

test('the task list: empty, with tasks, renaming, an error, Undo, a long list', async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  await onTaskListAs(page, baseURL!, 'Axe list');
  await expectNoViolations(page, 'the empty task list');

  await page.getByLabel('New task').fill('   ');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.locator('#new-task-error')).not.toBeEmpty();
  await expectNoViolations(page, 'the task list with a refused title');

  const titles = Array.from({ length: 55 }, (_, i) => `Thing to do ${i + 1}`);
  for (const title of titles) {
    const response = await page.request.post('/api/tasks/add', { form: { title } });
    expect(response.status()).toBe(200);
  }
  await page.reload();
  await hydrated(page);
  await page.getByRole('checkbox', { name: 'Thing to do 55', exact: true }).click();
  await expect(page.getByRole('checkbox', { name: 'Thing to do 55', exact: true })).toBeChecked();
  await expectNoViolations(page, 'a long task list with a done task');

  await page.getByRole('button', { name: 'Rename ‘Thing to do 54’' }).click();
  await page.getByLabel('New title for ‘Thing to do 54’').fill('');
  await page.keyboard.press('Enter');
  await expectNoViolations(page, 'a task being renamed');
  await page.keyboard.press('Escape');

  await page.getByRole('button', { name: 'Delete ‘Thing to do 53’' }).click();
  await expect(page.getByRole('button', { name: 'Undo' })).toBeVisible();
  await expectNoViolations(page, 'the task list offering Undo');

  await page.goto('/tasks?show=done');
  await hydrated(page);
  await expectNoViolations(page, 'the done filter');
});

test('the account page (and a refused deletion), the admin pages (after an action, on a phone), the 403 page', async ({ page, baseURL }) => {
  test.setTimeout(90_000);
  const admin = await createAdmin(baseURL!, 'Axe admin');
  const email = uniqueEmail('axe-target');
  await createUser(baseURL!, 'Axe Target', email);
  await logInFromScratch(page, admin);

  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Recent activity' })).toBeVisible();
  await expectNoViolations(page, 'the account page');
  await page.getByLabel('Your password').fill('not the password');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page.locator('#field-password-error')).not.toBeEmpty();
  await expectNoViolations(page, 'the account page with a refused deletion');

  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Security events' })).toBeVisible();
  await expectNoViolations(page, 'the admin page');
  await page.goto(`/admin?q=${encodeURIComponent(email)}`);
  await hydrated(page);
  await expectNoViolations(page, 'the admin page with a search');
  await page.getByRole('table', { name: 'Accounts' }).getByRole('link', { name: email, exact: true }).click();
  await expect(page.getByRole('button', { name: 'Make admin' })).toBeVisible();
  await expectNoViolations(page, "an account's admin page");
  await page.getByRole('button', { name: 'Disable account' }).click();
  await expect(page.getByRole('button', { name: 'Enable account' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel(`Type ${email} to confirm`).fill('not it');
  await expectNoViolations(page, "an account's admin page after an action, its deletion not confirmed");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/admin');
  await hydrated(page);
  await expectNoViolations(page, 'the admin page on a phone');

  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await onTaskListAs(page, baseURL!, 'Axe no admin');
  await page.goto('/admin');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Administrators only' })).toBeVisible();
  await expectNoViolations(page, 'the 403 page of /admin');
});

test('the phone layout, menu open', async ({ page, baseURL }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await onTaskListAs(page, baseURL!, 'Axe phone');
  await headerMenu(page).toggle.click();
  await expect(page.getByRole('link', { name: 'Account', exact: true })).toBeVisible();
  await expectNoViolations(page, 'the task list on a phone with the menu open');
});

test('the mail pages: the verification banner, the email section, forgotten password, reset, verify, confirm', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const email = await onTaskListAs(page, baseURL!, 'Axe mail');
  const banner = page.getByRole('region', { name: 'Email verification' });
  await expect(banner).toBeVisible();
  await expectNoViolations(page, 'the task list with the verification banner');
  await banner.getByRole('button', { name: 'Send again' }).click();
  await expect(banner.getByRole('status')).toHaveText('Sent. Check your inbox.');
  await expectNoViolations(page, 'the verification banner after Send again');

  await page.getByRole('link', { name: 'Account', exact: true }).click();
  const section = page.getByRole('region', { name: 'Email address', exact: true });
  await expect(section.getByText('Not verified yet')).toBeVisible();
  // The current address, and a wrong password: both fields refused.
  await section.getByLabel('New email address').fill(email);
  await section.getByLabel('Password', { exact: true }).fill('not the password');
  await section.getByRole('button', { name: 'Change email' }).click();
  await expect(page.locator('#field-email-password-error')).not.toBeEmpty();
  await expectNoViolations(page, 'the account page with a refused email change');
  await section.getByLabel('New email address').fill(uniqueEmail('axe-moved'));
  await section.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await section.getByRole('button', { name: 'Change email' }).click();
  await expect(section.getByRole('status')).toContainText('We sent a confirmation link to');
  await expectNoViolations(page, 'the account page after an email change was asked for');

  await openMail(page, email, 'Verify your email address for Tasks', 2);
  await page.goto(await linkTo(page, '/verify-email'));
  await expect(page.getByRole('heading', { name: 'Address verified' })).toBeVisible();
  await hydrated(page);
  await expectNoViolations(page, 'the verify-email page, verified');
  await page.goto('/verify-email?token=not-a-token');
  await expect(page.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
  await hydrated(page);
  await expectNoViolations(page, 'the verify-email page with an invalid link');
  await page.goto('/confirm-email?token=not-a-token');
  await expect(page.getByRole('heading', { name: 'Your address was not changed' })).toBeVisible();
  await hydrated(page);
  await expectNoViolations(page, 'the confirm-email page with an invalid link');

  await page.goto('/tasks');
  await hydrated(page);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/forgot-password');
  await hydrated(page);
  await expectNoViolations(page, 'the forgot-password page');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Send me a link' }).click();
  await expect(page.getByRole('status')).toContainText('If an account exists for that address');
  await expectNoViolations(page, 'the forgot-password page, link sent');

  await openMail(page, email, 'Reset your Tasks password');
  await page.goto(await linkTo(page, '/reset-password'));
  await hydrated(page);
  await expectNoViolations(page, 'the reset-password page');
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('Confirm new password', { exact: true }).fill('other');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.locator('#field-new_password-error')).not.toBeEmpty();
  await hydrated(page);
  await expectNoViolations(page, 'the reset-password page with errors');
  await page.goto('/reset-password?token=not-a-token');
  await expect(page.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
  await hydrated(page);
  await expectNoViolations(page, 'the reset-password page with an invalid link');

  await page.setViewportSize({ width: 390, height: 844 });
  await onTaskListAs(page, baseURL!, 'Axe mail phone');
  await expect(page.getByRole('region', { name: 'Email verification' })).toBeVisible();
  await expectNoViolations(page, 'the verification banner on a phone');
});

test('two-step sign-in: setting it up, the account section, the code pages, the admin page', async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  const email = await onTaskListAs(page, baseURL!, 'Axe two-step');
  await page.goto('/account/two-step');
  await hydrated(page);
  await expectNoViolations(page, 'the two-step setup, password');
  await page.getByLabel('Your password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
  await hydrated(page);
  await expectNoViolations(page, 'the two-step setup, QR code');
  const secret = (await page.getByTestId('totp-secret').textContent())!;
  await page.getByLabel('6-digit code').fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  await expect(page.locator('#field-code-error')).not.toBeEmpty();
  await hydrated(page);
  await expectNoViolations(page, 'the two-step setup with a refused code');
  await page.getByLabel('6-digit code').fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  await expect(page.getByRole('list', { name: 'Recovery codes' })).toBeVisible();
  await hydrated(page);
  await expectNoViolations(page, 'the recovery codes');

  await page.goto('/account');
  await hydrated(page);
  await expectNoViolations(page, 'the account page with two-step sign-in on');
  const off = page.getByRole('form', { name: 'Turn off two-step sign-in' });
  await off.getByLabel('Password').fill('not the password');
  await off.getByLabel('Code from your app, or a recovery code').fill(wrongCode(secret));
  await off.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
  await expect(page.locator('#field-off-password-error')).not.toBeEmpty();
  await hydrated(page);
  await expectNoViolations(page, 'the account page with a refused turning off');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/account/two-step');
  await hydrated(page);
  await expectNoViolations(page, 'the two-step setup page (already on) on a phone');
  await page.setViewportSize({ width: 1280, height: 720 });

  await page.context().clearCookies();
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/login\/code/);
  await hydrated(page);
  await expectNoViolations(page, 'the code page');
  await page.getByLabel('6-digit code').fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.locator('#field-code-error')).not.toBeEmpty();
  await hydrated(page);
  await expectNoViolations(page, 'the code page with a refused code');
  await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
  await expect(page.getByLabel('Recovery code')).toBeVisible();
  await expectNoViolations(page, 'the recovery code page');
  await page.context().clearCookies();
  await page.goto('/login/code');
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'Sign in again' })).toBeVisible();
  await expectNoViolations(page, 'the code page of an expired sign-in');

  const admin = await createAdmin(baseURL!, 'Axe two-step admin');
  await logInFromScratch(page, admin);
  await page.goto(`/admin?q=${encodeURIComponent(email)}`);
  await hydrated(page);
  await expectNoViolations(page, 'the admin list with a two-step account');
  await page.getByRole('table', { name: 'Accounts' }).getByRole('link', { name: email, exact: true }).click();
  await expect(page.getByRole('button', { name: 'Turn off two-step sign-in' })).toBeVisible();
  await hydrated(page);
  await expectNoViolations(page, "the admin page of an account with two-step sign-in");
});
