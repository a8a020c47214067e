// console_scale.mjs: the NOC console under a fleet's load, in Debian's
// chromium (headless, through playwright-core), measured from outside the
// page's own code.  Run by bench/console_scale.sh, which starts mosquitto
// (serving the page) and bench/console_load.py.
//
// Environment: CONSOLE_URL (the page with its query parameters),
// PROBES (console_load.py's "N TIME" file), PROBE_SUB (mosquitto_sub's
// "TIME TOPIC PAYLOAD" lines for the probes), MINUTES (10), OUT (the result
// JSON), SHOT (a screenshot at the end, optional).
//
// Every minute: main-thread busy time (CDP Performance.getMetrics'
// TaskDuration over the minute's wall time), frames drawn
// (requestAnimationFrame callbacks per second), the JS heap in use.  At
// minutes 5 and MINUTES the heap after a forced garbage collection, whose
// growth is the leak figure.  Every 5 s a real click (CDP input) on the page
// header: the input delay is the time from the event's timestamp to its
// handler (what the Event Timing API calls input delay), and the click's
// next frame.  Each probe alarm (console_load.py) is timed from the broker's
// delivery to a TCP subscriber (mosquitto_sub, PROBE_SUB) to the first frame
// that shows its row (broker_to_page_ms), and from its publish.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(TOP, 'agent/console/package.json'));
const { chromium } = require('playwright-core');

