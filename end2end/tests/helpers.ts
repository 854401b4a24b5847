import { expect, request, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const PASSWORD = 'correct horse battery staple';

/** A fresh address per test, so tests never share accounts. */
export function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/**
 * Creates an account through the server function endpoint, from a separate API client (so the
 * page under test is not signed in by it).
 */
export async function createUser(baseURL: string, name: string, email: string): Promise<void> {
  const api = await request.newContext({ baseURL });
  const response = await api.post('/api/register', {
    form: { name, email, password: PASSWORD, password_confirm: PASSWORD },
  });
  expect(response.status(), await response.text()).toBe(200);
  await api.dispose();
}

/** Waits until the wasm app has hydrated the server-rendered page. */
export async function hydrated(page: Page): Promise<void> {
  await page.locator('body[data-hydrated="true"]').waitFor();
}

/**
 * Collects console errors and uncaught exceptions (hydration bugs show up here), so a test can
 * fail on them. Chromium also logs every non-2xx fetch as an error; a 4xx is our intended answer
 * to bad input and is ignored, a 5xx is not.
 */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  const expected4xx = /^Failed to load resource: the server responded with a status of 4\d\d /;
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expected4xx.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  return problems;
}

export async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Fills and submits the sign-up form on the current page. */
export async function signUpThroughForm(page: Page, name: string, email: string): Promise<void> {
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
}

/**
 * Creates an account through the API, logs in through the form, and waits for the hydrated
 * task list. Returns the account's email.
 */
export async function onTaskListAs(page: Page, baseURL: string, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, '-'));
  await createUser(baseURL, name, email);
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/tasks$/);
  await hydrated(page);
  return email;
}

/**
 * Makes `email` an administrator the way an operator does: `tasks admin grant EMAIL`, run
 * against the database of the server under test. `.ci/test` passes the binary, that database
 * and its data folder (TASKS_BIN, TASKS_DATABASE_URL, TASKS_DATA_DIR).
 */
export function grantAdmin(email: string): void {
  const { TASKS_BIN: bin, TASKS_DATABASE_URL: databaseUrl, TASKS_DATA_DIR: dataDir } = process.env;
  if (!bin || !databaseUrl || !dataDir) {
    throw new Error('TASKS_BIN, TASKS_DATABASE_URL and TASKS_DATA_DIR must be set (see .ci/test).');
  }
  execFileSync(bin, ['admin', 'grant', email], {
    env: {
      PATH: process.env.PATH,
      APP_ENV: 'development',
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      // The command signs nothing; it only needs a valid configuration.
      JWT_SECRET: randomBytes(32).toString('hex'),
      COOKIE_SECURE: 'false',
    },
    stdio: 'pipe',
  });
}

/** A new administrator (created through the API, then granted the role); returns the email. */
export async function createAdmin(baseURL: string, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, '-'));
  await createUser(baseURL, name, email);
  grantAdmin(email);
  return email;
}

/** Logs `email` in through the login page and waits for the hydrated task list. */
export async function logInFromScratch(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await hydrated(page);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/tasks$/);
  await hydrated(page);
}

// The development mailbox (/dev/mailbox): the mail a server without SMTP_URL would have sent.
// Every test shares it, so a message is always found by its recipient (a fresh address per
// test), newest first.

/** The mailbox's rows of messages to `to` with this subject, newest first. */
export function mails(page: Page, to: string, subject: string) {
  return page
    .getByRole('row')
    .filter({ has: page.getByRole('cell', { name: to, exact: true }) })
    .filter({ has: page.getByRole('link', { name: subject, exact: true }) });
}

/**
 * Opens the newest of at least `count` messages to `to` with `subject` in the development
 * mailbox (some are queued in the background, so the list is reloaded until they are there).
 */
export async function openMail(page: Page, to: string, subject: string, count = 1): Promise<void> {
  await expect(async () => {
    await page.goto('/dev/mailbox');
    expect(await mails(page, to, subject).count()).toBeGreaterThanOrEqual(count);
  }).toPass({ timeout: 15_000 });
  await mails(page, to, subject).first().getByRole('link', { name: subject, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: subject })).toBeVisible();
}

/** The address of the link to `path` in the open message's plain-text part. */
export async function linkTo(page: Page, path: string): Promise<string> {
  const href = await page.locator(`pre a[href*="${path}?token="]`).getAttribute('href');
  expect(href, `a link to ${path} in the message`).toBeTruthy();
  return href!;
}
