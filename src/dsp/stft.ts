/**
 * Short-time Fourier transform with an exact (least-squares) inverse.
 *
 * Conventions (the same as `librosa.stft(center=True, pad_mode='constant')`
 * and `torch.stft(center=True, pad_mode='constant')`):
 * - Window: periodic Hann of length `nFft`, `w[j] = 0.5 - 0.5 cos(2 pi j / nFft)`.
 * - Centred frames: the signal is padded with `nFft/2` **zeros** on each side and
 *   frame `t` covers input samples `t*hop - nFft/2 ... t*hop + nFft/2 - 1`, so
 *   frame `t` is centred on sample `t*hop`. Zero padding (not reflection) keeps
 *   the transform linear, so `istft(stft(x))` reproduces `x` exactly up to
 *   float32 rounding, including the first and last samples.
 * - Phase reference: the FFT of each frame is taken with index 0 at the frame
 *   start (sample `t*hop - nFft/2`), as in librosa/torch; a stationary sinusoid
 *   at bin `k` therefore advances its phase by `2 pi k hop / nFft` per frame.
 * - `frameCount(len) = 1 + floor(len / hop)`; `bins = nFft/2 + 1`.
 * - Layout: frame-major, bin `k` of frame `t` at `t*bins + k` (see `types.ts`).
 * - Unnormalised forward FFT (numpy `rfft`), so a full-scale sinusoid at a bin
 *   centre has magnitude `nFft/4` in the Hann-windowed spectrum.
 *
 * Inverse: weighted overlap-add with window-sum-square normalisation,
 * `x[n] = sum_t w[n - t hop] y_t[n - t hop] / sum_t w^2[n - t hop]`, where
 * `y_t` is the inverse FFT of frame `t`. This is the least-squares signal
 * estimate from a (possibly inconsistent) STFT of D. Griffin and J. Lim,
 * "Signal estimation from modified short-time Fourier transform",
 * IEEE TASSP 32(2), 1984 (their eq. 6).
 *
 * @module
 */
import type { Coefficients, StftConfig, Transform } from './types.ts';
import { isFastSize, nextFastSize, pffft } from './fft.ts';

/** The project's default STFT: 44.1 kHz, `nFft` 2048 (46 ms), hop 256 (5.8 ms, 172.3 frames/s), 1025 bins. */
export const DEFAULT_STFT: Readonly<StftConfig> = Object.freeze({ kind: 'stft', sampleRate: 44100, nFft: 2048, hop: 256 });

/**
 * Check an STFT configuration and throw a one-line error naming the fix.
 *
 * Requirements: `nFft` a supported real FFT size (2^a 3^b 5^c, multiple of 32,
 * e.g. 256, 512, 1024, 2048, 4096); `hop` an integer in `[1, nFft/2]` (so every
 * sample is covered by at least two windows and the inverse is well
 * conditioned); `sampleRate` positive.
 *
 * @param cfg The configuration to check.
 */
export function validateStftConfig(cfg: StftConfig): void {
  if (!cfg || typeof cfg !== 'object') throw new Error('stft: config must be an object like DEFAULT_STFT');
  if (cfg.kind !== 'stft') throw new Error(`stft: config.kind must be 'stft', got ${String(cfg.kind)}`);
  if (!isFastSize(cfg.nFft, 'real')) {
    const next = Number.isFinite(cfg.nFft) && cfg.nFft > 0 ? `; try ${nextFastSize(cfg.nFft, 'real')}` : '';
    throw new Error(`stft: nFft ${cfg.nFft} is not supported: use a multiple of 32 of the form 2^a*3^b*5^c (e.g. 1024, 2048)${next}`);
  }
  if (!Number.isInteger(cfg.hop) || cfg.hop < 1 || cfg.hop > cfg.nFft / 2) {
    throw new Error(`stft: hop ${cfg.hop} must be an integer between 1 and nFft/2 = ${cfg.nFft / 2}`);
  }
  if (!(cfg.sampleRate > 0) || !Number.isFinite(cfg.sampleRate)) {
    throw new Error(`stft: sampleRate ${cfg.sampleRate} must be a positive number of Hz`);
  }
}

