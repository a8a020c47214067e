// spark.js - one uPlot sparkline per sensor tile.  Drawing 2,000 charts every
// second would take the page's whole frame budget, so a chart is redrawn at
// most once a second and only while its tile is on screen.

import uPlot from 'uplot';
import { SERIES_SECONDS, sensorSeries } from './state.js';

export function createSparks(store) {
  const charts = new Map(); // sensor key -> {u, el, visible}
  let nowSec = Math.floor(Date.now() / 1000);
  const io =
    typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => {
          for (const e of entries) {
            const c = charts.get(e.target.dataset.spark);
            if (c) c.visible = e.isIntersecting;
          }
        })
      : null;

  function make(el) {
    const w = Math.max(80, el.clientWidth || 150);
    return new uPlot(
      {
        width: w,
        height: 36,
        pxAlign: 0,
        cursor: { show: false },
        legend: { show: false },
        select: { show: false },
        // The window is always the last 10 minutes, however few points.
        scales: { x: { time: true, range: () => [nowSec - SERIES_SECONDS, nowSec] }, y: { auto: true } },
        axes: [{ show: false }, { show: false }],
        series: [{}, { stroke: '#5aa9ff', width: 1.5, spanGaps: false, points: { show: false } }],
      },
      [[], []],
      el,
    );
  }

  return {
    // el: the tile's chart holder, empty; key: the sensor's key.
    attach(key, el) {
      el.dataset.spark = key;
      charts.set(key, { u: null, el, visible: !io });
      if (io) io.observe(el);
    },
    detach(key) {
      const c = charts.get(key);
      if (!c) return;
      if (io) io.unobserve(c.el);
      if (c.u) c.u.destroy();
      charts.delete(key);
    },
    // Once a second: redraw the charts on screen (the window slides even
    // when no point came); the others are drawn when they come into view.
    tick(now) {
      nowSec = Math.floor(now / 1000);
      for (const [key, c] of charts) {
        if (!c.visible) continue;
        if (!c.u) c.u = make(c.el);
        c.u.setData(sensorSeries(store, key, now));
      }
    },
  };
}
