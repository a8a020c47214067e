// state.js - everything the console knows, derived from the MQTT messages it
// has received.  Pure: no DOM, no MQTT client, no clock of its own (every
// call that needs the time is given `now`, in ms), so the unit tests can
// feed it the payloads emberd and ember-drain publish and check the result.
//
// The renderer reads the store and the dirty sets; it never re-renders per
// message (2,000 sensor messages a second are normal), only once a frame
// what changed.

import { createSeries, seriesPush, seriesWindow } from './ring.js';

export const SERIES_SECONDS = 600; // sparkline: the last 10 minutes
export const EVENT_LOG_MAX = 500;
export const RESULTS_MAX = 100; // commands kept in the outcome list
export const COMMAND_TIMEOUT_MS = 10000;
const SEEN_EVENTS_MAX = 4096;

// Most severe first.  emberd's severities are critical and warning; any
// other name sorts after them, before unknown ones.
export const SEVERITY_RANK = { critical: 0, high: 1, major: 1, warning: 2, minor: 3, low: 3, info: 4 };
// Within one severity: what needs a person first.
export const ISA_RANK = { unacked: 0, rtn_unacked: 1, acked: 2, test: 3, shelved: 4, normal: 5 };

export function severityRank(sev) {
  return SEVERITY_RANK[sev] ?? 5;
}

export function createStore(prefix = 'emberwatch') {
  return {
    prefix,
    sites: new Map(), // name -> site
    controllerStatus: new Map(), // ember-drain id -> 'online' | 'offline'
    events: [], // oldest first; the renderer shows them newest first
    eventSeq: 0,
    seenEvents: new Set(), // (agent, epoch, seq) of events logged
    seenOrder: [],
    commands: new Map(), // id -> command record (ours only)
    commandOrder: [], // ids, oldest first
    alert: { ringing: new Set(), triggers: 0 },
    dirty: newDirty(),
    rev: 0,
  };
}

function newDirty() {
  return {
    structure: false, // a site, agent, zone, sensor or controller appeared or went
    sites: new Set(),
    agents: new Set(),
    sensors: new Set(),
    alarms: false,
    events: false,
    commands: false,
    alert: false,
  };
}

// What changed since the last call; the renderer calls it once per frame.
export function takeDirty(store) {
  const d = store.dirty;
  store.dirty = newDirty();
  return d;
}

function touch(store) {
  store.rev++;
}

// ---- topics -----------------------------------------------------------------

// Splits a topic under the store's prefix into what it is about.  Levels
// starting with "_" directly under the prefix (_drain, _state, _console) are
// not sites, and {p}/{site}/drain/... is the site's drain controller, never
// an agent named "drain".
export function parseTopic(prefix, topic) {
  if (!topic.startsWith(prefix + '/')) return null;
  const p = topic.slice(prefix.length + 1).split('/');
  if (p.some((x) => x === '')) return null;
  if (p[0].startsWith('_')) {
    if (p[0] === '_drain' && p.length === 3 && p[2] === 'status') {
      return { type: 'controller_status', controller: p[1] };
    }
    return { type: 'ignored' };
  }
  const site = p[0];
  if (p.length < 2) return null;
  if (p[1] === 'drain') {
    if (p.length === 3 && p[2] === 'state') return { type: 'site_drain', site };
    if (p.length === 4 && p[2] === 'state') return { type: 'controller_drain', site, controller: p[3] };
    if (p.length === 4 && p[2] === 'cmd' && p[3] === 'result') return { type: 'result', site, agent: null };
    if (p.length === 4 && p[2] === 'cmd') return { type: 'own_command' };
    return null;
  }
  const agent = p[1];
  const rest = p.slice(2);
  if (rest.length === 1 && rest[0] === 'status') return { type: 'status', site, agent };
  if (rest.length === 1 && rest[0] === 'event') return { type: 'event', site, agent };
  if (rest.length === 2 && rest[0] === 'sensor') return { type: 'sensor', site, agent, name: rest[1] };
  if (rest.length === 2 && rest[0] === 'alarm') return { type: 'alarm', site, agent, name: rest[1] };
  if (rest.length === 2 && rest[0] === 'drain') return { type: 'zone', site, agent, name: rest[1] };
  if (rest.length === 2 && rest[0] === 'cmd' && rest[1] === 'result') return { type: 'result', site, agent };
  // cmd/ack, cmd/shelve, ...: commands, ours or another console's, which
  // the subscription to {p}/# hands back; they say nothing about the agent.
  if (rest.length === 2 && rest[0] === 'cmd') return { type: 'own_command' };
  return null;
}

