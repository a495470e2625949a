/**
 * Helpers for complex time-frequency coefficients and magnitude spectrograms
 * (frame-major layouts of `types.ts`: element `t * bins + k` is bin `k` of
 * frame `t`).
 *
 * @module
 */
import type { Coefficients, Magnitudes } from './types.ts';
import { createRng } from './rng.ts';

/**
 * Check that `c` is a well-formed coefficient set; throw a one-line error otherwise.
 *
 * @param c Coefficients to check.
 * @param what Name used in the error message (e.g. `'fgla init'`).
 */
export function checkCoefficients(c: Coefficients, what = 'coefficients'): void {
  if (!c || typeof c !== 'object') throw new Error(`${what}: expected { frames, bins, re, im }`);
  if (!Number.isInteger(c.frames) || c.frames < 1 || !Number.isInteger(c.bins) || c.bins < 1) {
    throw new Error(`${what}: frames and bins must be positive integers, got ${c.frames} x ${c.bins}`);
  }
  const n = c.frames * c.bins;
  if (!(c.re instanceof Float32Array) || !(c.im instanceof Float32Array) || c.re.length !== n || c.im.length !== n) {
    throw new Error(`${what}: re and im must be Float32Arrays of length frames*bins = ${n}`);
  }
}

/**
 * Check that `m` is a well-formed magnitude spectrogram with finite, non-negative values.
 *
 * @param m Magnitudes to check.
 * @param what Name used in the error message.
 */
export function checkMagnitudes(m: Magnitudes, what = 'magnitudes'): void {
  if (!m || typeof m !== 'object') throw new Error(`${what}: expected { frames, bins, data }`);
  if (!Number.isInteger(m.frames) || m.frames < 1 || !Number.isInteger(m.bins) || m.bins < 1) {
    throw new Error(`${what}: frames and bins must be positive integers, got ${m.frames} x ${m.bins}`);
  }
  if (!(m.data instanceof Float32Array) || m.data.length !== m.frames * m.bins) {
    throw new Error(`${what}: data must be a Float32Array of length frames*bins = ${m.frames * m.bins}`);
  }
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!(v >= 0) || v === Infinity) {
      throw new Error(`${what}: value ${v} at frame ${Math.floor(i / m.bins)}, bin ${i % m.bins} must be finite and >= 0`);
    }
  }
}

/**
 * Magnitudes `|c|` of complex coefficients.
 *
 * @param c Complex coefficients (frame-major).
 * @returns A new spectrogram with the same `frames` x `bins`.
 */
export function magnitudes(c: Coefficients): Magnitudes {
  checkCoefficients(c);
  const { re, im } = c;
  const data = new Float32Array(re.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.sqrt(re[i] * re[i] + im[i] * im[i]);
  return { frames: c.frames, bins: c.bins, data };
}

/**
 * Phase angles `atan2(im, re)` in `(-pi, pi]` (0 where the coefficient is 0).
 *
 * @param c Complex coefficients.
 * @returns Float32Array of length `frames * bins`.
 */
export function phases(c: Coefficients): Float32Array {
  checkCoefficients(c);
  const out = new Float32Array(c.re.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.atan2(c.im[i], c.re[i]);
  return out;
}

/**
 * Coefficients from magnitudes and phase angles: `mag * exp(i * phase)`.
 *
 * @param mag Magnitude spectrogram.
 * @param phase Phase in radians, same length as `mag.data`.
 */
export function fromPolar(mag: Magnitudes, phase: Float32Array): Coefficients {
  if (!(phase instanceof Float32Array) || phase.length !== mag.data.length) {
    throw new Error(`fromPolar: phase must be a Float32Array of length frames*bins = ${mag.data.length}`);
  }
  const re = new Float32Array(phase.length);
  const im = new Float32Array(phase.length);
  const m = mag.data;
  for (let i = 0; i < re.length; i++) {
    re[i] = m[i] * Math.cos(phase[i]);
    im[i] = m[i] * Math.sin(phase[i]);
  }
  return { frames: mag.frames, bins: mag.bins, re, im };
}

/**
 * Give magnitudes the phase of other coefficients: `mag * c / |c|`.
 * Where `c` is exactly 0 the phase is taken as 0 (the result is `mag`, real).
 * `c.extra` (transform-private channels) is carried over unchanged.
 *
 * @param mag Target magnitudes.
 * @param phaseFrom Coefficients whose phase is used; must have the same shape as `mag`.
 */
export function applyPhase(mag: Magnitudes, phaseFrom: Coefficients): Coefficients {
  checkCoefficients(phaseFrom, 'applyPhase');
  if (phaseFrom.frames !== mag.frames || phaseFrom.bins !== mag.bins) {
    throw new Error(`applyPhase: phase source is ${phaseFrom.frames}x${phaseFrom.bins} but magnitudes are ${mag.frames}x${mag.bins}`);
  }
  const n = mag.data.length;
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  const m = mag.data;
  const { re: pr, im: pi } = phaseFrom;
  for (let i = 0; i < n; i++) {
    const a = Math.sqrt(pr[i] * pr[i] + pi[i] * pi[i]);
    if (a > 0) {
      const s = m[i] / a;
      re[i] = pr[i] * s;
      im[i] = pi[i] * s;
    } else re[i] = m[i];
  }
  const out: Coefficients = { frames: mag.frames, bins: mag.bins, re, im };
  if (phaseFrom.extra !== undefined) out.extra = phaseFrom.extra;
  return out;
}

/**
 * Magnitudes with independent uniform random phase in `[0, 2 pi)`, drawn in
 * frame-major order from `createRng(seed)` (the random start of Griffin-Lim).
 *
 * @param mag Magnitude spectrogram.
 * @param seed Seed for {@link createRng}; the same seed gives the same phases.
 */
export function randomPhase(mag: Magnitudes, seed: number): Coefficients {
  const rng = createRng(seed);
  const phase = new Float32Array(mag.data.length);
  for (let i = 0; i < phase.length; i++) phase[i] = 2 * Math.PI * rng();
  return fromPolar(mag, phase);
}

/**
 * Magnitudes with zero phase (real, non-negative coefficients).
 *
 * @param mag Magnitude spectrogram.
 */
export function zeroPhase(mag: Magnitudes): Coefficients {
  return { frames: mag.frames, bins: mag.bins, re: mag.data.slice(), im: new Float32Array(mag.data.length) };
}

/**
 * All-zero coefficients of a given shape.
 *
 * @param frames Number of frames.
 * @param bins Bins per frame.
 */
export function zeroCoefficients(frames: number, bins: number): Coefficients {
  return { frames, bins, re: new Float32Array(frames * bins), im: new Float32Array(frames * bins) };
}

/**
 * A deep copy of coefficients (`extra` is copied by reference).
 *
 * @param c Coefficients to copy.
 */
export function cloneCoefficients(c: Coefficients): Coefficients {
  const out: Coefficients = { frames: c.frames, bins: c.bins, re: c.re.slice(), im: c.im.slice() };
  if (c.extra !== undefined) out.extra = c.extra;
  return out;
}
