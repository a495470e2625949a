/**
 * Phase Gradient Heap Integration (PGHI): a non-iterative estimate of the STFT
 * phase from the STFT magnitude alone.
 *
 * Implements Z. Průša, P. Balazs, P. L. Søndergaard, "A Noniterative Method for
 * Reconstruction of Phase From STFT Magnitude", IEEE/ACM Transactions on Audio,
 * Speech, and Language Processing 25(5), 2017, for the STFT of `stft.ts`
 * (periodic Hann window of length `nFft`, hop `a`, centred frames).
 *
 * For a Gaussian window `g(τ) = exp(-π τ² / λ)` the STFT is (up to a factor)
 * an analytic function, so the phase gradient follows from the gradient of the
 * log-magnitude `s = ln |c|`. With the phase of each frame measured relative to
 * the window centre, `x` the time in samples and `ω` the frequency in cycles
 * per sample:
 *
 * ```text
 *   ∂φ/∂x = 2π ω + (1/λ) ∂s/∂ω        (instantaneous frequency)
 *   ∂φ/∂ω = −λ ∂s/∂x                  (local group delay)
 * ```
 *
 * The Hann window of length `N` is approximated by the Gaussian with
 * `λ = 0.25645 · N²` (the value Průša et al. give for Hann). On the grid `x = t·a`,
 * `ω = m/N` with centred differences this gives, per frame step and per bin step,
 *
 * ```text
 *   Δ_t φ(t, m) = 2π a m / N + (a N / λ) · (s[t, m+1] − s[t, m−1]) / 2
 *   Δ_m φ(t, m) = −(λ / (a N)) · (s[t+1, m] − s[t−1, m]) / 2
 * ```
 *
 * The time derivative of `s` in the second line is by default not this centred
 * difference of `s` but `(∂P/∂t) / (2P)` with the power `P = |c|²` differentiated
 * over ±2 frames (option `timeDerivative`, see {@link PghiOptions}): a row of a Hann
 * STFT is band-limited to about ±2 bins, so its power varies no faster than the
 * frame rate can follow, while `ln|c|` between two partials beats with a deep
 * minimum that a difference of logarithms misses. (`bench/_pghi-diag.ts`: with the
 * true phase steps along bins PGHI + 8 FGLA reaches −36.4 dB on `data/bench/`; the
 * centred log difference gives −31.4 dB, the power differences −32.5 dB.)
 *
 * `stft.ts` references the phase of frame `t` to the first sample of the
 * window, `N/2` samples before its centre, which multiplies bin `m` by
 * `exp(−iπm) = (−1)^m`; the returned coefficients include that factor, so
 * they can be passed straight to `istft` or used as the start of Fast Griffin-Lim.
 *
 * The phase is then integrated (trapezoidal rule: each step adds the mean of
 * the phase steps at both of its ends) outward from the largest coefficient,
 * always continuing from the largest coefficient already reached (a priority
 * queue on the magnitude), so that the integration runs along ridges where
 * the gradient estimate is reliable. Coefficients below
 * `tolerance · max|c|` are not integrated: they get a uniformly random phase
 * (one of 1024) from a seeded generator. When the queue runs dry (the remaining
 * coefficients form separate islands above the tolerance), integration
 * restarts from the largest coefficient not yet reached, with phase 0.
 *
 * Details and the measurements behind them (spectral convergence, SC, of
 * `|STFT(istft(c))|` against the target on the six files of `data/bench/`,
 * median −26.3 dB, per file −17.4 (piano) to −31.2 dB (sax); with 8 Fast
 * Griffin-Lim iterations after it, −32.5 dB; the figures below were measured
 * before the power time derivative, with medians −25.2 and −31.4 dB):
 * - Scaling: both steps above were checked against an impulse (group delay)
 *   and a stationary sinusoid (frame advance), and on the benchmark files:
 *   scaling the frame step's log-magnitude term alone by 0.8 or 1.2 cost
 *   1.7 / 0.9 dB of median SC, the bin step's alone 0.4 dB each way, λ·0.78
 *   2.2 dB and λ·1.17 1.2 dB; the paper's λ = 0.25645·N² is the optimum.
 * - DC and Nyquist: |c| of a real signal is even about both, so ∂s/∂ω is 0
 *   there (the grid is padded with mirrored bins). First and last frame:
 *   one-sided differences in time.
 * - Log floor: log-magnitudes are floored 30 dB under the tolerance before
 *   differencing (a floor at the tolerance or 170 dB under it gave identical SC).
 * - Heap order: the bucket queue (0.024 dB buckets) and a near-exact order
 *   (32768 buckets, 0.003 dB) gave the same median within 0.1 dB. Coarser
 *   buckets (32 to 256, with last-in-first-out order inside a bucket) moved
 *   single files by up to ±3 dB either way (bass −20.0 to −23.3, speech
 *   −24.3 to −25.4) without a consistent gain, so the fine queue stays.
 * - Two tolerances as in LTFAT's implementation (first integrate only within
 *   20 dB of the maximum, seeding every island there, then continue from its
 *   border down to the tolerance) was worse here: median −23.5 dB (+8 FGLA
 *   −28.4); seeding at −40 or −60 dB gave −25.1 / −25.2. One pass it is.
 * - Phases under the tolerance did not matter at 1e-5: integrating them along
 *   time (phase-vocoder style) instead of drawing them at random gave the
 *   same SC on every file.
 *
 * Cost: O(K) for K coefficients, in linear passes (check + maximum;
 * logarithms from a table, derivatives, queue buckets and starting phases,
 * random under the tolerance; integration; polar to Cartesian from a table of
 * 65536 phasors, which {@link pghiSignal} writes straight into the inverse
 * FFT's frame buffer). The priority queue is a bucket queue on the quantised
 * log-magnitude, with no allocation per coefficient (see `integrate`). The
 * working state is 16 bytes per coefficient, on a grid padded by one frame and
 * one bin on each side so that the integration needs no bounds checks.
 *
 * Speed: the passes run in WebAssembly (`wasm/pghi-kernels.as.ts`, loaded on
 * first use) inside PFFFT's memory, so that the inverse STFT of
 * {@link pghiSignal} calls PFFFT's inverse FFT on the phasors without a copy;
 * the maximum and the check of the input use 128-bit SIMD, the logarithms of
 * frame t + 1 are taken inside the derivative pass of frame t (one pass over
 * the state), and the overlap-add is in float64 pairs. They compute the same
 * float64 expressions in the same order as the JavaScript functions of this
 * file, so both give the same bytes (`test/pghi-wasm.test.ts`, every file of
 * `data/bench/`). The JavaScript path remains for when the WebAssembly heap (2
 * GiB, shared with PFFFT and Fast Griffin-Lim) cannot hold the state, about 26
 * bytes per coefficient (beyond roughly 7 minutes of audio at 2048/256), and
 * as the reference (`path: 'js'`). The working memory of either path is kept
 * between calls and only grown (up to 96 MiB in the WebAssembly heap, 64 MiB
 * in JavaScript: about 22 s of audio at 2048/256), so a call allocates little
 * more than its output. Measured 2026-11-24 with the process CPU time, best of
 * 8, on the six 4 s files of `data/bench/` at 2048/256: {@link pghiSignal} at
 * a real-time factor of 0.0049 against 0.0098 for the JavaScript path in the
 * same run; per file, check + maximum 0.5 ms, logarithms + derivatives 5.5 ms,
 * integration 3.3 to 11.7 ms, inverse STFT with the phasors 5 ms (of which
 * about 2.4 ms are the phasors and 1.5 ms the FFTs). The integration is bound
 * by the latency of its dependent loads and branches (41 to 49 ns per
 * integrated coefficient at 4 s, still 24 to 36 ns for 0.25 s excerpts whose
 * state fits in L2): a branch-free push was 1.8 times slower, one multi-way
 * branch on the four neighbours' state no faster; a branch-free derivative
 * pass (steps computed for every coefficient) took 7.6 instead of 5.7 ms per
 * file, and branch-free random phases 6.0. (Earlier, in JavaScript: splitting
 * the state into a phase/queue array and a derivative array, or a bin-major
 * layout, did not make it faster.) Figures of `npm run bench -- phase`: the "Phase
 * reconstruction" section of BENCHMARKS.md.
 */
