// Unit tests of src/access.js: what the broker's answers say about a login
// (a refused CONNACK, the read-only probe's PUBACK).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginRefusal, probeAccess, ACCESS_TEXT, RC_NOT_AUTHORIZED } from '../src/access.js';

// mqtt.js's errors: an Error with the reason code in .code.
function rcError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

test('a refused login says so, whichever refusal code the broker used', () => {
  // mosquitto answers a wrong password with "not authorized" (MQTT 5: 0x87).
  const m5 = loginRefusal(rcError(0x87, 'Connection refused: Not authorized'));
  assert.equal(m5, 'login refused by the broker: user name or password not accepted (Not authorized)');
  assert.match(loginRefusal(rcError(0x86, 'Connection refused: Bad User Name or Password')), /^login refused .*\(Bad User Name or Password\)$/);
  // MQTT 3.1.1 (RabbitMQ, or the fallback): 4 and 5.
  assert.match(loginRefusal(rcError(4, 'Connection refused: Bad username or password')), /^login refused/);
  assert.match(loginRefusal(rcError(5, 'Connection refused: Not authorized')), /^login refused/);
  assert.equal(loginRefusal(rcError(0x87, '')), 'login refused by the broker: user name or password not accepted');
});

test('other connection errors are not a refused login', () => {
  assert.equal(loginRefusal(rcError(3, 'Connection refused: Server unavailable')), null);
  assert.equal(loginRefusal(rcError(0x88, 'Connection refused: Server unavailable')), null);
  assert.equal(loginRefusal(rcError(0x84, 'Connection refused: Unsupported Protocol Version')), null);
  assert.equal(loginRefusal(rcError(1, 'Connection refused: Unacceptable protocol version')), null);
  assert.equal(loginRefusal(new Error('WebSocket error')), null);
  assert.equal(loginRefusal(rcError('ECONNREFUSED', 'connect ECONNREFUSED')), null);
  assert.equal(loginRefusal(null), null);
});

test('the probe: taken is command, refused (0x87) is read-only, anything else unknown', () => {
  assert.equal(RC_NOT_AUTHORIZED, 0x87);
  assert.equal(probeAccess(5, null), 'command');
  assert.equal(probeAccess(5, undefined), 'command');
  assert.equal(probeAccess(5, rcError(0x87, 'Publish error: Not authorized')), 'readonly');
  // The connection went before the answer, or another refusal: no verdict,
  // so no command until the next connection's probe answers.
  assert.equal(probeAccess(5, new Error('Connection closed')), 'unknown');
  assert.equal(probeAccess(5, rcError(0x97, 'Publish error: Quota exceeded')), 'unknown');
  assert.equal(probeAccess(5, rcError(0x80, 'Publish error: Unspecified error')), 'unknown');
});

test('MQTT 3.1.1 has no refusal to read: commands are assumed allowed', () => {
  assert.equal(probeAccess(4, null), 'command');
  assert.equal(probeAccess(4, new Error('Connection closed')), 'command');
});

test('every access but command says something next to the connection', () => {
  assert.equal(ACCESS_TEXT.command, '');
  for (const a of ['probing', 'readonly', 'unknown']) assert.ok(ACCESS_TEXT[a], a);
  assert.match(ACCESS_TEXT.readonly, /read-only/);
});
