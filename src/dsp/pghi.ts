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
 * `stft.ts` references the phase of frame `t` to the first sample of the
 * window, `N/2` samples before its centre, which multiplies bin `m` by
 * `exp(−iπm) = (−1)^m`; the returned coefficients include that factor, so
 * they can be passed straight to `istft` or used as the start of Fast Griffin-Lim.
 *
 * The phase is then integrated (trapezoidal rule) outward from the largest
 * coefficient, always continuing from the largest coefficient already reached
 * (a priority queue on the magnitude), so that the integration runs along
 * ridges where the gradient estimate is reliable. Coefficients below
 * `tolerance · max|c|` are not integrated: they get a uniformly random phase
 * from a seeded generator. When the queue runs dry (the remaining
 * coefficients form separate islands above the tolerance), integration
 * restarts from the largest coefficient not yet reached, with phase 0.
 *
 * Cost: O(K) for K coefficients. The priority queue is a bucket queue on the
 * quantised log-magnitude (0.024 dB buckets at the default tolerance) in
 * typed arrays, with no allocation per coefficient; it replaces the paper's
 * binary heap at a third of the cost with the same result (see `integrate`).
 * Memory: 24 bytes per coefficient besides the input (17 MB for 4 s at 2048/256). Speed:
 * see the "Phase reconstruction" section of BENCHMARKS.md.
 */
import type { Coefficients, Magnitudes, StftConfig } from './types.ts';
import { createRng } from './rng.ts';
import { UserError } from '../io/errors.ts';

/** λ/N² of the Gaussian that best approximates a Hann window of length N (Průša et al. 2017). */
export const HANN_LAMBDA = 0.25645;

/** Default relative tolerance of {@link pghi}: coefficients more than 100 dB below the maximum get random phase. */
export const DEFAULT_PGHI_TOLERANCE = 1e-5;

/** Options of {@link pghi}. */
export interface PghiOptions {
  /**
   * Relative magnitude threshold in (0, 1): coefficients with
   * `|c| < tolerance · max|c|` get random phase instead of integrated phase.
   * Default {@link DEFAULT_PGHI_TOLERANCE} = 1e-5 (−100 dB). On the benchmark
   * files (`data/bench/`) 1e-3 and 1e-7 gave the same spectral convergence
   * within 0.7 dB (the loss is on speech, whose pauses split into islands with
   * unrelated phase offsets); 1e-4 integrated about 20 % faster with the same
   * median and 0.6 dB worse on one speech file.
   */
  tolerance?: number;
  /** Seed of the random phases given to coefficients below the tolerance. Default 0. */
  seed?: number;
  /**
   * λ/N² of the Gaussian window approximation. Default {@link HANN_LAMBDA}
   * (Hann). Exposed for windows other than Hann; leave it for `stft.ts`.
   */
  lambdaFactor?: number;
}

/**
 * Estimate the phase of an STFT magnitude spectrogram with Phase Gradient Heap
 * Integration (Průša, Balazs, Søndergaard 2017).
 *
 * @param mag Magnitude spectrogram, frame-major (`data[t * bins + m]`), with
 *   `bins = cfg.nFft / 2 + 1` as produced by `stft.ts`; values finite and ≥ 0.
 * @param cfg The STFT parameters the magnitudes belong to (`nFft`, `hop`;
 *   periodic Hann window, centred frames).
 * @param opts See {@link PghiOptions}: `tolerance` (default 1e-5), `seed` (default 0).
 * @returns Coefficients with `|c| = mag` and the estimated phase, in the
 *   phase convention of `stft.ts` (ready for `istft` or as an FGLA start).
 * @throws UserError if the shape does not match `cfg` or values are invalid.
 */
