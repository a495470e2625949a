import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resample, RESAMPLE_DESIGNS } from '../src/dsp/resample.ts';
import { createRng as rng } from '../src/dsp/rng.ts';


function sine(n: number, rate: number, freq: number, amp: number, phase = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return x;
}

/** Samples to ignore at each end: the filter's half length in output samples, plus margin. */
function edge(from: number, to: number): number {
  return Math.ceil((200 * to) / Math.min(from, to)) + 8;
}

test('output length is round(len * to / from); equal rates copy; empty input gives empty output', () => {
  for (const [n, a, b] of [[1000, 44100, 48000], [1001, 48000, 44100], [7, 48000, 8000], [3, 8000, 48000], [12345, 44100, 22050], [999, 44100, 30011.7]]) {
    assert.equal(resample(new Float32Array(n), a, b).length, Math.round((n * b) / a), `${n} ${a}->${b}`);
  }
  const x = sine(100, 44100, 1000, 0.5);
  const y = resample(x, 44100, 44100);
  assert.deepEqual(y, x);
  assert.notEqual(y, x, 'a copy, not the same array');
  assert.equal(resample(new Float32Array(0), 44100, 48000).length, 0);
});

test('bad arguments throw a RangeError naming the argument', () => {
  const x = new Float32Array(10);
  assert.throws(() => resample(x, 0, 48000), /fromRate/);
  assert.throws(() => resample(x, 44100, -1), /toRate/);
  assert.throws(() => resample(x, NaN, 48000), /fromRate/);
  assert.throws(() => resample(x, 44100, Infinity), /toRate/);
  assert.throws(() => resample(x, 44100, 48000, { quality: 'ultra' as 'best' }), /quality/);
});

test('DC gain is 1 for rational and irrational ratios, both qualities', () => {
  const x = new Float32Array(4000).fill(0.75);
  for (const quality of ['best', 'fast'] as const) {
    for (const [a, b] of [[44100, 48000], [48000, 44100], [48000, 8000], [8000, 48000], [44100, 31234.567], [22050, 44100]]) {
      const y = resample(x, a, b, { quality });
      const e = edge(a, b);
      let worst = 0;
      for (let i = e; i < y.length - e; i++) worst = Math.max(worst, Math.abs(y[i] - 0.75));
      assert.ok(worst < 1e-6, `${quality} ${a}->${b}: DC error ${worst}`);
    }
  }
});

test('a pass-band sine keeps its frequency, amplitude and phase (error < 1e-4 best, < 1e-3 fast)', () => {
  const cases: [number, number][] = [[44100, 48000], [48000, 44100], [48000, 16000], [16000, 48000], [44100, 22050], [44100, 32768.5]];
  for (const quality of ['best', 'fast'] as const) {
    const limit = quality === 'best' ? 1e-4 : 1e-3;
    const pass = RESAMPLE_DESIGNS[quality].passEdge;
    for (const [a, b] of cases) {
      const nyq = Math.min(a, b) / 2;
      for (const rel of [0.01, 0.3, 0.7, pass * 0.97]) {
        const f = rel * nyq;
        const n = Math.round(a * 0.25);
        const y = resample(sine(n, a, f, 0.8, 0.3), a, b, { quality });
        const e = edge(a, b);
        let worst = 0;
        for (let i = e; i < y.length - e; i++) {
          const ref = 0.8 * Math.sin((2 * Math.PI * f * i) / b + 0.3);
          worst = Math.max(worst, Math.abs(y[i] - ref));
        }
        assert.ok(worst < limit, `${quality} ${a}->${b} f=${f.toFixed(1)} Hz: max error ${worst}`);
      }
    }
  }
});

