/**
 * Scratch diagnosis of PGHI's error on data/bench (not an official benchmark; see bench/phase.ts).
 * An independent float64 re-implementation of PGHI (binary heap, explicit edge steps) whose pieces
 * can be swapped, each variant printed per file and as the median SC of PGHI alone / + 8 FGLA:
 *
 * `node --import tsx bench/_pghi-diag.ts --variant NAME [--arg X]`
 *
 * - `oracle`: the estimated phase steps against the true ones (the wrapped phase differences of
 *   the signal's own STFT): weighted RMS step errors, and PGHI with true steps in both, in the
 *   frame or in the bin direction only.
 * - `smooth`: after the heap integration, `--arg` Gauss-Seidel sweeps that set every phase to the
 *   magnitude-weighted circular mean of its four neighbours' predictions (least-squares
 *   integration of the same steps instead of one path).
 * - `locked`: frame steps from the frequency of the spectral peak whose region (between minima)
 *   holds the bin (phase-vocoder phase locking; the peak frequency from the exact Hann ratio).
 * - `prim`: quality-guided integration (Prim's algorithm: a coefficient takes its phase when the
 *   best edge reaching it is popped), edge weight min(|c_i|, |c_j|), bin-direction edges scaled by `--arg`.
 * - `gauss`: the STFT taken with a truncated Gaussian window exp(−π n²/λ), λ = 0.25645·N², the
 *   window PGHI's relations are exact for, instead of Hann; SC still measured with the Hann STFT.
 * - `deriv`: time-derivative schemes for the bin steps (`--arg log3,pow7,sinc4,two0.125,gam0.5,mix2,curv1`:
 *   centred log difference, power stencils, windowed ideal differentiators of the power, hybrids); `deriv2`:
 *   frequency-derivative schemes for the frame steps (`--arg log3,hann,pow2`) with `--time SCHEME`.
 * - `realign`: after PGHI, impose at every frame the valley jumps PGHI's steps predict, averaged over ±K frames
 *   (`--arg 0,2,8,32`): far worse.
 * - `where`: where the step errors sit (edges at a peak, in a valley or on a flank along frequency).
 * - `oracle` also prints true bin steps at valleys only, and a two-partial Hann model of the valleys
 *   (`--fit`, `--span`, `--peak`), with PGHI's sign and with the true one.
 *
 * `--time SCHEME` (e.g. `two0.125`, the shipped `timeDerivative: 'power'`) sets the bin steps' time derivative
 * for the other variants; `--bin-scale F` scales the bin steps.
 *
 * `--synthetic 60,100,150` runs on 4 s stationary harmonic tones of those fundamentals instead (`clicks8`: 8 decaying
 * 1 kHz bursts a second; `am40`: a 440 Hz tone amplitude-modulated at 40 Hz).
 *
 * Findings (2026-12-06) are in BENCHMARKS.md, "Phase reconstruction".
 */
import { readdirSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAudio } from '../src/io/audio.ts';
import { stft, istft, DEFAULT_STFT, stftTransform } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import { fgla } from '../src/dsp/fgla.ts';
import { realFFT } from '../src/dsp/fft.ts';
import type { Coefficients } from '../src/dsp/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const cfg = DEFAULT_STFT;
const N = cfg.nFft;
const a = cfg.hop;
const M = N / 2 + 1;
const LAMBDA = 0.25645 * N * N;
const TOL = 1e-4;
const TWO_PI = 2 * Math.PI;
const wrap = (x: number): number => x - TWO_PI * Math.round(x / TWO_PI);

/** Max-heap of (key, index, phase). */
class Heap {
  private k: Float64Array;
  private v: Int32Array;
  private p: Float64Array;
  n = 0;
  /** The phase of the entry {@link pop} returned last. */
  phase = 0;
  constructor(cap: number) {
    this.k = new Float64Array(cap);
    this.v = new Int32Array(cap);
    this.p = new Float64Array(cap);
  }
  private put(i: number, key: number, val: number, ph: number): void {
    this.k[i] = key;
    this.v[i] = val;
    this.p[i] = ph;
  }
  push(key: number, val: number, ph = 0): void {
    let i = this.n++;
    for (let q = (i - 1) >> 1; i > 0 && this.k[q] < key; i = q, q = (i - 1) >> 1) this.put(i, this.k[q], this.v[q], this.p[q]);
    this.put(i, key, val, ph);
  }
  pop(): number {
    const top = this.v[0];
    this.phase = this.p[0];
    const n = --this.n;
    const [key, val, ph] = [this.k[n], this.v[n], this.p[n]];
    let i = 0;
    for (let c = 1; c < n; i = c, c = 2 * i + 1) {
      if (c + 1 < n && this.k[c + 1] > this.k[c]) c++;
      if (this.k[c] <= key) break;
      this.put(i, this.k[c], this.v[c], this.p[c]);
    }
    this.put(i, key, val, ph);
    return top;
  }
}

/** Steps along edges: eT[i] from (t,m) to (t+1,m), eF[i] from (t,m) to (t,m+1); window-centred phase. */
interface Edges {
  eT: Float64Array;
  eF: Float64Array;
}

/**
 * Heap integration over the edges. `fPen` undefined: PGHI (a neighbour takes its phase when first
 * reached from the largest coefficient popped). A number: Prim's algorithm on edge weights
 * min(S_i, S_j), bin-direction edges times `fPen`. Under TOL·max: random phase.
 */
