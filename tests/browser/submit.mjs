// 作品报送 in Debian's Chromium (run from tests/submit_browser.rs): a partner fills the
// collection form with two works and submits it, uploads a video in chunks with the page's
// tus-js-client, pauses the upload (interrupted) and resumes it (the next PATCH starts where
// the server stood, not at 0), and sees the 技术审核 verdict in plain Chinese; a partner of
// another unit sees none of it and cannot reach the upload; a coordinator previews a unit's
// Word table field by field, confirms it, and sees every submission with its source.

import { env, start } from './harness.mjs';

const CLIP = env('KEPU_CLIP');
const run = await start('submit', 150_000);
const { base: BASE, check } = run;

async function newPage() {
  const p = await run.newPage({ height: 900 });
  p.setDefaultTimeout(20_000);
  run.page = p;
  return p;
}

async function login(p, user, page = 'submit') {
  await run.login(p, user);
  await p.waitForSelector(`#nav a[href="#/${page}"]`);
}

const row = (p, title) => p.locator('#my-submissions tr[data-testid=submission]', { hasText: title });

await run.main(async () => {
  const a = await newPage();
  await login(a, env('KEPU_USER_A'));
  await a.goto(`${BASE}/#/submit`);
  await a.waitForSelector('#submit-form');

  // The form: contact, a category, two works, a lead.
  await a.fill('#c-contact_name', '李老师');
  await a.fill('#c-contact_phone', '010-68512345');
  await a.fill('#c-contact_email', 'li@example.org.cn');
  await a.check('#cat-3');
  await a.fill('#w1-title', '深海勇士');
  await a.fill('#w1-minutes', '12');
  await a.fill('#w1-holder', '中国科学院深海所');
  await a.fill('#w1-summary', '《深海勇士》讲述载人深潜器的故事，时长12分钟，版权方：中国科学院深海所。');
  const count = await a.locator('[data-testid=summary-count]').first().innerText();
  check(/^\d+ \/ 200 字$/.test(count), `the summary is counted as the notice counts (${count})`);
  await a.click('#add-work');
  await a.fill('#w2-title', '万米之下');
  await a.selectOption('#w2-status', 'to_be_produced');
  await a.fill('#w2-summary', '马里亚纳海沟下潜纪实（待制作）');
  await a.click('#save-draft');
  await a.click('#submit');
  await row(a, '深海勇士').waitFor();
  await row(a, '万米之下').waitFor();
  check((await row(a, '深海勇士').innerText()).includes('在线填报'), 'the submission shows its source');
  check((await row(a, '万米之下').innerText()).includes('视频待自行制作'), 'the second work keeps its status');
  await run.shot(a, 'submitted');

  // Over the edition's 4 GB: refused in the page before a byte is sent.
  const sentBefore = [];
  a.on('request', (r) => { if (r.url().includes('/api/v1/uploads')) sentBefore.push(r.method()); });
  await row(a, '万米之下').locator('input[type=file]').setInputFiles(env('KEPU_BIG_FILE'));
  await row(a, '万米之下').locator('[data-testid=upload-state]', { hasText: '超过单个文件 4G 上限' }).waitFor();
  check(sentBefore.length === 0, 'a file over 4 GB is refused before anything is sent');

  // Upload in chunks of 256 KiB; watch the PATCH requests.
  const patches = [];
  a.on('request', (r) => {
    if (r.method() === 'PATCH') patches.push({ url: r.url(), offset: Number(r.headers()['upload-offset']) });
  });
  await a.evaluate(() => { window.KEPU_UPLOAD_CHUNK = 256 * 1024; });
  // Each chunk is held 300 ms on its way, so the pause lands with most of the file still to
  // send however fast (or loaded) this machine is: on a busy machine the whole file could
  // otherwise be in flight before the pause, and the resume would have nothing left to send.
  await a.route('**/api/v1/uploads/**', async (route) => {
    if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, 300));
    await route.continue().catch(() => {});
  });
  const deep = row(a, '深海勇士');
  await deep.locator('input[type=file]').setInputFiles(CLIP);
  await a.waitForFunction(() => {
    const bar = document.querySelector('#my-submissions tr[data-testid=submission] progress');
    return bar && Number(bar.value) >= 25;
  }, null, { timeout: 60_000 });
  await deep.getByRole('button', { name: '暂停' }).click();
  await deep.locator('[data-testid=upload-state]', { hasText: '已暂停' }).waitFor();
  const pausedAt = Number(await deep.locator('progress').getAttribute('data-sent'));
  const patchesBefore = patches.length;
  check(pausedAt > 0 && Number(await deep.locator('progress').getAttribute('value')) < 100, `interrupted at ${pausedAt} bytes`);
  await a.waitForTimeout(500);
  check(patches.length === patchesBefore, 'nothing is sent while paused');
  await run.shot(a, 'paused');
  await deep.getByRole('button', { name: '继续' }).click();
  await deep.locator('[data-testid=upload-state]', { hasText: '上传完成' }).waitFor({ timeout: 60_000 });
  const resumed = patches.slice(patchesBefore);
  check(resumed.length > 0 && resumed[0].offset > 0, `resumed at offset ${resumed[0]?.offset}, not 0`);
  check(resumed[0].offset <= pausedAt + 256 * 1024, 'resumed where the server stood');
  const uploadUrl = patches[0].url;

  // The verdict, in plain Chinese, once the probe is done.
  const until = Date.now() + 60_000;
  let verdict = '';
  while (Date.now() < until) {
    await a.goto(`${BASE}/#/partner`);
    await a.goto(`${BASE}/#/submit`);
    await row(a, '深海勇士').waitFor();
    verdict = await row(a, '深海勇士').locator('[data-testid=verdict]').innerText();
    if (/通过|警告|不通过/.test(verdict)) break;
    await a.waitForTimeout(1000);
  }
  check(/通过|警告|不通过/.test(verdict), `the unit sees its verdict: ${verdict.replace(/\s+/g, ' ')}`);
  await run.shot(a, 'verdict');
  const workId = await row(a, '深海勇士').getAttribute('data-work-id');

  // Another unit's partner: sees none of it, cannot reach the work or the upload.
  const b = await newPage();
  await login(b, env('KEPU_USER_B'));
  await b.goto(`${BASE}/#/submit`);
  await b.waitForSelector('#mine');
  const theirs = await b.locator('#mine').innerText();
  check(!theirs.includes('深海勇士') && !theirs.includes('万米之下'), 'the second partner does not see the first one\'s works');
  const probe = await b.evaluate(async ([url, id]) => {
    const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    const work = await fetch(`/api/v1/works/${id}`);
    return [head.status, work.status];
  }, [uploadUrl, workId]);
  check(probe[0] === 404 && probe[1] === 404, `the second partner gets 404 for the upload and the work (${probe})`);
  await run.shot(b, 'other-partner');

  // A coordinator: a unit's Word table previewed field by field, confirmed, then every
  // submission with its source.
  const c = await newPage();
  await login(c, env('KEPU_USER_C'), 'intake');
  await c.goto(`${BASE}/#/intake`);
  await c.waitForSelector('#form-file');
  await c.setInputFiles('#form-file', env('KEPU_FORM_DOCX'));
  await c.waitForSelector('#form-preview');
  const fields = await c.locator('#form-preview').innerText();
  check(fields.includes('超导之光') && fields.includes('物理所科学传播中心') && fields.includes('01:05:00'),
    'the table is shown field by field before it is saved');
  await run.shot(c, 'intake-preview');
  await c.click('#confirm-form');
  await c.locator('#all-submissions tr', { hasText: '超导之光' }).waitFor();
  const all = await c.locator('#all-submissions').innerText();
  const line = (t) => all.split('\n').find((l) => l.includes(t)) ?? '';
  check(line('超导之光').includes('信息采集表'), `the table's works show their source: ${line('超导之光')}`);
  check(line('深海勇士').includes('在线填报'), `the online works show theirs: ${line('深海勇士')}`);
  await run.shot(c, 'intake');
});
