// Drives Debian's Chromium through the dashboard's 直播源 page while a partner's feed is live
// in a real daemon. Started by tests/serve_feeds.rs, which passes:
//   KEPU_BASE_URL, KEPU_OP_USER, KEPU_PARTNER_USER, KEPU_PASSWORD, KEPU_FEED_TITLE (the live
//   feed), KEPU_CLOSED_TITLE (a feed outside its window), KEPU_SHOTS_DIR.
// The operator sees the feed live with its picture, the closed one without; sets the closed
// one's backup clip (KEPU_BACKUP_PATH; a relative path is refused); issues a key that is shown
// once and never again; revokes it. A partner has no such page.

import { env, start } from './harness.mjs';

const run = await start('feeds', 90_000);
const { check, log, shot } = run;
const LIVE = env('KEPU_FEED_TITLE');
const CLOSED = env('KEPU_CLOSED_TITLE');

await run.main(async () => {
  const page = await run.newPage();
  run.page = page;
  await run.login(page, env('KEPU_OP_USER'));
  await page.waitForSelector('[data-testid=onair-panel]');
  await page.click('[data-testid=nav-feeds]');
  await page.waitForSelector('[data-testid=feed]');

  // The live feed: its state, and its picture loaded (a JPEG the page renews every 3 s).
  const live = page.locator('[data-testid=feed]', { hasText: LIVE });
  await live.locator('[data-testid=feed-state]').filter({ hasText: '正常' }).waitFor({ timeout: 20_000 });
  await page.waitForFunction((title) => {
    const card = [...document.querySelectorAll('[data-testid=feed]')].find((c) => c.textContent.includes(title));
    const img = card?.querySelector('img[data-testid=feed-still]');
    return img && img.complete && img.naturalWidth >= 320;
  }, LIVE, { timeout: 20_000 });
  const first = await live.locator('img[data-testid=feed-still]').getAttribute('src');
  await page.waitForFunction(([title, src]) => {
    const card = [...document.querySelectorAll('[data-testid=feed]')].find((c) => c.textContent.includes(title));
    const img = card?.querySelector('img[data-testid=feed-still]');
    return img && img.getAttribute('src') !== src && img.complete && img.naturalWidth >= 320;
  }, [LIVE, first], { timeout: 10_000 });
  const liveText = await live.innerText();
  check(/kbit\/s/.test(liveText) && /fps/.test(liveText), `bit rate and frame rate shown: ${liveText}`);
  log('live feed with a renewed still');

  // The closed camera: listed, no picture, its password masked.
  const closed = page.locator('[data-testid=feed]', { hasText: CLOSED });
  const closedText = await closed.innerText();
  check(closedText.includes('未打开'), `the closed feed says so: ${closedText}`);
  check(!closedText.includes('wetland-secret'), `password masked: ${closedText}`);
  check(await closed.locator('img').count() === 0, 'no picture for a closed feed');
  await shot(page, 'feeds');

  // The closed camera's backup clip, set in the form (a file path), shown on its card.
  const BACKUP = env('KEPU_BACKUP_PATH');
  await page.selectOption('#backup-feed', { label: await page.locator('#backup-feed option', { hasText: CLOSED }).innerText() });
  await page.selectOption('#backup-kind', 'path');
  await page.fill('#backup-value', 'relative.mp4');
  await page.click('#backup-set');
  await page.waitForSelector('.toast >> text=绝对路径');
  await page.fill('#backup-value', BACKUP);
  await page.click('#backup-set');
  await closed.locator('[data-testid=feed-backup]', { hasText: BACKUP }).waitFor({ timeout: 10_000 });
  await shot(page, 'feeds-backup');
  log('backup clip set from the page');

  // A key, shown once.
  await page.fill('#key-feed', 'river-2');
  await page.fill('#key-note', '湿地保护区');
  await page.click('#key-issue');
  await page.waitForSelector('[data-testid=key-shown-once] #key-value');
  const key = (await page.locator('#key-value').innerText()).trim();
  check(/^ki_[0-9a-f]{48}$/.test(key), `a key: ${key}`);
  await page.waitForSelector('[data-testid=key] >> text=ingest://river-2');
  await shot(page, 'feeds-key-issued');
  await page.reload();
  await page.waitForSelector('[data-testid=key] >> text=ingest://river-2');
  const body = await page.innerText('body');
  check(!body.includes(key) && !(await page.content()).includes(key), 'the key is never shown again');
  log('key issued, shown once');

  // Revoked after a confirmation.
  page.once('dialog', (d) => d.accept());
  const row = page.locator('[data-testid=key]', { hasText: 'ingest://river-2' });
  await row.locator('[data-testid=key-revoke]').click();
  await row.locator('text=吊销').first().waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=key]')]
    .some((r) => r.textContent.includes('ingest://river-2') && r.textContent.includes('已于')));
  log('key revoked');

  // A partner: no 直播源 in the navigation, and the page sends them home.
  const pp = await run.newPage();
  run.page = pp;
  await run.login(pp, env('KEPU_PARTNER_USER'));
  await pp.waitForSelector('nav a');
  check(await pp.locator('[data-testid=nav-feeds]').count() === 0, 'no feeds link for a partner');
  await pp.goto(`${run.base}/#/feeds`);
  await pp.waitForFunction(() => !location.hash.startsWith('#/feeds'));
  log('partner kept out');
});
