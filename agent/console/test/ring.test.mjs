// Unit tests of src/ring.js: the bounded per-sensor series.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSeries, seriesPush, seriesWindow, seriesLength } from '../src/ring.js';

test('one point per second, the last value of the second kept', () => {
  const s = createSeries(10);
  seriesPush(s, 100, 1);
  seriesPush(s, 100, 2);
  seriesPush(s, 101, 3);
  assert.deepEqual(seriesWindow(s, 101), [[100, 101], [2, 3]]);
});

test('never more than cap points; the oldest go first', () => {
  const s = createSeries(600);
  for (let t = 0; t < 5000; t++) seriesPush(s, t, t * 2);
  assert.equal(seriesLength(s), 600);
  assert.equal(s.t.length, 600, 'the arrays never grow');
  const [xs, ys] = seriesWindow(s, 4999);
  assert.equal(xs.length, 600);
  assert.equal(xs[0], 4400);
  assert.equal(xs[599], 4999);
  assert.equal(ys[599], 9998);
});

test('the window is by time, not by count: sparse points older than it are left out', () => {
  const s = createSeries(600);
  for (let t = 0; t < 3000; t += 10) seriesPush(s, t, 1); // one point every 10 s
  const [xs] = seriesWindow(s, 2990, 600);
  assert.equal(xs.length, 60);
  assert.equal(xs[0], 2400);
});

test('gaps (null, NaN, non-numbers) come out as null', () => {
  const s = createSeries(5);
  seriesPush(s, 1, null);
  seriesPush(s, 2, NaN);
  seriesPush(s, 3, 'x');
  seriesPush(s, 4, 0);
  assert.deepEqual(seriesWindow(s, 4)[1], [null, null, null, 0]);
});

test('a clock that steps back writes into the newest point instead of growing', () => {
  const s = createSeries(5);
  seriesPush(s, 10, 1);
  seriesPush(s, 11, 2);
  seriesPush(s, 5, 3);
  assert.deepEqual(seriesWindow(s, 11), [[10, 11], [1, 3]]);
});
