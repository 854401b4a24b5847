import { expect, test, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import {
  PASSWORD,
  createAdmin,
  createUser,
  hydrated,
  logIn,
  logInFromScratch,
  nextCode,
  turnOnTwoStep,
  uniqueEmail,
  watchConsole,
  wrongCode,
} from './helpers';

// Two-step sign-in: turning it on from the account page (QR code, key, first code, recovery
// codes), signing in with a code or a recovery code, refusals, turning it off. The codes are
// computed here (helpers.ts, RFC 6238); each 30-second step is used once per account, so a test
// that needs more than two codes in a row waits for the clock.

const section = (page: Page) => page.getByRole('region', { name: 'Two-step sign-in' });

/** From the task list: logs out, and signs in with the password up to the code page. */
async function logOutAndBackIn(page: Page, email: string, javaScript = true): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  if (javaScript) await hydrated(page);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/login\/code\?next=%2Ftasks$/);
  await expect(page.getByRole('heading', { name: 'Two-step sign-in' })).toBeVisible();
}

/** A fresh account, signed in on the task list; returns its address. */
async function signedIn(page: Page, baseURL: string, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, '-'));
  await createUser(baseURL, name, email);
  await logInFromScratch(page, email);
  return email;
}

test.describe('with JavaScript', () => {
  let consoleProblems: string[] = [];

  test.beforeEach(async ({ page }) => {
    consoleProblems = watchConsole(page);
  });

  test.afterEach(async () => {
    expect(consoleProblems, 'console errors').toEqual([]);
  });

  test('turn it on from the account page, then sign in with a code from the app', async ({ page, baseURL }) => {
    test.setTimeout(90_000);
    const email = await signedIn(page, baseURL!, 'Two Stepper');
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await expect(section(page)).toContainText('Off.');
    await section(page).getByRole('link', { name: 'Turn on two-step sign-in' }).click();
    await expect(page).toHaveURL(/\/account\/two-step$/);
    await expect(page).toHaveTitle('Two-step sign-in · Tasks');
    await hydrated(page);

    await page.getByLabel('Your password').fill('not the password');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('#field-password-error')).toHaveText('Your password is not correct.');
    await expect(page.getByLabel('Your password')).toBeFocused();
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();

    // The QR code, large enough to scan; the key as text, in groups of four; the app link.
    const qr = page.getByRole('img', { name: /QR code for your authenticator app/ });
    await expect(qr).toBeVisible();
    const box = (await qr.locator('svg').boundingBox())!;
    expect(box.width).toBeGreaterThanOrEqual(200);
    const secret = (await page.getByTestId('totp-secret').textContent())!;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expect(page.getByTestId('totp-secret').locator('span')).toHaveCount(8);
    const appLink = page.getByRole('link', { name: 'open Tasks in your authenticator app' });
    await expect(appLink).toHaveAttribute('href', new RegExp(`^otpauth://totp/Tasks:.*secret=${secret}`));

    // A reload shows the same setup (it waits on the server for its first code).
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('totp-secret')).toHaveText(secret);

    await page.getByLabel('6-digit code').fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await expect(page.getByRole('heading', { name: 'Save your recovery codes' })).toBeVisible();
    const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await expect(codes).toHaveCount(10);
    const recoveryCodes = await codes.allTextContents();
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
    await expect(page.getByText('Each code works once.')).toBeVisible();

    const downloading = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('tasks-recovery-codes.txt');
    const file = await readFile((await download.path())!, 'utf8');
    for (const code of recoveryCodes) expect(file).toContain(`${code}\n`);

    // Shown once: a reload says it is on, without the codes.
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Two-step sign-in is already on' })).toBeVisible();
    await expect(page.getByText(recoveryCodes[0])).toHaveCount(0);
    await page.getByRole('link', { name: 'Back to your account' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(section(page).getByText('On', { exact: true })).toBeVisible();
    await expect(section(page)).toContainText('10 recovery codes left.');

    await page.goto('/tasks');
    await hydrated(page);
    await logOutAndBackIn(page, email);
    await hydrated(page);
    const field = page.getByLabel('6-digit code');
    await expect(field).toHaveAttribute('inputmode', 'numeric');
    await expect(field).toHaveAttribute('autocomplete', 'one-time-code');
    await field.fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as Two Stepper')).toBeVisible();
  });

  test('a recovery code signs in once; the same code is refused the second time', async ({ page, baseURL }) => {
    const email = uniqueEmail('recovery');
    await createUser(baseURL!, 'Recovering', email);
    const { recoveryCodes } = await turnOnTwoStep(baseURL!, email);
    await page.goto('/login');
    await hydrated(page);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/login\/code\?next=%2Ftasks$/);
    await hydrated(page);

    await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
    await expect(page).toHaveURL(/\/login\/code\?method=recovery&next=%2Ftasks$/);
    // Upper case and without hyphens is the same code.
    await page.getByLabel('Recovery code').fill(recoveryCodes[0].replaceAll('-', '').toUpperCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as Recovering')).toBeVisible();
    await page.goto('/account');
    await expect(section(page)).toContainText('9 recovery codes left.');

    await page.goto('/tasks');
    await hydrated(page);
    await logOutAndBackIn(page, email);
    await hydrated(page);
    await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0]);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/login\/code\?method=recovery&next=%2Ftasks$/);
    await expect(page.locator('#field-recovery_code-error')).toHaveText(
      'That recovery code is not right, or it was used before. 4 tries left.',
    );
    await expect(page.getByLabel('Recovery code')).toHaveAttribute('aria-invalid', 'true');
    // The way back to the app's code.
    await hydrated(page);
    await page.getByRole('link', { name: 'Use a code from your authenticator app instead' }).click();
    await expect(page).toHaveURL(/\/login\/code\?next=%2Ftasks$/);
    await expect(page.getByLabel('6-digit code')).toBeVisible();
  });

  test('a wrong code is refused next to the field, then the right one signs in', async ({ page, baseURL }) => {
    const email = uniqueEmail('wrong-code');
    await createUser(baseURL!, 'Mistyper', email);
    const { secret } = await turnOnTwoStep(baseURL!, email);
    await page.goto('/login');
    await hydrated(page);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/login\/code/);
    await hydrated(page);

    await page.getByLabel('6-digit code').fill(wrongCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    const error = page.locator('#field-code-error');
    await expect(error).toHaveText(
      'That code is not right. Enter the newest 6-digit code your authenticator app shows for Tasks. 4 tries left.',
    );
    await expect(page.getByLabel('6-digit code')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByLabel('6-digit code')).toBeFocused();
    await expect(page.getByRole('alert').filter({ hasText: '4 tries left.' })).toBeVisible();

    await page.getByLabel('6-digit code').fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
  });

  test('the code page without a sign-in waiting says so and leads back to the login', async ({ page }) => {
    await page.goto('/login/code?next=/tasks');
    await hydrated(page);
    await expect(page.getByText('This sign-in has expired or ended')).toBeVisible();
    await expect(page.getByLabel('6-digit code')).toHaveCount(0);
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await expect(page).toHaveURL(/\/login\?next=%2Ftasks$/);
  });

  test('new recovery codes, then turning it off from the account page', async ({ page, baseURL }) => {
    test.setTimeout(90_000);
    const email = uniqueEmail('switcher');
    await createUser(baseURL!, 'Switcher', email);
    // Turned on before this browser signs in: turning it on signs out every other session.
    const { secret, recoveryCodes } = await turnOnTwoStep(baseURL!, email);
    await page.goto('/login?next=/account');
    await hydrated(page);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/login\/code\?next=%2Faccount$/);
    await page.goto('/login/code?method=recovery&next=/account');
    await page.getByLabel('Recovery code').fill(recoveryCodes[2]);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await hydrated(page);
    await expect(section(page)).toContainText('9 recovery codes left.');

    // New codes: the password and a code from the app (a wrong password is refused first).
    const newCodes = page.getByRole('form', { name: 'Make new recovery codes' });
    await newCodes.getByLabel('Password').fill('not the password');
    // Not checked (nor spent) while the password is wrong.
    await newCodes.getByLabel('Code from your app, or a recovery code').fill(wrongCode(secret));
    await newCodes.getByRole('button', { name: 'Make new recovery codes' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.locator('#field-codes-password-error')).toHaveText('Your password is not correct.');
    await expect(page.getByRole('form', { name: 'Make new recovery codes' }).getByLabel('Password')).toBeFocused();
    await newCodes.getByLabel('Password').fill(PASSWORD);
    await newCodes.getByLabel('Code from your app, or a recovery code').fill(recoveryCodes[0]);
    await newCodes.getByRole('button', { name: 'Make new recovery codes' }).click();
    await expect(page).toHaveURL(/\/account\/two-step$/);
    await expect(page.getByRole('heading', { name: 'Save your recovery codes' })).toBeVisible();
    const fresh = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(recoveryCodes[1]);
    await page.getByRole('link', { name: 'Done' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(section(page)).toContainText('10 recovery codes left.');

    // Off: an old recovery code no longer counts; a code from the app does.
    await hydrated(page);
    const off = page.getByRole('form', { name: 'Turn off two-step sign-in' });
    await off.getByLabel('Password').fill(PASSWORD);
    await off.getByLabel('Code from your app, or a recovery code').fill(recoveryCodes[1]);
    await off.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
    await expect(page.locator('#field-off-code-error')).toContainText('That code is not right.');
    await off.getByLabel('Password').fill(PASSWORD);
    await off.getByLabel('Code from your app, or a recovery code').fill(await nextCode(secret));
    await off.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(section(page)).toContainText('Off.');
    await expect(section(page).getByRole('link', { name: 'Turn on two-step sign-in' })).toBeVisible();

    // Signing in asks for the password only again.
    await page.goto('/tasks');
    await hydrated(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await hydrated(page);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/tasks$/);
  });

  test('an administrator turns off the two-step sign-in of someone locked out', async ({ page, baseURL }) => {
    const email = uniqueEmail('locked-out');
    await createUser(baseURL!, 'Locked Out', email);
    await turnOnTwoStep(baseURL!, email);
    const admin = await createAdmin(baseURL!, 'Helpful Admin');
    await logInFromScratch(page, admin);
    await page.goto(`/admin?q=${encodeURIComponent(email)}`);
    const row = page.getByRole('table', { name: 'Accounts' }).getByRole('row').filter({ hasText: email });
    await expect(row.getByText('2-step')).toBeVisible();
    await row.getByRole('link', { name: email, exact: true }).click();
    await expect(page).toHaveURL(/\/admin\/users\/\d+$/);
    const facts = page.getByRole('region', { name: 'Locked Out' });
    await expect(facts.getByText('Two-step sign-in', { exact: true })).toBeVisible();
    await expect(facts.getByText('On', { exact: true })).toBeVisible();
    await hydrated(page);
    await page.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
    await expect(facts.getByText('Off', { exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Turn off two-step sign-in' })).toHaveCount(0);
    await expect(
      page.getByRole('list', { name: 'Activity' }).getByRole('listitem').filter({ hasText: 'Two-step sign-in turned off' }),
    ).toBeVisible();

    // They sign in with the password alone.
    await page.context().clearCookies();
    await logInFromScratch(page, email);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('sign in with the password, then a code, without JavaScript', async ({ page, baseURL }) => {
    const email = uniqueEmail('nojs-two-step');
    await createUser(baseURL!, 'Plain Stepper', email);
    const { secret } = await turnOnTwoStep(baseURL!, email);
    await page.goto('/login');
    await logIn(page, email);
    await expect(page).toHaveURL(/\/login\/code\?next=%2Ftasks$/);

    await page.getByLabel('6-digit code').fill(wrongCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/login\/code\?next=%2Ftasks$/);
    await expect(page.locator('#field-code-error')).toContainText('4 tries left.');
    await expect(page.getByLabel('6-digit code')).toBeFocused();

    await page.getByLabel('6-digit code').fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as Plain Stepper')).toBeVisible();
  });

  test('turn it on and see the recovery codes without JavaScript', async ({ page, baseURL }) => {
    const email = uniqueEmail('nojs-setup');
    await createUser(baseURL!, 'Plain Setup', email);
    await page.goto('/login');
    await logIn(page, email);
    await expect(page).toHaveURL(/\/tasks$/);
    await page.goto('/account');
    await section(page).getByRole('link', { name: 'Turn on two-step sign-in' }).click();
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page).toHaveURL(/\/account\/two-step$/);
    await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
    const secret = (await page.getByTestId('totp-secret').textContent())!;
    await page.getByLabel('6-digit code').fill(wrongCode(secret));
    await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await expect(page.locator('#field-code-error')).toContainText('That code is not right.');
    await page.getByLabel('6-digit code').fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await expect(page).toHaveURL(/\/account\/two-step$/);
    await expect(page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem')).toHaveCount(10);
    await page.getByRole('link', { name: 'Done' }).click();
    await expect(section(page)).toContainText('10 recovery codes left.');
  });
});