function integrate(S: Float32Array, T: number, e: Edges, fPen?: number): Float64Array {
  const K = T * M;
  let mx = 0;
  for (let i = 0; i < K; i++) if (S[i] > mx) mx = S[i];
  const thr = TOL * mx;
  const ph = new Float64Array(K).fill(NaN);
  let r = 12345;
  const order: number[] = [];
  for (let i = 0; i < K; i++) {
    if (S[i] >= thr) order.push(i);
    else {
      r ^= r << 13;
      r ^= r >>> 17;
      r ^= r << 5;
      ph[i] = ((r >>> 0) / 4294967296) * TWO_PI;
    }
  }
  order.sort((x, y) => S[y] - S[x]);
  const h = new Heap(4 * K + 4);
  const reach = (i: number, j: number, p: number, f: boolean): void => {
    if (!Number.isNaN(ph[j])) return;
    if (fPen === undefined) {
      ph[j] = p;
      h.push(S[j], j);
    } else h.push((f && (!valleyOnly || isValley(S, i) || isValley(S, j)) ? fPen : 1) * Math.min(S[i], S[j]), j, p);
  };
  const expand = (i: number): void => {
    const t = (i / M) | 0;
    const m = i - t * M;
    const p = ph[i];
    if (t + 1 < T) reach(i, i + M, p + e.eT[i], false);
    if (t > 0) reach(i, i - M, p - e.eT[i - M], false);
    if (m + 1 < M) reach(i, i + 1, p + e.eF[i], true);
    if (m > 0) reach(i, i - 1, p - e.eF[i - 1], true);
  };
  let op = 0;
  for (;;) {
    while (op < order.length && !Number.isNaN(ph[order[op]])) op++;
    if (op >= order.length) break;
    ph[order[op]] = 0;
    expand(order[op]);
    while (h.n > 0) {
      const j = h.pop();
      if (fPen !== undefined) {
        if (!Number.isNaN(ph[j])) continue;
        ph[j] = h.phase;
      }
      expand(j);
    }
  }
  return ph;
}

/** With `--valley-only`, `prim`'s bin-edge weight applies only to edges touching a local minimum along frequency. */
let valleyOnly = false;

/** Whether coefficient i is a local minimum along frequency (not at DC or Nyquist). */
function isValley(S: Float32Array, i: number): boolean {
  const m = i % M;
  return m > 0 && m + 1 < M && S[i] <= S[i - 1] && S[i] <= S[i + 1];
}

/** Coefficients in stft.ts's convention (phase origin at the frame start: (−1)^m). */
function toCoefs(S: Float32Array, T: number, ph: Float64Array): Coefficients {
  const re = new Float32Array(T * M);
  const im = new Float32Array(T * M);
  for (let i = 0; i < T * M; i++) {
    const q = ph[i] + Math.PI * (i % M);
    re[i] = S[i] * Math.cos(q);
    im[i] = S[i] * Math.sin(q);
  }
  return { frames: T, bins: M, re, im };
}

/** Time-derivative schemes for ∂s/∂t (per frame) of {@link estimatedEdges}: `log3` = PGHI's centred difference of s = ln|c|. */
type TimeDerivative = 'log3' | 'log5' | 'pow3' | 'pow5' | 'pow7' | `sinc${number}` | `mix${number}` | `two${number}` | `gam${number}` | `curv${number}`;
let timeDerivative: TimeDerivative = 'log3';

/** ∂s/∂t at frame t of bin column `col(t)` (log-magnitudes `s`, powers `P`), by {@link timeDerivative}. */
function dsdt(s: Float64Array, P: Float64Array, i: number, t: number, T: number): number {
  const at = (arr: Float64Array, d: number): number => arr[i + Math.max(-t, Math.min(T - 1 - t, d)) * M];
  switch (timeDerivative) {
    case 'log3':
      return (at(s, 1) - at(s, -1)) * 0.5;
    case 'log5':
      return (-at(s, 2) + 8 * at(s, 1) - 8 * at(s, -1) + at(s, -2)) / 12;
    case 'pow3':
      return (at(P, 1) - at(P, -1)) * 0.5 / (2 * P[i]);
    case 'pow5':
      return (-at(P, 2) + 8 * at(P, 1) - 8 * at(P, -1) + at(P, -2)) / 12 / (2 * P[i]);
    case 'pow7':
      return ((at(P, 3) - at(P, -3)) / 60 - (3 * (at(P, 2) - at(P, -2))) / 20 + (3 * (at(P, 1) - at(P, -1))) / 4) / (2 * P[i]);
    default: {
      if (timeDerivative.startsWith('curv')) {
        // log3 where ln|c| is locally near-linear in time (|second difference| ≤ X nats: exponential or steady), else the power taps
        const x = Number(timeDerivative.slice(4));
        if (Math.abs(at(s, 1) - 2 * s[i] + at(s, -1)) <= x) return (at(s, 1) - at(s, -1)) * 0.5;
        return (0.75 * (at(P, 1) - at(P, -1)) - 0.125 * (at(P, 2) - at(P, -2))) / (2 * P[i]);
      }
      if (timeDerivative.startsWith('gam')) {
        // the sinc2 taps on P^γ: ∂s/∂t = (∂P^γ/∂t) / (2γ P^γ)
        const g = Number(timeDerivative.slice(3));
        const q = (d: number): number => at(P, d) ** g;
        return (0.75 * (q(1) - q(-1)) - 0.125 * (q(2) - q(-2))) / (2 * g * q(0));
      }
      if (timeDerivative.startsWith('two')) {
        // (0.5 + 2β)(P[t+1] − P[t−1]) − β(P[t+2] − P[t−2]): exact slope for linear P, more gain near Nyquist as β grows
        const beta = Number(timeDerivative.slice(3));
        return ((0.5 + 2 * beta) * (at(P, 1) - at(P, -1)) - beta * (at(P, 2) - at(P, -2))) / (2 * P[i]);
      }
      if (timeDerivative.startsWith('mix')) {
        // log3 where the log-magnitude moves by more than X nats over the two frames, else sinc4
        const x = Number(timeDerivative.slice(3));
        const l3 = (at(s, 1) - at(s, -1)) * 0.5;
        if (Math.abs(2 * l3) > x) return l3;
        let d = 0;
        for (let k = 1; k <= 4; k++) d += (((k & 1) === 1 ? 1 : -1) / k) * (0.5 + 0.5 * Math.cos((Math.PI * k) / 5)) * (at(P, k) - at(P, -k));
        return d / (2 * P[i]);
      }
      // windowed ideal differentiator h[k] = (−1)^(k+1)/k, |k| ≤ K, Hann-tapered
      const K = Number(timeDerivative.slice(4));
      let d = 0;
      for (let k = 1; k <= K; k++) {
        const w = 0.5 + 0.5 * Math.cos((Math.PI * k) / (K + 1));
        d += (((k & 1) === 1 ? 1 : -1) / k) * w * (at(P, k) - at(P, -k));
      }
      return d / (2 * P[i]);
    }
  }
}