import type { Coefficients, Magnitudes, StftConfig } from './types.ts';
import { createRng } from './rng.ts';
import { hannWindow, istftWith, pffftFrameScratch, synthesisWindow } from './stft.ts';
import { pffft } from './fft.ts';
import { loadPghiKernels, type PghiKernels } from './wasm/pghi-kernels.ts';
import { UserError } from '../io/errors.ts';
import { DEFAULT_PGHI_TOLERANCE, DEFAULT_PGHI_TIME_DERIVATIVE, isPghiTimeDerivative, type PghiTimeDerivative } from './phase-settings.ts';

/** λ/N² of the Gaussian that best approximates a Hann window of length N (Průša et al. 2017). */
export const HANN_LAMBDA = 0.25645;

export { DEFAULT_PGHI_TOLERANCE, DEFAULT_PGHI_TIME_DERIVATIVE, isPghiTimeDerivative, type PghiTimeDerivative } from './phase-settings.ts';

/** Options of {@link pghi}. */
export interface PghiOptions {
  /**
   * Relative magnitude threshold in (0, 1): coefficients with
   * `|c| < tolerance · max|c|` get random phase instead of integrated phase.
   * Default {@link DEFAULT_PGHI_TOLERANCE} = 1e-4 (−80 dB), chosen by
   * measurement on the benchmark files (`data/bench/`, 42 % to 80 % of whose
   * coefficients lie under −100 dB), 2026-11-24, one run, PGHI + istft,
   * median over the six files (SC of the output, alone / after 8 FGLA iterations):
   *
   * | tolerance | real-time factor | SC dB | + 8 FGLA |
   * |---|---|---|---|
   * | 1e-5 (−100 dB) | 0.0112 | −25.15 | −31.43 |
   * | 1e-4 (−80 dB) | 0.0094 | −25.15 | −31.43 |
   * | 1e-3 (−60 dB) | 0.0077 | −25.10 | −31.42 |
   * | 1e-2 (−40 dB) | 0.0065 | −22.62 | −30.58 |
   *
   * Per file, 1e-4 equals 1e-5 within 0.01 dB except one speech file (−27.88 →
   * −27.30 dB: its pauses split into islands with unrelated phase offsets) and
   * takes 16 % less time; 1e-3 costs at most another 0.05 dB per file for
   * another 18 %, but the threshold is relative to the loudest coefficient of
   * the whole signal, so at −60 dB the quiet end of a long decay would get
   * random phase: −80 dB keeps it integrated. (Earlier: 1e-8 gave −25.31 dB.)
   */
  tolerance?: number;
  /**
   * How the time derivative of the log-magnitude, which gives the phase step across bins, is taken
   * at frames that have two neighbours on each side:
   * - `'power'` (default): from the power |c|² with the ideal differentiator tapered to ±2 frames,
   *   `∂s/∂t = (0.75·(P[t+1] − P[t−1]) − 0.125·(P[t+2] − P[t−2])) / (2·P[t])`. The power of a Hann STFT
   *   row is band-limited (it varies no faster than the hop can follow), while ln|c| is not where
   *   two partials beat. Measured 2026-12-06 (SC of PGHI alone / + 8 FGLA): median −26.29 / −32.45 dB
   *   on `data/bench/` against −25.21 / −31.44 with `'log'`, better on every one of its six files. On the
   *   twelve files of `data/demo/`, −30.19 / −37.51 against −29.57 / −37.32, better after FGLA on ten
   *   (marimba +1.4 dB, speech +1.3 and +2.2 dB; flute −0.3, trumpet −0.1).
   * - `'log'`: the centred difference of s = ln|c| of Průša et al., exact for exponential decays.
   *   It is better for very fast decays: 1 kHz bursts decaying by e^40 within 1/8 s gave −34.62 dB
   *   after 8 FGLA iterations with it and −33.08 with `'power'`.
   *
   * The first and last frames always use the one-sided difference of ln|c|, and the second and
   * next-to-last frames, with `'power'`, the centred difference of the power.
   */
  timeDerivative?: PghiTimeDerivative;
  /** Seed of the random phases given to coefficients below the tolerance (`createRng(seed)` seeds an inline xorshift32). Default 0. */
  seed?: number;
  /**
   * λ/N² of the Gaussian window approximation. Default {@link HANN_LAMBDA}
   * (Hann). Exposed for windows other than Hann; leave it for `stft.ts`.
   */
  lambdaFactor?: number;
  /**
   * Implementation: `'auto'` (default: WebAssembly, `pghi-kernels.as.ts`, in PFFFT's heap; the
   * JavaScript one when that heap cannot hold the working state, about 26 bytes per coefficient:
   * beyond roughly 7 minutes of audio at 2048/256), `'wasm'` (throws instead of falling back) or
   * `'js'`. Both compute bit for bit the same output.
   */
  path?: 'auto' | 'wasm' | 'js';
}

