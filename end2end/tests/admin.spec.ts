import { expect, test, type Page } from '@playwright/test';
import {
  PASSWORD,
  createAdmin,
  createUser,
  hydrated,
  logIn,
  logInFromScratch,
  onTaskListAs,
  uniqueEmail,
  watchConsole,
} from './helpers';

// The administrators' pages in the browser, with JavaScript (no-js.spec.ts does the same
// without). Administrators are made with `tasks admin grant` against the server's database.

/** From anywhere with the header: opens the admin page of the account with this email. */
async function openAccount(page: Page, email: string): Promise<void> {
  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Administration' })).toBeVisible();
  await page.getByLabel('Search by email or name').fill(email);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Accounts whose email or name contains' })).toBeVisible();
  await hydrated(page);
  await page.getByRole('table', { name: 'Accounts' }).getByRole('link', { name: email, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1 })).not.toHaveText('Administration');
  await expect(page).toHaveURL(/\/admin\/users\/\d+$/);
}

test.describe('administration', () => {
  let consoleProblems: string[] = [];

  test.beforeEach(async ({ page }) => {
    consoleProblems = watchConsole(page);
  });

  test.afterEach(async () => {
    expect(consoleProblems, 'console errors').toEqual([]);
  });

  test("an admin disables a user in the browser, and that user's open page is signed out on its next action", async ({
    page,
    baseURL,
    browser,
  }) => {
    // The person, on their task list in their own browser.
    const theirContext = await browser.newContext();
    const theirs = await theirContext.newPage();
    const theirProblems = watchConsole(theirs);
    const email = await onTaskListAs(theirs, baseURL!, 'Soon Disabled');
    await theirs.getByLabel('New task').fill('Before the admin came');
    await theirs.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(theirs.getByRole('checkbox', { name: 'Before the admin came' })).toBeVisible();

    // The administrator finds them and disables the account.
    const admin = await createAdmin(baseURL!, 'Disabling Admin');
    await logInFromScratch(page, admin);
    await openAccount(page, email);
    await expect(page.getByText('Live sessions')).toBeVisible();
    // The admin pages' actions are plain form posts, with JavaScript too: the page reloads.
    await page.getByRole('button', { name: 'Disable account' }).click();
    await expect(page.getByRole('button', { name: 'Enable account' })).toBeVisible();
    await expect(page.getByText('Disabled: cannot sign in')).toBeVisible();
    await expect(page.getByRole('listitem').filter({ hasText: 'Account disabled (by an administrator)' })).toBeVisible();

    // Their page, still open, is signed out by its very next action.
    await theirs.getByLabel('New task').fill('After the admin came');
    await theirs.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(theirs).toHaveURL(/\/login\?next=\/tasks$/);
    // The header no longer names them...
    await expect(theirs.getByText('Signed in as')).toHaveCount(0);
    await expect(theirs.getByRole('link', { name: 'Sign up', exact: true })).toBeVisible();
    // ...and the account cannot sign in again.
    await logIn(theirs, email);
    await expect(theirs.getByRole('alert').filter({ hasText: 'This account has been disabled.' })).toBeVisible();

    // Enabled again, they can.
    await page.getByRole('button', { name: 'Enable account' }).click();
    await expect(page.getByRole('button', { name: 'Disable account' })).toBeVisible();
    await logIn(theirs, email);
    await expect(theirs).toHaveURL(/\/tasks$/);
    await expect(theirs.getByRole('checkbox', { name: 'Before the admin came' })).toBeVisible();
    expect(theirProblems, 'console errors on their page').toEqual([]);
    await theirContext.close();
  });

  test('an admin makes someone an admin, takes it back, and deletes the account after typing its email', async ({
    page,
    baseURL,
    browser,
  }) => {
    const email = uniqueEmail('promoted');
    await createUser(baseURL!, 'Promoted Person', email);
    const admin = await createAdmin(baseURL!, 'Promoting Admin');
    await logInFromScratch(page, admin);
    await expect(page.getByRole('link', { name: 'Admin', exact: true })).toBeVisible();

    // Their own page offers no action on themselves.
    await openAccount(page, admin);
    await expect(page.getByText('This is your own account.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Remove admin' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Disable account' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Delete this account' })).toHaveCount(0);

    await openAccount(page, email);
    await page.getByRole('button', { name: 'Make admin' }).click();
    await expect(page.getByRole('button', { name: 'Remove admin' })).toBeVisible();
    await expect(page.getByRole('definition').filter({ hasText: 'Administrator' })).toBeVisible();

    // The new administrator has the Admin link, and the admin pages open for them.
    const theirContext = await browser.newContext();
    const theirs = await theirContext.newPage();
    const theirProblems = watchConsole(theirs);
    await logInFromScratch(theirs, email);
    await theirs.getByRole('link', { name: 'Admin', exact: true }).click();
    await expect(theirs.getByRole('heading', { name: 'Administration' })).toBeVisible();
    await expect(theirs.getByRole('link', { name: 'Admin', exact: true })).toHaveAttribute('aria-current', 'page');

    await page.getByRole('button', { name: 'Remove admin' }).click();
    await expect(page.getByRole('button', { name: 'Make admin' })).toBeVisible();
    await expect(page.getByRole('listitem').filter({ hasText: 'Role changed (admin → user)' })).toBeVisible();
    // On their next request they are an ordinary user again: the page refuses, the link is gone.
    await theirs.reload();
    await hydrated(theirs);
    await expect(theirs.getByRole('heading', { name: 'Administrators only' })).toBeVisible();
    await expect(theirs.getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
    expect(theirProblems, 'console errors on their page').toEqual([]);
    await theirContext.close();

    // Deleting needs the account's email typed out: the browser holds anything else back.
    const accountPage = page.url();
    const remove = page.getByRole('button', { name: 'Delete this account' });
    const confirm = page.getByLabel(`Type ${email} to confirm`);
    const mismatch = page.locator('#field-confirm_email:invalid');
    await confirm.fill('someone-else@example.com');
    await expect(mismatch).toHaveCount(1);
    await remove.click();
    await expect(page).toHaveURL(accountPage);
    await expect(page.getByRole('heading', { name: 'Delete account' })).toBeVisible();
    await confirm.fill(email);
    await expect(mismatch).toHaveCount(0);
    await remove.click();
    await expect(page).toHaveURL(/\/admin$/);
    await expect(page.getByRole('heading', { name: 'Administration' })).toBeVisible();
    await page.getByLabel('Search by email or name').fill(email);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(page.getByText(`No account’s email or name contains ‘${email}’.`)).toBeVisible();

    // Gone for good: they cannot sign in.
    const again = await browser.newContext();
    const login = await again.newPage();
    await login.goto('/login');
    await hydrated(login);
    await logIn(login, email, PASSWORD);
    await expect(login.getByRole('alert').filter({ hasText: 'Incorrect email or password.' })).toBeVisible();
    await again.close();
  });

  test('ordinary people get no Admin link, and a 403 page at /admin', async ({ page, baseURL }) => {
    await onTaskListAs(page, baseURL!, 'Not An Admin');
    await expect(page.getByRole('link', { name: 'Account', exact: true })).toBeVisible();
    await expect(page.getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
    const response = await page.goto('/admin');
    expect(response?.status()).toBe(403);
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Administrators only' })).toBeVisible();
    await expect(page).toHaveTitle('Administrators only · Tasks');
  });
});
