import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STFT, stft, istft, stftTransform, hannWindow, validateStftConfig, windowSumSquare } from '../src/dsp/stft.ts';
import type { StftConfig, Coefficients } from '../src/dsp/types.ts';
import { createRng, gaussian } from '../src/dsp/rng.ts';
import { relErr } from './helpers/signal.ts';

const cfg = (nFft: number, hop: number): StftConfig => ({ kind: 'stft', sampleRate: 44100, nFft, hop });

function noise(n: number, seed: number): Float32Array {
  const r = createRng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.3 * gaussian(r);
  return x;
}

/** Linear chirp 50 Hz -> 15 kHz plus a decaying harmonic tone with vibrato. */
function chirpTone(n: number, sr = 44100): Float32Array {
  const x = new Float32Array(n);
  const T = Math.max(n, 1) / sr;
  let ph = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    const f = 220 * (1 + 0.01 * Math.sin(2 * Math.PI * 5 * t));
    ph += (2 * Math.PI * f) / sr;
    let v = 0.4 * Math.sin(2 * Math.PI * (50 * t + ((15000 - 50) / (2 * T)) * t * t));
    for (let h = 1; h <= 8; h++) v += (0.3 / h) * Math.exp(-3 * t) * Math.sin(h * ph);
    x[i] = v;
  }
  return x;
}

test('perfect reconstruction: noise and chirps, many lengths and configurations', () => {
  const configs = [DEFAULT_STFT, cfg(1024, 256), cfg(512, 128), cfg(256, 64), cfg(480, 120), cfg(2048, 1024), cfg(96, 7)];
  const lengths = [1, 2, 100, 255, 256, 257, 1000, 4097, 22050 + 37];
  for (const c of configs) {
    for (const len of lengths) {
      for (const x of [noise(len, len), chirpTone(len)]) {
        const co = stft(x, c);
        assert.equal(co.frames, 1 + Math.floor(len / c.hop));
        assert.equal(co.bins, c.nFft / 2 + 1);
        const y = istft(co, c, len);
        assert.equal(y.length, len);
        const e = relErr(y, x);
        assert.ok(e < 1e-5, `nFft ${c.nFft} hop ${c.hop} len ${len}: relative error ${e}`);
      }
    }
  }
});

test('frames match a naive windowed DFT of the zero-padded, centred signal', () => {
  const c = cfg(256, 64);
  const x = chirpTone(1000);
  const co = stft(x, c);
  const n = c.nFft;
  for (const t of [0, 1, 7, co.frames - 1]) {
    const w = Array.from({ length: n }, (_, j) => 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / n));
    const seg = Array.from({ length: n }, (_, j) => {
      const i = t * c.hop - n / 2 + j;
      return i >= 0 && i < x.length ? x[i] * w[j] : 0;
    });
    let maxErr = 0;
    let maxMag = 0;
    for (let k = 0; k <= n / 2; k++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j < n; j++) {
        re += seg[j] * Math.cos((2 * Math.PI * j * k) / n);
        im -= seg[j] * Math.sin((2 * Math.PI * j * k) / n);
      }
      maxErr = Math.max(maxErr, Math.hypot(re - co.re[t * co.bins + k], im - co.im[t * co.bins + k]));
      maxMag = Math.max(maxMag, Math.hypot(re, im));
    }
    assert.ok(maxErr < 1e-5 * maxMag, `frame ${t}: ${maxErr} vs ${maxMag}`);
  }
});

test('a bin-centred sinusoid has magnitude nFft/4 and advances phase by 2*pi*k*hop/nFft per frame', () => {
  const c = DEFAULT_STFT;
  const k0 = 40;
  const len = 20000;
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = Math.cos((2 * Math.PI * k0 * i) / c.nFft + 0.3);
  const co = stft(x, c);
  for (let t = 10; t < 60; t++) {
    const i = t * co.bins + k0;
    assert.ok(Math.abs(Math.hypot(co.re[i], co.im[i]) - c.nFft / 4) < 1e-3 * c.nFft);
    const j = (t + 1) * co.bins + k0;
    let d = Math.atan2(co.im[j], co.re[j]) - Math.atan2(co.im[i], co.re[i]) - (2 * Math.PI * k0 * c.hop) / c.nFft;
    d = Math.atan2(Math.sin(d), Math.cos(d));
    assert.ok(Math.abs(d) < 1e-4, `phase advance error ${d}`);
  }
});

test('the transform is linear (zero padding)', () => {
  const c = cfg(512, 128);
  const a = noise(3000, 1);
  const b = chirpTone(3000);
  const s = a.map((v, i) => 2 * v - 0.5 * b[i]);
  const A = stft(a, c);
  const B = stft(b, c);
  const S = stft(s, c);
  let e = 0;
  let r = 0;
  for (let i = 0; i < S.re.length; i++) {
    e += (S.re[i] - (2 * A.re[i] - 0.5 * B.re[i])) ** 2 + (S.im[i] - (2 * A.im[i] - 0.5 * B.im[i])) ** 2;
    r += S.re[i] ** 2 + S.im[i] ** 2;
  }
  assert.ok(Math.sqrt(e / r) < 1e-6);
});