/** Scale of the bin-direction step (`--bin-scale`, default 1). */
let binScale = 1;

/** Frequency-derivative schemes for ∂s/∂ω (per bin): `log3` = PGHI's; `powK` = windowed ideal differentiator of |c|² with K taps each side. */
let freqDerivative = 'log3';

/** ∂s/∂ω at bin m (mirrored about DC and Nyquist). */
function dsdw(s: Float64Array, P: Float64Array, i: number, m: number): number {
  const at = (arr: Float64Array, d: number): number => {
    let j = m + d;
    if (j < 0) j = -j;
    if (j > M - 1) j = 2 * (M - 1) - j;
    return arr[i - m + j];
  };
  if (freqDerivative === 'log3') return (at(s, 1) - at(s, -1)) * 0.5;
  if (freqDerivative === 'hann') {
    // the exact Hann relation of a single sinusoid between the centred difference D and its offset ν (bins):
    // ((1+ν)(2+ν)) / ((1−ν)(2−ν)) = e^{2D}, returned as the ∂s/∂ω that the Gaussian formula turns into 2πaν/N
    const E = Math.exp(at(s, 1) - at(s, -1));
    const nu = (-4 * (1 - E)) / (3 * (1 + E) + Math.sqrt(9 * (1 + E) ** 2 - 8 * (1 - E) ** 2));
    return (2 * Math.PI * LAMBDA * nu) / (N * N);
  }
  const K = Number(freqDerivative.slice(3));
  let d = 0;
  for (let k = 1; k <= K; k++) d += (((k & 1) === 1 ? 1 : -1) / k) * (0.5 + 0.5 * Math.cos((Math.PI * k) / (K + 1))) * (at(P, k) - at(P, -k));
  return d / (2 * P[i]);
}

/** PGHI's per-coefficient steps (Gaussian model, centred differences, floored logs) as trapezoidal edges. */
function estimatedEdges(S: Float32Array, T: number): Edges & { dT: Float64Array } {
  const K = T * M;
  let mx = 0;
  for (let i = 0; i < K; i++) if (S[i] > mx) mx = S[i];
  const floor = Math.log(TOL * mx) - Math.log(1e3);
  const s = new Float64Array(K);
  for (let i = 0; i < K; i++) s[i] = Math.max(floor, Math.log(S[i]));
  const P = Float64Array.from(s, (v) => Math.exp(2 * v));
  const dT = new Float64Array(K);
  const dF = new Float64Array(K);
  for (let t = 0; t < T; t++) {
    for (let m = 0; m < M; m++) {
      const i = t * M + m;
      dT[i] = (TWO_PI * a * m) / N + ((a * N) / LAMBDA) * dsdw(s, P, i, m);
      const g = t === 0 ? s[i + M] - s[i] : t === T - 1 ? s[i] - s[i - M] : dsdt(s, P, i, t, T);
      dF[i] = -(LAMBDA / (a * N)) * g * binScale;
    }
  }
  return { ...trapezoid(dT, dF, T), dT };
}

function trapezoid(dT: Float64Array, dF: Float64Array, T: number): Edges {
  const eT = new Float64Array(T * M);
  const eF = new Float64Array(T * M);
  for (let i = 0; i < T * M; i++) {
    if (i + M < T * M) eT[i] = 0.5 * (dT[i] + dT[i + M]);
    if ((i % M) + 1 < M) eF[i] = 0.5 * (dF[i] + dF[i + 1]);
  }
  return { eT, eF };
}

