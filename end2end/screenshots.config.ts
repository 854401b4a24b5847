import { defineConfig } from '@playwright/test';
import { execSync } from 'node:child_process';

// Not a test suite: `bash .ci/screenshots` runs this to regenerate the README's screenshots
// (end2end/screenshots/*.png) from the running app.
const executablePath =
  process.env.CHROMIUM_PATH || execSync('command -v chromium', { shell: '/bin/sh' }).toString().trim();

export default defineConfig({
  testDir: './screenshots',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: process.env.BASE_URL,
    launchOptions: { executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu'] },
  },
});
