import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fgla, fglaCoefficients, type FglaOptions } from '../src/dsp/fgla.ts';
import { stft, istft, stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes, randomPhase, zeroPhase } from '../src/dsp/coefficients.ts';
import { createRng, gaussian } from '../src/dsp/rng.ts';
import type { Coefficients, Magnitudes, StftConfig, Transform } from '../src/dsp/types.ts';
import { relErr } from './helpers/signal.ts';

const SR = 44100;

/** Sum of decaying harmonics with vibrato plus a little noise: a real-ish instrument tone. */
function tone(len: number, f0 = 196, seed = 1): Float32Array {
  const r = createRng(seed);
  const x = new Float32Array(len);
  let ph = 0;
  for (let i = 0; i < len; i++) {
    const t = i / SR;
    ph += (2 * Math.PI * f0 * (1 + 0.008 * Math.sin(2 * Math.PI * 5.5 * t))) / SR;
    let v = 0;
    for (let h = 1; h <= 12; h++) v += (0.5 / h) * Math.exp(-(0.8 + 0.3 * h) * t) * Math.sin(h * ph + 0.3 * h);
    x[i] = Math.min(1, t * 100) * v + 0.003 * gaussian(r);
  }
  return x;
}

/** Spectral convergence in dB of |STFT(y)| against the target magnitudes (lower is better). */
function scDb(y: Float32Array, target: Magnitudes, cfg: StftConfig): number {
  const m = magnitudes(stft(y, cfg)).data;
  let e = 0;
  let r = 0;
  for (let i = 0; i < m.length; i++) {
    e += (m[i] - target.data[i]) ** 2;
    r += target.data[i] ** 2;
  }
  return 10 * Math.log10(e / r);
}

const LEN = SR + 321; // about 1 s, not a multiple of the hop
const X = tone(LEN);
const TR = stftTransform(DEFAULT_STFT);
const MAG = magnitudes(TR.analyze(X));

test('0 iterations synthesises the start: random phase and zero phase, on both paths', () => {
  for (const path of ['fused', 'generic'] as const) {
    const yr = fgla(MAG, TR, LEN, { iterations: 0, seed: 5, path });
    assert.equal(yr.length, LEN);
    // The random start is exp(2 pi i u) for the uniforms u of createRng(seed): the same as coefficients.randomPhase.
    const ref = istft(randomPhase(MAG, 5), DEFAULT_STFT, LEN);
    assert.ok(relErr(yr, ref) < 1e-4, `${path} random start: ${relErr(yr, ref)}`);
    const yz = fgla(MAG, TR, LEN, { iterations: 0, init: 'zero', path });
    assert.ok(relErr(yz, istft(zeroPhase(MAG), DEFAULT_STFT, LEN)) < 1e-5, `${path} zero start`);
  }
});

test('spectral convergence improves with iterations (Fast Griffin-Lim, random start)', () => {
  const sc = [0, 2, 8, 32].map((it) => scDb(fgla(MAG, TR, LEN, { iterations: it, seed: 3 }), MAG, DEFAULT_STFT));
  for (let i = 1; i < sc.length; i++) assert.ok(sc[i] < sc[i - 1] - 1, `SC must drop: ${sc.map((v) => v.toFixed(2)).join(', ')}`);
  // Random phase is around -3 dB; torchaudio's FGLA reaches about -21 dB at 32 iterations on real audio.
  assert.ok(sc[0] > -6, `random start SC ${sc[0]}`);
  assert.ok(sc[3] < -17, `32 iterations SC ${sc[3]}`);
});

test('momentum helps: Fast Griffin-Lim beats plain Griffin-Lim (momentum 0) at 16 iterations', () => {
  const fast = scDb(fgla(MAG, TR, LEN, { iterations: 16, seed: 2 }), MAG, DEFAULT_STFT);
  const plain = scDb(fgla(MAG, TR, LEN, { iterations: 16, seed: 2, momentum: 0 }), MAG, DEFAULT_STFT);
  assert.ok(fast < plain - 2, `fast ${fast} dB vs plain ${plain} dB`);
});