// ---- sites, agents ----------------------------------------------------------

function getSite(store, name) {
  let s = store.sites.get(name);
  if (!s) {
    s = { name, agents: new Map(), drain: null, controllers: new Map() };
    store.sites.set(name, s);
    store.dirty.structure = true;
  }
  return s;
}

function getAgent(store, siteName, name) {
  const site = getSite(store, siteName);
  let a = site.agents.get(name);
  if (!a) {
    a = {
      key: `${siteName}/${name}`,
      site: siteName,
      name,
      status: null, // 'online' | 'offline' | null (never said)
      lastHeard: 0, // ms of the last live message from it; 0: none yet
      alarms: new Map(),
      zones: new Map(),
      sensors: new Map(),
    };
    site.agents.set(name, a);
    store.dirty.structure = true;
  }
  return a;
}

export function findAgent(store, key) {
  const i = key.indexOf('/');
  return store.sites.get(key.slice(0, i))?.agents.get(key.slice(i + 1)) ?? null;
}

// Online from its status (the Last Will says offline).  An agent heard from
// but whose status has not come yet (RabbitMQ, before the state request is
// answered) is taken as online: it is talking.
export function agentOnline(agent) {
  if (agent.status === 'online') return true;
  if (agent.status === 'offline') return false;
  return agent.lastHeard > 0;
}

// ---- the message entry point -------------------------------------------------