export function pghi(mag: Magnitudes, cfg: StftConfig, opts: PghiOptions = {}): Coefficients {
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
    throw new UserError(`pghi: tolerance must be in (0, 1), got ${tolerance}; e.g. 1e-5 (-100 dB)`);
  }
  const lambdaFactor = opts.lambdaFactor ?? HANN_LAMBDA;
  if (!(lambdaFactor > 0 && Number.isFinite(lambdaFactor))) {
    throw new UserError(`pghi: lambdaFactor must be a positive number, got ${lambdaFactor}; leave it unset for Hann`);
  }
  const K = T * M;
  const re = new Float32Array(K);
  const im = new Float32Array(K);
  const out: Coefficients = { frames: T, bins: M, re, im };
  if (K === 0) return out;

  let maxMag = 0;
  let argMax = 0;
  for (let i = 0; i < K; i++) {
    const v = data[i];
    if (!(v >= 0) || v === Infinity) {
      throw new UserError(`pghi: magnitude at frame ${Math.floor(i / M)}, bin ${i % M} is ${v}; magnitudes must be finite and >= 0`);
    }
    if (v > maxMag) {
      maxMag = v;
      argMax = i;
    }
  }
  if (maxMag === 0) return out; // silence: every phase is equally right, the output is zero

  const lambda = lambdaFactor * N * N;
  const threshold = tolerance * maxMag;
  const logThr = Math.log(threshold);
  const qScale = (QUEUE_BUCKETS - 1) / Math.max(1e-12, Math.log(maxMag) - logThr);

  // Per-coefficient state, interleaved so that one coefficient is one 16-byte
  // slot (fewer cache misses in the integration): [4i] phase step to the next
  // frame, [4i+1] phase step to the next bin, [4i+2] phase (NaN until
  // reached), [4i+3] priority bucket (then, once queued, the queue link).
  const st = new Float32Array(4 * K);
  const remaining = logMagnitudes(data, threshold, qScale, st);
  phaseDerivatives(st, T, M, (a * N) / lambda, -lambda / (a * N), (2 * Math.PI * a) / N, N, a);
  initialPhases(st, createRng(opts.seed ?? 0));
  integrate(st, T, M, remaining, argMax);
  polarToCartesian(data, st, T, M, re, im);
  return out;
}

/**
 * Compute `s = ln|c|` (a fast logarithm from the float32 exponent and an
 * atanh series of the mantissa, absolute error < 3e-6) into the phase slot
 * `st[4i+2]` (a temporary use, see {@link initialPhases}) and the priority
 * bucket `⌊(s − ln threshold)·qScale⌋` into `st[4i+3]`, or −1 for a
 * coefficient under `threshold`. Values under the threshold are clamped to
 * `ln(threshold) − ln(1000)` (30 dB under it): they only enter differences
 * next to the threshold, where the estimate is poor anyway.
 *
 * @returns The number of coefficients at or above the threshold.
 */
function logMagnitudes(data: Float32Array, threshold: number, qScale: number, st: Float32Array): number {
  const K = data.length;
  const bits = new Int32Array(data.buffer, data.byteOffset, K);
  const logThr = Math.log(threshold);
  const logFloor = logThr - Math.log(1e3);
  const top = QUEUE_BUCKETS - 1;
  let remaining = 0;
  for (let i = 0; i < K; i++) {
    const v = data[i];
    let l: number;
    const b = bits[i];
    const e = (b >>> 23) & 0xff;
    if (e === 0) {
      l = v > 0 ? Math.log(v) : -Infinity; // subnormal or zero
    } else {
      const mant = 1 + (b & 0x7fffff) * 1.1920928955078125e-7; // in [1, 2)
      const z = (mant - 1) / (mant + 1); // |z| <= 1/3
      const z2 = z * z;
      l = (e - 127) * Math.LN2 + 2 * z * (1 + z2 * (1 / 3 + z2 * (1 / 5 + z2 * (1 / 7 + z2 * (1 / 9 + z2 / 11)))));
    }
    if (v >= threshold) {
      st[4 * i + 2] = l;
      const q = (l - logThr) * qScale; // >= 0 up to the rounding of the fast logarithm
      st[4 * i + 3] = q < 1 ? 0 : q >= top ? top : q | 0;
      remaining++;
    } else {
      st[4 * i + 2] = l > logFloor ? l : logFloor;
      st[4 * i + 3] = -1;
    }
  }
  return remaining;
}

/**
 * Replace the log-magnitudes in the phase slots by the starting phases:
 * NaN (not reached yet) for coefficients to integrate, a uniform random phase
 * in [−π, π) from `rng` for those under the threshold (drawn in index order,
 * so the result depends only on the seed).
 */
function initialPhases(st: Float32Array, rng: () => number): void {
  const twoPi = 2 * Math.PI;
  for (let o = 0; o < st.length; o += 4) st[o + 2] = st[o + 3] < 0 ? twoPi * rng() - Math.PI : NaN;
}

