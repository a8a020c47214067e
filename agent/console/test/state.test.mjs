// Unit tests of src/state.js: the console's picture of the sites, fed with
// the payloads emberd and ember-drain publish.  node --test (node 18+).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createStore,
  applyMessage,
  parseTopic,
  isaState,
  activeAlarms,
  alertActive,
  silenceAlert,
  agentOnline,
  findAgent,
  zoneView,
  siteDrainState,
  siteTargets,
  siteControllers,
  sensorSeries,
  findSensor,
  commandSent,
  commandFailed,
  expireCommands,
  recentCommands,
  recentEvents,
  takeDirty,
  EVENT_LOG_MAX,
  RESULTS_MAX,
  COMMAND_TIMEOUT_MS,
} from '../src/state.js';

const P = 'emberwatch';
const SITE = 'pangyo-a';
const AGENT = 'b3-agent1';
const T0 = Date.parse('2026-11-25T07:16:48.000Z');

function alarm(over = {}) {
  return {
    ts: '2026-11-25T07:16:48.286Z',
    alarm: 'rack1-cell-hot',
    sensor: 'rack1-max-cell-temp',
    zone: 'b3',
    kind: 'high',
    severity: 'critical',
    state: 'active',
    acked: false,
    shelved: false,
    value: 61.2,
    setpoint: 60,
    unit: 'C',
    since: '2026-11-25T07:16:48.257Z',
    seq: 118,
    epoch: 91825303317042,
    test: false,
    message: 'rack1-max-cell-temp at or above 60 C',
    shelved_until: null,
    ...over,
  };
}

function zone(over = {}) {
  return {
    ts: '2026-11-25T07:16:48.300Z',
    zone: 'b3',
    request: 'drain',
    reason: '2 of 2 required sensors in critical alarm',
    alarms: ['rack1-cell-hot', 'node1-module-hot'],
    votes: 2,
    vote: 2,
    seq: 120,
    epoch: 91825303317042,
    test: false,
    ...over,
  };
}

function drainState(over = {}) {
  return {
    ts: '2026-11-25T07:16:49.010Z',
    site: SITE,
    state: 'drained',
    targets: [
      { name: 'edge-lb1/web/pga-web1', kind: 'haproxy', state: 'drain', weight: 1 },
      { name: 'edge-lb1/web/pga-web2', kind: 'haproxy', state: 'unreachable' },
      { name: 'gslb/www.example.com./A', kind: 'dns', state: 'absent', records: ['198.51.100.10'], ttl: 60 },
      { name: 'gslb/api.example.com./AAAA', kind: 'dns', state: 'unknown', records: [], error: 'REFUSED' },
      { name: 'anycast/site_anycast/192.0.2.0/24', kind: 'bgp', state: 'withdrawn', protocol: 'down' },
      { name: 'dns', kind: 'hook', state: 'ok' },
    ],
    since: '2026-11-25T07:16:48.900Z',
    cause: 'zone b3 requested drain (1 of 1 zones)',
    votes: 1,
    vote: 1,
    zones: ['b3'],
    alarms: ['rack1-cell-hot'],
    tests: [],
    drain_id: 4,
    dry_run: false,
    controller: 'lb-ctl1',
    controllers: [
      { id: 'lb-ctl1', status: 'online', state: 'drained', decided_by: 'lb-ctl1' },
      { id: 'lb-ctl2', status: 'online', state: 'drained', decided_by: 'lb-ctl1' },
    ],
    ...over,
  };
}

const j = (o) => JSON.stringify(o);
const at = (s) => T0 + s * 1000;

const A = `${P}/${SITE}/${AGENT}`;
function feed(store, rel, payload, { retained = false, t = 0 } = {}) {
  return applyMessage(store, `${P}/${rel}`, typeof payload === 'string' ? payload : j(payload), retained, at(t));
}

// ---- ISA-18.2 -------------------------------------------------------------------

