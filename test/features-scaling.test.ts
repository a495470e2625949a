import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toFeatures, fromFeatures, featureConfigHash, analysisHash, transformFor, analyzeMagnitudes, stftMagnitudesLong } from '../src/engine/features.ts';
import { UserError } from '../src/io/errors.ts';
import type { FeatureConfig } from '../src/engine/types.ts';
import type { MagnitudeScaling } from '../src/engine/types.ts';

function randomMagnitudes(frames: number, bins: number, seed: number): { frames: number; bins: number; data: Float32Array } {
  let s = seed >>> 0;
  const data = new Float32Array(frames * bins);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // Spread over many decades, with exact zeros (silence) in between.
    data[i] = i % 7 === 0 ? 0 : 10 ** (6 * (s / 2 ** 32) - 4);
  }
  return { frames, bins, data };
}

test('features: linear is the identity, log is log1p; both round-trip through fromFeatures', () => {
  const mag = randomMagnitudes(50, 33, 1);
  const lin = toFeatures(mag, 'linear');
  assert.notEqual(lin.data, mag.data, 'a new array unless inPlace');
  assert.deepEqual(lin.data, mag.data);
  const log = toFeatures(mag, 'log');
  for (let i = 0; i < mag.data.length; i++) assert.equal(log.data[i], Math.fround(Math.log1p(mag.data[i])));
  for (const scaling of ['linear', 'log'] as MagnitudeScaling[]) {
    const back = fromFeatures(toFeatures(mag, scaling), scaling);
    assert.equal(back.frames, 50);
    assert.equal(back.bins, 33);
    for (let i = 0; i < mag.data.length; i++) {
      const want = mag.data[i];
      assert.ok(Math.abs(back.data[i] - want) <= 2e-6 * Math.max(1, want), `${scaling} [${i}]: ${back.data[i]} vs ${want}`);
    }
  }
});

test('features: fromFeatures clamps negative network output to zero magnitude', () => {
  const f = { frames: 1, bins: 4, data: Float32Array.of(-1, -1e-8, 0, 2) };
  assert.deepEqual([...fromFeatures(f, 'linear').data], [0, 0, 0, 2]);
  const log = fromFeatures(f, 'log').data;
  assert.deepEqual([...log.subarray(0, 3)], [0, 0, 0]);
  assert.ok(Math.abs(log[3] - (Math.E ** 2 - 1)) < 1e-5);
});

test('features: inPlace overwrites the input array', () => {
  const mag = randomMagnitudes(3, 5, 2);
  const copy = mag.data.slice();
  const out = toFeatures(mag, 'log', true);
  assert.equal(out.data, mag.data);
  assert.equal(mag.data[1], Math.fround(Math.log1p(copy[1])));
  fromFeatures(out, 'log', true);
  for (let i = 0; i < copy.length; i++) assert.ok(Math.abs(mag.data[i] - copy[i]) <= 2e-6 * Math.max(1, copy[i]));
});

test('features: unknown scaling and transform kinds are one-line UserErrors', () => {
  const mag = randomMagnitudes(1, 2, 3);
  assert.throws(() => toFeatures(mag, 'db' as MagnitudeScaling), UserError);
  assert.throws(() => fromFeatures(mag, 'db' as MagnitudeScaling), UserError);
  assert.throws(() => transformFor({ kind: 'wavelet' } as never), (e: unknown) => e instanceof UserError && /stft.*cqt/.test(e.message));
});

test('featureConfigHash: stable across key order, different for any changed field; analysisHash ignores the scaling', () => {
  const a: FeatureConfig = { transform: { kind: 'stft', sampleRate: 44100, nFft: 2048, hop: 256 }, scaling: 'log' };
  const reordered = JSON.parse('{"scaling":"log","transform":{"hop":256,"nFft":2048,"sampleRate":44100,"kind":"stft"}}') as FeatureConfig;
  assert.match(featureConfigHash(a), /^[0-9a-f]{16}$/);
  assert.equal(featureConfigHash(reordered), featureConfigHash(a));
  const variants: FeatureConfig[] = [
    { ...a, scaling: 'linear' },
    { ...a, transform: { kind: 'stft', sampleRate: 48000, nFft: 2048, hop: 256 } },
    { ...a, transform: { kind: 'stft', sampleRate: 44100, nFft: 1024, hop: 256 } },
    { ...a, transform: { kind: 'stft', sampleRate: 44100, nFft: 2048, hop: 128 } },
    { transform: { kind: 'cqt', sampleRate: 44100, hop: 256, binsPerOctave: 48, nBins: 384, fmin: 32.703 }, scaling: 'log' },
  ];
  const hashes = new Set([featureConfigHash(a), ...variants.map(featureConfigHash)]);
  assert.equal(hashes.size, variants.length + 1);
  assert.equal(analysisHash(a.transform), analysisHash(variants[0].transform));
  assert.notEqual(analysisHash(a.transform), analysisHash(variants[1].transform));
});

