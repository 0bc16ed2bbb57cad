// hls.js in Debian's Chromium (playwright-core) watching the engine's HLS rendition while the
// daemon restarts. Started by tests/hls_browser.rs, which passes KEPU_PLAYER_URL (a page
// beside the playlist that plays live.m3u8 with the vendored hls.js). Prints `playing` once
// the picture moves, then one JSON line per sample ({t, colour, fatal}); exits 0 once the
// picture has been red, then green for 3 s of playback (the second run, across the join),
// non-zero on a fatal player error or after 90 s.

import { chromium } from 'playwright-core';

const URL = process.env.KEPU_PLAYER_URL;
if (!URL) {
  console.error('missing env KEPU_PLAYER_URL');
  process.exit(2);
}
const deadline = setTimeout(() => {
  console.error('hls_restart.mjs: overall time limit (90 s) reached');
  process.exit(3);
}, 90_000);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
});
let code = 1;
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log('page:', m.text()));
  await page.goto(URL);
  let announced = false;
  let redSeen = false;
  let greenFrom = null;
  const until = Date.now() + 85_000;
  while (Date.now() < until) {
    const s = await page.evaluate(() => window.sample());
    console.log(JSON.stringify(s));
    if (s.fatal) throw new Error(`fatal player error: ${s.fatal}`);
    if (!announced && s.t > 0.5) {
      console.log('playing');
      announced = true;
    }
    if (s.colour === 'red') redSeen = true;
    if (s.colour === 'green' && redSeen && greenFrom === null) greenFrom = s.t;
    if (greenFrom !== null && s.t - greenFrom >= 3) {
      console.log(`through the join: red, then green from t=${greenFrom.toFixed(2)} to ${s.t.toFixed(2)}`);
      code = 0;
      break;
    }
    await page.waitForTimeout(250);
  }
  if (code !== 0) console.error('did not play through the join in time');
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  clearTimeout(deadline);
  await browser.close();
}
process.exit(code);