test('ISA state from state, acked, shelved and test', () => {
  assert.equal(isaState(alarm()), 'unacked');
  assert.equal(isaState(alarm({ acked: true })), 'acked');
  assert.equal(isaState(alarm({ state: 'cleared' })), 'rtn_unacked');
  assert.equal(isaState(alarm({ state: 'cleared', acked: true })), 'normal');
  assert.equal(isaState(alarm({ shelved: true, shelved_until: '2026-11-25T07:46:48.000Z' })), 'shelved');
  assert.equal(isaState(alarm({ shelved: true, state: 'cleared', acked: true })), 'shelved');
  // a test activation is shown active and unacked: it is still a test
  assert.equal(isaState(alarm({ test: true })), 'test');
});

test('an alarm state read from its retained topic', () => {
  const s = createStore(P);
  assert.equal(feed(s, `${SITE}/${AGENT}/alarm/rack1-cell-hot`, alarm(), { retained: true }), 'alarm');
  const a = findAgent(s, `${SITE}/${AGENT}`).alarms.get('rack1-cell-hot');
  assert.equal(a.key, `${SITE}/${AGENT}/rack1-cell-hot`);
  assert.equal(a.isa, 'unacked');
  assert.equal(a.by, '');
  feed(s, `${SITE}/${AGENT}/alarm/rack1-cell-hot`, alarm({ acked: true, seq: 119, by: 'noc-kim' }));
  assert.equal(a.isa, 'acked');
  assert.equal(a.by, 'noc-kim');
});

test('an older state of the same run arriving late is ignored; a restart (new epoch) is not', () => {
  const s = createStore(P);
  const t = `${SITE}/${AGENT}/alarm/rack1-cell-hot`;
  feed(s, t, alarm({ acked: true, seq: 130 }));
  feed(s, t, alarm({ acked: false, seq: 118 }));
  assert.equal(activeAlarms(s)[0].isa, 'acked');
  feed(s, t, alarm({ acked: false, seq: 118, epoch: 5 }));
  assert.equal(activeAlarms(s)[0].isa, 'unacked');
});

test('an empty retained message removes the alarm', () => {
  const s = createStore(P);
  const t = `${SITE}/${AGENT}/alarm/rack1-cell-hot`;
  feed(s, t, alarm());
  assert.equal(activeAlarms(s).length, 1);
  feed(s, t, '');
  assert.equal(activeAlarms(s).length, 0);
  assert.equal(alertActive(s), false);
});

// ---- order --------------------------------------------------------------------------

test('active alarms: everything not normal, critical first, then by ISA state', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/alarm/w-unacked`, alarm({ alarm: 'w-unacked', severity: 'warning' }));
  feed(s, `${SITE}/${AGENT}/alarm/c-acked`, alarm({ alarm: 'c-acked', acked: true }));
  feed(s, `${SITE}/${AGENT}/alarm/c-normal`, alarm({ alarm: 'c-normal', state: 'cleared', acked: true }));
  feed(s, `${SITE}/${AGENT}/alarm/c-rtn`, alarm({ alarm: 'c-rtn', state: 'cleared' }));
  feed(s, `${SITE}/b4-agent2/alarm/c-unacked`, alarm({ alarm: 'c-unacked' }));
  feed(s, `${SITE}/${AGENT}/alarm/c-shelved`, alarm({ alarm: 'c-shelved', shelved: true }));
  feed(s, `${SITE}/${AGENT}/alarm/_journal`, alarm({ alarm: '_journal', kind: 'journal', severity: 'warning', zone: null, sensor: null }));
  feed(s, `${SITE}/${AGENT}/alarm/x-info`, alarm({ alarm: 'x-info', severity: 'info' }));
  const order = activeAlarms(s).map((a) => a.id);
  assert.deepEqual(order.slice(0, 4), ['c-unacked', 'c-rtn', 'c-acked', 'c-shelved']);
  // the two warnings (unacked, same since: by key), then info
  assert.deepEqual(order.slice(4), ['_journal', 'w-unacked', 'x-info']);
  assert.ok(!order.includes('c-normal'));
});

test('same severity and state: the newest activation first', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/alarm/old`, alarm({ alarm: 'old', since: '2026-11-25T07:00:00.000Z' }));
  feed(s, `${SITE}/${AGENT}/alarm/new`, alarm({ alarm: 'new', since: '2026-11-25T07:10:00.000Z' }));
  assert.deepEqual(activeAlarms(s).map((a) => a.id), ['new', 'old']);
});

