/**
 * Fast Griffin-Lim phase reconstruction.
 *
 * N. Perraudin, P. Balazs, P. L. Sondergaard, "A fast Griffin-Lim algorithm",
 * IEEE WASPAA 2013, in the form used by `librosa.griffinlim` and
 * `torchaudio.transforms.GriffinLim`:
 *
 * ```
 * c      = S * angles0                     (start: random, zero or given phase)
 * repeat iterations times:
 *   rebuilt = analyze(synthesize(c))        (projection onto consistent coefficients)
 *   angles  = rebuilt - alpha/(1+alpha) * previous rebuilt
 *   c       = S * angles / (|angles| + 1e-16)   (projection onto the target magnitude S)
 * return synthesize(c)
 * ```
 *
 * With `momentum` (alpha) 0 this is the original algorithm of D. Griffin and
 * J. Lim, "Signal estimation from modified short-time Fourier transform",
 * IEEE TASSP 1984.
 *
 * With `acceleration` it is the accelerated Griffin-Lim algorithm (AGLA) of
 * R. Nenov, D.-K. Nguyen, P. Balazs, "Faster than fast: accelerating the
 * Griffin-Lim algorithm", ICASSP 2023 (analysis and convergence:
 * arXiv:2306.12504), which keeps two sequences besides the iterate:
 *
 * ```
 * c = S * angles0
 * first iteration:  t = d = c = analyze(synthesize(c))
 * then, each iteration:
 *   y  = analyze(synthesize(c))
 *   t' = (1 - gamma) * d + gamma * y
 *   c  = t' + alpha * (t' - t) ;  d = t' + beta * (t' - t) ;  t = t'
 *   c  = S * c / (|c| + 1e-16)
 * return synthesize(c)
 * ```
 *
 * With gamma 1 this is Fast Griffin-Lim again (up to float rounding).
 * {@link DEFAULT_ACCELERATION} (beta 1.25, gamma 1.25, with alpha 0.99) was
 * chosen on `data/bench/` and checked on `data/demo/` (2026-12-06, medians of the
 * spectral convergence of the output, STFT 2048/256): from a random start after
 * 32 iterations −24.90 dB against −22.78 with FGLA on `data/bench/` and −23.96
 * against −21.20 on `data/demo/` (11 of 12 files better); after PGHI and 8
 * iterations −32.81 against −32.45 and −37.96 against −37.51; constant-Q, random
 * start, 32 iterations −19.36 against −17.81 (`npm run bench -- phase`, with its
 * own random start: −19.23 against −18.57, and at 8 iterations −13.08 against
 * −14.06, FGLA ahead). Its lead shrinks with more
 * iterations: at 64 from random −28.67 against −27.30, at 128 −30.91 against
 * −31.38 (FGLA ahead). Larger steps diverge: gamma 1.35 with beta 1.1, or 1.3
 * with beta 1.4, gave about −11 dB.
 *
 * Two implementations, chosen automatically:
 * - **generic**: works with any {@link Transform} (STFT, constant-Q, ...), using
 *   its `analyze` / `synthesize`. Transform-private `extra` channels (not
 *   constrained by magnitudes) are carried over from the latest analysis.
 * - **fused** (STFT only): the whole iteration runs in WebAssembly SIMD on
 *   PFFFT's memory, one pass per iteration over the frames (analysis window,
 *   FFT in PFFFT's unordered layout, momentum and magnitude projection, inverse
 *   FFT, overlap-add, window-sum-square normalisation), with no copies
 *   through JavaScript. It computes the same thing as the generic path over
 *   `stftTransform(cfg)`, up to float32 rounding. Its state is a `FusedChunk`
 *   (`fgla-fused.ts`), which can also hold a share of the frames, so that
 *   `engine/phase-split.ts` can spread the iterations over threads with the
 *   same output bytes.
 *
 * @module
 */
import type { Coefficients, Magnitudes, StftConfig, Transform } from './types.ts';
import { checkCoefficients, checkMagnitudes } from './coefficients.ts';
import { createRng } from './rng.ts';
import { randomUnitPhasors } from './wasm/stft-kernels.ts';
import { FusedChunk, type Step } from './fgla-fused.ts';
import { DEFAULT_ACCELERATION, checkAcceleration, type Acceleration } from './phase-settings.ts';

