/**
 * A complete training run, as `lts train` performs it: choose the backend,
 * load the dataset (through the feature cache), create or resume the timbre
 * VAE, train it, then write the loss plot and audio examples.
 *
 * Files in the run folder (`runDir`) when it ends:
 * - the model folder of the best epoch (`config.json`, `weights.bin`,
 *   `weights.json`; see `model-folder.ts`), loadable by `lts render` and the
 *   instrument; `config.json` holds `meta`: `{ program, version, dataset,
 *   validationFraction, created, updated, files }`;
 * - `history.json`: per-epoch losses (written by the trainer every epoch);
 * - `loss.png`: training and validation loss against the epoch, log y axis
 *   (rewritten after every epoch, so a long run can be watched);
 * - `checkpoint/`: the last checkpoint with the optimiser state (`--resume`);
 * - `audio_examples/`: for a few files (validation files first, then training
 *   files), an excerpt of up to 4 s beside its reconstruction
 *   through the model: features -> encode -> decode (the mean, no sampling)
 *   -> magnitudes -> phase reconstruction (PGHI + Fast Griffin-Lim for STFT
 *   models, Fast Griffin-Lim for constant-Q models) -> WAV. Listening to these
 *   is the quickest check of what the model learned (Tatar et al. 2020 judge
 *   their models the same way).
 *
 * Weights are only ever written when every value is finite (`saveModelFolder`
 * refuses others): a run whose weights or losses go NaN or infinite stops with
 * one line naming the epoch and suggesting a lower learning rate, keeping the
 * checkpoint written before.
 */
import { defaultInferenceThreads } from './vae-helpers.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Transform } from '../dsp/types.ts';
import type { FeatureConfig, ModelConfig, NetworkConfig, TrainingConfig } from './types.ts';
import { UserError, outputFsError } from '../io/errors.ts';
import { checkOutputFolder, makeFolders } from '../io/folders.ts';
import { readAudio } from '../io/audio.ts';
import { writeWav } from '../io/wav.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { reconstructPhase, type PhaseMethod } from '../dsp/phase.ts';
import { defaultPhaseMethod } from './render-types.ts';
import { VERSION } from '../version.ts';
import { initBackend, type BackendInfo, type BackendPreference } from './backend.ts';
import { TimbreVae } from './vae.ts';
import { MODEL_FORMAT_VERSION, NonFiniteWeightsError, validateModelConfig, type EpochRecord } from './model-folder.ts';
import { train, LossDiverged, type TrainProgress } from './trainer.ts';
import { loadDataset, type DatasetProgress, type LoadedFile, type SkippedFile } from './dataset.ts';
import type { CacheStats } from './feature-cache.ts';
import { analyzeMagnitudes, fromFeatures, toFeatures, transformFor } from './features.ts';
import { lossPlotPng } from './plot.ts';

/**
 * Training defaults: the original LTS hyper-parameters (Adam lr 1e-4, batch
 * 64, KL weight 5e-4, early-stopping patience 50), a maximum of 200 epochs,
 * a checkpoint every 10 epochs, seed 0.
 */
export const TRAINING_DEFAULTS: Readonly<TrainingConfig> = Object.freeze({
  beta: 5e-4,
  learningRate: 1e-4,
  batchSize: 64,
  epochs: 200,
  patience: 50,
  checkpointEvery: 10,
  seed: 0,
});

/**
 * Fewest training frames a run accepts; it also needs at least one full batch. 64 frames are 0.37 s of
 * audio with the default STFT (hop 256 at 44.1 kHz): less is not a sound to learn a timbre from.
 */
export const MIN_TRAINING_FRAMES = 64;

/** The network shape without `inputBins`, which follows from the transform. */
export type NetworkChoice = Omit<NetworkConfig, 'inputBins'>;

/** Options of the audio examples written after training. */
export interface ExampleOptions {
  /** Number of files to take examples from (default 3; 0 writes none). */
  count?: number;
  /** Maximum excerpt length in seconds (default 4). */
  seconds?: number;
  /** Fast Griffin-Lim iterations of the phase reconstruction (default 32). */
  iterations?: number;
}

