/**
 * An invertible, "rasterized" constant-Q transform: a nonstationary Gabor
 * frame with band-pass windows defined in the frequency domain, a FIXED hop
 * for every bin, and its canonical dual for exact reconstruction.
 *
 * Implements the painless constant-Q nonstationary Gabor transform (CQ-NSGT) of
 * G. A. Velasco, N. Holighaus, M. Dörfler, T. Grill, "Constructing an
 * invertible constant-Q transform with non-stationary Gabor frames", DAFx 2011,
 * and N. Holighaus, M. Dörfler, G. A. Velasco, T. Grill, "A framework for
 * invertible, real-time constant-Q transforms", IEEE TASLP 21(4), 2013, in
 * its rasterized form (one common time step for every channel, so that the
 * coefficients form a `frames × bins` matrix like an STFT, which is what the
 * frame-wise VAE of Latent Timbre Synthesis consumes).
 *
 * ## Construction
 *
 * Let `x` have `N` samples. It is placed in a circular buffer of `L = M·hop`
 * samples (`x` at `[0, N)`, zeros after it; `L ≥ N + 2·pad`), so that no
 * frame of the signal sees the other end of it, and `X = DFT_L(x)`. With
 * `W₀` the bandwidth of the lowest window (1.89 Hz for the defaults), the
 * lowest filter's time kernel has its main lobe within `±2/W₀` (±1.06 s, like
 * librosa's 2.12 s filter) and decays as `1/t³` beyond; `pad = 3/W₀`
 * (1.59 s), so the other end of the signal is at least `6/W₀` away, where the
 * kernel is below 0.15 % of its peak (see {@link cqtLayout}).
 * Bin `k` (`k = 0 … nBins−1`) has centre `f_k = fmin·2^(k/B)` (B = bins per
 * octave) and a real, non-negative unit-peak window shape `h_k`:
 *
 * - **constant-Q part**: a Hann window on the log-frequency axis spanning two
 *   neighbouring centres on each side, `h_k(f) = cos²(π/2 · (B/2)·log2(f/f_k))`
 *   for `f_{k−2} < f < f_{k+2}`. On this axis four windows overlap and
 *   `Σ_k h_k² = 3/2` exactly, so the interior is a tight frame; the −6 dB
 *   bandwidth `≈ f_{k+1} − f_{k−1}` matches the resolution of `librosa.cqt`.
 * - **variable-Q cap** (painless condition): every channel is sampled at
 *   `M = L/hop` points, so its support may span at most `M` DFT bins, i.e.
 *   `sr/hop` Hz (344.5 Hz at 44.1 kHz, hop 128). Where `f_{k+2} − f_{k−2}`
 *   would exceed that (above about 5.9 kHz with the defaults), the window
 *   becomes a linear-frequency window of support exactly `W = sr/hop`
 *   centred at `f_k`: a Hann window while the spacing `d` between centres
 *   is `≤ W/2`, and above that a Tukey window whose flat top reaches the
 *   neighbour's taper (`cos²` tapers of width `W − d` that coincide with the
 *   neighbours' tapers, so that `h_k + h_{k+1} = 1` there). The bins stay at
 *   their constant-Q centres; only their bandwidth stops growing.
 * - **residual low-pass** channel for `|f| < f_1`: `h_lp = sqrt(s₁ − Σ_k h_k²)`,
 *   where `s₁ = Σ_k h_k(f_1)²`; it completes the sum of squares below the
 *   lowest bins. It is real-valued and sampled at `M` points.
 * - **residual high-pass** channel for `f_{K−1} < |f| ≤ sr/2`, built the
 *   same way from `s_top = Σ_k h_k(f_{K−1})²`. Its band (up to 14 kHz wide with
 *   the defaults) is far wider than `sr/hop`, so it gets its own sample count
 *   `M_hp ≥ 2·(its half-width in bins) + 2` (its own, shorter hop `L/M_hp`):
 *   the band is shifted down by `L/2` (Nyquist to 0), where it is Hermitian,
 *   so the channel is real-valued. A channel with `M_hp` samples enters the
 *   frame operator with weight `M/M_hp`, so its shape is divided by `√(M/M_hp)`.
 *
 * The frame is painless (each support fits in its channel's sample count),
 * so its frame operator is diagonal in frequency:
 * `T[ξ] = Σ_k h_k² + h_lp² + (M/M_hp)·h_hp²` over the channels of the positive
 * frequencies (the conjugate-mirrored channels of a real signal cover the
 * negative ones). `T` is 3/2 everywhere except in the capped region, and its
 * max/min (the frame-bound ratio, {@link CqtLayout.frameBoundRatio}) is 1.43
 * for the defaults. The canonical tight frame `S^{−1/2}g` of this painless
 * frame has the windows `h_k/√T`; the analysis windows are those, scaled per
 * bin to librosa's gain: `G_k = b_k·h_k/√T` with `b_k = (√l_k/hop)·√T(f_k)`
 * (see "Scale" below), and the same for the residuals.
 *
 * Analysis of channel `k`: `c_k[m] = (1/M) Σ_ξ X[ξ] G_k[ξ] e^{2πi(ξ−n_k)m/M}`
 * over its support (one inverse FFT of `M` points after moving the band to
 * baseband, `n_k = round(f_k L/sr)`). This equals
 * `hop · e^{−2πi n_k m/M} · (x ∗ g_k)(m·hop)`: the output of a zero-phase
 * analytic band-pass filter sampled at time `m·hop`, demodulated by the bin's
 * centre. So **frame `t` is centred at sample `t·hop`** exactly like
 * `librosa.cqt(..., center=True)` (and like a centred STFT), and there are
 * `frameCount(N) = 1 + ⌊N/hop⌋` frames of features.
 *
 * Synthesis uses the canonical dual, which for the tight frame is the frame
 * itself (the painless formula `g_k/Σ_j|g_j|²` with `Σ_j|g_j|² = 1`); the
 * per-bin gains are undone: `D_k = (h_k/√T)/b_k` and
 * `D_hp = (M/M_hp)·(h_hp/√T)/b_hp` (the factor `M` of the usual `M·g_k/Σ|g_j|²`
 * formula is absorbed by the `1/M` of the inverse FFT above), so that
 * `Σ_k G_k D_k + … = 1` at every frequency. Reconstruction:
 * `X̂[ξ] = Σ_k FFT_M(c_k)[ξ−n_k] D_k[ξ] + …` on the half spectrum, then one
 * inverse real FFT of `L` points, and the first `N` samples. Because the
 * underlying frame is tight, synthesis-then-analysis (including that
 * truncation to `N` samples) is the orthogonal projection onto consistent
 * coefficients, for the inner product that weighs bin `k` by `1/b_k²` (see
 * {@link CqtLayout.binScale}); the magnitude projection of Griffin-Lim
 * commutes with the per-bin gains, so Fast Griffin-Lim over this transform
 * runs exactly as on a tight frame.
 *
 * Only the features (`frames × nBins`, times `0 … (frames−1)·hop`) go into
 * `Coefficients.re/im`. The remaining `M − frames` time steps of every bin
 * (they lie in the zero padding; the last ones stand for negative times) and
 * the two residual channels are kept in `Coefficients.extra` ({@link CqtExtra}):
 * they are needed for exact reconstruction but are not features. Phase
 * reconstruction leaves them unconstrained (absent `extra` means zero).
 *
 * ## Scale (librosa compatibility)
 *
 * `librosa.cqt` (librosa ≥ 0.10, default `scale=True`, `filter_scale=1`) uses for
 * bin `k` an L1-normalised Hann-windowed complex exponential of length
 * `l_k = Q·sr/f_k`, `Q = 1/α`, `α = (2^(2/B) − 1)/(2^(2/B) + 1)` (older
 * versions: `α = 2^(1/B) − 1`). Its FFT basis is multiplied by `l_k/n_fft` and
 * applied to an `n_fft`-point spectrum, so a complex exponential at `f_k`
 * gives `l_k`; `scale=True` divides by `√l_k`. A unit-amplitude sine at `f_k`
 * (half its energy at `+f_k`) therefore gives `0.5·√l_k` (41.7 at 440 Hz).
 * Our channel gives `0.5·hop·G_k(f_k)` for the same sine (from the formula
 * above with `X[ξ] = L/2` at the sine's bin), so every window is scaled to the
 * peak value `G_k(f_k) = √l_k / hop` (evaluated on the continuous frequency
 * axis, so it holds for any internal length). The residual channels have
 * the peak gain of their neighbouring bins.
 *
 * All arrays are float32; windows, duals, FFT plans and work buffers are
 * computed once per (configuration, internal length) and cached.
 *
 * @module
 */