const env = process.env;
const MINUTES = Number(env.MINUTES || 10);
const HALF = Math.max(1, Math.floor(MINUTES / 2));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[console_scale] ${m}\n`);

// What the page records about itself, installed before its own scripts.
function instrument() {
  const w = window;
  w.__frames = 0;
  w.__inputs = [];
  w.__probes = {};
  const tick = () => {
    w.__frames++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const epochNow = () => performance.timeOrigin + performance.now();
  addEventListener(
    'pointerdown',
    (e) => {
      const delay = performance.now() - e.timeStamp;
      const t = performance.now();
      requestAnimationFrame(() => w.__inputs.push({ delay, frame: performance.now() - e.timeStamp, handler_at: t }));
    },
    { capture: true },
  );
  // When each probe's MQTT message is handed to the page (the websocket's
  // message event, before mqtt.js sees it): splits the delay into the part
  // before the page's main thread takes the message and the part after.
  w.__arrived = {};
  const Native = w.WebSocket;
  const dec = new TextDecoder('latin1');
  w.WebSocket = class extends Native {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', (e) => {
        if (!(e.data instanceof ArrayBuffer)) return;
        const s = dec.decode(e.data);
        const re = /\/probe\/alarm\/probe-(\d+)/g;
        let m;
        while ((m = re.exec(s))) if (!w.__arrived[m[1]]) w.__arrived[m[1]] = epochNow();
      });
    }
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      for (const n of m.addedNodes) {
        if (n.nodeType !== 1) continue;
        const els = n.matches('[data-alarm]') ? [n] : n.querySelectorAll('[data-alarm]');
        for (const el of els) {
          const k = el.getAttribute('data-alarm');
          const i = k.lastIndexOf('/probe-');
          if (i < 0) continue;
          const id = k.slice(i + 7);
          if (w.__probes[id]) continue;
          const inserted = epochNow();
          w.__probes[id] = { inserted };
          requestAnimationFrame(() => (w.__probes[id].shown = epochNow()));
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
}

function pct(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const r1 = (x) => (x == null ? null : Math.round(x * 10) / 10);

async function main() {
  const url = env.CONSOLE_URL;
  if (!url) throw new Error('CONSOLE_URL is not set (run bench/console_scale.sh)');
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
    headless: true,
    timeout: 60000,
  });
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(instrument);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => {
    const m = {};
    for (const { name, value } of (await cdp.send('Performance.getMetrics')).metrics) m[name] = value;
    return m;
  };
  const heapAfterGc = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };

  await page.goto(url);
  await page.waitForSelector('#conn[data-conn="connected"]', { timeout: 30000 });
  await page.waitForSelector('[data-sensor]', { timeout: 30000 });
  log('connected; measuring');
  // Where a click lands without pressing anything: the page's header.
  const box = await page.locator('header').first().boundingBox();
  const cx = box ? box.x + Math.min(box.width - 5, 40) : 5;
  const cy = box ? box.y + box.height / 2 : 5;

  const minutes = [];
  const heapGc = {};
  let m0 = await metrics();
  let f0 = await page.evaluate(() => window.__frames);
  let w0 = Date.now();
  for (let min = 1; min <= MINUTES; min++) {
    const end = w0 + 60000;
    while (Date.now() < end - 100) {
      await sleep(Math.min(5000, end - Date.now()));
      await page.mouse.click(cx, cy);
    }
    await sleep(Math.max(0, end - Date.now()));
    const m1 = await metrics();
    const f1 = await page.evaluate(() => window.__frames);
    const w1 = Date.now();
    const wall = (w1 - w0) / 1000;
    const row = {
      minute: min,
      busy_pct: r1((100 * (m1.TaskDuration - m0.TaskDuration)) / wall),
      script_pct: r1((100 * (m1.ScriptDuration - m0.ScriptDuration)) / wall),
      fps: r1((f1 - f0) / wall),
      heap_mb: r1(m1.JSHeapUsedSize / 1048576),
      dom_nodes: m1.Nodes,
    };
    if (min === HALF || min === MINUTES) {
      heapGc[min] = await heapAfterGc();
      row.heap_gc_mb = r1(heapGc[min] / 1048576);
    }
    minutes.push(row);
    log(JSON.stringify(row));
    m0 = await metrics();
    f0 = await page.evaluate(() => window.__frames);
    w0 = Date.now();
  }
  await sleep(3000); // the last probe, published just before the end
  if (env.SHOT) await page.screenshot({ path: env.SHOT });
  const inputs = await page.evaluate(() => window.__inputs);
  const seen = await page.evaluate(() => window.__probes);
  const arrived = await page.evaluate(() => window.__arrived);
  const sent = {};
  for (const l of readFileSync(env.PROBES, 'utf8').split('\n')) {
    const [n, t] = l.trim().split(/\s+/);
    if (n && t) sent[n] = Number(t) * 1000;
  }
  // The broker's delivery of each probe's activation to a TCP subscriber.
  const atBroker = {};
  if (env.PROBE_SUB) {
    for (const l of readFileSync(env.PROBE_SUB, 'utf8').split('\n')) {
      const m = /^([0-9.]+) \S+\/alarm\/probe-(\d+) (.*)$/.exec(l);
      if (m && !atBroker[m[2]] && m[3].includes('"state":"active"')) atBroker[m[2]] = Number(m[1]) * 1000;
    }
  }
  const toBroker = [];
  const fromBroker = [];
  for (const [n, t] of Object.entries(sent)) {
    if (!atBroker[n]) continue;
    toBroker.push(atBroker[n] - t);
    if (seen[n] && seen[n].shown) fromBroker.push(seen[n].shown - atBroker[n]);
  }
  const delays = [];
  const toWs = [];
  const wsToShown = [];
  let missed = 0;
  for (const [n, t] of Object.entries(sent)) {
    const s = seen[n];
    if (s && s.shown) delays.push(s.shown - t);
    else missed++;
    if (arrived[n]) {
      toWs.push(arrived[n] - t);
      if (s && s.shown) wsToShown.push(s.shown - arrived[n]);
    }
  }
  await browser.close();

  const busy = minutes.map((m) => m.busy_pct);
  const fps = minutes.map((m) => m.fps);
  const d = inputs.map((i) => i.delay);
  const fr = inputs.map((i) => i.frame);
  const res = {
    minutes: MINUTES,
    per_minute: minutes,
    busy_pct_median: pct(busy, 50),
    busy_pct_max: Math.max(...busy),
    fps_median: pct(fps, 50),
    fps_min: Math.min(...fps),
    input_delay_ms: { n: d.length, p50: r1(pct(d, 50)), p99: r1(pct(d, 99)), max: r1(Math.max(...d)) },
    click_to_frame_ms: { n: fr.length, p50: r1(pct(fr, 50)), p99: r1(pct(fr, 99)), max: r1(Math.max(...fr)) },
    heap_gc_mb: { [HALF]: r1(heapGc[HALF] / 1048576), [MINUTES]: r1(heapGc[MINUTES] / 1048576) },
    heap_growth_pct: r1((100 * (heapGc[MINUTES] - heapGc[HALF])) / heapGc[HALF]),
    publish_to_page_ms: {
      n: delays.length, missed, p50: r1(pct(delays, 50)), p99: r1(pct(delays, 99)), max: r1(Math.max(...delays)),
    },
    publish_to_tcp_subscriber_ms: { n: toBroker.length, p50: r1(pct(toBroker, 50)), p99: r1(pct(toBroker, 99)) },
    broker_to_page_ms: {
      n: fromBroker.length, missed, p50: r1(pct(fromBroker, 50)), p99: r1(pct(fromBroker, 99)),
      max: r1(Math.max(...fromBroker)),
    },
    publish_to_websocket_event_ms: { n: toWs.length, p50: r1(pct(toWs, 50)), p99: r1(pct(toWs, 99)) },
    websocket_event_to_frame_ms: { n: wsToShown.length, p50: r1(pct(wsToShown, 50)), p99: r1(pct(wsToShown, 99)) },
    page_errors: errors.slice(0, 5),
  };
  writeFileSync(env.OUT, JSON.stringify(res, null, 1));
  log(`done: ${JSON.stringify(res)}`);
}

main().catch((e) => {
  log(`failed: ${e.stack || e}`);
  process.exit(1);
});
