import { expect, test } from '@playwright/test';
import { PASSWORD, createAdmin, createUser, signUpThroughForm, uniqueEmail } from './helpers';

// This file runs in the `no-js` project: JavaScript is disabled, so every form is a plain
// HTML form post answered by a redirect.

test('sign up, add a task, log out and log in again without JavaScript', async ({ page }) => {
  const email = uniqueEmail('nojs');
  await page.goto('/register');
  await signUpThroughForm(page, 'No Script', email);
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByText('Signed in as No Script')).toBeVisible();

  await page.getByLabel('New task').fill('Works without wasm');
  await page.getByRole('button', { name: 'Add' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole('checkbox', { name: 'Works without wasm' })).toBeVisible();

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole('checkbox', { name: 'Works without wasm' })).toBeVisible();
});

test('a failed login without JavaScript shows the error on the form', async ({ page, baseURL }) => {
  const email = uniqueEmail('nojs-fail');
  await createUser(baseURL!, 'Fail', email);
  await page.goto('/login');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  // Back on the form, with no error text in the address (it travels in a one-time cookie).
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('alert').filter({ hasText: 'Incorrect email or password.' })).toBeVisible();
  await expect(page.getByLabel('Email', { exact: true })).toBeFocused();
  await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  // The email comes back as typed; the password never does.
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(email);
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue('');
  // Reloading does not show it again.
  await page.reload();
  await expect(page.getByText('Incorrect email or password.')).toHaveCount(0);
});

test('a refused sign-up without JavaScript keeps the name and email, never the passwords', async ({ page, baseURL }) => {
  const taken = uniqueEmail('nojs-taken');
  await createUser(baseURL!, 'First', taken);
  await page.goto('/register');
  await page.getByLabel('Name', { exact: true }).fill('Second Person');
  await page.getByLabel('Email', { exact: true }).fill(taken);
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByLabel('Confirm password', { exact: true }).fill('other');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/register$/);
  await expect(page.locator('#field-password-error')).toHaveText('Password must be at least 8 characters.');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Second Person');
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(taken);
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue('');
  await expect(page.getByLabel('Confirm password', { exact: true })).toHaveValue('');

  // Only the passwords typed again: the next refusal is about the address.
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.locator('#field-email-error')).toContainText('already registered');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Second Person');
});

test('the task list redirects to login without a session, without JavaScript', async ({ page }) => {
  await page.goto('/tasks');
  await expect(page).toHaveURL(/\/login\?next=\/tasks$/);
});

test('tick, rename, delete and clear done tasks without JavaScript', async ({ page }) => {
  const email = uniqueEmail('nojs-list');
  await page.goto('/register');
  await signUpThroughForm(page, 'Plain Forms', email);
  await expect(page).toHaveURL(/\/tasks$/);
  for (const title of ['Paint the fence', 'Fix the bike', 'Call the bank']) {
    await page.getByLabel('New task').fill(title);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(page.getByRole('checkbox', { name: title, exact: true })).toBeVisible();
  }

  // Ticking posts a form and comes back to the same filter.
  await page.goto('/tasks?show=open');
  await page.getByRole('checkbox', { name: 'Fix the bike', exact: true }).click();
  await expect(page).toHaveURL(/\/tasks\?show=open$/);
  await expect(page.getByRole('checkbox', { name: 'Fix the bike', exact: true })).toHaveCount(0);
  await page.goto('/tasks?show=done');
  await expect(page.getByRole('checkbox', { name: 'Fix the bike', exact: true })).toHaveAttribute('aria-checked', 'true');

  // Rename opens the form on the server (/tasks?edit=ID); an error comes back on that form.
  await page.goto('/tasks');
  await page.getByRole('button', { name: 'Rename ‘Paint the fence’' }).click();
  await expect(page).toHaveURL(/\/tasks\?edit=\d+$/);
  const field = page.getByLabel('New title for ‘Paint the fence’');
  await expect(field).toBeFocused();
  await field.fill('   ');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/tasks\?edit=\d+$/);
  await expect(page.getByRole('alert').filter({ hasText: 'Enter a title for the task.' })).toBeVisible();
  await page.getByLabel('New title for ‘Paint the fence’').fill('Paint the gate');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole('checkbox', { name: 'Paint the gate', exact: true })).toBeVisible();

  // Cancel is a link back to the list.
  await page.getByRole('button', { name: 'Rename ‘Paint the gate’' }).click();
  await page.getByRole('link', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(/\/tasks$/);

  await page.getByRole('button', { name: 'Delete ‘Call the bank’' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole('checkbox', { name: 'Call the bank', exact: true })).toHaveCount(0);

  await page.getByRole('button', { name: 'Clear done (1)' }).click();
  await expect(page.getByRole('checkbox', { name: 'Fix the bike', exact: true })).toHaveCount(0);
  await expect(page.getByRole('listitem')).toHaveCount(1);
  await expect(page.getByRole('navigation', { name: 'Which tasks' }).getByRole('link', { name: 'Done 0' })).toBeVisible();
});

