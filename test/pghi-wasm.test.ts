/**
 * The WebAssembly PGHI (`src/dsp/wasm/pghi-kernels.as.ts`, the default path of `pghi` and
 * `pghiSignal`) against the JavaScript reference implementation in `src/dsp/pghi.ts`
 * (`path: 'js'`): the same coefficients and the same signal, bit for bit, on real recordings and
 * on edge cases (zeros, subnormals, one frame, other STFT sizes, output lengths).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pghi, pghiSignal, type PghiOptions } from '../src/dsp/pghi.ts';
import { PGHI_KERNELS_WASM } from '../src/dsp/wasm/pghi-kernels.ts';
import { readAudio } from '../src/io/audio.ts';
import { stft, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import { createRng } from '../src/dsp/rng.ts';
import { UserError } from '../src/io/errors.ts';
import type { Magnitudes, StftConfig } from '../src/dsp/types.ts';

const sameBytes = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Both paths agree bit for bit, for the coefficients and for the signal; returns the WebAssembly signal. */
function assertPathsAgree(S: Magnitudes, cfg: StftConfig, length: number, opts: PghiOptions, what: string): Float32Array {
  const cj = pghi(S, cfg, { ...opts, path: 'js' });
  const cw = pghi(S, cfg, { ...opts, path: 'wasm' });
  assert.ok(sameBytes(cw.re, cj.re) && sameBytes(cw.im, cj.im), `${what}: coefficients differ`);
  const yj = pghiSignal(S, cfg, length, { ...opts, path: 'js' });
  const yw = pghiSignal(S, cfg, length, { ...opts, path: 'wasm' });
  assert.ok(sameBytes(yw, yj), `${what}: signals differ`);
  assert.ok(sameBytes(pghiSignal(S, cfg, length, opts), yw), `${what}: the default path is not the WebAssembly one`);
  return yw;
}

test('WebAssembly and JavaScript PGHI give the same bytes on every file of data/bench, at two tolerances and seeds and both time derivatives', async () => {
  const dir = new URL('../data/bench/', import.meta.url).pathname;
  for (const name of ['bench-bass', 'bench-piano', 'bench-sax', 'bench-speech-1', 'bench-speech-2', 'bench-strings']) {
    const x = (await readAudio(`${dir}${name}.wav`, { sampleRate: 44100 })).samples;
    const S = magnitudes(stft(x, DEFAULT_STFT));
    const y = assertPathsAgree(S, DEFAULT_STFT, x.length, { seed: 0 }, name);
    assert.ok(signalSpectralConvergence(x, y) < -15, name);
    if (name === 'bench-speech-2') assertPathsAgree(S, DEFAULT_STFT, x.length, { seed: 5, tolerance: 1e-2 }, `${name} tol 1e-2`);
    assertPathsAgree(S, DEFAULT_STFT, x.length, { seed: 0, timeDerivative: 'log' }, `${name} log time derivative`);
  }
});

test('both paths agree on edge cases: zeros, subnormals, one and two frames, other sizes, short and long outputs', () => {
  const rng = createRng(9);
  const random = (frames: number, bins: number, zeroShare: number): Magnitudes => {
    const data = new Float32Array(frames * bins);
    for (let i = 0; i < data.length; i++) {
      const u = rng();
      // zeros, subnormals (1e-40) and values over 120 dB, so that several islands exist at 1e-4
      data[i] = u < zeroShare ? 0 : u < zeroShare + 0.05 ? 1e-40 * rng() : Math.exp(-14 * rng()) * (rng() < 0.02 ? 100 : 1);
    }
    return { frames, bins, data };
  };
  const small: StftConfig = { kind: 'stft', sampleRate: 16000, nFft: 512, hop: 128 };
  const cases: [Magnitudes, StftConfig, number, string][] = [
    [random(40, 1025, 0.3), DEFAULT_STFT, 39 * 256, 'random 40 frames'],
    [random(40, 1025, 0.3), DEFAULT_STFT, 39 * 256 + 5000, 'output longer than the frames cover'],
    [random(40, 1025, 0.3), DEFAULT_STFT, 1000, 'short output'],
    [random(1, 1025, 0.1), DEFAULT_STFT, 200, 'one frame'],
    [random(2, 1025, 0.1), DEFAULT_STFT, 256, 'two frames'],
    [random(120, 257, 0.5), small, 119 * 128, 'nFft 512 hop 128'],
    [random(30, 1025, 0.97), DEFAULT_STFT, 29 * 256, 'mostly zero'],
  ];
  for (const [S, cfg, length, what] of cases) assertPathsAgree(S, cfg, length, { seed: 2 }, what);
});