test('tones above the new Nyquist are attenuated by > 80 dB (best) and > 60 dB (fast)', () => {
  const cases: [number, number, number[]][] = [
    [48000, 16000, [8000, 8100, 9000, 12000, 20000, 23000]],
    [44100, 22050, [11025, 11200, 15000, 21000]],
    [48000, 44100, [22050, 22500, 23900]],
    [44100, 30000.5, [15000.25, 17000, 21000]],
  ];
  for (const quality of ['best', 'fast'] as const) {
    const minDb = quality === 'best' ? 80 : 60;
    for (const [a, b, freqs] of cases) {
      for (const f of freqs) {
        const amp = 0.9;
        const y = resample(sine(Math.round(a * 0.25), a, f, amp), a, b, { quality });
        const e = edge(a, b);
        let ss = 0;
        for (let i = e; i < y.length - e; i++) ss += y[i] * y[i];
        const rms = Math.sqrt(ss / (y.length - 2 * e));
        const db = 20 * Math.log10(rms / (amp / Math.SQRT2));
        assert.ok(db < -minDb, `${quality} ${a}->${b} tone ${f} Hz leaks at ${db.toFixed(1)} dB`);
      }
    }
  }
});

test('44.1k -> 48k -> 44.1k round trip of band-limited noise stays within -80 dB', () => {
  // Noise band-limited to 17 kHz (inside the 0.9 * 22050 Hz pass band): a sum of 150 sinusoids at random
  // frequencies and phases. Bound: each pass scales pass-band components by 1 ± δ and adds stop-band leakage ≤ δ,
  // δ = 10^(-100/20) = 1e-5 for the 'best' design, so the round trip's relative error is at most about 4δ = 4e-5
  // plus float32 rounding (~1e-6); we assert a relative RMS error below 1e-4 (-80 dB).
  const r = rng(7);
  const n = 44100 / 2;
  const x64 = new Float64Array(n);
  for (let k = 0; k < 150; k++) {
    const f = 20 + r() * 16980;
    const ph = r() * 2 * Math.PI;
    const w = (2 * Math.PI * f) / 44100;
    for (let i = 0; i < n; i++) x64[i] += Math.sin(w * i + ph) / 150;
  }
  const x = Float32Array.from(x64);
  const up = resample(x, 44100, 48000);
  const back = resample(up, 48000, 44100);
  assert.equal(back.length, n);
  const e = edge(44100, 48000) * 2;
  let se = 0;
  let sx = 0;
  for (let i = e; i < n - e; i++) {
    se += (back[i] - x[i]) ** 2;
    sx += x[i] ** 2;
  }
  const rel = Math.sqrt(se / sx);
  assert.ok(rel < 1e-4, `relative RMS round-trip error ${rel}`);
  // The same with 'fast' is bounded by its 70 dB design: 4 * 10^(-70/20) ≈ 1.3e-3.
  const backFast = resample(resample(x, 44100, 48000, { quality: 'fast' }), 48000, 44100, { quality: 'fast' });
  se = 0;
  for (let i = e; i < n - e; i++) se += (backFast[i] - x[i]) ** 2;
  assert.ok(Math.sqrt(se / sx) < 1.3e-3, `fast relative RMS round-trip error ${Math.sqrt(se / sx)}`);
});

test('the interpolated-phase path agrees with the exact polyphase path for nearly equal ratios', () => {
  const r = rng(3);
  const x = new Float32Array(6000);
  for (let i = 0; i < x.length; i++) x[i] = r() * 2 - 1;
  // 44100 -> 48000 uses 160 exact phases; 48000.000001 is not an integer ratio and uses the interpolated table.
  const exact = resample(x, 44100, 48000);
  const interp = resample(x, 44100, 48000.000001);
  assert.equal(exact.length, interp.length);
  let worst = 0;
  for (let i = 0; i < exact.length; i++) worst = Math.max(worst, Math.abs(exact[i] - interp[i]));
  assert.ok(worst < 1e-4, `max difference ${worst}`);
});

test('deterministic: the same input gives bit-identical output', () => {
  const x = sine(5000, 44100, 440, 0.5);
  assert.deepEqual(resample(x, 44100, 22050.5), resample(x, 44100, 22050.5));
});