test('deterministic: same seed gives identical output, different seed differs', () => {
  const a = fgla(MAG, TR, LEN, { iterations: 4, seed: 11 });
  const b = fgla(MAG, TR, LEN, { iterations: 4, seed: 11 });
  const c = fgla(MAG, TR, LEN, { iterations: 4, seed: 12 });
  assert.deepEqual(a, b);
  assert.ok(relErr(a, c) > 0.1, 'a different seed gives a different phase');
  const g1 = fgla(MAG, TR, LEN, { iterations: 4, seed: 11, path: 'generic' });
  const g2 = fgla(MAG, TR, LEN, { iterations: 4, seed: 11, path: 'generic' });
  assert.deepEqual(g1, g2);
});

test('zero start converges too', () => {
  const sc0 = scDb(fgla(MAG, TR, LEN, { iterations: 0, init: 'zero' }), MAG, DEFAULT_STFT);
  const sc16 = scDb(fgla(MAG, TR, LEN, { iterations: 16, init: 'zero' }), MAG, DEFAULT_STFT);
  assert.ok(sc16 < sc0 - 6, `zero start: ${sc0} -> ${sc16}`);
});

test('a Coefficients start uses its phase: the true phase reconstructs the signal', () => {
  const c = TR.analyze(X);
  const y0 = fgla(MAG, TR, LEN, { iterations: 0, init: c });
  assert.ok(relErr(y0, X) < 1e-4);
  const y8 = fgla(MAG, TR, LEN, { iterations: 8, init: c });
  assert.ok(relErr(y8, X) < 1e-3, 'the true phase is a fixed point');
});

test('fused WebAssembly path equals the generic JS path within float32 tolerance', () => {
  const configs: StftConfig[] = [DEFAULT_STFT, { kind: 'stft', sampleRate: SR, nFft: 480, hop: 90 }, { kind: 'stft', sampleRate: SR, nFft: 256, hop: 64 }];
  for (const cfg of configs) {
    const len = 9000 + 7;
    const x = tone(len, 330, 4);
    const tr = stftTransform(cfg);
    const mag = magnitudes(tr.analyze(x));
    const inits: FglaOptions['init'][] = ['random', 'zero', randomPhase(mag, 99)];
    for (const init of inits) {
      for (const iterations of [0, 1, 3, 8]) {
        const f = fglaCoefficients(mag, tr, len, { iterations, init, seed: 7, path: 'fused' });
        const g = fglaCoefficients(mag, tr, len, { iterations, init, seed: 7, path: 'generic' });
        const d = relErr(f.signal, g.signal);
        assert.ok(d < 1e-4, `nFft ${cfg.nFft} hop ${cfg.hop} init ${typeof init} it ${iterations}: signal diff ${d}`);
        if (iterations > 0) {
          assert.ok(relErr(f.coefficients.re, g.coefficients.re) < 1e-4, 'coefficients re');
          assert.ok(relErr(f.coefficients.im, g.coefficients.im) < 1e-4, 'coefficients im');
        }
        // The returned coefficients are what was synthesised.
        assert.ok(relErr(istft(f.coefficients, cfg, len), f.signal) < 1e-5);
        // They carry the target magnitudes (after an iteration DC and Nyquist too, as real values;
        // the start only keeps the real part of its random DC/Nyquist phasor, as synthesis does).
        const m = magnitudes(f.coefficients).data;
        let e = 0;
        for (let i = 0; i < m.length; i++) {
          const k = i % mag.bins;
          if (iterations > 0 || (k > 0 && k < mag.bins - 1)) e = Math.max(e, Math.abs(m[i] - mag.data[i]));
        }
        assert.ok(e < 1e-3 * Math.max(...mag.data.slice(0, 5000)), `magnitude error ${e}`);
      }
    }
  }
});

