// Drives Debian's Chromium (playwright-core, no downloaded browser) through the dashboard of
// a real daemon that is on air. Started by tests/dashboard_browser.rs, which passes:
//   KEPU_BASE_URL, KEPU_OP_USER, KEPU_PARTNER_USER, KEPU_PASSWORD, KEPU_NGINX_PID,
//   KEPU_DAY (the day on air), KEPU_OTHER_TITLE (another unit's work), KEPU_SHOTS_DIR.
// Every wait is bounded; any failure exits non-zero with what was on the page.

import { env, start } from './harness.mjs';

const run = await start('dashboard', 100_000);
const { check, log, shot } = run;
const BASE = run.base;
const PASSWORD = run.password;
const DAY = env('KEPU_DAY');
const OTHER = env('KEPU_OTHER_TITLE');
const newPage = () => run.newPage({ height: 768 });
const login = (p, user) => run.login(p, user);
let page;

const text = (p, sel) => p.locator(sel).innerText();
const titles = (p) => p.$$eval('#editor-items li.item .title', (els) => els.map((e) => e.firstChild.textContent));

await run.main(async () => {
  page = await newPage();
  run.page = page;

  // ---- login: a wrong password is refused with the server's message, then the operator
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#login-username');
  await page.fill('#login-username', env('KEPU_OP_USER'));
  await page.fill('#login-password', 'wrong');
  await page.click('form.login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-error')?.textContent.length > 0);
  await shot(page, 'login');
  await page.fill('#login-password', PASSWORD);
  await page.click('form.login-form button[type=submit]');
  await page.waitForSelector('[data-testid=onair-panel]');
  check(await page.getAttribute('html', 'lang') === 'zh-CN', 'page language is zh-CN');
  log('logged in as operator');

  // ---- on air: 甲 is playing, 乙 is next (live via SSE, no reload)
  await page.waitForFunction(() => document.querySelector('#onair-title')?.textContent === '甲', null, { timeout: 40_000 });
  await page.waitForFunction(() => document.querySelector('#onair-next-title')?.textContent === '乙');
  const p1 = await text(page, '#onair-position');
  check(/^\d\d:\d\d:\d\d:\d\d$/.test(p1), `position is HH:MM:SS:FF: ${p1}`);
  await page.waitForFunction((p) => document.querySelector('#onair-position')?.textContent !== p, p1, { timeout: 5_000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=timeline-item]').length >= 4);
  await page.waitForFunction(() => /预览不可用|^$/.test(document.querySelector('#preview-msg')?.textContent ?? '') || document.querySelector('#preview-msg')?.hidden);
  await shot(page, 'onair');
  log('on air: 甲, next 乙');

  // ---- day editor: move 丙 up before 乙 with the keyboard, preview, apply with a reason
  await page.click('[data-testid=nav-editor]');
  await page.waitForSelector('#editor-items li.item');
  const before = await titles(page);
  const i = before.indexOf('丙');
  check(i > 0 && before[i - 1] === '乙', `丙 follows 乙: ${before}`);
  // Drag and drop: 丁 dropped on the upper half of 乙 proposes "move 丁 before 乙"; the
  // preview is cancelled, so nothing changes.
  const j = before.indexOf('丁');
  await page.dragAndDrop(`#item-${j}`, `#item-${i - 1}`, { targetPosition: { x: 20, y: 3 } });
  await page.waitForSelector('#preview-dialog[open]');
  await page.waitForSelector('#preview-diff tr');
  const dragged = await text(page, '#preview-dialog');
  check(dragged.includes('丁') && dragged.includes('乙'), `drag and drop proposes moving 丁 before 乙: ${dragged}`);
  await page.click('#preview-cancel');
  await page.waitForFunction(() => !document.querySelector('#preview-dialog')?.open);
  check(JSON.stringify(await titles(page)) === JSON.stringify(before), 'a cancelled preview changes nothing');
  log('drag and drop proposed a move; cancelled');
  await page.click(`#item-${i}`);
  await page.waitForFunction((n) => document.querySelector(`#item-${n}`)?.getAttribute('aria-selected') === 'true', i);
  await page.keyboard.press('Alt+ArrowUp');
  await page.waitForSelector('#preview-dialog[open]');
  await page.waitForSelector('#preview-diff tr');
  const diff = await text(page, '#preview-diff');
  check(diff.includes('丙') && diff.includes('乙'), `preview shows the moved items: ${diff}`);
  await shot(page, 'editor-preview');
  await page.fill('#preview-reason', '嘉宾临时调整顺序');
  await page.click('#preview-apply');
  await page.waitForSelector('#preview-dialog[open]', { state: 'detached', timeout: 15_000 }).catch(() => {});
  await page.waitForFunction(() => !document.querySelector('#preview-dialog')?.open);
  await page.waitForFunction(() => {
    const t = [...document.querySelectorAll('#editor-items li.item .title')].map((e) => e.firstChild.textContent);
    return t.indexOf('丙') >= 0 && t.indexOf('丙') < t.indexOf('乙');
  });
  await page.waitForFunction(() => document.querySelector('#history-table')?.textContent.includes('嘉宾临时调整顺序'));
  const after = await titles(page);
  log('day after the move:', after.join(' '));
  await shot(page, 'editor');

  // ---- on air again: "next" is now 丙, pushed by SSE
  await page.click('[data-testid=nav-onair]');
  await page.waitForFunction(() => document.querySelector('#onair-next-title')?.textContent === '丙', null, { timeout: 10_000 });
  check(await text(page, '#onair-title') === '甲', '甲 still on air');
  log('next changed to 丙');

  // ---- a change with the cookie but without the CSRF header: 403, nothing changes
  const csrf = await page.evaluate(async (day) => {
    const v0 = (await (await fetch(`/api/v1/rundown/days/${day}`)).json()).version.version;
    const r = await fetch('/api/v1/air/skip', {
      method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}',
    });
    const body = await r.json();
    const v1 = (await (await fetch(`/api/v1/rundown/days/${day}`)).json()).version.version;
    const air = await (await fetch('/api/v1/air')).json();
    return { status: r.status, message: body?.error?.message, v0, v1, onAir: air.on_air?.title };
  }, DAY);
  check(csrf.status === 403, `skip without CSRF header is 403: ${JSON.stringify(csrf)}`);
  check(csrf.v0 === csrf.v1 && csrf.onAir === '甲', `nothing changed: ${JSON.stringify(csrf)}`);
  log('no CSRF header: 403,', csrf.message);

  // ---- wait until 丙 and 乙 have aired (丁 on air for 2 s), then kill the receiver
  await page.waitForFunction(() => document.querySelector('#onair-title')?.textContent === '丁'
    && document.querySelector('#onair-position')?.textContent >= '00:00:02:00', null, { timeout: 60_000 });
  await page.click('[data-testid=nav-health]');
  await page.waitForSelector('#dest-table');
  check(!(await text(page, '#dest-table')).includes(process.env.KEPU_STREAM_KEY ?? '\u0000'), 'stream key masked');
  process.kill(Number(env('KEPU_NGINX_PID')), 'SIGTERM');
  log('receiver killed');
  await page.waitForSelector('tr[data-kind=destination_lost]', { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('#dest-table tr[data-state]')?.dataset.state !== 'live', null, { timeout: 20_000 });
  // The status and the alarm say what failed, in Chinese, before the engine's own words.
  const failed = '#dest-table td[data-kind=lost], #dest-table td[data-kind=connect]';
  await page.waitForSelector(failed, { timeout: 20_000 });
  const errCell = await page.locator(failed).first().innerText();
  check(/连接中断|连不上/.test(errCell), `the last error names the failure: ${errCell}`);
  const alarmRow = await text(page, 'tr[data-kind=destination_lost]');
  check(/连接中断|连不上/.test(alarmRow), `the alarm names the failure: ${alarmRow}`);
  await shot(page, 'health-alarm');
  await page.click('tr[data-kind=destination_lost] [data-testid=alarm-ack]');
  await page.waitForSelector('tr[data-kind=destination_lost] [data-testid=alarm-acked]');
  const acked = await text(page, 'tr[data-kind=destination_lost] [data-testid=alarm-acked]');
  check(acked.includes('op'), `acknowledged by op: ${acked}`);
  log('alarm raised and acknowledged:', acked);
  await shot(page, 'health');

  // ---- English toggle
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  check((await text(page, '#nav')).includes('Health'), 'English navigation');
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.click('#logout');
  await page.waitForSelector('#login-username');
  await page.context().close();

  // ---- partner: its own works only, no edit controls anywhere
  page = await newPage();
  run.page = page;
  await login(page, env('KEPU_PARTNER_USER'));
  await page.waitForSelector('#partner-works');
  const navText = await text(page, '#nav');
  check(!/播出|编排|状态/.test(navText), `partner nav has no operator pages: ${navText}`);
  const body = await text(page, 'body');
  check(body.includes('甲') && body.includes('丁'), 'partner sees its works');
  check(!body.includes(OTHER), `partner sees no other unit's work (${OTHER})`);
  const controls = await page.$$eval('main button, main input, main select, main textarea, main [draggable=true]', (e) => e.length);
  check(controls === 0, `no edit controls on the partner page (${controls})`);
  await shot(page, 'partner');
  for (const route of ['#/editor', '#/onair', '#/health', '#/feeds']) {
    await page.goto(`${BASE}/${route}`);
    await page.waitForFunction(() => location.hash === '#/partner');
    await page.waitForSelector('#partner-works');
  }
  await page.click('[data-testid=nav-certificates]');
  await page.waitForSelector('main h1');
  await page.waitForFunction(() => !document.querySelector('main')?.textContent.includes('查询中'), null, { timeout: 10_000 });
  check(!(await text(page, 'body')).includes(OTHER), 'certificates show no other unit');
  check(await page.$$eval('main button, main input, main select', (e) => e.length) === 0, 'no controls on certificates');
  await shot(page, 'partner-certificates');
  // The unit's end-of-month summary sits beside its certificates, and is a PDF of its own.
  const summaryHref = await page.getAttribute('[data-testid=summary-pdf]', 'href');
  const summary = await page.evaluate(async (href) => {
    const r = await fetch(href, { credentials: 'same-origin' });
    const b = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, type: r.headers.get('content-type'), head: String.fromCharCode(...b.slice(0, 4)) };
  }, summaryHref);
  check(summary.status === 200 && summary.type === 'application/pdf' && summary.head === '%PDF', `summary PDF: ${JSON.stringify(summary)} from ${summaryHref}`);
  log('partner summary PDF beside the certificates');
  const partnerApi = await page.evaluate(async (day) => {
    const skip = await fetch('/api/v1/air/skip', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}' });
    const days = await fetch(`/api/v1/rundown/days/${day}`);
    const works = await (await fetch('/api/v1/works')).json();
    return { skip: skip.status, days: days.status, works: works.map((w) => w.title) };
  }, DAY);
  check(partnerApi.skip === 403 && partnerApi.days === 403, `partner refused: ${JSON.stringify(partnerApi)}`);
  check(!partnerApi.works.includes(OTHER), `partner's works API: ${partnerApi.works}`);
  log('partner view checked');

});
