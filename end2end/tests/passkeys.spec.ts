import { expect, test, type CDPSession, type Page, type Response } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { PASSWORD, createUser, hydrated, linkTo, logIn, openMail, uniqueEmail, watchConsole } from './helpers';

// Passkeys (WebAuthn): adding one on the account page, signing in with the button or through the
// browser's autofill, removing one, an account made with a passkey only, a copied passkey with
// an old sign counter, and the login page without JavaScript.
//
// The authenticator is Chromium's virtual one, driven through the DevTools protocol. Two things
// about it shape these tests (seen on Debian's chromium 156):
// - It has no account chooser: a conditional (autofill) request is answered at once with the
//   discoverable credential it holds, without a click or focus on the field. The login page
//   starts such a request as soon as it has hydrated, so with a passkey on the authenticator the
//   login page signs in by itself.
// - A request that reaches it while presence simulation is off waits, and stays waiting when
//   presence is switched back on. So to sign in with the button, presence is off while the
//   login page starts its autofill request (an autofill offer the person ignores, as in a real
//   browser) and on again before the click, and the button's own request is answered.
// Which requests the page made, and how each ended, is recorded (in sessionStorage, so it
// survives the page load that follows a sign-in), so each test knows which way it signed in.
//
// Passkeys need a domain name: the server's relying party is `localhost` when it listens on
// 127.0.0.1, so these tests open the app at http://localhost:PORT and stay there (cookies are
// per host).

/** The app's address with a domain name (a relying party id cannot be an IP address). */
function onLocalhost(baseURL: string): string {
  return baseURL.replace('//127.0.0.1', '//localhost');
}

/** A virtual platform authenticator (like a laptop's fingerprint reader) in this page's tab. */
class VirtualAuthenticator {
  private constructor(
    private readonly cdp: CDPSession,
    public id: string,
    private readonly synced: boolean,
  ) {}

  /** Adds one to `page`; `synced` makes its passkeys backed up, like a password manager's. */
  static async attach(page: Page, { synced = false } = {}): Promise<VirtualAuthenticator> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const authenticator = new VirtualAuthenticator(cdp, '', synced);
    authenticator.id = await authenticator.add();
    return authenticator;
  }

  private async add(): Promise<string> {
    const { authenticatorId } = await this.cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
        defaultBackupEligibility: this.synced,
        defaultBackupState: this.synced,
      },
    });
    return authenticatorId;
  }

  /** The credentials it holds, with their private keys and sign counters. */
  async credentials() {
    const { credentials } = await this.cdp.send('WebAuthn.getCredentials', { authenticatorId: this.id });
    return credentials;
  }

  /** Resolves when it next signs an assertion (a sign-in), before the page has the answer. */
  nextAssertion(): Promise<unknown> {
    return new Promise((resolve) => this.cdp.once('WebAuthn.credentialAsserted', resolve));
  }

  /** Whether it answers requests (a touch of the sensor) by itself. */
  async presence(on: boolean): Promise<void> {
    await this.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: this.id, enabled: on });
  }

  /** Replaces this authenticator with a new, empty one (another device). */
  async replaceWithNewDevice(): Promise<void> {
    await this.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: this.id });
    this.id = await this.add();
  }

  /** Puts exactly `credential` on it, replacing whatever it held. */
  async holdOnly(credential: Awaited<ReturnType<VirtualAuthenticator['credentials']>>[number]): Promise<void> {
    await this.cdp.send('WebAuthn.clearCredentials', { authenticatorId: this.id });
    await this.cdp.send('WebAuthn.addCredential', { authenticatorId: this.id, credential });
  }
}

/** `promise`, or a failure saying `what` after `ms` (a guard, not a wait). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const REQUESTS_KEY = 'e2e-passkey-requests';

type PasskeyRequest = { id: string; doc: number; path: string; mediation: string; outcome: string };

/**
 * Records every navigator.credentials.get() the page makes (path, mediation, and how it ended:
 * "pending", "resolved", or the error's name) in sessionStorage. It only observes: the page gets
 * the browser's own promise.
 */