/** The true steps: wrapped differences of the window-centred phase of `c`. */
function trueEdges(c: Coefficients): Edges {
  const K = c.re.length;
  const ph = new Float64Array(K);
  for (let i = 0; i < K; i++) ph[i] = Math.atan2(c.im[i], c.re[i]) - Math.PI * (i % M);
  const eT = new Float64Array(K);
  const eF = new Float64Array(K);
  for (let i = 0; i < K; i++) {
    if (i + M < K) eT[i] = wrap(ph[i + M] - ph[i]);
    if ((i % M) + 1 < M) eF[i] = wrap(ph[i + 1] - ph[i]);
  }
  return { eT, eF };
}

/**
 * The local maxima at or above `thr` of the frame at offset `o`: bin `k`, frequency `w` in bins from the exact
 * Hann two-bin ratio |W(δ−1)|/|W(δ)| = (1+δ)/(2−δ), and amplitude `A` (the peak magnitude over |W(δ)|).
 */
function framePeaks(S: Float32Array, o: number, thr: number): { k: number; w: number; A: number }[] {
  const peaks: { k: number; w: number; A: number }[] = [];
  for (let k = 1; k < M - 1; k++) {
    const v = S[o + k];
    if (v >= thr && v > S[o + k - 1] && v >= S[o + k + 1]) {
      const l = S[o + k - 1];
      const r = S[o + k + 1];
      const R = Math.max(l, r) / v;
      const d = (r >= l ? 1 : -1) * ((2 * R - 1) / (1 + R));
      peaks.push({ k, w: k + d, A: v / Math.abs(hannKernel(d)) });
    }
  }
  return peaks;
}

/** Frame steps from the peak (exact Hann two-bin ratio) whose region holds the bin. */
function peakLockedSteps(S: Float32Array, T: number): Float64Array {
  const dT = new Float64Array(T * M);
  let mx = 0;
  for (const v of S) if (v > mx) mx = v;
  const thr = TOL * mx;
  const freq = new Float64Array(M);
  const peaks: number[] = [];
  for (let t = 0; t < T; t++) {
    const o = t * M;
    peaks.length = 0;
    for (const p of framePeaks(S, o, thr)) {
      freq[p.k] = p.w;
      peaks.push(p.k);
    }
    let pi = 0;
    for (let m = 0; m < M; m++) {
      while (pi + 1 < peaks.length && m > peaks[pi]) {
        let mn = peaks[pi];
        for (let j = peaks[pi]; j <= peaks[pi + 1]; j++) if (S[o + j] < S[o + mn]) mn = j;
        if (m > mn) pi++;
        else break;
      }
      dT[o + m] = (TWO_PI * a * (peaks.length ? freq[peaks[pi]] : m)) / N;
    }
  }
  return dT;
}

/** Valley model knobs (`--fit`, `--span`, `--peak`): fit residual / energy, edges each side of the minimum, peak floor / max. */
let FIT = 0.1;
let SPAN = 1;
let PEAK = 1e-3;

/** Hann window's spectrum in bins, normalised to 1 at 0 (real, signed): sinc(x)/(1 − x²). */
function hannKernel(x: number): number {
  if (Math.abs(x) < 1e-9) return 1;
  if (Math.abs(Math.abs(x) - 1) < 1e-9) return 0.5;
  return Math.sin(Math.PI * x) / (Math.PI * x * (1 - x * x));
}

/**
 * Bin steps across the valley between every two neighbouring peaks of a frame from a two-partial Hann model:
 * c(m) = A1·W(m − ω1) + A2·W(m − ω2)·e^{iΔ} (window-centred phase, relative to partial 1), peaks from the exact
 * Hann two-bin ratio, A from the peak magnitude; |Δ| fitted to the magnitudes between the peaks (64-step search),
 * its sign the one whose total phase change across the valley is nearer to PGHI's estimate. Returns the bin edges
 * with the model's steps between the peaks (the others unchanged).
 */
