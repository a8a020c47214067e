// ring.js - a bounded time series per sensor: one point per second, the
// last value of each second kept, at most `cap` points.  At 2,000 sensors
// publishing at 1 Hz, a plain array that grows and is sliced would churn the
// garbage collector; two fixed typed arrays per sensor never grow.

export function createSeries(cap = 600) {
  return { cap, t: new Float64Array(cap), v: new Float64Array(cap), head: 0, len: 0 };
}

function lastIndex(s) {
  return (s.head + s.len - 1) % s.cap;
}

// sec: whole seconds (any clock, as long as it is the same for every call);
// value: a number, or null for "no value" (a gap in the sparkline).
export function seriesPush(s, sec, value) {
  const v = typeof value === 'number' && Number.isFinite(value) ? value : NaN;
  if (s.len > 0) {
    const li = lastIndex(s);
    // The same second again keeps the newer value.  A clock that went back
    // writes into the newest point too, so the series stays in time order
    // and never grows past cap.
    if (sec <= s.t[li]) {
      s.v[li] = v;
      return;
    }
  }
  if (s.len < s.cap) {
    const i = (s.head + s.len) % s.cap;
    s.t[i] = sec;
    s.v[i] = v;
    s.len++;
  } else {
    s.t[s.head] = sec;
    s.v[s.head] = v;
    s.head = (s.head + 1) % s.cap;
  }
}

// The points within `windowSec` of nowSec, oldest first, as uPlot wants
// them: [xs, ys] with null where there was no value.
export function seriesWindow(s, nowSec, windowSec = s.cap) {
  const xs = [];
  const ys = [];
  const from = nowSec - windowSec;
  for (let k = 0; k < s.len; k++) {
    const i = (s.head + k) % s.cap;
    if (s.t[i] <= from) continue;
    xs.push(s.t[i]);
    ys.push(Number.isNaN(s.v[i]) ? null : s.v[i]);
  }
  return [xs, ys];
}

export function seriesLength(s) {
  return s.len;
}