async function recordPasskeyRequests(page: Page): Promise<void> {
  await page.addInitScript((key) => {
    if (typeof CredentialsContainer === 'undefined') return;
    const get = CredentialsContainer.prototype.get;
    const read = (): PasskeyRequest[] => JSON.parse(sessionStorage.getItem(key) ?? '[]');
    const write = (list: PasskeyRequest[]) => sessionStorage.setItem(key, JSON.stringify(list));
    let count = 0;
    CredentialsContainer.prototype.get = function (options?: CredentialRequestOptions) {
      const doc = performance.timeOrigin;
      const id = `${doc}-${count++}`;
      write([...read(), { id, doc, path: location.pathname, mediation: options?.mediation ?? 'optional', outcome: 'pending' }]);
      const answer = get.call(this, options);
      const settle = (outcome: string) =>
        write(read().map((request) => (request.id === id ? { ...request, outcome } : request)));
      answer.then(
        () => settle('resolved'),
        (error: unknown) => settle((error as { name?: string })?.name ?? String(error)),
      );
      return answer;
    };
  }, REQUESTS_KEY);
}

/** The requests recorded since the last `forgetPasskeyRequests`, in every page load since. */
async function passkeyRequests(page: Page): Promise<Omit<PasskeyRequest, 'id' | 'doc'>[]> {
  const list: PasskeyRequest[] = await page.evaluate(
    (key) => JSON.parse(sessionStorage.getItem(key) ?? '[]'),
    REQUESTS_KEY,
  );
  return list.map(({ id: _, doc: __, ...request }) => request);
}

/**
 * The autofill requests of the page now open that are waiting. (A page being left may still
 * record one after `forgetPasskeyRequests`: the login page starts a new one after a refusal.)
 */
async function waitingAutofillRequests(page: Page): Promise<number> {
  return page.evaluate((key) => {
    const list: PasskeyRequest[] = JSON.parse(sessionStorage.getItem(key) ?? '[]');
    return list.filter(
      (r) => r.doc === performance.timeOrigin && r.mediation === 'conditional' && r.outcome === 'pending',
    ).length;
  }, REQUESTS_KEY);
}

async function forgetPasskeyRequests(page: Page): Promise<void> {
  await page.evaluate((key) => sessionStorage.removeItem(key), REQUESTS_KEY);
}

/**
 * Signs out with the header's button. Presence is switched off first, so the login page's
 * autofill request cannot sign straight back in.
 */
async function signOut(page: Page, authenticator: VirtualAuthenticator): Promise<void> {
  await hydrated(page);
  await authenticator.presence(false);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
}

/**
 * Opens the login page and clicks "Sign in with a passkey" while the page's autofill request is
 * waiting (see the top of this file). Presence is on for the button's request only, so an
 * autofill request the page may start again after a refusal waits too. Returns the server's
 * answer to the sign-in; the caller checks the outcome.
 */
async function clickSignInWithPasskey(
  page: Page,
  base: string,
  authenticator: VirtualAuthenticator,
): Promise<Response> {
  await authenticator.presence(false);
  await forgetPasskeyRequests(page);
  await page.goto(`${base}/login`);
  await hydrated(page);
  await expect.poll(() => waitingAutofillRequests(page)).toBe(1);
  const asserted = authenticator.nextAssertion();
  const finish = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/passkeys/sign-in/finish');
  await authenticator.presence(true);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await within(asserted, 20_000, 'the authenticator was asked for nothing within 20 s of the click');
  await authenticator.presence(false);
  return finish;
}

/** The page signed in with the button: the autofill request did not answer, the button's did. */
async function expectSignedInByTheButton(page: Page, name: string): Promise<void> {
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByText(`Signed in as ${name}`)).toBeVisible();
  const requests = await passkeyRequests(page);
  expect(requests.filter((r) => r.mediation === 'conditional' && r.outcome === 'resolved')).toEqual([]);
  expect(requests.filter((r) => r.mediation !== 'conditional')).toEqual([
    { path: '/login', mediation: expect.any(String), outcome: 'resolved' },
  ]);
}

/** A new account with a password, signed in at `base` and on its task list; returns the email. */
async function passwordAccountSignedIn(page: Page, baseURL: string, base: string, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, '-'));
  await createUser(baseURL, name, email);
  await page.goto(`${base}/login`);
  await hydrated(page);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/tasks$/);
  return email;
}

/** A new account made on the register page with a passkey only; ends on its task list. */
async function signUpWithPasskey(page: Page, base: string, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, '-'));
  await page.goto(`${base}/register`);
  await page.getByRole('link', { name: 'create an account with a passkey' }).click();
  await expect(page).toHaveURL(/\/register\/passkey$/);
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Create account with a passkey' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByText(`Signed in as ${name}`)).toBeVisible();
  return email;
}

