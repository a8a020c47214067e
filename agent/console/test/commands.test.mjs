// Unit tests of src/commands.js: the exact topics and payloads the console
// publishes, as emberd and ember-drain read them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import {
  agentCommand,
  drainCommand,
  parseDuration,
  validId,
  newCommandId,
  stateRequest,
  probeTopic,
} from '../src/commands.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('shelve durations: 1 s to 7 days in s, m, h or d', () => {
  assert.equal(parseDuration('30m'), 1800);
  assert.equal(parseDuration('1s'), 1);
  assert.equal(parseDuration(' 8h '), 28800);
  assert.equal(parseDuration('7d'), 604800);
  assert.equal(parseDuration('168h'), 604800);
  assert.equal(parseDuration('169h'), null);
  assert.equal(parseDuration('0s'), null);
  assert.equal(parseDuration('30'), null);
  assert.equal(parseDuration('1.5h'), null);
  assert.equal(parseDuration('-5m'), null);
  assert.equal(parseDuration(''), null);
  assert.equal(parseDuration(undefined), null);
});

test('command ids: 1-64 printable ASCII, no quote or backslash', () => {
  assert.ok(validId('0b5e6f3c-6c1d-4b7e-9a8e-2f0c3d4e5f60'));
  assert.ok(validId('h-1'));
  assert.ok(!validId(''));
  assert.ok(!validId('x'.repeat(65)));
  assert.ok(validId('x'.repeat(64)));
  assert.ok(!validId('a"b'));
  assert.ok(!validId('a\\b'));
  assert.ok(!validId('tab\there'));
  assert.ok(!validId('caf\u00e9'));
});

test('ids are fresh UUIDs, with or without crypto.randomUUID (plain http)', () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const id = newCommandId(webcrypto);
    assert.match(id, UUID);
    seen.add(id);
  }
  assert.equal(seen.size, 200);
  // an insecure context: no randomUUID, only getRandomValues
  const insecure = { getRandomValues: (b) => webcrypto.getRandomValues(b) };
  const id = newCommandId(insecure);
  assert.match(id, UUID);
  assert.ok(validId(id));
  // randomUUID present but throwing: still an id
  const throwing = { randomUUID() { throw new Error('insecure'); }, getRandomValues: insecure.getRandomValues };
  assert.match(newCommandId(throwing), UUID);
});

test('agent commands: topic and payload as emberd reads them', () => {
  const id = '0b5e6f3c-6c1d-4b7e-9a8e-2f0c3d4e5f60';
  let c = agentCommand('emberwatch', 'pangyo-a', 'b3-agent1', 'shelve', { alarm: 'batt-hot', duration: '30m' }, 'noc-kim', id);
  assert.equal(c.topic, 'emberwatch/pangyo-a/b3-agent1/cmd/shelve');
  assert.deepEqual(JSON.parse(c.payload), { alarm: 'batt-hot', duration: '30m', id, by: 'noc-kim' });
  c = agentCommand('emberwatch', 'pangyo-a', 'b3-agent1', 'ack', { alarm: 'batt-hot' }, 'noc-kim', id);
  assert.equal(c.topic, 'emberwatch/pangyo-a/b3-agent1/cmd/ack');
  assert.deepEqual(JSON.parse(c.payload), { alarm: 'batt-hot', id, by: 'noc-kim' });
  c = agentCommand('emberwatch', 'pangyo-a', 'b3-agent1', 'unshelve', { alarm: 'batt-hot' }, 'noc-kim', id);
  assert.deepEqual(JSON.parse(c.payload), { alarm: 'batt-hot', id, by: 'noc-kim' });
  c = agentCommand('emberwatch', 'pangyo-a', 'b3-agent1', 'test', { zone: 'b3' }, 'noc-kim', id);
  assert.equal(c.topic, 'emberwatch/pangyo-a/b3-agent1/cmd/test');
  assert.deepEqual(JSON.parse(c.payload), { zone: 'b3', id, by: 'noc-kim' });
  assert.equal(c.target, 'b3');
  c = agentCommand('emberwatch', 'pangyo-a', 'b3-agent1', 'test', { zone: 'b3', duration: '30s' }, 'noc-kim', id);
  assert.equal(JSON.parse(c.payload).duration, '30s');
});

test("agent commands: what cannot be a command is refused; limits are the agent's", () => {
  const id = 'abc';
  // 8 days is past what emberd shelves for: sent as typed, emberd refuses
  // it on cmd/result (the console only warns)
  const c = agentCommand('p', 's', 'a', 'shelve', { alarm: 'x', duration: ' 8d ' }, 'k', id);
  assert.equal(JSON.parse(c.payload).duration, '8d');
  assert.equal(parseDuration('8d'), null);
  assert.throws(() => agentCommand('p', 's', 'a', 'shelve', { alarm: 'x' }, 'k', id), /duration/);
  assert.throws(() => agentCommand('p', 's', 'a', 'shelve', { alarm: 'x', duration: '  ' }, 'k', id), /duration/);
  assert.throws(() => agentCommand('p', 's', 'a', 'ack', {}, 'k', id), /alarm/);
  assert.throws(() => agentCommand('p', 's', 'a', 'test', {}, 'k', id), /zone/);
  assert.throws(() => agentCommand('p', 's', 'a', 'reboot', { alarm: 'x' }, 'k', id), /unknown/);
  assert.throws(() => agentCommand('p', 's', 'a', 'ack', { alarm: 'x' }, 'k', 'bad"id'), /id/);
});

test('drain commands to the site controllers', () => {
  const c = drainCommand('emberwatch', 'pangyo-a', 'undrain', 'noc-kim', 'fire out, checked on site', 'u-1');
  assert.equal(c.topic, 'emberwatch/pangyo-a/drain/cmd/undrain');
  assert.deepEqual(JSON.parse(c.payload), { id: 'u-1', by: 'noc-kim', reason: 'fire out, checked on site' });
  assert.equal(JSON.parse(drainCommand('emberwatch', 'pangyo-a', 'hold', 'k', undefined, 'h-1').payload).reason, '');
  assert.throws(() => drainCommand('emberwatch', 'pangyo-a', 'drain', 'k', 'r', 'x'), /unknown/);
});

test('state request and probe topics', () => {
  const r = stateRequest('emberwatch', 'noc-kim', Date.parse('2026-12-04T18:50:01.204Z'));
  assert.equal(r.topic, 'emberwatch/_state/request');
  assert.deepEqual(JSON.parse(r.payload), { ts: '2026-12-04T18:50:01.204Z', by: 'noc-kim' });
  assert.equal(probeTopic('emberwatch', 'noc'), 'emberwatch/_console/noc/cmd/probe');
  // one topic level whatever the user name holds
  assert.equal(probeTopic('emberwatch', 'a/b+#'), 'emberwatch/_console/a_b__/cmd/probe');
  assert.equal(probeTopic('emberwatch', ''), 'emberwatch/_console/anonymous/cmd/probe');
});
