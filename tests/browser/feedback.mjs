// Drives Debian's Chromium (playwright-core) through the dashboard's 数据反馈 page and the
// public player. Started by tests/feedback_browser.rs, which passes:
//   KEPU_BASE_URL, KEPU_OP_USER, KEPU_PARTNER_USER, KEPU_PASSWORD, KEPU_OWN_CHANNEL (the
//   partner's channel id), KEPU_OTHER_ACCOUNT (another unit's account name), KEPU_SHOTS_DIR,
//   KEPU_OTHER_WORK (a work of another unit than the partner's).
// Every wait is bounded; any failure exits non-zero with what was on the page.

import { env, start } from './harness.mjs';

const run = await start('feedback', 80_000);
const { check, log, shot } = run;
const BASE = run.base;
const OWN = Number(env('KEPU_OWN_CHANNEL'));
const OTHER = env('KEPU_OTHER_ACCOUNT');
const OTHER_WORK = Number(env('KEPU_OTHER_WORK'));
const newPage = () => run.newPage({ height: 900 });
const login = (p, user) => run.login(p, user);
let page;

/// Sends viewer figures from inside the page (the session cookie and its CSRF token).
async function send(p, figures) {
  return p.evaluate(async (figs) => {
    const me = await (await fetch('/api/v1/me')).json();
    const r = await fetch('/api/v1/feedback/figures', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
      body: JSON.stringify({ source: 'manual', figures: figs }),
    });
    return { status: r.status, body: await r.json() };
  }, figures);
}

const total = (p) => p.$eval('#fb-chart', (e) => Number(e.dataset.total ?? -1));