/** Options of {@link fgla}. */
export interface FglaOptions {
  /** Number of iterations, an integer >= 0; 0 means "just synthesise the starting estimate". */
  iterations: number;
  /** Momentum alpha of Fast Griffin-Lim, >= 0 (default 0.99, as in the paper and librosa; 0 = plain Griffin-Lim). */
  momentum?: number;
  /**
   * Starting phase (default `'random'`):
   * `'random'`: independent uniform phase per coefficient from `createRng(seed)`, frame-major order;
   * `'zero'`: zero phase (real positive coefficients);
   * a {@link Coefficients} value of the same shape: its phase is used (e.g. from PGHI); zero coefficients get phase 0.
   */
  init?: 'random' | 'zero' | Coefficients;
  /** Seed of the random start (default 0). Same seed, same output. */
  seed?: number;
  /** Called after every iteration with (iterations done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Abort: checked before every iteration; throws the signal's reason (an `AbortError`). */
  signal?: AbortSignal;
  /**
   * Implementation: `'auto'` (default: fused for STFT transforms, generic otherwise),
   * `'fused'` (STFT only; throws for other transforms) or `'generic'`.
   * A transform counts as an STFT when `transform.config.kind === 'stft'`; the fused path then
   * uses the conventions of `stft.ts` (periodic Hann, centred zero-padded frames) for that config.
   * The fused path keeps about `6 * nFft` bytes per frame (10 * nFft with fglaCoefficients) in PFFFT's WebAssembly heap (2 GiB
   * at most: ~15 minutes of audio at nFft 2048 / hop 256); beyond that `'auto'` falls back to
   * the generic path.
   */
  path?: 'auto' | 'fused' | 'generic';
  /**
   * Run the accelerated Griffin-Lim algorithm (AGLA) instead, with these beta and gamma and
   * `momentum` as its alpha (see the module comment; {@link DEFAULT_ACCELERATION}). Default: none
   * (Fast Griffin-Lim). Costs `4 * nFft` more bytes per frame on the fused path.
   */
  acceleration?: Acceleration;
}

export { DEFAULT_ACCELERATION, checkAcceleration, type Acceleration } from './phase-settings.ts';

/** Result of {@link fglaCoefficients}. */
export interface FglaResult {
  /** The reconstructed signal, `length` samples. */
  signal: Float32Array;
  /** The final coefficients `S * angles` whose synthesis is `signal` (target magnitudes, estimated phase). */
  coefficients: Coefficients;
}

/** Guard added to |angles| before normalising (librosa / torchaudio use the same). */
const EPS = 1e-16;

/**
 * Reconstruct a signal from a magnitude spectrogram by Fast Griffin-Lim.
 *
 * @param mag Target magnitudes, `frames x bins` with `bins = transform.bins` and
 *   `frames = transform.frameCount(length)`.
 * @param transform The transform the magnitudes come from (`stftTransform(cfg)`, the constant-Q transform, ...).
 * @param length Output length in samples.
 * @param opts Iterations, momentum, start, seed, progress and abort (see {@link FglaOptions}).
 * @returns The signal, `length` samples.
 * @example
 * const tr = stftTransform(DEFAULT_STFT);
 * const y = fgla(magnitudes(tr.analyze(x)), tr, x.length, { iterations: 32, seed: 1 });
 */
export function fgla(mag: Magnitudes, transform: Transform, length: number, opts: FglaOptions): Float32Array {
  return run(mag, transform, length, opts, false).signal;
}

/**
 * Like {@link fgla}, but also returns the final coefficients (target magnitudes
 * with the estimated phase), e.g. to continue iterating later with
 * `init: result.coefficients`.
 *
 * @param mag Target magnitudes (see {@link fgla}).
 * @param transform The transform.
 * @param length Output length in samples.
 * @param opts See {@link FglaOptions}.
 */
export function fglaCoefficients(mag: Magnitudes, transform: Transform, length: number, opts: FglaOptions): FglaResult {
  return run(mag, transform, length, opts, true) as FglaResult;
}

/** {@link FglaOptions} checked and with their defaults, as {@link checkFglaOptions} returns them. */
export interface CheckedFglaOptions {
  iterations: number;
  step: Step;
  init: 'random' | 'zero' | Coefficients;
  seed: number;
  path: 'auto' | 'fused' | 'generic';
  /** Whether the transform is an STFT (`transform.config.kind === 'stft'`), which the fused path needs. */
  isStft: boolean;
}

/**
 * Check the arguments of {@link fgla} and fill in the defaults; throws the one-line errors `fgla` throws. Shared with
 * the threaded runner (`engine/phase-split.ts`), so that both refuse the same input with the same words.
 */