// ---- events and by ----------------------------------------------------------------

test('events are logged once per (agent, epoch, seq) and name the operator', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/alarm/rack1-cell-hot`, alarm({ acked: true, seq: 121 }));
  const ev = { ...alarm({ acked: true, seq: 121, by: 'noc-kim' }), transition: 'acked' };
  feed(s, `${SITE}/${AGENT}/event`, ev, { t: 1 });
  feed(s, `${SITE}/${AGENT}/event`, ev, { t: 2 }); // QoS 1 redelivery
  const evs = recentEvents(s).filter((e) => e.kind === 'event');
  assert.equal(evs.length, 1);
  assert.match(evs[0].text, /rack1-cell-hot acked by noc-kim/);
  assert.equal(findAgent(s, `${SITE}/${AGENT}`).alarms.get('rack1-cell-hot').by, 'noc-kim');
  // the same seq from another run is another event
  feed(s, `${SITE}/${AGENT}/event`, { ...ev, epoch: 7 }, { t: 3 });
  assert.equal(recentEvents(s).filter((e) => e.kind === 'event').length, 2);
});

test('the event log is bounded and newest first', () => {
  const s = createStore(P);
  for (let i = 0; i < EVENT_LOG_MAX + 50; i++) {
    feed(s, `${SITE}/${AGENT}/event`, { ...alarm({ seq: 1000 + i }), transition: 'activated' }, { t: i });
  }
  const evs = recentEvents(s);
  assert.equal(evs.length, EVENT_LOG_MAX);
  assert.equal(s.events.length, EVENT_LOG_MAX);
  assert.ok(evs[0].id > evs[1].id);
  assert.equal(evs[0].at, at(EVENT_LOG_MAX + 49));
});

// ---- agents ---------------------------------------------------------------------------

test('status and Last Will: online, then offline, logged as a change', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/status`, 'online', { retained: true });
  const a = findAgent(s, `${SITE}/${AGENT}`);
  assert.equal(agentOnline(a), true);
  assert.equal(a.lastHeard, 0, 'a retained message is not hearing from the agent now');
  assert.equal(recentEvents(s).length, 0, 'the state at load is not news');
  feed(s, `${SITE}/${AGENT}/sensor/t1`, { ts: 'x', value: 24.5, unit: 'C', quality: 'good' }, { t: 5 });
  assert.equal(a.lastHeard, at(5));
  feed(s, `${SITE}/${AGENT}/status`, 'offline', { t: 9 });
  assert.equal(agentOnline(a), false);
  assert.equal(a.lastHeard, at(9));
  const ev = recentEvents(s)[0];
  assert.equal(ev.kind, 'status');
  assert.match(ev.text, /b3-agent1 offline/);
});

