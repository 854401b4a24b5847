import { expect, test, type Page } from '@playwright/test';
import { request as httpRequest } from 'node:http';
import { apiToken, createAdmin, createUser, hydrated, logInFromScratch, uniqueEmail } from './helpers';

// What a phone downloads to run each page: the release build's files, as the server sends them.
// A size is a fact of the build, not a timing, so it is a test.
//
// Issue 28 (islands): only pages with an island load the wasm bundle; a page without one loads
// no wasm and no script at all, except the small passkey module where a passkey ceremony is on
// the page (the login page, /register/passkey, the account page). The budgets:
//   /login: script + wasm ≤ 30 KB brotli;
//   /register, /forgot-password, /admin, 404: nothing;
//   /tasks: ≤ 120 KB brotli / ≤ 160 KB gzip.
// The first two are met and tested as they are. /tasks is not met yet (the islands bundle is
// 178 KB brotli / 223 KB gzip): its ceilings below are its size at the switch plus a few
// percent, so the bundle cannot grow while it is brought down (issue 28 stays open until it is).
const LOGIN_BROTLI_BUDGET = 30 * 1000;
const TASKS_BROTLI_CEILING = 185 * 1000; // bytes, wasm + its JavaScript; 180,068 at the switch to islands; goal 120,000
const TASKS_GZIP_CEILING = 235 * 1000; // bytes; 227,788 at the switch to islands (gzip -9); goal 160,000

/** GETs `url` without decoding, so the body's length is what crossed the wire. */
function rawGet(url: string, acceptEncoding: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { 'Accept-Encoding': acceptEncoding } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The scripts and wasm files `path` makes the browser fetch as it loads and comes alive. */
async function scriptsOf(page: Page, path: string): Promise<string[]> {
  const urls: string[] = [];
  const collect = (r: { url(): string; resourceType(): string }) => {
    if (r.resourceType() === 'script' || r.url().endsWith('.wasm')) urls.push(r.url());
  };
  page.on('request', collect);
  await page.goto(path);
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  page.off('request', collect);
  return urls;
}

/** What `urls` weigh as sent with `encoding` (each file once). */
async function transferred(urls: string[], encoding: string): Promise<number> {
  let total = 0;
  for (const url of new Set(urls)) {
    const response = await rawGet(url, encoding);
    expect(response.status, url).toBe(200);
    total += response.bytes;
  }
  return total;
}

/** The page's HTML has no script element and no preload of one. */
async function expectNoScriptIn(page: Page, path: string): Promise<void> {
  const html = await (await page.request.get(path)).text();
  expect(html, `${path}: a <script>`).not.toMatch(/<script/i);
  expect(html, `${path}: a preload`).not.toMatch(/rel="(modulepreload|preload)"/);
}

test('pages without an island load no script; the login page loads only the passkey module', async ({ page, baseURL }) => {
  for (const path of ['/register', '/forgot-password', '/no-such-page', '/reset-password?token=x', '/']) {
    expect(await scriptsOf(page, path), `${path} loads no script`).toEqual([]);
    await expectNoScriptIn(page, path);
  }

  const login = await scriptsOf(page, '/login');
  expect(login.map((u) => new URL(u).pathname)).toEqual(['/passkeys.js']);
  const loginBrotli = await transferred(login, 'br, gzip');
  console.log(`/login: ${loginBrotli} bytes of script, brotli`);
  expect(loginBrotli).toBeLessThanOrEqual(LOGIN_BROTLI_BUDGET);
  const module = await rawGet(login[0], 'br, gzip');
  expect(module.headers['content-encoding']).toBe('br');
  expect(module.headers['cache-control']).toBe('no-cache');

  // An administrator's pages: HTML and forms only.
  const admin = await createAdmin(baseURL!, 'Delivery Admin');
  await logInFromScratch(page, admin);
  expect(await scriptsOf(page, '/admin'), '/admin loads no script').toEqual([]);
  await expectNoScriptIn(page, '/admin');
  // The account page: the passkey module for "Add a passkey", no wasm.
  const account = await scriptsOf(page, '/account');
  expect(account.map((u) => new URL(u).pathname)).toEqual(['/passkeys.js']);
});

test('the task list loads its island: the wasm bundle, precompressed, hashed, cached for a year, under its ceilings', async ({
  page,
  baseURL,
}) => {
  // Fifty tasks, as the issue measures.
  const email = uniqueEmail('delivery');
  await createUser(baseURL!, 'Delivery', email);
  const token = await apiToken(baseURL!, email);
  for (let i = 1; i <= 50; i++) {
    const response = await page.request.post('/api/v1/tasks', {
      headers: { Authorization: `Bearer ${token}` },
      data: { title: `Task number ${i}` },
    });
    expect(response.status()).toBe(201);
  }
  await logInFromScratch(page, email);
  const urls = await scriptsOf(page, '/tasks');
  const wasm = urls.filter((u) => u.endsWith('.wasm'));
  expect(wasm, 'the page loaded one wasm bundle').toHaveLength(1);
  // A content hash in the name: a new build is a new URL.
  expect(new URL(wasm[0]).pathname).toMatch(/^\/pkg\/tasks\.[A-Za-z0-9_-]{8,}\.wasm$/);
  for (const url of urls) {
    expect(new URL(url).pathname, 'only the bundle and its glue').toMatch(/^\/pkg\/tasks\.[A-Za-z0-9_-]+\.(js|wasm)$/);
    const gzip = await rawGet(url, 'gzip');
    expect(gzip.headers['content-encoding'], url).toBe('gzip');
    expect(gzip.headers['cache-control'], url).toBe('public, max-age=31536000, immutable');
    expect(String(gzip.headers['vary']).toLowerCase()).toContain('accept-encoding');
    const brotli = await rawGet(url, 'br, gzip');
    expect(brotli.headers['content-encoding'], url).toBe('br');
    expect(brotli.bytes).toBeLessThan(gzip.bytes);
  }
  const gzip = await transferred(urls, 'gzip');
  const brotli = await transferred(urls, 'br, gzip');
  const html = (await (await page.request.get('/tasks')).body()).length;
  console.log(`/tasks (50 tasks): script + wasm ${brotli} bytes brotli, ${gzip} bytes gzip; HTML ${html} bytes`);
  expect(brotli, '/tasks, brotli').toBeLessThanOrEqual(TASKS_BROTLI_CEILING);
  expect(gzip, '/tasks, gzip').toBeLessThanOrEqual(TASKS_GZIP_CEILING);

  // The stylesheet is hashed and precompressed too.
  const page_html = await (await page.request.get('/tasks')).text();
  const css = page_html.match(/href="(\/pkg\/tasks\.[^"]+\.css)"/)?.[1];
  expect(css, 'the stylesheet in the page').toBeTruthy();
  const sheet = await rawGet(new URL(css!, baseURL).toString(), 'br');
  expect(sheet.headers['content-encoding']).toBe('br');
  expect(sheet.headers['cache-control']).toBe('public, max-age=31536000, immutable');
});

