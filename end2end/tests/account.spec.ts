import { expect, test } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { PASSWORD, hydrated, logIn, onTaskListAs, watchConsole } from './helpers';

// The account page (`/account`, which replaced `/sessions`): activity, the data download, and
// deleting one's own account. sessions.spec.ts covers its sessions and password sections.

test.describe('the account page', () => {
  let consoleProblems: string[] = [];

  test.beforeEach(async ({ page }) => {
    consoleProblems = watchConsole(page);
  });

  test.afterEach(async () => {
    expect(consoleProblems, 'console errors').toEqual([]);
  });

  test('a password field can be shown as plain text where the page has a script, and offers nothing where it has none', async ({
    page,
    baseURL,
  }) => {
    // The login page loads the passkey module, which brings the Show button to life.
    await page.goto('/login');
    await hydrated(page);
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('correct horse battery');
    await expect(password).toHaveAttribute('type', 'password');
    await page.getByRole('button', { name: 'Show password' }).click();
    await expect(password).toHaveAttribute('type', 'text');
    await expect(password).toHaveValue('correct horse battery');
    await page.getByRole('button', { name: 'Hide password' }).click();
    await expect(password).toHaveAttribute('type', 'password');
    // Sign-up has no script at all (issue 28): no button that would do nothing.
    await page.goto('/register');
    await expect(page.getByLabel('Password', { exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: /^Show/ })).toHaveCount(0);
    // The account page has the module too (for "Add a passkey"): its password fields have it.
    await onTaskListAs(page, baseURL!, 'Reveal');
    await page.goto('/account');
    await hydrated(page);
    const current = page.getByLabel('Current password', { exact: true }).first();
    await current.fill('what I typed');
    await page.getByRole('button', { name: 'Show current password' }).first().click();
    await expect(current).toHaveAttribute('type', 'text');
  });

  test('the old /sessions address opens the account page', async ({ page, baseURL }) => {
    await onTaskListAs(page, baseURL!, 'Bookmark');
    await page.goto('/sessions');
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  });

  test('recent activity, and downloading my data', async ({ page, baseURL }) => {
    const email = await onTaskListAs(page, baseURL!, 'Downloader');
    await page.getByLabel('New task').fill('In the export');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(page.getByRole('checkbox', { name: 'In the export' })).toBeVisible();

    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page).toHaveTitle('Account · Tasks');
    const activity = page.getByRole('list', { name: 'Recent activity' });
    await expect(activity.getByRole('listitem').filter({ hasText: 'Signed in from' }).first()).toBeVisible();
    await expect(activity.getByRole('listitem').filter({ hasText: 'Account created from' })).toHaveCount(1);
    // When, with the exact UTC time on hover.
    await expect(activity.locator('time').first()).toHaveAttribute('title', / UTC$/);

    const downloading = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download my data' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('tasks-export.json');
    const data = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(data.profile.email).toBe(email);
    expect(data.tasks.map((t: { title: string }) => t.title)).toEqual(['In the export']);
    expect(data.sessions.length).toBeGreaterThan(0);
    // Recorded in the activity.
    await page.reload();
    await hydrated(page);
    await expect(activity.getByText('Data downloaded')).toBeVisible();
  });

  test('a person deletes their own account: password required, every session ends', async ({
    page,
    baseURL,
    browser,
  }) => {
    const email = await onTaskListAs(page, baseURL!, 'Leaving');
    const otherContext = await browser.newContext();
    const other = await otherContext.newPage();
    await other.goto('/login');
    await hydrated(other);
    await logIn(other, email);
    await expect(other).toHaveURL(/\/tasks$/);

    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'Delete account' })).toBeVisible();
    await expect(page.getByText('erases it and all your tasks, and signs you out on every device')).toBeVisible();
    await page.getByLabel('Your password').fill('not the password');
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await expect(page.locator('#field-password-error')).toHaveText('Your password is not correct.');
    await expect(page.getByLabel('Your password')).toBeFocused();

    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole('link', { name: 'Sign up', exact: true })).toBeVisible();
    await expect(page.getByText('Signed in as')).toHaveCount(0);
    const cookies = await page.context().cookies();
    expect(cookies.filter((c) => /tasks_(session|refresh)$/.test(c.name))).toEqual([]);

    // The other device is out on its next request, and the account is gone.
    await other.reload();
    await expect(other).toHaveURL(/\/login\?next=\/tasks$/);
    await hydrated(other);
    await logIn(other, email);
    await expect(other.getByRole('alert').filter({ hasText: 'Incorrect email or password.' })).toBeVisible();
    await otherContext.close();
  });
});