/** Everything a run reports while it works, in order. */
export type TrainingRunEvent =
  | { type: 'backend'; info: BackendInfo }
  | { type: 'dataset-progress'; progress: DatasetProgress }
  | {
      type: 'dataset';
      trainFiles: number;
      validationFiles: number;
      trainFrames: number;
      validationFrames: number;
      bins: number;
      skipped: SkippedFile[];
      /** One line listing skipped files, or null. */
      warning: string | null;
      cache: CacheStats & { dir: string | null };
    }
  /** Resuming: epochs completed and optimiser steps taken before this session. */
  | { type: 'resume'; epoch: number; step: number }
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'epoch'; record: EpochRecord; epochs: number; improved: boolean; checkpointed: boolean }
  | { type: 'examples'; done: number; total: number; file: string }
  | { type: 'done'; result: TrainingRunResult };

/** Options of {@link runTraining}. */
export interface RunTrainingOptions {
  /** Dataset folder (searched recursively). */
  dataset: string;
  /** Run folder: created if missing; must not hold another run unless `resume`. */
  runDir: string;
  /** Features for a new run (on resume the run's own settings are used). */
  featureConfig: FeatureConfig;
  /** Network for a new run (on resume the run's own). */
  network: NetworkChoice;
  /** Training settings. On resume `epochs`, `patience`, `checkpointEvery`, `learningRate` and `beta` may change; the rest come from the run. */
  training: TrainingConfig;
  /** Share of files for validation (default 0.1; on resume the run's own). */
  validationFraction?: number;
  /** Continue the run in `runDir` from its checkpoint. */
  resume?: boolean;
  /**
   * Names of the settings the user gave explicitly (CLI flag names such as
   * `latent`, `epochs`). On resume, an explicit setting that contradicts the
   * run is an error rather than silently ignored. Default: none.
   */
  explicit?: ReadonlySet<string>;
  /** tfjs backend preference (default 'auto'). */
  backend?: BackendPreference;
  /** Feature cache folder, or false (default: `<dataset>/.lts-cache`; see `loadDataset`). */
  cacheDir?: string | false;
  /** Audio examples (defaults in {@link ExampleOptions}). */
  examples?: ExampleOptions;
  /** Abort: dataset loading stops between files; training stops after the current step and saves a checkpoint. */
  signal?: AbortSignal;
  /** Progress and results, see {@link TrainingRunEvent}. */
  onEvent?: (e: TrainingRunEvent) => void;
}

/** One audio example pair. */
export interface AudioExample {
  /** The dataset file (relative path). */
  file: string;
  split: 'train' | 'validation';
  /** The excerpt as analysed (WAV path). */
  original: string;
  /** Its reconstruction through the model (WAV path). */
  reconstruction: string;
  /** Excerpt start in the file, seconds. */
  start: number;
  /** Excerpt length, seconds. */
  seconds: number;
}

/** Outcome of {@link runTraining}. */
export interface TrainingRunResult {
  /** Why training ended: all epochs done, early stopping, or interrupted (checkpoint saved). */
  stopReason: 'completed' | 'early-stop' | 'interrupted';
  /** Epochs completed in total (including before a resume). */
  epochs: number;
  /** Optimiser steps in total. */
  steps: number;
  /** Epoch of the best monitored loss (the one the model folder holds; 0 if none finished). */
  bestEpoch: number;
  /** The best monitored loss. */
  bestLoss: number;
  /** Which loss was monitored: the validation loss, or the training loss without validation files. */
  bestMetric: 'val loss' | 'loss';
  /** The model folder (= runDir). */
  modelDir: string;
  historyPath: string;
  lossPlot: string;
  examplesDir: string;
  examples: AudioExample[];
  backend: BackendInfo;
}

