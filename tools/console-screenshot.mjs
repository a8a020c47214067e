// console-screenshot.mjs: a screenshot of the NOC console (agent/console)
// in Debian's chromium, headless, through playwright-core (agent/console's
// devDependency: npm ci --no-audit --no-fund in agent/console first).
//
//   node tools/console-screenshot.mjs URL OUT.png [--until SELECTOR] [--timeout SECONDS]
//                                     [--width PX] [--height PX]
//
// Opens URL (the page with its query parameters, such as the one make demo
// prints first), waits until the page is connected and, with --until, until
// SELECTOR matches on the page (at most --timeout seconds, default 180),
// lets the page settle for a second and writes the whole page as a PNG
// (viewport --width x --height, default 1400 x 900).  Exit status 1 when
// the page does not connect or SELECTOR does not match in time.
//
// README's docs/console-drain.png: the console in the middle of the demo's
// drain, with the site draining or drained and alarms active:
//
//   DEMO_SECONDS=150 make demo     # in one terminal; it prints "console: URL" first
//   node tools/console-screenshot.mjs 'URL' docs/console-drain.png \
//       --until '.site[data-drain-state="drained"]'
//   pngquant --quality=85-98 --speed 1 --force --output docs/console-drain.png docs/console-drain.png
//   optipng -o5 docs/console-drain.png      # Debian packages pngquant and optipng
//
// CHROMIUM names another chromium binary (default /usr/bin/chromium).
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(TOP, 'agent/console/package.json'));

function usage(msg) {
  if (msg) process.stderr.write(`console-screenshot: ${msg}\n`);
  process.stderr.write(
    'usage: node tools/console-screenshot.mjs URL OUT.png [--until SELECTOR] [--timeout SECONDS] [--width PX] [--height PX]\n',
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const opt = { until: null, timeout: 180, width: 1400, height: 900 };
const pos = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a.startsWith('--')) {
    const k = a.slice(2);
    if (!(k in opt) || i + 1 >= args.length) usage(`unknown option or missing value: ${a}`);
    opt[k] = k === 'until' ? args[++i] : Number(args[++i]);
    if (k !== 'until' && !(opt[k] > 0)) usage(`${a} wants a positive number`);
  } else {
    pos.push(a);
  }
}
if (pos.length !== 2) usage();
const [url, out] = pos;

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch {
  usage('playwright-core is missing: run npm ci --no-audit --no-fund in agent/console');
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  headless: true,
  timeout: 60000,
});
let rc = 0;
try {
  const page = await browser.newPage({ viewport: { width: opt.width, height: opt.height } });
  page.on('pageerror', (e) => process.stderr.write(`console-screenshot: page error: ${e.message}\n`));
  const end = Date.now() + opt.timeout * 1000;
  const left = () => Math.max(1000, end - Date.now());
  await page.goto(url, { timeout: Math.min(30000, left()) });
  await page.waitForSelector('#conn[data-conn="connected"]', { timeout: Math.min(30000, left()) });
  if (opt.until) await page.waitForSelector(opt.until, { timeout: left() });
  await page.waitForTimeout(1000);
  await page.screenshot({ path: out, fullPage: true });
  process.stderr.write(`console-screenshot: ${out}\n`);
} catch (e) {
  process.stderr.write(`console-screenshot: ${e.message.split('\n')[0]}\n`);
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);
