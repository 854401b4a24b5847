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