test('a refused task title without JavaScript comes back on the form with the focus on it', async ({ page }) => {
  await page.goto('/register');
  await signUpThroughForm(page, 'Refused', uniqueEmail('nojs-refused'));
  await page.getByLabel('New task').fill('   ');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.locator('#new-task-error')).toHaveText('Enter a title for the task.');
  await expect(page.getByLabel('New task')).toBeFocused();
  // What was typed comes back with it, to correct rather than retype.
  await expect(page.getByLabel('New task')).toHaveValue('   ');
});

test('the account page without JavaScript: activity, and deleting the account', async ({ page }) => {
  const email = uniqueEmail('nojs-leaving');
  await page.goto('/register');
  await signUpThroughForm(page, 'Plain Leaver', email);
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('list', { name: 'Recent activity' }).getByText(/^Account created from/)).toBeVisible();
  await expect(page.getByRole('link', { name: 'Download my data' })).toHaveAttribute('href', '/api/v1/users/me/export');

  await page.getByLabel('Your password').fill('not the password');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.locator('#field-password-error')).toHaveText('Your password is not correct.');
  await expect(page.getByLabel('Your password')).toBeFocused();

  await page.getByLabel('Your password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByText('Signed in as')).toHaveCount(0);
  await page.goto('/tasks');
  await expect(page).toHaveURL(/\/login\?next=\/tasks$/);
});

test('signing out other sessions and changing the password say what they did, without JavaScript', async ({
  page,
  baseURL,
}) => {
  // Two sessions: the one createUser signed in through the API, and this browser.
  const email = uniqueEmail('nojs-rotator');
  await createUser(baseURL!, 'Plain Rotator', email);
  await page.goto('/login');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  const sessions = page.getByRole('list', { name: 'Your sessions' }).getByRole('listitem');
  await expect(sessions).toHaveCount(2);

  await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByText('1 other session was signed out.')).toBeVisible();
  await expect(sessions).toHaveCount(1);

  const newPassword = 'a much longer passphrase now';
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Confirm new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByText('Password changed.', { exact: true })).toBeVisible();
  // Said once: the message came with that answer, not with the page.
  await page.reload();
  await expect(page.getByText('Password changed.', { exact: true })).toHaveCount(0);
  await expect(page.getByText('1 other session was signed out.')).toHaveCount(0);
});

test('an admin changes, disables and deletes an account without JavaScript', async ({ page, baseURL }) => {
  const email = uniqueEmail('nojs-managed');
  await createUser(baseURL!, 'Managed', email);
  const admin = await createAdmin(baseURL!, 'Plain Admin');
  await page.goto('/login');
  await page.getByLabel('Email', { exact: true }).fill(admin);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/tasks$/);

  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await page.getByLabel('Search by email or name').fill(email);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/\/admin\?q=/);
  await page.getByRole('table', { name: 'Accounts' }).getByRole('link', { name: email, exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/users\/\d+$/);
  const accountPage = page.url();

  await page.getByRole('button', { name: 'Make admin' }).click();
  await expect(page).toHaveURL(accountPage);
  await expect(page.getByRole('button', { name: 'Remove admin' })).toBeVisible();
  await page.getByRole('button', { name: 'Disable account' }).click();
  await expect(page).toHaveURL(accountPage);
  await expect(page.getByText('Disabled: cannot sign in')).toBeVisible();

  // The browser holds a mismatch back (the field's `pattern`, no script)...
  await page.getByLabel(`Type ${email} to confirm`).fill('not the address');
  await page.getByRole('button', { name: 'Delete this account' }).click();
  await expect(page).toHaveURL(accountPage);
  await expect(page.locator('#field-confirm_email:invalid')).toHaveCount(1);
  // ...and a post that skips the browser's check (this browser's cookies, sent by hand) is
  // refused by the server, which says why on the page.
  const refused = await page.request.post('/api/admin/delete', {
    headers: { Accept: 'text/html', Referer: accountPage },
    form: { id: accountPage.match(/(\d+)$/)![1], confirm_email: 'not the address' },
    maxRedirects: 0,
  });
  expect(refused.status()).toBe(303);
  await page.reload();
  await expect(page.locator('#field-confirm_email-error')).toContainText('Type it exactly to confirm the deletion.');
  await page.getByLabel(`Type ${email} to confirm`).fill(email);
  await page.getByRole('button', { name: 'Delete this account' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await page.goto(accountPage);
  await expect(page.getByRole('heading', { name: 'No such account' })).toBeVisible();
});
