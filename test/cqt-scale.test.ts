import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cqt, cqtMagnitudes, cqtConfig, cqtFrequencies, librosaFilterLengths, DEFAULT_CQT } from '../src/dsp/cqt.ts';
import type { CqtConfig, Magnitudes } from '../src/dsp/types.ts';

const SR = 44100;

function sine(freq: number, seconds: number, amp = 1): Float32Array {
  const n = Math.round(seconds * SR);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / SR);
  return x;
}

/**
 * librosa.cqt (>= 0.10, scale=True) magnitude of a unit sine at a bin centre, derived by hand:
 * filter length l = Q sr / f with Q = 1/alpha, alpha = (2^(2/B) - 1) / (2^(2/B) + 1);
 * the L1-normalised filter answers a unit complex exponential with 1, the basis is multiplied
 * by l / n_fft against an n_fft-point spectrum (so l), scale divides by sqrt(l), and a sine
 * puts half its amplitude at +f: 0.5 * sqrt(l).
 */
function librosaSineMagnitude(freq: number, binsPerOctave: number): number {
  const r = 2 ** (2 / binsPerOctave);
  const alpha = (r - 1) / (r + 1);
  const l = SR / (alpha * freq);
  return 0.5 * Math.sqrt(l);
}

/** Median over the central frames of bin k. */
function steady(m: Magnitudes, k: number): number {
  const vals: number[] = [];
  for (let t = Math.floor(m.frames * 0.4); t < Math.floor(m.frames * 0.6); t++) vals.push(m.data[t * m.bins + k]);
  vals.sort((a, b) => a - b);
  return vals[vals.length >> 1];
}

function argmaxBin(m: Magnitudes, t: number): number {
  let best = 0;
  for (let k = 1; k < m.bins; k++) if (m.data[t * m.bins + k] > m.data[t * m.bins + best]) best = k;
  return best;
}

test('a unit sine at 440 Hz gives librosa\'s 41.7 in bin 180 (A4)', () => {
  assert.ok(Math.abs(librosaSineMagnitude(440, 48) - 41.66) < 0.05, 'hand-derived reference');
  const m = cqtMagnitudes(sine(440, 5));
  const v = steady(m, 180);
  assert.ok(Math.abs(v / 41.66 - 1) < 0.1, `bin 180: ${v}, librosa 41.66`);
});

test('magnitudes on librosa\'s scale within 10% at bin centres across 8 and 9 octaves (incl. capped bins)', () => {
  const cases: [CqtConfig, number[]][] = [
    [DEFAULT_CQT, [0, 20, 48, 100, 200, 300, 360, 370, 383]],
    [cqtConfig({ octaves: 9 }), [150, 400, 431]],
    [cqtConfig({ binsPerOctave: 24, octaves: 8 }), [10, 100, 191]],
  ];
  for (const [cfg, bins] of cases) {
    const freqs = cqtFrequencies(cfg);
    for (const k of bins) {
      const f = freqs[k];
      assert.ok(Math.abs(f - 32.70319566257483 * 2 ** (k / cfg.binsPerOctave)) < 1e-9);
      // Amplitude 0.5 to check linearity of the scale as well.
      const m = cqtMagnitudes(sine(f, k < 30 ? 8 : 3, 0.5), cfg);
      const want = 0.5 * librosaSineMagnitude(f, cfg.binsPerOctave);
      const got = steady(m, k);
      assert.ok(Math.abs(got / want - 1) < 0.1, `${cfg.nBins} bins, bin ${k} (${f.toFixed(1)} Hz): ${got}, librosa ${want}`);
    }
  }
  // The exported librosa lengths agree with the derivation (l = 93,389 samples = 2.12 s at C1).
  const l = librosaFilterLengths(DEFAULT_CQT);
  assert.ok(Math.abs(l[0] / SR - 2.1177) < 1e-3, `lowest librosa filter ${l[0] / SR} s`);
});

test("a sine's energy lands in its bin, with a narrow constant-Q peak", () => {
  const freqs = cqtFrequencies(DEFAULT_CQT);
  for (const k of [5, 60, 150, 250, 330, 380]) {
    const m = cqtMagnitudes(sine(freqs[k], 3));
    const t = Math.floor(m.frames / 2);
    assert.equal(argmaxBin(m, t), k, `sine at bin ${k}`);
    const row = (j: number): number => m.data[t * m.bins + j];
    // Two bins away the Hann window (spanning +-2 bins) is at zero; the response there is leakage only.
    if (k < 360) for (const j of [k - 2, k + 2]) assert.ok(row(j) < 0.02 * row(k), `bin ${j} vs ${k}: ${row(j)} / ${row(k)}`);
    // One bin away the Hann on the log axis (half a window radius) is at cos^2(pi/4) = 0.5 of its peak.
    if (k < 360) for (const j of [k - 1, k + 1]) assert.ok(Math.abs(row(j) / row(k) - 0.5) < 0.05, `neighbour ${j}: ${row(j) / row(k)}`);
  }
  // Half-way between two bins: one of the two wins, both get equal shares.
  const f = freqs[100] * 2 ** (0.5 / 48);
  const m = cqtMagnitudes(sine(f, 3));
  const t = Math.floor(m.frames / 2);
  assert.ok([100, 101].includes(argmaxBin(m, t)));
  const a = m.data[t * m.bins + 100];
  const b = m.data[t * m.bins + 101];
  assert.ok(Math.abs(a / b - 1) < 0.02, `equal split ${a} ${b}`);
});

test('frame t is centred at sample t*hop (clicks) and steady sines are steady over time', () => {
  const n = 4 * SR;
  for (const pos of [SR, SR + 64, 2 * SR + 1000]) {
    const x = new Float32Array(n);
    x[pos] = 1;
    const m = cqtMagnitudes(x);
    for (const k of [300, 370]) {
      let best = 0;
      for (let t = 1; t < m.frames; t++) if (m.data[t * m.bins + k] > m.data[best * m.bins + k]) best = t;
      assert.ok(Math.abs(best - pos / 128) <= 0.5 + 1e-9, `click at ${pos}: bin ${k} peaks at frame ${best}, expected ${pos / 128}`);
    }
  }
  // Magnitudes equal |cqt| features.
  const x = sine(1000, 1);
  const c = cqt(x);
  const m = cqtMagnitudes(x);
  for (let i = 0; i < m.data.length; i += 97) assert.ok(Math.abs(m.data[i] - Math.hypot(c.re[i], c.im[i])) <= 1e-5 * (1 + m.data[i]));
  // Within the central second a 1 kHz sine's bin varies by < 0.1%.
  const s = cqtMagnitudes(sine(cqtFrequencies(DEFAULT_CQT)[250], 3));
  let lo = Infinity;
  let hi = 0;
  for (let t = Math.floor(s.frames / 3); t < Math.floor((2 * s.frames) / 3); t++) {
    lo = Math.min(lo, s.data[t * s.bins + 250]);
    hi = Math.max(hi, s.data[t * s.bins + 250]);
  }
  assert.ok(hi / lo - 1 < 1e-3, `steady sine varies ${hi / lo - 1}`);
});
