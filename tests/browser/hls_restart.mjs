// hls.js in Debian's Chromium watching the engine's HLS rendition while the daemon restarts.
// Started by tests/hls_browser.rs, which passes KEPU_PLAYER_URL (a page beside the playlist
// that plays live.m3u8 with the vendored hls.js). Prints `playing` once the picture moves,
// then one JSON line per sample ({t, colour, fatal}); ends ok once the picture has been red,
// then green for 3 s of playback (the second run, across the join) — with a screenshot of
// it — and fails on a fatal player error or after 90 s.

import { env, start } from './harness.mjs';

const URL = env('KEPU_PLAYER_URL');
const run = await start('hls_restart', 90_000, { args: ['--autoplay-policy=no-user-gesture-required'] });

await run.main(async () => {
  const page = await run.newPage();
  run.page = page;
  page.on('console', (m) => console.log('page:', m.text()));
  await page.goto(URL);
  let announced = false;
  let redSeen = false;
  let greenFrom = null;
  const until = Date.now() + 85_000;
  while (Date.now() < until) {
    const s = await page.evaluate(() => window.sample());
    console.log(JSON.stringify(s));
    run.check(!s.fatal, `no fatal player error (${s.fatal})`);
    if (!announced && s.t > 0.5) {
      console.log('playing');
      announced = true;
    }
    if (s.colour === 'red') redSeen = true;
    if (s.colour === 'green' && redSeen && greenFrom === null) greenFrom = s.t;
    if (greenFrom !== null && s.t - greenFrom >= 3) {
      console.log(`through the join: red, then green from t=${greenFrom.toFixed(2)} to ${s.t.toFixed(2)}`);
      await run.shot(page, 'after-the-join');
      return;
    }
    await page.waitForTimeout(250);
  }
  throw new Error('did not play through the join in time');
});
