import { expect, test } from '@playwright/test';
import { request as httpRequest } from 'node:http';

// What a phone downloads: the release build's files, as the server sends them. A size budget is
// a fact of the build, not a timing, so it is a test.
//
// Issue 12 asks for at most 220 KB gzip. That is below what a near-empty Leptos 0.8 app with
// a router, one server function, one ActionForm and one Suspense weighs with the same profile
// (250 KB gzip as cargo-leptos compresses, 215 KB with gzip -9, 174 KB brotli), so it cannot
// be met with full hydration; BENCHMARKS.md ("Bundle size") has the measurements. Until that
// is decided, these ceilings keep the bundle from growing: a few percent above today's build.
// Raised for issue 13's account and admin pages (+21 % brotli), and again for issue 14's mail
// pages (+8.5 % brotli: four pages, the banner and the account page's email section; the
// README's "Known limits" lists what each costs and what was tried). Each raise is a decision
// recorded in the issue notes; islands or per-route splitting (issue 12) would undo them.
// Raised again for issue 15's two-step sign-in (+6.5 % brotli: the code page, the setup page,
// the account page's section and the admin action, all plain form posts).
// Raised again for issue 16's passkeys (+7.4 % brotli: the WebAuthn calls through web-sys, the
// login button and autofill, the sign-up button, the account page's list and add form).
const WASM_BROTLI_CEILING = 520 * 1000; // bytes; 334,541 at e2ea195, 404,935 with issue 13's pages, 440,018 with issue 14's, 471,668 with issue 15's, 506,719 with issue 16's
// Issue 28: the gzip copies are made again at gzip -9 after the build (.ci/build): 825,212 bytes
// as cargo-leptos compresses, 702,757 at -9, so the gzip ceiling came down from 830 KB and would
// catch a build that served cargo-leptos' own gzip again. The TaskList island added 6,816 brotli.
const WASM_GZIP_CEILING = 720 * 1000; // bytes; cargo-leptos' gzip: 515,158 at e2ea195, 634,406 with issue 13's pages, 698,600 with issue 14's, 753,373 with issue 15's, 814,310 with issue 16's; gzip -9: 702,757 at issue 28's first island

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

test('the wasm bundle stays under its ceilings, precompressed, hashed and cached for a year', async ({ page, baseURL }) => {
  const wasmUrls: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('.wasm')) wasmUrls.push(r.url());
  });
  await page.goto('/login');
  await page.locator('body[data-hydrated="true"]').waitFor();
  expect(wasmUrls, 'the page loaded one wasm bundle').toHaveLength(1);
  const wasm = wasmUrls[0];
  // A content hash in the name: a new build is a new URL.
  expect(new URL(wasm).pathname).toMatch(/^\/pkg\/tasks\.[A-Za-z0-9_-]{8,}\.wasm$/);

  const gzip = await rawGet(wasm, 'gzip');
  expect(gzip.status).toBe(200);
  expect(gzip.headers['content-encoding']).toBe('gzip');
  expect(gzip.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(String(gzip.headers['vary']).toLowerCase()).toContain('accept-encoding');
  console.log(`wasm: ${gzip.bytes} bytes gzip`);
  expect(gzip.bytes, 'the wasm bundle, gzip').toBeLessThanOrEqual(WASM_GZIP_CEILING);

  const brotli = await rawGet(wasm, 'br, gzip');
  expect(brotli.headers['content-encoding']).toBe('br');
  expect(brotli.bytes).toBeLessThan(gzip.bytes);
  console.log(`wasm: ${brotli.bytes} bytes brotli`);
  expect(brotli.bytes, 'the wasm bundle, brotli').toBeLessThanOrEqual(WASM_BROTLI_CEILING);

  // The stylesheet and the JavaScript glue are hashed and precompressed too.
  const html = await (await page.request.get('/login')).text();
  for (const pattern of [/href="(\/pkg\/tasks\.[^"]+\.css)"/, /(\/pkg\/tasks\.[A-Za-z0-9_-]+\.js)/]) {
    const path = html.match(pattern)?.[1];
    expect(path, `${pattern} in the page`).toBeTruthy();
    const asset = await rawGet(new URL(path!, baseURL).toString(), 'br');
    expect(asset.headers['content-encoding'], path).toBe('br');
    expect(asset.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
  }
});