function valleyModelEdges(
  S: Float32Array, T: number, est: Edges, truth?: Float64Array, truePhase?: Float64Array, jumpOnly = false,
): Float64Array {
  const eF = Float64Array.from(est.eF);
  let mx = 0;
  for (const v of S) if (v > mx) mx = v;
  const thr = mx * PEAK;
  const cand = new Float64Array(64);
  for (let t = 0; t < T; t++) {
    const o = t * M;
    const peaks = framePeaks(S, o, thr);
    for (let j = 0; j + 1 < peaks.length; j++) {
      const p1 = peaks[j];
      const p2 = peaks[j + 1];
      if (p2.k - p1.k < 2 || p2.k - p1.k > 12) continue;
      // fit |Δ| to the magnitudes strictly between the peaks
      let best = 0;
      let bestErr = Infinity;
      for (let q = 0; q < 64; q++) {
        const D = (Math.PI * q) / 63;
        const cr = Math.cos(D);
        const ci = Math.sin(D);
        let err = 0;
        for (let m = p1.k + 1; m < p2.k; m++) {
          const a = p1.A * hannKernel(m - p1.w);
          const b = p2.A * hannKernel(m - p2.w);
          const mag = Math.hypot(a + b * cr, b * ci);
          err += (mag - S[o + m]) ** 2;
        }
        cand[q] = err;
        if (err < bestErr) {
          bestErr = err;
          best = D;
        }
      }
      // the two signs: model steps from p1 to p2, compared with PGHI's total change across the valley
      const steps = (D: number): number[] => {
        const out: number[] = [];
        let prev = NaN;
        for (let m = p1.k; m <= p2.k; m++) {
          const a = p1.A * hannKernel(m - p1.w);
          const b = p2.A * hannKernel(m - p2.w);
          const ph = Math.atan2(b * Math.sin(D), a + b * Math.cos(D));
          if (m > p1.k) out.push(wrap(ph - prev));
          prev = ph;
        }
        return out;
      };
      const plus = steps(best);
      const minus = steps(-best);
      let pg = 0;
      for (let m = p1.k; m < p2.k; m++) pg += (truth ?? est.eF)[o + m];
      const tot = (xs: number[]): number => xs.reduce((x, y) => x + y, 0);
      let chosen = Math.abs(wrap(tot(plus) - pg)) <= Math.abs(wrap(tot(minus) - pg)) ? plus : minus;
      if (truePhase !== undefined) chosen = steps(wrap(truePhase[o + p2.k] - truePhase[o + p1.k]));
      let energy = 0;
      let vmin = p1.k + 1;
      for (let m = p1.k + 1; m < p2.k; m++) {
        energy += S[o + m] ** 2;
        if (S[o + m] < S[o + vmin]) vmin = m;
      }
      if (bestErr > FIT * energy) continue;
      if (jumpOnly) {
        // keep PGHI's steps; only move the total jump from peak to peak to the model's, on the minimum's edge
        let J = 0;
        for (let m = p1.k; m < p2.k; m++) J += est.eF[o + m];
        eF[o + vmin] += wrap(tot(chosen) - J);
      } else for (let m = Math.max(p1.k, vmin - SPAN); m < Math.min(p2.k, vmin + SPAN); m++) eF[o + m] = chosen[m - p1.k];
    }
  }
  return eF;
}

/** Edge weight of {@link smooth} (`--smooth-weight src|src2|min|min2`). */
let smoothWeight = 'src';

/**
 * The valleys of the frame at offset `o` between neighbouring peaks at or above `thr` that are 2 to 12 bins apart:
 * the peaks' bins `a0` < `b0`, the minimum `vmin` between them and `J`, the jump PGHI's bin steps predict from `a0` to `b0`.
 */
function valleys(S: Float32Array, o: number, thr: number, est: Edges): { a0: number; b0: number; vmin: number; J: number }[] {
  const out: { a0: number; b0: number; vmin: number; J: number }[] = [];
  const pk = framePeaks(S, o, thr);
  for (let j = 0; j + 1 < pk.length; j++) {
    const a0 = pk[j].k;
    const b0 = pk[j + 1].k;
    if (b0 - a0 < 2 || b0 - a0 > 12) continue;
    let vmin = a0 + 1;
    let J = 0;
    for (let m = a0; m < b0; m++) J += est.eF[o + m];
    for (let m = a0 + 1; m < b0; m++) if (S[o + m] < S[o + vmin]) vmin = m;
    out.push({ a0, b0, vmin, J });
  }
  return out;
}

/**
 * Valley-jump realignment after PGHI: at every frame and valley between neighbouring peaks, the discrepancy
 * d = wrap(J − R) between the jump PGHI's own bin steps predict across the valley (J, summed from peak to peak) and the
 * jump its integrated phases realise (R) is averaged (circular, weight |c(valley)|²) over ±K frames and ±1 bin of the
 * valley, and the bins above each valley are turned by the running sum of these averages.
 */
function realignValleys(S: Float32Array, T: number, est: Edges, ph: Float64Array, K: number): void {
  let mx = 0;
  for (const v of S) if (v > mx) mx = v;
  const Dr = new Float64Array(T * M);
  const Di = new Float64Array(T * M);
  const has = new Uint8Array(T * M);
  for (let t = 0; t < T; t++) {
    const o = t * M;
    for (const { a0, b0, vmin, J } of valleys(S, o, mx * PEAK, est)) {
      const d = wrap(J - (ph[o + b0] - ph[o + a0]));
      const w = S[o + vmin] ** 2;
      Dr[o + vmin] = w * Math.cos(d);
      Di[o + vmin] = w * Math.sin(d);
      has[o + vmin] = 1;
    }
  }
  for (let t = 0; t < T; t++) {
    const o = t * M;
    let C = 0;
    for (let m = 0; m < M; m++) {
      if (has[o + m]) {
        let zr = 0;
        let zi = 0;
        for (let u = Math.max(0, t - K); u <= Math.min(T - 1, t + K); u++) {
          for (let q = Math.max(0, m - 1); q <= Math.min(M - 1, m + 1); q++) {
            zr += Dr[u * M + q];
            zi += Di[u * M + q];
          }
        }
        C += Math.atan2(zi, zr);
      }
      ph[o + m] += C;
    }
  }
}