import type { CqtConfig, Coefficients, Magnitudes, Transform } from './types.ts';
import { realFFT, nextFastSize, pffft, type RealFFT } from './fft.ts';
import { UserError } from '../io/errors.ts';

/** Frequency of C1 in Hz (A4 = 440 Hz tuning), `librosa.note_to_hz('C1')`. */
export const C1_HZ = 32.70319566257483;

/**
 * The constant-Q parameters of the original Latent Timbre Synthesis
 * (`librosa.cqt(y, sr=44100, hop_length=128, bins_per_octave=48, n_bins=384)`):
 * 8 octaves from C1 (32.70 Hz) to 8.25 kHz, 344.5 frames per second.
 */
export const DEFAULT_CQT: CqtConfig = Object.freeze({
  kind: 'cqt',
  sampleRate: 44100,
  hop: 128,
  binsPerOctave: 48,
  nBins: 384,
  fmin: C1_HZ,
}) as CqtConfig;

/** Options of {@link cqtConfig}; every field defaults to {@link DEFAULT_CQT}'s. */
export interface CqtConfigOptions {
  /**
   * Number of octaves covered by the bins (default 8, the original). 9 octaves
   * from C1 reach 16.5 kHz; the most that fits below the Nyquist frequency at
   * 44.1 kHz with 48 bins per octave is about 9.4. Fractional values are
   * allowed; `nBins = round(octaves · binsPerOctave)`. Ignored if `nBins` is given.
   */
  octaves?: number;
  /** Number of bins; overrides `octaves`. */
  nBins?: number;
  /** Sample rate in Hz (default 44100). */
  sampleRate?: number;
  /** Hop in samples (default 128); must be 2^a·3^b·5^c. */
  hop?: number;
  /** Bins per octave (default 48). */
  binsPerOctave?: number;
  /** Centre of the lowest bin in Hz (default C1 = 32.703). */
  fmin?: number;
}

/**
 * Build a validated {@link CqtConfig}, e.g. `cqtConfig({ octaves: 9 })` for a
 * 432-bin transform reaching 16.5 kHz.
 *
 * @param opts Overrides of {@link DEFAULT_CQT}; see {@link CqtConfigOptions}.
 * @returns A plain serializable config.
 * @throws UserError naming the bad field if the result is not a valid transform
 *   (for instance if the top bin's window would reach the Nyquist frequency).
 */
export function cqtConfig(opts: CqtConfigOptions = {}): CqtConfig {
  const B = opts.binsPerOctave ?? DEFAULT_CQT.binsPerOctave;
  let nBins = opts.nBins;
  if (nBins === undefined) {
    const octaves = opts.octaves ?? 8;
    if (!Number.isFinite(octaves) || octaves <= 0) {
      throw new UserError(`cqt: octaves must be a positive number, got ${String(octaves)}; use e.g. 8 (original) or 9`);
    }
    nBins = Math.round(octaves * B);
  }
  const cfg: CqtConfig = {
    kind: 'cqt',
    sampleRate: opts.sampleRate ?? DEFAULT_CQT.sampleRate,
    hop: opts.hop ?? DEFAULT_CQT.hop,
    binsPerOctave: B,
    nBins,
    fmin: opts.fmin ?? DEFAULT_CQT.fmin,
  };
  getDesign(cfg);
  return cfg;
}

/**
 * librosa's constant-Q quality factor `Q = filter_scale/α` with
 * `α = (2^(2/B) − 1)/(2^(2/B) + 1)` (librosa ≥ 0.10, `filter_scale = 1`).
 *
 * @param binsPerOctave B.
 */
export function librosaQ(binsPerOctave: number): number {
  const r = Math.pow(2, 2 / binsPerOctave);
  return (r + 1) / (r - 1);
}

/**
 * Centre frequencies of the bins in Hz, `fmin·2^(k/B)`, like `librosa.cqt_frequencies`.
 *
 * @param cfg Constant-Q configuration.
 * @returns Float64Array of length `nBins`.
 */
export function cqtFrequencies(cfg: CqtConfig): Float64Array {
  validateConfig(cfg);
  const f = new Float64Array(cfg.nBins);
  for (let k = 0; k < cfg.nBins; k++) f[k] = cfg.fmin * Math.pow(2, k / cfg.binsPerOctave);
  return f;
}

/**
 * The (fractional) lengths in samples of librosa's time-domain filters,
 * `l_k = Q·sr/f_k` (see {@link librosaQ}); a unit sine at `f_k` has magnitude
 * `0.5·√l_k` in `librosa.cqt` and in this transform.
 *
 * @param cfg Constant-Q configuration.
 * @returns Float64Array of length `nBins`.
 */
export function librosaFilterLengths(cfg: CqtConfig): Float64Array {
  validateConfig(cfg);
  const Q = librosaQ(cfg.binsPerOctave);
  const f = cqtFrequencies(cfg);
  const l = new Float64Array(f.length);
  for (let k = 0; k < f.length; k++) l[k] = (Q * cfg.sampleRate) / f[k];
  return l;
}

