// Drives Debian's headless Chromium through noVNC for novnc_test.go.
//
// Configured by the environment (the Go test sets it):
//   NOVNC_URL         the vnc.html URL to open (autoconnect=1 ...)
//   NOVNC_CHROMIUM    the browser (default /usr/bin/chromium)
//   NOVNC_PROFILE     a fresh --user-data-dir
//   NOVNC_SHOT        where to save a screenshot at the end (PNG)
//   NOVNC_IGNORE_CERT 1: launch with --ignore-certificate-errors (wss test)
//   NOVNC_COLOR       the server's background as "r,g,b"; it must cover
//                     at least half of the remote screen
//   NOVNC_CLICK       "x,y" in the remote screen: wait until that pixel is
//                     no longer the background (a window is there), click
//                     it and type NOVNC_TYPE then Enter; print TYPED and
//                     wait for stdin to close
//   NOVNC_TIMEOUT_MS  bound on each wait (default 20000)
//
// Prints progress lines (CONNECTED, PIXELS, TYPED) and PASS at the end;
// exits non-zero on any failure. Every wait is on page state, bounded.
import puppeteer from 'puppeteer-core';

const env = process.env;
const timeout = Number(env.NOVNC_TIMEOUT_MS || 20000);
const log = (...a) => console.log(...a);

// Overall bound: process.exit runs puppeteer's exit hook, which kills the
// browser's process group, so no Chromium outlives this script.
setTimeout(() => { log('FAIL overall timeout'); process.exit(3); }, 4 * timeout).unref();

const args = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];
// Only the wss:// test sets this: its certificate comes from a CA made by
// the test, which this throwaway profile does not trust.
if (env.NOVNC_IGNORE_CERT === '1') args.push('--ignore-certificate-errors');

const browser = await puppeteer.launch({
  executablePath: env.NOVNC_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  userDataDir: env.NOVNC_PROFILE,
  args,
  timeout,
  protocolTimeout: timeout,
});
let ok = false;
try {
  const page = await browser.newPage();
  page.on('console', (m) => log('console:', m.type(), m.text()));
  page.on('pageerror', (e) => log('pageerror:', e.message));
  await page.setViewport({ width: 1100, height: 700 });
  await page.goto(env.NOVNC_URL, { waitUntil: 'load', timeout });

  try {
    await page.waitForFunction(() => document.documentElement.classList.contains('noVNC_connected'),
      { timeout, polling: 100 });
  } catch (e) {
    const status = await page.evaluate(() => document.querySelector('#noVNC_status')?.textContent);
    throw new Error(`noVNC did not connect (status ${JSON.stringify(status)}): ${e.message}`);
  }
  log('CONNECTED', await page.evaluate(() => document.querySelector('#noVNC_status')?.textContent));

  if (env.NOVNC_COLOR) {
    const want = env.NOVNC_COLOR.split(',').map(Number);
    // Polled until the framebuffer shows the colour (the first update
    // arrives some time after the connected state).
    const h = await page.waitForFunction((want) => {
      const c = document.querySelector('#noVNC_container canvas');
      if (!c || !c.width || !c.height) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (Math.abs(d[i] - want[0]) <= 4 && Math.abs(d[i + 1] - want[1]) <= 4 && Math.abs(d[i + 2] - want[2]) <= 4) n++;
      }
      const frac = n / (d.length / 4);
      return frac >= 0.5 ? { width: c.width, height: c.height, frac } : false;
    }, { timeout, polling: 200 }, want).catch(async (e) => {
      const s = await page.evaluate(() => {
        const c = document.querySelector('#noVNC_container canvas');
        if (!c) return 'no canvas';
        return `${c.width}x${c.height} first pixel ${c.getContext('2d').getImageData(0, 0, 1, 1).data.join(',')}`;
      });
      throw new Error(`canvas never showed colour ${want} (${s}): ${e.message}`);
    });
    const v = await h.jsonValue();
    log('PIXELS', `${v.width}x${v.height}`, `background=${(v.frac * 100).toFixed(1)}%`);
  }

  if (env.NOVNC_CLICK) {
    const [x, y] = env.NOVNC_CLICK.split(',').map(Number);
    const bg = (env.NOVNC_COLOR || '0,0,0').split(',').map(Number);
    // A window has been mapped there once the pixel is not the background.
    await page.waitForFunction(([x, y, bg]) => {
      const c = document.querySelector('#noVNC_container canvas');
      const p = c.getContext('2d').getImageData(x, y, 1, 1).data;
      return Math.abs(p[0] - bg[0]) + Math.abs(p[1] - bg[1]) + Math.abs(p[2] - bg[2]) > 30;
    }, { timeout, polling: 200 }, [x, y, bg]);
    const r = await page.evaluate(() => {
      const b = document.querySelector('#noVNC_container canvas').getBoundingClientRect();
      return { x: b.x, y: b.y };
    });
    await page.mouse.click(r.x + x, r.y + y);
    await page.keyboard.type(env.NOVNC_TYPE || 'hello');
    await page.keyboard.press('Enter');
    log('TYPED');
    // The Go test checks what the VNC side got, then closes our stdin.
    await new Promise((resolve) => {
      process.stdin.on('end', resolve);
      process.stdin.on('close', resolve);
      process.stdin.resume();
    });
  }

  if (env.NOVNC_SHOT) {
    await page.screenshot({ path: env.NOVNC_SHOT });
    log('SCREENSHOT', env.NOVNC_SHOT);
  }
  ok = true;
} catch (e) {
  log('FAIL', e.stack || String(e));
} finally {
  await browser.close().catch(() => {});
}
if (ok) log('PASS');
process.exit(ok ? 0 : 1);
