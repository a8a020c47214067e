// main.js - the page: login form, the MQTT link, operator actions, and the
// render loop (one requestAnimationFrame per batch of messages, never one
// render per message).

import { createStore, applyMessage, silenceAlert, commandSent, commandFailed, expireCommands } from './state.js';
import { agentCommand, drainCommand, newCommandId, parseDuration } from './commands.js';
import { openLink } from './link.js';
import { ACCESS_TEXT, RC_NOT_AUTHORIZED } from './access.js';
import { createRenderer, clockTime } from './render.js';
import { createSparks } from './spark.js';
import { createSiren } from './alert.js';

const $ = (id) => document.getElementById(id);

let store = null;
let link = null;
let renderer = null;
let sparks = null;
let operator = '';
let prefix = 'emberwatch';
let framePending = false;
// One per connect(): callbacks of an older session (a link ended by a new
// login) change nothing.
let session = 0;
const siren = createSiren();

function scheduleFrame() {
  if (framePending) return;
  framePending = true;
  requestAnimationFrame(() => {
    framePending = false;
    if (renderer) renderer.frame(Date.now(), siren);
  });
}

function setConn(state, text) {
  const c = $('conn');
  c.dataset.conn = state;
  c.textContent = text;
}

// What this login may do (access.js): none before the broker took it,
// probing while the probe is out, then command, readonly or unknown.  Only
// command enables the command buttons.
function setAccess(access) {
  document.body.dataset.access = access;
  $('access').textContent = ACCESS_TEXT[access] ?? '';
  if (renderer) renderer.setReadonly(access !== 'command');
}

// ---- login --------------------------------------------------------------------

function defaultBroker() {
  if (location.protocol === 'http:' || location.protocol === 'https:') {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
  }
  return 'ws://localhost:9001/';
}

function prefill() {
  const q = new URLSearchParams(location.search);
  $('broker').value = q.get('broker') || defaultBroker();
  for (const f of ['username', 'password', 'operator', 'prefix']) if (q.has(f)) $(f).value = q.get(f);
  return q.get('autoconnect') === '1';
}

function connect() {
  if (link) link.end();
  if (sparks) {
    // the old page's tiles go with the old store
    $('sites').replaceChildren();
  }
  prefix = $('prefix').value.trim() || 'emberwatch';
  operator = $('operator').value.trim() || $('username').value.trim();
  store = createStore(prefix);
  sparks = createSparks(store);
  $('alarms').replaceChildren();
  $('events').replaceChildren();
  $('results').replaceChildren();
  renderer = createRenderer(store, sparks);
  setAccess('none');
  const mine = ++session;
  link = openLink(
    {
      url: $('broker').value.trim(),
      username: $('username').value.trim(),
      password: $('password').value,
      prefix,
      operator,
    },
    {
      onState(state, text) {
        if (mine !== session) return;
        setConn(state, text);
        if (state === 'connected') {
          $('login').hidden = true;
          $('show-login').hidden = false;
        } else if (state === 'refused') {
          setAccess('none');
          $('login').hidden = false;
          $('password').select();
        }
      },
      onConnected() {
        // Until the probe answers, no command: it may be refused.
        if (mine === session) setAccess('probing');
      },
      onAccess(access) {
        if (mine === session) setAccess(access);
      },
      onMessage(topic, payload, retained) {
        if (mine !== session) return;
        applyMessage(store, topic, payload, retained, Date.now());
        scheduleFrame();
      },
    },
  );
}

// ---- operator actions ------------------------------------------------------------

function send(rec, built) {
  commandSent(store, { ...rec, id: rec.id, target: built.target, by: operator }, Date.now());
  scheduleFrame();
  link.publish(built.topic, built.payload, (err) => {
    if (err) {
      const why = err.code === RC_NOT_AUTHORIZED ? 'not authorized (refused by the broker)' : err.message;
      commandFailed(store, rec.id, why, Date.now());
      scheduleFrame();
    }
  });
}

function agentAction(verb, site, agent, args) {
  const id = newCommandId();
  let built;
  try {
    built = agentCommand(prefix, site, agent, verb, args, operator, id);
  } catch (e) {
    setConn($('conn').dataset.conn, `${verb}: ${e.message}`);
    return;
  }
  send({ id, cmd: verb, site, agent }, built);
}

function siteAction(verb, site, reason) {
  const id = newCommandId();
  send({ id, cmd: verb, site, agent: null }, drainCommand(prefix, site, verb, operator, reason, id));
}

function splitKey(key) {
  // SITE/AGENT/NAME: names are single topic levels, so no '/' inside.
  const [site, agent, ...rest] = key.split('/');
  return { site, agent, name: rest.join('/') };
}