// ---------------------------------------------------------------------------
// Design: everything that depends on the configuration only.

/** Zero padding on each side of the signal, in units of 1/W₀ (W₀ = the lowest window's bandwidth). */
const PAD_WIDTHS = 3;
/** True signal on each side of a block in {@link cqtMagnitudesLong}, in units of 1/W₀. */
const LONG_MARGIN_WIDTHS = 12;
/** Minimum Tukey taper, as a fraction of the capped bandwidth. */
const MIN_TAPER = 0.05;

interface Design {
  cfg: CqtConfig;
  K: number;
  B: number;
  sr: number;
  hop: number;
  /** Centre frequencies f_k, k = 0..K-1. */
  fc: Float64Array;
  /** 1 if the channel is capped (linear-frequency window of width wCap). */
  capped: Uint8Array;
  /** Flat half-widths left/right (Hz) of capped windows. */
  pL: Float64Array;
  pR: Float64Array;
  /** Support edges in Hz (open interval). */
  lo: Float64Array;
  hi: Float64Array;
  /** Peak gain √l_k / hop. */
  gain: Float64Array;
  /** Capped bandwidth sr/hop. */
  wCap: number;
  /** First capped bin (K if none). */
  firstCapped: number;
  /** Reference sums of squares for the residual channels. */
  sLow: number;
  sHigh: number;
  /** Upper edge of the low-pass (Hz) = f_1; lower edge of the high-pass = f_{K-1}. */
  lpEdge: number;
  hpEdge: number;
  /** Zero padding per side for whole-signal analysis (samples, multiple of hop). */
  pad: number;
  /** True-signal margin per side of a block for long magnitudes (samples, multiple of hop). */
  longMargin: number;
}

function is235(n: number): boolean {
  for (const p of [2, 3, 5]) while (n % p === 0) n /= p;
  return n === 1;
}

function validateConfig(cfg: CqtConfig): void {
  if (cfg === null || typeof cfg !== 'object') throw new UserError('cqt: config must be an object; use DEFAULT_CQT or cqtConfig()');
  if (cfg.kind !== 'cqt') throw new UserError(`cqt: config.kind must be 'cqt', got ${String(cfg.kind)}; use cqtConfig()`);
  const { sampleRate, hop, binsPerOctave, nBins, fmin } = cfg;
  if (!Number.isFinite(sampleRate) || sampleRate <= 0) {
    throw new UserError(`cqt: sampleRate must be a positive number of Hz, got ${String(sampleRate)}; use e.g. 44100`);
  }
  if (!Number.isInteger(hop) || hop < 1 || !is235(hop)) {
    throw new UserError(`cqt: hop must be a positive integer of the form 2^a*3^b*5^c (for fast FFTs), got ${String(hop)}; use e.g. 128`);
  }
  if (!Number.isInteger(binsPerOctave) || binsPerOctave < 1) {
    throw new UserError(`cqt: binsPerOctave must be a positive integer, got ${String(binsPerOctave)}; use e.g. 48`);
  }
  if (!Number.isInteger(nBins) || nBins < 4) {
    throw new UserError(`cqt: nBins must be an integer >= 4, got ${String(nBins)}; use e.g. 384`);
  }
  if (!Number.isFinite(fmin) || fmin <= 0) {
    throw new UserError(`cqt: fmin must be a positive frequency in Hz, got ${String(fmin)}; use e.g. 32.703 (C1)`);
  }
}

const designCache = new Map<string, Design>();

function configKey(cfg: CqtConfig): string {
  return `${cfg.sampleRate}|${cfg.hop}|${cfg.binsPerOctave}|${cfg.nBins}|${cfg.fmin}`;
}

/** Unscaled window shape h_k(f) (peak 1 at f_k). */
function shape(d: Design, k: number, f: number): number {
  if (f <= d.lo[k] || f >= d.hi[k]) return 0;
  const fk = d.fc[k];
  if (!d.capped[k]) {
    const x = 0.5 * d.B * Math.log2(f / fk);
    const c = Math.cos(0.5 * Math.PI * x);
    return c * c;
  }
  const half = 0.5 * d.wCap;
  let delta = f - fk;
  let p: number;
  if (delta >= 0) p = d.pR[k];
  else {
    delta = -delta;
    p = d.pL[k];
  }
  if (delta <= p) return 1;
  const c = Math.cos((0.5 * Math.PI * (delta - p)) / (half - p));
  return c * c;
}

function sumSquares(d: Design, f: number, from: number, to: number): number {
  let s = 0;
  for (let k = Math.max(0, from); k <= Math.min(d.K - 1, to); k++) {
    const h = shape(d, k, f);
    s += h * h;
  }
  return s;
}

