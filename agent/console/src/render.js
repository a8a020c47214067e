// render.js - the store drawn into the page.  Called once per animation
// frame with what changed since the last one (takeDirty); each element is
// keyed by its data-* name and updated in place, so the browser tests and
// the operator's eye both see stable elements.  The data-* attributes are
// the page's contract with its browser tests (tests/console): they never
// depend on CSS classes.

import {
  takeDirty,
  activeAlarms,
  agentOnline,
  zoneView,
  siteDrainState,
  siteDrainPayload,
  siteTargets,
  siteControllers,
  recentEvents,
  recentCommands,
  alertActive,
  EVENT_LOG_MAX,
} from './state.js';

// ---- small DOM helpers --------------------------------------------------------

function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function setAttr(e, name, value) {
  const v = String(value);
  if (e.getAttribute(name) !== v) e.setAttribute(name, v);
}

function setText(e, text) {
  const t = String(text);
  if (e.textContent !== t) e.textContent = t;
}

// Makes container's element children exactly `keys`, in order: cache maps
// a key to its element, create(key) makes a missing one.  Elements not
// listed are removed (and left to onRemove).
function reconcile(container, keys, cache, create, onRemove) {
  const want = new Set(keys);
  for (const [k, el] of cache) {
    if (!want.has(k) && el.parentNode === container) {
      el.remove();
      cache.delete(k);
      if (onRemove) onRemove(k, el);
    }
  }
  let cursor = container.firstElementChild;
  for (const k of keys) {
    let el = cache.get(k);
    if (!el) {
      el = create(k);
      cache.set(k, el);
    }
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
}

export function clockTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// A time of day, with the date in front when it is not today's.
export function when(ms, now = Date.now()) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  const n = new Date(now);
  if (d.toDateString() === n.toDateString()) return clockTime(ms);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${clockTime(ms).slice(0, 5)}`;
}

export function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function fmtValue(v, unit) {
  if (typeof v !== 'number') return '—';
  const t = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${t} ${unit}` : t;
}

const ISA_TEXT = {
  unacked: 'UNACKED',
  acked: 'acked',
  rtn_unacked: 'cleared, unacked',
  shelved: 'shelved',
  test: 'TEST',
  normal: 'normal',
};

// ---- the renderer ---------------------------------------------------------------

