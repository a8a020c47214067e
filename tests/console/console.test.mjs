// console.test.mjs: the NOC console in Debian's chromium (headless, through
// playwright-core), against the programs tests/console/on_PHASE.sh started.
// Every step waits with a bound (Playwright's waitForSelector, or a polled
// deadline for the independent readers) and saves a screenshot,
// CONSOLE_SHOTS/NN-name.png (NN-name-FAILED.png when it fails).  Node 18
// and 20; plain ESM, node:assert.
//
// Environment (from on_PHASE.sh): CONSOLE_PHASE (mosquitto|rabbitmq|tls),
// CONSOLE_URL (the page, with its query parameters), MQTT_PORT (the broker's
// TCP listener, for mosquitto_sub; MQTT_USER and MQTT_PASSWORD its login
// when the broker wants one), REC (the paho recorder's file: "ms retained
// topic payload" lines), SIM_CTL (ember-sim's control FIFO), HX_SOCK
// (HAProxy's admin socket), A1_PID (emberd a1), CONSOLE_SHOTS,
// CONSOLE_SHOT_FIRST (the first NN).  tls only: CHROMIUM_SPKI (the base64
// SHA-256 of the broker certificate's public key, the one certificate
// chromium accepts), NOC_PASSWORD and VIEW_PASSWORD (users noc and
// noc-view), WSS_PORT.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core is agent/console's devDependency (npm ci there).
const require = createRequire(join(TOP, 'agent/console/package.json'));
const { chromium } = require('playwright-core');

const env = process.env;
const PHASE = env.CONSOLE_PHASE || 'launch';
const SHOTS = env.CONSOLE_SHOTS || join(TOP, 'build/console-shots');
const SITE = 'lab';
const P = 'emberwatch';
let shotNo = Number(env.CONSOLE_SHOT_FIRST || 1);
let page = null;
let checks = 0;
const pageErrors = [];

function log(msg) {
    process.stderr.write(`[console.test ${PHASE}] ${msg}\n`);
}