function getDesign(cfg: CqtConfig): Design {
  validateConfig(cfg);
  const key = configKey(cfg);
  const cached = designCache.get(key);
  if (cached) return cached;
  const { sampleRate: sr, hop, binsPerOctave: B, nBins: K, fmin } = cfg;
  const nyq = sr / 2;
  const wCap = sr / hop;
  const fAt = (k: number): number => fmin * Math.pow(2, k / B);
  const fc = new Float64Array(K);
  for (let k = 0; k < K; k++) fc[k] = fAt(k);
  const capped = new Uint8Array(K);
  const pL = new Float64Array(K);
  const pR = new Float64Array(K);
  const lo = new Float64Array(K);
  const hi = new Float64Array(K);
  const gain = new Float64Array(K);
  const Q = librosaQ(B);
  let firstCapped = K;
  let sparseBin = -1;
  for (let k = 0; k < K; k++) {
    gain[k] = Math.sqrt((Q * sr) / fc[k]) / hop;
    if (fAt(k + 2) - fAt(k - 2) <= wCap) {
      lo[k] = fAt(k - 2);
      hi[k] = fAt(k + 2);
      continue;
    }
    if (firstCapped === K) firstCapped = k;
    capped[k] = 1;
    const half = wCap / 2;
    const dL = fc[k] - fAt(k - 1);
    const dR = fAt(k + 1) - fc[k];
    if (wCap - dR < MIN_TAPER * wCap && sparseBin < 0) sparseBin = k;
    pL[k] = Math.min(half, Math.max(0, dL - half));
    pR[k] = Math.min(half, Math.max(0, dR - half));
    lo[k] = fc[k] - half;
    hi[k] = fc[k] + half;
  }
  if (lo[0] <= 0) {
    throw new UserError(`cqt: fmin ${fmin} Hz is below half the capped bandwidth sr/hop/2 = ${(wCap / 2).toFixed(1)} Hz; raise fmin or use a smaller hop`);
  }
  if (hi[K - 1] >= nyq) {
    // Largest K whose top window stays below Nyquist (approximate, for the message).
    let kMax = K - 1;
    while (kMax > 0 && fAt(kMax) + Math.min(wCap / 2, fAt(kMax + 2) - fAt(kMax)) >= nyq) kMax--;
    throw new UserError(
      `cqt: the top bin (${fc[K - 1].toFixed(0)} Hz) has a window reaching ${hi[K - 1].toFixed(0)} Hz, at or above the Nyquist frequency ${nyq} Hz; ` +
        `use at most ${kMax + 1} bins (${((kMax + 1) / B).toFixed(2)} octaves) or a lower fmin`,
    );
  }
  if (sparseBin >= 0) {
    const k = sparseBin;
    const dR = fAt(k + 1) - fc[k];
    const limitHz = ((1 - MIN_TAPER) * wCap) / (Math.pow(2, 1 / B) - 1);
    throw new UserError(
      `cqt: bins near ${fc[k].toFixed(0)} Hz are ${dR.toFixed(1)} Hz apart, too sparse for the painless limit sr/hop = ${wCap.toFixed(1)} Hz; ` +
        `keep the top bin below ${limitHz.toFixed(0)} Hz (fewer octaves), use more binsPerOctave, or a smaller hop`,
    );
  }
  const lpEdge = fc[1];
  const hpEdge = fc[K - 1];
  if (lpEdge >= wCap / 2) {
    throw new UserError(`cqt: fmin ${fmin} Hz is too high for hop ${hop} (the low-pass residual would exceed sr/hop); lower fmin or the hop`);
  }
  // The lowest channel's time kernel has its main lobe within +-2/bw0 seconds.
  const bw0 = hi[0] - lo[0];
  const roundHop = (s: number): number => Math.ceil(s / hop) * hop;
  const d: Design = {
    cfg: { ...cfg },
    K,
    B,
    sr,
    hop,
    fc,
    capped,
    pL,
    pR,
    lo,
    hi,
    gain,
    wCap,
    firstCapped,
    sLow: 0,
    sHigh: 0,
    lpEdge,
    hpEdge,
    pad: roundHop((PAD_WIDTHS / bw0) * sr),
    longMargin: roundHop((LONG_MARGIN_WIDTHS / bw0) * sr),
  };
  d.sLow = sumSquares(d, lpEdge, 0, 6);
  d.sHigh = sumSquares(d, hpEdge, K - 7, K - 1);
  designCache.set(key, d);
  return d;
}

// ---------------------------------------------------------------------------
// Plan: windows, duals, FFTs and buffers for one internal length L = M·hop.

interface Plan {
  d: Design;
  K: number;
  M: number;
  L: number;
  /** Per channel: first DFT bin of the support, its length, offset into win/dual, baseband index of the first bin. */
  start: Int32Array;
  len: Int32Array;
  off: Int32Array;
  base: Int32Array;
  /** Analysis windows G_k divided by M (the inverse FFT of analyzeBands is unnormalised). */
  winA: Float32Array;
  dual: Float32Array;
  /** Low-pass: bins 0..lpLen-1. */
  lpLen: number;
  lpWin: Float32Array;
  lpDual: Float32Array;
  /** High-pass: entry j is DFT bin L/2 - j, j = 0..hpLen-1. */
  hpLen: number;
  hpWin: Float32Array;
  hpDual: Float32Array;
  Mhp: number;
  /** max/min of the weighted sum of squared unit-peak shapes before the tight normalisation. */
  shapeRatio: number;
  /** Per-bin coefficient scale b_k over the tight frame (librosa's gain). */
  scale: Float64Array;
  lpScale: number;
  hpScale: number;
  fftL: RealFFT;
  rfftM: RealFFT;
  rfftHp: RealFFT;
  xbuf: Float32Array;
  spec: Float32Array;
  /** PFFFT setup of the complex M-point transform and byte pointers into PFFFT's memory. */
  setupM: number;
  inPtr: number;
  outPtr: number;
  workPtr: number;
  /** GROUP slots of 2M floats. */
  groupPtr: number;
  lpSpec: Float32Array;
  hpSpec: Float32Array;
}

/** At most this many plans are cached (least recently used first out)... */
const PLAN_CACHE_SIZE = 6;
/** ... holding at most this many internal samples in total (a plan takes ~24 bytes per sample); the newest plan always stays. */
const PLAN_CACHE_SAMPLES = 1 << 22;
/** Channels transformed one after the other before being written frame-major together (cache blocking). */
const GROUP = 16;
/** PFFFT transform directions (pffft.h). */
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;

/** Allocate `n` zeroed floats in PFFFT's memory; returns a byte pointer. */
function heapZeros(n: number): number {
  const ptr = pffft.malloc(n * 4);
  pffft.heapF32().fill(0, ptr >> 2, (ptr >> 2) + n);
  return ptr;
}
const planCache = new Map<string, Plan>();

function getPlan(d: Design, M: number): Plan {
  const key = `${configKey(d.cfg)}|${M}`;
  const hit = planCache.get(key);
  if (hit) {
    planCache.delete(key);
    planCache.set(key, hit);
    return hit;
  }
  const plan = buildPlan(d, M);
  planCache.set(key, plan);
  let total = 0;
  for (const p of planCache.values()) total += p.L;
  while (planCache.size > 1 && (planCache.size > PLAN_CACHE_SIZE || total > PLAN_CACHE_SAMPLES)) {
    const oldest = planCache.keys().next().value as string;
    const old = planCache.get(oldest) as Plan;
    planCache.delete(oldest);
    total -= old.L;
    for (const ptr of [old.inPtr, old.outPtr, old.workPtr, old.groupPtr]) pffft.free(ptr);
  }
  return plan;
}

/**
 * The weighted sum of squared unit-peak shapes (the diagonal frame operator
 * before normalisation) at the centre of bin `k`, evaluated on the continuous
 * frequency axis, so that bin `k`'s tight window has the exact peak gain there.
 */
function frameOperatorAt(d: Design, k: number): number {
  const f = d.fc[k];
  const sum = sumSquares(d, f, k - 3, k + 3);
  let t = sum;
  if (f < d.lpEdge) t += Math.max(0, d.sLow - sum);
  if (f > d.hpEdge) t += Math.max(0, d.sHigh - sum);
  return t;
}

