/**
 * Phase reconstruction: the single entry point the engine uses to turn a
 * magnitude spectrogram (decoded by the VAE) back into audio.
 *
 * Methods:
 * - `'fgla'`: Fast Griffin-Lim (Perraudin, Balazs, Søndergaard, WASPAA 2013;
 *   Griffin & Lim 1984) from a random (or zero) phase, over any {@link Transform}
 *   (STFT or constant-Q). Quality grows with `iterations`.
 * - `'pghi'`: Phase Gradient Heap Integration (Průša, Balazs, Søndergaard,
 *   IEEE/ACM TASLP 2017), non-iterative; STFT only. `iterations` is ignored.
 * - `'pghi+fgla'`: PGHI as the starting phase of `iterations` FGLA iterations;
 *   STFT only. The best quality per unit of time: a few iterations after PGHI
 *   beat many from a random start.
 * - `'agla'` and `'pghi+agla'`: the same with the accelerated Griffin-Lim
 *   algorithm (Nenov, Nguyen, Balazs, ICASSP 2023; `FglaOptions.acceleration`)
 *   instead of FGLA, at the same cost per iteration. Better up to about 64
 *   iterations (see `fgla.ts`); `'pghi+agla'` is the renders' default.
 */
import type { Magnitudes, StftConfig, Transform } from './types.ts';
import { pghi, pghiSignal, type PghiTimeDerivative } from './pghi.ts';
import { fgla, type FglaOptions } from './fgla.ts';
import { UserError } from '../io/errors.ts';
import { DEFAULT_ACCELERATION, parsePhaseMethod, usesAcceleration, type Acceleration, type PhaseMethod } from './phase-settings.ts';

export { PHASE_METHODS, parsePhaseMethod, usesAcceleration, type PhaseMethod } from './phase-settings.ts';

/** Options of {@link reconstructPhase}. */
export interface ReconstructPhaseOptions {
  /** The method (see {@link PhaseMethod}). */
  method: PhaseMethod;
  /** Griffin-Lim iterations (integer ≥ 0) for every method but `'pghi'`, which ignores it. */
  iterations: number;
  /** Momentum α of FGLA and AGLA (default 0.99, as librosa and torchaudio). */
  momentum?: number;
  /** AGLA's β and γ for `'agla'` and `'pghi+agla'` (default `DEFAULT_ACCELERATION` of `fgla.ts`); ignored by the others. */
  acceleration?: Acceleration;
  /** Starting phase of `'fgla'` and `'agla'`: uniform random (default) or zero. Not used by the PGHI methods. */
  init?: 'random' | 'zero';
  /** Seed of the random start (`'fgla'`, `'agla'`) or of the random phase PGHI gives sub-tolerance coefficients. Default 0. */
  seed?: number;
  /** Relative tolerance of PGHI (default 1e-4, i.e. −80 dB; see `pghi.ts`). */
  tolerance?: number;
  /** PGHI's time derivative of the log-magnitude, `'power'` (default) or `'log'` (see `PghiOptions` in `pghi.ts`). */
  timeDerivative?: PghiTimeDerivative;
  /** Called with (done, total) FGLA iterations as they complete (and (1, 1) after PGHI alone). */
  onProgress?: (done: number, total: number) => void;
  /** Abort: checked before the work starts and between FGLA iterations; throws the signal's reason (an `AbortError`). */
  signal?: AbortSignal;
}

/**
 * Rebuild a signal from a magnitude spectrogram.
 *
 * @param mag Magnitudes, frame-major `frames × bins` with `bins = transform.bins`
 *   (for the STFT: `nFft/2 + 1`), e.g. the decoder output of the VAE.
 * @param transform The transform the magnitudes belong to (`stftTransform(cfg)`
 *   or `cqtTransform(cfg)`).
 * @param length Output length in samples, e.g. `transform.signalLength(mag.frames)`.
 * @param opts See {@link ReconstructPhaseOptions}.
 * @returns The signal, `length` samples.
 * @throws UserError for a PGHI method with a non-STFT transform
 *   ("PGHI needs an STFT model; use --phase agla"), a shape mismatch (bins
 *   or a frame count other than `transform.frameCount(length)`) or bad options.
 */
export function reconstructPhase(
  mag: Magnitudes,
  transform: Transform,
  length: number,
  opts: ReconstructPhaseOptions,
): Float32Array {
  return reconstructPhaseWith(mag, transform, length, opts, fgla);
}

/**
 * {@link reconstructPhase} with another runner of the Griffin-Lim iterations, e.g. one that shares them between
 * threads (`engine/phase-split.ts`): the same checks and methods, and `runFgla` called with the arguments
 * `fgla(mag, transform, length, fglaOptions)` would get.
 *
 * @returns What `runFgla` returns, or the PGHI signal for `'pghi'`.
 */
export function reconstructPhaseWith<R>(
  mag: Magnitudes,
  transform: Transform,
  length: number,
  opts: ReconstructPhaseOptions,
  runFgla: (mag: Magnitudes, transform: Transform, length: number, fglaOptions: FglaOptions) => R,
): R | Float32Array {
  const method = parsePhaseMethod(opts.method);
  const iterations = opts.iterations;
  if (method !== 'pghi' && (!Number.isInteger(iterations) || iterations < 0)) {
    throw new UserError(`phase iterations must be a whole number >= 0, got ${String(iterations)}; e.g. --iterations 8`);
  }
  if (mag.bins !== transform.bins) {
    throw new UserError(
      `magnitudes have ${mag.bins} bins but the ${transform.config.kind} transform has ${transform.bins}; use the model's own transform`,
    );
  }
  if (!Number.isInteger(length) || length < 0) {
    throw new UserError(`output length must be a whole number of samples >= 0, got ${String(length)}`);
  }
  const expected = transform.frameCount(length);
  if (mag.frames !== expected) {
    throw new UserError(
      `magnitudes have ${mag.frames} frames but a ${length}-sample signal has ${expected}; pass length = transform.signalLength(frames)`,
    );
  }
  opts.signal?.throwIfAborted();
  const acceleration = usesAcceleration(method) ? (opts.acceleration ?? DEFAULT_ACCELERATION) : undefined;
  if (method === 'fgla' || method === 'agla') {
    return runFgla(mag, transform, length, {
      iterations,
      momentum: opts.momentum,
      acceleration,
      init: opts.init ?? 'random',
      seed: opts.seed,
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
  }
  if (transform.config.kind !== 'stft') {
    throw new UserError(`PGHI needs an STFT model (this one uses the ${transform.config.kind} transform); use --phase agla`);
  }
  const cfg: StftConfig = transform.config;
  if (method === 'pghi') {
    const out = pghiSignal(mag, cfg, length, { tolerance: opts.tolerance, timeDerivative: opts.timeDerivative, seed: opts.seed });
    opts.onProgress?.(1, 1);
    return out;
  }
  const start = pghi(mag, cfg, { tolerance: opts.tolerance, timeDerivative: opts.timeDerivative, seed: opts.seed });
  return runFgla(mag, transform, length, {
    iterations,
    momentum: opts.momentum,
    acceleration,
    init: start,
    seed: opts.seed,
    onProgress: opts.onProgress,
    signal: opts.signal,
  });
}