/**
 * Estimate the phase of an STFT magnitude spectrogram with Phase Gradient Heap
 * Integration (Průša, Balazs, Søndergaard 2017).
 *
 * @param mag Magnitude spectrogram, frame-major (`data[t * bins + m]`), with
 *   `bins = cfg.nFft / 2 + 1` as produced by `stft.ts`; values finite and ≥ 0.
 * @param cfg The STFT parameters the magnitudes belong to (`nFft`, `hop`;
 *   periodic Hann window, centred frames).
 * @param opts See {@link PghiOptions}: `tolerance` (default 1e-4), `seed` (default 0).
 * @returns Coefficients with `|c| = mag` and the estimated phase, in the
 *   phase convention of `stft.ts` (ready for `istft` or as an FGLA start).
 * @throws UserError if the shape does not match `cfg` or values are invalid.
 */
export function pghi(mag: Magnitudes, cfg: StftConfig, opts: PghiOptions = {}): Coefficients {
  const T = mag.frames;
  const M = mag.bins;
  const re = new Float32Array(T * M);
  const im = new Float32Array(T * M);
  const p = checkInputs(mag, cfg, opts);
  if (T * M === 0) return { frames: T, bins: M, re, im };
  if (p.path !== 'js') {
    const done = withHeap(T, M, CARTESIAN_CHUNK * M * 8, p.path, (h) => {
      if (!estimateInHeap(mag, cfg, p, h)) return;
      const k = kernels();
      for (let t0 = 0; t0 < T; t0 += CARTESIAN_CHUNK) {
        const n = Math.min(CARTESIAN_CHUNK, T - t0);
        k.pghiCartesian(h.st, h.data, t0, n, M, k.phasors, h.tail, h.tail + 4 * n * M);
        const f = pffft.heapF32();
        const o = h.tail >> 2;
        re.set(f.subarray(o, o + n * M), t0 * M);
        im.set(f.subarray(o + n * M, o + 2 * n * M), t0 * M);
      }
    });
    if (done) return { frames: T, bins: M, re, im };
  }
  const ws = estimatePhases(mag, cfg, p);
  if (ws) polarToCartesian(mag.data, ws.st, T, M, re, im);
  return { frames: T, bins: M, re, im };
}

/**
 * PGHI straight to a signal: {@link pghi} followed by `istft`, without materialising the
 * coefficients (each frame's phasors are written directly into the inverse FFT's buffer; the
 * same output as `istft(pghi(mag, cfg, opts), cfg, length)`, in less time and memory).
 *
 * @param mag Magnitude spectrogram (see {@link pghi}).
 * @param cfg The STFT parameters the magnitudes belong to.
 * @param length Output length in samples, e.g. `(frames − 1)·hop`.
 * @param opts See {@link PghiOptions}.
 * @returns The signal, `length` samples.
 * @throws UserError as {@link pghi}.
 */
export function pghiSignal(mag: Magnitudes, cfg: StftConfig, length: number, opts: PghiOptions = {}): Float32Array {
  const T = mag.frames;
  const M = mag.bins;
  const p = checkInputs(mag, cfg, opts);
  if (!Number.isInteger(length) || length < 0) throw new Error(`istft: length ${length} must be a non-negative integer`);
  const out = new Float32Array(length);
  if (T * M === 0) return out;
  if (p.path !== 'js') {
    const N = cfg.nFft;
    const a = cfg.hop;
    const len = (T - 1) * a + N;
    const done = withHeap(T, M, 8 * len + 8 * a + 8 * N, p.path, (h) => {
      if (!estimateInHeap(mag, cfg, p, h)) return;
      const k = kernels();
      const { setup, buf, work } = pffftFrameScratch(N);
      const win = h.tail + 8 * len + 8 * a;
      const ws = win + 4 * N;
      const f = pffft.heapF32();
      f.set(hannWindow(N), win >> 2);
      f.set(synthesisWindow(N), ws >> 2);
      k.pghiSynthesize(setup, N, a, T, M, h.st, h.data, k.phasors, ws, win, buf, work, h.tail + 8 * len, h.tail, length);
      const count = Math.min(length, len - N / 2);
      out.set(pffft.heapF32().subarray(h.tail >> 2, (h.tail >> 2) + count));
    });
    if (done) return out;
  }
  const ws = estimatePhases(mag, cfg, p);
  if (!ws) return out;
  const { st } = ws;
  const data = mag.data;
  const last = M - 1;
  return istftWith(T, cfg, length, (t, h, b) => {
    const row = 4 * ((t + 1) * (M + 2) + 1) + 2;
    const i0 = t * M;
    h[b] = data[i0] * PHASORS[phasorIndex(st[row], 0)];
    h[b + 1] = data[i0 + last] * PHASORS[phasorIndex(st[row + 4 * last], last)];
    for (let m = 1, o = row + 4; m < last; m++, o += 4) {
      const k = phasorIndex(st[o], m);
      const v = data[i0 + m];
      h[b + 2 * m] = v * PHASORS[k];
      h[b + 2 * m + 1] = v * PHASORS[k + 1];
    }
  });
}