/** Full-spectrum squared distance ||STFT(x) - C||^2 (interior bins count twice: Hermitian symmetry). */
function distance(x: Float32Array, C: Coefficients, c: StftConfig): number {
  const S = stft(x, c);
  let d = 0;
  for (let t = 0; t < S.frames; t++) {
    for (let k = 0; k < S.bins; k++) {
      const i = t * S.bins + k;
      const wgt = k === 0 || k === S.bins - 1 ? 1 : 2;
      const dr = S.re[i] - C.re[i];
      const di = k === 0 || k === S.bins - 1 ? 0 : S.im[i] - C.im[i];
      d += wgt * (dr * dr + di * di);
    }
  }
  return d;
}

test('istft of inconsistent coefficients is the least-squares signal estimate', () => {
  const c = cfg(256, 64);
  const len = 2000;
  const r = createRng(11);
  const frames = 1 + Math.floor(len / c.hop);
  const bins = c.nFft / 2 + 1;
  const C: Coefficients = {
    frames,
    bins,
    re: Float32Array.from({ length: frames * bins }, () => gaussian(r)),
    im: Float32Array.from({ length: frames * bins }, () => gaussian(r)),
  };
  const xh = istft(C, c, len);
  const d0 = distance(xh, C, c);
  for (let trial = 0; trial < 5; trial++) {
    const pert = noise(len, 100 + trial).map((v) => v * 0.02);
    const plus = xh.map((v, i) => v + pert[i]);
    const minus = xh.map((v, i) => v - pert[i]);
    assert.ok(distance(plus, C, c) > d0 * (1 + 1e-6), 'moving away from the estimate must increase the error');
    assert.ok(distance(minus, C, c) > d0 * (1 + 1e-6), 'in both directions');
  }
});

test('stftTransform implements the Transform contract', () => {
  const tr = stftTransform(cfg(1024, 256));
  assert.equal(tr.bins, 513);
  assert.equal(tr.frameCount(0), 1);
  assert.equal(tr.frameCount(255), 1);
  assert.equal(tr.frameCount(256), 2);
  for (const f of [1, 2, 17]) assert.equal(tr.frameCount(tr.signalLength(f)), f);
  const x = chirpTone(5000);
  const y = tr.synthesize(tr.analyze(x), x.length);
  assert.ok(relErr(y, x) < 1e-5);
  assert.deepEqual(tr.config, { kind: 'stft', sampleRate: 44100, nFft: 1024, hop: 256 });
});

test('Hann window is periodic and the window-sum-square is constant (hop = nFft/4 gives 1.5)', () => {
  const w = hannWindow(8);
  assert.deepEqual(Array.from(w).map((v) => +v.toFixed(6)), [0, 0.146447, 0.5, 0.853553, 1, 0.853553, 0.5, 0.146447]);
  const wss = windowSumSquare(40, cfg(1024, 256));
  for (let i = 1024; i < wss.length - 1024; i++) assert.ok(Math.abs(wss[i] - 1.5) < 1e-5);
  // Against the direct sum over frames, for short and long signals and odd hops.
  for (const [frames, c] of [[1, cfg(256, 64)], [3, cfg(256, 64)], [9, cfg(256, 64)], [50, cfg(480, 90)], [37, cfg(96, 7)]] as const) {
    const fast = windowSumSquare(frames, c);
    const wv = hannWindow(c.nFft);
    const slow = new Float64Array((frames - 1) * c.hop + c.nFft);
    for (let t = 0; t < frames; t++) for (let j = 0; j < c.nFft; j++) slow[t * c.hop + j] += wv[j] * wv[j];
    assert.equal(fast.length, slow.length);
    for (let i = 0; i < slow.length; i++) assert.ok(Math.abs(fast[i] - slow[i]) < 1e-9, `frames ${frames} nFft ${c.nFft} i ${i}`);
  }
});

test('bad configurations and inputs give one-line errors', () => {
  assert.throws(() => validateStftConfig(cfg(1000, 250)), /nFft 1000 is not supported.*try 1024/);
  assert.throws(() => validateStftConfig(cfg(1024, 0)), /hop 0 must be an integer between 1 and nFft\/2 = 512/);
  assert.throws(() => validateStftConfig(cfg(1024, 600)), /hop 600/);
  assert.throws(() => validateStftConfig({ ...cfg(1024, 256), sampleRate: 0 }), /sampleRate/);
  assert.throws(() => stft([1, 2, 3] as unknown as Float32Array, DEFAULT_STFT), /Float32Array/);
  const co = stft(new Float32Array(1000), cfg(512, 128));
  assert.throws(() => istft(co, cfg(1024, 128), 1000), /513|257/);
  assert.throws(() => istft({ ...co, re: new Float32Array(3) }, cfg(512, 128), 1000), /length frames\*bins/);
  assert.throws(() => istft(co, cfg(512, 128), -1), /length -1/);
});
