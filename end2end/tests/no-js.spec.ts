import { expect, test } from '@playwright/test';
import { PASSWORD, createUser, signUpThroughForm, uniqueEmail } from './helpers';

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
  // Reloading does not show it again.
  await page.reload();
  await expect(page.getByText('Incorrect email or password.')).toHaveCount(0);
});

test('the task list redirects to login without a session, without JavaScript', async ({ page }) => {
  await page.goto('/tasks');
  await expect(page).toHaveURL(/\/login\?next=\/tasks$/);
});