test('the generic path works over any Transform and carries extra channels from the last analysis', () => {
  let synthCalls = 0;
  let extrasSeen = 0;
  const inner = stftTransform({ kind: 'stft', sampleRate: SR, nFft: 512, hop: 128 });
  const wrapped: Transform = {
    config: { kind: 'cqt', sampleRate: SR, hop: 128, binsPerOctave: 12, nBins: 257, fmin: 32.7 },
    bins: inner.bins,
    frameCount: inner.frameCount,
    signalLength: inner.signalLength,
    analyze: (x) => ({ ...inner.analyze(x), extra: { tag: 'residual' } }),
    synthesize: (c: Coefficients, length) => {
      synthCalls++;
      if ((c.extra as { tag?: string } | undefined)?.tag === 'residual') extrasSeen++;
      return inner.synthesize(c, length);
    },
  };
  const len = 6000;
  const x = tone(len);
  const mag = magnitudes(inner.analyze(x));
  const y = fgla(mag, wrapped, len, { iterations: 6, seed: 1 });
  assert.equal(synthCalls, 7);
  assert.equal(extrasSeen, 6, 'every synthesis after an analysis gets its extra channels');
  const yRef = fgla(mag, inner, len, { iterations: 6, seed: 1, path: 'generic' });
  assert.deepEqual(y, yRef);
  assert.throws(() => fgla(mag, wrapped, len, { iterations: 1, path: 'fused' }), /fused path needs an STFT/);
});

test('onProgress reports every iteration and an AbortSignal stops the run', () => {
  for (const path of ['fused', 'generic'] as const) {
    const seen: number[] = [];
    fgla(MAG, TR, LEN, { iterations: 5, path, onProgress: (d, t) => seen.push(d * 10 + t) });
    assert.deepEqual(seen, [15, 25, 35, 45, 55]);
    const ac = new AbortController();
    let done = 0;
    assert.throws(
      () =>
        fgla(MAG, TR, LEN, {
          iterations: 50,
          path,
          signal: ac.signal,
          onProgress: (d) => {
            done = d;
            if (d === 2) ac.abort();
          },
        }),
      (e: Error) => e.name === 'AbortError',
    );
    assert.equal(done, 2);
    const pre = new AbortController();
    pre.abort();
    assert.throws(() => fgla(MAG, TR, LEN, { iterations: 1, path, signal: pre.signal }), (e: Error) => e.name === 'AbortError');
  }
});

test('very short signals (shorter than one window, even empty) work on both paths', () => {
  const cfg: StftConfig = { kind: 'stft', sampleRate: SR, nFft: 512, hop: 128 };
  const tr = stftTransform(cfg);
  for (const len of [0, 1, 100, 511, 700]) {
    const x = tone(len, 440, 9);
    const mag = magnitudes(tr.analyze(x));
    const f = fgla(mag, tr, len, { iterations: 3, seed: 1 });
    const g = fgla(mag, tr, len, { iterations: 3, seed: 1, path: 'generic' });
    assert.equal(f.length, len);
    assert.ok(f.every(Number.isFinite));
    if (len > 0) assert.ok(relErr(f, g) < 1e-4, `len ${len}: ${relErr(f, g)}`);
  }
});

test('bad input gives clear one-line errors', () => {
  assert.throws(() => fgla(MAG, TR, LEN + 10000, { iterations: 1 }), /frames but a .*-sample signal has/);
  assert.throws(() => fgla({ ...MAG, bins: 3, data: new Float32Array(3 * MAG.frames) }, TR, LEN, { iterations: 1 }), /3 bins but the transform has 1025/);
  const neg = { ...MAG, data: MAG.data.slice() };
  neg.data[7] = -1;
  assert.throws(() => fgla(neg, TR, LEN, { iterations: 1 }), /value -1 at frame 0, bin 7 must be finite and >= 0/);
  const nan = { ...MAG, data: MAG.data.slice() };
  nan.data[3] = Number.NaN;
  assert.throws(() => fgla(nan, TR, LEN, { iterations: 1 }), /NaN/);
  assert.throws(() => fgla(MAG, TR, LEN, { iterations: -1 }), /iterations must be an integer >= 0/);
  assert.throws(() => fgla(MAG, TR, LEN, { iterations: 1.5 }), /iterations/);
  assert.throws(() => fgla(MAG, TR, LEN, { iterations: 1, momentum: -0.5 }), /momentum/);
  assert.throws(() => fgla(MAG, TR, LEN, { iterations: 1, init: { frames: 2, bins: 1025, re: new Float32Array(2050), im: new Float32Array(2050) } }), /init coefficients are 2x1025/);
});
