import { test } from 'node:test';
import assert from 'node:assert/strict';
import { magnitudes, phases, fromPolar, applyPhase, randomPhase, zeroPhase, zeroCoefficients, cloneCoefficients, checkMagnitudes } from '../src/dsp/coefficients.ts';
import type { Coefficients } from '../src/dsp/types.ts';

const C: Coefficients = { frames: 2, bins: 3, re: Float32Array.from([3, 0, -1, 0, 1, 0]), im: Float32Array.from([4, 2, 0, 0, -1, 0]) };

test('magnitudes and phases of known values', () => {
  assert.deepEqual(Array.from(magnitudes(C).data), [5, 2, 1, 0, Math.fround(Math.SQRT2), 0]);
  const p = phases(C);
  const expect = [Math.atan2(4, 3), Math.PI / 2, Math.PI, 0, -Math.PI / 4, 0];
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(p[i] - expect[i]) < 1e-6);
});

test('fromPolar inverts magnitudes + phases', () => {
  const back = fromPolar(magnitudes(C), phases(C));
  for (let i = 0; i < 6; i++) {
    assert.ok(Math.abs(back.re[i] - C.re[i]) < 1e-6);
    assert.ok(Math.abs(back.im[i] - C.im[i]) < 1e-6);
  }
});

test('applyPhase keeps the target magnitude and the source phase; zero sources give phase 0', () => {
  const mag = { frames: 2, bins: 3, data: Float32Array.from([10, 1, 2, 7, 2, 0]) };
  const out = applyPhase(mag, { ...C, extra: 'x' });
  assert.deepEqual(Array.from(out.re).map((v) => +v.toFixed(5)), [6, 0, -2, 7, 1.41421, 0]);
  assert.deepEqual(Array.from(out.im).map((v) => +v.toFixed(5)), [8, 1, 0, 0, -1.41421, 0]);
  assert.equal(out.extra, 'x');
  assert.throws(() => applyPhase({ frames: 1, bins: 3, data: new Float32Array(3) }, C), /phase source is 2x3 but magnitudes are 1x3/);
});

test('randomPhase is deterministic, keeps magnitudes and spreads phases uniformly', () => {
  const mag = { frames: 100, bins: 100, data: new Float32Array(10000).fill(2) };
  const a = randomPhase(mag, 1);
  const b = randomPhase(mag, 1);
  const c = randomPhase(mag, 2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.re, c.re);
  const m = magnitudes(a).data;
  for (const v of m) assert.ok(Math.abs(v - 2) < 1e-5);
  // Mean of a uniform phasor is ~0; each quadrant holds ~1/4.
  let sr = 0;
  let si = 0;
  let q1 = 0;
  for (let i = 0; i < 10000; i++) {
    sr += a.re[i];
    si += a.im[i];
    if (a.re[i] > 0 && a.im[i] > 0) q1++;
  }
  assert.ok(Math.abs(sr / 10000) < 0.05 && Math.abs(si / 10000) < 0.05);
  assert.ok(q1 > 2300 && q1 < 2700, `first quadrant ${q1}`);
});

test('zeroPhase, zeroCoefficients and cloneCoefficients', () => {
  const mag = { frames: 1, bins: 2, data: Float32Array.from([1, 2]) };
  const z = zeroPhase(mag);
  assert.deepEqual(Array.from(z.re), [1, 2]);
  assert.deepEqual(Array.from(z.im), [0, 0]);
  z.re[0] = 9;
  assert.equal(mag.data[0], 1, 'zeroPhase copies');
  assert.deepEqual(zeroCoefficients(2, 3).re, new Float32Array(6));
  const cl = cloneCoefficients(C);
  cl.re[0] = 100;
  assert.equal(C.re[0], 3);
});

test('checkMagnitudes rejects bad shapes and values with a clear message', () => {
  assert.throws(() => checkMagnitudes({ frames: 2, bins: 2, data: new Float32Array(3) }), /length frames\*bins = 4/);
  assert.throws(() => checkMagnitudes({ frames: 1, bins: 2, data: Float32Array.from([1, Infinity]) }), /Infinity at frame 0, bin 1/);
  assert.throws(() => magnitudes({ frames: 1, bins: 2, re: new Float32Array(2), im: new Float32Array(1) }), /length frames\*bins = 2/);
});