test('analyzeMagnitudes (STFT): frame count and the magnitude of a bin-centred sine', () => {
  const cfg: FeatureConfig = { transform: { kind: 'stft', sampleRate: 16000, nFft: 512, hop: 128 }, scaling: 'linear' };
  const n = 8000;
  const k = 40;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.25 * Math.cos((2 * Math.PI * k * i) / 512);
  const mag = analyzeMagnitudes(x, cfg);
  assert.equal(mag.bins, 257);
  assert.equal(mag.frames, 1 + Math.floor(n / 128));
  assert.equal(mag.frames, transformFor(cfg.transform).frameCount(n));
  // Periodic Hann: |X[k]| = A * sum(w) / 2 = A * N / 4 = 0.25 * 128 = 32; neighbours k±1 hold half of that; k±2 nothing.
  const t = 30;
  const row = mag.data.subarray(t * 257, (t + 1) * 257);
  assert.ok(Math.abs(row[k] - 32) < 1e-3, `${row[k]}`);
  assert.ok(Math.abs(row[k + 1] - 16) < 1e-3);
  assert.ok(Math.abs(row[k - 1] - 16) < 1e-3);
  assert.ok(row[k + 2] < 1e-3);
});

test('analyzeMagnitudes (constant-Q): frame count, width, and a sine lands in its bin', () => {
  const transform = { kind: 'cqt' as const, sampleRate: 22050, hop: 128, binsPerOctave: 12, nBins: 72, fmin: 32.703195662574835 };
  const cfg: FeatureConfig = { transform, scaling: 'linear' };
  const n = 22050;
  const k = 45; // A5 region: fmin * 2^(45/12)
  const f = transform.fmin * 2 ** (k / 12);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * f * i) / transform.sampleRate);
  const mag = analyzeMagnitudes(x, cfg);
  assert.equal(mag.bins, 72);
  assert.equal(mag.frames, transformFor(transform).frameCount(n));
  const t = Math.floor(mag.frames / 2);
  const row = mag.data.subarray(t * 72, (t + 1) * 72);
  let peak = 0;
  for (let b = 1; b < 72; b++) if (row[b] > row[peak]) peak = b;
  assert.equal(peak, k);
  assert.ok(row[k] > 10 * row[k - 3] && row[k] > 10 * row[k + 3], 'energy concentrated around the bin');
});

test('stftMagnitudesLong: block-wise analysis equals whole-signal |STFT| exactly, for any block size and length', () => {
  const cfg = { kind: 'stft' as const, sampleRate: 16000, nFft: 512, hop: 128 };
  const transform = transformFor(cfg);
  let s = 12345;
  for (const n of [100, 5000, 16000 * 2 + 77]) {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      x[i] = Math.sin(i * 0.01 + 0.00001 * i * i) * 0.5 + (s / 2 ** 32 - 0.5) * 0.1;
    }
    const c = transform.analyze(x);
    const whole = new Float32Array(c.frames * c.bins);
    for (let i = 0; i < whole.length; i++) whole[i] = Math.sqrt(c.re[i] * c.re[i] + c.im[i] * c.im[i]);
    for (const block of [1, 3, 7, 50, 4096]) {
      const m = stftMagnitudesLong(x, cfg, block);
      assert.equal(m.frames, c.frames);
      assert.equal(m.bins, 257);
      assert.deepEqual(m.data, whole, `n ${n}, block ${block}`);
    }
  }
  assert.throws(() => stftMagnitudesLong(new Float32Array(10), cfg, 0), RangeError);
});