/** Settings that must match the run on `--resume` (CLI flag name -> how to read it from a config). */
const FIXED_ON_RESUME: Record<string, (c: ModelConfig, o: RunTrainingOptions) => [unknown, unknown]> = {
  transform: (c, o) => [c.features.transform.kind, o.featureConfig.transform.kind],
  scaling: (c, o) => [c.features.scaling, o.featureConfig.scaling],
  'n-fft': (c, o) => [(c.features.transform as { nFft?: number }).nFft, (o.featureConfig.transform as { nFft?: number }).nFft],
  hop: (c, o) => [c.features.transform.hop, o.featureConfig.transform.hop],
  'bins-per-octave': (c, o) => [
    (c.features.transform as { binsPerOctave?: number }).binsPerOctave,
    (o.featureConfig.transform as { binsPerOctave?: number }).binsPerOctave,
  ],
  octaves: (c, o) => [
    c.features.transform.kind === 'cqt' ? c.features.transform.nBins / c.features.transform.binsPerOctave : undefined,
    o.featureConfig.transform.kind === 'cqt' ? o.featureConfig.transform.nBins / o.featureConfig.transform.binsPerOctave : undefined,
  ],
  latent: (c, o) => [c.network.latent, o.network.latent],
  hidden: (c, o) => [c.network.hidden.join(','), o.network.hidden.join(',')],
  seed: (c, o) => [c.training.seed, o.training.seed],
  batch: (c, o) => [c.training.batchSize, o.training.batchSize],
  validation: (c, o) => [c.meta?.validationFraction, o.validationFraction ?? 0.1],
};

/** Epochs completed and steps taken according to the checkpoint (`optimizer.json`), or null if unreadable. */
function checkpointPosition(runDir: string): { epoch: number; step: number } | null {
  try {
    const o = JSON.parse(readFileSync(join(runDir, 'checkpoint', 'optimizer.json'), 'utf8')) as {
      step?: unknown;
      trainer?: { epochsDone?: unknown };
    };
    if (typeof o.step === 'number' && typeof o.trainer?.epochsDone === 'number') return { epoch: o.trainer.epochsDone, step: o.step };
  } catch {
    // The trainer reports a damaged checkpoint itself, with a precise message.
  }
  return null;
}

/** The epochs recorded in the checkpoint (those a resumed run continues from); empty if unreadable. */
function readCheckpointHistory(runDir: string): EpochRecord[] {
  try {
    const h = JSON.parse(readFileSync(join(runDir, 'checkpoint', 'history.json'), 'utf8')) as { epochs?: unknown };
    return Array.isArray(h.epochs) ? (h.epochs as EpochRecord[]) : [];
  } catch {
    return [];
  }
}

/**
 * Read the configuration of the run to resume (from its checkpoint), checked like any model
 * folder's ({@link validateModelConfig}).
 */
function readRunConfig(runDir: string): ModelConfig {
  const path = join(runDir, 'checkpoint', 'config.json');
  if (!existsSync(path)) throw new UserError(`${runDir}: no checkpoint to resume from (checkpoint/config.json is missing); start without --resume`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).replace(/\s*[\r\n]+\s*/g, ' ');
    throw new UserError(`${path}: not a readable model configuration (${why}); restore it, or start a new run with another --out`, { cause: e });
  }
  return validateModelConfig(raw, path);
}

/**
 * The error for weights that went NaN or infinite during training (the trainer's save refused them).
 *
 * @param e The refusal from `saveModelFolder` (operation `save`).
 * @param epoch The epoch being trained when it happened.
 * @param runDir The run folder.
 * @param config The run's configuration (its learning rate and magnitude scaling decide the advice).
 */
function divergedError(e: NonFiniteWeightsError, epoch: number, runDir: string, config: ModelConfig): UserError {
  const lower = Number((config.training.learningRate / 10).toPrecision(2));
  const keep = existsSync(join(runDir, 'checkpoint', 'optimizer.json'))
    ? `the last good checkpoint (${join(runDir, 'checkpoint')}) is kept: resume from it with a lower learning rate (--resume --lr ${lower})`
    : `no checkpoint was written yet: start again with a lower learning rate (--lr ${lower})`;
  return new UserError(
    `training diverged at epoch ${epoch}: the weights became NaN or infinite (tensor "${e.tensor}"), so nothing of this epoch was saved; ${keep}${scalingHint(config)}`,
    { cause: e },
  );
}

