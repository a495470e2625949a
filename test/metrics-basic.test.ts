import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spectralConvergence, logSpectralDistance, signalSpectralConvergence, snr } from '../src/dsp/metrics.ts';
import { createRng } from '../src/dsp/rng.ts';
import { UserError } from '../src/io/errors.ts';
import type { Magnitudes } from '../src/dsp/types.ts';

/** A positive random spectrogram whose values span less than 60 dB (all above any -80 dB floor). */
function randomMagnitudes(frames: number, bins: number, seed: number): Magnitudes {
  const rng = createRng(seed);
  const data = new Float32Array(frames * bins);
  for (let i = 0; i < data.length; i++) data[i] = 10 ** (-3 * rng()); // 0 to -60 dB
  return { frames, bins, data };
}

function scaled(m: Magnitudes, g: number): Magnitudes {
  return { frames: m.frames, bins: m.bins, data: Float32Array.from(m.data, (v) => v * g) };
}

test('spectralConvergence: identical spectrograms give -Infinity', () => {
  const m = randomMagnitudes(20, 65, 1);
  assert.equal(spectralConvergence(m, { ...m, data: m.data.slice() }), -Infinity);
});

test('spectralConvergence: a scaled copy g*S gives exactly 20*log10|1-g|', () => {
  const m = randomMagnitudes(30, 129, 2);
  for (const g of [0, 0.5, 0.9, 1.1, 2, 3]) {
    const expected = 20 * Math.log10(Math.abs(1 - g));
    // float32 rounding of g*S is ~6e-8 relative, far below 1e-4 dB
    assert.ok(Math.abs(spectralConvergence(m, scaled(m, g)) - expected) < 1e-4, `g=${g}`);
  }
});

test('spectralConvergence: one changed bin gives 10*log10(d^2 / ||S||^2)', () => {
  const m = { frames: 2, bins: 3, data: Float32Array.from([3, 0, 4, 0, 0, 0]) }; // ||S|| = 5
  const e = { frames: 2, bins: 3, data: Float32Array.from([3, 0, 4, 0, 1, 0]) }; // error 1
  assert.ok(Math.abs(spectralConvergence(m, e) - 20 * Math.log10(1 / 5)) < 1e-12);
});

test('spectralConvergence: all-zero reference and non-zero estimate is +Infinity, shape mismatch is a one-line UserError', () => {
  const z = { frames: 2, bins: 2, data: new Float32Array(4) };
  assert.equal(spectralConvergence(z, { frames: 2, bins: 2, data: Float32Array.from([0, 1, 0, 0]) }), Infinity);
  assert.throws(
    () => spectralConvergence(z, { frames: 1, bins: 4, data: new Float32Array(4) }),
    (e: unknown) => e instanceof UserError && /shapes differ/.test(e.message) && !e.message.includes('\n'),
  );
});

test('logSpectralDistance: 0 for identical input, |20 log10 g| for a scaled copy above the floor', () => {
  const m = randomMagnitudes(25, 33, 3);
  assert.equal(logSpectralDistance(m, m), 0);
  for (const g of [0.5, 2, 10]) {
    const expected = Math.abs(20 * Math.log10(g));
    assert.ok(Math.abs(logSpectralDistance(m, scaled(m, g), { floorDb: -120 }) - expected) < 1e-4, `g=${g}`);
  }
});

test('logSpectralDistance: the floor bounds the difference of silent bins', () => {
  // ref: peak 1 in each frame and one silent bin; est: the silent bin stays silent, a loud bin is zeroed
  const ref = { frames: 1, bins: 4, data: Float32Array.from([1, 1, 1, 0]) };
  const est = { frames: 1, bins: 4, data: Float32Array.from([1, 1, 0, 0]) };
  // with floor -60 dB: only bin 2 differs, by 60 dB: RMS over 4 bins = sqrt(60^2/4) = 30
  assert.ok(Math.abs(logSpectralDistance(ref, est, { floorDb: -60 }) - 30) < 1e-9);
  // default floor -80 dB: 40
  assert.ok(Math.abs(logSpectralDistance(ref, est) - 40) < 1e-9);
  assert.throws(() => logSpectralDistance(ref, est, { floorDb: 10 }), UserError);
});

test('logSpectralDistance: averages the per-frame RMS over frames', () => {
  const ref = { frames: 2, bins: 2, data: Float32Array.from([1, 1, 1, 1]) };
  const est = { frames: 2, bins: 2, data: Float32Array.from([1, 1, 0.1, 0.1]) }; // frame 0: 0 dB, frame 1: 20 dB
  assert.ok(Math.abs(logSpectralDistance(ref, est) - 10) < 1e-6);
});

function noise(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

test('signalSpectralConvergence compares STFT magnitudes: blind to sign, exact for scaling', () => {
  const x = noise(20000, 4);
  assert.equal(signalSpectralConvergence(x, x.slice()), -Infinity);
  // -x has the same magnitudes
  assert.ok(signalSpectralConvergence(x, Float32Array.from(x, (v) => -v)) < -120);
  // the STFT is linear: 0.5x gives 20 log10 0.5
  const half = signalSpectralConvergence(x, Float32Array.from(x, (v) => 0.5 * v));
  assert.ok(Math.abs(half - 20 * Math.log10(0.5)) < 1e-3, String(half));
  // independent noise of the same level is far from convergence
  assert.ok(signalSpectralConvergence(x, noise(20000, 5)) > -6);
  assert.throws(() => signalSpectralConvergence(x, x.subarray(1)), (e: unknown) => e instanceof UserError && /lengths/.test(e.message));
});

test('snr: +Infinity for identical signals, 20 dB for a 0.9 copy, error on length mismatch', () => {
  const x = noise(5000, 6);
  assert.equal(snr(x, x), Infinity);
  const y = Float32Array.from(x, (v) => 0.9 * v);
  assert.ok(Math.abs(snr(x, y) - 20) < 1e-4);
  assert.throws(() => snr(x, y.subarray(2)), UserError);
});
