import { expect, test, type Page } from '@playwright/test';

// The README's screenshots: a demo account with a few tasks, on a desktop and on a phone.

const PASSWORD = 'correct horse battery staple';
const TASKS: Array<[string, boolean]> = [
  ['Book the dentist', true],
  ['Renew the passport', true],
  ['Send the quarterly report', false],
  ['Plan the team offsite', false],
  ['Buy milk', false],
];

async function demoAccount(page: Page): Promise<void> {
  const email = `demo-${Date.now()}@example.com`;
  const api = page.request;
  const signup = await api.post('/api/register', {
    form: { name: 'Ada Lovelace', email, password: PASSWORD, password_confirm: PASSWORD },
  });
  expect(signup.status()).toBe(200);
  for (const [title, done] of TASKS) {
    const task = await (await api.post('/api/tasks/add', { form: { title } })).json();
    if (done) await api.post('/api/tasks/set_done', { form: { id: String(task.id), done: 'true' } });
  }
}

async function shoot(page: Page, path: string, name: string): Promise<void> {
  await page.goto(path);
  await page.locator('body[data-hydrated="true"]').waitFor();
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}

for (const [device, viewport] of [
  ['desktop', { width: 1100, height: 760 }],
  ['phone', { width: 390, height: 844 }],
] as const) {
  test(`screens on a ${device}`, async ({ browser }) => {
    for (const scheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ viewport, colorScheme: scheme, deviceScaleFactor: device === 'phone' ? 2 : 1 });
      const page = await context.newPage();
      if (scheme === 'light') await shoot(page, '/', `${device}-start`);
      await demoAccount(page);
      await shoot(page, '/tasks', `${device}-tasks-${scheme}`);
      if (scheme === 'light') {
        await shoot(page, '/account', `${device}-account`);
        if (device === 'phone') {
          await page.goto('/tasks');
          await page.locator('body[data-hydrated="true"]').waitFor();
          await page.locator('header summary', { hasText: 'Menu' }).click();
          await page.screenshot({ path: `screenshots/${device}-menu.png` });
        }
      }
      await context.close();
    }
  });
}
