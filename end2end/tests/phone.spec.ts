import { expect, test } from '@playwright/test';
import { hydrated, onTaskListAs } from './helpers';

// Runs in the `phone` project (a 390 px wide touch screen, playwright.config.ts).

test('the header folds into a menu, and the list never gets wider than the screen', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Phone');
  const menu = page.getByRole('button', { name: 'Menu' });
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
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
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await page.getByRole('link', { name: 'Sessions' }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  expect(await fits(), 'the sessions page fits too').toBe(true);
  await menu.click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the Menu link opens the folded menu', async ({ page }) => {
    await page.goto('/login');
    await expect(page.getByRole('link', { name: 'Sign up' })).toBeHidden();
    await page.getByRole('button', { name: 'Menu' }).click();
    await expect(page).toHaveURL(/#site-menu$/);
    await expect(page.getByRole('link', { name: 'Sign up' })).toBeVisible();
  });
});
