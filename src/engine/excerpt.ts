/**
 * Excerpts of analysed files, shared by the offline renderer and live mode:
 * range checks with one-line errors, the silence check, and slicing the
 * excerpt's frames out of a whole-file analysis as the encoder's features.
 *
 * Frames are taken from the analysis of the whole file (as the original LTS
 * sliced its precomputed CQT at `int(t·sr) // hop`), so an excerpt's first
 * frame sees the audio before the excerpt exactly as training did.
 */
import { basename } from 'node:path';
import type { Magnitudes } from '../dsp/types.ts';
import { UserError } from '../io/errors.ts';
import { toFeatures } from './features.ts';
import type { ModelConfig } from './types.ts';

/**
 * The shortest excerpt that can be rendered, in seconds: well above one sample at any supported rate, and short
 * enough for any musical use. Shorter durations round to no samples (or a handful) and cannot be heard.
 */
export const MIN_DURATION_S = 0.01;

/**
 * Check that `[start, start + duration)` lies inside a file of `fileSeconds`
 * and that the excerpt is not silent.
 *
 * @param label how errors name the excerpt, e.g. `excerpt A`.
 * @param samples the whole file at the model rate.
 * @param sampleRate the model rate.
 * @throws UserError (one line) naming the excerpt, the file and the fix; a duration below
 *   {@link MIN_DURATION_S} or a file shorter than that is refused as such.
 */
export function checkExcerpt(label: string, path: string, samples: Float32Array, sampleRate: number, start: number, duration: number): void {
  const fileDur = samples.length / sampleRate;
  const name = `${label} (${basename(path)})`;
  if (duration < MIN_DURATION_S) {
    throw new UserError(`${name}: the duration ${fmt(duration)} s is shorter than the minimum of ${MIN_DURATION_S} s; choose a duration of at least ${MIN_DURATION_S} s`);
  }
  if (fileDur < MIN_DURATION_S) {
    throw new UserError(`${name}: the file is too short (${fmt(fileDur)} s, ${samples.length} samples at ${sampleRate} Hz); excerpts need at least ${MIN_DURATION_S} s, so choose a longer file`);
  }
  if (start >= fileDur) {
    throw new UserError(`${name}: start ${fmt(start)} s is past the end of the file (${fmt(fileDur)} s); choose a start below ${fmt(fileDur)}`);
  }
  if (start + duration > fileDur + 1e-9) {
    const left = fileDur - start;
    if (left >= MIN_DURATION_S) {
      throw new UserError(
        `${name}: ${fmt(duration)} s from ${fmt(start)} s runs past the end (${fmt(fileDur)} s); use a duration of at most ${fmtDown(left)} s or an earlier start`,
      );
    }
    throw new UserError(
      duration > fileDur
        ? `${name}: the duration ${fmt(duration)} s is longer than the file (${fmt(fileDur)} s); use a duration of at most ${fmtDown(fileDur)} s`
        : `${name}: only ${fmt(left)} s of the file (${fmt(fileDur)} s) are left after the start ${fmt(start)} s; choose a start of at most ${fmtDown(fileDur - duration)} s`,
    );
  }
  const s0 = Math.round(start * sampleRate);
  const len = Math.round(duration * sampleRate);
  let sum = 0;
  for (let i = s0; i < s0 + len && i < samples.length; i++) sum += samples[i] * samples[i];
  if (Math.sqrt(sum / Math.max(1, len)) < 1e-5) {
    throw new UserError(`${name}: the excerpt at ${fmt(start)} s is silent (below -100 dBFS); choose another start or file`);
  }
}

/**
 * Take `frames` frames of a whole-file analysis starting at the frame of
 * `startSample` (frame t is centred at t·hop), repeating the last frame if
 * the analysis is shorter, and turn them into the model's features.
 *
 * @returns Row-major `[frames, bins]` features, ready for the encoder.
 */
export function excerptFeatures(model: { config: ModelConfig }, mag: Magnitudes, startSample: number, frames: number): Float32Array {
  const first = Math.round(startSample / model.config.features.transform.hop);
  const bins = mag.bins;
  const slice = new Float32Array(frames * bins);
  for (let f = 0; f < frames; f++) {
    const src = Math.min(mag.frames - 1, first + f);
    slice.set(mag.data.subarray(src * bins, (src + 1) * bins), f * bins);
  }
  return toFeatures({ frames, bins, data: slice }, model.config.features.scaling, true).data;
}

/** Seconds for messages: at most 4 decimals (2, 0.5, 0.0006), or 2 significant digits below 0.0001 s (0.000023). */
function fmt(x: number): string {
  const r = Math.round(x * 1e4) / 1e4;
  return r !== 0 || x === 0 ? String(r) : String(Number(x.toPrecision(2)));
}

/** Seconds rounded down to 4 decimals: a limit to stay within (a duration shown as "at most" must fit). */
function fmtDown(x: number): string {
  return String(Math.max(0, Math.floor(x * 1e4 + 1e-6) / 1e4));
}