test('silence and empty spectrograms give zeros on the WebAssembly path', () => {
  const silent = { frames: 6, bins: 1025, data: new Float32Array(6 * 1025) };
  const c = pghi(silent, DEFAULT_STFT, { path: 'wasm' });
  assert.ok(c.re.every((v) => v === 0) && c.im.every((v) => v === 0));
  assert.deepEqual(pghiSignal(silent, DEFAULT_STFT, 1280, { path: 'wasm' }), new Float32Array(1280));
  assert.equal(pghi({ frames: 0, bins: 1025, data: new Float32Array(0) }, DEFAULT_STFT, { path: 'wasm' }).re.length, 0);
});

test('the WebAssembly path names the first bad magnitude like the JavaScript one', () => {
  for (const path of ['wasm', 'js'] as const) {
    const bad = new Float32Array(3 * 1025).fill(0.5);
    bad[2 * 1025 + 7] = Infinity;
    bad[1025 + 5] = NaN;
    const S = { frames: 3, bins: 1025, data: bad };
    const is = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
    assert.throws(() => pghi(S, DEFAULT_STFT, { path }), is(/frame 1, bin 5 is NaN/), path);
    assert.throws(() => pghiSignal(S, DEFAULT_STFT, 512, { path }), is(/frame 1, bin 5 is NaN/), path);
    bad[1025 + 5] = -2;
    assert.throws(() => pghi(S, DEFAULT_STFT, { path }), is(/frame 1, bin 5 is -2/), path);
    bad[1025 + 5] = 1;
    assert.throws(() => pghi(S, DEFAULT_STFT, { path }), is(/frame 2, bin 7 is Infinity/), path);
  }
  assert.throws(() => pghi({ frames: 1, bins: 1025, data: new Float32Array(1025) }, DEFAULT_STFT, { path: 'gpu' as 'js' }), /path must be/);
});

test('the kernels module imports only PFFFT memory, its ordered transform and Math.log, and has no data segment', () => {
  const bytes = readFileSync(PGHI_KERNELS_WASM);
  type W = { Module: { new (b: Uint8Array): object; imports(m: object): { module: string; name: string; kind: string }[]; customSections(m: object, n: string): ArrayBuffer[] } };
  const WA = (globalThis as unknown as { WebAssembly: W }).WebAssembly;
  const mod = new WA.Module(bytes);
  assert.deepEqual(WA.Module.imports(mod).map((e) => `${e.module}.${e.name}:${e.kind}`).sort(), [
    'env.memory:memory',
    'pghi-kernels.as.jsLog:function',
    'pghi-kernels.as.pffftTransformOrdered:function',
  ]);
  // A data segment (section id 11) would be written over PFFFT's memory at instantiation.
  const sections: number[] = [];
  for (let i = 8; i < bytes.length; ) {
    sections.push(bytes[i]);
    let size = 0;
    let shift = 0;
    let j = i + 1;
    for (;;) {
      const c = bytes[j++];
      size |= (c & 0x7f) << shift;
      shift += 7;
      if (!(c & 0x80)) break;
    }
    i = j + size;
  }
  assert.ok(!sections.includes(11), `sections ${sections.join(', ')}`);
});