/**
 * The end of a divergence message for a run on linear magnitudes: log magnitudes (the default) train more
 * stably. Empty for a run that already uses them, so the advice never suggests what is already in effect.
 */
function scalingHint(config: ModelConfig): string {
  return config.features.scaling === 'linear' ? '; or start a new run with --scaling log (log magnitudes train more stably)' : '';
}

/** The trainer's message for a loss that became NaN or infinite within an epoch: epoch, step, loss. */
/**
 * The trainer's refusal of a non-finite loss, with advice for this run: the lower learning rate to use,
 * whether to resume from the checkpoint, and `--scaling log` only for a run on linear magnitudes.
 *
 * @param e The trainer's refusal.
 * @param runDir The run folder.
 * @param config The run's configuration.
 */
function stepDivergedError(e: LossDiverged, runDir: string, config: ModelConfig): UserError {
  const lower = Number((config.training.learningRate / 10).toPrecision(2));
  const next = existsSync(join(runDir, 'checkpoint', 'optimizer.json'))
    ? `resume from the checkpoint in ${join(runDir, 'checkpoint')} with a lower learning rate (--resume --lr ${lower})`
    : `start again with a lower learning rate (--lr ${lower})`;
  return new UserError(`training diverged at epoch ${e.epoch}, step ${e.step} (loss ${e.loss}); ${next}${scalingHint(config)}`, { cause: e });
}

/**
 * A file-system error on a file inside the run folder as a one-line UserError (see {@link outputFsError}),
 * or `e` unchanged.
 *
 * @param e Any error.
 * @param runDir The run folder (resolved).
 * @param what Names it as the user gave it (`--out runs/a`).
 */
function runFolderError(e: unknown, runDir: string, what: string): unknown {
  const path = (e as NodeJS.ErrnoException | null)?.path;
  if (typeof path !== 'string' || (resolve(path) !== runDir && !resolve(path).startsWith(runDir + '/'))) return e;
  return outputFsError(e, what) ?? e;
}

/**
 * Run a whole training (see the module comment for the steps and the files written).
 *
 * @param opts See {@link RunTrainingOptions}.
 * @returns The outcome, also sent as the final `done` event.
 * @throws UserError (one line) for a bad dataset (no readable audio, fewer
 *   training frames than {@link MIN_TRAINING_FRAMES} or one batch, silence
 *   only; the dataset folder is left as it was), a run folder that already
 *   holds something else or cannot be created or written (checked before the
 *   dataset is analysed; a full disk later names the file), resume conflicts,
 *   a damaged checkpoint, invalid settings, or a training that diverges (a loss or the weights become NaN or
 *   infinite: the error names the epoch and a lower learning rate, and the
 *   last checkpoint written before stays as it was).
 */