/** Speculation events of `page` (Chromium's DevTools `Preload` domain): each prefetch's URL and
 * status as it changes (`Running`, `Ready`, `Success`, `Failure` with its reason). */
async function watchPrefetches(page: Page): Promise<{ url: string; status: string; reason?: string }[]> {
  const seen: { url: string; status: string; reason?: string }[] = [];
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Preload.prefetchStatusUpdated', (event) =>
    seen.push({ url: event.prefetchUrl, status: event.status, reason: event.prefetchStatus }),
  );
  await cdp.send('Preload.enable');
  return seen;
}

/** How the current document arrived: 'navigational-prefetch' when from a prefetch, '' when
 * fetched at the click; and when its first byte came, in ms after the click's navigation. */
async function delivery(page: Page): Promise<{ type: string; firstByte: number }> {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming & { deliveryType?: string };
    return { type: nav.deliveryType ?? '', firstByte: nav.responseStart - nav.startTime };
  });
}

test('links to our pages are fetched ahead: the click shows the prefetched page; a renewal waits for the real visit', async ({
  page,
  baseURL,
}) => {
  const ttl = Number(process.env.ACCESS_TOKEN_TTL_SECONDS ?? '0') * 1000;
  expect(ttl, 'ACCESS_TOKEN_TTL_SECONDS must be set for this test').toBeGreaterThan(0);
  test.setTimeout(ttl + 60_000);
  // The rules travel in a header (no inline script) and are served as browsers require.
  const landing = await page.request.get('/');
  expect(landing.headers()['speculation-rules']).toBe('"/speculation-rules.json"');
  const rules = await page.request.get('/speculation-rules.json');
  expect(rules.headers()['content-type']).toBe('application/speculationrules+json');
  expect((await rules.json()).prefetch[0].eagerness).toBe('moderate');

  const email = uniqueEmail('prefetch');
  await createUser(baseURL!, 'Prefetch', email);
  await logInFromScratch(page, email);
  await page.goto('/tasks');
  await hydrated(page);
  const prefetches = await watchPrefetches(page);
  const account = page.getByRole('link', { name: 'Account', exact: true });

  // A pointer resting on a link fetches its page; the click then shows it without a request.
  await account.hover();
  await expect.poll(() => prefetches.some((p) => p.url.endsWith('/account') && p.status === 'Ready')).toBe(true);
  await account.click();
  await expect(page.getByRole('heading', { name: 'Sessions' })).toBeVisible();
  const ahead = await delivery(page);
  expect(ahead.type, 'the account page came from the prefetch').toBe('navigational-prefetch');

  // The same click without a prefetch, for the record.
  await page.goto('/tasks');
  await hydrated(page);
  await page.goto('/account');
  const fetched = await delivery(page);
  expect(fetched.type).toBe('');
  console.log(`/tasks -> /account: first byte ${ahead.firstByte.toFixed(1)} ms prefetched, ${fetched.firstByte.toFixed(1)} ms fetched at the click`);

  // After the access cookie expired, opening a page renews the session (rotates the refresh
  // token). A prefetch must not do that: the server refuses it (425), the browser drops it, and
  // the click loads the page for real, renewing the session once; the person stays signed in.
  await page.goto('/tasks');
  await hydrated(page);
  prefetches.length = 0;
  const renewals = await watchPrefetches(page);
  // Waiting is the behaviour under test: the access cookie expires.
  await page.waitForTimeout(ttl + 1_500);
  await account.hover();
  await expect.poll(() => renewals.some((p) => p.url.endsWith('/account') && p.status === 'Failure')).toBe(true);
  expect(renewals.find((p) => p.status === 'Failure')?.reason).toBe('PrefetchFailedNon2XX');
  await account.click();
  await expect(page.getByRole('heading', { name: 'Sessions' })).toBeVisible();
  expect((await delivery(page)).type).toBe('');
  await page.goto('/tasks');
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole('heading', { name: 'Your tasks' })).toBeVisible();
});