function need(name) {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set (run tests/console/run.sh)`);
    return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until(WHAT, MS, FN): polls FN every 50 ms until it returns something
// truthy (returned); fails after MS naming WHAT and FN's last error.
async function until(what, ms, fn) {
    const end = Date.now() + ms;
    let last = null;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) {
            throw new Error(`timed out after ${ms} ms: ${what}${last ? ` (${last.message})` : ''}`);
        }
        await sleep(50);
    }
}

async function shot(name) {
    const file = join(SHOTS, `${String(shotNo++).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
}

// step(NAME, FN): one step of the story, its screenshot after it.
async function step(name, fn) {
    const t0 = Date.now();
    try {
        await fn();
    } catch (e) {
        try {
            log(`FAILED: ${name}; page says: ${(await page.textContent('body')).replace(/\s+/g, ' ').slice(0, 1500)}`);
            await shot(`${name}-FAILED`);
        } catch (e2) {
            log(`(no screenshot: ${e2.message})`);
        }
        throw new Error(`step ${name}: ${e.message}`);
    }
    await shot(name);
    checks++;
    log(`ok: ${name} (${Date.now() - t0} ms)`);
}

// on(SELECTOR, [MS]): waits until SELECTOR is in the page; returns it.
function on(sel, ms = 15000) {
    return page.waitForSelector(sel, { state: 'attached', timeout: ms });
}
function gone(sel, ms = 15000) {
    return page.waitForSelector(sel, { state: 'detached', timeout: ms });
}
const alarmSel = (agent, alarm) => `[data-alarm="${SITE}/${agent}/${alarm}"]`;
const agentSel = (agent) => `[data-agent="${SITE}/${agent}"]`;
const siteSel = `[data-site="${SITE}"]`;
const targetSel = (name) => `${siteSel} [data-target="${SITE}|${name}"]`;

// ---- independent readers ----------------------------------------------------

// The recorder's lines as {ms, retained, topic, payload}.
function recLines() {
    return readFileSync(need('REC'), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => {
            const m = /^(\S+) (\d) (\S+) ?(.*)$/.exec(l);
            return m ? { ms: Number(m[1]), retained: m[2] === '1', topic: m[3], payload: m[4] } : null;
        })
        .filter(Boolean);
}
function json(s) {
    try {
        return JSON.parse(s);
    } catch {
        return null;
    }
}
// recWait(WHAT, MS, TOPIC, PRED, [FROM]): the first recorded message on
// TOPIC (from line FROM on) whose JSON payload PRED accepts.
function recWait(what, ms, topic, pred, from = 0) {
    return until(`the recorder sees ${what}`, ms, () =>
        recLines()
            .slice(from)
            .find((l) => l.topic === topic && pred(json(l.payload), l.payload)),
    );
}

// retained(TOPIC): a fresh mosquitto_sub's first message on TOPIC (the
// broker's retained one), MQTT 3.1.1.
function retained(topic) {
    const login = env.MQTT_USER ? ['-u', env.MQTT_USER, '-P', need('MQTT_PASSWORD')] : [];
    return execFileSync(
        'mosquitto_sub',
        ['-h', '127.0.0.1', '-p', need('MQTT_PORT'), ...login, '-V', 'mqttv311', '-C', '1', '-W', '5', '-t', topic],
        { timeout: 10000, encoding: 'utf8' },
    ).trim();
}

// hxStates(BACKEND): {server: ready|drain|maint|down} from HAProxy's
// "show servers state" (srv_admin_state 0x08 drain, 0x01/0x02/0x04/0x20/0x40
// maint; srv_op_state 0 down), read on its admin socket with socat.
function hxStates(backend) {
    const out = execFileSync('socat', ['-t', '2', 'stdio', `UNIX-CONNECT:${need('HX_SOCK')}`], {
        input: `show servers state ${backend}\n`,
        timeout: 10000,
        encoding: 'utf8',
    });
    const states = {};
    for (const line of out.split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length < 9 || !/^\d+$/.test(f[0])) continue;
        const admin = Number(f[6]);
        const op = Number(f[5]);
        states[f[3]] = admin & 0x67 ? 'maint' : admin & 0x18 ? 'drain' : op === 0 ? 'down' : 'ready';
    }
    return states;
}

function sim(line) {
    writeFileSync(need('SIM_CTL'), `${line}\n`);
}

// The page's command element's id after it shows OUTCOME for CMD.
async function cmdOutcome(cmd, outcome, notIds = []) {
    const el = await until(`a ${cmd} command with outcome ${outcome}`, 15000, async () => {
        for (const e of await page.$$(`#results [data-cmd="${cmd}"][data-outcome="${outcome}"]`)) {
            if (!notIds.includes(await e.getAttribute('data-cmd-id'))) return e;
        }
        return null;
    });
    return { id: await el.getAttribute('data-cmd-id'), text: (await el.textContent()).trim() };
}

// ---- the browser ------------------------------------------------------------

// launch([ARGS]): chromium with these extra command-line switches; sets page.
async function launch(args = []) {
    const browser = await chromium.launch({
        executablePath: env.CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', ...args],
        headless: true,
        timeout: 60000,
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (e) => {
        pageErrors.push(e.message);
        log(`page error: ${e.message}`);
    });
    page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') log(`page console ${m.type()}: ${m.text()}`);
    });
    return browser;
}

async function openConsole(operator) {
    const url = need('CONSOLE_URL');
    const from = recLines().length;
    await page.goto(url, { timeout: 20000 });
    await on('#conn[data-conn="connected"]');
    await on('body[data-readonly="false"]');
    // The page asks for the whole state once it is connected.
    const rq = await recWait('the page\'s state request', 10000, `${P}/_state/request`, (j) => j && j.by === operator, from);
    assert.equal(rq.retained, false, 'the state request is not retained');
    return rq;
}

