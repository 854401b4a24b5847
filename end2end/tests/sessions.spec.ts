import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { PASSWORD, hydrated, logIn, onTaskListAs, watchConsole } from './helpers';

// The server under test runs with a short access-token lifetime (see .ci/test), so these tests
// can wait it out.
const ACCESS_TTL_MS = Number(process.env.ACCESS_TOKEN_TTL_SECONDS ?? '0') * 1000;

async function refreshCookie(context: BrowserContext): Promise<string | undefined> {
  const cookies = await context.cookies();
  return cookies.find((c) => c.name.endsWith('tasks_refresh'))?.value;
}

async function addTask(page: Page, title: string): Promise<void> {
  await page.getByLabel('New task').fill(title);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByText(title, { exact: true })).toBeVisible();
}

/** Logs `email` in on a fresh page in its own browser context (another device). */
async function secondDevice(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/tasks$/);
}

test.describe('sessions', () => {
  let consoleProblems: string[] = [];

  test.beforeEach(async ({ page }) => {
    consoleProblems = watchConsole(page);
  });

  test.afterEach(async () => {
    expect(consoleProblems, 'console errors').toEqual([]);
  });

  test('a person stays signed in past the access-token lifetime, without a login page', async ({
    page,
    context,
    baseURL,
  }) => {
    expect(ACCESS_TTL_MS, 'ACCESS_TOKEN_TTL_SECONDS must be set for this test').toBeGreaterThan(0);
    test.setTimeout(ACCESS_TTL_MS * 3 + 60_000);
    await onTaskListAs(page, baseURL!, 'Marathon');
    await addTask(page, 'Before the token expired');
    const firstRefresh = await refreshCookie(context);
    expect(firstRefresh).toBeTruthy();

    // Waiting is the behaviour under test: the access token (and its cookie) expire.
    await page.waitForTimeout(ACCESS_TTL_MS + 1_500);
    await addTask(page, 'After the token expired');
    await expect(page).toHaveURL(/\/tasks$/);
    expect(await refreshCookie(context)).not.toBe(firstRefresh);

    await page.waitForTimeout(ACCESS_TTL_MS + 1_500);
    await page.reload();
    await hydrated(page);
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Before the token expired')).toBeVisible();
    await expect(page.getByText('After the token expired')).toBeVisible();

    await page.waitForTimeout(ACCESS_TTL_MS + 1_500);
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'Sessions' })).toBeVisible();
    await expect(page).toHaveURL(/\/account$/);
  });

  test('two tabs opened together after the access token expired both stay signed in', async ({
    page,
    context,
    baseURL,
  }) => {
    expect(ACCESS_TTL_MS, 'ACCESS_TOKEN_TTL_SECONDS must be set for this test').toBeGreaterThan(0);
    test.setTimeout(ACCESS_TTL_MS + 60_000);
    await onTaskListAs(page, baseURL!, 'Two Tabs');
    await addTask(page, 'Seen from both tabs');
    const before = await refreshCookie(context);

    // Waiting is the behaviour under test: the access cookie expires, then two tabs load at
    // once and both present the same refresh cookie.
    await page.waitForTimeout(ACCESS_TTL_MS + 1_500);
    const second = await context.newPage();
    const secondProblems = watchConsole(second);
    await Promise.all([page.reload(), second.goto('/tasks')]);
    for (const tab of [page, second]) {
      await expect(tab).toHaveURL(/\/tasks$/);
      await expect(tab.getByText('Seen from both tabs')).toBeVisible();
    }
    expect(await refreshCookie(context)).not.toBe(before);

    // And both keep working afterwards: each adds a task, each sees the other's after a reload.
    await hydrated(page);
    await hydrated(second);
    await addTask(page, 'Added in the first tab');
    await addTask(second, 'Added in the second tab');
    await second.reload();
    await expect(second).toHaveURL(/\/tasks$/);
    await expect(second.getByText('Added in the first tab')).toBeVisible();
    expect(secondProblems, 'console errors in the second tab').toEqual([]);
  });

  test('the account page lists devices and signs out every other one', async ({
    page,
    baseURL,
    browser,
  }) => {
    const email = await onTaskListAs(page, baseURL!, 'Traveller');
    const phoneContext = await browser.newContext();
    const phone = await phoneContext.newPage();
    await secondDevice(phone, email);

    // Three sessions: the sign-up (createUser signs its own client in), this page, the phone.
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await hydrated(page);
    const sessions = page.getByRole('list', { name: 'Your sessions' }).getByRole('listitem');
    await expect(sessions).toHaveCount(3);
    await expect(page.getByText('This device', { exact: true })).toHaveCount(1);
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await expect(page.getByText('2 other sessions were signed out.')).toBeVisible();
    await expect(sessions).toHaveCount(1);

    // The other device is out on its very next request.
    await phone.reload();
    await expect(phone).toHaveURL(/\/login\?next=\/tasks$/);
    // And this one is not.
    await page.reload();
    await expect(page).toHaveURL(/\/account$/);
    await phoneContext.close();
  });

  test('changing the password needs the current one and signs out the other devices', async ({
    page,
    baseURL,
    browser,
  }) => {
    const email = await onTaskListAs(page, baseURL!, 'Rotator');
    const otherContext = await browser.newContext();
    const other = await otherContext.newPage();
    await secondDevice(other, email);

    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await hydrated(page);
    const newPassword = 'a much longer passphrase now';
    await page.getByLabel('Current password').fill('not the password');
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Confirm new password').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#field-current_password-error')).toHaveText(
      'Your current password is not correct.',
    );

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill('password1');
    await page.getByLabel('Confirm new password').fill('password1');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#field-new_password-error')).toContainText('commonly used');

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Confirm new password').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    // The sign-up's session (createUser) and the other device.
    await expect(page.getByText('Password changed. 2 other sessions were signed out.')).toBeVisible();

    await other.reload();
    await expect(other).toHaveURL(/\/login/);
    await hydrated(other);
    await logIn(other, email, newPassword);
    await expect(other).toHaveURL(/\/tasks$/);
    await otherContext.close();
  });
});