test('an agent heard from before its status is online; one that never spoke is not', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/alarm/rack1-cell-hot`, alarm(), { retained: true });
  assert.equal(agentOnline(findAgent(s, `${SITE}/${AGENT}`)), false);
  feed(s, `${SITE}/${AGENT}/sensor/t1`, { ts: 'x', value: 1, unit: 'C', quality: 'good' }, { t: 1 });
  assert.equal(agentOnline(findAgent(s, `${SITE}/${AGENT}`)), true);
});

// ---- topics ------------------------------------------------------------------------

test('topics: site-level drain, _drain, _state and _console are not agents', () => {
  assert.deepEqual(parseTopic(P, `${P}/${SITE}/drain/state`), { type: 'site_drain', site: SITE });
  assert.deepEqual(parseTopic(P, `${P}/${SITE}/drain/state/lb-ctl2`), { type: 'controller_drain', site: SITE, controller: 'lb-ctl2' });
  assert.deepEqual(parseTopic(P, `${P}/${SITE}/drain/cmd/result`), { type: 'result', site: SITE, agent: null });
  assert.deepEqual(parseTopic(P, `${P}/_drain/lb-ctl1/status`), { type: 'controller_status', controller: 'lb-ctl1' });
  assert.equal(parseTopic(P, `${P}/_state/request`).type, 'ignored');
  assert.equal(parseTopic(P, `${P}/_console/noc/cmd/probe`).type, 'ignored');
  assert.equal(parseTopic(P, `other/${SITE}/${AGENT}/status`), null);
  assert.deepEqual(parseTopic(P, `${A}/drain/b3`), { type: 'zone', site: SITE, agent: AGENT, name: 'b3' });
  const s = createStore(P);
  feed(s, `_state/request`, { ts: 'x', by: 'kim' });
  feed(s, `_drain/lb-ctl1/status`, 'online', { retained: true });
  feed(s, `${SITE}/drain/state`, drainState(), { retained: true });
  assert.deepEqual([...s.sites.keys()], [SITE]);
  assert.equal(s.sites.get(SITE).agents.size, 0, 'no agent named "drain"');
});

test("the console's own command publishes change nothing", () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/status`, 'online', { retained: true });
  const before = findAgent(s, `${SITE}/${AGENT}`).lastHeard;
  assert.equal(feed(s, `${SITE}/${AGENT}/cmd/ack`, { alarm: 'rack1-cell-hot', id: 'x1', by: 'kim' }, { t: 3 }), 'own_command');
  assert.equal(feed(s, `${SITE}/drain/cmd/undrain`, { id: 'x2', by: 'kim', reason: 'r' }, { t: 3 }), 'own_command');
  assert.equal(feed(s, `${SITE}/other-agent/cmd/test`, { zone: 'b3', id: 'x3' }, { t: 3 }), 'own_command');
  assert.equal(findAgent(s, `${SITE}/${AGENT}`).lastHeard, before);
  assert.equal(s.sites.get(SITE).agents.size, 1, 'a command to an unknown agent does not make it appear');
  assert.equal(recentEvents(s).length, 0);
  assert.equal(activeAlarms(s).length, 0);
});

// ---- zones ----------------------------------------------------------------------------