/** Checked options of {@link pghi}. */
interface Checked {
  tolerance: number;
  timeDerivative: PghiTimeDerivative;
  lambdaFactor: number;
  seed: number;
  path: 'auto' | 'wasm' | 'js';
}

/** Validate the shape and the options (the values are checked by the logarithm pass). */
function checkInputs(mag: Magnitudes, cfg: StftConfig, opts: PghiOptions): Checked {
  const { frames: T, bins: M, data } = mag;
  const N = cfg.nFft;
  const a = cfg.hop;
  if (!Number.isInteger(N) || N < 2 || N % 2 !== 0) {
    throw new UserError(`pghi: nFft must be an even integer >= 2, got ${N}; use the STFT config the magnitudes were made with`);
  }
  if (!Number.isInteger(a) || a < 1) {
    throw new UserError(`pghi: hop must be a positive integer, got ${a}; use the STFT config the magnitudes were made with`);
  }
  if (M !== N / 2 + 1) {
    throw new UserError(
      `pghi: magnitudes have ${M} bins but nFft ${N} needs ${N / 2 + 1}; pass the STFT config the magnitudes were made with`,
    );
  }
  if (!Number.isInteger(T) || T < 0 || data.length !== T * M) {
    throw new UserError(`pghi: magnitude data has length ${data.length}, expected frames*bins = ${T}*${M}; fix the Magnitudes shape`);
  }
  const tolerance = opts.tolerance ?? DEFAULT_PGHI_TOLERANCE;
  if (!(tolerance > 0 && tolerance < 1)) {
    throw new UserError(`pghi: tolerance must be in (0, 1), got ${tolerance}; e.g. 1e-4 (-80 dB)`);
  }
  const lambdaFactor = opts.lambdaFactor ?? HANN_LAMBDA;
  if (!(lambdaFactor > 0 && Number.isFinite(lambdaFactor))) {
    throw new UserError(`pghi: lambdaFactor must be a positive number, got ${lambdaFactor}; leave it unset for Hann`);
  }
  const path = opts.path ?? 'auto';
  if (path !== 'auto' && path !== 'wasm' && path !== 'js') throw new Error(`pghi: path must be 'auto', 'wasm' or 'js', got ${String(path)}`);
  const timeDerivative = opts.timeDerivative ?? DEFAULT_PGHI_TIME_DERIVATIVE;
  if (!isPghiTimeDerivative(timeDerivative)) {
    throw new UserError(`pghi: timeDerivative must be 'power' or 'log', got ${String(timeDerivative)}; leave it unset for 'power'`);
  }
  return { tolerance, timeDerivative, lambdaFactor, seed: opts.seed ?? 0, path };
}

/** The constants both implementations derive from the largest magnitude (the same float64 values). */
function integrationConstants(cfg: StftConfig, p: Checked, maxMag: number) {
  const N = cfg.nFft;
  const a = cfg.hop;
  const lambda = p.lambdaFactor * N * N;
  const threshold = p.tolerance * maxMag;
  const logThr = Math.log(threshold);
  return {
    threshold,
    logThr,
    /** Log floor, 30 dB under the tolerance. */
    floor: logThr - Math.log(1e3),
    /** The same floor as a magnitude (for the power differences of the time derivative). */
    magFloor: threshold / 1e3,
    qScale: (QUEUE_BUCKETS - 1) / Math.max(1e-12, Math.log(maxMag) - logThr),
    cT: (a * N) / lambda,
    cF: -lambda / (a * N),
    twoPiOverN: (2 * Math.PI) / N,
    /** xorshift32 state (Marsaglia 2003), never 0. */
    r0: createRng(p.seed).nextUint32() | 1,
  };
}

/**
 * Validate the values, then estimate every phase into the workspace (`st[4p+2]`, padded layout);
 * null when there is nothing to estimate (all zero: any phase is right, the output is 0).
 */
function estimatePhases(mag: Magnitudes, cfg: StftConfig, p: Checked): Workspace | null {
  const { frames: T, bins: M, data } = mag;
  const ws = workspace(T, M);
  const argMax = logMagnitudes(data, T, M, ws.st); // validates too
  const maxMag = data[argMax];
  if (maxMag === 0) return null; // silence: every phase is equally right, the output is zero
  const c = integrationConstants(cfg, p, maxMag);
  const remaining = derivativesAndStart(
    ws, data, T, M, c.threshold, c.logThr, c.floor, c.magFloor, c.qScale, c.cT, c.cF, c.twoPiOverN, cfg.nFft, cfg.hop, c.r0,
    p.timeDerivative === 'power',
  );
  const W = M + 2;
  integrate(ws, T, M, remaining, (Math.floor(argMax / M) + 1) * W + (argMax % M) + 1);
  return ws;
}

/** Byte pointers of the WebAssembly path's working memory inside PFFFT's heap (see {@link withHeap}). */
interface HeapBlock {
  /** (T + 2)(M + 2) 16-byte slots: the {@link Workspace} `st` layout. */
  st: number;
  /** T·M f32: a copy of the magnitudes. */
  data: number;
  /** T·M i32: the integration's later seeds. */
  order: number;
  /** M f64: per-bin frame advance. */
  advance: number;
  /** Queue scratch: heads (4096 i32), bitmap (128 i32), counts (4097 i32). */
  head: number;
  bits: number;
  counts: number;
  /** The caller's own bytes (16-byte aligned). */
  tail: number;
}

let heapCached: { base: number; bytes: number } | null = null;

/** Largest WebAssembly working block kept between calls, in bytes (about 22 s of audio at 2048/256). */
const MAX_HEAP_CACHED = 96 << 20;