export function checkFglaOptions(mag: Magnitudes, transform: Transform, length: number, opts: FglaOptions): CheckedFglaOptions {
  if (!opts || typeof opts !== 'object') throw new Error('fgla: options { iterations } are required');
  const { iterations } = opts;
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`fgla: iterations must be an integer >= 0, got ${iterations}`);
  const momentum = opts.momentum ?? 0.99;
  if (!Number.isFinite(momentum) || momentum < 0) throw new Error(`fgla: momentum must be a finite number >= 0, got ${momentum}`);
  const seed = opts.seed ?? 0;
  if (!Number.isFinite(seed)) throw new Error(`fgla: seed must be a finite number, got ${seed}`);
  if (!transform || typeof transform.analyze !== 'function') throw new Error('fgla: transform must be a Transform (e.g. stftTransform(cfg))');
  checkMagnitudes(mag, 'fgla magnitudes');
  if (!Number.isInteger(length) || length < 0) throw new Error(`fgla: length must be an integer >= 0, got ${length}`);
  if (mag.bins !== transform.bins) {
    throw new Error(`fgla: magnitudes have ${mag.bins} bins but the transform has ${transform.bins}; use the transform they were computed with`);
  }
  const expected = transform.frameCount(length);
  if (mag.frames !== expected) {
    throw new Error(`fgla: magnitudes have ${mag.frames} frames but a ${length}-sample signal has ${expected}; pass length = transform.signalLength(frames)`);
  }
  const init = opts.init ?? 'random';
  if (init !== 'random' && init !== 'zero') {
    checkCoefficients(init, 'fgla init');
    if (init.frames !== mag.frames || init.bins !== mag.bins) {
      throw new Error(`fgla: init coefficients are ${init.frames}x${init.bins} but magnitudes are ${mag.frames}x${mag.bins}`);
    }
  }
  const path = opts.path ?? 'auto';
  if (path !== 'auto' && path !== 'fused' && path !== 'generic') throw new Error(`fgla: path must be 'auto', 'fused' or 'generic', got ${String(path)}`);
  const isStft = transform.config?.kind === 'stft';
  if (path === 'fused' && !isStft) throw new Error("fgla: the fused path needs an STFT transform; use path: 'generic'");
  const accel = opts.acceleration === undefined ? null : checkAcceleration(opts.acceleration, 'fgla: acceleration');
  return { iterations, step: { momentum, accel }, init, seed, path, isStft };
}

function run(
  mag: Magnitudes,
  transform: Transform,
  length: number,
  opts: FglaOptions,
  wantCoefficients: boolean,
): { signal: Float32Array; coefficients?: Coefficients } {
  const { iterations, step, init, seed, path, isStft } = checkFglaOptions(mag, transform, length, opts);
  opts.signal?.throwIfAborted();
  if (isStft && path !== 'generic') {
    const fused = runFused(mag, transform.config as StftConfig, length, iterations, step, init, seed, opts, wantCoefficients);
    // null: the WebAssembly heap (2 GiB, shared with PFFFT) cannot hold this signal's state
    // (about 12 KiB per frame at nFft 2048, i.e. beyond ~15 minutes); JavaScript memory can.
    if (fused) return fused;
  }
  return runGeneric(mag, transform, length, iterations, step, init, seed, opts);
}

/**
 * Where the starting phase comes from, as complex numbers `z` (the start is
 * `S * z / |z|`, or `S` where `z = 0`): random unit phasors `exp(2 pi i u)` for
 * successive uniforms `u` of `createRng(seed)`, all ones, or the given coefficients.
 */
function startSource(init: 'random' | 'zero' | Coefficients, seed: number, n: number): { re: Float32Array; im: Float32Array } {
  if (init === 'random') return randomUnitPhasors(createRng(seed).state(), n);
  if (init === 'zero') return { re: new Float32Array(n).fill(1), im: new Float32Array(n) };
  return init;
}