export async function runTraining(opts: RunTrainingOptions): Promise<TrainingRunResult> {
  const emit = opts.onEvent ?? (() => {});
  const runDir = resolve(opts.runDir);
  const dataset = resolve(opts.dataset);
  const what = `--out ${opts.runDir}`;

  // 0. Fail fast on a missing dataset, before the backend loads.
  if (!existsSync(dataset) || !statSync(dataset).isDirectory())
    throw new UserError(`dataset folder ${opts.dataset} does not exist or is not a folder; pass a folder of audio files`);

  // 1. The run folder and the configuration.
  let config: ModelConfig;
  const now = new Date().toISOString();
  if (opts.resume) {
    const saved = readRunConfig(runDir);
    const explicit = opts.explicit ?? new Set<string>();
    for (const [flag, get] of Object.entries(FIXED_ON_RESUME)) {
      if (!explicit.has(flag)) continue;
      const [was, now2] = get(saved, opts);
      if (was !== undefined && String(was) !== String(now2))
        throw new UserError(`--${flag} ${String(now2)} differs from the run being resumed (${String(was)}); drop --${flag} or start a new run with another --out`);
    }
    const t = opts.training;
    config = {
      ...saved,
      formatVersion: MODEL_FORMAT_VERSION,
      training: {
        ...saved.training,
        epochs: explicit.has('epochs') ? t.epochs : saved.training.epochs,
        patience: explicit.has('patience') ? t.patience : saved.training.patience,
        checkpointEvery: explicit.has('checkpoint-every') ? t.checkpointEvery : saved.training.checkpointEvery,
        learningRate: explicit.has('lr') ? t.learningRate : saved.training.learningRate,
        beta: explicit.has('beta') ? t.beta : saved.training.beta,
      },
      meta: { ...(saved.meta ?? {}), version: VERSION, updated: now },
    };
    const savedDataset = saved.meta?.dataset;
    if (typeof savedDataset === 'string' && resolve(savedDataset) !== dataset)
      throw new UserError(`the run in ${runDir} was trained on ${savedDataset}, not ${dataset}; resume with the same dataset or start a new run`);
  } else {
    let isDir: boolean | null = null;
    try {
      isDir = statSync(runDir).isDirectory();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputFsError(e, what) ?? e;
    }
    if (isDir !== null) {
      if (!isDir) throw new UserError(`--out ${runDir} is a file; choose a folder`);
      if (existsSync(join(runDir, 'checkpoint')))
        throw new UserError(`${runDir} already holds a training run; pass --resume to continue it, or choose another --out`);
      let entries: string[];
      try {
        entries = readdirSync(runDir).filter((f) => !f.startsWith('.'));
      } catch (e) {
        throw outputFsError(e, what) ?? e;
      }
      if (entries.length > 0) throw new UserError(`--out ${runDir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); choose a new or empty folder`);
    }
    let transform: Transform;
    try {
      transform = transformFor(opts.featureConfig.transform); // validates the transform settings
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`invalid ${opts.featureConfig.transform?.kind ?? ''} settings: ${e instanceof Error ? e.message : String(e)}`);
    }
    config = {
      formatVersion: MODEL_FORMAT_VERSION,
      features: opts.featureConfig,
      network: { ...opts.network, hidden: [...opts.network.hidden], inputBins: transform.bins },
      training: { ...opts.training },
      meta: {
        program: 'lts train',
        version: VERSION,
        dataset,
        validationFraction: opts.validationFraction ?? 0.1,
        created: now,
        updated: now,
      },
    };
  }
  const validationFraction = typeof config.meta?.validationFraction === 'number' ? config.meta.validationFraction : (opts.validationFraction ?? 0.1);
  const transform = transformFor(config.features.transform);
  // The run folder must be writable before the dataset analysis: creating it and a file in it is tried and undone.
  checkOutputFolder(runDir, what);

  // 2. Backend first (the user sees which one before the long work starts).
  const backend = await initBackend(opts.backend ?? 'auto');
  emit({ type: 'backend', info: backend });

  // 3. Dataset.
  const ds = await loadDataset(dataset, config.features, {
    validationFraction,
    seed: config.training.seed,
    cacheDir: opts.cacheDir,
    signal: opts.signal,
    // Files not in the feature cache are analysed on every core (up to 2) when there is enough audio.
    threads: defaultInferenceThreads(),
    // At least one batch, and never a model of a few milliseconds of sound.
    minTrainFrames: Math.max(MIN_TRAINING_FRAMES, config.training.batchSize),
    onProgress: (progress) => emit({ type: 'dataset-progress', progress }),
  });
  if (ds.train.bins !== config.network.inputBins)
    throw new Error(`runTraining: the dataset gave ${ds.train.bins} bins but the network expects ${config.network.inputBins}`);
  const fileCount = (split: LoadedFile['split']) => ds.files.filter((f) => f.split === split).length;
  emit({
    type: 'dataset',
    trainFiles: fileCount('train'),
    validationFiles: fileCount('validation'),
    trainFrames: ds.train.frames,
    validationFrames: ds.validation.frames,
    bins: ds.train.bins,
    skipped: ds.skipped,
    warning: ds.warning,
    cache: ds.cache,
  });
  config.meta = { ...config.meta, files: ds.files.length, trainFrames: ds.train.frames, validationFrames: ds.validation.frames };

  // 4. Train.
  try {
    makeFolders(runDir);
  } catch (e) {
    throw outputFsError(e, what) ?? e;
  }
  const vae = TimbreVae.create(config.network, config.training.seed);
  const lossPlot = join(runDir, 'loss.png');
  const epochs: EpochRecord[] = opts.resume ? readCheckpointHistory(runDir) : [];
  const writePlot = () =>
    writeFileAtomic(lossPlot, lossPlotPng(epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, valLoss: e.valLoss ?? null }))));
  try {
    if (opts.resume) {
      const at = checkpointPosition(runDir);
      if (at) emit({ type: 'resume', epoch: at.epoch, step: at.step });
    }
    let epochNow = 0;
    let result: Awaited<ReturnType<typeof train>>;
    try {
      result = await train({
        vae,
        config,
        train: ds.train,
        validation: ds.validation.frames > 0 ? ds.validation : undefined,
        runDir,
        resume: opts.resume === true,
        signal: opts.signal,
        onProgress: (progress) => {
          epochNow = progress.epoch;
          emit({ type: 'progress', progress });
        },
        onEpoch: (record, info) => {
          epochs.push(record);
          writePlot(); // refreshed every epoch, so a long run can be watched
          if (!Number.isFinite(record.loss) || (record.valLoss !== undefined && !Number.isFinite(record.valLoss))) {
            // The weights are finite (the trainer could save them) but the losses are not: stop here.
            const which = Number.isFinite(record.loss) ? `validation loss ${record.valLoss}` : `loss ${record.loss}`;
            const lower = Number((config.training.learningRate / 10).toPrecision(2));
            throw new UserError(`training diverged at epoch ${record.epoch} (${which}); resume from the checkpoint in ${join(runDir, 'checkpoint')} with a lower learning rate (--resume --lr ${lower}), or start again with it${scalingHint(config)}`);
          }
          emit({ type: 'epoch', record, epochs: config.training.epochs, ...info });
        },
      });
    } catch (e) {
      // A save refused weights that went NaN or infinite; a broken checkpoint found on resume keeps its own message.
      if (e instanceof NonFiniteWeightsError && e.operation === 'save') throw divergedError(e, epochNow, runDir, config);
      if (e instanceof LossDiverged) throw stepDivergedError(e, runDir, config);
      throw e;
    }

    // 5. Loss plot of the whole history (including epochs before a resume).
    epochs.splice(0, epochs.length, ...result.history.epochs);
    writePlot();

    // 6. Audio examples from the best model (skipped when no epoch finished).
    const examplesDir = join(runDir, 'audio_examples');
    const examples =
      result.epochsCompleted > 0 && !opts.signal?.aborted
        ? await writeAudioExamples(vae, config, transform, ds.files, examplesDir, opts.examples ?? {}, (done, total, file) =>
            emit({ type: 'examples', done, total, file }),
          )
        : [];

    const out: TrainingRunResult = {
      stopReason: result.stoppedBy === 'abort' ? 'interrupted' : result.stoppedBy === 'early-stopping' ? 'early-stop' : 'completed',
      epochs: result.epochsCompleted,
      steps: result.steps,
      bestEpoch: result.bestEpoch,
      bestLoss: result.bestLoss,
      bestMetric: ds.validation.frames > 0 ? 'val loss' : 'loss',
      modelDir: runDir,
      historyPath: join(runDir, 'history.json'),
      lossPlot,
      examplesDir,
      examples,
      backend,
    };
    emit({ type: 'done', result: out });
    return out;
  } catch (e) {
    // A full disk or a folder made read-only during the run: one line naming the file and the fix.
    throw runFolderError(e, runDir, what);
  } finally {
    vae.dispose();
  }
}