await run.main(async () => {
  // ---- operator: the live chart moves as figures arrive
  page = await newPage();
  run.page = page;
  await login(page, env('KEPU_OP_USER'));
  await page.waitForSelector('[data-testid=nav-feedback]');
  await page.click('[data-testid=nav-feedback]');
  await page.waitForSelector('#fb-chart canvas');
  await page.waitForSelector('#fb-channel-table');
  check((await page.locator('#fb-channel-table').innerText()).includes(OTHER), 'the operator sees every channel');
  // Updates are pushed (server-sent events): no polling of /live once the stream is up.
  await page.waitForFunction(() => Number(document.querySelector('#fb-chart')?.dataset.points) > 0);
  let polls = 0;
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/feedback/live')) polls += 1;
  });
  const r1 = await send(page, [{ channel_id: OWN, at_ms: Date.now() - 1000, kind: 'viewers', value: 1200 }]);
  check(r1.status === 200 && r1.body.inserted === 1, `figure sent: ${JSON.stringify(r1)}`);
  await page.waitForFunction(() => Number(document.querySelector('#fb-chart')?.dataset.total) >= 1200, null, { timeout: 5_000 });
  const t1 = await total(page);
  log('chart total after the first figure', t1);
  await shot(page, 'feedback-operator-1');
  const r2 = await send(page, [{ channel_id: OWN, at_ms: Date.now(), kind: 'viewers', value: 2500 }]);
  check(r2.status === 200, `second figure: ${JSON.stringify(r2)}`);
  await page.waitForFunction((t) => Number(document.querySelector('#fb-chart')?.dataset.total) === t + 1300, t1, { timeout: 5_000 });
  const t2 = await total(page);
  log('chart moved to', t2);
  check(polls === 0, `the chart moved by push, not by polling (${polls} polls)`);
  await shot(page, 'feedback-operator-2');

  // ---- a viewer on the public player (hls.js in Chromium) is counted by session
  const watcher = await newPage();
  await watcher.goto(`${BASE}/watch`);
  await watcher.waitForFunction(() => {
    const v = document.querySelector('#player');
    return v && v.currentTime > 0.5;
  }, null, { timeout: 20_000 });
  log('the public player plays');
  await page.waitForFunction((t) => Number(document.querySelector('#fb-chart')?.dataset.total) === t + 1, t2, { timeout: 10_000 });
  log('our own viewer counted: total', await total(page));
  await shot(watcher, 'watch-player');
  await watcher.context().close();
  await page.waitForFunction((t) => Number(document.querySelector('#fb-chart')?.dataset.total) === t, t2, { timeout: 10_000 });
  log('the viewer left: total back to', await total(page));

  // ---- the upload form lists every row error of a bad file
  await page.setInputFiles('#fb-file', {
    name: 'bad.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(`渠道编号,时间,点赞\n${OWN},2026-09-01 12:00,很多\n${OWN},2026-09-31 12:00,5\n`),
  });
  await page.click('#fb-upload-form button[type=submit]');
  await page.waitForSelector('#fb-upload-errors li');
  const errs = await page.locator('#fb-upload-errors').innerText();
  check(errs.includes('第 2 行「点赞」列') && errs.includes('第 3 行「时间」列'), `row errors listed: ${errs}`);
  await shot(page, 'feedback-upload-errors');

  // ---- the ranking links each unit's end-of-month summary, a PDF
  await page.waitForSelector('#fb-ranking [data-testid=unit-summary]');
  const summaryHref = await page.getAttribute('#fb-ranking [data-testid=unit-summary]', 'href');
  const pdf = await page.evaluate(async (href) => {
    const r = await fetch(href, { credentials: 'same-origin' });
    const b = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, head: String.fromCharCode(...b.slice(0, 4)) };
  }, summaryHref);
  check(pdf.status === 200 && pdf.head === '%PDF', `unit summary: ${JSON.stringify(pdf)} from ${summaryHref}`);
  log('unit summary PDF from the ranking');

  // ---- a work's page, from its title: its airing on air, the curve, the figures
  await page.click('#fb-works [data-work-link]');
  await page.waitForSelector('#work-totals-line');
  await page.waitForSelector('.work-airing .work-chart canvas');
  const opWork = await page.$eval('#work-totals-line', (e) => ({ airings: Number(e.dataset.airings), peak: Number(e.dataset.peak) }));
  check(opWork.airings === 1 && opWork.peak >= 2500, `the operator's work page: ${JSON.stringify(opWork)}`);
  check((await page.locator('#work-title').innerText()) === '作品0', 'the work page is the work clicked');
  check(await page.locator('.work-airing .badge.live').count() === 1, 'the airing on air is marked');
  const points = await page.$eval('.work-chart', (e) => Number(e.dataset.points));
  check(points >= 12, `the curve spans the airing and 10 minutes before it (${points} minutes)`);
  await shot(page, 'work-page-operator');
  log('work page (operator)', JSON.stringify(opWork));
  await page.click('#logout');
  await page.waitForSelector('#login-username');
  await page.context().close();

  // ---- partner: its own channel only, its own figures only
  page = await newPage();
  run.page = page;
  await login(page, env('KEPU_PARTNER_USER'));
  await page.waitForSelector('[data-testid=nav-feedback]');
  await page.click('[data-testid=nav-feedback]');
  await page.waitForSelector('#fb-channel-table');
  await page.waitForSelector('#fb-chart canvas');
  const body = await page.locator('body').innerText();
  check(!body.includes(OTHER), `the partner sees no other unit's channel (${OTHER})`);
  check(!body.includes('本站直播'), 'nor the organiser\'s own stream');
  await page.waitForFunction(() => Number(document.querySelector('#fb-chart')?.dataset.total) === 2500, null, { timeout: 5_000 });
  await page.waitForSelector('#fb-works [data-work-id]');
  const worksText = await page.locator('#fb-works').innerText();
  check(worksText.includes('作品0'), 'the partner sees its work with its figures');
  const minutes = await page.$eval('#fb-works [data-work-id] td:nth-of-type(2)', (e) => Number(e.textContent));
  const atLeast = Number(env('KEPU_MIN_MINUTES'));
  check(minutes >= atLeast && minutes <= 3, `the work on air counts up to now: ${minutes} min (at least ${atLeast} today)`);
  const denied = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/me')).json();
    const chans = await (await fetch('/api/v1/feedback/channels?unit=999999')).status;
    const r = await fetch('/api/v1/feedback/figures', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
      body: JSON.stringify({ figures: [{ channel_id: 999999, at_ms: Date.now(), kind: 'likes', value: 1 }] }),
    });
    return { chans, post: r.status };
  });
  check(denied.chans === 403 && denied.post === 403, `partner refused elsewhere: ${JSON.stringify(denied)}`);
  await shot(page, 'feedback-partner');

  // ---- the partner's work page: its own channel's figures; another unit's work refused
  await page.click('#fb-works [data-work-link]');
  await page.waitForSelector('.work-airing .work-chart canvas');
  const pWork = await page.$eval('#work-totals-line', (e) => ({ airings: Number(e.dataset.airings), peak: Number(e.dataset.peak) }));
  check(pWork.airings === 1 && pWork.peak === 2500, `the partner's work page counts its own channel: ${JSON.stringify(pWork)}`);
  await shot(page, 'work-page-partner');
  await page.goto(`${BASE}/#/work/${OTHER_WORK}`);
  await page.waitForSelector('#work-error');
  const refused = await page.locator('#work-error').innerText();
  check(refused.includes('其他单位'), `another unit's work is refused in Chinese: ${refused}`);
  await shot(page, 'work-page-partner-refused');
  log('work page (partner)', JSON.stringify(pWork));

});
