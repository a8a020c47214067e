// alert.js - the audible part of the critical alert: a WebAudio oscillator
// beeping twice a second (no sound file to ship or fetch).  Browsers start
// an AudioContext only after a user gesture, so unlock() is called from the
// first click or key press; until then the banner flashes alone.

export function createSiren() {
  let ctx = null;
  let gain = null;
  let osc = null;
  let timer = null;
  let high = false;

  function ensure() {
    const AC = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!AC) return false;
    if (!ctx) {
      ctx = new AC();
      gain = ctx.createGain();
      gain.gain.value = 0;
      gain.connect(ctx.destination);
      osc = ctx.createOscillator();
      osc.type = 'square';
      osc.frequency.value = 880;
      osc.connect(gain);
      osc.start();
    }
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    return true;
  }

  function beep() {
    if (!ctx) return;
    high = !high;
    const t = ctx.currentTime;
    osc.frequency.setValueAtTime(high ? 880 : 660, t);
    gain.gain.setValueAtTime(0.12, t);
    gain.gain.setValueAtTime(0, t + 0.25);
  }

  return {
    unlock() {
      try {
        ensure();
      } catch (e) {
        // no audio device: the banner still flashes
      }
    },
    start() {
      if (timer) return;
      try {
        ensure();
      } catch (e) {
        return;
      }
      beep();
      timer = setInterval(beep, 500);
    },
    stop() {
      clearInterval(timer);
      timer = null;
      if (gain && ctx) gain.gain.setValueAtTime(0, ctx.currentTime);
    },
    get playing() {
      return timer !== null;
    },
  };
}