const windowCache = new Map<number, Float32Array>();

/**
 * Per-size PFFFT real-transform setup and scratch (frame buffer + work area) on PFFFT's heap,
 * shared by every synchronous user of an `n`-point frame (this module, the streaming PGHI);
 * never freed (small).
 */
const scratchCache = new Map<number, { setup: number; buf: number; work: number }>();
export function pffftFrameScratch(n: number): { setup: number; buf: number; work: number } {
  let s = scratchCache.get(n);
  if (!s) {
    s = { setup: pffft.setup(n, 'real'), buf: pffft.malloc(n * 4), work: pffft.malloc(n * 4) };
    scratchCache.set(n, s);
  }
  return s;
}

/**
 * Periodic Hann window, `w[j] = 0.5 - 0.5 cos(2 pi j / n)` for `j = 0..n-1`
 * (`scipy.signal.get_window('hann', n)`, `torch.hann_window(n)`). Cached; do not modify.
 *
 * @param n Window length.
 */
export function hannWindow(n: number): Float32Array {
  let w = windowCache.get(n);
  if (!w) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`stft: window length ${n} must be a positive integer`);
    w = new Float32Array(n);
    for (let j = 0; j < n; j++) w[j] = 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / n);
    windowCache.set(n, w);
  }
  return w;
}

const synthesisCache = new Map<number, Float32Array>();

/**
 * The Hann window divided by `n`: the inverse FFT is unscaled, so its 1/n is folded into the
 * synthesis window of {@link istft} (and of the WebAssembly inverse STFT of PGHI). Cached; do not modify.
 *
 * @param n Window length.
 */
export function synthesisWindow(n: number): Float32Array {
  let ws = synthesisCache.get(n);
  if (!ws) {
    const w = hannWindow(n);
    ws = new Float32Array(n);
    for (let j = 0; j < n; j++) ws[j] = w[j] / n;
    synthesisCache.set(n, ws);
  }
  return ws;
}

/**
 * Number of centred frames for a signal: `1 + floor(length / hop)`.
 *
 * @param length Signal length in samples (>= 0).
 * @param cfg STFT configuration.
 */
export function stftFrameCount(length: number, cfg: StftConfig): number {
  if (!Number.isInteger(length) || length < 0) throw new Error(`stft: signal length ${length} must be a non-negative integer`);
  return 1 + Math.floor(length / cfg.hop);
}

/**
 * `sum_t w^2[n - t*hop]` over the padded time axis of `frames` frames
 * (length `(frames - 1) * hop + nFft`, padded coordinates: sample `i` of the
 * signal is at `i + nFft/2`), as float64. Used by {@link istft} and the
 * Griffin-Lim code.
 *
 * @param frames Number of frames.
 * @param cfg STFT configuration.
 */
export function windowSumSquare(frames: number, cfg: StftConfig): Float64Array {
  const { nFft, hop } = cfg;
  const w = hannWindow(nFft);
  const len = (frames - 1) * hop + nFft;
  const out = new Float64Array(len);
  // sum over the frames t with 0 <= i - t*hop < nFft and 0 <= t < frames.
  const at = (i: number): number => {
    let s = 0;
    for (let t = Math.max(0, Math.ceil((i - nFft + 1) / hop)); t <= Math.min(frames - 1, Math.floor(i / hop)); t++) {
      const v = w[i - t * hop];
      s += v * v;
    }
    return s;
  };
  // Where every covering frame exists (nFft - 1 <= i <= (frames - 1) * hop) the sum is periodic in i with period hop.
  const lo = nFft - 1;
  const hi = (frames - 1) * hop;
  if (hi - lo >= 2 * hop) {
    for (let i = 0; i < lo + hop; i++) out[i] = at(i);
    for (let i = lo + hop; i <= hi; i++) out[i] = out[i - hop];
    for (let i = hi + 1; i < len; i++) out[i] = at(i);
  } else {
    for (let i = 0; i < len; i++) out[i] = at(i);
  }
  return out;
}