/** A file-name-safe version of a relative path: `sub/a b.wav` -> `sub__a_b`. */
function safeName(relPath: string): string {
  return relPath
    .replace(/\.[^./]*$/, '')
    .split('/')
    .map((p) => p.replace(/[^A-Za-z0-9._-]+/g, '_'))
    .join('__');
}

/**
 * Start of the excerpt: just before the first sample above 1 % of the file's
 * peak (so an excerpt does not start with a long silence), backed off by 50 ms
 * to keep the onset.
 */
function excerptStart(x: Float32Array, sampleRate: number): number {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak === 0) return 0;
  const threshold = 0.01 * peak;
  let i = 0;
  while (i < x.length && Math.abs(x[i]) < threshold) i++;
  return Math.max(0, i - Math.round(0.05 * sampleRate));
}

/**
 * Write audio examples: for up to `count` files, validation files first (how
 * the model generalises) and then training files (how well it fits), an
 * excerpt and its reconstruction through the model, as 16-bit WAV files
 * `NN-val-<name>.original.wav` / `NN-val-<name>.reconstruction.wav`
 * (`NN-train-...` for training files) in `dir`, where `<name>` is the file's
 * relative path without extension, `/` replaced by `__`.
 *
 * @param vae The trained model.
 * @param config Its configuration (features for the analysis and scaling).
 * @param transform `transformFor(config.features.transform)`.
 * @param files Loaded dataset files (their split decides the choice).
 * @param dir Output folder (created).
 * @param opts Count, excerpt length and FGLA iterations.
 * @param onProgress Called after each pair.
 * @returns The pairs written.
 */