/**
 * Run `fn` on a working block in PFFFT's WebAssembly heap sized for a `T × M` spectrogram plus
 * `tailBytes` of the caller's own. The block is kept between calls (up to {@link MAX_HEAP_CACHED},
 * grown by half when too small), so a call allocates nothing there in the steady state.
 *
 * @returns false when the heap cannot hold the block (2 GiB at most, shared with PFFFT and FGLA:
 *   beyond roughly 7 minutes of audio at 2048/256) and `path` is `'auto'`: the caller then takes
 *   the JavaScript path. With `path` `'wasm'` that throws instead.
 */
function withHeap(T: number, M: number, tailBytes: number, path: 'auto' | 'wasm', fn: (h: HeapBlock) => void): boolean {
  const up = (n: number) => Math.ceil(n / 16) * 16;
  const K = T * M;
  const sizes = [16 * (T + 2) * (M + 2), up(4 * K), up(4 * K), up(8 * M), 4 * QUEUE_BUCKETS, up(QUEUE_BUCKETS / 8), up(4 * (QUEUE_BUCKETS + 1)), up(tailBytes)];
  const bytes = sizes.reduce((s, x) => s + x, 0);
  let base: number;
  let transient = false;
  if (heapCached !== null && heapCached.bytes >= bytes) base = heapCached.base;
  else {
    const want = Math.max(bytes, heapCached === null ? 0 : Math.min(MAX_HEAP_CACHED, Math.ceil(heapCached.bytes * 1.5)));
    if (heapCached !== null) pffft.free(heapCached.base);
    heapCached = null;
    base = pffft.tryMalloc(want);
    if (base !== 0 && want <= MAX_HEAP_CACHED) heapCached = { base, bytes: want };
    else {
      if (base !== 0) pffft.free(base);
      base = pffft.tryMalloc(bytes);
      transient = true;
    }
    if (base === 0) {
      if (path === 'wasm') throw new Error(`pghi: the WebAssembly heap cannot hold ${bytes} bytes for ${T} frames; use path 'auto'`);
      return false;
    }
  }
  try {
    const at: number[] = [];
    let o = base;
    for (const s of sizes) {
      at.push(o);
      o += s;
    }
    fn({ st: at[0], data: at[1], order: at[2], advance: at[3], head: at[4], bits: at[5], counts: at[6], tail: at[7] });
  } finally {
    if (transient) pffft.free(base);
  }
  return true;
}

/**
 * The WebAssembly counterpart of {@link estimatePhases} (`pghi-kernels.as.ts`, bit for bit the same
 * phases): copy the magnitudes into the block, validate them and estimate every phase into `h.st`.
 *
 * @returns false for an all-zero spectrogram (the output is zero).
 */
function estimateInHeap(mag: Magnitudes, cfg: StftConfig, p: Checked, h: HeapBlock): boolean {
  const { frames: T, bins: M, data } = mag;
  const k = kernels();
  pffft.heapF32().set(data, h.data >> 2);
  const argMax = k.pghiScan(h.data, T * M);
  if (argMax < 0) {
    const i = -argMax - 1;
    throw new UserError(`pghi: magnitude at frame ${Math.floor(i / M)}, bin ${i % M} is ${data[i]}; magnitudes must be finite and >= 0`);
  }
  const maxMag = data[argMax];
  if (maxMag === 0) return false;
  const c = integrationConstants(cfg, p, maxMag);
  const remaining = k.pghiPrepare(
    h.st, h.data, k.lnTable, T, M, h.advance, c.threshold, c.logThr, c.floor, c.magFloor, c.qScale, c.cT, c.cF, c.twoPiOverN, cfg.nFft, cfg.hop, c.r0,
    p.timeDerivative === 'power' ? 1 : 0,
  );
  const W = M + 2;
  k.pghiIntegrate(h.st, T, M, remaining, (Math.floor(argMax / M) + 1) * W + (argMax % M) + 1, h.head, h.bits, h.counts, h.order);
  return true;
}

/** Frames per {@link pghi} call of the Cartesian kernel (its output passes through the heap block). */
const CARTESIAN_CHUNK = 64;

let loaded: PghiKernels | null = null;

/** The WebAssembly kernels, loaded on first use (so that importing this module for its constants costs nothing). */
function kernels(): PghiKernels {
  if (loaded === null) loaded = loadPghiKernels(LN_MANTISSA, PHASORS);
  return loaded;
}

/**
 * Working memory of {@link pghi}, kept between calls (and grown when a
 * larger spectrogram arrives), so that a call allocates little besides its
 * output. The grid is padded by one frame before the first and after the last
 * and by one bin below DC and above Nyquist; the padding counts as already
 * reached, which removes every bounds check from the integration. Padded
 * index of frame `t`, bin `m`: `p = (t + 1)·sT + (m + 1)·sM`.
 */
interface Workspace {
  /**
   * One 16-byte slot per coefficient: `[4p]` phase step to the next frame,
   * `[4p+1]` phase step to the next bin, `[4p+2]` ln|c| until the
   * derivatives are computed, then the phase (NaN until reached),
   * `[4p+3]` (int32, through `link`) the priority bucket (−1: under the
   * tolerance or padding), then, once queued, the next coefficient of the
   * same bucket.
   */
  st: Float32Array;
  link: Int32Array;
  /** Head of each bucket's list (−1: empty). */
  head: Int32Array;
  /** Bitmap of the non-empty buckets. */
  bits: Int32Array;
  /** Per bin, the frame advance `2π·(a·m mod N)/N`. */
  advance: Float64Array;
}

let cached: Workspace | null = null;

/** Largest workspace kept between calls, in padded coefficients (16 bytes each: 64 MiB, about 22 s at 2048/256). */
const MAX_CACHED = 1 << 22;

function workspace(T: number, M: number): Workspace {
  const P = (T + 2) * (M + 2);
  if (cached !== null && cached.link.length >= 4 * P && cached.advance.length >= M) return cached;
  const cap = Math.max(P, cached === null ? 0 : Math.min(MAX_CACHED, Math.ceil((cached.link.length / 4) * 1.5)));
  const st = new Float32Array(4 * cap);
  const ws: Workspace = {
    st,
    link: new Int32Array(st.buffer),
    head: new Int32Array(QUEUE_BUCKETS),
    bits: new Int32Array(QUEUE_BUCKETS >> 5),
    advance: new Float64Array(Math.max(M, cached === null ? 0 : cached.advance.length)),
  };
  // A longer signal than that gets its own workspace, released after the call.
  if (cap <= MAX_CACHED) cached = ws;
  return ws;
}

