import { expect, test, type Page } from '@playwright/test';
import { PASSWORD, hydrated, linkTo, logIn, openMail, signUpThroughForm, uniqueEmail, watchConsole } from './helpers';

// The flows that go through a mailbox: a forgotten password, verifying the address, changing
// it. The server under test keeps its mail in the database and shows it at /dev/mailbox
// (development without SMTP_URL); helpers.ts reads it.

const SENT = 'If an account exists for that address, we sent a link to it. It works for 30 minutes.';
const NEW_PASSWORD = 'a brand new passphrase 42';
const RESET_SUBJECT = 'Reset your Tasks password';
const VERIFY_SUBJECT = 'Verify your email address for Tasks';

/** Signs a new account up through the form; returns its address (the page is on /tasks). */
async function signUp(page: Page, name: string, tag: string, javaScript = true): Promise<string> {
  const email = uniqueEmail(tag);
  await page.goto('/register');
  // A click before hydration can be lost while the page takes its form over.
  if (javaScript) await hydrated(page);
  await signUpThroughForm(page, name, email);
  await expect(page).toHaveURL(/\/tasks$/);
  return email;
}

const banner = (page: Page) => page.getByRole('region', { name: 'Email verification' });

test.describe('with JavaScript', () => {
  let consoleProblems: string[] = [];

  test.beforeEach(async ({ page }) => {
    consoleProblems = watchConsole(page);
  });

  test.afterEach(async () => {
    expect(consoleProblems, 'console errors').toEqual([]);
  });

  test('a forgotten password is reset through the mailed link, which then works no more', async ({ page }) => {
    const email = await signUp(page, 'Forgetful', 'forgot');
    await hydrated(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await hydrated(page);

    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await expect(page).toHaveURL(/\/forgot-password$/);
    await expect(page).toHaveTitle('Forgot your password · Tasks');
    await expect(page.getByRole('heading', { name: 'Forgot your password?' })).toBeVisible();
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Send me a link' }).click();
    await expect(page.getByRole('status').filter({ hasText: SENT })).toBeVisible();
    // In place: the page did not reload.
    await expect(page).toHaveURL(/\/forgot-password$/);

    await openMail(page, email, RESET_SUBJECT);
    const link = await linkTo(page, '/reset-password');
    await page.locator('pre a[href*="/reset-password?token="]').click();
    await expect(page).toHaveURL(/\/reset-password\?token=/);
    await expect(page).toHaveTitle('Choose a new password · Tasks');
    await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
    await expect(page.getByText(`Choose a new password for ${email}.`)).toBeVisible();
    await hydrated(page);
    await expect(page.getByLabel('New password', { exact: true })).toHaveAttribute('autocomplete', 'new-password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as Forgetful')).toBeVisible();
    // Resetting through a mailed link proves the address: no verification banner.
    await expect(banner(page)).toHaveCount(0);

    await hydrated(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await hydrated(page);
    await logIn(page, email, PASSWORD);
    await expect(page.getByRole('alert').filter({ hasText: 'Incorrect email or password.' })).toBeVisible();
    await logIn(page, email, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/tasks$/);

    // The link worked once.
    await page.goto(link);
    await expect(page.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
    await expect(page.getByText('This link is invalid, has expired or was already used.')).toBeVisible();
    await expect(page.getByRole('link', { name: 'Ask for a new link' })).toHaveAttribute('href', '/forgot-password');
    await expect(page.getByLabel('New password', { exact: true })).toHaveCount(0);
  });

  test('a sign-in from a new browser is mailed, and "This wasn\'t me" signs everyone out and leads to a new password', async ({
    page,
    browser,
    baseURL,
  }) => {
    const email = await signUp(page, 'Alerted Owner', 'alerted');
    // Someone else, in another browser, with the password.
    const elsewhere = await browser.newContext({ baseURL });
    const thief = await elsewhere.newPage();
    await thief.goto('/login');
    await hydrated(thief);
    await logIn(thief, email);
    await expect(thief).toHaveURL(/\/tasks$/);

    await openMail(page, email, 'New sign-in to your Tasks account');
    await expect(page.getByText('with your password').first()).toBeVisible();
    await page.locator('pre a[href*="/secure-account?token="]').click();
    await expect(page).toHaveURL(/\/secure-account\?token=/);
    await expect(page).toHaveTitle('Secure your account · Tasks');
    await expect(page.getByRole('heading', { name: 'Secure your account' })).toBeVisible();
    const link = page.url();
    // Opening the link changed nothing yet.
    await thief.reload();
    await expect(thief).toHaveURL(/\/tasks$/);

    await page.getByRole('button', { name: 'Sign out everywhere and secure my account' }).click();
    await expect(page).toHaveURL(/\/reset-password\?token=/);
    await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
    await thief.goto('/tasks');
    await expect(thief).toHaveURL(/\/login/);
    await elsewhere.close();

    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await page.goto('/account');
    await hydrated(page);
    await expect(
      page.getByRole('list', { name: 'Recent activity' }).getByRole('listitem').filter({ hasText: 'Account secured' }),
    ).toHaveCount(1);

    // The mail about new browsers can be turned off here.
    const alerts = page.getByRole('region', { name: 'Sign-in alerts' });
    const choice = alerts.getByLabel('Email me about sign-ins from new devices');
    await expect(choice).toBeChecked();
    await choice.uncheck();
    await alerts.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'no more emails about sign-ins from new devices' })).toBeVisible();
    await expect(page.getByRole('region', { name: 'Sign-in alerts' }).getByLabel('Email me about sign-ins from new devices')).not.toBeChecked();

    // The link worked once.
    await page.goto(link);
    await expect(page.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
  });

  test('an unknown address gets the same answer as a known one', async ({ page }) => {
    const known = await signUp(page, 'Known', 'forgot-known');
    await hydrated(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);

    const answers: string[] = [];
    for (const email of [known, uniqueEmail('nobody')]) {
      await page.goto('/forgot-password');
      await hydrated(page);
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByRole('button', { name: 'Send me a link' }).click();
      const status = page.getByRole('status').filter({ hasText: SENT });
      await expect(status).toBeVisible();
      answers.push(await page.locator('main').innerText());
    }
    expect(answers[1]).toBe(answers[0]);
  });

  test('a new account verifies its address from the mail, and the banner goes', async ({ page }) => {
    const email = await signUp(page, 'Verifier', 'verify');
    await hydrated(page);
    await expect(banner(page)).toContainText(`Check your inbox to verify ${email}.`);
    await expect(banner(page).getByRole('button', { name: 'Send again' })).toBeVisible();

    await openMail(page, email, VERIFY_SUBJECT);
    await page.locator('pre a[href*="/verify-email?token="]').click();
    await expect(page).toHaveURL(/\/verify-email\?token=/);
    const link = page.url();
    await expect(page).toHaveTitle('Verify your email address · Tasks');
    await expect(page.getByRole('heading', { name: 'Address verified' })).toBeVisible();
    await expect(page.getByText(`Your address ${email} is verified.`)).toBeVisible();
    await expect(banner(page)).toHaveCount(0);
    await hydrated(page);

    await page.getByRole('link', { name: 'Go to your tasks' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByRole('heading', { name: 'Your tasks' })).toBeVisible();
    await expect(banner(page)).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Your tasks' })).toBeVisible();
    await expect(banner(page)).toHaveCount(0);

    // Opened again (a second click, a mail scanner): still verified.
    await page.goto(link);
    await expect(page.getByRole('heading', { name: 'Address verified' })).toBeVisible();
  });

  test('"Send again" mails a new link (only the newest works), until too many', async ({ page }) => {
    const email = await signUp(page, 'Resender', 'resend');
    await openMail(page, email, VERIFY_SUBJECT);
    const first = await linkTo(page, '/verify-email');

    await page.goto('/tasks');
    await hydrated(page);
    await banner(page).getByRole('button', { name: 'Send again' }).click();
    await expect(banner(page).getByRole('status')).toHaveText('Sent. Check your inbox.');
    await openMail(page, email, VERIFY_SUBJECT, 2);
    const second = await linkTo(page, '/verify-email');
    expect(second).not.toBe(first);

    await page.goto(first);
    await expect(page.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
    await expect(page.getByRole('link', { name: 'your account page' })).toHaveAttribute('href', '/account');

    // Each address may ask a few times an hour; then the banner says to wait.
    await page.goto('/tasks');
    await hydrated(page);
    // Empty messages are hidden, which takes them out of the accessibility tree: found by role attribute.
    const alert = banner(page).locator('[role="alert"]');
    for (let i = 0; i < 20 && !(await alert.textContent())?.trim(); i++) {
      await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/email/resend')),
        banner(page).getByRole('button', { name: 'Send again' }).click(),
      ]);
    }
    await expect(alert).toHaveText(/^Too many attempts\. Try again in \d+ seconds\.$/);
    await expect(banner(page).locator('[role="status"]')).toBeEmpty();

    // Every mail replaced the one before: the newest link works.
    await openMail(page, email, VERIFY_SUBJECT);
    await page.locator('pre a[href*="/verify-email?token="]').click();
    await expect(page.getByRole('heading', { name: 'Address verified' })).toBeVisible();
  });

  test('changing the email address: password required, confirmed from the new mailbox', async ({ page }) => {
    const old = await signUp(page, 'Mover', 'move-from');
    const moved = uniqueEmail('move-to');
    await page.goto('/account');
    await hydrated(page);
    const section = page.getByRole('region', { name: 'Email address', exact: true });
    await expect(section.getByText(old, { exact: true })).toBeVisible();
    await expect(section.getByText('Not verified yet')).toBeVisible();

    await section.getByLabel('New email address').fill(moved);
    await section.getByLabel('Password', { exact: true }).fill('not the password');
    await section.getByRole('button', { name: 'Change email' }).click();
    await expect(page.locator('#field-email-password-error')).toHaveText('Your password is not correct.');
    await expect(section.getByLabel('Password', { exact: true })).toBeFocused();
    await expect(section.getByLabel('Password', { exact: true })).toHaveAttribute('aria-invalid', 'true');

    await section.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await section.getByRole('button', { name: 'Change email' }).click();
    await expect(section.getByRole('status')).toHaveText(
      `We sent a confirmation link to ${moved}; your address changes when you open it.`,
    );
    // Nothing changes before the link is opened.
    await expect(section.getByText(old, { exact: true })).toBeVisible();

    await openMail(page, old, 'Your Tasks email address is being changed');
    await expect(page.locator('pre')).toContainText(moved);
    await openMail(page, moved, 'Confirm your new email address for Tasks');
    await page.locator('pre a[href*="/confirm-email?token="]').click();
    await expect(page).toHaveURL(/\/confirm-email\?token=/);
    await expect(page).toHaveTitle('Confirm your new email address · Tasks');
    await expect(page.getByRole('heading', { name: 'Email address changed' })).toBeVisible();
    await expect(page.getByText(`Your account now uses ${moved}.`)).toBeVisible();
    await hydrated(page);

    await page.getByRole('link', { name: 'Go to your account' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(section.getByText(moved, { exact: true })).toBeVisible();
    await expect(section.getByText('Verified', { exact: true })).toBeVisible();
    await expect(banner(page)).toHaveCount(0);

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await hydrated(page);
    await logIn(page, old);
    await expect(page.getByRole('alert').filter({ hasText: 'Incorrect email or password.' })).toBeVisible();
    await logIn(page, moved);
    await expect(page).toHaveURL(/\/tasks$/);
  });
});

// JavaScript off: every form is a plain HTML form post answered by a redirect.
test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a forgotten password is reset, a refused confirmation coming back on the page', async ({ page }) => {
    const email = await signUp(page, 'Plain Forgetful', 'nojs-forgot', false);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);

    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Send me a link' }).click();
    // The same page says so, as with JavaScript, and its URL carries nothing a link could fake.
    await expect(page).toHaveURL(/\/forgot-password$/);
    await expect(page.getByRole('status')).toHaveText(SENT);
    await page.reload();
    await expect(page.getByRole('status')).toHaveText('');

    await openMail(page, email, RESET_SUBJECT);
    await page.locator('pre a[href*="/reset-password?token="]').click();
    const resetPage = page.url();
    await expect(page.getByText(`Choose a new password for ${email}.`)).toBeVisible();
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password', { exact: true }).fill('something else entirely');
    await page.getByRole('button', { name: 'Set new password' }).click();
    // Back on the same link's page, the message next to its field and the focus on it.
    await expect(page).toHaveURL(resetPage);
    await expect(page.locator('#field-new_password_confirm-error')).toHaveText('The new passwords do not match.');
    await expect(page.getByLabel('Confirm new password', { exact: true })).toBeFocused();

    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as Plain Forgetful')).toBeVisible();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
  });

  test('verifying, "Send again" and changing the address', async ({ page }) => {
    const email = await signUp(page, 'Plain Verifier', 'nojs-verify', false);
    await expect(banner(page)).toContainText(`Check your inbox to verify ${email}.`);
    // "Send again" answers on the page it was pressed on, as with JavaScript.
    const before = page.url();
    await banner(page).getByRole('button', { name: 'Send again' }).click();
    await expect(page).toHaveURL(before);
    await expect(banner(page).getByRole('status')).toHaveText('Sent. Check your inbox.');

    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByText('Sent. Check your inbox.')).toHaveCount(0);

    const moved = uniqueEmail('nojs-move-to');
    const section = page.getByRole('region', { name: 'Email address', exact: true });
    await section.getByLabel('New email address').fill(moved);
    await section.getByLabel('Password', { exact: true }).fill('not the password');
    await section.getByRole('button', { name: 'Change email' }).click();
    await expect(page.locator('#field-email-password-error')).toHaveText('Your password is not correct.');
    await expect(section.getByLabel('Password', { exact: true })).toBeFocused();
    await section.getByLabel('New email address').fill(moved);
    await section.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await section.getByRole('button', { name: 'Change email' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(section.getByRole('status')).toHaveText(
      `We sent a confirmation link to ${moved}; your address changes when you open it.`,
    );

    await openMail(page, email, VERIFY_SUBJECT, 2);
    await page.locator('pre a[href*="/verify-email?token="]').click();
    await expect(page.getByText(`Your address ${email} is verified.`)).toBeVisible();
    await page.getByRole('link', { name: 'Go to your tasks' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(banner(page)).toHaveCount(0);

    await openMail(page, moved, 'Confirm your new email address for Tasks');
    await page.locator('pre a[href*="/confirm-email?token="]').click();
    await expect(page.getByText(`Your account now uses ${moved}.`)).toBeVisible();
    await page.getByRole('link', { name: 'Go to your account' }).click();
    await expect(page.getByRole('region', { name: 'Email address', exact: true }).getByText(moved, { exact: true })).toBeVisible();
  });
});