/**
 * Phase derivatives of the window-centred STFT phase from the log-magnitude
 * `s = st[4i+2]` (Průša et al. 2017, eqs. for the Gaussian window, discretised with
 * centred differences; one-sided at the first and last frame), into the state
 * slots: `st[4i] = 2π·(a·m mod N)/N + (aN/λ)·(s[t,m+1] − s[t,m−1])/2` (per
 * frame step), `st[4i+1] = −(λ/(aN))·(s[t+1,m] − s[t−1,m])/2` (per bin step).
 * `∂s/∂ω` is taken as 0 at DC and Nyquist, where |c| of a real signal is even.
 * The frame advance is reduced modulo 2π, which keeps the integrated phase small.
 */
function phaseDerivatives(st: Float32Array, T: number, M: number, cT: number, cF: number, binAdvance: number, N: number, a: number): void {
  const advance = new Float64Array(M);
  for (let m = 0; m < M; m++) advance[m] = binAdvance * (((a * m) % N) / a);
  const hT = cT / 2;
  const hF = cF / 2;
  const S = 2; // offset of ln|c| in a slot
  const R = 4 * M; // slots of one frame
  for (let t = 0; t < T; t++) {
    const o = 4 * t * M;
    st[o] = 0;
    for (let m = 1; m < M - 1; m++) {
      const k = o + 4 * m;
      st[k] = advance[m] + hT * (st[k + 4 + S] - st[k - 4 + S]);
    }
    st[o + 4 * (M - 1)] = advance[M - 1];
    if (T === 1) continue; // a single frame has no time derivative: the bin steps stay 0
    if (t === 0) {
      for (let k = o; k < o + R; k += 4) st[k + 1] = cF * (st[k + R + S] - st[k + S]);
    } else if (t === T - 1) {
      for (let k = o; k < o + R; k += 4) st[k + 1] = cF * (st[k + S] - st[k - R + S]);
    } else {
      for (let k = o; k < o + R; k += 4) st[k + 1] = hF * (st[k + R + S] - st[k - R + S]);
    }
  }
}

/**
 * Heap integration (Průša et al. 2017, Algorithm 1). Starting from the
 * largest coefficient not yet reached (phase 0), repeatedly take the largest
 * reached coefficient and give each unreached neighbour (previous/next frame,
 * previous/next bin) the phase of the taken one plus the trapezoidal average
 * of the two phase steps; repeat with a new seed while coefficients at or
 * above the threshold remain (separate islands). Phases are kept in
 * [−π, π] (float32 is then accurate to 2.4e-7 rad).
 *
 * The priority queue is a bucket queue on the log-magnitude (a LIFO list per
 * bucket and a bitmap of non-empty buckets) with {@link QUEUE_BUCKETS} buckets
 * between the threshold and the maximum, i.e. 0.024 dB per bucket at the
 * default tolerance. Push and pop are O(1); the order differs from an exact
 * binary max-heap only among coefficients within one bucket width of each
 * other. Measured on the benchmark files, an exact binary heap gave the same
 * spectral convergence within 0.15 dB at two to four times the cost.
 */
