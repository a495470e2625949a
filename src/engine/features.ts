/**
 * Features of the frame-wise timbre VAE: magnitude spectrogram frames of a
 * signal, optionally log-compressed.
 *
 * The original Latent Timbre Synthesis (Tatar, Bisig & Pasquier, Neural
 * Computing and Applications 2020) trains on raw constant-Q magnitudes
 * (`librosa.cqt(..., hop_length=128, bins_per_octave=48, n_bins=384)`, no log,
 * no normalisation): that is `{ transform: DEFAULT_CQT, scaling: 'linear' }`
 * here. The STFT alternative (Hann, centred frames) allows PGHI phase
 * reconstruction; `log` scaling (`log1p`) compresses the dynamic range so
 * quiet partials weigh more in the mean-squared-error loss.
 *
 * Layout everywhere: frame-major `[frames, bins]` float32 (see `src/dsp/types.ts`).
 */
import { createHash } from 'node:crypto';
import type { Magnitudes, StftConfig, Transform, TransformConfig } from '../dsp/types.ts';
import type { FeatureConfig, MagnitudeScaling } from './types.ts';
import { stftTransform } from '../dsp/stft.ts';
import { cqtTransform, cqtMagnitudesLong } from '../dsp/cqt.ts';
import { UserError } from '../io/errors.ts';

/**
 * Version of the analysis code. It is part of {@link analysisHash}, so
 * cached features made by an older analysis are recomputed after a change
 * of this number. Bump it whenever `analyzeMagnitudes` would give different
 * numbers for the same input and configuration.
 */
export const ANALYSIS_VERSION = 1;

/**
 * Build the invertible transform described by a plain configuration.
 *
 * @param cfg `{ kind: 'stft', sampleRate, nFft, hop }` or `{ kind: 'cqt', sampleRate, hop, binsPerOctave, nBins, fmin }`.
 * @returns The STFT (`src/dsp/stft.ts`) or rasterized constant-Q transform (`src/dsp/cqt.ts`).
 * @throws UserError (one line, with the fix) for an unknown `kind` or settings the transform cannot
 *   compute (e.g. an STFT size that is not a supported FFT size).
 */
export function transformFor(cfg: TransformConfig): Transform {
  switch (cfg.kind) {
    case 'stft':
      try {
        return stftTransform(cfg);
      } catch (e) {
        if (e instanceof UserError) throw e;
        const why = (e instanceof Error ? e.message : String(e)).replace(/^stft: /, '').replace(/\s*[\r\n]+\s*/g, ' ');
        throw new UserError(
          `unusable STFT settings (nFft ${String(cfg.nFft)}, hop ${String(cfg.hop)}, sampleRate ${String(cfg.sampleRate)}): ${why}; use the settings the model was trained with, or retrain it with supported ones`,
          { cause: e },
        );
      }
    case 'cqt':
      return cqtTransform(cfg);
    default:
      throw new UserError(`unknown transform kind ${JSON.stringify((cfg as { kind?: unknown }).kind)}; use "stft" or "cqt"`);
  }
}

/**
 * Magnitude spectrogram of a whole signal.
 *
 * STFT: `|STFT(x)|` with the transform's centred frames, block-wise
 * ({@link stftMagnitudesLong}, identical to whole-signal analysis). Constant-Q: computed
 * block-wise by `cqtMagnitudesLong` (overlapping blocks longer than the
 * longest filter), so minutes-long dataset files do not need one FFT over the
 * whole file; the result matches whole-signal analysis closely.
 *
 * @param samples Mono signal at `cfg.transform.sampleRate`.
 * @param cfg Feature configuration (only `cfg.transform` matters here).
 * @returns `[frames, bins]` non-negative magnitudes, `frames = transform.frameCount(samples.length)`.
 */
export function analyzeMagnitudes(samples: Float32Array, cfg: FeatureConfig): Magnitudes {
  if (cfg.transform.kind === 'cqt') return cqtMagnitudesLong(samples, cfg.transform);
  return stftMagnitudesLong(samples, cfg.transform);
}

/**
 * STFT magnitudes of a signal of any length, computed in blocks of frames so
 * that the complex coefficients of a long file never exist all at once
 * (10 minutes at 44.1 kHz with nFft 2048 / hop 256 would need 850 MB of
 * coefficients; blocks of 4096 frames need 34 MB). STFT frames are
 * independent, so the result is *identical* to `|stft(x)|`: each block is
 * analysed from a segment that starts `ceil(nFft / 2 / hop)` frames early,
 * so that every kept frame's window lies inside the segment (or beyond the
 * signal's true ends, where both see the same zero padding).
 *
 * @param x Mono signal.
 * @param cfg STFT configuration (centred frames, periodic Hann; `src/dsp/stft.ts`).
 * @param blockFrames Frames per block (default 4096).
 * @returns `[frames, nFft/2 + 1]` magnitudes, `frames = 1 + floor(x.length / hop)`.
 */