/**
 * Check every magnitude (finite, ≥ 0; else a UserError naming the frame and
 * bin), find the largest, and write `s = ln|c|` into `st[4p+2]` (a fast
 * logarithm from the float32 exponent and a 4097-entry table of the mantissa's
 * logarithm with linear interpolation, absolute error < 1e-8, no division;
 * −Infinity for 0). The padding bins below DC and
 * above Nyquist mirror bins 1 and M − 2 (|c| of a real signal is even about
 * DC and about Nyquist), so the centred difference in frequency, ∂s/∂ω, is 0
 * there.
 *
 * @returns The index in `data` of the (first) largest magnitude.
 */
function logMagnitudes(data: Float32Array, T: number, M: number, st: Float32Array): number {
  const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
  const W = M + 2;
  let maxMag = 0;
  let argMax = 0;
  for (let t = 0; t < T; t++) {
    const src = t * M;
    const row = 4 * ((t + 1) * W + 1);
    for (let m = 0, o = row; m < M; m++, o += 4) {
      const v = data[src + m];
      if (!(v >= 0) || v === Infinity) {
        throw new UserError(`pghi: magnitude at frame ${t}, bin ${m} is ${v}; magnitudes must be finite and >= 0`);
      }
      if (v > maxMag) {
        maxMag = v;
        argMax = src + m;
      }
      const b = bits[src + m];
      const e = (b >>> 23) & 0xff;
      if (e === 0) {
        st[o + 2] = v > 0 ? Math.log(v) : -Infinity; // subnormal or zero
      } else {
        // ln(1 + f) of the mantissa from a table on its top 12 bits, linear in the other 11
        const k = (b >>> 11) & 0xfff;
        const lo = LN_MANTISSA[k];
        st[o + 2] = (e - 127) * Math.LN2 + lo + (LN_MANTISSA[k + 1] - lo) * (b & 0x7ff) * (1 / 2048);
      }
    }
    st[row - 2] = st[row + 6]; // below DC: bin 1 (M >= 2)
    st[row + 4 * M + 2] = st[row + 4 * (M - 2) + 2]; // above Nyquist: bin M - 2
  }
  return argMax;
}

/**
 * One pass over the frames that turns the log-magnitudes into the state the
 * integration needs:
 *
 * - for the coefficients at or above the threshold (the only ones whose
 *   steps the integration reads), the phase derivatives of the window-centred
 *   STFT phase (Průša et al. 2017, Gaussian window): `st[4p] = 2π·(a·m mod N)/N +
 *   (aN/λ)·(s[t,m+1] − s[t,m−1])/2` (per frame step) and `st[4p+1] =
 *   −(λ/(aN))·∂s/∂t` (per bin step), with `∂s/∂t` from the power `P = |c|²`,
 *   `(DIFF_1·(P[t+1] − P[t−1]) − DIFF_2·(P[t+2] − P[t−2])) / (2P[t])` (centred
 *   difference of P at the second and next-to-last frame), or with `timeDerivative:
 *   'log'` the centred difference `(s[t+1,m] − s[t−1,m])/2`; one-sided differences of
 *   s at the first and last frame, none for a single frame; magnitudes are floored
 *   like the logarithms (`magFloor`). The frame advance is
 *   reduced modulo 2π (which keeps the integrated phase small). Log-magnitudes
 *   are floored at `ln(threshold) − ln(1000)` (30 dB under the tolerance)
 *   where they are read: smaller ones only enter differences next to the
 *   threshold, where the estimate is poor anyway;
 * - the priority bucket `⌊(s − ln threshold)·qScale⌋` in `link[4p+3]`, −1 for
 *   a coefficient under `threshold` and in the padding;
 * - the starting phase in `st[4p+2]` (once the frame's log-magnitudes are no
 *   longer needed, i.e. one frame behind): NaN (not reached yet) for the
 *   coefficients to integrate, 0 in the padding (counts as reached), and for
 *   those under the threshold a uniformly random phase among 1024 (2π/1024
 *   apart) from an inline xorshift32 generator (G. Marsaglia, "Xorshift
 *   RNGs", J. Stat. Softw. 8(14), 2003) whose state is the first draw of
 *   `rng`, drawn in frame-major order so that the result depends only on the
 *   seed. The integration counts every finite phase as reached, and
 *   {@link polarToCartesian} turns all phases into coefficients in one
 *   branch-free pass.
 *
 * @returns The number of coefficients at or above the threshold.
 */