// store: the state store; sparks: spark.js; doc ids as in index.html.
export function createRenderer(store, sparks) {
  const $ = (id) => document.getElementById(id);
  const sitesBox = $('sites');
  const alarmsBox = $('alarms');
  const siteEls = new Map();
  const agentEls = new Map();
  const zoneEls = new Map();
  const sensorEls = new Map();
  const alarmEls = new Map();
  const resultEls = new Map();
  let readonly = true;
  let lastEventId = 0;

  function button(action, label) {
    const b = h('button', { type: 'button', 'data-action': action, text: label });
    b.disabled = readonly;
    return b;
  }

  // A command button.  Disabled only when the session is read-only or the
  // command can never work (emberd's own _journal alarm); one that seems
  // not to apply now (release on a site not held) is only dimmed: the
  // state shown may be a moment old, and the agent's answer tells the truth.
  function enable(b, allowed, applies = true) {
    b.dataset.na = allowed ? 'false' : 'true';
    b.classList.toggle('dim', !applies);
    const d = readonly || !allowed;
    if (b.disabled !== d) b.disabled = d;
  }

  // ---- sites ----

  function createSite(name) {
    const el = h('section', { class: 'site', 'data-site': name, 'data-drain-state': 'unknown' });
    const refs = {
      state: h('span', { class: 'drain-state', text: 'unknown' }),
      votes: h('span', { class: 'drain-votes' }),
      info: h('div', { class: 'drain-info' }),
      targets: h('tbody'),
      controllers: h('div', { class: 'controllers' }),
      agents: h('div', { class: 'agents' }),
      reason: h('input', { 'data-field': 'site-reason', placeholder: 'reason (hold/release)', size: '18' }),
      hold: button('hold', 'Hold'),
      release: button('release', 'Release'),
      undrain: button('undrain', 'Undrain…'),
      targetEls: new Map(),
      ctlEls: new Map(),
    };
    el.append(
      h(
        'div',
        { class: 'site-head' },
        h('h3', { text: name }),
        refs.state,
        refs.votes,
        h('span', { class: 'actions' }, refs.reason, refs.hold, refs.release, refs.undrain),
      ),
      refs.info,
      (refs.table = h(
        'table',
        { class: 'targets' },
        h('thead', {}, h('tr', {}, ...['target', 'kind', 'state', 'read back', ''].map((t) => h('th', { text: t })))),
        refs.targets,
      )),
      refs.controllers,
      refs.agents,
    );
    el._r = refs;
    return el;
  }

  function updateSite(site) {
    const el = siteEls.get(site.name);
    if (!el) return;
    const r = el._r;
    const state = siteDrainState(site);
    const p = siteDrainPayload(site);
    setAttr(el, 'data-drain-state', state);
    setText(r.state, p && p.state === 'held' && p.held_state ? `held (${p.held_state})` : state);
    setText(r.votes, p ? `votes ${p.votes ?? '?'}/${p.vote ?? '?'}` : '');
    const bits = [];
    if (p) {
      if (p.cause) bits.push(p.cause);
      if (p.since) bits.push(`since ${when(Date.parse(p.since))}`);
      if (p.by) bits.push(`by ${p.by}`);
      if (Array.isArray(p.zones) && p.zones.length) bits.push(`zones ${p.zones.join(', ')}`);
      if (Array.isArray(p.tests) && p.tests.length) {
        bits.push(`tests ${p.tests.map((t) => (t && t.zone ? `${t.agent}/${t.zone}` : String(t))).join(', ')}`);
      }
      if (p.dry_run) bits.push('DRY RUN');
      if (p.controller) bits.push(`reported by ${p.controller}`);
    } else {
      bits.push('no drain controller has reported');
    }
    setText(r.info, bits.join(' · '));
    enable(r.hold, true, state !== 'held');
    enable(r.release, true, state === 'held');
    enable(r.undrain, true);

    const targets = siteTargets(site);
    r.table.hidden = targets.length === 0;
    const byKey = new Map(targets.map((t) => [`${site.name}|${t.name}`, t]));
    reconcile(r.targets, [...byKey.keys()], r.targetEls, (k) => {
      const tr = h('tr', { class: 'target', 'data-target': k });
      tr.append(h('td'), h('td'), h('td', { class: 'tstate' }), h('td'), h('td', { class: 'terr' }));
      return tr;
    });
    for (const [k, t] of byKey) {
      const tr = r.targetEls.get(k);
      setAttr(tr, 'data-kind', t.kind);
      setAttr(tr, 'data-state', t.state);
      const td = tr.children;
      setText(td[0], t.name);
      setText(td[1], t.kind);
      setText(td[2], t.state);
      setText(td[3], t.detail);
      setText(td[4], t.error);
    }

    const ctls = siteControllers(store, site);
    const ctlBy = new Map(ctls.map((c) => [`${site.name}|${c.id}`, c]));
    reconcile(r.controllers, [...ctlBy.keys()], r.ctlEls, (k) => h('span', { class: 'controller', 'data-controller': k }));
    for (const [k, c] of ctlBy) {
      const e = r.ctlEls.get(k);
      const online = c.online === null ? 'unknown' : String(c.online);
      setAttr(e, 'data-online', online);
      setAttr(e, 'data-state', c.state ?? 'unknown');
      const on = c.online === null ? 'status unknown' : c.online ? 'online' : 'OFFLINE';
      setText(e, `${c.id}: ${on}, ${c.state ?? 'no state'}${c.decidedBy ? ` (decided by ${c.decidedBy})` : ''}`);
    }
  }

  // ---- agents, zones, sensors ----

  function createAgent(key, agent) {
    const el = h('div', { class: 'agent', 'data-agent': key, 'data-online': 'false' });
    const refs = {
      online: h('span', { class: 'online' }),
      lastHeard: h('span', { class: 'last-heard' }),
      zones: h('div', { class: 'zones' }),
      sensors: h('div', { class: 'sensors' }),
      normal: h('div', { class: 'normal-count' }),
      zoneKeys: [],
      sensorKeys: [],
    };
    el.append(h('div', { class: 'agent-head' }, h('h4', { text: agent.name }), refs.online, refs.lastHeard), refs.zones, refs.sensors, refs.normal);
    el._r = refs;
    el._agent = agent;
    return el;
  }

  function createZone(key, agent, zname) {
    const el = h('div', { class: 'zone', 'data-zone': key, 'data-request': 'none', 'data-test': 'false' });
    const refs = {
      req: h('span', { class: 'req' }),
      reason: h('span', { class: 'zreason' }),
      test: button('test', 'Test zone'),
    };
    el.append(h('strong', { text: `zone ${zname}` }), refs.req, refs.reason, h('span', { class: 'zactions' }, refs.test));
    el._r = refs;
    return el;
  }

  function createSensor(key, s) {
    const el = h('div', { class: 'sensor', 'data-sensor': key, 'data-quality': 'bad' });
    const refs = { value: h('span', { class: 'value' }), quality: h('span', { class: 'quality' }), spark: h('div', { class: 'spark' }) };
    el.append(h('div', { class: 'sname', text: s.name, title: s.name }), h('div', {}, refs.value, refs.quality), refs.spark);
    el._r = refs;
    sparks.attach(key, refs.spark);
    return el;
  }

  function updateAgent(agent, now) {
    const el = agentEls.get(agent.key);
    if (!el) return;
    const r = el._r;
    const on = agentOnline(agent);
    setAttr(el, 'data-online', on);
    setText(r.online, agent.status === null ? (on ? 'online (no status yet)' : 'status unknown') : on ? 'online' : 'OFFLINE');
    setText(r.lastHeard, agent.lastHeard ? `last heard ${ago(now - agent.lastHeard)} ago` : 'last heard: —');
    for (const [zname, p] of agent.zones) {
      const z = zoneEls.get(`${agent.key}/${zname}`);
      if (!z) continue;
      const v = zoneView(p);
      setAttr(z, 'data-request', v.request);
      setAttr(z, 'data-test', v.test);
      setText(z._r.req, `${v.request === 'drain' ? (v.test ? 'TEST drain' : 'DRAIN') : 'none'} ${v.votes}`);
      setText(z._r.reason, v.reason);
      enable(z._r.test, true);
    }
    const normal = [...agent.alarms.values()].filter((a) => a.isa === 'normal').length;
    setText(r.normal, `${agent.alarms.size - normal} of ${agent.alarms.size} alarm${agent.alarms.size === 1 ? '' : 's'} not normal`);
  }

  function updateSensor(s) {
    const el = sensorEls.get(s.key);
    if (!el) return;
    setAttr(el, 'data-quality', s.quality ?? 'bad');
    setText(el._r.value, fmtValue(s.value, s.unit));
    setText(el._r.quality, s.quality === 'good' ? '' : s.quality ?? '');
  }

  // Sites, agents, zones, sensors: their presence and order (names sorted).
  function structure() {
    const sites = [...store.sites.values()].sort((a, b) => a.name.localeCompare(b.name));
    reconcile(sitesBox, sites.map((s) => s.name), siteEls, (k) => createSite(k));
    for (const site of sites) {
      const sEl = siteEls.get(site.name);
      const agents = [...site.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
      reconcile(sEl._r.agents, agents.map((a) => a.key), agentEls, (k) => createAgent(k, site.agents.get(k.slice(site.name.length + 1))));
      for (const a of agents) {
        const aEl = agentEls.get(a.key);
        const zkeys = [...a.zones.keys()].sort().map((z) => `${a.key}/${z}`);
        reconcile(aEl._r.zones, zkeys, zoneEls, (k) => createZone(k, a, k.slice(a.key.length + 1)));
        const skeys = [...a.sensors.keys()].sort().map((n) => `${a.key}/${n}`);
        reconcile(aEl._r.sensors, skeys, sensorEls, (k) => createSensor(k, a.sensors.get(k.slice(a.key.length + 1))), (k) =>
          sparks.detach(k),
        );
      }
    }
  }

  // ---- alarms ----

  function createAlarm(key) {
    const el = h('li', { class: 'alarm', 'data-alarm': key });
    const refs = {
      sev: h('span', { class: 'sev' }),
      isa: h('span', { class: 'isa' }),
      where: h('div', { class: 'where' }),
      msg: h('div', { class: 'msg' }),
      ack: button('ack', 'Ack'),
      shelve: button('shelve', 'Shelve…'),
      unshelve: button('unshelve', 'Unshelve'),
    };
    el.append(
      refs.sev,
      refs.isa,
      h('div', { class: 'what' }, refs.where, refs.msg),
      h('div', { class: 'actions' }, refs.ack, refs.shelve, refs.unshelve),
    );
    el._r = refs;
    return el;
  }

  function updateAlarm(a, now) {
    const el = alarmEls.get(a.key);
    const r = el._r;
    const p = a.p;
    setAttr(el, 'data-severity', p.severity ?? 'unknown');
    setAttr(el, 'data-isa', a.isa);
    setAttr(el, 'data-by', a.by ?? '');
    setText(r.sev, p.severity ?? '?');
    let isa = ISA_TEXT[a.isa] ?? a.isa;
    if (a.isa === 'shelved' && p.shelved_until) {
      const end = Date.parse(p.shelved_until);
      isa += ` until ${when(end, now)}${end > now && end - now < 86400000 ? ` (${ago(end - now)} left)` : ''}`;
    }
    if (a.by) isa += ` · ${a.by}`;
    setText(r.isa, isa);
    const since = p.since ? ` · since ${when(Date.parse(p.since), now)}` : '';
    setText(r.where, `${a.site} / ${a.agent}${p.zone ? ` / zone ${p.zone}` : ''} · ${a.id}${since}`);
    const val = typeof p.value === 'number' ? ` (${fmtValue(p.value, p.unit)}${typeof p.setpoint === 'number' ? `, setpoint ${p.setpoint}` : ''})` : '';
    setText(r.msg, `${p.message ?? ''}${val}`);
    // emberd's own _journal alarm clears itself and takes no ack or shelve.
    const own = p.kind === 'journal';
    enable(r.ack, !own, !p.acked);
    enable(r.shelve, !own, !p.shelved);
    enable(r.unshelve, !own, !!p.shelved);
  }

  // The active list: one element per alarm that is not normal, most
  // severe first.  A normal alarm has no element at all (the agent's card
  // counts them), so "no [data-alarm]" means nothing needs a person.
  function alarms(now) {
    const active = activeAlarms(store);
    reconcile(alarmsBox, active.map((a) => a.key), alarmEls, (k) => createAlarm(k));
    for (const a of active) updateAlarm(a, now);
    setText(document.getElementById('alarm-count'), active.length ? `(${active.length})` : '');
    document.getElementById('alarms-empty').hidden = active.length > 0;
  }

  // ---- commands, events, alert ----

  function results() {
    const cmds = recentCommands(store);
    const box = document.getElementById('results');
    reconcile(box, cmds.map((c) => c.id), resultEls, (id) => {
      const li = h('li', { 'data-cmd-id': id });
      li.append(h('span', { class: 'what' }), ' ', h('span', { class: 'outcome' }));
      return li;
    });
    for (const c of cmds) {
      const li = resultEls.get(c.id);
      setAttr(li, 'data-cmd', c.cmd);
      setAttr(li, 'data-outcome', c.outcome);
      const where = c.agent ? `${c.site}/${c.agent}` : c.site;
      setText(li.children[0], `${clockTime(c.sentAt)} ${c.cmd} ${c.target ?? ''} on ${where}`);
      const text = { pending: 'sent, waiting…', ok: 'ok', timeout: 'no answer', error: `error: ${c.error}` }[c.outcome];
      setText(li.children[1], text);
    }
  }

  function events() {
    const box = document.getElementById('events');
    const fresh = recentEvents(store).filter((e) => e.id > lastEventId);
    if (!fresh.length) return;
    lastEventId = fresh[0].id;
    const frag = document.createDocumentFragment();
    for (const e of fresh) {
      const li = h('li', { 'data-event': String(e.id), 'data-kind': e.kind });
      li.append(h('span', { class: 'when', text: clockTime(e.at) }), e.text);
      frag.append(li);
    }
    box.prepend(frag);
    while (box.children.length > EVENT_LOG_MAX) box.lastElementChild.remove();
  }

  function alert(siren) {
    const on = alertActive(store);
    setAttr(document.getElementById('alert'), 'data-active', on);
    if (on) {
      const names = [...store.alert.ringing].slice(0, 3).join(', ');
      setText(document.getElementById('alert-text'), `NEW CRITICAL ALARM: ${names}${store.alert.ringing.size > 3 ? ' …' : ''}`);
      siren.start();
    } else {
      siren.stop();
    }
  }

  return {
    // One frame: only what changed.
    frame(now, siren) {
      const d = takeDirty(store);
      if (d.structure) structure();
      const sites = d.structure ? store.sites.values() : [...d.sites].map((n) => store.sites.get(n));
      for (const s of sites) if (s) updateSite(s);
      if (d.structure) {
        for (const s of store.sites.values()) for (const a of s.agents.values()) updateAgent(a, now);
      } else {
        for (const k of d.agents) {
          const el = agentEls.get(k);
          if (el) updateAgent(el._agent, now);
        }
      }
      for (const k of d.sensors) {
        const el = sensorEls.get(k);
        if (el) {
          const [site, agent, name] = k.split('/');
          const s = store.sites.get(site)?.agents.get(agent)?.sensors.get(name);
          if (s) updateSensor(s);
        }
      }
      if (d.structure) for (const s of store.sites.values()) for (const a of s.agents.values()) for (const x of a.sensors.values()) updateSensor(x);
      if (d.alarms || d.structure) alarms(now);
      if (d.commands) results();
      if (d.events) events();
      if (d.alert) alert(siren);
    },
    // Once a second: the texts that age without a message.
    tick(now) {
      for (const el of agentEls.values()) {
        const a = el._agent;
        setText(el._r.lastHeard, a.lastHeard ? `last heard ${ago(now - a.lastHeard)} ago` : 'last heard: —');
      }
      for (const s of store.sites.values()) {
        for (const ag of s.agents.values()) {
          for (const a of ag.alarms.values()) if (a.isa === 'shelved' && alarmEls.has(a.key)) updateAlarm(a, now);
        }
      }
    },
    setReadonly(ro) {
      readonly = ro;
      document.body.dataset.readonly = String(ro);
      for (const b of document.querySelectorAll('main button[data-action]')) b.disabled = ro || b.dataset.na === 'true';
    },
  };
}