// Ack room-hot with its button: acked by OP on the page, and at the broker
// that very command's result, the acked event by OP and the retained state.
async function ackRoomHot(OP) {
    const from = recLines().length;
    await page.click(`${alarmSel('a1', 'room-hot')} button[data-action="ack"]`, { timeout: 5000 });
    await on(`${alarmSel('a1', 'room-hot')}[data-isa="acked"][data-by="${OP}"]`);
    const c = await cmdOutcome('ack', 'ok');
    await recWait(`ack ${c.id}'s result`, 10000, `${P}/${SITE}/a1/cmd/result`,
        (j) => j && j.id === c.id && j.cmd === 'ack' && j.ok === true && j.by === OP, from);
    await recWait('the acked event by the operator', 10000, `${P}/${SITE}/a1/event`,
        (j) => j && j.alarm === 'room-hot' && j.transition === 'acked' && j.acked === true && j.by === OP, from);
    const r = json(retained(`${P}/${SITE}/a1/alarm/room-hot`));
    assert.equal(r.acked, true, 'retained state acked');
    assert.equal(r.state, 'active');
}

// ---- mosquitto: the whole story -------------------------------------------------

async function mosquittoStory() {
    const OP = 'noc-kim';
    await step('online', async () => {
        await openConsole(OP);
        await on(`${agentSel('a1')}[data-online="true"]`);
        await on(`${agentSel('a2')}[data-online="true"]`);
        await on(`[data-sensor="${SITE}/a1/room-temp"][data-quality="good"]`);
        const v = await page.textContent(`[data-sensor="${SITE}/a1/room-temp"] .value`);
        assert.match(v, /24/, `room-temp shows 24 (${v})`);
        await on(`${siteSel}[data-drain-state="serving"]`);
        await on(`${siteSel} [data-controller="${SITE}|test"][data-online="true"]`);
        for (const s of ['b3-web1', 'b3-web2']) await on(`${targetSel(`hx/web/${s}`)}[data-state="ready"]`);
        await on(`[data-zone="${SITE}/a1/b3"][data-request="none"]`);
        assert.equal(await page.$('[data-alarm]'), null, 'no active alarm before the crossing');
        assert.equal(await page.getAttribute('#alert', 'data-active'), 'false', 'no alert before the crossing');
    });

    await step('alarm', async () => {
        sim('set xy-md02.temperature 50');
        const a = await on(`${alarmSel('a1', 'room-hot')}[data-isa="unacked"]`);
        assert.equal(await a.getAttribute('data-severity'), 'critical');
        await on(`${alarmSel('a1', 'room-warm')}[data-isa="unacked"]`);
        await on('#alert[data-active="true"]');
        assert.ok(await page.isVisible('#alert'), '#alert is shown');
        await on(`[data-zone="${SITE}/a1/b3"][data-request="drain"]`);
        const r = json(retained(`${P}/${SITE}/a1/alarm/room-hot`));
        assert.equal(r.state, 'active');
        assert.equal(r.acked, false);
    });

    await step('silenced', async () => {
        await page.click('#silence', { timeout: 5000 });
        await on('#alert[data-active="false"]', 5000);
        // Silenced, not acknowledged: on the page and on the broker.
        await on(`${alarmSel('a1', 'room-hot')}[data-isa="unacked"]`, 1000);
        assert.equal(json(retained(`${P}/${SITE}/a1/alarm/room-hot`)).acked, false, 'silence sent no ack');
        assert.equal(
            recLines().find((l) => l.topic === `${P}/${SITE}/a1/event` && json(l.payload)?.transition === 'acked'),
            undefined,
            'no acked event after silence',
        );
    });

    await step('drained', async () => {
        await on(`${siteSel}[data-drain-state="drained"]`);
        const want = {};
        for (const s of ['b3-web1', 'b3-web2']) {
            const t = await on(`${targetSel(`hx/web/${s}`)}[data-state="drain"]`);
            assert.equal(await t.getAttribute('data-kind'), 'haproxy');
            want[s] = await t.getAttribute('data-state');
        }
        // HAProxy itself, read on its admin socket.
        const hx = await until('HAProxy reports b3-web1 and b3-web2 in drain', 10000, () => {
            const st = hxStates('web');
            return st['b3-web1'] === 'drain' && st['b3-web2'] === 'drain' ? st : null;
        });
        for (const s of Object.keys(want)) assert.equal(want[s], hx[s], `page and HAProxy agree on ${s}`);
        assert.equal(hx['b4-web1'], 'ready', 'the other room\'s server stays ready');
    });

    await step('acked', () => ackRoomHot(OP));

    await step('refused', async () => {
        const from = recLines().length;
        await page.click(`${alarmSel('a1', 'room-warm')} button[data-action="shelve"]`, { timeout: 5000 });
        const d = await page.waitForSelector('[data-field="duration"]', { state: 'visible', timeout: 5000 });
        // More than the 7 days an agent shelves for: the agent refuses it.
        if ((await d.evaluate((e) => e.tagName)) === 'SELECT') {
            await d.evaluate((e) => {
                const o = document.createElement('option');
                o.value = o.textContent = '8d';
                e.appendChild(o);
                e.value = '8d';
                e.dispatchEvent(new Event('change', { bubbles: true }));
            });
        } else {
            await d.fill('8d');
            // The page warns, and leaves the verdict to the agent.
            await page.waitForFunction(
                () => /refuse/.test(document.querySelector('#shelve-dialog [data-field="hint"]')?.textContent || ''),
                null,
                { timeout: 5000 },
            );
        }
        await page.click('[data-action="shelve-confirm"]', { timeout: 5000 });
        const c = await cmdOutcome('shelve', 'error');
        const res = await recWait(`shelve ${c.id}'s result`, 10000, `${P}/${SITE}/a1/cmd/result`,
            (j) => j && j.id === c.id && j.cmd === 'shelve' && j.ok === false, from);
        const err = json(res.payload).error;
        assert.ok(err, 'the agent says why');
        assert.ok(c.text.includes(err), `the page shows the agent's error "${err}" (shows "${c.text}")`);
        await on(`${alarmSel('a1', 'room-warm')}[data-isa="unacked"]`, 1000);
        assert.equal(json(retained(`${P}/${SITE}/a1/alarm/room-warm`)).shelved, false, 'room-warm not shelved');
    });

    await step('undrained', async () => {
        sim('set xy-md02.temperature 24');
        await on(`[data-zone="${SITE}/a1/b3"][data-request="none"]`);
        // Acked and cleared is normal: off the active list.
        await gone(alarmSel('a1', 'room-hot'));
        await on(`${alarmSel('a1', 'room-warm')}[data-isa="rtn_unacked"]`);
        // Cleared alarms do not undrain; a person does.
        await on(`${siteSel}[data-drain-state="drained"]`, 1000);
        const from = recLines().length;
        await page.click(`${siteSel} button[data-action="undrain"]`, { timeout: 5000 });
        const dlg = '#undrain-dialog';
        await page.waitForSelector(dlg, { state: 'visible', timeout: 5000 });
        // A wrong site name sends nothing: the dialog stays, and says why.
        await page.fill(`${dlg} input[data-field="confirm"]`, `${SITE}x`);
        await page.fill(`${dlg} input[data-field="reason"]`, 'fire out, room inspected');
        await page.click(`${dlg} button[data-action="undrain-confirm"]`, { timeout: 5000 });
        await page.waitForFunction(
            (sel) => document.querySelector(sel).textContent.trim() !== '',
            `${dlg} [data-field="error"]`,
            { timeout: 5000 },
        );
        assert.ok(await page.isVisible(dlg), 'the dialog stays open on a wrong site name');
        assert.equal(await page.$('#results [data-cmd="undrain"]'), null, 'no undrain sent on a wrong site name');
        await page.fill(`${dlg} input[data-field="confirm"]`, SITE);
        await page.click(`${dlg} button[data-action="undrain-confirm"]`, { timeout: 5000 });
        await page.waitForSelector(dlg, { state: 'hidden', timeout: 5000 });
        const c = await cmdOutcome('undrain', 'ok');
        await recWait(`undrain ${c.id}'s result`, 10000, `${P}/${SITE}/drain/cmd/result`,
            (j) => j && j.id === c.id && j.cmd === 'undrain' && j.ok === true && j.by === OP, from);
        await on(`${siteSel}[data-drain-state="serving"]`);
        for (const s of ['b3-web1', 'b3-web2']) await on(`${targetSel(`hx/web/${s}`)}[data-state="ready"]`);
        const hx = await until('HAProxy reports b3-web1 and b3-web2 ready', 10000, () => {
            const st = hxStates('web');
            return st['b3-web1'] === 'ready' && st['b3-web2'] === 'ready' ? st : null;
        });
        assert.equal(hx['b4-web1'], 'ready');
    });

    await step('agent-offline', async () => {
        process.kill(Number(need('A1_PID')), 'SIGKILL');
        // Last Will: keepalive 5 s, so within 1.5 keepalives plus the
        // broker's sweep.
        await on(`${agentSel('a1')}[data-online="false"]`, 20000);
        await on(`${agentSel('a2')}[data-online="true"]`, 1000);
        assert.equal(retained(`${P}/${SITE}/a1/status`), 'offline');
    });
}

