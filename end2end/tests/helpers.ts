import { expect, request, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';

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

/**
 * Waits until every part of the page that runs in the browser is live: each island's root
 * element says `data-ready="true"` once its handlers are attached, and so does each part the
 * passkey module sets up. A page without either is live as it loads.
 */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  await page.waitForFunction(
    () =>
      Array.from(document.querySelectorAll('leptos-island')).every(
        (island) => island.firstElementChild?.getAttribute('data-ready') === 'true',
      ) &&
      // The passkey module's parts (public/passkeys.js), in a browser that has passkeys.
      (!window.PublicKeyCredential ||
        Array.from(document.querySelectorAll('[data-passkey]')).every((part) => part.getAttribute('data-ready') === 'true')),
  );
}

/**
 * The header's Menu disclosure on a phone: a `<details>` whose summary the browser announces as
 * a button, expanded or collapsed (Playwright gives `summary` no role, so it is found by text),
 * and whether it is open (its `open` attribute, which is that state).
 */
export function headerMenu(page: Page) {
  const details = page.locator('header details.site-nav');
  return { toggle: details.locator('summary', { hasText: 'Menu' }), details };
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
  }).toPass({ timeout: 30_000 });
  await mails(page, to, subject).first().getByRole('link', { name: subject, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: subject })).toBeVisible();
}

/** The address of the link to `path` in the open message's plain-text part. */
export async function linkTo(page: Page, path: string): Promise<string> {
  const href = await page.locator(`pre a[href*="${path}?token="]`).getAttribute('href');
  expect(href, `a link to ${path} in the message`).toBeTruthy();
  return href!;
}

// Two-step sign-in: authenticator codes (RFC 6238 TOTP: HMAC-SHA-1, 6 digits, 30-second steps),
// computed here independently of the server's implementation.

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text: string): Buffer {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    const digit = BASE32.indexOf(char);
    if (digit < 0) throw new Error(`not base32: ${char}`);
    value = ((value << 5) | digit) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The code of `secret` (base32) for time step `step` (RFC 4226 dynamic truncation). */
export function totpAt(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}

const STEP_MS = 30_000;
/** The last time step used per secret: the server accepts each step once, and only later ones. */
const lastStep = new Map<string, number>();

/**
 * A code the server will accept for `secret`: the current step, or the next one (the server
 * allows one step of clock skew) when the current one was already used; waits for time to
 * move on when that was used too. Tests that use more than two codes in a row may wait up to
 * 30 s for each further one.
 */
export async function nextCode(secret: string): Promise<string> {
  for (;;) {
    const current = Math.floor(Date.now() / STEP_MS);
    const step = Math.max(current, (lastStep.get(secret) ?? -1) + 1);
    if (step <= current + 1) {
      lastStep.set(secret, step);
      return totpAt(secret, step);
    }
    // Until `step` is the next step (then current + 1 covers it).
    await new Promise((resolve) => setTimeout(resolve, (step - 1) * STEP_MS - Date.now() + 100));
  }
}

/** A 6-digit code that is none of the codes the server would accept now. */
export function wrongCode(secret: string): string {
  const current = Math.floor(Date.now() / STEP_MS);
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(secret, current + d)));
  for (let n = 0; ; n++) {
    const code = String((123_456 + n * 111_111) % 1_000_000).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

/** An API access token for `email` (the password grant of the REST API). */
export async function apiToken(baseURL: string, email: string): Promise<string> {
  const api = await request.newContext({ baseURL });
  const response = await api.post('/api/v1/auth/token', { form: { username: email, password: PASSWORD } });
  expect(response.status(), await response.text()).toBe(200);
  const { access_token: token } = await response.json();
  await api.dispose();
  return token;
}

/**
 * Turns on two-step sign-in for `email` through the REST API (a test that is not about setting
 * it up); returns the secret and the recovery codes.
 */
export async function turnOnTwoStep(
  baseURL: string,
  email: string,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const token = await apiToken(baseURL, email);
  const api = await request.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
  const started = await api.post('/api/v1/users/me/totp', { data: { password: PASSWORD } });
  expect(started.status(), await started.text()).toBe(201);
  const { secret } = await started.json();
  const confirmed = await api.post('/api/v1/users/me/totp/confirm', { data: { code: await nextCode(secret) } });
  expect(confirmed.status(), await confirmed.text()).toBe(200);
  const { recovery_codes: recoveryCodes } = await confirmed.json();
  await api.dispose();
  return { secret, recoveryCodes };
}