/**
 * Forward STFT of a mono signal.
 *
 * @param x Signal, any length >= 0 (float32 samples, nominally in [-1, 1]).
 * @param cfg STFT configuration (default {@link DEFAULT_STFT}).
 * @returns Complex coefficients, `frames = 1 + floor(x.length / hop)`, `bins = nFft/2 + 1`,
 *   frame-major split re/im arrays (see module docs for the phase convention).
 * @example
 * const c = stft(samples);            // DEFAULT_STFT
 * const y = istft(c, DEFAULT_STFT, samples.length); // equals samples to ~1e-7
 */
export function stft(x: Float32Array, cfg: StftConfig = DEFAULT_STFT): Coefficients {
  validateStftConfig(cfg);
  if (!(x instanceof Float32Array)) throw new Error('stft: signal must be a Float32Array');
  const { nFft, hop } = cfg;
  const half = nFft >> 1;
  const bins = half + 1;
  const frames = stftFrameCount(x.length, cfg);
  const len = x.length;
  const w = hannWindow(nFft);
  const { setup, buf, work } = pffftFrameScratch(nFft);
  const b = buf >> 2;
  const h = pffft.heapF32();
  const re = new Float32Array(frames * bins);
  const im = new Float32Array(frames * bins);
  for (let t = 0; t < frames; t++) {
    const start = t * hop - half;
    if (start >= 0 && start + nFft <= len) {
      for (let j = 0; j < nFft; j++) h[b + j] = x[start + j] * w[j];
    } else {
      for (let j = 0; j < nFft; j++) {
        const i = start + j;
        h[b + j] = i >= 0 && i < len ? x[i] * w[j] : 0;
      }
    }
    // PFFFT's ordered real layout: [F0, F(n/2), re1, im1, ..., re(n/2-1), im(n/2-1)].
    pffft.transformOrdered(setup, buf, buf, work, 0);
    const o = t * bins;
    re[o] = h[b];
    re[o + half] = h[b + 1];
    for (let k = 1; k < half; k++) {
      re[o + k] = h[b + 2 * k];
      im[o + k] = h[b + 2 * k + 1];
    }
  }
  return { frames, bins, re, im };
}

/**
 * Inverse STFT by least-squares weighted overlap-add (Griffin & Lim 1984).
 *
 * For coefficients that are a valid STFT (e.g. from {@link stft}) this is the
 * exact inverse; for modified coefficients it returns the signal whose STFT is
 * closest to them in the least-squares sense.
 *
 * @param c Coefficients with `bins = nFft/2 + 1` and any number of frames >= 1. The
 *   imaginary parts of bins 0 and `nFft/2` are ignored (a real signal has none).
 * @param cfg STFT configuration used for the analysis (default {@link DEFAULT_STFT}).
 * @param length Output length in samples (e.g. the original signal length). Samples not
 *   covered by any frame (beyond `(frames - 1) * hop + nFft/2`) are zero.
 * @returns The reconstructed signal, length `length`.
 */
export function istft(c: Coefficients, cfg: StftConfig = DEFAULT_STFT, length?: number): Float32Array {
  validateStftConfig(cfg);
  const half = cfg.nFft >> 1;
  checkCoefficients(c, half + 1);
  const bins = half + 1;
  const { re, im } = c;
  return istftWith(c.frames, cfg, length ?? (c.frames - 1) * cfg.hop, (t, h, b) => {
    const o = t * bins;
    h[b] = re[o];
    h[b + 1] = re[o + half];
    for (let k = 1; k < half; k++) {
      h[b + 2 * k] = re[o + k];
      h[b + 2 * k + 1] = im[o + k];
    }
  });
}

/**
 * Writes the spectrum of frame `t` for {@link istftWith}, in PFFFT's ordered real layout at float offset `b`
 * of the heap view `h`: `h[b] = Re X[0]`, `h[b + 1] = Re X[nFft/2]`, and `h[b + 2k]`, `h[b + 2k + 1]` =
 * `Re X[k]`, `Im X[k]` for `0 < k < nFft/2` (phase referenced to the first sample of the frame, as {@link stft}).
 */