// ---- RabbitMQ: the state request -------------------------------------------------

async function rabbitmqStory() {
    const OP = 'noc-lee';
    await step('rabbitmq-state-request', async () => {
        const rq = await openConsole(OP);
        // No retained message reaches a wildcard subscription on RabbitMQ:
        // all this comes from the daemons answering the page's request.
        await on(`${agentSel('a1')}[data-online="true"]`);
        const a = await on(`${alarmSel('a1', 'room-hot')}[data-isa="unacked"]`);
        assert.equal(await a.getAttribute('data-severity'), 'critical');
        await on(`[data-zone="${SITE}/a1/b3"][data-request="drain"]`);
        await on(`${siteSel}[data-drain-state="drained"]`);
        for (const s of ['b3-web1', 'b3-web2']) await on(`${targetSel(`hx/web/${s}`)}[data-state="drain"]`);
        const hx = hxStates('web');
        assert.equal(hx['b3-web1'], 'drain');
        assert.equal(hx['b3-web2'], 'drain');
        // The recorder saw the daemons republish after the request.
        const after = recLines().filter((l) => l.ms >= rq.ms);
        assert.ok(after.some((l) => l.topic === `${P}/${SITE}/a1/alarm/room-hot`), 'emberd republished the alarm state');
        assert.ok(after.some((l) => l.topic === `${P}/${SITE}/drain/state`), 'ember-drain republished the drain state');
    });
    await step('rabbitmq-acked', () => ackRoomHot(OP));
}