/** Gauss-Seidel sweeps: each phase becomes the S-weighted circular mean of its neighbours' predictions. */
function smooth(S: Float32Array, T: number, e: Edges, ph: Float64Array, sweeps: number): void {
  const K = T * M;
  let mx = 0;
  for (const v of S) if (v > mx) mx = v;
  const SW = (i: number, j: number): number =>
    smoothWeight === 'src2' ? S[j] * S[j] : smoothWeight === 'min' ? Math.min(S[i], S[j]) : smoothWeight === 'min2' ? Math.min(S[i], S[j]) ** 2 : S[j];
  const zr = Float64Array.from(ph, Math.cos);
  const zi = Float64Array.from(ph, Math.sin);
  for (let s = 0; s < sweeps; s++) {
    for (let k = 0; k < K; k++) {
      const i = s % 2 === 0 ? k : K - 1 - k;
      if (S[i] < TOL * mx) continue;
      const t = (i / M) | 0;
      const m = i - t * M;
      let ar = 0;
      let ai = 0;
      const add = (j: number, step: number): void => {
        const c = Math.cos(step);
        const sn = Math.sin(step);
        ar += SW(i, j) * (zr[j] * c - zi[j] * sn);
        ai += SW(i, j) * (zr[j] * sn + zi[j] * c);
      };
      if (t > 0) add(i - M, e.eT[i - M]);
      if (t + 1 < T) add(i + M, -e.eT[i]);
      if (m > 0) add(i - 1, e.eF[i - 1]);
      if (m + 1 < M) add(i + 1, -e.eF[i]);
      const n = Math.hypot(ar, ai);
      if (n > 0) {
        zr[i] = ar / n;
        zi[i] = ai / n;
      }
    }
  }
  for (let i = 0; i < K; i++) ph[i] = Math.atan2(zi[i], zr[i]);
}

/** STFT / least-squares ISTFT with any window (for `gauss`), same lattice and conventions as stft.ts. */
const fft = realFFT(N);
function analyze(x: Float32Array, w: Float32Array): Coefficients {
  const T = 1 + Math.floor(x.length / a);
  const re = new Float32Array(T * M);
  const im = new Float32Array(T * M);
  const fr = new Float32Array(N);
  const sp = new Float32Array(N + 2);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < N; j++) {
      const i = t * a - N / 2 + j;
      fr[j] = i >= 0 && i < x.length ? x[i] * w[j] : 0;
    }
    fft.forward(fr, sp);
    for (let k = 0; k < M; k++) {
      re[t * M + k] = sp[2 * k];
      im[t * M + k] = sp[2 * k + 1];
    }
  }
  return { frames: T, bins: M, re, im };
}
function synthesize(c: Coefficients, w: Float32Array, L: number): Float32Array {
  const len = (c.frames - 1) * a + N;
  const y = new Float64Array(len);
  const wss = new Float64Array(len);
  const sp = new Float32Array(N + 2);
  const fr = new Float32Array(N);
  for (let t = 0; t < c.frames; t++) {
    for (let k = 0; k < M; k++) {
      sp[2 * k] = c.re[t * M + k];
      sp[2 * k + 1] = c.im[t * M + k];
    }
    fft.inverse(sp, fr);
    for (let j = 0; j < N; j++) {
      y[t * a + j] += fr[j] * w[j];
      wss[t * a + j] += w[j] * w[j];
    }
  }
  const out = new Float32Array(L);
  for (let n = 0; n < L; n++) out[n] = wss[n + N / 2] > 1e-8 ? y[n + N / 2] / wss[n + N / 2] : 0;
  return out;
}
function fglaWith(S: Float32Array, c0: Coefficients, w: Float32Array, L: number, iterations: number): Float32Array {
  const c = { ...c0, re: Float32Array.from(c0.re), im: Float32Array.from(c0.im) };
  const pr = new Float32Array(S.length);
  const pi = new Float32Array(S.length);
  const beta = 0.99 / 1.99;
  let y = synthesize(c, w, L);
  for (let it = 0; it < iterations; it++) {
    const r = analyze(y, w);
    for (let i = 0; i < S.length; i++) {
      const ar = r.re[i] - beta * pr[i];
      const ai = r.im[i] - beta * pi[i];
      pr[i] = r.re[i];
      pi[i] = r.im[i];
      const s = S[i] / (Math.hypot(ar, ai) + 1e-16);
      c.re[i] = ar * s;
      c.im[i] = ai * s;
    }
    y = synthesize(c, w, L);
  }
  return y;
}