function buildPlan(d: Design, M: number): Plan {
  const { K, sr, hop } = d;
  const L = M * hop;
  const half = L / 2;
  const binHz = sr / L;
  const start = new Int32Array(K);
  const len = new Int32Array(K);
  const off = new Int32Array(K);
  const base = new Int32Array(K);
  let total = 0;
  for (let k = 0; k < K; k++) {
    const s0 = Math.max(1, Math.floor(d.lo[k] / binHz) + 1);
    const s1 = Math.min(half - 1, Math.ceil(d.hi[k] / binHz) - 1);
    const n = Math.max(0, s1 - s0 + 1);
    if (n > M) throw new Error(`cqt: internal error: channel ${k} spans ${n} > M = ${M} bins (painless condition)`);
    start[k] = s0;
    len[k] = n;
    off[k] = total;
    const nk = Math.round(d.fc[k] / binHz);
    base[k] = (((s0 - nk) % M) + M) % M;
    total += n;
  }
  // 1. Unit-peak shapes h and their weighted sum of squares T (the diagonal frame operator).
  const shapes = new Float64Array(total);
  const T = new Float64Array(half + 1);
  for (let k = 0; k < K; k++) {
    for (let i = 0, xi = start[k]; i < len[k]; i++, xi++) {
      const h = shape(d, k, xi * binHz);
      shapes[off[k] + i] = h;
      T[xi] += h * h;
    }
  }
  // Residual low-pass: bins 0 .. lpLen-1 (all strictly below f_1).
  const lpLen = Math.ceil(d.lpEdge / binHz);
  if (lpLen >= M / 2) throw new Error(`cqt: internal error: low-pass spans ${lpLen} bins >= M/2 = ${M / 2}`);
  const lpShape = new Float64Array(lpLen);
  for (let xi = 0; xi < lpLen; xi++) {
    const u2 = Math.max(0, d.sLow - T[xi]);
    lpShape[xi] = Math.sqrt(u2);
    T[xi] += u2;
  }
  // Residual high-pass: bins strictly above f_{K-1} up to L/2. It has M_hp samples
  // instead of M, so it enters the frame operator with weight M/M_hp; its shape
  // is divided by the square root of that so that it completes the sum to s_top.
  const hpStart = Math.floor(d.hpEdge / binHz) + 1;
  const hpLen = half - hpStart + 1;
  const Mhp = nextFastSize(2 * hpLen + 2, 'real');
  const hpWeight = M / Mhp;
  const hpShape = new Float64Array(hpLen);
  for (let j = 0; j < hpLen; j++) {
    const xi = half - j;
    const u2 = Math.max(0, d.sHigh - T[xi]);
    hpShape[j] = Math.sqrt(u2 / hpWeight);
    T[xi] += u2;
  }
  let tMin = Infinity;
  let tMax = 0;
  for (let xi = 0; xi <= half; xi++) {
    tMin = Math.min(tMin, T[xi]);
    tMax = Math.max(tMax, T[xi]);
  }
  if (!(tMin > 0)) throw new Error('cqt: internal error: the windows do not cover every frequency (frame operator has a zero)');
  // 2. Tight frame h/sqrt(T) (canonical tight frame S^{-1/2} g), scaled per channel to
  //    librosa's peak gain; the dual is the tight window divided by the same scale.
  const scale = new Float64Array(K);
  const winA = new Float32Array(total);
  const dual = new Float32Array(total);
  for (let k = 0; k < K; k++) {
    const b = d.gain[k] * Math.sqrt(frameOperatorAt(d, k));
    scale[k] = b;
    for (let i = 0, xi = start[k]; i < len[k]; i++, xi++) {
      const ht = shapes[off[k] + i] / Math.sqrt(T[xi]);
      winA[off[k] + i] = (b * ht) / M;
      dual[off[k] + i] = ht / b;
    }
  }
  const lpScale = d.gain[0];
  const lpWin = new Float32Array(lpLen);
  const lpDual = new Float32Array(lpLen);
  for (let xi = 0; xi < lpLen; xi++) {
    const ht = lpShape[xi] / Math.sqrt(T[xi]);
    lpWin[xi] = lpScale * ht;
    lpDual[xi] = ht / lpScale;
  }
  const hpScale = d.gain[K - 1] * Math.sqrt(hpWeight);
  const hpWin = new Float32Array(hpLen);
  const hpDual = new Float32Array(hpLen);
  for (let j = 0; j < hpLen; j++) {
    const ht = hpShape[j] / Math.sqrt(T[half - j]);
    hpWin[j] = hpScale * ht;
    hpDual[j] = (hpWeight * ht) / hpScale;
  }
  return {
    d,
    K,
    M,
    L,
    start,
    len,
    off,
    base,
    winA,
    dual,
    lpLen,
    lpWin,
    lpDual,
    hpLen,
    hpWin,
    hpDual,
    Mhp,
    shapeRatio: tMax / tMin,
    scale,
    lpScale,
    hpScale,
    fftL: realFFT(L),
    rfftM: realFFT(M),
    rfftHp: realFFT(Mhp),
    xbuf: new Float32Array(L),
    spec: new Float32Array(L + 2),
    setupM: pffft.setup(M, 'complex'),
    inPtr: heapZeros(2 * M),
    outPtr: heapZeros(2 * M),
    workPtr: heapZeros(2 * M),
    groupPtr: heapZeros(2 * M * GROUP),
    lpSpec: new Float32Array(M + 2),
    hpSpec: new Float32Array(Mhp + 2),
  };
}

/**
 * Largest internal length of a whole-signal transform (2^24 samples, 6.3 min at
 * 44.1 kHz; its coefficients alone take about 400 MB). Longer signals go
 * through {@link cqtMagnitudesLong}.
 */
const MAX_INTERNAL_LENGTH = 1 << 24;

/** Internal time steps M for a signal of n samples (whole-signal analysis). */
function internalFrames(d: Design, n: number): number {
  const M = nextFastSize(Math.ceil((n + 2 * d.pad) / d.hop), 'real');
  if (M * d.hop > MAX_INTERNAL_LENGTH) {
    const maxSeconds = (MAX_INTERNAL_LENGTH - 2 * d.pad) / d.sr;
    throw new UserError(
      `cqt: a signal of ${n} samples (${(n / d.sr).toFixed(1)} s) is too long for a whole-signal constant-Q transform (at most about ${maxSeconds.toFixed(0)} s); ` +
        'use cqtMagnitudesLong for magnitudes, or process shorter excerpts',
    );
  }
  return M;
}

/**
 * Receives the coefficients of channels `k0 … k0+n−1`: `h[base + g·2M + 2m]`
 * and `h[base + g·2M + 2m + 1]` are the real and imaginary parts of channel
 * `k0+g` at time step `m` (valid until the sink returns).
 */
type GroupSink = (k0: number, n: number, h: Float32Array, base: number) => void;

/**
 * Band-pass analysis of the circular signal in `plan.xbuf`, `GROUP` channels
 * at a time, each moved to baseband and inverse-FFT'd at `M` points in PFFFT's
 * memory. Leaves the spectrum in `plan.spec`.
 */