// ---- TLS: logging in over wss with the README's ACL ------------------------------

// The command buttons of the page, one of each kind: an alarm's, a zone's
// and a site's.
const COMMAND_ACTIONS = ['ack', 'shelve', 'unshelve', 'test', 'hold', 'release', 'undrain'];

// login(USER, PASSWORD, [OPERATOR]): the login form, as an operator fills it.
async function login(user, password, operator) {
    if (!(await page.isVisible('#login'))) await page.click('#show-login', { timeout: 5000 });
    await page.fill('#username', user, { timeout: 5000 });
    await page.fill('#password', password, { timeout: 5000 });
    if (operator !== undefined) await page.fill('#operator', operator, { timeout: 5000 });
    await page.click('#connect', { timeout: 5000 });
}

// The page connected over wss as USER, and what it decided about commands.
async function connectedAs(user, access) {
    const url = `wss://127.0.0.1:${need('WSS_PORT')}/`;
    await page.waitForFunction(
        (want) => {
            const c = document.querySelector('#conn');
            return c.dataset.conn === 'connected' && c.textContent.includes(want);
        },
        `connected to ${url} as ${user},`,
        { timeout: 15000 },
    );
    assert.equal(await page.evaluate(() => location.protocol), 'https:', 'the page came over https');
    // Until the broker answers the probe, the page may not know: wait for
    // its verdict, not for the read-only default.
    await on(`body[data-access="${access}"]`);
    assert.equal(await page.getAttribute('body', 'data-readonly'), String(access !== 'command'));
}

