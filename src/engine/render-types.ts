/**
 * Types of the interpolate_two render pipeline (Tatar et al. 2020, §3.3):
 * two excerpts of the same duration are encoded frame by frame, their latent
 * vectors mixed per frame with the curve's amount `a` (z = a·z_A + (1 − a)·z_B),
 * decoded, and the audio rebuilt by phase reconstruction.
 */
import {
  DEFAULT_ACCELERATION,
  DEFAULT_PGHI_TIME_DERIVATIVE,
  DEFAULT_PGHI_TOLERANCE,
  type Acceleration,
  type PghiTimeDerivative,
  type PhaseMethod,
} from '../dsp/phase-settings.ts';

/** One excerpt: an audio file and the start time of the excerpt in seconds. */
export interface Excerpt {
  path: string;
  start: number;
}

/** Phase reconstruction settings. */
export interface PhaseSettings {
  method: PhaseMethod;
  /** Griffin-Lim iterations (FGLA or AGLA), 0..512 (the original UI offered 0..64). */
  iterations: number;
  /** FGLA momentum (Perraudin et al. 2013), also AGLA's alpha; default 0.99. */
  momentum: number;
  /**
   * AGLA's beta and gamma (see `fgla.ts`), used by the methods `'agla'` and `'pghi+agla'`:
   * `DEFAULT_ACCELERATION` for new renders. Sidecars written before it was recorded (lts 0.3.0 and
   * earlier) never used AGLA; `lts render --from` fills in the default.
   */
  acceleration: Acceleration;
  /**
   * PGHI relative tolerance (see `pghi.ts`): `DEFAULT_PGHI_TOLERANCE` (1e-4) for new renders.
   * Sidecars written before it was recorded used 1e-5; `lts render --from` fills that in
   * ({@link LEGACY_PGHI_TOLERANCE}) so that they still reproduce byte for byte.
   */
  tolerance: number;
  /**
   * How PGHI takes the time derivative of the log-magnitude (see `PghiOptions.timeDerivative` in
   * `pghi.ts`): `'power'` for new renders. Sidecars written before it was recorded used `'log'`;
   * `lts render --from` fills that in ({@link LEGACY_PGHI_TIME_DERIVATIVE}).
   */
  timeDerivative: PghiTimeDerivative;
}

/** The PGHI tolerance of renders whose sidecar does not record one (lts 0.1.0 used 1e-5). */
export const LEGACY_PGHI_TOLERANCE = 1e-5;

/** The PGHI time derivative of renders whose sidecar does not record one (lts 0.2.0 and earlier). */
export const LEGACY_PGHI_TIME_DERIVATIVE: PghiTimeDerivative = 'log';

/**
 * The phase settings a sidecar may lack, as its render was made: `lts render --from` fills them in so that old
 * sidecars still reproduce byte for byte.
 */
export const LEGACY_PHASE_SETTINGS: Readonly<Pick<PhaseSettings, 'tolerance' | 'timeDerivative' | 'acceleration'>> = Object.freeze({
  tolerance: LEGACY_PGHI_TOLERANCE,
  timeDerivative: LEGACY_PGHI_TIME_DERIVATIVE,
  acceleration: DEFAULT_ACCELERATION,
});

/** Everything that determines a render; stored verbatim in the JSON sidecar. */
export interface RenderParams {
  /** Model folder. */
  model: string;
  a: Excerpt;
  b: Excerpt;
  /** Shared excerpt duration in seconds. */
  duration: number;
  /** The curve as a spec accepted by parseCurveSpec (breakpoints, constant or preset name). */
  curve: string;
  phase: PhaseSettings;
  /** Peak-normalise the output to this level in dBFS, or null to leave the level as decoded. */
  normalizeDbfs: number | null;
  /** Sample z ~ N(mu, sigma) per frame like the original (reproducible with `seed`) instead of using mu. */
  sample: boolean;
  /** Seed for sampling and for the random phase start. */
  seed: number;
  /** Fade-in/out length in milliseconds at both ends, against clicks. */
  fadeMs: number;
}

/** Pipeline stages, in order, as reported by progress events and timings. */
export type RenderStage = 'load' | 'encode' | 'decode' | 'phase' | 'write';

export const RENDER_STAGES: readonly RenderStage[] = ['load', 'encode', 'decode', 'phase', 'write'];

/** Progress of a render: the stage and the fraction of that stage done (0..1). */
export interface RenderProgress {
  stage: RenderStage;
  fraction: number;
}

/** Where a render is written. */
export interface RenderTarget {
  /** Exact output path (refused if it exists unless `force`). */
  out?: string;
  /** Otherwise: folder for numbered renders `render-0001.wav`, ... (never overwrites). */
  dir?: string;
  force?: boolean;
  /** WAV sample encoding, default pcm16. */
  encoding?: 'pcm16' | 'float32';
}

/** The result of a render. */
export interface RenderOutcome {
  /** The written WAV file. */
  path: string;
  /** The JSON sidecar beside it. */
  sidecarPath: string;
  sampleRate: number;
  /** The rendered samples (mono). */
  samples: Float32Array;
  /** Frames rendered. */
  frames: number;
  /** Seconds spent per stage. */
  timings: Record<RenderStage, number>;
  /** Peak level of the written audio in dBFS. */
  peakDbfs: number;
  /**
   * Notes on the input files, one line each naming the file (e.g. a file cut off before the length its header
   * promises, rendered from what is there); empty for healthy files. See `AudioData.warnings`.
   */
  warnings: string[];
}

/** The JSON sidecar written beside every render; `lts render --from SIDECAR` reproduces the render exactly. */
export interface RenderSidecar {
  kind: 'lts-render';
  version: 1;
  /** Program version that wrote it. */
  lts: string;
  params: RenderParams;
  /** Model identity: the sha256 of its weights, so a changed model is detected. */
  modelWeightsSha256: string;
  backend: string;
  sampleRate: number;
  frames: number;
  timings: Record<RenderStage, number>;
  createdAt: string;
}

/** Defaults of every render parameter (the CLI, the TUI and the sidecar share them). */
export const RENDER_DEFAULTS = {
  iterations: 32,
  method: 'pghi+agla' as const,
  momentum: 0.99,
  acceleration: DEFAULT_ACCELERATION,
  tolerance: DEFAULT_PGHI_TOLERANCE,
  timeDerivative: DEFAULT_PGHI_TIME_DERIVATIVE,
  fadeMs: 10,
  seed: 0,
};

/**
 * The phase settings of a new render: {@link RENDER_DEFAULTS} with the given method and iteration count.
 * @param method The phase method (`RENDER_DEFAULTS.method` unless the user or the model's transform asks for another).
 * @param iterations Griffin-Lim iterations.
 * @param momentum FGLA momentum / AGLA alpha.
 */
export function defaultPhaseSettings(
  method: PhaseMethod = RENDER_DEFAULTS.method,
  iterations: number = RENDER_DEFAULTS.iterations,
  momentum: number = RENDER_DEFAULTS.momentum,
): PhaseSettings {
  return {
    method,
    iterations,
    momentum,
    acceleration: { ...RENDER_DEFAULTS.acceleration },
    tolerance: RENDER_DEFAULTS.tolerance,
    timeDerivative: RENDER_DEFAULTS.timeDerivative,
  };
}

/** The best default method for a model's transform: PGHI + AGLA for the STFT, AGLA alone for the constant-Q transform. */
export function defaultPhaseMethod(transform: 'stft' | 'cqt' | null | undefined): PhaseMethod {
  return transform === 'cqt' ? 'agla' : RENDER_DEFAULTS.method;
}
