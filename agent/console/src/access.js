// access.js - what the broker's answers say about this login: a CONNACK
// that refuses it, and the answer to the probe publish that tells whether
// the user may command.  Pure (no DOM, no MQTT), so the unit tests go
// through every answer.

// MQTT 5 reason 0x87 (PUBACK or CONNACK): not authorized.
export const RC_NOT_AUTHORIZED = 0x87;

// CONNACK codes that refuse the login itself: 3.1.1's 4 (bad user name or
// password) and 5 (not authorized), MQTT 5's 0x86 and 0x87.  mosquitto
// answers a wrong password with "not authorized" (5 or 0x87), so the page
// cannot tell a wrong password from a user who may not log in, nor should
// it: either way the person must change what they typed.
const LOGIN_REFUSED = new Set([4, 5, 0x86, 0x87]);

// The text to show for a connection error: for a refused login, what to
// do about it; null for any other error.
export function loginRefusal(err) {
  const code = err && typeof err.code === 'number' ? err.code : null;
  if (code === null || !LOGIN_REFUSED.has(code)) return null;
  const said = err.message ? ` (${String(err.message).replace(/^Connection refused: /, '')})` : '';
  return `login refused by the broker: user name or password not accepted${said}`;
}

// What the probe's answer says this user may do: 'command' when the broker
// took the publish, 'readonly' when it refused it (PUBACK 0x87), 'unknown'
// for any other error (the connection went before the answer; the next
// connection asks again).  MQTT 3.1.1 has no refusal to read (mosquitto
// acknowledges and drops), so there commands are assumed allowed and an ACL
// that drops them shows as "no answer".
export function probeAccess(version, err) {
  if (version !== 5) return 'command';
  if (!err) return 'command';
  return err.code === RC_NOT_AUTHORIZED ? 'readonly' : 'unknown';
}

// The words after the connection's state for each access.
export const ACCESS_TEXT = {
  probing: 'checking command rights…',
  command: '',
  readonly: 'read-only: this user may not command',
  unknown: 'command rights unknown: commands off until the broker answers',
};
