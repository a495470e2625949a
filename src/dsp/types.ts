/**
 * Shared types of the signal-processing layer.
 *
 * Everything in `src/dsp` works on plain typed arrays: no tfjs, no I/O.
 * Time-frequency data is stored **frame-major**: element `[t * bins + k]` is
 * bin `k` of frame `t`, so a row is one spectrogram frame, which is exactly
 * what the frame-wise VAE consumes.
 */

/** Complex time-frequency coefficients, frame-major, split real/imaginary. */
export interface Coefficients {
  /** Number of frames (time steps). */
  frames: number;
  /** Number of frequency bins per frame. */
  bins: number;
  /** Real parts, length `frames * bins`. */
  re: Float32Array;
  /** Imaginary parts, length `frames * bins`. */
  im: Float32Array;
  /**
   * Transform-private extra channels (for example the residual low-pass and
   * high-pass channels of the constant-Q frame that are not part of the
   * magnitude features). Absent means "all zero".
   */
  extra?: unknown;
}

/** A magnitude spectrogram, frame-major. */
export interface Magnitudes {
  frames: number;
  bins: number;
  /** Length `frames * bins`, non-negative. */
  data: Float32Array;
}

/** Plain serializable STFT parameters. */
export interface StftConfig {
  kind: 'stft';
  sampleRate: number;
  /** FFT size and window length (Hann, periodic). */
  nFft: number;
  /** Hop between frames in samples. */
  hop: number;
}

/** Plain serializable constant-Q parameters. */
export interface CqtConfig {
  kind: 'cqt';
  sampleRate: number;
  /** Fixed hop between frames for every bin ("rasterized" transform). */
  hop: number;
  binsPerOctave: number;
  /** Number of constant-Q bins (features); 384 = 8 octaves at 48 per octave. */
  nBins: number;
  /** Centre frequency of the lowest bin in Hz (C1 = 32.703). */
  fmin: number;
}

export type TransformConfig = StftConfig | CqtConfig;

/**
 * An invertible frame transform. `synthesize(analyze(x), x.length)` returns
 * `x` up to float32 rounding.
 */
export interface Transform {
  readonly config: TransformConfig;
  /** Bins per frame (the feature width). */
  readonly bins: number;
  /** Frames produced for a signal of `length` samples. */
  frameCount(length: number): number;
  /** Signal length in samples that `frames` frames describe. */
  signalLength(frames: number): number;
  analyze(x: Float32Array): Coefficients;
  synthesize(c: Coefficients, length: number): Float32Array;
}