function runGeneric(
  mag: Magnitudes,
  transform: Transform,
  length: number,
  iterations: number,
  step: Step,
  init: 'random' | 'zero' | Coefficients,
  seed: number,
  opts: FglaOptions,
): { signal: Float32Array; coefficients: Coefficients } {
  const S = mag.data;
  const n = S.length;
  const { frames, bins } = mag;
  const cRe = new Float32Array(n);
  const cIm = new Float32Array(n);
  const z = startSource(init, seed, n);
  for (let i = 0; i < n; i++) {
    const a = Math.sqrt(z.re[i] * z.re[i] + z.im[i] * z.im[i]);
    if (a > 0) {
      cRe[i] = (S[i] * z.re[i]) / a;
      cIm[i] = (S[i] * z.im[i]) / a;
    } else cRe[i] = S[i];
  }
  const c: Coefficients = { frames, bins, re: cRe, im: cIm };
  if (typeof init === 'object' && init.extra !== undefined) c.extra = init.extra;
  let y = transform.synthesize(c, length);
  // FGLA: the previous analysis. AGLA: the previous t, and d.
  const prevRe = new Float32Array(n);
  const prevIm = new Float32Array(n);
  const { accel } = step;
  const dRe = new Float32Array(accel ? n : 0);
  const dIm = new Float32Array(accel ? n : 0);
  const beta = step.momentum / (1 + step.momentum);
  for (let it = 0; it < iterations; it++) {
    opts.signal?.throwIfAborted();
    const r = transform.analyze(y);
    if (r.frames !== frames || r.bins !== bins) {
      throw new Error(`fgla: transform.analyze returned ${r.frames}x${r.bins} coefficients, expected ${frames}x${bins}`);
    }
    const { re: rr, im: ri } = r;
    if (accel && it > 0) aglaUpdate(S, rr, ri, prevRe, prevIm, dRe, dIm, cRe, cIm, step.momentum, accel);
    else {
      for (let i = 0; i < n; i++) {
        const xr = rr[i];
        const xi = ri[i];
        const ar = xr - beta * prevRe[i];
        const ai = xi - beta * prevIm[i];
        prevRe[i] = xr;
        prevIm[i] = xi;
        const s = S[i] / (Math.sqrt(ar * ar + ai * ai) + EPS);
        cRe[i] = ar * s;
        cIm[i] = ai * s;
      }
      // AGLA's first iteration is this one from prev = 0 (c = y); then t (kept in prev) = d = y.
      if (accel) {
        dRe.set(prevRe);
        dIm.set(prevIm);
      }
    }
    if (r.extra !== undefined) c.extra = r.extra;
    else delete c.extra;
    y = transform.synthesize(c, length);
    opts.onProgress?.(it + 1, iterations);
  }
  return { signal: y, coefficients: c };
}

/**
 * One AGLA update of every coefficient after the first iteration (see the module comment): from the
 * analysis y, the previous t and d (both updated in place), the projected iterate c.
 */
function aglaUpdate(
  S: Float32Array, yRe: Float32Array, yIm: Float32Array, tRe: Float32Array, tIm: Float32Array,
  dRe: Float32Array, dIm: Float32Array, cRe: Float32Array, cIm: Float32Array,
  alpha: number, { beta, gamma }: Acceleration,
): void {
  const g1 = 1 - gamma;
  for (let i = 0; i < S.length; i++) {
    const nr = g1 * dRe[i] + gamma * yRe[i];
    const ni = g1 * dIm[i] + gamma * yIm[i];
    const gr = nr - tRe[i];
    const gi = ni - tIm[i];
    tRe[i] = nr;
    tIm[i] = ni;
    dRe[i] = nr + beta * gr;
    dIm[i] = ni + beta * gi;
    const ar = nr + alpha * gr;
    const ai = ni + alpha * gi;
    const s = S[i] / (Math.sqrt(ar * ar + ai * ai) + EPS);
    cRe[i] = ar * s;
    cIm[i] = ai * s;
  }
}

function runFused(
  mag: Magnitudes,
  cfg: StftConfig,
  length: number,
  iterations: number,
  step: Step,
  init: 'random' | 'zero' | Coefficients,
  seed: number,
  opts: FglaOptions,
  wantCoefficients: boolean,
): { signal: Float32Array; coefficients?: Coefficients } | null {
  const T = mag.frames;
  const chunk = FusedChunk.create({
    cfg, totalFrames: T, length, first: 0, count: T, mag: mag.data, step, wantCoefficients,
    start: init === 'random' ? { kind: 'random', state: createRng(seed).state() } : init === 'zero' ? { kind: 'zero' } : { kind: 'given', re: init.re, im: init.im },
  });
  if (!chunk) return null;
  try {
    chunk.startPass(wantCoefficients && iterations === 0);
    for (let it = 0; it < iterations; it++) {
      opts.signal?.throwIfAborted();
      chunk.iterate(it, wantCoefficients && it === iterations - 1);
      opts.onProgress?.(it + 1, iterations);
    }
    const signal = chunk.output();
    if (!wantCoefficients) return { signal };
    return { signal, coefficients: { frames: T, bins: mag.bins, ...chunk.coefficients() } };
  } finally {
    chunk.free();
  }
}