// Every command button of the page: {action: [disabled...]}.
async function commandButtons() {
    return page.evaluate(() => {
        const out = {};
        for (const b of document.querySelectorAll('main button[data-action]')) {
            (out[b.dataset.action] ||= []).push(b.disabled);
        }
        return out;
    });
}

async function tlsStory() {
    const OP = 'noc-kim';
    const VIEW_OP = 'view-lee';
    const url = need('CONSOLE_URL');

    // A chromium that was not told about the test's certificate refuses the
    // page: the trust below comes from the SPKI switch alone.
    const trusted = page;
    const other = await launch();
    try {
        await step('tls-untrusted', () =>
            assert.rejects(page.goto(url, { timeout: 20000 }), /ERR_CERT_AUTHORITY_INVALID/));
    } finally {
        await other.close();
        page = trusted;
    }

    await step('tls-wrong-password', async () => {
        await page.goto(url, { timeout: 20000 });
        assert.equal(await page.inputValue('#broker'), `wss://127.0.0.1:${need('WSS_PORT')}/`, 'the broker field says wss');
        await login('noc', `wrong-${need('NOC_PASSWORD')}`);
        await on('#conn[data-conn="refused"]');
        const text = await page.textContent('#conn');
        assert.match(text, /user name or password/i, `the page says why (${text})`);
        assert.ok(await page.isVisible('#login'), 'the login form stays open');
        // Refused is final: no retry with the same password (3 s is the
        // page's reconnect period).
        const end = Date.now() + 4000;
        while (Date.now() < end) {
            assert.equal(await page.getAttribute('#conn', 'data-conn'), 'refused', 'still refused, not retrying');
            await sleep(200);
        }
        assert.equal(await page.$('[data-agent]'), null, 'nothing shown without a login');
    });

    await step('tls-noc', async () => {
        const from = recLines().length;
        await login('noc', need('NOC_PASSWORD'));
        await connectedAs('noc', 'command');
        assert.equal(await page.isVisible('#login'), false, 'the login form closes once logged in');
        await recWait('the page\'s state request', 10000, `${P}/_state/request`, (j) => j && j.by === OP, from);
        await on(`${agentSel('a1')}[data-online="true"]`);
        await on(`[data-sensor="${SITE}/a1/room-temp"][data-quality="good"]`);
        await on(`[data-zone="${SITE}/a1/b3"][data-request="none"]`);
    });

    await step('tls-noc-alarm', async () => {
        sim('set xy-md02.temperature 50');
        await on(`${alarmSel('a1', 'room-hot')}[data-isa="unacked"]`);
        await on(`${alarmSel('a1', 'room-warm')}[data-isa="unacked"]`);
        assert.ok(await page.isEnabled(`${alarmSel('a1', 'room-hot')} button[data-action="ack"]`), 'noc may ack');
        // Every command button enabled (one that seems not to apply now,
        // unshelve on an alarm not shelved, is only dimmed).
        const b = await commandButtons();
        for (const a of COMMAND_ACTIONS) {
            assert.ok(b[a] && b[a].length > 0, `a ${a} button is on the page`);
            assert.ok(b[a].every((d) => !d), `every ${a} button is enabled for noc (disabled: ${b[a]})`);
        }
    });

    await step('tls-noc-acked', () => ackRoomHot(OP));

    await step('tls-view', async () => {
        const from = recLines().length;
        await login('noc-view', need('VIEW_PASSWORD'), VIEW_OP);
        await connectedAs('noc-view', 'readonly');
        // The same state: the agent, its sensor, the alarms as they are
        // (who acked is in the acked event only, which came before this
        // page: the retained alarm state does not say).
        await recWait('the read-only page\'s state request', 10000, `${P}/_state/request`, (j) => j && j.by === VIEW_OP, from);
        await on(`${agentSel('a1')}[data-online="true"]`);
        await on(`[data-sensor="${SITE}/a1/room-temp"][data-quality="good"]`);
        await on(`${alarmSel('a1', 'room-hot')}[data-isa="acked"]`);
        await on(`${alarmSel('a1', 'room-warm')}[data-isa="unacked"]`);
        await on(`[data-zone="${SITE}/a1/b3"][data-request="drain"]`);
        await on(siteSel);
        const b = await commandButtons();
        for (const a of COMMAND_ACTIONS) {
            assert.ok(b[a] && b[a].length > 0, `a ${a} button is on the read-only page`);
            assert.ok(b[a].every((d) => d), `every ${a} button is disabled for noc-view (disabled: ${b[a]})`);
        }
        const extra = Object.keys(b).filter((a) => !COMMAND_ACTIONS.includes(a));
        assert.deepEqual(extra, [], 'no other command button');
        assert.match(await page.textContent('#access'), /read-only/, 'the page says it is read-only');
    });

    await step('tls-view-refused', async () => {
        // A command forced out of the read-only page (its button enabled by
        // hand): the broker refuses it, the page says so, no agent hears it.
        const from = recLines().length;
        await page.evaluate((sel) => {
            const btn = document.querySelector(sel);
            btn.disabled = false;
            btn.click();
        }, `${alarmSel('a1', 'room-warm')} button[data-action="ack"]`);
        const c = await cmdOutcome('ack', 'error');
        assert.match(c.text, /not authori[sz]ed/, `the page shows the broker's refusal (${c.text})`);
        // PUBACK 0x87 came back; give an agent time it would have needed.
        await sleep(1500);
        const cmds = recLines().slice(from).filter((l) => l.topic.startsWith(`${P}/${SITE}/a1/cmd/`));
        assert.deepEqual(cmds, [], 'nothing reached the agent\'s command topics');
        await on(`${alarmSel('a1', 'room-warm')}[data-isa="unacked"]`, 1000);
        assert.equal(json(retained(`${P}/${SITE}/a1/alarm/room-warm`)).acked, false, 'room-warm not acked');
    });
}

// ---- launch: chromium starts and renders (a check of the machine) ---------------

async function launchCheck() {
    await page.setContent('<html><body><h1 id="t">emberwatch</h1></body></html>');
    await page.waitForSelector('#t', { timeout: 5000 });
    log(`chromium ${page.context().browser().version()} renders on node ${process.version}`);
    await shot('launch');
    checks++;
}

const stories = { mosquitto: mosquittoStory, rabbitmq: rabbitmqStory, tls: tlsStory, launch: launchCheck };
const story = stories[PHASE];
if (!story) {
    log(`unknown CONSOLE_PHASE ${PHASE}`);
    process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });
const t0 = Date.now();
// tls: the broker's certificate, and no other, is accepted by its public key.
const browser = await launch(PHASE === 'tls' ? [`--ignore-certificate-errors-spki-list=${need('CHROMIUM_SPKI')}`] : []);
let rc = 0;
try {
    await story();
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page');
    log(`passed (${checks} steps, ${Date.now() - t0} ms)`);
} catch (e) {
    log(`FAIL: ${e.message}`);
    rc = 1;
} finally {
    await browser.close();
}
process.exit(rc);