function analyzeBands(plan: Plan, sink: GroupSink): void {
  const { K, M, start, len, off, base, winA, spec, setupM, inPtr, workPtr, groupPtr } = plan;
  plan.fftL.forward(plan.xbuf, spec);
  const h = pffft.heapF32();
  const inB = inPtr >> 2;
  const transform = pffft.transformOrdered;
  for (let k0 = 0; k0 < K; k0 += GROUP) {
    const n = Math.min(GROUP, K - k0);
    for (let g = 0; g < n; g++) {
      const k = k0 + g;
      const cnt = len[k];
      const o = off[k];
      const j0 = base[k];
      let j = j0;
      let s = 2 * start[k];
      for (let i = 0; i < cnt; i++) {
        const w = winA[o + i];
        h[inB + 2 * j] = spec[s] * w;
        h[inB + 2 * j + 1] = spec[s + 1] * w;
        s += 2;
        if (++j === M) j = 0;
      }
      transform(setupM, inPtr, groupPtr + g * 8 * M, workPtr, PFFFT_BACKWARD);
      j = j0;
      for (let i = 0; i < cnt; i++) {
        h[inB + 2 * j] = 0;
        h[inB + 2 * j + 1] = 0;
        if (++j === M) j = 0;
      }
    }
    sink(k0, n, h, groupPtr >> 2);
  }
}

/** Residual channels of the spectrum in `plan.spec` into `lp` (length M) and `hp` (length Mhp). */
function analyzeResiduals(plan: Plan, lp: Float32Array, hp: Float32Array): void {
  const { spec, lpSpec, hpSpec, lpWin, hpWin, lpLen, hpLen, L } = plan;
  lpSpec.fill(0);
  for (let xi = 0; xi < lpLen; xi++) {
    lpSpec[2 * xi] = spec[2 * xi] * lpWin[xi];
    lpSpec[2 * xi + 1] = spec[2 * xi + 1] * lpWin[xi];
  }
  plan.rfftM.inverse(lpSpec, lp);
  hpSpec.fill(0);
  const half = L / 2;
  for (let j = 0; j < hpLen; j++) {
    const s = 2 * (half - j);
    hpSpec[2 * j] = spec[s] * hpWin[j];
    hpSpec[2 * j + 1] = -spec[s + 1] * hpWin[j];
  }
  plan.rfftHp.inverse(hpSpec, hp);
}

/**
 * Transform-private part of constant-Q {@link Coefficients} (`Coefficients.extra`):
 * what exact reconstruction needs beyond the `frames × bins` features.
 */
export interface CqtExtra {
  /** Tag identifying constant-Q extra channels. */
  readonly kind: 'cqt-extra';
  /** Internal circular length `L = M·hop` in samples that these channels belong to. */
  readonly internalLength: number;
  /**
   * Time steps `M − frames` of every bin after the features, frame-major like
   * the features: step `i` is centred at sample `(frames + i)·hop` modulo `L`
   * (inside the zero padding; the last ones stand for negative times).
   */
  readonly tailFrames: number;
  /** Real parts, length `tailFrames · bins`. */
  readonly tailRe: Float32Array;
  /** Imaginary parts, length `tailFrames · bins`. */
  readonly tailIm: Float32Array;
  /** Residual low-pass channel (real), `M` samples, sample `m` at time `m·hop`. */
  readonly lowpass: Float32Array;
  /** Residual high-pass channel (real, Nyquist shifted to 0), `M_hp` samples at times `m·L/M_hp`. */
  readonly highpass: Float32Array;
}

function isCqtExtra(e: unknown): e is CqtExtra {
  return typeof e === 'object' && e !== null && (e as { kind?: unknown }).kind === 'cqt-extra';
}

function checkSignal(x: unknown, what: string): asserts x is Float32Array {
  if (!(x instanceof Float32Array)) throw new UserError(`${what}: the signal must be a Float32Array of samples`);
  if (x.length < 1) throw new UserError(`${what}: the signal is empty; pass at least one sample`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new UserError(`${what}: sample ${i} is ${x[i]}; remove NaN/Infinity from the signal first`);
  }
}

function checkLength(length: unknown, what: string): asserts length is number {
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 1) {
    throw new UserError(`${what}: length must be a positive integer number of samples, got ${String(length)}`);
  }
}

/** Frames of features for `n` samples: `1 + ⌊n/hop⌋` (centred frames, like librosa). */
function framesFor(hop: number, n: number): number {
  return 1 + Math.floor(n / hop);
}

/**
 * Constant-Q analysis of a whole signal (see the module documentation).
 *
 * @param x Signal, `N ≥ 1` float32 samples at `cfg.sampleRate`.
 * @param cfg Constant-Q configuration (default {@link DEFAULT_CQT}).
 * @returns Coefficients with `frames = 1 + ⌊N/hop⌋` and `bins = nBins`, frame
 *   `t` centred at sample `t·hop`, frame-major; `extra` is a {@link CqtExtra}.
 * @throws UserError for an empty or non-finite signal or an invalid config.
 */
export function cqt(x: Float32Array, cfg: CqtConfig = DEFAULT_CQT): Coefficients {
  const d = getDesign(cfg);
  checkSignal(x, 'cqt');
  const plan = getPlan(d, internalFrames(d, x.length));
  const { K, M, L, xbuf } = plan;
  const T = framesFor(d.hop, x.length);
  xbuf.set(x);
  xbuf.fill(0, x.length);
  const re = new Float32Array(T * K);
  const im = new Float32Array(T * K);
  const tailFrames = M - T;
  const tailRe = new Float32Array(tailFrames * K);
  const tailIm = new Float32Array(tailFrames * K);
  const M2 = 2 * M;
  analyzeBands(plan, (k0, n, h, b) => {
    for (let m = 0; m < T; m++) {
      const p = m * K + k0;
      for (let g = 0, q = b + 2 * m; g < n; g++, q += M2) {
        re[p + g] = h[q];
        im[p + g] = h[q + 1];
      }
    }
    for (let m = T; m < M; m++) {
      const p = (m - T) * K + k0;
      for (let g = 0, q = b + 2 * m; g < n; g++, q += M2) {
        tailRe[p + g] = h[q];
        tailIm[p + g] = h[q + 1];
      }
    }
  });
  const lowpass = new Float32Array(M);
  const highpass = new Float32Array(plan.Mhp);
  analyzeResiduals(plan, lowpass, highpass);
  const extra: CqtExtra = { kind: 'cqt-extra', internalLength: L, tailFrames, tailRe, tailIm, lowpass, highpass };
  return { frames: T, bins: K, re, im, extra };
}