test('zone drain request: request, test, votes/vote, changes logged', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/drain/b3`, zone({ request: 'none', votes: 1, seq: 119 }), { retained: true });
  const a = findAgent(s, `${SITE}/${AGENT}`);
  assert.deepEqual(zoneView(a.zones.get('b3')).votes, '1/2');
  assert.equal(zoneView(a.zones.get('b3')).request, 'none');
  feed(s, `${SITE}/${AGENT}/drain/b3`, zone(), { t: 1 });
  const v = zoneView(a.zones.get('b3'));
  assert.equal(v.request, 'drain');
  assert.equal(v.test, false);
  assert.equal(v.votes, '2/2');
  assert.match(recentEvents(s)[0].text, /zone b3 requests drain \(2\/2\)/);
  assert.equal(recentEvents(s)[0].kind, 'drain');
  feed(s, `${SITE}/${AGENT}/drain/b3`, zone({ votes: 0, seq: 125, test: true, reason: 'test of zone b3: not a real request' }), { t: 2 });
  const t = zoneView(a.zones.get('b3'));
  assert.equal(t.request, 'drain');
  assert.equal(t.test, true);
  assert.equal(t.votes, '0/2');
});

// ---- drain states ------------------------------------------------------------------

test('site drain state with HAProxy, DNS, BGP and hook targets', () => {
  const s = createStore(P);
  feed(s, `${SITE}/drain/state`, drainState(), { retained: true });
  const site = s.sites.get(SITE);
  assert.equal(siteDrainState(site), 'drained');
  const t = new Map(siteTargets(site).map((x) => [x.name, x]));
  assert.equal(t.size, 6);
  assert.deepEqual(t.get('edge-lb1/web/pga-web1'), { name: 'edge-lb1/web/pga-web1', kind: 'haproxy', state: 'drain', detail: 'weight 1', error: '' });
  assert.equal(t.get('edge-lb1/web/pga-web2').state, 'unreachable');
  assert.equal(t.get('gslb/www.example.com./A').kind, 'dns');
  assert.equal(t.get('gslb/www.example.com./A').state, 'absent');
  assert.equal(t.get('gslb/www.example.com./A').detail, '198.51.100.10 ttl 60');
  assert.equal(t.get('gslb/api.example.com./AAAA').error, 'REFUSED');
  assert.equal(t.get('anycast/site_anycast/192.0.2.0/24').state, 'withdrawn');
  assert.equal(t.get('anycast/site_anycast/192.0.2.0/24').detail, 'protocol down');
  assert.equal(t.get('dns').kind, 'hook');
  feed(s, `${SITE}/drain/state`, drainState({ state: 'serving', cause: 'undrain by kim' }), { t: 4 });
  assert.equal(siteDrainState(site), 'serving');
  const ev = recentEvents(s)[0];
  assert.equal(ev.kind, 'drain');
  assert.match(ev.text, /drained -> serving: undrain by kim/);
});

test('held shows as held; an unknown site state is unknown', () => {
  const s = createStore(P);
  feed(s, `${SITE}/drain/state`, drainState({ state: 'held', held_state: 'drained' }));
  assert.equal(siteDrainState(s.sites.get(SITE)), 'held');
  feed(s, `other/drain/state`, drainState({ state: 'bogus' }));
  assert.equal(siteDrainState(s.sites.get('other')), 'unknown');
});

test('controllers: own states, peer views and their Last Will', () => {
  const s = createStore(P);
  feed(s, `${SITE}/drain/state`, drainState(), { retained: true });
  feed(s, `${SITE}/drain/state/lb-ctl1`, drainState(), { retained: true });
  feed(s, `${SITE}/drain/state/lb-ctl2`, drainState({ controller: 'lb-ctl2', state: 'draining' }), { retained: true });
  feed(s, `_drain/lb-ctl1/status`, 'online', { retained: true });
  let c = siteControllers(s, s.sites.get(SITE));
  assert.deepEqual(c.map((x) => [x.id, x.online, x.state]), [
    ['lb-ctl1', true, 'drained'],
    ['lb-ctl2', true, 'draining'],
  ]);
  assert.equal(c[1].decidedBy, 'lb-ctl1');
  feed(s, `_drain/lb-ctl2/status`, 'offline', { t: 3 });
  c = siteControllers(s, s.sites.get(SITE));
  assert.equal(c[1].online, false);
  // the Last Will of a controller never seen online is not a change
  assert.equal(recentEvents(s).filter((e) => e.kind === 'status').length, 0);
  feed(s, `_drain/lb-ctl1/status`, 'offline', { t: 4 });
  assert.match(recentEvents(s)[0].text, /controller lb-ctl1 offline/);
});

test('a site with only controller states takes the newest', () => {
  const s = createStore(P);
  feed(s, `${SITE}/drain/state/lb-ctl1`, drainState({ ts: '2026-11-25T07:16:49.000Z', state: 'draining' }));
  feed(s, `${SITE}/drain/state/lb-ctl2`, drainState({ ts: '2026-11-25T07:16:50.000Z', state: 'drained', controller: 'lb-ctl2' }));
  assert.equal(siteDrainState(s.sites.get(SITE)), 'drained');
});

// ---- commands ------------------------------------------------------------------------

test('a command is matched to its result by id', () => {
  const s = createStore(P);
  commandSent(s, { id: 'id-1', cmd: 'shelve', site: SITE, agent: AGENT, target: 'batt-hot', by: 'noc-kim' }, at(0));
  commandSent(s, { id: 'id-2', cmd: 'ack', site: SITE, agent: AGENT, target: 'batt-hot', by: 'noc-kim' }, at(0));
  commandSent(s, { id: 'h-1', cmd: 'hold', site: SITE, agent: null, target: SITE, by: 'noc-kim' }, at(0));
  assert.equal(s.commands.get('id-1').outcome, 'pending');
  feed(s, `${SITE}/${AGENT}/cmd/result`, { ts: 'x', id: 'id-1', cmd: 'shelve', ok: true, by: 'noc-kim' }, { t: 1 });
  feed(s, `${SITE}/${AGENT}/cmd/result`, { ts: 'x', id: 'id-2', cmd: 'ack', ok: false, error: 'unknown alarm batt-hot', by: 'noc-kim' }, { t: 1 });
  feed(s, `${SITE}/drain/cmd/result`, { ts: 'x', id: 'h-1', cmd: 'hold', ok: true, by: 'noc-kim' }, { t: 1 });
  // another console's result is logged, but matches nothing of ours
  feed(s, `${SITE}/${AGENT}/cmd/result`, { ts: 'x', id: null, cmd: 'ack', ok: false, error: 'payload names a key twice', by: null }, { t: 1 });
  assert.equal(s.commands.get('id-1').outcome, 'ok');
  assert.equal(s.commands.get('id-2').outcome, 'error');
  assert.equal(s.commands.get('id-2').error, 'unknown alarm batt-hot');
  assert.equal(s.commands.get('h-1').outcome, 'ok');
  assert.equal(recentEvents(s).filter((e) => e.kind === 'result').length, 4);
  assert.deepEqual(recentCommands(s).map((c) => c.id), ['h-1', 'id-2', 'id-1']);
});

test('no result within 10 s: timeout ("no answer"); a late result still tells the truth', () => {
  const s = createStore(P);
  commandSent(s, { id: 'id-9', cmd: 'test', site: SITE, agent: AGENT, target: 'b3', by: 'kim' }, at(0));
  assert.equal(expireCommands(s, at(0) + COMMAND_TIMEOUT_MS - 1), 0);
  assert.equal(s.commands.get('id-9').outcome, 'pending');
  assert.equal(expireCommands(s, at(0) + COMMAND_TIMEOUT_MS), 1);
  assert.equal(s.commands.get('id-9').outcome, 'timeout');
  assert.equal(s.commands.get('id-9').error, 'no answer');
  assert.equal(expireCommands(s, at(60)), 0, 'expired once');
  feed(s, `${SITE}/${AGENT}/cmd/result`, { ts: 'x', id: 'id-9', cmd: 'test', ok: true, by: 'kim' }, { t: 61 });
  assert.equal(s.commands.get('id-9').outcome, 'ok');
});

test('a publish the broker refused is an error at once, and a later result does not undo it', () => {
  const s = createStore(P);
  commandSent(s, { id: 'id-r', cmd: 'ack', site: SITE, agent: AGENT, target: 'a', by: 'ro' }, at(0));
  commandFailed(s, 'id-r', 'not authorized', at(0));
  assert.equal(s.commands.get('id-r').outcome, 'error');
  assert.equal(expireCommands(s, at(30)), 0);
  assert.equal(s.commands.get('id-r').outcome, 'error');
});

test('the command list is bounded', () => {
  const s = createStore(P);
  for (let i = 0; i < RESULTS_MAX + 10; i++) commandSent(s, { id: `c${i}`, cmd: 'ack', site: SITE, agent: AGENT, target: 'a' }, at(i));
  assert.equal(s.commands.size, RESULTS_MAX);
  assert.equal(s.commands.has('c0'), false);
  assert.equal(recentCommands(s)[0].id, `c${RESULTS_MAX + 9}`);
});

// ---- sensors ------------------------------------------------------------------------------

test('sensor tile: value, quality, and a 10-minute series of one point a second', () => {
  const s = createStore(P);
  const key = `${SITE}/${AGENT}/rack1-max-cell-temp`;
  // 20 minutes at 2 Hz: two readings a second, the second one kept
  for (let i = 0; i < 2400; i++) {
    const t = i / 2;
    feed(s, `${SITE}/${AGENT}/sensor/rack1-max-cell-temp`, { ts: 'x', value: i, unit: 'C', quality: 'good' }, { t });
  }
  const sen = findSensor(s, key);
  assert.equal(sen.value, 2399);
  assert.equal(sen.quality, 'good');
  assert.equal(sen.series.len, 600, 'the buffer holds 10 minutes, no more');
  const [xs, ys] = sensorSeries(s, key, at(1199.5));
  assert.equal(xs.length, 600);
  assert.equal(ys[ys.length - 1], 2399);
  assert.equal(ys[0], 1201);
  for (let i = 1; i < xs.length; i++) assert.equal(xs[i] - xs[i - 1], 1);
  // a lost device: null value, a gap, quality shown
  feed(s, `${SITE}/${AGENT}/sensor/rack1-max-cell-temp`, { ts: 'x', value: null, unit: 'C', quality: 'comms_lost' }, { t: 1201 });
  assert.equal(sen.quality, 'comms_lost');
  assert.equal(sen.value, null);
  const [, ys2] = sensorSeries(s, key, at(1201));
  assert.equal(ys2[ys2.length - 1], null);
  // ten minutes of silence: nothing left in the window
  assert.deepEqual(sensorSeries(s, key, at(1201 + 600)), [[], []]);
});

test('sensor messages mark only that sensor dirty, not the whole page', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/sensor/t1`, { ts: 'x', value: 1, unit: 'C', quality: 'good' });
  takeDirty(s);
  feed(s, `${SITE}/${AGENT}/sensor/t1`, { ts: 'x', value: 2, unit: 'C', quality: 'stale' }, { t: 1 });
  const d = takeDirty(s);
  assert.equal(d.structure, false);
  assert.equal(d.alarms, false);
  assert.deepEqual([...d.sensors], [`${SITE}/${AGENT}/t1`]);
});

