// link.js - the MQTT session: connect (MQTT 5, or 3.1.1 when the broker
// refuses 5), subscribe to {p}/#, ask for the current state, and find out
// whether this user may command.  Everything else reaches the page through
// the callbacks.

import mqtt from 'mqtt';
import { stateRequest, probeTopic } from './commands.js';
import { loginRefusal, probeAccess } from './access.js';

// CONNACK codes that mean "not this protocol version": 3.1.1's 1
// (unacceptable protocol version; what a 3.1.1-only broker such as
// RabbitMQ before 3.13 answers to a version-5 CONNECT) and 5's 0x84.
const RC_BAD_VERSION = new Set([1, 0x84]);
// CONNACK codes worth retrying: the server is unavailable or busy.
const RC_RETRY = new Set([3, 0x88, 0x89]);

// opts: {url, username, password, prefix, operator}; cb: {onState(conn,
// text), onMessage(topic, payload, retained), onAccess(access),
// onConnected(version)}.  conn is connecting, connected, offline, error or
// refused (the broker refused the login: the link has ended, since trying
// the same password again cannot help); access is what access.js's
// probeAccess says, or 'probing' while the probe is out.  Returns
// {publish(topic, payload, done), end()}.
export function openLink(opts, cb) {
  let version = 5;
  let client = null;
  let ended = false;
  let retryTimer = null;
  let everConnected = false;

  function start() {
    cb.onState('connecting', `connecting to ${opts.url} (MQTT ${version === 5 ? '5' : '3.1.1'})`);
    let connackSeen = false;
    let opened = false;
    const c = mqtt.connect(opts.url, {
      // Our own WebSocket, to know whether the broker took the connection
      // before it dropped our CONNECT (see 'close' below).
      createWebsocket(url, protocols) {
        opened = false;
        connackSeen = false;
        const ws = new WebSocket(url, protocols);
        ws.addEventListener('open', () => {
          opened = true;
        });
        return ws;
      },
      username: opts.username || undefined,
      password: opts.password || undefined,
      protocolVersion: version,
      clean: true,
      reconnectPeriod: 3000,
      connectTimeout: 10000,
      keepalive: 30,
      // We subscribe on every connect ourselves (and then ask for state).
      resubscribe: false,
      clientId: `ember-console-${Math.random().toString(16).slice(2, 10)}`,
    });
    client = c;

    c.on('connect', () => {
      connackSeen = true;
      everConnected = true;
      cb.onState('connected', `connected to ${opts.url} as ${opts.username || '(anonymous)'}, MQTT ${version === 5 ? '5' : '3.1.1'}`);
      cb.onConnected(version);
      c.subscribe(`${opts.prefix}/#`, { qos: 1 }, (err) => {
        if (err) {
          cb.onState('error', `subscribe refused: ${err.message}`);
          return;
        }
        const r = stateRequest(opts.prefix, opts.operator, Date.now());
        c.publish(r.topic, r.payload, { qos: 1, retain: false });
        probe(c);
      });
    });
    // Any CONNACK, a refusal too, means the broker read our CONNECT.
    c.on('packetreceive', (p) => {
      if (p.cmd === 'connack') connackSeen = true;
    });
    c.on('message', (topic, payload, packet) => {
      if (c === client && !ended) cb.onMessage(topic, payload, !!packet.retain);
    });
    // RabbitMQ 3.12 and older do not answer a version-5 CONNECT at all:
    // they accept the WebSocket and close it.  A broker that never let us
    // in with 5 but opened the socket gets 3.1.1 from now on.
    c.on('close', () => {
      if (c === client && !ended && version === 5 && !everConnected && opened && !connackSeen) {
        fallBack(c);
      }
    });
    c.on('reconnect', () => c === client && cb.onState('connecting', `reconnecting to ${opts.url}`));
    c.on('offline', () => c === client && !ended && cb.onState('offline', `no connection to ${opts.url}; retrying`));
    c.on('error', (err) => {
      // A client given up for another (the fallback), or ended, says
      // nothing more.
      if (c !== client || ended) return;
      const code = err && typeof err.code === 'number' ? err.code : null;
      if (!connackSeen && version === 5 && (RC_BAD_VERSION.has(code) || /protocol/i.test(err.message))) {
        fallBack(c);
        return;
      }
      const refused = loginRefusal(err);
      if (refused) {
        ended = true;
        clearTimeout(retryTimer);
        c.end(true);
        cb.onState('refused', refused);
        return;
      }
      cb.onState('error', `${err.message}`);
      if (code !== null && RC_RETRY.has(code) && !ended) {
        retryTimer = setTimeout(() => !ended && c.reconnect(), 5000);
      }
    });
  }

  // A broker that speaks only 3.1.1: try again with it.
  function fallBack(c) {
    version = 4;
    client = null;
    c.end(true);
    start();
  }

  // Read-only detection, MQTT 5 only: the broker answers a publish it will
  // not accept with PUBACK 0x87 (access.js's probeAccess).  An answer that
  // comes after this client was ended or replaced is not this session's.
  function probe(c) {
    if (version !== 5) {
      cb.onAccess(probeAccess(version, null));
      return;
    }
    cb.onAccess('probing');
    c.publish(probeTopic(opts.prefix, opts.username), '{}', { qos: 1, retain: false }, (err) => {
      if (c === client && !ended) cb.onAccess(probeAccess(version, err));
    });
  }

  start();
  return {
    // done(err): err.code is the MQTT 5 reason code when the broker refused.
    publish(topic, payload, done) {
      if (!client || !client.connected) {
        done(new Error('not connected'));
        return;
      }
      client.publish(topic, payload, { qos: 1, retain: false }, done);
    },
    end() {
      ended = true;
      clearTimeout(retryTimer);
      if (client) client.end(true);
    },
  };
}