function parseJson(payload) {
  try {
    const v = JSON.parse(payload);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch (e) {
    return null;
  }
}

// Feeds one message.  payload is the text (a Buffer or Uint8Array is
// decoded); retained is MQTT's retain flag as delivered (true: a stored
// message handed over on subscribing, so it says nothing about when the
// sender last spoke).  Returns the kind of message, or null when it was
// not one of the contract's.
export function applyMessage(store, topic, payload, retained, now) {
  if (now === undefined && typeof retained === 'number') {
    now = retained;
    retained = false;
  }
  if (typeof payload !== 'string') payload = new TextDecoder().decode(payload);
  const t = parseTopic(store.prefix, topic);
  if (!t) return null;
  switch (t.type) {
    case 'ignored':
    case 'own_command':
      return t.type;
    case 'controller_status':
      controllerStatus(store, t.controller, payload.trim(), now);
      break;
    case 'site_drain':
    case 'controller_drain':
      drainState(store, t, payload, retained, now);
      break;
    case 'result':
      if (t.agent) heard(store, getAgent(store, t.site, t.agent), retained, now);
      result(store, t, payload, now);
      break;
    default: {
      const agent = getAgent(store, t.site, t.agent);
      heard(store, agent, retained, now);
      if (t.type === 'status') agentStatus(store, agent, payload.trim(), now);
      else if (t.type === 'sensor') sensor(store, agent, t.name, payload, now);
      else if (t.type === 'alarm') alarm(store, agent, t.name, payload, now);
      else if (t.type === 'event') event(store, agent, payload, now);
      else if (t.type === 'zone') zone(store, agent, t.name, payload, now);
    }
  }
  touch(store);
  return t.type;
}

function heard(store, agent, retained, now) {
  if (retained) return;
  agent.lastHeard = now;
  store.dirty.agents.add(agent.key);
}

// ---- event log ----------------------------------------------------------------

// kind: event | drain | result | status (the DOM's data-kind).
export function logEvent(store, kind, fields, now) {
  const e = { id: ++store.eventSeq, kind, at: now, ...fields };
  store.events.push(e);
  if (store.events.length > EVENT_LOG_MAX) store.events.splice(0, store.events.length - EVENT_LOG_MAX);
  store.dirty.events = true;
  return e;
}

// Newest first, at most n.
export function recentEvents(store, n = EVENT_LOG_MAX) {
  return store.events.slice(-n).reverse();
}

// ---- status -----------------------------------------------------------------

function agentStatus(store, agent, text, now) {
  if (text !== 'online' && text !== 'offline') return;
  const prev = agent.status;
  agent.status = text;
  store.dirty.agents.add(agent.key);
  // Only a change is news: the retained "online" of 100 agents at load is not.
  if (prev !== null && prev !== text) {
    logEvent(store, 'status', { site: agent.site, agent: agent.name, text: `${agent.key} ${text}` }, now);
  }
}

function controllerStatus(store, id, text, now) {
  if (text === '') {
    store.controllerStatus.delete(id);
  } else if (text === 'online' || text === 'offline') {
    const prev = store.controllerStatus.get(id);
    store.controllerStatus.set(id, text);
    if (prev && prev !== text) {
      logEvent(store, 'status', { text: `controller ${id} ${text}` }, now);
    }
  } else {
    return;
  }
  for (const s of store.sites.values()) store.dirty.sites.add(s.name);
}

// ---- sensors ----------------------------------------------------------------

function sensor(store, agent, name, payload, now) {
  const p = parseJson(payload);
  if (!p) return;
  let s = agent.sensors.get(name);
  if (!s) {
    s = {
      key: `${agent.key}/${name}`,
      name,
      unit: '',
      quality: null,
      value: null,
      ts: null,
      series: createSeries(SERIES_SECONDS),
    };
    agent.sensors.set(name, s);
    store.dirty.structure = true;
  }
  s.unit = typeof p.unit === 'string' ? p.unit : s.unit;
  s.quality = typeof p.quality === 'string' ? p.quality : null;
  // value is null unless good or stale (stale: the last good value).
  s.value = typeof p.value === 'number' ? p.value : null;
  s.ts = typeof p.ts === 'string' ? p.ts : null;
  // The console's own receiving time, not ts: the agents' clocks and the
  // browser's need not agree, and the window is "the last 10 minutes on
  // this screen".  A bad or lost reading is a gap.
  seriesPush(s.series, Math.floor(now / 1000), s.quality === 'good' || s.quality === 'stale' ? s.value : null);
  store.dirty.sensors.add(s.key);
}

export function findSensor(store, key) {
  const parts = key.split('/');
  if (parts.length !== 3) return null;
  return store.sites.get(parts[0])?.agents.get(parts[1])?.sensors.get(parts[2]) ?? null;
}

// [xs (seconds), ys] of the last 10 minutes, for uPlot.
export function sensorSeries(store, key, now) {
  const s = typeof key === 'string' ? findSensor(store, key) : key;
  if (!s) return [[], []];
  return seriesWindow(s.series, Math.floor(now / 1000), SERIES_SECONDS);
}

// ---- alarms -----------------------------------------------------------------

// ISA-18.2 state of an alarm payload (or record): test and shelved first,
// since both hide the underlying state from the operator.
export function isaState(a) {
  const p = a && a.p ? a.p : a;
  if (!p) return 'normal';
  if (p.test === true) return 'test';
  if (p.shelved === true) return 'shelved';
  const active = p.state === 'active';
  if (active) return p.acked ? 'acked' : 'unacked';
  return p.acked ? 'normal' : 'rtn_unacked';
}

// Within one run of emberd (epoch) seq only grows: an older state arriving
// late is ignored.  A new epoch (a restart) always wins.
function newer(prevP, p) {
  if (!prevP) return true;
  if (prevP.epoch !== p.epoch) return true;
  if (typeof prevP.seq !== 'number' || typeof p.seq !== 'number') return true;
  return p.seq >= prevP.seq;
}

// Rings for a critical alarm that has just become active and unacked (or is
// so when first seen, at load too); stays until acknowledged, shelved,
// gone, or silenced.  A later one rings again.
function ringsFor(p) {
  return p && p.severity === 'critical' && isaState(p) === 'unacked';
}

function updateAlert(store, key, prevP, p) {
  const r = store.alert.ringing;
  if (ringsFor(p) && !ringsFor(prevP)) {
    r.add(key);
    store.alert.triggers++;
    store.dirty.alert = true;
  } else if (r.has(key) && (!p || p.acked || p.shelved || p.test || p.severity !== 'critical')) {
    r.delete(key);
    store.dirty.alert = true;
  }
}

export function alertActive(store) {
  return store.alert.ringing.size > 0;
}

// The operator heard it: stop until the next new critical alarm, without
// acknowledging anything.
export function silenceAlert(store) {
  store.alert.ringing.clear();
  store.dirty.alert = true;
  touch(store);
}

function alarm(store, agent, name, payload, now) {
  const prev = agent.alarms.get(name);
  if (payload.trim() === '') {
    // An empty retained message deletes the alarm from the broker.
    if (prev) {
      agent.alarms.delete(name);
      updateAlert(store, prev.key, prev.p, null);
      store.dirty.alarms = true;
      store.dirty.structure = true;
    }
    return;
  }
  const p = parseJson(payload);
  if (!p) return;
  if (prev && !newer(prev.p, p)) return;
  const key = `${agent.key}/${name}`;
  const a = prev || { key, site: agent.site, agent: agent.name, id: name, p: null, by: '', bySeq: null };
  if (!prev) store.dirty.structure = true;
  updateAlert(store, key, prev ? prev.p : null, p);
  a.p = p;
  a.isa = isaState(p);
  a.at = now;
  if (typeof p.by === 'string' && p.by !== '') a.by = p.by;
  agent.alarms.set(name, a);
  store.dirty.alarms = true;
  store.dirty.agents.add(agent.key);
}

function compareAlarms(x, y) {
  return (
    severityRank(x.p.severity) - severityRank(y.p.severity) ||
    ISA_RANK[x.isa] - ISA_RANK[y.isa] ||
    // newest activation first within the same severity and state
    String(y.p.since ?? '').localeCompare(String(x.p.since ?? '')) ||
    x.key.localeCompare(y.key)
  );
}

// Everything not normal, most severe first.
export function activeAlarms(store) {
  const out = [];
  for (const s of store.sites.values()) {
    for (const a of s.agents.values()) {
      for (const al of a.alarms.values()) if (al.isa !== 'normal') out.push(al);
    }
  }
  return out.sort(compareAlarms);
}

// ---- events -----------------------------------------------------------------

const BY_TRANSITIONS = new Set(['acked', 'shelved', 'unshelved', 'test', 'test_end']);

function event(store, agent, payload, now) {
  const p = parseJson(payload);
  if (!p || typeof p.transition !== 'string') return;
  // Delivery is at least once: (agent, epoch, seq) names one event.
  const id = `${agent.key}|${p.epoch ?? ''}|${p.seq ?? ''}`;
  if (p.seq !== undefined) {
    if (store.seenEvents.has(id)) return;
    store.seenEvents.add(id);
    store.seenOrder.push(id);
    if (store.seenOrder.length > SEEN_EVENTS_MAX) store.seenEvents.delete(store.seenOrder.shift());
  }
  const al = agent.alarms.get(p.alarm);
  if (al && BY_TRANSITIONS.has(p.transition) && typeof p.by === 'string' && p.by !== '') {
    al.by = p.by;
    store.dirty.alarms = true;
  }
  const by = p.by ? ` by ${p.by}` : '';
  logEvent(
    store,
    'event',
    {
      site: agent.site,
      agent: agent.name,
      alarm: p.alarm,
      transition: p.transition,
      severity: p.severity,
      ts: p.ts,
      text: `${agent.key} ${p.alarm} ${p.transition}${by}: ${p.message ?? ''}`,
    },
    now,
  );
}

// ---- zones ------------------------------------------------------------------

function zone(store, agent, name, payload, now) {
  const prev = agent.zones.get(name);
  if (payload.trim() === '') {
    if (prev) {
      agent.zones.delete(name);
      store.dirty.structure = true;
    }
    return;
  }
  const p = parseJson(payload);
  if (!p) return;
  if (prev && !newer(prev, p)) return;
  if (!prev) store.dirty.structure = true;
  agent.zones.set(name, p);
  store.dirty.agents.add(agent.key);
  if (prev && (prev.request !== p.request || !!prev.test !== !!p.test)) {
    const what = p.request === 'drain' ? (p.test ? 'test drain request' : 'requests drain') : 'no longer requests drain';
    logEvent(
      store,
      'drain',
      { site: agent.site, agent: agent.name, text: `${agent.key} zone ${name} ${what} (${zoneVotes(p)})` },
      now,
    );
  }
}

export function zoneVotes(p) {
  return `${p.votes ?? '?'}/${p.vote ?? '?'}`;
}

// What a zone's request shows: request, test, votes/vote.
export function zoneView(p) {
  return {
    request: p.request === 'drain' ? 'drain' : 'none',
    test: p.test === true,
    votes: zoneVotes(p),
    reason: p.reason ?? '',
    alarms: Array.isArray(p.alarms) ? p.alarms : [],
  };
}

// ---- drain states -----------------------------------------------------------

function drainState(store, t, payload, retained, now) {
  const site = getSite(store, t.site);
  store.dirty.sites.add(site.name);
  const empty = payload.trim() === '';
  const p = empty ? null : parseJson(payload);
  if (!empty && !p) return;
  if (t.type === 'controller_drain') {
    if (!site.controllers.has(t.controller)) store.dirty.structure = true;
    if (p) site.controllers.set(t.controller, { id: t.controller, p, at: now });
    else site.controllers.delete(t.controller);
    return;
  }
  const prev = site.drain;
  site.drain = p;
  if (p && prev && prev.state !== p.state) {
    logEvent(
      store,
      'drain',
      { site: site.name, text: `site ${site.name} ${prev.state} -> ${p.state}${p.cause ? ': ' + p.cause : ''}` },
      now,
    );
  }
}

// The site's state: the site view (last writer), else the newest of its
// controllers' own states, else unknown.
export function siteDrainState(site) {
  const p = siteDrainPayload(site);
  const s = p?.state;
  return ['serving', 'draining', 'drained', 'held'].includes(s) ? s : 'unknown';
}

export function siteDrainPayload(site) {
  if (site.drain) return site.drain;
  let best = null;
  for (const c of site.controllers.values()) {
    if (!best || String(c.p.ts ?? '') > String(best.ts ?? '')) best = c.p;
  }
  return best;
}

// Every target with its kind, state and the details of its kind.
export function siteTargets(site) {
  const p = siteDrainPayload(site);
  if (!p || !Array.isArray(p.targets)) return [];
  return p.targets
    .filter((x) => x && typeof x.name === 'string')
    .map((x) => {
      let detail = '';
      if (x.kind === 'haproxy' && x.weight !== undefined) detail = `weight ${x.weight}`;
      else if (x.kind === 'dns') {
        const recs = Array.isArray(x.records) ? x.records.join(' ') : '';
        detail = `${recs || '(no records)'}${x.ttl !== undefined ? ` ttl ${x.ttl}` : ''}`;
      } else if (x.kind === 'bgp') detail = `protocol ${x.protocol ?? 'unknown'}`;
      return { name: x.name, kind: x.kind ?? 'unknown', state: x.state ?? 'unknown', detail, error: x.error ?? '' };
    });
}

// The site's controllers: those with their own state topic, the one that
// wrote the site view, and the peers each lists.  online from
// {p}/_drain/{id}/status (their Last Will), else from what a peer says,
// else null (unknown).  state from the controller's own topic first.
export function siteControllers(store, site) {
  const out = new Map();
  const add = (id) => {
    if (!out.has(id)) out.set(id, { id, online: null, state: null, decidedBy: null });
    return out.get(id);
  };
  const views = [];
  if (site.drain) views.push(site.drain);
  for (const c of site.controllers.values()) views.push(c.p);
  for (const v of views) {
    if (typeof v.controller === 'string') add(v.controller);
    if (!Array.isArray(v.controllers)) continue;
    for (const c of v.controllers) {
      if (!c || typeof c.id !== 'string') continue;
      const r = add(c.id);
      if (r.online === null && (c.status === 'online' || c.status === 'offline')) r.online = c.status === 'online';
      if (r.state === null && typeof c.state === 'string') r.state = c.state;
      if (r.decidedBy === null && typeof c.decided_by === 'string') r.decidedBy = c.decided_by;
    }
  }
  for (const c of site.controllers.values()) {
    const r = add(c.id);
    r.state = c.p.state ?? r.state;
  }
  if (site.drain && typeof site.drain.controller === 'string') {
    const r = out.get(site.drain.controller);
    if (!site.controllers.has(r.id)) r.state = site.drain.state ?? r.state;
  }
  for (const r of out.values()) {
    const st = store.controllerStatus.get(r.id);
    if (st) r.online = st === 'online';
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

// ---- commands -----------------------------------------------------------------

// Records a command the console has just published.  cmd: {id, cmd, site,
// agent (null for a site's controllers), target, by}.
export function commandSent(store, cmd, now) {
  const rec = { ...cmd, sentAt: now, outcome: 'pending', error: '', resultAt: null };
  store.commands.set(cmd.id, rec);
  store.commandOrder.push(cmd.id);
  while (store.commandOrder.length > RESULTS_MAX) store.commands.delete(store.commandOrder.shift());
  store.dirty.commands = true;
  touch(store);
  return rec;
}

// The broker refused the publish itself (MQTT 5 PUBACK reason code), or the
// client could not send it: no agent will answer.
export function commandFailed(store, id, error, now) {
  const c = store.commands.get(id);
  if (!c || c.outcome !== 'pending') return;
  c.outcome = 'error';
  c.error = error;
  c.resultAt = now;
  store.dirty.commands = true;
  logEvent(store, 'result', { site: c.site, agent: c.agent, text: `${describe(c)}: ${error}` }, now);
  touch(store);
}

function describe(c) {
  const where = c.agent ? `${c.site}/${c.agent}` : c.site;
  return `${c.cmd} ${c.target ?? ''} on ${where}${c.by ? ' by ' + c.by : ''}`;
}

function result(store, t, payload, now) {
  const p = parseJson(payload);
  if (!p) return;
  const c = typeof p.id === 'string' ? store.commands.get(p.id) : undefined;
  const ok = p.ok === true;
  const err = ok ? '' : String(p.error ?? 'refused');
  if (c && (c.outcome === 'pending' || c.outcome === 'timeout')) {
    // A result after the timeout still tells the truth: show it.
    c.outcome = ok ? 'ok' : 'error';
    c.error = err;
    c.resultAt = now;
    store.dirty.commands = true;
  }
  const where = t.agent ? `${t.site}/${t.agent}` : `${t.site} drain`;
  logEvent(
    store,
    'result',
    { site: t.site, agent: t.agent, text: `${where} ${p.cmd ?? '?'}${p.by ? ' by ' + p.by : ''}: ${ok ? 'ok' : err}` },
    now,
  );
}

// Marks the commands that had no answer within 10 s; returns how many.
export function expireCommands(store, now) {
  let n = 0;
  for (const c of store.commands.values()) {
    if (c.outcome === 'pending' && now - c.sentAt >= COMMAND_TIMEOUT_MS) {
      c.outcome = 'timeout';
      c.error = 'no answer';
      n++;
      logEvent(store, 'result', { site: c.site, agent: c.agent, text: `${describe(c)}: no answer` }, now);
    }
  }
  if (n) {
    store.dirty.commands = true;
    touch(store);
  }
  return n;
}

// Newest first.
export function recentCommands(store) {
  return store.commandOrder.map((id) => store.commands.get(id)).reverse();
}