export type FrameSpectrumWriter = (t: number, h: Float32Array, b: number) => void;

/**
 * The inverse STFT of {@link istft} with the spectra supplied frame by frame by `fill`, so that a
 * producer (e.g. PGHI's polar-to-Cartesian step) can write each frame straight into the FFT
 * buffer instead of materialising all coefficients first.
 *
 * @param frames Number of frames (>= 1).
 * @param cfg STFT configuration (validated by the caller).
 * @param length Output length in samples.
 * @param fill Writes frame `t`'s spectrum (see {@link FrameSpectrumWriter}).
 * @returns The least-squares signal estimate, `length` samples.
 */
export function istftWith(frames: number, cfg: StftConfig, length: number, fill: FrameSpectrumWriter): Float32Array {
  const { nFft, hop } = cfg;
  const half = nFft >> 1;
  if (!Number.isInteger(frames) || frames < 1) throw new Error(`istft: coefficients need at least one frame, got ${frames}`);
  if (!Number.isInteger(length) || length < 0) throw new Error(`istft: length ${length} must be a non-negative integer`);
  const ws = synthesisWindow(nFft);
  const { setup, buf, work } = pffftFrameScratch(nFft);
  const b = buf >> 2;
  const h = pffft.heapF32();
  const ola = new Float64Array((frames - 1) * hop + nFft);
  for (let t = 0; t < frames; t++) {
    fill(t, h, b);
    pffft.transformOrdered(setup, buf, buf, work, 1);
    const s = t * hop;
    for (let j = 0; j < nFft; j++) ola[s + j] += h[b + j] * ws[j];
  }
  const wss = windowSumSquare(frames, cfg);
  const out = new Float32Array(length);
  const n = Math.min(length, ola.length - half);
  for (let i = 0; i < n; i++) {
    const d = wss[i + half];
    out[i] = d > 1e-8 ? ola[i + half] / d : 0;
  }
  return out;
}

/** Throw a clear error if `c` is not a well-formed coefficient set with `bins` bins. */
function checkCoefficients(c: Coefficients, bins: number): void {
  if (!c || typeof c !== 'object') throw new Error('istft: coefficients must be an object { frames, bins, re, im }');
  if (c.bins !== bins) throw new Error(`istft: coefficients have ${c.bins} bins but this STFT needs nFft/2+1 = ${bins}; use the config they were made with`);
  if (!Number.isInteger(c.frames) || c.frames < 1) throw new Error(`istft: coefficients need at least one frame, got ${c.frames}`);
  const n = c.frames * c.bins;
  if (!(c.re instanceof Float32Array) || !(c.im instanceof Float32Array) || c.re.length !== n || c.im.length !== n) {
    throw new Error(`istft: coefficients re and im must be Float32Arrays of length frames*bins = ${n}`);
  }
}

/**
 * The STFT as a {@link Transform} (for feature extraction and for the generic
 * Griffin-Lim in `fgla.ts`).
 *
 * @param cfg STFT configuration (default {@link DEFAULT_STFT}); validated here.
 * @returns A transform with `bins = nFft/2 + 1`, `frameCount(len) = 1 + floor(len/hop)`,
 *   `signalLength(frames) = (frames - 1) * hop`, `analyze = stft`, `synthesize = istft`.
 */
export function stftTransform(cfg: StftConfig = DEFAULT_STFT): Transform {
  validateStftConfig(cfg);
  const config: StftConfig = { kind: 'stft', sampleRate: cfg.sampleRate, nFft: cfg.nFft, hop: cfg.hop };
  return {
    config,
    bins: config.nFft / 2 + 1,
    frameCount: (length: number) => stftFrameCount(length, config),
    signalLength: (frames: number) => {
      if (!Number.isInteger(frames) || frames < 1) throw new Error(`stft: frame count ${frames} must be a positive integer`);
      return (frames - 1) * config.hop;
    },
    analyze: (x: Float32Array) => stft(x, config),
    synthesize: (c: Coefficients, length: number) => istft(c, config, length),
  };
}
