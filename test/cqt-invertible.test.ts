import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cqt, icqt, cqtTransform, cqtConfig, cqtLayout, DEFAULT_CQT, type CqtExtra } from '../src/dsp/cqt.ts';
import type { CqtConfig, Coefficients } from '../src/dsp/types.ts';
import { createRng, gaussian } from '../src/dsp/rng.ts';
import { UserError } from '../src/io/errors.ts';
import { relErr } from './helpers/signal.ts';

const SR = 44100;

function noise(n: number, seed: number): Float32Array {
  const r = createRng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.3 * gaussian(r);
  return x;
}

/** Exponential chirp 20 Hz -> 20 kHz plus a linear chirp down from 12 kHz and a decaying harmonic tone. */
function chirps(n: number): Float32Array {
  const x = new Float32Array(n);
  const T = Math.max(n, 1) / SR;
  const k = Math.log(1000) / T;
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    let v = 0.4 * Math.sin(((2 * Math.PI * 20) / k) * (Math.exp(k * t) - 1));
    v += 0.2 * Math.sin(2 * Math.PI * (12000 * t - (11000 / (2 * T)) * t * t));
    for (let h = 1; h <= 6; h++) v += (0.2 / h) * Math.exp(-2 * t) * Math.sin(2 * Math.PI * 110 * h * t);
    x[i] = v;
  }
  return x;
}

function roundTrip(cfg: CqtConfig, x: Float32Array, what: string): void {
  const c = cqt(x, cfg);
  assert.equal(c.bins, cfg.nBins);
  assert.equal(c.frames, 1 + Math.floor(x.length / cfg.hop));
  const y = icqt(c, cfg, x.length);
  assert.equal(y.length, x.length);
  const e = relErr(y, x);
  assert.ok(e < 1e-5, `${what}: relative round-trip error ${e.toExponential(2)} >= 1e-5`);
}

test('perfect reconstruction, default 8-octave config: noise and chirps at several lengths', () => {
  for (const n of [1, 127, 128, 129, 1000, 22050 + 3, Math.round(2.5 * SR)]) {
    roundTrip(DEFAULT_CQT, noise(n, n), `noise, ${n} samples`);
    if (n > 1) roundTrip(DEFAULT_CQT, chirps(n), `chirps, ${n} samples`);
  }
});

test('perfect reconstruction, 9-octave and 9.4-octave configs (capped, variable-Q top)', () => {
  for (const octaves of [9, 9.4]) {
    const cfg = cqtConfig({ octaves });
    assert.equal(cfg.nBins, Math.round(octaves * 48));
    for (const n of [1000, 3 * SR + 11]) {
      roundTrip(cfg, noise(n, 7 * n), `${octaves} octaves, noise, ${n} samples`);
      roundTrip(cfg, chirps(n), `${octaves} octaves, chirps, ${n} samples`);
    }
  }
});

test('perfect reconstruction with other hops, bins per octave and sample rates', () => {
  const cfgs = [
    cqtConfig({ hop: 256, octaves: 7 }),
    cqtConfig({ hop: 64, binsPerOctave: 24, octaves: 9 }),
    cqtConfig({ sampleRate: 22050, hop: 96, binsPerOctave: 36, octaves: 8, fmin: 40 }),
  ];
  for (const cfg of cfgs) roundTrip(cfg, chirps(30011), `hop ${cfg.hop}, B ${cfg.binsPerOctave}, sr ${cfg.sampleRate}`);
});

test('Transform interface: frame counts, lengths and round trip', () => {
  const tr = cqtTransform();
  assert.equal(tr.bins, 384);
  assert.deepEqual(tr.config, DEFAULT_CQT);
  for (const n of [1, 127, 128, 129, 44100]) assert.equal(tr.frameCount(n), 1 + Math.floor(n / 128));
  for (const f of [1, 2, 3, 345, 1000]) assert.equal(tr.frameCount(tr.signalLength(f)), f);
  assert.equal(tr.signalLength(345), 344 * 128);
  const x = chirps(20000);
  const c = tr.analyze(x);
  assert.equal(c.frames, tr.frameCount(x.length));
  assert.ok(relErr(tr.synthesize(c, x.length), x) < 1e-5);
});