/**
 * Inverse constant-Q transform with the canonical dual frame: exact (up to
 * float32 rounding) for coefficients made by {@link cqt} from a signal of
 * `length` samples; for any other coefficients (e.g. magnitudes with a new
 * phase) it returns the `length`-sample signal whose coefficients are
 * closest to them in least squares (bin `k` weighted by `1/b_k²`, see
 * {@link CqtLayout.binScale}), the usual step of Griffin-Lim.
 *
 * @param c Coefficients with `frames = 1 + ⌊length/hop⌋`, `bins = nBins`;
 *   `extra` (a {@link CqtExtra} for the same length) is optional, absent means zero.
 * @param cfg Constant-Q configuration (default {@link DEFAULT_CQT}).
 * @param length Output length in samples.
 * @returns The signal, `length` float32 samples.
 * @throws UserError if the shapes do not match `length` and `cfg`.
 */
export function icqt(c: Coefficients, cfg: CqtConfig, length: number): Float32Array {
  const d = getDesign(cfg);
  checkLength(length, 'icqt');
  const T = framesFor(d.hop, length);
  if (!c || c.bins !== d.K || c.frames !== T) {
    throw new UserError(
      `icqt: coefficients are ${c?.frames}x${c?.bins} (frames x bins) but ${length} samples with ${d.K} bins need ${T}x${d.K}; pass the length the coefficients were made for`,
    );
  }
  if (!(c.re instanceof Float32Array) || !(c.im instanceof Float32Array) || c.re.length !== T * d.K || c.im.length !== T * d.K) {
    throw new UserError(`icqt: coefficients' re/im must be Float32Arrays of length frames*bins = ${T * d.K}`);
  }
  const plan = getPlan(d, internalFrames(d, length));
  const { K, M, L, start, len, off, base, dual, spec } = plan;
  let extra: CqtExtra | undefined;
  if (c.extra !== undefined) {
    if (!isCqtExtra(c.extra)) throw new UserError('icqt: coefficients.extra is not from the constant-Q transform; drop it or analyse with cqt()');
    extra = c.extra;
    if (
      extra.internalLength !== L ||
      extra.tailFrames !== M - T ||
      extra.tailRe.length !== (M - T) * K ||
      extra.tailIm.length !== (M - T) * K ||
      extra.lowpass.length !== M ||
      extra.highpass.length !== plan.Mhp
    ) {
      throw new UserError(
        `icqt: coefficients.extra was made for internal length ${extra.internalLength}, but ${length} samples need ${L}; analyse a signal of the same length`,
      );
    }
  }
  const { re, im } = c;
  spec.fill(0);
  // One channel at a time: the strided reads of a channel touch one cache line per
  // frame, which the next channels reuse.
  const h = pffft.heapF32();
  const { setupM, inPtr, outPtr, workPtr } = plan;
  const inB = inPtr >> 2;
  const outB = outPtr >> 2;
  const transform = pffft.transformOrdered;
  for (let k = 0; k < K; k++) {
    for (let m = 0, p = k, q = inB; m < T; m++, p += K, q += 2) {
      h[q] = re[p];
      h[q + 1] = im[p];
    }
    if (extra) {
      const { tailRe, tailIm } = extra;
      for (let m = T, p = k, q = inB + 2 * T; m < M; m++, p += K, q += 2) {
        h[q] = tailRe[p];
        h[q + 1] = tailIm[p];
      }
    } else h.fill(0, inB + 2 * T, inB + 2 * M);
    transform(setupM, inPtr, outPtr, workPtr, PFFFT_FORWARD);
    const n = len[k];
    const o = off[k];
    let j = base[k];
    let s = 2 * start[k];
    for (let i = 0; i < n; i++) {
      const w = dual[o + i];
      spec[s] += h[outB + 2 * j] * w;
      spec[s + 1] += h[outB + 2 * j + 1] * w;
      s += 2;
      if (++j === M) j = 0;
    }
  }
  h.fill(0, inB, inB + 2 * M);
  if (extra) {
    const { lpSpec, hpSpec, lpDual, hpDual, lpLen, hpLen } = plan;
    plan.rfftM.forward(extra.lowpass, lpSpec);
    for (let xi = 0; xi < lpLen; xi++) {
      spec[2 * xi] += lpSpec[2 * xi] * lpDual[xi];
      spec[2 * xi + 1] += lpSpec[2 * xi + 1] * lpDual[xi];
    }
    plan.rfftHp.forward(extra.highpass, hpSpec);
    const half = L / 2;
    for (let j = 0; j < hpLen; j++) {
      const s = 2 * (half - j);
      spec[s] += hpSpec[2 * j] * hpDual[j];
      spec[s + 1] -= hpSpec[2 * j + 1] * hpDual[j];
    }
  }
  plan.fftL.inverse(spec, plan.xbuf);
  return plan.xbuf.slice(0, length);
}

/**
 * Magnitudes `|c|` of the constant-Q features of a whole signal (one long
 * FFT; memory grows with the length: use {@link cqtMagnitudesLong} for files
 * of minutes).
 *
 * @param x Signal, `N ≥ 1` samples.
 * @param cfg Constant-Q configuration (default {@link DEFAULT_CQT}).
 * @returns `1 + ⌊N/hop⌋` frames × `nBins`, frame-major, on librosa's scale.
 */
export function cqtMagnitudes(x: Float32Array, cfg: CqtConfig = DEFAULT_CQT): Magnitudes {
  const d = getDesign(cfg);
  checkSignal(x, 'cqtMagnitudes');
  const plan = getPlan(d, internalFrames(d, x.length));
  const T = framesFor(d.hop, x.length);
  plan.xbuf.set(x);
  plan.xbuf.fill(0, x.length);
  const data = new Float32Array(T * d.K);
  const K = d.K;
  const M2 = 2 * plan.M;
  analyzeBands(plan, (k0, n, h, b) => {
    for (let m = 0; m < T; m++) {
      const p = m * K + k0;
      for (let g = 0, q = b + 2 * m; g < n; g++, q += M2) data[p + g] = Math.sqrt(h[q] * h[q] + h[q + 1] * h[q + 1]);
    }
  });
  return { frames: T, bins: K, data };
}

/** Options of {@link cqtMagnitudesLong}. */
export interface CqtLongOptions {
  /**
   * Approximate number of frames kept from each block (default: about three
   * times the two margins, ~37 s of audio per block with the defaults).
   * Larger blocks cost more memory and less overlap work.
   */
  blockFrames?: number;
}

/**
 * Constant-Q magnitudes of a long signal (dataset files of minutes), block by
 * block with bounded memory. Each block is analysed circularly with
 * `margin` samples of the true signal on both sides of its central frames,
 * and only the central frames are kept; the margin is `12/W₀` seconds, with
 * `W₀` the bandwidth of the lowest window (6.35 s with the defaults, whose
 * lowest filter's main lobe spans ±1.06 s = ±2/W₀), so the result matches
 * {@link cqtMagnitudes} of the whole signal to about 1e-3 of the largest
 * magnitude (only the filters' far tails differ).
 *
 * @param x Signal, `N ≥ 1` samples.
 * @param cfg Constant-Q configuration (default {@link DEFAULT_CQT}).
 * @param opts See {@link CqtLongOptions}.
 * @returns `1 + ⌊N/hop⌋` frames × `nBins`, frame-major, frame `t` centred at sample `t·hop`.
 */
