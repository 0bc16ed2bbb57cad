// What every browser script shares: its environment, a bounded overall time, checks that
// fail with what was expected, screenshots, Debian's Chromium (playwright-core, no
// downloaded browser), pages that collect page errors and CSP refusals, the login form, and
// the ending — "NAME browser test: ok" or a failure screenshot with the page's text.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/// A required environment variable.
export const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing env ${k}`);
  return v;
};

/// Starts a run named `name` with an overall limit of `limitMs`; returns its tools. `args`:
/// more Chromium switches (an autoplaying player needs `--autoplay-policy=…`).
export async function start(name, limitMs, { args = [] } = {}) {
  const shotsDir = env('KEPU_SHOTS_DIR');
  mkdirSync(shotsDir, { recursive: true });
  const started = Date.now();
  const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);
  const deadline = setTimeout(() => {
    console.error(`${name}.mjs: overall time limit (${limitMs / 1000} s) reached`);
    process.exit(3);
  }, limitMs);
  const browser = await chromium.launch({
    executablePath: process.env.KEPU_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
    timeout: 30_000,
  });
  const problems = [];
  const shots = [];
  const run = {
    // The daemon's address and the accounts' password (read when used: a player page
    // needs neither).
    get base() { return env('KEPU_BASE_URL'); },
    get password() { return env('KEPU_PASSWORD'); },
    log,
    problems,
    page: null,
    check(cond, what) {
      if (!cond) throw new Error(`check failed: ${what}`);
    },
    async shot(page, shotName) {
      const path = join(shotsDir, `${shotName}.png`);
      await page.screenshot({ path, fullPage: true });
      shots.push(path);
      log('screenshot', path);
    },
    /// A fresh context (its own cookies) in Chinese, 1366 wide and `height` (768) high. Set
    /// `run.page` to the page whose picture a failure should show.
    async newPage({ height = 768 } = {}) {
      const ctx = await browser.newContext({ viewport: { width: 1366, height }, locale: 'zh-CN' });
      const p = await ctx.newPage();
      p.setDefaultTimeout(15_000);
      p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      // A dashboard file the server does not have (a module not embedded) breaks the page.
      p.on('response', (r) => {
        if (r.url().includes('/assets/') && r.status() >= 400) problems.push(`asset ${r.url()}: ${r.status()}`);
      });
      p.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
          problems.push(`console: ${m.text()}`);
        }
      });
      return p;
    },
    /// Logs `user` in through the form.
    async login(p, user) {
      await p.goto(`${run.base}/`);
      await p.waitForSelector('#login-username');
      await p.fill('#login-username', user);
      await p.fill('#login-password', run.password);
      await p.click('form.login-form button[type=submit]');
    },
    /// Runs `body(run)`; ends the process: 0 with "NAME browser test: ok", 1 with the failure.
    async main(body) {
      try {
        await body(run);
        run.check(problems.length === 0, `no page errors: ${problems.join('\n')}`);
        console.log('SCREENSHOTS');
        for (const s of shots) console.log(s);
        console.log(`${name} browser test: ok`);
        await browser.close();
        clearTimeout(deadline);
      } catch (e) {
        console.error(`${name} browser test failed:`, e.stack ?? e);
        if (problems.length) console.error('page problems:\n', problems.join('\n'));
        try {
          if (run.page) {
            const path = join(shotsDir, `${name}-failure.png`);
            await run.page.screenshot({ path, fullPage: true });
            console.error('failure screenshot:', path, '\npage text:\n', (await run.page.innerText('body')).slice(0, 3000));
          }
        } catch {
          // The page may be gone.
        }
        await browser.close().catch(() => {});
        process.exit(1);
      }
    },
  };
  return run;
}