test('layout: painless supports, fast sizes, zero padding, well-conditioned windows', () => {
  for (const cfg of [DEFAULT_CQT, cqtConfig({ octaves: 9 })]) {
    for (const n of [1, 50000, 200000]) {
      const lay = cqtLayout(cfg, n);
      assert.equal(lay.internalLength, lay.steps * cfg.hop);
      assert.ok(lay.internalLength >= n + 2 * lay.pad, 'signal plus zero padding on both sides fits');
      assert.ok(lay.maxSupport <= lay.steps, `support ${lay.maxSupport} exceeds M = ${lay.steps}`);
      // 2^a 3^b 5^c and a multiple of 32.
      let m = lay.steps;
      assert.equal(m % 32, 0);
      for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
      assert.equal(m, 1);
      assert.ok(lay.frameBoundRatio >= 1 && lay.frameBoundRatio < 3.5, `frame bound ratio ${lay.frameBoundRatio}`);
    }
  }
  // Lowest window: Hann over f0 * (2^(-2/48) .. 2^(2/48)), W0 = 1.888 Hz wide; its kernel's main lobe
  // ends at 2/W0 = 1.06 s: the padding per side must exceed that (the other end is then >= 2 pads away).
  const w0 = 32.70319566257483 * (2 ** (2 / 48) - 2 ** (-2 / 48));
  assert.ok(cqtLayout(DEFAULT_CQT, 1000).pad >= (2 / w0) * SR);
  // Constant-Q bandwidth f(2^(2/48) - 2^(-2/48)) exceeds sr/hop = 344.5 Hz above ~5.96 kHz: capped from there.
  const capFreq = 32.70319566257483 * 2 ** (cqtLayout(DEFAULT_CQT, 1000).firstCappedBin / 48);
  assert.ok(capFreq > 5900 && capFreq < 6100, `first capped bin at ${capFreq} Hz`);
});

/**
 * Coefficient inner product in which analysis after synthesis must be an orthogonal projection:
 * the transform is a tight frame whose bin k is scaled by b_k (cqtLayout().binScale), so bin k's
 * coefficients weigh 1/b_k^2, twice for the complex channels (a real signal's conjugate mirror
 * channels carry the same values), once for the real residual channels.
 */
function inner(a: Coefficients, b: Coefficients, length: number): number {
  const lay = cqtLayout(DEFAULT_CQT, length);
  const K = a.bins;
  const w = lay.binScale.map((v) => 2 / (v * v));
  let s = 0;
  for (let i = 0; i < a.re.length; i++) s += w[i % K] * (a.re[i] * b.re[i] + a.im[i] * b.im[i]);
  const ea = a.extra as CqtExtra;
  const eb = b.extra as CqtExtra;
  for (let i = 0; i < ea.tailRe.length; i++) s += w[i % K] * (ea.tailRe[i] * eb.tailRe[i] + ea.tailIm[i] * eb.tailIm[i]);
  for (let i = 0; i < ea.lowpass.length; i++) s += (ea.lowpass[i] * eb.lowpass[i]) / lay.lowpassScale ** 2;
  for (let i = 0; i < ea.highpass.length; i++) s += (ea.highpass[i] * eb.highpass[i]) / lay.highpassScale ** 2;
  return s;
}

