import { defineConfig } from '@playwright/test';
import { execSync } from 'node:child_process';

// Debian's chromium, never a downloaded browser (this network cannot reach Playwright's CDN).
const executablePath =
  process.env.CHROMIUM_PATH || execSync('command -v chromium', { shell: '/bin/sh' }).toString().trim();

const baseURL = process.env.BASE_URL;
if (!baseURL) {
  throw new Error('BASE_URL is not set: start the app and pass its address (see .ci/test).');
}

export default defineConfig({
  testDir: './tests',
  // Generous waits: they bound how long a step may take on a slow or busy machine, never what
  // it must show. (Password hashes run at the lowest CPU priority, so while Chromium renders, a
  // sign-in can take seconds on a loaded 2-core runner.) Speed is measured by bench/, not here.
  timeout: 60_000,
  expect: { timeout: 20_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'with-js', testIgnore: /(no-js|phone)\.spec\.ts/ },
    { name: 'no-js', testMatch: /no-js\.spec\.ts/, use: { javaScriptEnabled: false } },
    // A 390 px touch screen (an iPhone 14's viewport): the list's flows and the phone layout.
    {
      name: 'phone',
      testMatch: /(list|phone)\.spec\.ts/,
      use: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 },
    },
  ],
});