function derivativesAndStart(
  ws: Workspace, data: Float32Array, T: number, M: number, threshold: number, logThr: number, F: number, magFloor: number, qScale: number,
  cT: number, cF: number, twoPiOverN: number, N: number, a: number, r0: number, power: boolean,
): number {
  const { st, link, advance } = ws;
  for (let m = 0; m < M; m++) advance[m] = twoPiOverN * ((a * m) % N);
  const W = M + 2;
  const W4 = 4 * W;
  const top = QUEUE_BUCKETS - 1;
  const hT = cT / 2;
  let r = r0;
  let remaining = 0;
  // padding frames: reached, never queued
  for (let o = 0; o < W4; o += 4) {
    st[o + 2] = 0;
    link[o + 3] = -1;
  }
  for (let o = (T + 1) * W4, end = (T + 2) * W4; o < end; o += 4) {
    st[o + 2] = 0;
    link[o + 3] = -1;
  }
  for (let t = 0; t <= T; t++) {
    if (t < T) {
      const row = (t + 1) * W4 + 4;
      // time derivative: power differences over ±2 frames inside, ±1 next to the edges, log one-sided at the edges
      // (`reach`: 0 none, 1 log one-sided or, without `power`, log centred; 2 power ±1 frame; 3 power ±2 frames)
      const reach = T === 1 ? 0 : t === 0 || t === T - 1 || !power ? 1 : t === 1 || t === T - 2 ? 2 : 3;
      const up = reach === 0 || t === T - 1 ? 0 : W4;
      const down = reach === 0 || t === 0 ? 0 : W4;
      const f = up !== 0 && down !== 0 ? cF / 2 : cF;
      const src = t * M;
      for (let m = 0, o = row; m < M; m++, o += 4) {
        // (the steps of coefficients under the threshold are never used)
        const v = data[src + m];
        if (v >= threshold) {
          let x = st[o - 2];
          const s0 = x > F ? x : F;
          x = st[o + 6];
          const s1 = x > F ? x : F;
          st[o] = advance[m] + hT * (s1 - s0);
          if (reach >= 2) {
            const i = src + m;
            let y = data[i + M];
            const p1 = y > magFloor ? y : magFloor;
            y = data[i - M];
            const m1 = y > magFloor ? y : magFloor;
            let d = p1 * p1 - m1 * m1;
            if (reach === 3) {
              y = data[i + 2 * M];
              const p2 = y > magFloor ? y : magFloor;
              y = data[i - 2 * M];
              const m2 = y > magFloor ? y : magFloor;
              d = DIFF_1 * d - DIFF_2 * (p2 * p2 - m2 * m2);
            } else d = 0.5 * d;
            st[o + 1] = cF * (d / (2 * v * v));
          } else {
            x = st[o + up + 2];
            const su = x > F ? x : F;
            x = st[o - down + 2];
            const sd = x > F ? x : F;
            st[o + 1] = f * (su - sd);
          }
          const q = (st[o + 2] - logThr) * qScale; // >= 0 up to the rounding of the fast logarithm
          link[o + 3] = q < 1 ? 0 : q >= top ? top : q | 0;
          remaining++;
        } else link[o + 3] = -1;
      }
    }
    if (t > 0) {
      // frame t - 1: its log-magnitudes are no longer needed
      const row = t * W4;
      st[row + 2] = 0;
      link[row + 3] = -1;
      st[row + 4 * (M + 1) + 2] = 0;
      link[row + 4 * (M + 1) + 3] = -1;
      for (let m = 0, o = row + 4; m < M; m++, o += 4) {
        if (link[o + 3] < 0) {
          // under the tolerance: a random phase, one of 1024 (counts as reached)
          r ^= r << 13;
          r ^= r >>> 17;
          r ^= r << 5;
          st[o + 2] = (r >>> 22) * RANDOM_PHASE_STEP;
        } else st[o + 2] = NaN;
      }
    }
  }
  return remaining;
}

/**
 * Heap integration (Průša et al. 2017, Algorithm 1). Starting from the
 * largest coefficient not yet reached (phase 0), repeatedly take the largest
 * reached coefficient and give each unreached neighbour (previous/next frame,
 * previous/next bin) the phase of the taken one plus the trapezoidal average
 * of the phase steps at both ends; repeat with a new seed while coefficients
 * at or above the threshold remain (separate islands). Phases are kept in
 * [−π, π] (float32 is then accurate to 2.4e-7 rad).
 *
 * The priority queue is a bucket queue on the log-magnitude (a LIFO list per
 * bucket and a bitmap of non-empty buckets) with {@link QUEUE_BUCKETS} buckets
 * between the threshold and the maximum, i.e. 0.024 dB per bucket at the
 * default tolerance. Push and pop are O(1); the order differs from an exact
 * max-heap only among coefficients within one bucket width of each other.
 */
function integrate(ws: Workspace, T: number, M: number, remaining: number, firstSeed: number): void {
  const { st, link, head, bits } = ws;
  head.fill(-1);
  bits.fill(0);
  const dt = 4 * (M + 2);
  const dm = 4;
  const twoPi = 2 * Math.PI;
  let topWord = 0;
  let queued = 0;
  // Seeds in descending magnitude order, built only when a second island exists.
  let order: Int32Array | null = null;
  let orderPos = 0;
  while (remaining > 0) {
    let seed = firstSeed;
    if (seed < 0) {
      if (order === null) order = descendingOrder(ws, T, M);
      while (st[4 * order[orderPos] + 2] === st[4 * order[orderPos] + 2]) orderPos++; // skip reached (non-NaN)
      seed = order[orderPos];
    }
    firstSeed = -1;
    {
      // a new island: its largest coefficient gets phase 0
      const o = 4 * seed;
      st[o + 2] = 0;
      const b = link[o + 3];
      link[o + 3] = -1;
      head[b] = o >> 2;
      bits[b >> 5] |= 1 << (b & 31);
      topWord = b >> 5;
      queued = 1;
    }
    let popped = 0;
    while (queued > 0) {
      // pop the top of the queue
      while (bits[topWord] === 0) topWord--;
      const word = bits[topWord];
      const bi = (topWord << 5) + 31 - Math.clz32(word);
      const o = 4 * head[bi];
      const nx = link[o + 3];
      head[bi] = nx;
      if (nx < 0) bits[topWord] = word & ~(1 << (bi & 31));
      queued--;
      popped++;

      const ph = st[o + 2];
      const dT = st[o];
      const dF = st[o + 1];
      let oj: number;
      oj = o + dt; // next frame
      if (st[oj + 2] !== st[oj + 2]) {
        const q = ph + 0.5 * (dT + st[oj]);
        st[oj + 2] = q - twoPi * Math.round(q * INV_TWO_PI);
        const b = link[oj + 3];
        link[oj + 3] = head[b];
        head[b] = oj >> 2;
        const w = b >> 5;
        bits[w] |= 1 << (b & 31);
        if (w > topWord) topWord = w;
        queued++;
      }
      oj = o - dt; // previous frame
      if (st[oj + 2] !== st[oj + 2]) {
        const q = ph - 0.5 * (dT + st[oj]);
        st[oj + 2] = q - twoPi * Math.round(q * INV_TWO_PI);
        const b = link[oj + 3];
        link[oj + 3] = head[b];
        head[b] = oj >> 2;
        const w = b >> 5;
        bits[w] |= 1 << (b & 31);
        if (w > topWord) topWord = w;
        queued++;
      }
      oj = o + dm; // next bin
      if (st[oj + 2] !== st[oj + 2]) {
        const q = ph + 0.5 * (dF + st[oj + 1]);
        st[oj + 2] = q - twoPi * Math.round(q * INV_TWO_PI);
        const b = link[oj + 3];
        link[oj + 3] = head[b];
        head[b] = oj >> 2;
        const w = b >> 5;
        bits[w] |= 1 << (b & 31);
        if (w > topWord) topWord = w;
        queued++;
      }
      oj = o - dm; // previous bin
      if (st[oj + 2] !== st[oj + 2]) {
        const q = ph - 0.5 * (dF + st[oj + 1]);
        st[oj + 2] = q - twoPi * Math.round(q * INV_TWO_PI);
        const b = link[oj + 3];
        link[oj + 3] = head[b];
        head[b] = oj >> 2;
        const w = b >> 5;
        bits[w] |= 1 << (b & 31);
        if (w > topWord) topWord = w;
        queued++;
      }
    }
    remaining -= popped;
  }
}