const args = process.argv.slice(2);
const opt = (k: string): string | undefined => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1] : undefined);
const variant = opt('variant') ?? 'oracle';
if (opt('time') !== undefined && variant !== 'deriv2') timeDerivative = opt('time') as TimeDerivative;
if (opt('bin-scale') !== undefined) binScale = Number(opt('bin-scale'));
if (opt('fit') !== undefined) FIT = Number(opt('fit'));
valleyOnly = args.includes('--valley-only');
if (opt('smooth-weight') !== undefined) smoothWeight = opt('smooth-weight') as string;
if (opt('span') !== undefined) SPAN = Number(opt('span'));
if (opt('peak') !== undefined) PEAK = Number(opt('peak'));
const arg = opt('arg');
const tr = stftTransform(cfg);
const dir = join(here, '..', 'data', 'bench');
const results = new Map<string, [number, number][]>();
const record = (label: string, r: [number, number]): string => {
  results.set(label, [...(results.get(label) ?? []), r]);
  return `${label} ${r[0].toFixed(2)}/${r[1].toFixed(2)}`;
};
const synthetic = opt('synthetic'); // fundamental(s) in Hz, comma-separated: 4 s stationary harmonic tones instead of the files
const inputs: [string, () => Promise<Float32Array>][] =
  synthetic !== undefined
    ? synthetic.split(',').map((f0s) => {
        const f0 = Number(f0s.replace(/^[a-z]+/, ''));
        // `clicksR`: R decaying 1 kHz bursts per second (e^{−40} over each); `amF`: 440 Hz at 90 % amplitude modulation of F Hz;
        // a number: harmonics up to 5 kHz at 1/k, fixed phases k²
        const tone = (n: number): number => {
          const t = n / cfg.sampleRate;
          if (f0s.startsWith('clicks')) return Math.exp(-((t * f0) % 1) * 40) * Math.sin(TWO_PI * 1000 * t);
          if (f0s.startsWith('am')) return (1 + 0.9 * Math.sin(TWO_PI * f0 * t)) * Math.sin(TWO_PI * 440 * t);
          let v = 0;
          for (let k = 1; k * f0 < 5000; k++) v += Math.sin((TWO_PI * f0 * k * n) / cfg.sampleRate + k * k) / k;
          return 0.3 * v;
        };
        return [/^[a-z]/.test(f0s) ? f0s : `harmonic-${f0}Hz`, async () => Float32Array.from({ length: 4 * cfg.sampleRate }, (_, n) => tone(n))];
      })
    : readdirSync(dir)
        .filter((name) => name.endsWith('.wav'))
        .sort()
        .map((f) => [basename(f, '.wav'), async () => (await readAudio(join(dir, f), { sampleRate: cfg.sampleRate })).samples]);
