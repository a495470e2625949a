import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconstructPhase, parsePhaseMethod, PHASE_METHODS } from '../src/dsp/phase.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { fgla } from '../src/dsp/fgla.ts';
import { stft, istft, stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { cqtTransform, DEFAULT_CQT } from '../src/dsp/cqt.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import { createRng } from '../src/dsp/rng.ts';
import { UserError } from '../src/io/errors.ts';

const sr = 44100;
const transform = stftTransform(DEFAULT_STFT);

/** 1 s: a decaying 6-harmonic tone with vibrato plus a noise burst and white noise at -40 dB. */
function testSignal(seed: number): Float32Array {
  const L = sr;
  const rng = createRng(seed);
  const x = new Float32Array(L);
  let ph = 0;
  for (let n = 0; n < L; n++) {
    const t = n / sr;
    ph += (2 * Math.PI * 330 * (1 + 0.01 * Math.sin(2 * Math.PI * 5 * t))) / sr;
    let v = 0;
    for (let h = 1; h <= 6; h++) v += (0.5 / h) * Math.exp(-t) * Math.sin(h * ph);
    if (n > 20000 && n < 24000) v += 0.2 * (rng() * 2 - 1);
    x[n] = v + 0.01 * (rng() * 2 - 1);
  }
  return x;
}

const x = testSignal(3);
const S = magnitudes(stft(x, DEFAULT_STFT));
const L = x.length;
const sc = (y: Float32Array) => signalSpectralConvergence(x, y);

test('PHASE_METHODS and parsePhaseMethod', () => {
  assert.deepEqual([...PHASE_METHODS], ['fgla', 'agla', 'pghi', 'pghi+fgla', 'pghi+agla']);
  for (const m of PHASE_METHODS) assert.equal(parsePhaseMethod(m), m);
  assert.equal(parsePhaseMethod(' PGHI+FGLA '), 'pghi+fgla');
  assert.throws(
    () => parsePhaseMethod('gla'),
    (e: unknown) => e instanceof UserError && e.message === 'unknown phase method "gla"; use one of: fgla, agla, pghi, pghi+fgla, pghi+agla',
  );
});

test("'pghi' is PGHI then the inverse STFT", () => {
  const y = reconstructPhase(S, transform, L, { method: 'pghi', iterations: 0, seed: 4 });
  assert.deepEqual(y, istft(pghi(S, DEFAULT_STFT, { seed: 4 }), DEFAULT_STFT, L));
});

test("'fgla' is Fast Griffin-Lim from the chosen start, deterministic for a seed", () => {
  const a = reconstructPhase(S, transform, L, { method: 'fgla', iterations: 3, seed: 9 });
  assert.deepEqual(a, fgla(S, transform, L, { iterations: 3, seed: 9, init: 'random' }));
  assert.deepEqual(a, reconstructPhase(S, transform, L, { method: 'fgla', iterations: 3, seed: 9 }));
  assert.notDeepEqual(a, reconstructPhase(S, transform, L, { method: 'fgla', iterations: 3, seed: 10 }));
  const z = reconstructPhase(S, transform, L, { method: 'fgla', iterations: 3, init: 'zero' });
  assert.deepEqual(z, fgla(S, transform, L, { iterations: 3, init: 'zero' }));
});

test('quality order: pghi+fgla(8) < pghi < fgla(8) from random phase, with wide margins', () => {
  const random8 = sc(reconstructPhase(S, transform, L, { method: 'fgla', iterations: 8 }));
  const p = sc(reconstructPhase(S, transform, L, { method: 'pghi', iterations: 0 }));
  const p8 = sc(reconstructPhase(S, transform, L, { method: 'pghi+fgla', iterations: 8 }));
  // Průša et al. 2017 (Fig. 6): PGHI alone is ahead of tens of FGLA iterations from a
  // random start, and FGLA started from PGHI keeps improving on it.
  assert.ok(p < random8 - 5, `pghi ${p.toFixed(2)} dB vs fgla(8) ${random8.toFixed(2)} dB`);
  assert.ok(p8 < p - 3, `pghi+fgla(8) ${p8.toFixed(2)} dB vs pghi ${p.toFixed(2)} dB`);
});

test("'pghi+fgla' with 0 iterations synthesises the PGHI estimate", () => {
  const a = reconstructPhase(S, transform, L, { method: 'pghi+fgla', iterations: 0 });
  const b = reconstructPhase(S, transform, L, { method: 'pghi', iterations: 0 });
  let err = 0;
  let ref = 0;
  for (let i = 0; i < L; i++) {
    err += (a[i] - b[i]) ** 2;
    ref += b[i] ** 2;
  }
  assert.ok(err / ref < 1e-10, `relative error ${err / ref}`);
});

test('PGHI methods refuse the constant-Q transform with a one-line hint; fgla works on it', () => {
  const cqt = cqtTransform(DEFAULT_CQT);
  const short = x.subarray(0, 8192);
  const C = magnitudes(cqt.analyze(short));
  for (const method of ['pghi', 'pghi+fgla'] as const) {
    assert.throws(
      () => reconstructPhase(C, cqt, short.length, { method, iterations: 2 }),
      (e: unknown) => e instanceof UserError && /^PGHI needs an STFT model .*; use --phase agla$/.test(e.message),
    );
  }
  const y = reconstructPhase(C, cqt, short.length, { method: 'fgla', iterations: 2 });
  assert.equal(y.length, short.length);
  assert.ok(y.every(Number.isFinite));
  assert.ok(y.some((v) => v !== 0));
});

test('bad input: wrong bin count, wrong frame count, bad iterations, unknown method', () => {
  const wrong = { frames: S.frames, bins: 513, data: new Float32Array(S.frames * 513) };
  assert.throws(() => reconstructPhase(wrong, transform, L, { method: 'fgla', iterations: 1 }), (e: unknown) => e instanceof UserError && /513 bins/.test(e.message));
  for (const method of PHASE_METHODS) {
    assert.throws(
      () => reconstructPhase(S, transform, L + 5 * DEFAULT_STFT.hop, { method, iterations: 1 }),
      (e: unknown) => e instanceof UserError && /frames but a \d+-sample signal has/.test(e.message),
    );
  }
  assert.throws(() => reconstructPhase(S, transform, L, { method: 'fgla', iterations: -1 }), (e: unknown) => e instanceof UserError && /iterations/.test(e.message));
  assert.throws(() => reconstructPhase(S, transform, L, { method: 'fgla', iterations: 1.5 }), UserError);
  assert.throws(() => reconstructPhase(S, transform, L, { method: 'magic' as never, iterations: 1 }), UserError);
});

test('progress and abort', () => {
  const seen: [number, number][] = [];
  reconstructPhase(S, transform, L, { method: 'pghi+fgla', iterations: 3, onProgress: (d, t) => seen.push([d, t]) });
  assert.deepEqual(seen.at(-1), [3, 3]);
  const once: [number, number][] = [];
  reconstructPhase(S, transform, L, { method: 'pghi', iterations: 0, onProgress: (d, t) => once.push([d, t]) });
  assert.deepEqual(once, [[1, 1]]);
  const ac = new AbortController();
  ac.abort();
  for (const method of PHASE_METHODS) {
    assert.throws(() => reconstructPhase(S, transform, L, { method, iterations: 2, signal: ac.signal }), (e: unknown) => (e as Error).name === 'AbortError');
  }
  // aborted during the iterations
  const ac2 = new AbortController();
  assert.throws(
    () => reconstructPhase(S, transform, L, { method: 'pghi+fgla', iterations: 50, signal: ac2.signal, onProgress: (d) => d === 2 && ac2.abort() }),
    (e: unknown) => (e as Error).name === 'AbortError',
  );
});