function integrate(st: Float32Array, T: number, M: number, remaining: number, firstSeed: number): void {
  const NB = QUEUE_BUCKETS;
  const head = new Int32Array(NB).fill(-1);
  // Once a coefficient is queued its bucket is no longer needed: slot [4i+3]
  // then holds (as int32) the next coefficient in the same bucket's list.
  const link = new Int32Array(st.buffer, st.byteOffset, st.length);
  const bits = new Int32Array(NB >> 5);
  const twoPi = 2 * Math.PI;
  let topWord = 0;
  let queued = 0;
  // reach coefficient j with phase p and queue it
  const reach = (j: number, p: number): void => {
    st[4 * j + 2] = p - twoPi * Math.round(p * INV_TWO_PI);
    const b = st[4 * j + 3];
    link[4 * j + 3] = head[b];
    head[b] = j;
    const w = b >> 5;
    bits[w] |= 1 << (b & 31);
    if (w > topWord) topWord = w;
    queued++;
  };

  // Seeds in descending magnitude order, built only if a second island exists.
  let order: Int32Array | null = null;
  let orderPos = 0;
  let seed = firstSeed;
  const invM = 1 / M;

  while (remaining > 0) {
    if (seed < 0) {
      if (order === null) order = descendingOrder(st, NB);
      while (st[4 * order[orderPos] + 2] === st[4 * order[orderPos] + 2]) orderPos++; // skip reached (non-NaN)
      seed = order[orderPos];
    }
    reach(seed, 0);
    remaining--;
    while (queued > 0) {
      // pop the top of the queue
      while (bits[topWord] === 0) topWord--;
      const word = bits[topWord];
      const b = (topWord << 5) + 31 - Math.clz32(word);
      const i = head[b];
      const nx = link[4 * i + 3];
      head[b] = nx;
      if (nx < 0) bits[topWord] = word & ~(1 << (b & 31));
      queued--;

      const t = Math.floor((i + 0.5) * invM);
      const m = i - t * M;
      const o = 4 * i;
      const p = st[o + 2];
      const dT = st[o];
      const dF = st[o + 1];
      if (t + 1 < T) {
        const j = i + M;
        const pj = st[4 * j + 2];
        if (pj !== pj) {
          reach(j, p + 0.5 * (dT + st[4 * j]));
          remaining--;
        }
      }
      if (t > 0) {
        const j = i - M;
        const pj = st[4 * j + 2];
        if (pj !== pj) {
          reach(j, p - 0.5 * (dT + st[4 * j]));
          remaining--;
        }
      }
      if (m + 1 < M) {
        const j = i + 1;
        const pj = st[4 * j + 2];
        if (pj !== pj) {
          reach(j, p + 0.5 * (dF + st[4 * j + 1]));
          remaining--;
        }
      }
      if (m > 0) {
        const j = i - 1;
        const pj = st[4 * j + 2];
        if (pj !== pj) {
          reach(j, p - 0.5 * (dF + st[4 * j + 1]));
          remaining--;
        }
      }
    }
    seed = -1;
  }
}

/**
 * `re + i·im = (−1)^m · data · e^{i·phase}`: the sign moves the phase origin
 * from the window centre to the frame start (the convention of stft.ts).
 * sin/cos after reduction to [−π/4, π/4] by Taylor polynomials to x^9 / x^10
 * (error < 2e-9, far below float32 resolution); three times faster than
 * Math.sin + Math.cos here.
 */
function polarToCartesian(data: Float32Array, st: Float32Array, T: number, M: number, re: Float32Array, im: Float32Array): void {
  for (let t = 0; t < T; t++) {
    let sign = 1;
    for (let i = t * M, end = i + M; i < end; i++) {
      const v = sign * data[i];
      sign = -sign;
      let r = st[4 * i + 2] * INV_TWO_PI;
      r = (r - Math.floor(r + 0.5)) * 4; // quarter turns in [−2, 2)
      const qf = Math.floor(r + 0.5);
      const x = (r - qf) * HALF_PI;
      const x2 = x * x;
      const sn = x * (1 + x2 * (-1 / 6 + x2 * (1 / 120 + x2 * (-1 / 5040 + x2 * (1 / 362880)))));
      const cs = 1 + x2 * (-0.5 + x2 * (1 / 24 + x2 * (-1 / 720 + x2 * (1 / 40320 - x2 / 3628800))));
      const k = qf & 3;
      re[i] = v * (k === 0 ? cs : k === 1 ? -sn : k === 2 ? -cs : sn);
      im[i] = v * (k === 0 ? sn : k === 1 ? cs : k === 2 ? -sn : -cs);
    }
  }
}

/**
 * Indices of the coefficients not yet reached (phase NaN), sorted by
 * descending priority bucket: a counting sort on the same log-magnitude
 * buckets as the queue of {@link pghi}, so linear time and exact up to one
 * bucket width, which is all the choice of a new integration seed needs.
 */
function descendingOrder(st: Float32Array, NB: number): Int32Array {
  const K = st.length >> 2;
  const counts = new Int32Array(NB + 1);
  let n = 0;
  for (let i = 0; i < K; i++) {
    if (st[4 * i + 2] === st[4 * i + 2]) continue;
    counts[NB - 1 - st[4 * i + 3] + 1]++;
    n++;
  }
  for (let b = 0; b < NB; b++) counts[b + 1] += counts[b];
  const order = new Int32Array(n);
  for (let i = 0; i < K; i++) {
    if (st[4 * i + 2] === st[4 * i + 2]) continue;
    order[counts[NB - 1 - st[4 * i + 3]]++] = i;
  }
  return order;
}

const INV_TWO_PI = 1 / (2 * Math.PI);
const HALF_PI = Math.PI / 2;
/** Buckets of the priority queue of {@link pghi} (a multiple of 32). */
const QUEUE_BUCKETS = 4096;