/**
 * Padded indices of the coefficients not yet reached (phase NaN; their
 * `link[4p+3]` still holds the bucket), sorted by descending bucket: a
 * counting sort on the queue's buckets, so linear time and exact up to one
 * bucket width, which is all the choice of a new integration seed needs.
 */
function descendingOrder(ws: Workspace, T: number, M: number): Int32Array {
  const { st, link } = ws;
  const NB = QUEUE_BUCKETS;
  const counts = new Int32Array(NB + 1);
  const hi = (T + 1) * (M + 2);
  let n = 0;
  for (let p = M + 2; p < hi; p++) {
    if (st[4 * p + 2] === st[4 * p + 2]) continue;
    counts[NB - link[4 * p + 3]]++;
    n++;
  }
  for (let b = 0; b < NB; b++) counts[b + 1] += counts[b];
  const order = new Int32Array(n);
  for (let p = M + 2; p < hi; p++) {
    if (st[4 * p + 2] === st[4 * p + 2]) continue;
    order[counts[NB - 1 - link[4 * p + 3]]++] = p;
  }
  return order;
}

/**
 * `re + i·im = (−1)^m · data · e^{i·phase}` for every coefficient (integrated
 * or, under the tolerance, random phase): the sign
 * moves the phase origin from the window centre to the frame start (the
 * convention of stft.ts), i.e. half a turn added for odd bins. The phasor comes
 * from a table of 65536 angles (nearest entry: at most π/65536 = 4.8e-5 rad
 * off, a relative error of −86 dB, far below what the phase estimate itself
 * achieves; measured: the same spectral convergence to 0.01 dB on every
 * benchmark file as exact sine and cosine, in a quarter of the time).
 */
function polarToCartesian(data: Float32Array, st: Float32Array, T: number, M: number, re: Float32Array, im: Float32Array): void {
  for (let t = 0; t < T; t++) {
    let o = 4 * ((t + 1) * (M + 2) + 1) + 2;
    for (let i = t * M, m = 0; m < M; m++, i++, o += 4) {
      const k = phasorIndex(st[o], m);
      const v = data[i];
      re[i] = v * PHASORS[k];
      im[i] = v * PHASORS[k + 1];
    }
  }
}

/**
 * Index in {@link PHASORS} of the nearest table angle to `phase` plus half a turn for odd bins `m`.
 * Integrated phases are kept in [−π, π], random ones in [0, 2π): the offset of 4 turns keeps the
 * index positive (so `| 0` rounds down), and half a step rounds to nearest.
 */
function phasorIndex(phase: number, m: number): number {
  return (((phase * PHASOR_SCALE + (m & 1) * (PHASOR_STEPS >> 1) + (4 * PHASOR_STEPS + 0.5)) | 0) & (PHASOR_STEPS - 1)) << 1;
}

/** ln(1 + k/4096), k = 0..4096: the mantissa part of {@link logMagnitudes}' logarithm (linear interpolation between entries: error < 8e-9). */
const LN_MANTISSA = Float64Array.from({ length: 4097 }, (_, k) => Math.log1p(k / 4096));
const INV_TWO_PI = 1 / (2 * Math.PI);
/** Angles in the phasor table of {@link polarToCartesian} (a power of two). */
const PHASOR_STEPS = 65536;
/** Table steps per radian. */
const PHASOR_SCALE = PHASOR_STEPS / (2 * Math.PI);
/** Interleaved cos, sin of 2πk/{@link PHASOR_STEPS} (512 KiB as float32: stays in cache). */
const PHASORS = (() => {
  const t = new Float32Array(2 * PHASOR_STEPS);
  for (let k = 0; k < PHASOR_STEPS; k++) {
    t[2 * k] = Math.cos((2 * Math.PI * k) / PHASOR_STEPS);
    t[2 * k + 1] = Math.sin((2 * Math.PI * k) / PHASOR_STEPS);
  }
  return t;
})();
/** Spacing of the random phases given to coefficients under the tolerance (1024 per turn). */
const RANDOM_PHASE_STEP = (2 * Math.PI) / 1024;
/**
 * Taps of the time differentiator of {@link derivativesAndStart}: the ideal differentiator
 * `h_k = (−1)^(k+1)/k` tapered by a Hann window over |k| ≤ 2, `(1 + cos(πk/3))/2`, applied to the power
 * |c|²: `∂|c|²/∂t ≈ DIFF_1·(P[t+1] − P[t−1]) − DIFF_2·(P[t+2] − P[t−2])` (exact for a linear P).
 */
const DIFF_1 = 0.75;
const DIFF_2 = 0.125;
/** Buckets of the priority queue of {@link pghi} (a multiple of 32). */
const QUEUE_BUCKETS = 4096;
