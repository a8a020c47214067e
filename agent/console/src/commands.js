// commands.js - what the console publishes: command topics and payloads, ids,
// durations, the state request and the read-only probe's topic.  Pure: no DOM, no
// MQTT, so the unit tests check exactly the bytes an agent would receive.

export const AGENT_VERBS = ['ack', 'shelve', 'unshelve', 'test'];
export const DRAIN_VERBS = ['hold', 'release', 'undrain'];

// emberd takes a shelve of 1 s to 7 days, in s, m, h or d.
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 };
export const SHELVE_MIN_S = 1;
export const SHELVE_MAX_S = 7 * 86400;

// "30m" -> 1800; null when it is not one number and one unit, or out of range.
export function parseDuration(text) {
  const m = /^\s*(\d{1,7})\s*([smhd])\s*$/.exec(String(text ?? ''));
  if (!m) return null;
  const s = Number(m[1]) * UNIT_SECONDS[m[2]];
  return s >= SHELVE_MIN_S && s <= SHELVE_MAX_S ? s : null;
}

// An id emberd accepts: 1-64 printable ASCII characters, no '"' or '\'.
export function validId(id) {
  return typeof id === 'string' && /^[\x20-\x7e]{1,64}$/.test(id) && !/["\\]/.test(id);
}

// A random UUID (version 4).  crypto.randomUUID exists only in secure
// contexts (https or localhost), and a NOC page is often served over plain
// http on a private address, so build one from getRandomValues there.
export function newCommandId(c = globalThis.crypto) {
  if (c && typeof c.randomUUID === 'function') {
    try {
      return c.randomUUID();
    } catch (e) {
      // not a secure context after all: fall through
    }
  }
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// A command to one agent.  args: {alarm} for ack/unshelve, {alarm, duration}
// for shelve, {zone, duration?} for test.  Returns {topic, payload, target}
// or throws with a message fit to show the operator.
export function agentCommand(prefix, site, agent, verb, args, by, id) {
  if (!AGENT_VERBS.includes(verb)) throw new Error(`unknown command ${verb}`);
  if (!validId(id)) throw new Error('bad command id');
  const body = {};
  let target;
  if (verb === 'test') {
    if (!args.zone) throw new Error('test needs a zone');
    body.zone = args.zone;
    target = args.zone;
    if (args.duration) body.duration = args.duration;
  } else {
    if (!args.alarm) throw new Error(`${verb} needs an alarm`);
    body.alarm = args.alarm;
    target = args.alarm;
    if (verb === 'shelve') {
      // Sent as typed: the agent checks it (1 s to 7 days) and answers on
      // cmd/result; parseDuration only warns the operator beforehand.
      const d = String(args.duration ?? '').trim();
      if (!d) throw new Error('shelve needs a duration');
      body.duration = d;
    }
  }
  body.id = id;
  body.by = by;
  return { topic: `${prefix}/${site}/${agent}/cmd/${verb}`, payload: JSON.stringify(body), target };
}

// A command to a site's drain controllers.
export function drainCommand(prefix, site, verb, by, reason, id) {
  if (!DRAIN_VERBS.includes(verb)) throw new Error(`unknown command ${verb}`);
  if (!validId(id)) throw new Error('bad command id');
  const body = { id, by, reason: reason ?? '' };
  return { topic: `${prefix}/${site}/drain/cmd/${verb}`, payload: JSON.stringify(body), target: site };
}

// Asks every agent and controller to republish its status and retained
// states: RabbitMQ delivers no retained message to a wildcard subscription.
export function stateRequest(prefix, by, now) {
  return {
    topic: `${prefix}/_state/request`,
    payload: JSON.stringify({ ts: new Date(now).toISOString(), by }),
  };
}

// The topic of the read-only probe: a command-shaped topic no agent reads,
// under the rights an operator with command rights has (`{p}/+/+/cmd/+`).
// A user name is one topic level, so its wildcard and separator characters
// are replaced.
export function probeTopic(prefix, username) {
  const u = String(username || 'anonymous').replace(/[/+#\u0000]/g, '_');
  return `${prefix}/_console/${u}/cmd/probe`;
}

