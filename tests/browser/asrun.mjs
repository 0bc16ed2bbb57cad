// Drives Debian's Chromium through the dashboard's 播出记录 page after a recorded live window
// aired in a real daemon. Started by tests/serve_feeds.rs, which passes:
//   KEPU_BASE_URL, KEPU_OP_USER, KEPU_PASSWORD, KEPU_DAY (the window's broadcast day),
//   KEPU_FEED_TITLE, KEPU_RECORDING (the window's directory name), KEPU_SHOTS_DIR.
// The operator opens the day's as-run from the navigation, finds the window's airing naming
// its recording, follows the link to the 直播源 page, where that recording's row is marked.

import { env, start } from './harness.mjs';

const run = await start('asrun', 60_000);
const { check, log, shot } = run;
const REC = env('KEPU_RECORDING');

await run.main(async () => {
  const page = await run.newPage();
  run.page = page;
  await run.login(page, env('KEPU_OP_USER'));
  await page.waitForSelector('[data-testid=onair-panel]');
  await page.click('[data-testid=nav-asrun]');
  await page.waitForSelector('#asrun-day');
  await page.fill('#asrun-day', env('KEPU_DAY'));
  await page.dispatchEvent('#asrun-day', 'change');
  const row = page.locator('[data-testid=airing]', { hasText: env('KEPU_FEED_TITLE') });
  await row.waitFor({ timeout: 10_000 });
  const cell = row.locator('[data-testid=airing-recording]');
  const text = await cell.innerText();
  check(text.includes(REC) && /\d+ 段/.test(text), `the airing names its recording: ${text}`);
  check((await page.getAttribute('#asrun-csv', 'href')).endsWith(`day=${env('KEPU_DAY')}`), 'the CSV link is the day\'s');
  await shot(page, 'asrun');
  log('as-run row with its recording');

  await cell.locator('a').click();
  await page.waitForFunction((name) => {
    const r = [...document.querySelectorAll('tr[data-recording]')].find((t) => t.dataset.recording === name);
    return r && r.getAttribute('aria-selected') === 'true';
  }, REC, { timeout: 10_000 });
  await shot(page, 'asrun-recording');
  log('the recording marked on the feeds page');
});