function onClick(ev) {
  siren.unlock();
  const b = ev.target.closest('button[data-action]');
  if (!b || b.disabled || !store) return;
  const action = b.dataset.action;
  const alarmEl = b.closest('[data-alarm]');
  const zoneEl = b.closest('[data-zone]');
  const siteEl = b.closest('[data-site]');
  if (alarmEl && (action === 'ack' || action === 'shelve' || action === 'unshelve')) {
    const k = splitKey(alarmEl.dataset.alarm);
    if (action === 'shelve') {
      openShelve(alarmEl.dataset.alarm);
      return;
    }
    agentAction(action, k.site, k.agent, { alarm: k.name });
  } else if (zoneEl && action === 'test') {
    const k = splitKey(zoneEl.dataset.zone);
    agentAction('test', k.site, k.agent, { zone: k.name });
  } else if (siteEl && (action === 'hold' || action === 'release')) {
    siteAction(action, siteEl.dataset.site, siteEl.querySelector('[data-field="site-reason"]').value.trim());
  } else if (siteEl && action === 'undrain') {
    openUndrain(siteEl.dataset.site);
  }
}

// Shelve asks for how long.  A duration the agents would refuse is said
// so, and still sent when confirmed: the agent is the authority on its
// limits, and its refusal shows as the command's outcome.
function openShelve(key) {
  const d = $('shelve-dialog');
  d.dataset.alarm = key;
  $('shelve-alarm').textContent = key;
  const input = d.querySelector('[data-field="duration"]');
  input.value = '30m';
  d.querySelector('[data-field="hint"]').textContent = '';
  d.showModal();
  input.select();
}

function shelveHint() {
  const d = $('shelve-dialog');
  const v = d.querySelector('[data-field="duration"]').value.trim();
  d.querySelector('[data-field="hint"]').textContent =
    v === '' || parseDuration(v) !== null ? '' : `${v}: not 1 s to 7 days in s, m, h or d; the agent will refuse it`;
}

function confirmShelve() {
  const d = $('shelve-dialog');
  const duration = d.querySelector('[data-field="duration"]').value.trim();
  if (!duration) {
    d.querySelector('[data-field="hint"]').textContent = 'a duration is required, e.g. 30m';
    return;
  }
  d.close();
  const k = splitKey(d.dataset.alarm);
  agentAction('shelve', k.site, k.agent, { alarm: k.name, duration });
}

// Undrain puts a burning site back into service: the operator types the
// site's name and a reason, and nothing is sent until both are right.
function openUndrain(site) {
  const d = $('undrain-dialog');
  d.dataset.site = site;
  $('undrain-site').textContent = site;
  d.querySelector('[data-field="confirm"]').value = '';
  d.querySelector('[data-field="reason"]').value = '';
  d.querySelector('[data-field="error"]').textContent = '';
  d.showModal();
}

function confirmUndrain() {
  const d = $('undrain-dialog');
  const site = d.dataset.site;
  const typed = d.querySelector('[data-field="confirm"]').value.trim();
  const reason = d.querySelector('[data-field="reason"]').value.trim();
  const err = d.querySelector('[data-field="error"]');
  if (typed !== site) {
    err.textContent = `type the site name "${site}" to confirm`;
    return;
  }
  if (!reason) {
    err.textContent = 'a reason is required';
    return;
  }
  d.close();
  siteAction('undrain', site, reason);
}

// ---- start ----------------------------------------------------------------------

function start() {
  const auto = prefill();
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    siren.unlock();
    connect();
  });
  $('show-login').addEventListener('click', () => {
    $('login').hidden = !$('login').hidden;
  });
  $('silence').addEventListener('click', () => {
    siren.unlock();
    if (store) silenceAlert(store);
    siren.stop();
    scheduleFrame();
  });
  document.querySelector('#undrain-dialog [data-action="undrain-confirm"]').addEventListener('click', confirmUndrain);
  document.querySelector('#undrain-dialog [data-action="undrain-cancel"]').addEventListener('click', () => $('undrain-dialog').close());
  document.querySelector('#shelve-dialog [data-action="shelve-confirm"]').addEventListener('click', confirmShelve);
  document.querySelector('#shelve-dialog [data-action="shelve-cancel"]').addEventListener('click', () => $('shelve-dialog').close());
  document.querySelector('#shelve-dialog [data-field="duration"]').addEventListener('input', shelveHint);
  document.addEventListener('click', onClick);
  document.addEventListener('keydown', () => siren.unlock(), { once: true });
  setInterval(() => {
    const now = Date.now();
    $('clock').textContent = clockTime(now);
    if (!store) return;
    expireCommands(store, now);
    renderer.tick(now);
    sparks.tick(now);
    scheduleFrame();
  }, 1000);
  if (auto) connect();
}

start();