// ---- the critical alert ---------------------------------------------------------------

test('alert on a new unacknowledged critical, present at load too; silence; a new one rings again', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/alarm/rack1-cell-hot`, alarm(), { retained: true });
  assert.equal(alertActive(s), true, 'present at load');
  silenceAlert(s);
  assert.equal(alertActive(s), false);
  assert.equal(activeAlarms(s)[0].isa, 'unacked', 'silencing acknowledges nothing');
  // the same alarm republished (reconnect, state request) does not ring again
  feed(s, `${SITE}/${AGENT}/alarm/rack1-cell-hot`, alarm(), { t: 5 });
  assert.equal(alertActive(s), false);
  // a new critical rings
  feed(s, `${SITE}/${AGENT}/alarm/node1-module-hot`, alarm({ alarm: 'node1-module-hot', seq: 130 }), { t: 6 });
  assert.equal(alertActive(s), true);
  assert.equal(s.alert.triggers, 2);
  // acknowledged: quiet again
  feed(s, `${SITE}/${AGENT}/alarm/node1-module-hot`, alarm({ alarm: 'node1-module-hot', acked: true, seq: 131 }), { t: 7 });
  assert.equal(alertActive(s), false);
  // cleared and activated again: a new activation, it rings
  feed(s, `${SITE}/${AGENT}/alarm/node1-module-hot`, alarm({ alarm: 'node1-module-hot', state: 'cleared', acked: true, seq: 132 }), { t: 8 });
  feed(s, `${SITE}/${AGENT}/alarm/node1-module-hot`, alarm({ alarm: 'node1-module-hot', seq: 133 }), { t: 9 });
  assert.equal(alertActive(s), true);
});

test('no alert for warnings, tests, shelved or already acknowledged criticals', () => {
  const s = createStore(P);
  feed(s, `${SITE}/${AGENT}/alarm/w`, alarm({ alarm: 'w', severity: 'warning' }));
  feed(s, `${SITE}/${AGENT}/alarm/t`, alarm({ alarm: 't', test: true }));
  feed(s, `${SITE}/${AGENT}/alarm/s`, alarm({ alarm: 's', shelved: true }));
  feed(s, `${SITE}/${AGENT}/alarm/a`, alarm({ alarm: 'a', acked: true }));
  feed(s, `${SITE}/${AGENT}/alarm/r`, alarm({ alarm: 'r', state: 'cleared' }));
  assert.equal(alertActive(s), false);
  assert.equal(s.alert.triggers, 0);
  // a shelve that ends on an alarm still active and unacked: it rings
  feed(s, `${SITE}/${AGENT}/alarm/s`, alarm({ alarm: 's', shelved: false, seq: 200 }));
  assert.equal(alertActive(s), true);
});

test('applyMessage also takes (topic, payload, now) and bytes', () => {
  const s = createStore(P);
  applyMessage(s, `${A}/status`, new TextEncoder().encode('online'), at(2));
  const a = findAgent(s, `${SITE}/${AGENT}`);
  assert.equal(a.status, 'online');
  assert.equal(a.lastHeard, at(2));
  assert.equal(applyMessage(s, `${A}/alarm/x`, 'not json', at(3)), 'alarm');
  assert.equal(a.alarms.size, 0, 'a payload that is not JSON is dropped');
});
