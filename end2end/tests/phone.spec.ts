import { expect, test } from '@playwright/test';
import { createAdmin, createUser, headerMenu, hydrated, logInFromScratch, onTaskListAs, uniqueEmail } from './helpers';

// Runs in the `phone` project (a 390 px wide touch screen, playwright.config.ts).

test('the header folds into a menu, and the list never gets wider than the screen', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Phone');
  const { toggle: menu, details } = headerMenu(page);
  await expect(details).not.toHaveAttribute('open');
  await expect(page.getByRole('button', { name: 'Log out' })).toBeHidden();

  const long = 'Prepare the onboarding checklist for the new colleagues starting in January';
  for (const title of [long, 'Short one']) {
    await page.getByLabel('New task').fill(title);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(page.getByRole('checkbox', { name: title, exact: true })).toBeVisible();
  }
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  expect(await fits(), 'no sideways scrolling').toBe(true);

  // The title gets most of the row; the actions stay small (they took ~60 % of it before).
  const title = page.getByText(long, { exact: true });
  const titleBox = (await title.boundingBox())!;
  const rowBox = (await page.getByRole('listitem').filter({ hasText: long }).boundingBox())!;
  expect(titleBox.width / rowBox.width).toBeGreaterThan(0.5);

  // Every control of a row is at least 24 px square (WCAG 2.5.8); ours are 44.
  const row = page.getByRole('listitem').filter({ hasText: 'Short one' });
  for (const control of [
    row.getByRole('checkbox'),
    row.getByRole('button', { name: 'Rename ‘Short one’' }),
    row.getByRole('button', { name: 'Delete ‘Short one’' }),
  ]) {
    const box = (await control.boundingBox())!;
    expect(box.width).toBeGreaterThanOrEqual(24);
    expect(box.height).toBeGreaterThanOrEqual(24);
  }

  // Renaming keeps Save and Cancel on screen.
  await page.getByRole('button', { name: `Rename ‘${long}’` }).click();
  await expect(page.getByRole('button', { name: 'Save' })).toBeInViewport();
  await expect(page.getByRole('link', { name: 'Cancel' })).toBeInViewport();
  expect(await fits(), 'no sideways scrolling while renaming').toBe(true);
  await page.keyboard.press('Escape');

  await menu.click();
  await expect(details).toHaveAttribute('open');
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(details).not.toHaveAttribute('open');
  await expect(page.getByRole('link', { name: 'Account', exact: true })).toBeHidden();
  expect(await fits(), 'the account page fits too').toBe(true);
  await menu.click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
});

test('the admin pages fit the screen: the account table stacks, the menu has Admin', async ({ page, baseURL }) => {
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  const email = uniqueEmail('a-rather-long-address-for-a-small-screen');
  await createUser(baseURL!, 'Someone With A Long Name To Wrap', email);
  const admin = await createAdmin(baseURL!, 'Phone Admin');
  await logInFromScratch(page, admin);
  const { toggle: menu } = headerMenu(page);
  await menu.click();
  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('heading', { name: 'Security events' })).toBeVisible();
  expect(await fits(), 'no sideways scrolling on /admin').toBe(true);
  await menu.click();
  await expect(page.getByRole('link', { name: 'Admin', exact: true })).toHaveAttribute('aria-current', 'page');
  await menu.click();

  await page.getByLabel('Search by email or name').fill(email);
  await page.getByRole('button', { name: 'Search' }).click();
  await hydrated(page);
  // Each account is a card of labelled lines.
  const row = page.getByRole('row').filter({ hasText: email });
  await expect(row).toBeVisible();
  const rowBox = (await row.boundingBox())!;
  expect(rowBox.width).toBeLessThanOrEqual(390);
  expect(await fits(), 'no sideways scrolling with a long address').toBe(true);

  await page.getByRole('table', { name: 'Accounts' }).getByRole('link', { name: email, exact: true }).click();
  await expect(page.getByRole('button', { name: 'Disable account' })).toBeVisible();
  expect(await fits(), "no sideways scrolling on an account's page").toBe(true);
  for (const name of ['Make admin', 'Disable account', 'Sign out all their sessions']) {
    const box = (await page.getByRole('button', { name }).boundingBox())!;
    expect(box.height).toBeGreaterThanOrEqual(24);
  }
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the Menu opens and closes the folded menu', async ({ page }) => {
    await page.goto('/login');
    const { toggle, details } = headerMenu(page);
    await expect(page.getByRole('link', { name: 'Sign up' })).toBeHidden();
    await toggle.click();
    await expect(details).toHaveAttribute('open');
    await expect(page.getByRole('link', { name: 'Sign up' })).toBeVisible();
    // From the keyboard too: the summary takes the focus and Enter toggles it.
    await toggle.focus();
    await page.keyboard.press('Enter');
    await expect(details).not.toHaveAttribute('open');
    await expect(page.getByRole('link', { name: 'Sign up' })).toBeHidden();
  });
});
