import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cqtMagnitudes, cqtMagnitudesLong, cqtConfig, DEFAULT_CQT } from '../src/dsp/cqt.ts';
import type { CqtConfig, Magnitudes } from '../src/dsp/types.ts';
import { createRng, gaussian } from '../src/dsp/rng.ts';
import { UserError } from '../src/io/errors.ts';

const SR = 44100;

/**
 * A signal that stresses the block edges: a steady C1 (the longest filter),
 * a slow glide in the lowest octave that stops half-way, a click train, notes
 * with decaying partials and a little noise.
 */
function testSignal(n: number, seed: number): Float32Array {
  const r = createRng(seed);
  const x = new Float32Array(n);
  let glide = 0;
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    glide += (2 * Math.PI * (36 + 3 * t)) / SR;
    let v = 0.5 * Math.sin(2 * Math.PI * 32.703 * t) + (i < n / 2 ? 0.3 * Math.sin(glide) : 0);
    const note = Math.floor(t / 0.7);
    const f0 = 110 * 2 ** ((note * 5) % 24 / 12);
    const tn = t - note * 0.7;
    for (let h = 1; h <= 10; h++) v += (0.2 / h) * Math.exp(-4 * tn) * Math.sin(2 * Math.PI * f0 * h * tn);
    if (i % 11025 === 0) v += 1;
    x[i] = v + 0.02 * gaussian(r);
  }
  return x;
}

function compare(a: Magnitudes, b: Magnitudes): { maxRel: number; fro: number } {
  assert.equal(a.frames, b.frames);
  assert.equal(a.bins, b.bins);
  let mx = 0;
  let md = 0;
  let e = 0;
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    mx = Math.max(mx, a.data[i]);
    md = Math.max(md, Math.abs(d));
    e += d * d;
    s += a.data[i] * a.data[i];
  }
  return { maxRel: md / mx, fro: Math.sqrt(e / s) };
}

test('block-wise long magnitudes match the whole-signal transform (several block sizes)', () => {
  const x = testSignal(20 * SR + 77, 1);
  const whole = cqtMagnitudes(x);
  for (const blockFrames of [undefined, 500, 1777]) {
    const long = cqtMagnitudesLong(x, DEFAULT_CQT, blockFrames === undefined ? {} : { blockFrames });
    const { maxRel, fro } = compare(whole, long);
    assert.ok(maxRel < 2e-3, `blockFrames ${blockFrames}: max difference ${maxRel.toExponential(2)} of the largest magnitude`);
    assert.ok(fro < 1e-3, `blockFrames ${blockFrames}: relative Frobenius difference ${fro.toExponential(2)}`);
  }
});

test('long magnitudes: short signals (one block) and a 9-octave config', () => {
  const cfg: CqtConfig = cqtConfig({ octaves: 9 });
  for (const n of [1, 300, 3 * SR]) {
    const x = testSignal(n, n);
    const { maxRel } = compare(cqtMagnitudes(x, cfg), cqtMagnitudesLong(x, cfg, { blockFrames: 400 }));
    // Here the whole-signal transform's own circular wrap (the signal's other end is only
    // 2 pads = 6/W0 away, where the lowest kernel is ~0.15% of its peak) dominates the difference.
    assert.ok(maxRel < 5e-3, `${n} samples: ${maxRel}`);
  }
});

test('long magnitudes: frame count, bad options', () => {
  const x = testSignal(12345, 2);
  const m = cqtMagnitudesLong(x);
  assert.equal(m.frames, 1 + Math.floor(12345 / 128));
  assert.equal(m.bins, 384);
  assert.equal(m.data.length, m.frames * m.bins);
  assert.throws(() => cqtMagnitudesLong(x, DEFAULT_CQT, { blockFrames: 0 }), UserError);
  assert.throws(() => cqtMagnitudesLong(new Float32Array(0)), /empty/);
});