export function stftMagnitudesLong(x: Float32Array, cfg: StftConfig, blockFrames = 4096): Magnitudes {
  if (!Number.isInteger(blockFrames) || blockFrames < 1) throw new RangeError(`stftMagnitudesLong: blockFrames must be a positive integer, got ${blockFrames}`);
  const transform = stftTransform(cfg);
  const { hop, nFft } = cfg;
  const half = nFft >> 1;
  const frames = transform.frameCount(x.length);
  const bins = transform.bins;
  const data = new Float32Array(frames * bins);
  const margin = Math.ceil(half / hop);
  for (let t0 = 0; t0 < frames; t0 += blockFrames) {
    const t1 = Math.min(frames, t0 + blockFrames);
    const first = Math.max(0, t0 - margin);
    const a = first * hop;
    const b = Math.min(x.length, (t1 - 1) * hop + half);
    const c = transform.analyze(x.subarray(a, b));
    for (let t = t0; t < t1; t++) {
      const src = (t - first) * bins;
      const dst = t * bins;
      for (let k = 0; k < bins; k++) {
        const re = c.re[src + k];
        const im = c.im[src + k];
        data[dst + k] = Math.sqrt(re * re + im * im);
      }
    }
  }
  return { frames, bins, data };
}

/**
 * Turn magnitudes into network features (in place when `inPlace` is true).
 *
 * - `linear`: identity (the original LTS).
 * - `log`: `log1p(m)`, which is 0 for silence and grows like `log(m)` for loud bins.
 *
 * @param mag `[frames, bins]` magnitudes.
 * @param scaling The feature scaling.
 * @param inPlace Overwrite `mag.data` instead of allocating a new array (default false).
 * @returns `[frames, bins]` features.
 */
export function toFeatures(mag: Magnitudes, scaling: MagnitudeScaling, inPlace = false): Magnitudes {
  const out = inPlace ? mag.data : new Float32Array(mag.data.length);
  const src = mag.data;
  if (scaling === 'linear') {
    if (!inPlace) out.set(src);
  } else if (scaling === 'log') {
    for (let i = 0; i < src.length; i++) out[i] = Math.log1p(src[i]);
  } else throw new UserError(`unknown magnitude scaling ${JSON.stringify(scaling)}; use "linear" or "log"`);
  return { frames: mag.frames, bins: mag.bins, data: out };
}

/**
 * Turn network output back into magnitudes, the inverse of {@link toFeatures}.
 *
 * Both scalings clamp at 0, because a decoder with a linear output layer can
 * produce negative values and magnitudes cannot be negative:
 * - `linear`: `max(f, 0)`.
 * - `log`: `max(expm1(f), 0)`.
 *
 * @param features `[frames, bins]` features (e.g. decoder output).
 * @param scaling The scaling the model was trained with.
 * @param inPlace Overwrite `features.data` (default false).
 * @returns `[frames, bins]` non-negative magnitudes.
 */
export function fromFeatures(features: Magnitudes, scaling: MagnitudeScaling, inPlace = false): Magnitudes {
  const out = inPlace ? features.data : new Float32Array(features.data.length);
  const src = features.data;
  if (scaling === 'linear') {
    for (let i = 0; i < src.length; i++) out[i] = src[i] > 0 ? src[i] : 0;
  } else if (scaling === 'log') {
    for (let i = 0; i < src.length; i++) out[i] = src[i] > 0 ? Math.expm1(src[i]) : 0;
  } else throw new UserError(`unknown magnitude scaling ${JSON.stringify(scaling)}; use "linear" or "log"`);
  return { frames: features.frames, bins: features.bins, data: out };
}

/** JSON with object keys sorted at every level, so equal configurations serialise identically. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v as Record<string, unknown>)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * A short stable hash of a whole feature configuration (transform and scaling).
 *
 * @param cfg Feature configuration; key order does not matter.
 * @returns 16 hex digits (the first 64 bits of SHA-256 of the canonical JSON).
 */
export function featureConfigHash(cfg: FeatureConfig): string {
  return createHash('sha256').update(canonicalJson(cfg)).digest('hex').slice(0, 16);
}

/**
 * A short stable hash of what determines the *magnitudes* of a file: the
 * transform configuration and {@link ANALYSIS_VERSION}. The scaling is left
 * out on purpose: the feature cache stores magnitudes, so switching between
 * `linear` and `log` reuses the cached analysis.
 *
 * @param transform Transform configuration.
 * @returns 16 hex digits.
 */
export function analysisHash(transform: TransformConfig): string {
  return createHash('sha256')
    .update(canonicalJson({ analysisVersion: ANALYSIS_VERSION, transform }))
    .digest('hex')
    .slice(0, 16);
}