export function cqtMagnitudesLong(x: Float32Array, cfg: CqtConfig = DEFAULT_CQT, opts: CqtLongOptions = {}): Magnitudes {
  const d = getDesign(cfg);
  checkSignal(x, 'cqtMagnitudesLong');
  const { hop, K } = d;
  const marginFrames = d.longMargin / hop;
  const want = opts.blockFrames ?? 6 * marginFrames;
  if (!Number.isInteger(want) || want < 1) {
    throw new UserError(`cqtMagnitudesLong: blockFrames must be a positive integer, got ${String(opts.blockFrames)}`);
  }
  const N = x.length;
  const T = framesFor(hop, N);
  const M = nextFastSize(want + 2 * marginFrames, 'real');
  const core = M - 2 * marginFrames;
  const plan = getPlan(d, M);
  const { L, xbuf } = plan;
  const M2 = 2 * M;
  const data = new Float32Array(T * K);
  for (let t0 = 0; t0 < T; t0 += core) {
    // Buffer index i holds time t0*hop + i for i < L - margin, and t0*hop - (L - i) above.
    const t0s = t0 * hop;
    const split = L - d.longMargin;
    for (let i = 0; i < L; i++) {
      const tt = i < split ? t0s + i : t0s - (L - i);
      xbuf[i] = tt >= 0 && tt < N ? x[tt] : 0;
    }
    const count = Math.min(core, T - t0);
    analyzeBands(plan, (k0, n, h, b) => {
      for (let m = 0; m < count; m++) {
        const p = (t0 + m) * K + k0;
        for (let g = 0, q = b + 2 * m; g < n; g++, q += M2) data[p + g] = Math.sqrt(h[q] * h[q] + h[q + 1] * h[q + 1]);
      }
    });
  }
  return { frames: T, bins: K, data };
}

/** Facts about the transform of a signal of a given length (see {@link cqtLayout}). */
export interface CqtLayout {
  /** Feature frames `1 + ⌊length/hop⌋`. */
  frames: number;
  /** Internal circular length `L = M·hop` (samples). */
  internalLength: number;
  /** Time steps per channel `M` (painless: every band-pass support spans `≤ M` DFT bins). */
  steps: number;
  /** Zero padding on each side of the signal, samples. */
  pad: number;
  /** Samples of the residual high-pass channel. */
  highpassSamples: number;
  /** First bin whose bandwidth is capped at `sr/hop` (variable-Q); `nBins` if none. */
  firstCappedBin: number;
  /** Largest band-pass support in DFT bins (`≤ steps`). */
  maxSupport: number;
  /**
   * Frame bounds ratio B/A of the unit-peak window shapes before the tight
   * normalisation: max/min over frequency of `Σ_k h_k² + h_lp² + (M/M_hp)·h_hp²`.
   * It is 1 in the constant-Q part (where the sum is 3/2 everywhere) and
   * grows only where bandwidths are capped (1.43 for the defaults, 3.0 for 9
   * octaves); the normalisation by its square root makes the actual frame tight.
   */
  frameBoundRatio: number;
  /**
   * `b_k`, length `nBins`: bin `k`'s coefficients are `b_k` times those of the
   * underlying tight frame (`b_k = √l_k/hop` times the normalisation at `f_k`,
   * see the module documentation). Synthesis after analysis is the orthogonal
   * projection onto consistent coefficients for the inner product that weights
   * bin `k` by `2/b_k²` (the 2 counts the conjugate mirror of a real signal).
   */
  binScale: Float64Array;
  /** The same scale for the (real) residual low-pass channel (weight `1/b²`). */
  lowpassScale: number;
  /** The same scale for the (real) residual high-pass channel (weight `1/b²`). */
  highpassScale: number;
}

/**
 * Sizes and conditioning of the transform for a signal of `length` samples.
 *
 * @param cfg Constant-Q configuration.
 * @param length Signal length in samples (≥ 1).
 */
export function cqtLayout(cfg: CqtConfig, length: number): CqtLayout {
  const d = getDesign(cfg);
  checkLength(length, 'cqtLayout');
  const plan = getPlan(d, internalFrames(d, length));
  let maxSupport = 0;
  for (let k = 0; k < d.K; k++) maxSupport = Math.max(maxSupport, plan.len[k]);
  return {
    frames: framesFor(d.hop, length),
    internalLength: plan.L,
    steps: plan.M,
    pad: d.pad,
    highpassSamples: plan.Mhp,
    firstCappedBin: d.firstCapped,
    maxSupport,
    frameBoundRatio: plan.shapeRatio,
    binScale: Float64Array.from(plan.scale),
    lowpassScale: plan.lpScale,
    highpassScale: plan.hpScale,
  };
}

/**
 * The invertible constant-Q {@link Transform} for a configuration.
 *
 * - `bins` = `nBins`; `frameCount(n) = 1 + ⌊n/hop⌋` (frame `t` centred at
 *   sample `t·hop`, like librosa's centred frames);
 * - `signalLength(frames) = (frames − 1)·hop` (librosa's `istft` convention;
 *   1 sample for a single frame), so `frameCount(signalLength(f)) = f`;
 * - `analyze` = {@link cqt}, `synthesize` = {@link icqt}:
 *   `synthesize(analyze(x), x.length)` returns `x` up to float32 rounding.
 *
 * @param cfg Constant-Q configuration (default {@link DEFAULT_CQT}; build others with {@link cqtConfig}).
 * @throws UserError for an invalid configuration.
 * @example
 * const tr = cqtTransform(cqtConfig({ octaves: 9 }));
 * const c = tr.analyze(x);              // c.frames = 1 + floor(x.length / 128), c.bins = 432
 * const y = tr.synthesize(c, x.length); // equals x up to float32 rounding
 */
export function cqtTransform(cfg: CqtConfig = DEFAULT_CQT): Transform {
  const d = getDesign(cfg);
  const config = d.cfg;
  return {
    config,
    bins: d.K,
    frameCount(length: number): number {
      if (!Number.isInteger(length) || length < 0) {
        throw new UserError(`cqt: frameCount needs a non-negative integer length, got ${String(length)}`);
      }
      return framesFor(d.hop, length);
    },
    signalLength(frames: number): number {
      if (!Number.isInteger(frames) || frames < 1) {
        throw new UserError(`cqt: signalLength needs a positive integer number of frames, got ${String(frames)}`);
      }
      return frames === 1 ? 1 : (frames - 1) * d.hop;
    },
    analyze: (x: Float32Array) => cqt(x, config),
    synthesize: (c: Coefficients, length: number) => icqt(c, config, length),
  };
}