test('tight frame: analysis after synthesis is the orthogonal projection onto consistent coefficients', () => {
  const n = 6000;
  const ref = cqt(noise(n, 3), DEFAULT_CQT);
  const rng = createRng(11);
  const rnd = (a: Float32Array): Float32Array => a.map(() => gaussian(rng));
  const e0 = ref.extra as CqtExtra;
  const c: Coefficients = {
    frames: ref.frames,
    bins: ref.bins,
    re: rnd(ref.re),
    im: rnd(ref.im),
    extra: { ...e0, tailRe: rnd(e0.tailRe), tailIm: rnd(e0.tailIm), lowpass: rnd(e0.lowpass), highpass: rnd(e0.highpass) },
  };
  const p = cqt(icqt(c, DEFAULT_CQT, n), DEFAULT_CQT);
  const pp = cqt(icqt(p, DEFAULT_CQT, n), DEFAULT_CQT);
  // Idempotent.
  const diff: Coefficients = { ...p, re: p.re.map((v, i) => v - pp.re[i]), im: p.im.map((v, i) => v - pp.im[i]) };
  diff.extra = { ...(p.extra as CqtExtra), tailRe: new Float32Array((p.extra as CqtExtra).tailRe.length), tailIm: new Float32Array((p.extra as CqtExtra).tailIm.length), lowpass: new Float32Array((p.extra as CqtExtra).lowpass.length), highpass: new Float32Array((p.extra as CqtExtra).highpass.length) };
  assert.ok(Math.sqrt(inner(diff, diff, n) / inner(p, p, n)) < 1e-4, 'projection is idempotent on the features');
  // Orthogonal: the residual c - P c is orthogonal to P c (this holds for the canonical dual of a tight frame only).
  const ex = c.extra as CqtExtra;
  const px = p.extra as CqtExtra;
  const sub = (a: Float32Array, b: Float32Array): Float32Array => a.map((v, i) => v - b[i]);
  const r: Coefficients = {
    ...c,
    re: sub(c.re, p.re),
    im: sub(c.im, p.im),
    extra: { ...ex, tailRe: sub(ex.tailRe, px.tailRe), tailIm: sub(ex.tailIm, px.tailIm), lowpass: sub(ex.lowpass, px.lowpass), highpass: sub(ex.highpass, px.highpass) },
  };
  const cosine = inner(r, p, n) / Math.sqrt(inner(r, r, n) * inner(p, p, n));
  assert.ok(Math.abs(cosine) < 1e-4, `residual not orthogonal to the projection: cosine ${cosine}`);
  assert.ok(inner(p, p, n) < inner(c, c, n), 'projection shrinks random coefficients');
  // Tight: the analysis preserves energy up to a constant (Parseval), for any signal.
  const x1 = noise(n, 5);
  const x2 = chirps(n);
  const e1 = cqt(x1, DEFAULT_CQT);
  const e2 = cqt(x2, DEFAULT_CQT);
  const energy = (x: Float32Array): number => x.reduce((acc, v) => acc + v * v, 0);
  const ratio1 = inner(e1, e1, n) / energy(x1);
  const ratio2 = inner(e2, e2, n) / energy(x2);
  assert.ok(Math.abs(ratio1 / ratio2 - 1) < 1e-4, `frame bounds differ: ${ratio1} vs ${ratio2}`);
});

test('synthesis without extra channels still recovers the band-limited part', () => {
  // A tone well inside the bins and far from both ends of the signal: the tail frames and
  // residual channels carry almost none of its energy.
  const n = 8 * SR;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const env = Math.sin((Math.PI * i) / n) ** 2;
    x[i] = env * (Math.sin(2 * Math.PI * 440 * t) + 0.5 * Math.sin(2 * Math.PI * 1320 * t));
  }
  const c = cqt(x, DEFAULT_CQT);
  const y = icqt({ frames: c.frames, bins: c.bins, re: c.re, im: c.im }, DEFAULT_CQT, n);
  assert.ok(relErr(y, x) < 1e-3, `error ${relErr(y, x)}`);
});

test('bad input gives one-line UserErrors', () => {
  const x = new Float32Array(1000);
  assert.throws(() => cqt(new Float32Array(0)), UserError);
  assert.throws(() => cqt(Float32Array.of(0, NaN, 1)), /sample 1 is NaN/);
  assert.throws(() => cqt([1, 2, 3] as unknown as Float32Array), /Float32Array/);
  const c = cqt(x);
  assert.throws(() => icqt(c, DEFAULT_CQT, 5000), /pass the length/);
  assert.throws(() => icqt({ ...c, extra: { kind: 'other' } }, DEFAULT_CQT, 1000), /not from the constant-Q/);
  assert.throws(() => icqt(c, DEFAULT_CQT, 0), /positive integer/);
  assert.throws(() => cqtConfig({ octaves: 10 }), /Nyquist.*at most \d+ bins/);
  assert.throws(() => cqtConfig({ hop: 7 * 16 }), /hop must be/);
  assert.throws(() => cqtConfig({ octaves: -1 }), /octaves must be/);
  assert.throws(() => cqtConfig({ fmin: 0 }), /fmin/);
  assert.throws(() => cqtConfig({ binsPerOctave: 12, octaves: 9 }), /too sparse/);
  assert.throws(() => cqtTransform().signalLength(0), /positive integer/);
  // Whole-signal transforms of very long signals refuse with a pointer to the block-wise path
  // (checked before anything large is allocated).
  assert.throws(() => cqtLayout(DEFAULT_CQT, 10 * 60 * SR), /cqtMagnitudesLong/);
  for (const f of [() => cqtConfig({ octaves: 10 }), () => cqt(new Float32Array(0))]) {
    try {
      f();
    } catch (e) {
      assert.ok(!(e as Error).message.includes('\n'));
    }
  }
});