for (const [name, load] of inputs) {
  const x = await load();
  const c = stft(x, cfg);
  const mag = magnitudes(c);
  const S = mag.data;
  const T = mag.frames;
  /** SC of the phases alone and after 8 FGLA iterations (the shipped FGLA on the Hann STFT). */
  const score = (ph: Float64Array): [number, number] => {
    const cc = toCoefs(S, T, ph);
    const y8 = fgla(mag, tr, x.length, { iterations: 8, init: cc, seed: 0 });
    return [signalSpectralConvergence(x, istft(cc, cfg, x.length), cfg), signalSpectralConvergence(x, y8, cfg)];
  };
  const est = estimatedEdges(S, T);
  const parts: string[] = [];
  if (variant === 'oracle') {
    const tru = trueEdges(c);
    let wT = 0;
    let eT = 0;
    let wF = 0;
    let eF = 0;
    for (let i = 0; i < T * M; i++) {
      if (i + M < T * M) {
        const w = Math.min(S[i], S[i + M]) ** 2;
        wT += w;
        eT += w * wrap(est.eT[i] - tru.eT[i]) ** 2;
      }
      if ((i % M) + 1 < M) {
        const w = Math.min(S[i], S[i + 1]) ** 2;
        wF += w;
        eF += w * wrap(est.eF[i] - tru.eF[i]) ** 2;
      }
    }
    parts.push(`rms step error frame ${Math.sqrt(eT / wT).toFixed(3)} bin ${Math.sqrt(eF / wF).toFixed(3)} rad`);
    parts.push(record('estimated', score(integrate(S, T, est))));
    parts.push(record('true', score(integrate(S, T, tru))));
    parts.push(record('true-frame', score(integrate(S, T, { eT: tru.eT, eF: est.eF }))));
    parts.push(record('true-bin', score(integrate(S, T, { eT: est.eT, eF: tru.eF }))));
    // true bin steps only on edges that touch a local minimum along frequency (valleys between partials)
    const mixed = Float64Array.from(est.eF, (v, i) => ((i % M) + 1 < M && (isValley(S, i) || isValley(S, i + 1)) ? tru.eF[i] : v));
    parts.push(record('true-bin-valleys', score(integrate(S, T, { eT: est.eT, eF: mixed }))));
    parts.push(record('model-valleys', score(integrate(S, T, { eT: est.eT, eF: valleyModelEdges(S, T, est) }))));
    parts.push(record('model-valleys-true-sign', score(integrate(S, T, { eT: est.eT, eF: valleyModelEdges(S, T, est, tru.eF) }))));
    const tp = Float64Array.from({ length: T * M }, (_, i) => Math.atan2(c.im[i], c.re[i]) - Math.PI * (i % M));
    // PGHI's steps, with each valley's total jump from peak to peak corrected to the true one (on the minimum's edge)
    {
      const eF = Float64Array.from(est.eF);
      let mx = 0;
      for (const v of S) if (v > mx) mx = v;
      for (let t = 0; t < T; t++) {
        const o = t * M;
        for (const { a0, b0, vmin, J } of valleys(S, o, mx * PEAK, est)) eF[o + vmin] += wrap(wrap(tp[o + b0] - tp[o + a0]) - J);
      }
      parts.push(record('true-jump', score(integrate(S, T, { eT: est.eT, eF }))));
    }
    parts.push(record('model-jump', score(integrate(S, T, { eT: est.eT, eF: valleyModelEdges(S, T, est, undefined, undefined, true) }))));
    parts.push(record('model-jump-true-sign', score(integrate(S, T, { eT: est.eT, eF: valleyModelEdges(S, T, est, tru.eF, undefined, true) }))));
    parts.push(record('model-valleys-true-delta', score(integrate(S, T, { eT: est.eT, eF: valleyModelEdges(S, T, est, undefined, tp) }))));
  } else if (variant === 'where') {
    // weighted squared step errors by where the edge is: at a peak along frequency, in a valley, on a flank
    const tru = trueEdges(c);
    const cls = (i: number): number => {
      const m = i % M;
      const l = m > 0 ? S[i - 1] : S[i + 1];
      const r = m + 1 < M ? S[i + 1] : S[i - 1];
      return S[i] >= l && S[i] >= r ? 0 : S[i] <= l && S[i] <= r ? 1 : 2;
    };
    const eb = [0, 0, 0];
    const ef = [0, 0, 0];
    const wb = [0, 0, 0];
    let total = 0;
    for (let i = 0; i < T * M; i++) {
      if ((i % M) + 1 < M) {
        const w = Math.min(S[i], S[i + 1]) ** 2;
        const k = Math.max(cls(i), cls(i + 1)) === 1 || cls(i) === 1 || cls(i + 1) === 1 ? 1 : cls(i) === 0 || cls(i + 1) === 0 ? 0 : 2;
        eb[k] += w * wrap(est.eF[i] - tru.eF[i]) ** 2;
        wb[k] += w;
      }
      if (i + M < T * M) {
        const w = Math.min(S[i], S[i + M]) ** 2;
        ef[cls(i)] += w * wrap(est.eT[i] - tru.eT[i]) ** 2;
        total += w;
      }
    }
    const sb = eb.reduce((x, y) => x + y);
    const sf = ef.reduce((x, y) => x + y);
    const pct = (v: number, t: number): string => `${((100 * v) / t).toFixed(0)}%`;
    parts.push(`bin-step error at peak/valley/flank ${eb.map((v) => pct(v, sb)).join(' ')} (weight ${wb.map((v) => pct(v, wb[0] + wb[1] + wb[2])).join(' ')})`);
    parts.push(`frame-step error ${ef.map((v) => pct(v, sf)).join(' ')}; rms bin ${Math.sqrt(sb / (wb[0] + wb[1] + wb[2])).toFixed(3)} frame ${Math.sqrt(sf / total).toFixed(3)}`);
  } else if (variant === 'deriv') {
    for (const d of (arg ?? 'log3,pow7,sinc4,sinc8,sinc16').split(',') as TimeDerivative[]) {
      timeDerivative = d;
      parts.push(record(d, score(integrate(S, T, estimatedEdges(S, T)))));
    }
    timeDerivative = 'log3';
  } else if (variant === 'deriv2') {
    // frequency-derivative schemes (`--arg`, e.g. log3,pow2,pow4), each with the time derivative `--time` (default sinc4)
    timeDerivative = (opt('time') ?? 'sinc4') as TimeDerivative;
    for (const d of (arg ?? 'log3,pow1,pow2,pow4').split(',')) {
      freqDerivative = d;
      parts.push(record(`${timeDerivative}+${d}`, score(integrate(S, T, estimatedEdges(S, T)))));
    }
    freqDerivative = 'log3';
    timeDerivative = 'log3';
  } else if (variant === 'realign') {
    const ph = integrate(S, T, est);
    parts.push(record('pghi', score(ph)));
    for (const K of (arg ?? '0,4,16').split(',').map(Number)) {
      const q = Float64Array.from(ph);
      realignValleys(S, T, est, q, K);
      parts.push(record(`realigned K${K}`, score(q)));
    }
  } else if (variant === 'smooth') {
    const ph = integrate(S, T, est);
    parts.push(record('pghi', score(ph)));
    smooth(S, T, est, ph, Number(arg ?? 4));
    parts.push(record(`smoothed x${arg ?? 4}`, score(ph)));
  } else if (variant === 'locked') {
    parts.push(record('pghi', score(integrate(S, T, est))));
    const locked = trapezoid(peakLockedSteps(S, T), new Float64Array(T * M), T);
    parts.push(record('locked', score(integrate(S, T, { eT: locked.eT, eF: est.eF }))));
  } else if (variant === 'prim') {
    parts.push(record('pghi', score(integrate(S, T, est))));
    parts.push(record(`prim f${arg ?? 1}`, score(integrate(S, T, est, Number(arg ?? 1)))));
  } else if (variant === 'gauss') {
    const hann = Float32Array.from({ length: N }, (_, n) => 0.5 - 0.5 * Math.cos((TWO_PI * n) / N));
    const gauss = Float32Array.from({ length: N }, (_, n) => Math.exp((-Math.PI * (n - N / 2) ** 2) / LAMBDA));
    for (const [label, w] of [['hann', hann], ['gauss', gauss]] as const) {
      const Sw = magnitudes(analyze(x, w)).data;
      const e = estimatedEdges(Sw, T);
      const cc = toCoefs(Sw, T, integrate(Sw, T, e));
      parts.push(
        record(label, [
          signalSpectralConvergence(x, synthesize(cc, w, x.length), cfg),
          signalSpectralConvergence(x, fglaWith(Sw, cc, w, x.length, 8), cfg),
        ]),
      );
    }
  } else throw new Error(`unknown --variant ${variant}: oracle, smooth, locked, prim or gauss`);
  console.log(`${name.padEnd(15)} ${parts.join(' | ')}`);
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const [label, rs] of results) {
  console.log(`median ${label}: PGHI ${median(rs.map((r) => r[0])).toFixed(2)} dB, + 8 FGLA ${median(rs.map((r) => r[1])).toFixed(2)} dB`);
}
