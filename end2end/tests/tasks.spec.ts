import { expect, test } from '@playwright/test';
import {
  PASSWORD,
  createUser,
  headerMenu,
  hydrated,
  logIn,
  onTaskListAs,
  signUpThroughForm,
  uniqueEmail,
  watchConsole,
} from './helpers';

test.describe('with JavaScript', () => {
  let consoleProblems: string[] = [];

  test.beforeEach(async ({ page }) => {
    consoleProblems = watchConsole(page);
  });

  test.afterEach(async () => {
    expect(consoleProblems, 'console errors').toEqual([]);
  });

  test('sign up lands on the task list, log out, and log in again through the form', async ({ page }) => {
    const email = uniqueEmail('signup');
    await page.goto('/register');
    await hydrated(page);
    await signUpThroughForm(page, 'Grace Hopper', email);

    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByRole('heading', { name: 'Your tasks' })).toBeVisible();
    await expect(page.getByText('Signed in as Grace Hopper')).toBeVisible();
    // On a desktop the header's links are all there; the phone's Menu button is not.
    await expect(headerMenu(page).toggle).toBeHidden();
    await expect(page.getByRole('link', { name: 'Account', exact: true })).toBeVisible();

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole('button', { name: 'Log out' })).toHaveCount(0);

    await logIn(page, email);
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as Grace Hopper')).toBeVisible();
  });

  test('sign-up errors appear next to their fields', async ({ page, baseURL }) => {
    const taken = uniqueEmail('taken');
    await createUser(baseURL!, 'First', taken);
    await page.goto('/register');
    await hydrated(page);
    await page.getByLabel('Name', { exact: true }).fill('Second');
    await page.getByLabel('Email', { exact: true }).fill(taken);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Confirm password', { exact: true }).fill('other');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect(page.locator('#field-password-error')).toHaveText('Password must be at least 8 characters.');
    await expect(page.locator('#field-password_confirm-error')).toHaveText('The passwords do not match.');
    await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('aria-invalid', 'true');
    // The focus goes to the first field to fix, not to the page.
    await expect(page.getByLabel('Password', { exact: true })).toBeFocused();

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect(page.locator('#field-email-error')).toContainText('already registered');
    await expect(page).toHaveURL(/\/register$/);
  });

  test('a wrong password and an unknown email get the same message', async ({ page, baseURL }) => {
    const email = uniqueEmail('wrongpw');
    await createUser(baseURL!, 'Someone', email);
    await page.goto('/login');
    await hydrated(page);
    await logIn(page, email, 'not the password');
    const alert = page.getByRole('alert').filter({ hasText: 'Incorrect email or password.' });
    await expect(alert).toBeVisible();
    // The message is about both fields: both are marked, name it, and the focus is back on the
    // first one.
    for (const label of ['Email', 'Password']) {
      const field = page.getByLabel(label, { exact: true });
      await expect(field).toHaveAttribute('aria-invalid', 'true');
      await expect(field).toHaveAccessibleDescription(/Incorrect email or password\./);
    }
    await expect(page.getByLabel('Email', { exact: true })).toBeFocused();
    await logIn(page, uniqueEmail('nobody'), PASSWORD);
    await expect(alert).toBeVisible();
    await expect(page).toHaveURL(/\/login$/);
  });

  test('a crafted link with an error in its address shows no text from it', async ({ page }) => {
    // What Leptos' no-JavaScript round trip used to put in URLs: the error's JSON, base64url.
    const planted = Buffer.from(
      JSON.stringify({ error: 'bad_request', detail: 'Account locked. Call +1-555-0100' }),
    ).toString('base64url');
    await page.goto(`/login?next=/tasks&__path=/api/login&__err=${planted}`);
    await hydrated(page);
    await expect(page).toHaveURL(/\/login\?next=\/tasks$/);
    await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
    await expect(page.getByText('+1-555-0100')).toHaveCount(0);
  });

  test('every page names itself in its title, and the first Tab offers to skip the header', async ({ page, baseURL }) => {
    await page.goto('/');
    await expect(page).toHaveTitle('Your own task list · Tasks');
    await page.goto('/register');
    await expect(page).toHaveTitle('Sign up · Tasks');
    await page.goto('/no-such-page');
    await expect(page).toHaveTitle('Page not found · Tasks');

    await page.goto('/login');
    await hydrated(page);
    await expect(page).toHaveTitle('Log in · Tasks');
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();
    await page.keyboard.press('Enter');
    await expect(page.locator('main#main')).toBeFocused();
    // The next Tab lands in the page's own form, not in the header.
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Email', { exact: true })).toBeFocused();

    // The task list counts what is left to do, and follows changes.
    await onTaskListAs(page, baseURL!, 'Titled');
    await expect(page).toHaveTitle('Your tasks (0) · Tasks');
    const newTask = page.getByLabel('New task');
    for (const title of ['Water the plants', 'Pay the rent']) {
      await newTask.fill(title);
      await page.getByRole('button', { name: 'Add' }).click();
      await expect(page.getByRole('checkbox', { name: title })).toBeVisible();
    }
    await expect(page).toHaveTitle('Your tasks (2) · Tasks');
    await page.getByRole('checkbox', { name: 'Pay the rent' }).check();
    await expect(page).toHaveTitle('Your tasks (1) · Tasks');
    await page.goto('/account');
    await expect(page).toHaveTitle('Account · Tasks');
  });

  test('add three tasks, complete one, rename one, delete one, and reload', async ({ page, baseURL }) => {
    await onTaskListAs(page, baseURL!, 'Tasker');

    const newTask = page.getByLabel('New task');
    for (const title of ['Buy milk', 'Write report', 'Call mum']) {
      await newTask.fill(title);
      await page.getByRole('button', { name: 'Add' }).click();
      await expect(page.getByRole('checkbox', { name: title })).toBeVisible();
      await expect(newTask).toHaveValue('');
    }
    const items = page.getByRole('listitem');
    await expect(items).toHaveCount(3);
    await expect(items.first()).toContainText('Call mum'); // newest first

    await page.getByRole('checkbox', { name: 'Buy milk' }).check();
    await expect(page.getByRole('checkbox', { name: 'Buy milk' })).toBeChecked();

    await items.filter({ hasText: 'Write report' }).getByRole('button', { name: 'Rename' }).click();
    const editor = page.getByLabel('New title');
    await expect(editor).toHaveValue('Write report');
    await editor.fill('Write the quarterly report');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('checkbox', { name: 'Write the quarterly report' })).toBeVisible();

    await items.filter({ hasText: 'Call mum' }).getByRole('button', { name: 'Delete' }).click();
    await expect(page.getByRole('checkbox', { name: 'Call mum' })).toHaveCount(0);
    await expect(items).toHaveCount(2);
    // The row goes at once; the server has it once Undo is offered (a reload before that may
    // cancel the request, as it would for a person).
    await expect(page.getByRole('status').filter({ hasText: 'Deleted ‘Call mum’.' })).toBeVisible();

    await page.reload();
    await hydrated(page);
    // Loaded from the server, the list is the page's one island, and it is live (an island the
    // router renders after an in-app navigation has no wrapper element).
    await expect(page.locator('leptos-island')).toHaveCount(1);
    await expect(page.locator('leptos-island > .task-island[data-ready="true"]')).toHaveCount(1);
    await expect(items).toHaveCount(2);
    await expect(page.getByRole('checkbox', { name: 'Write the quarterly report' })).not.toBeChecked();
    await expect(page.getByRole('checkbox', { name: 'Buy milk' })).toBeChecked();
  });

  test('an empty title is refused with a message and nothing is added', async ({ page, baseURL }) => {
    await onTaskListAs(page, baseURL!, 'Empty');
    await page.getByLabel('New task').fill('   ');
    await page.getByRole('button', { name: 'Add' }).click();
    await expect(page.locator('#new-task-error')).toHaveText('Enter a title for the task.');
    await expect(page.getByRole('listitem')).toHaveCount(0);
  });

  test("a second user sees none of the first user's tasks", async ({ browser, baseURL }) => {
    const alice = await browser.newPage();
    await onTaskListAs(alice, baseURL!, 'Alice');
    await alice.getByLabel('New task').fill('Private plan');
    await alice.getByRole('button', { name: 'Add' }).click();
    await expect(alice.getByRole('checkbox', { name: 'Private plan' })).toBeVisible();

    const bob = await browser.newPage();
    await onTaskListAs(bob, baseURL!, 'Bob');
    await expect(bob.getByText('No tasks yet.')).toBeVisible();
    await expect(bob.getByText('Private plan')).toHaveCount(0);
    await alice.close();
    await bob.close();
  });

  test('the session cookie is HttpOnly and invisible to page scripts', async ({ page, context, baseURL }) => {
    await onTaskListAs(page, baseURL!, 'Cookie');

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name.endsWith('tasks_session'));
    expect(session, 'session cookie').toBeDefined();
    expect(session!.httpOnly).toBe(true);
    expect(session!.sameSite).toBe('Lax');
    const visible = await page.evaluate(() => document.cookie);
    expect(visible).not.toContain(session!.value);
    expect(visible).not.toContain('tasks_session');
    expect(await page.content()).not.toContain(session!.value);
  });

  test('a signed-out visit to the task list goes to login and comes back after it', async ({ page, baseURL }) => {
    const email = uniqueEmail('next');
    await createUser(baseURL!, 'Returning', email);
    await page.goto('/tasks');
    await expect(page).toHaveURL(/\/login\?next=\/tasks$/);
    await hydrated(page);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/tasks$/);
  });

  test('the start page offers sign-up and login, and sends signed-in people to their tasks', async ({ page, baseURL }) => {
    await page.goto('/');
    await expect(page.getByRole('main').getByRole('link', { name: 'Sign up' })).toBeVisible();
    await expect(page.getByRole('main').getByRole('link', { name: 'Log in' })).toBeVisible();
    await onTaskListAs(page, baseURL!, 'Home');
    await page.goto('/');
    await expect(page).toHaveURL(/\/tasks$/);
  });
});