/** The account page's "Passkeys" section. */
const passkeysSection = (page: Page) =>
  page.getByRole('heading', { name: 'Passkeys', exact: true }).locator('xpath=ancestor::section[1]');

const passkeyList = (page: Page) => page.getByRole('list', { name: 'Your passkeys' }).getByRole('listitem');

const passkeyItem = (page: Page, name: string) => passkeyList(page).filter({ hasText: name });

const activity = (page: Page) => page.getByRole('list', { name: 'Recent activity' }).getByRole('listitem');

/** Adds a passkey named `name` from the account page of an account with a password. */
async function addPasskey(page: Page, base: string, name: string): Promise<void> {
  await page.goto(`${base}/account`);
  await hydrated(page);
  const section = passkeysSection(page);
  const nameField = section.getByLabel('Name for the new passkey');
  await expect(nameField).toHaveValue(/\S/);
  await nameField.fill(name);
  await section.getByLabel('Account password').fill(PASSWORD);
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Passkey added.' })).toBeVisible();
  await expect(passkeyItem(page, name)).toBeVisible();
}

test.describe('passkeys, with JavaScript', () => {
  let consoleProblems: string[] = [];

  test.beforeEach(async ({ page }) => {
    consoleProblems = watchConsole(page);
    await recordPasskeyRequests(page);
  });

  test.afterEach(async () => {
    expect(consoleProblems, 'console errors').toEqual([]);
  });

  test('a passkey added on the account page signs in with the "Sign in with a passkey" button', async ({
    page,
    baseURL,
  }) => {
    const base = onLocalhost(baseURL!);
    const authenticator = await VirtualAuthenticator.attach(page);
    await passwordAccountSignedIn(page, baseURL!, base, 'Key Adder');

    await addPasskey(page, base, 'Work laptop');
    const item = passkeyItem(page, 'Work laptop');
    await expect(item).toContainText('Added');
    await expect(item).toContainText('Never used');
    await expect(item).not.toContainText('Synced');
    expect(await authenticator.credentials()).toHaveLength(1);

    await signOut(page, authenticator);
    await clickSignInWithPasskey(page, base, authenticator);
    await expectSignedInByTheButton(page, 'Key Adder');

    await page.goto(`${base}/account`);
    await expect(passkeyItem(page, 'Work laptop')).toContainText('Last used');
    await expect(passkeyItem(page, 'Work laptop')).not.toContainText('Never used');
    await expect(activity(page).filter({ hasText: 'Signed in from' }).filter({ hasText: 'Work laptop' })).toHaveCount(1);
    await expect(activity(page).filter({ hasText: 'Passkey added' }).filter({ hasText: 'Work laptop' })).toHaveCount(1);
  });

  test('the login page signs in through autofill when the device holds a passkey', async ({ page, baseURL }) => {
    const base = onLocalhost(baseURL!);
    const authenticator = await VirtualAuthenticator.attach(page);
    await signUpWithPasskey(page, base, 'Autofiller');
    await signOut(page, authenticator);
    await expect(page.getByText('Signed in as Autofiller')).toHaveCount(0);
    // The login page signOut left on starts its own autofill request once it hydrates; wait for
    // it to be waiting (presence is off), or it could start after presence comes on below and
    // sign in by itself too.
    await hydrated(page);
    await expect.poll(() => waitingAutofillRequests(page)).toBe(1);

    // Nothing to click: Chromium's virtual authenticator answers the autofill request itself
    // (a person would pick the passkey the Email field offers).
    await authenticator.presence(true);
    await forgetPasskeyRequests(page);
    await page.goto(`${base}/login`);
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as Autofiller')).toBeVisible();
    const requests = await passkeyRequests(page);
    expect(requests.filter((r) => r.outcome === 'resolved')).toEqual([
      { path: '/login', mediation: 'conditional', outcome: 'resolved' },
    ]);
    expect(requests.filter((r) => r.mediation !== 'conditional')).toEqual([]);
  });

  test('a removed passkey leaves the list and no longer signs in', async ({ page, baseURL }) => {
    const base = onLocalhost(baseURL!);
    const authenticator = await VirtualAuthenticator.attach(page);
    await passwordAccountSignedIn(page, baseURL!, base, 'Remover');
    await addPasskey(page, base, 'Old phone');

    await page.getByRole('button', { name: 'Remove passkey Old phone' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(passkeyItem(page, 'Old phone')).toHaveCount(0);
    await expect(passkeyList(page)).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Passkeys', exact: true })).toBeVisible();
    await expect(passkeyList(page)).toHaveCount(0);
    await expect(activity(page).filter({ hasText: 'Passkey removed' }).filter({ hasText: 'Old phone' })).toHaveCount(1);

    // The device still holds it (a site cannot delete it there); the server refuses it.
    expect(await authenticator.credentials()).toHaveLength(1);
    await page.goto(`${base}/tasks`);
    await signOut(page, authenticator);
    const answer = await clickSignInWithPasskey(page, base, authenticator);
    expect(answer.status(), await answer.text()).toBe(400);
    expect((await answer.json()).error).toBe('passkey');
    await expect(page.getByRole('alert').filter({ hasText: /\w/ })).toBeVisible();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByText('Signed in as')).toHaveCount(0);
  });

  test('a passkey the server refuses is offered again in the autofill only after a growing wait', async ({
    page,
    baseURL,
  }) => {
    test.setTimeout(60_000);
    const base = onLocalhost(baseURL!);
    const authenticator = await VirtualAuthenticator.attach(page);
    await signUpWithPasskey(page, base, 'Unknown Key');
    const [original] = await authenticator.credentials();
    await signOut(page, authenticator);

    // A passkey for this site and person that the server has never seen: refused every time.
    await authenticator.holdOnly({ ...original, credentialId: randomBytes(16).toString('base64'), signCount: 0 });
    let finishes = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/passkeys/sign-in/finish') finishes += 1;
    });
    // Leave the login page signOut landed on first: its autofill request is still waiting, and
    // turning presence on would answer it too (one finish more, from the page we are leaving).
    await page.goto('about:blank');
    // Presence on: the device answers every autofill request at once, as if the person kept
    // picking the passkey. The page must not turn that into a stream of sign-in attempts.
    await authenticator.presence(true);
    await page.goto(`${base}/login`);
    await hydrated(page);
    await expect(page.getByRole('alert').filter({ hasText: /\w/ })).toBeVisible();
    // A window of 10 s, watched as a person would leave the page open: a refusal at once,
    // then again after 3 s, and not again before 6 s more.
    await page.waitForTimeout(10_000);
    expect(finishes).toBeGreaterThanOrEqual(2);
    expect(finishes).toBeLessThanOrEqual(3);
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByText('Signed in as')).toHaveCount(0);
  });

  test('an account made with a passkey only signs in with it, is offered a password, and keeps its only passkey', async ({
    page,
    baseURL,
  }) => {
    const base = onLocalhost(baseURL!);
    // A synced passkey, as a password manager or a phone's platform account makes them.
    const authenticator = await VirtualAuthenticator.attach(page, { synced: true });
    await signUpWithPasskey(page, base, 'Passkey Only');
    expect(await authenticator.credentials()).toHaveLength(1);

    await signOut(page, authenticator);
    await clickSignInWithPasskey(page, base, authenticator);
    await expectSignedInByTheButton(page, 'Passkey Only');

    await page.goto(`${base}/account`);
    await hydrated(page);
    await expect(passkeyList(page)).toHaveCount(1);
    await expect(passkeyList(page)).toContainText('Synced');
    // No password to confirm adding another passkey with.
    await expect(passkeysSection(page).getByLabel('Account password')).toHaveCount(0);
    await expect(passkeysSection(page).getByRole('button', { name: 'Add a passkey' })).toBeVisible();
    const addPassword = page.getByRole('heading', { name: 'Add a password', exact: true }).locator('xpath=ancestor::section[1]');
    await expect(addPassword.getByLabel('New password', { exact: true })).toBeVisible();
    await expect(addPassword.getByLabel('Confirm new password', { exact: true })).toBeVisible();
    await expect(addPassword.getByRole('button', { name: 'Add password' })).toBeVisible();

    // Its only way to sign in cannot be removed.
    await passkeyList(page).getByRole('button', { name: /^Remove passkey / }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'only way to sign in' })).toBeVisible();
    await page.reload();
    await expect(passkeyList(page)).toHaveCount(1);
  });

  test('a copy of a passkey is refused and stays refused, the passkey is suspended and mailed, and its owner re-enables it', async ({
    page,
    baseURL,
  }) => {
    test.setTimeout(180_000);
    const base = onLocalhost(baseURL!);
    const authenticator = await VirtualAuthenticator.attach(page);
    const email = await passwordAccountSignedIn(page, baseURL!, base, 'Cloned Key');
    await addPasskey(page, base, 'Laptop');
    await signOut(page, authenticator);
    await clickSignInWithPasskey(page, base, authenticator);
    await expectSignedInByTheButton(page, 'Cloned Key');

    // The passkey as the device holds it now: the server has seen its counter move on.
    const [original] = await authenticator.credentials();
    expect(original.isResidentCredential).toBe(true);
    expect(original.signCount).toBeGreaterThan(0);

    // The same key (id, private key, user handle) on another device, its counter back at 0.
    await authenticator.replaceWithNewDevice();
    await authenticator.holdOnly({ ...original, signCount: 0 });
    await signOut(page, authenticator);
    const refused = await clickSignInWithPasskey(page, base, authenticator);
    expect(refused.status(), await refused.text()).toBe(400);
    const said = 'This passkey was refused: its signature counter went backwards';
    expect(await refused.json()).toEqual({ error: 'passkey', detail: 'cloned', message: expect.stringContaining(said) });
    await expect(page.getByRole('alert').filter({ hasText: said })).toBeVisible();

    // Twenty more tries: the copy's counter climbs past the stored one, and still nothing.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const again = await clickSignInWithPasskey(page, base, authenticator);
      expect(again.status(), `retry ${attempt}: ${await again.text()}`).toBe(403);
      expect((await again.json()).detail).toBe('suspended');
    }
    const [copy] = await authenticator.credentials();
    expect(copy.signCount).toBeGreaterThan(original.signCount);
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByText('Signed in as')).toHaveCount(0);

    // The original is suspended too: nobody can tell which device holds the copy.
    await authenticator.holdOnly(original);
    const suspended = await clickSignInWithPasskey(page, base, authenticator);
    expect(suspended.status()).toBe(403);
    await expect(page.getByRole('alert').filter({ hasText: 'This passkey is suspended' })).toBeVisible();

    // The owner was mailed, with the way to act.
    await openMail(page, email, 'A passkey of your Tasks account was suspended');
    await expect(page.getByText('signature counter went backwards').first()).toBeVisible();
    expect(await linkTo(page, '/secure-account')).toContain('/secure-account?token=');

    // Signed in with the password, the account page says why, and re-enables it.
    await page.goto(`${base}/login`);
    await hydrated(page);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/tasks$/);
    await page.goto(`${base}/account`);
    await hydrated(page);
    const item = passkeyItem(page, 'Laptop');
    await expect(item.getByText('Suspended', { exact: true })).toBeVisible();
    await expect(item).toContainText('a copy of it may exist');
    // (The activity's newest 20 are the refused retries; tests/passkeys.rs counts the one
    // passkey_suspected_clone event.)
    await item.getByLabel('Password to re-enable Laptop').fill(PASSWORD);
    await item.getByRole('button', { name: 'Re-enable' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Passkey enabled again.' })).toBeVisible();
    await expect(passkeyItem(page, 'Laptop').getByText('Suspended', { exact: true })).toHaveCount(0);

    // The original signs in again; its counter moves on.
    await signOut(page, authenticator);
    const accepted = await clickSignInWithPasskey(page, base, authenticator);
    expect(accepted.status()).toBe(200);
    await expectSignedInByTheButton(page, 'Cloned Key');
  });
});

test.describe('passkeys, without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  const noScriptNote = (page: Page) => page.locator('noscript p');

  test('the login page says passkeys need JavaScript, and the password still signs in', async ({ page, baseURL }) => {
    const base = onLocalhost(baseURL!);
    const email = uniqueEmail('nojs-passkeys');
    await createUser(baseURL!, 'No Script', email);

    // Playwright's text matching skips <noscript> on purpose (getByText finds nothing there),
    // so the notes are found as the paragraphs they are; their text and visibility are checked.
    await page.goto(`${base}/register`);
    await page.getByRole('link', { name: 'create an account with a passkey' }).click();
    await expect(noScriptNote(page).filter({ hasText: /passkey.*JavaScript/i })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Create account with a passkey' })).toBeHidden();
    await page.getByRole('link', { name: 'Sign up with a password' }).click();
    await expect(page).toHaveURL(/\/register$/);

    await page.goto(`${base}/login`);
    await expect(noScriptNote(page).filter({ hasText: 'Passkeys need JavaScript' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toBeHidden();
    await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('autocomplete', 'username webauthn');
    await logIn(page, email);
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('Signed in as No Script')).toBeVisible();
  });
});