export async function writeAudioExamples(
  vae: TimbreVae,
  config: ModelConfig,
  transform: Transform,
  files: LoadedFile[],
  dir: string,
  opts: ExampleOptions = {},
  onProgress?: (done: number, total: number, file: string) => void,
): Promise<AudioExample[]> {
  const count = opts.count ?? 3;
  const seconds = opts.seconds ?? 4;
  const iterations = opts.iterations ?? 32;
  const chosen = [...files.filter((f) => f.split === 'validation'), ...files.filter((f) => f.split === 'train')].slice(0, Math.max(0, count));
  if (chosen.length === 0) return [];
  makeFolders(dir);
  const sr = config.features.transform.sampleRate;
  const method: PhaseMethod = defaultPhaseMethod(transform.config.kind);
  const out: AudioExample[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const f = chosen[i];
    const audio = await readAudio(f.path, { sampleRate: sr });
    const start = excerptStart(audio.samples, sr);
    const excerpt = audio.samples.slice(start, Math.min(audio.samples.length, start + Math.round(seconds * sr)));
    const mag = analyzeMagnitudes(excerpt, config.features);
    const feats = toFeatures(mag, config.features.scaling, true);
    const rebuilt = fromFeatures({ frames: feats.frames, bins: feats.bins, data: vae.reconstruct(feats.data, feats.frames) }, config.features.scaling, true);
    const y = reconstructPhase(rebuilt, transform, excerpt.length, { method, iterations, seed: config.training.seed });
    const stem = `${String(i + 1).padStart(2, '0')}-${f.split === 'validation' ? 'val' : 'train'}-${safeName(f.relPath)}`;
    const original = join(dir, `${stem}.original.wav`);
    const reconstruction = join(dir, `${stem}.reconstruction.wav`);
    writeWav(original, excerpt, sr);
    writeWav(reconstruction, y, sr);
    out.push({ file: f.relPath, split: f.split, original, reconstruction, start: start / sr, seconds: excerpt.length / sr });
    onProgress?.(i + 1, chosen.length, basename(f.relPath));
    await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}
