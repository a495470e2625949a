/**
 * The training loop of the timbre VAE: seeded shuffled mini-batches, validation, early stopping,
 * atomic checkpoints with the complete optimiser state, exact resumption and abort handling.
 *
 * Procedure (the original LTS trains with Keras `fit`: Adam, batch 64, early stopping on the
 * loss with patience 50; Tatar et al. 2020):
 * - Each epoch visits every training frame once in an order given by a Fisher-Yates shuffle seeded
 *   from `(config.training.seed, epoch)`; batches hold `batchSize` frames, the last one the remainder.
 * - After each epoch the whole validation set is evaluated (deterministic noise, see
 *   {@link TimbreVae.evaluate}). The monitored quantity is the validation loss, or the epoch's mean
 *   training loss without a validation set. A lower value is a new best: the model folder in `runDir`
 *   is rewritten with these weights (so `runDir` always holds the best model) and a checkpoint is saved.
 *   After `patience` epochs without improvement training stops early.
 * - A checkpoint goes to `runDir/checkpoint/` every `checkpointEvery` epochs, on every new best, at the
 *   end and on abort. It is a model folder plus `optimizer.json/.bin` (Adam moments and step count) and
 *   the trainer position (epoch, batch within the epoch, running sums, best loss, patience counter).
 * - `history.json` in `runDir` is rewritten after every epoch.
 *
 * **Resumption is exact**: the shuffle depends only on the seed and the epoch, the sampling noise
 * only on the seed and the step number, and the Adam state is stored bit-exactly, so training 4 epochs
 * straight and training 2 epochs, stopping (or aborting mid-epoch) and resuming give the same step
 * count, the same losses and bit-identical final weights on the same backend.
 *
 * Call `initBackend()` from `./backend.ts` first.
 */
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { UserError } from '../io/errors.ts';
import { writeFileAtomicAsync } from '../io/atomic.ts';
import { mixSeed, seededRandom, type NamedWeights, type TimbreVae } from './vae.ts';
import { saveModelFolder, loadModelFolder, type EpochRecord, type TrainHistory } from './model-folder.ts';
import type { FrameSet, ModelConfig } from './types.ts';
import { makeFolders } from '../io/folders.ts';

/**
 * The loss of a training step became NaN or infinite. Callers that know the run (its folder, checkpoint and
 * settings) turn it into advice; on its own its message says to lower the learning rate.
 */
export class LossDiverged extends UserError {
  /**
   * @param epoch Epoch (1-based) of the step.
   * @param step Optimizer steps taken so far.
   * @param loss The non-finite loss.
   */
  constructor(readonly epoch: number, readonly step: number, readonly loss: number) {
    super(`training diverged at epoch ${epoch}, step ${step} (loss ${loss}); lower the learning rate (--lr)`);
    this.name = 'LossDiverged';
  }
}

/** Progress of a running training, reported after every step and at the end of every epoch. */
export interface TrainProgress {
  /** What just happened: a training step, the validation pass, or the end of an epoch. */
  phase: 'step' | 'validation' | 'epoch';
  /** Current epoch, 1-based. */
  epoch: number;
  /** Maximum epochs (`config.training.epochs`). */
  epochs: number;
  /** Batches finished in the current epoch. */
  batch: number;
  batchesPerEpoch: number;
  /** Optimiser steps since the start of the run (including steps before a resume). */
  step: number;
  /** Mean losses of the current epoch so far. */
  loss: number;
  mse: number;
  kl: number;
  /** Validation loss of the last finished epoch (undefined before the first, or without a validation set). */
  valLoss?: number;
  /** Best monitored loss so far (undefined before the first epoch ends). */
  bestLoss?: number;
  /** Training frames per second in the current epoch. */
  framesPerSecond: number;
  /** Estimated seconds until `epochs` is reached (early stopping can end sooner). */
  etaSeconds: number;
}

/** Extra facts about a finished epoch, passed to `onEpoch`. */
export interface EpochInfo {
  /** The epoch set a new best monitored loss (the model folder was rewritten). */
  improved: boolean;
  /** A checkpoint was written after it. */
  checkpointed: boolean;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** The model to train, created with `TimbreVae.create(config.network, config.training.seed)`. On resume its weights are replaced. */
  vae: TimbreVae;
  /** Features, network and training settings; saved as `config.json` of the model folder. */
  config: ModelConfig;
  /** Training frames `[frames, bins]`, bins = `config.network.inputBins`. */
  train: FrameSet;
  /** Validation frames (optional): monitored for best model and early stopping. */
  validation?: FrameSet;
  /** Run folder: receives the best model folder, `history.json` and `checkpoint/`. */
  runDir: string;
  /** Continue from `runDir/checkpoint/` (same dataset, network, seed and batch size). Default false. */
  resume?: boolean;
  /** Abort: training stops after the current step, saves a checkpoint and resolves with `stoppedBy: 'abort'`. */
  signal?: AbortSignal;
  /** Called after each step, the validation pass and each epoch. Keep it cheap (throttle drawing yourself). */
  onProgress?: (p: TrainProgress) => void;
  /** Called after each epoch with its record (also appended to history). */
  onEpoch?: (record: EpochRecord, info: EpochInfo) => void;
}

/** Outcome of {@link train}. */
export interface TrainResult {
  /** Why training ended. */
  stoppedBy: 'epochs' | 'early-stopping' | 'abort';
  /** Epochs completed in total (including those before a resume). */
  epochsCompleted: number;
  /** Optimiser steps in total. */
  steps: number;
  /** Epoch with the best monitored loss (0 if none finished). */
  bestEpoch: number;
  /** Best monitored loss (validation loss, or training loss without validation); Infinity if no epoch finished. */
  bestLoss: number;
  /** Per-epoch records (also in `runDir/history.json`). */
  history: TrainHistory;
  /** Folder of the last checkpoint. */
  checkpointDir: string;
}

/** The trainer position stored with a checkpoint. */
interface TrainerPosition {
  /** Epochs fully completed. */
  epochsDone: number;
  /** Batches already done in epoch `epochsDone + 1` (non-zero only after an abort). */
  batch: number;
  /** Running sums of the partial epoch (frame-weighted). */
  sumLoss: number;
  sumMse: number;
  sumKl: number;
  frames: number;
  seconds: number;
  bestLoss: number | null;
  bestEpoch: number;
  sinceBest: number;
  /** Settings the position depends on, checked on resume. */
  seed: number;
  batchSize: number;
  trainFrames: number;
}

function checkFrameSet(name: string, fs: FrameSet, bins: number): void {
  if (!fs || !(fs.data instanceof Float32Array) || !Number.isInteger(fs.frames) || fs.frames < 1) {
    throw new UserError(`${name} set is empty; add audio to the dataset (at least one frame is needed)`);
  }
  if (fs.bins !== bins) {
    throw new UserError(`${name} frames have ${fs.bins} bins but the network expects ${bins}; use the same feature settings as the model`);
  }
  if (fs.data.length < fs.frames * fs.bins) {
    throw new UserError(`${name} set claims ${fs.frames} frames of ${fs.bins} bins but holds only ${fs.data.length} values`);
  }
}

function checkTraining(t: ModelConfig['training']): void {
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!posInt(t.batchSize)) throw new UserError(`batch size must be a positive integer, got ${t.batchSize}; e.g. --batch 64`);
  if (!Number.isInteger(t.epochs) || t.epochs < 0) throw new UserError(`epochs must be a non-negative integer, got ${t.epochs}; e.g. --epochs 100`);
  if (!posInt(t.patience)) throw new UserError(`patience must be a positive integer, got ${t.patience}; e.g. --patience 50`);
  if (!posInt(t.checkpointEvery)) throw new UserError(`checkpoint interval must be a positive integer, got ${t.checkpointEvery}; e.g. --checkpoint-every 5`);
  if (!(t.learningRate > 0) || !Number.isFinite(t.learningRate)) throw new UserError(`learning rate must be a positive number, got ${t.learningRate}; e.g. --lr 1e-4`);
  if (!(t.beta >= 0) || !Number.isFinite(t.beta)) throw new UserError(`beta must be a non-negative number, got ${t.beta}; e.g. --beta 5e-4`);
}

/**
 * The frame order of an epoch: a Fisher-Yates permutation of `0..frames-1` seeded from `(seed, epoch)`.
 *
 * @param frames Number of training frames.
 * @param seed `config.training.seed`.
 * @param epoch 1-based epoch.
 */
export function epochOrder(frames: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(frames);
  for (let i = 0; i < frames; i++) order[i] = i;
  const rand = seededRandom(mixSeed(seed ^ 0x5f3759df, epoch));
  for (let i = frames - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Train `opts.vae` (see the module documentation for the procedure and the files written).
 *
 * @returns When training ends (epochs reached, early stopping or abort). On return `opts.vae` holds
 *   the best weights (those of the model folder in `runDir`); the last weights are in the checkpoint.
 * @throws UserError (one line) for unusable inputs: empty or mis-shaped frame sets, invalid settings,
 *   `resume` without a checkpoint or with different settings, or a fresh start in a run folder that
 *   already holds a checkpoint. File system errors propagate.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { vae, config, runDir, signal } = opts;
  const t = config.training;
  const bins = config.network.inputBins;
  checkTraining(t);
  if (vae.seed !== t.seed >>> 0) throw new Error(`train: the model was created with seed ${vae.seed} but config.training.seed is ${t.seed}`);
  const net = vae.config;
  if (net.inputBins !== bins || net.latent !== config.network.latent || net.outputActivation !== config.network.outputActivation ||
    net.hidden.join(',') !== config.network.hidden.join(',')) {
    throw new Error('train: the model does not have the network of config.network; create it with TimbreVae.create(config.network, seed)');
  }
  checkFrameSet('training', opts.train, bins);
  if (opts.validation) checkFrameSet('validation', opts.validation, bins);

  const checkpointDir = join(runDir, 'checkpoint');
  const trainFrames = opts.train.frames;
  const batchSize = t.batchSize;
  const batchesPerEpoch = Math.ceil(trainFrames / batchSize);
  let history: TrainHistory = { epochs: [] };
  let pos: TrainerPosition = {
    epochsDone: 0, batch: 0, sumLoss: 0, sumMse: 0, sumKl: 0, frames: 0, seconds: 0,
    bestLoss: null, bestEpoch: 0, sinceBest: 0, seed: t.seed, batchSize, trainFrames,
  };
  let bestWeights: NamedWeights | null = null;

  if (opts.resume) {
    if (!(await isDir(checkpointDir))) {
      throw new UserError(`${runDir}: no checkpoint to resume from (${checkpointDir} is missing); start without --resume`);
    }
    const ck = await loadModelFolder(checkpointDir, { withOptimizer: true });
    try {
      const saved = ck.trainerState as unknown as TrainerPosition | undefined;
      if (!saved || typeof saved.epochsDone !== 'number') {
        throw new UserError(`${checkpointDir}: the checkpoint has no trainer position; start a new run`);
      }
      const cn = ck.config.network;
      if (cn.inputBins !== bins || cn.latent !== net.latent || cn.hidden.join(',') !== net.hidden.join(',') || cn.outputActivation !== net.outputActivation) {
        throw new UserError(`${checkpointDir}: the checkpoint has a different network (${JSON.stringify(cn)}); resume with the run's settings or start a new run`);
      }
      if (saved.seed !== t.seed || saved.batchSize !== batchSize) {
        throw new UserError(`${checkpointDir}: the checkpoint used seed ${saved.seed} and batch ${saved.batchSize}, now ${t.seed} and ${batchSize}; resume with the run's settings or start a new run`);
      }
      if (saved.trainFrames !== trainFrames) {
        throw new UserError(`${checkpointDir}: the training set has ${trainFrames} frames but the checkpoint was made with ${saved.trainFrames}; resume with the same dataset and features, or start a new run`);
      }
      vae.setWeights(ck.vae.getWeights());
      vae.setOptimizerState(ck.optimizer!);
      history = ck.history ?? { epochs: [] };
      pos = { ...saved };
    } finally {
      ck.vae.dispose();
    }
    if (pos.bestEpoch > 0 && (await isDir(runDir))) {
      const best = await loadModelFolder(runDir);
      try {
        bestWeights = best.vae.getWeights();
      } finally {
        best.vae.dispose();
      }
    }
  } else if (await isDir(checkpointDir)) {
    throw new UserError(`${runDir}: already holds a training run (checkpoint/); pass --resume to continue it, or choose another output folder`);
  }
  makeFolders(runDir);

  const saveCheckpoint = async () => {
    await saveModelFolder(checkpointDir, {
      config, vae, history, optimizer: vae.getOptimizerState(), trainerState: { ...pos } as unknown as Record<string, unknown>,
    });
  };
  const writeHistory = () => writeFileAtomicAsync(join(runDir, 'history.json'), JSON.stringify(history, null, 2) + '\n');

  const batch = new Float32Array(batchSize * bins);
  const src = opts.train.data;
  const sessionStart = performance.now();
  const stepsAtStart = vae.steps;
  let stoppedBy: TrainResult['stoppedBy'] = 'epochs';
  const lastVal = () => history.epochs.at(-1)?.valLoss;

  /** Report progress; `done` carries the finished epoch's record (the running sums are reset by then). */
  const progress = (phase: TrainProgress['phase'], epoch: number, epochSeconds: number, done?: EpochRecord) => {
    if (!opts.onProgress) return;
    const sessionSteps = vae.steps - stepsAtStart;
    const perStep = sessionSteps > 0 ? (performance.now() - sessionStart) / 1000 / sessionSteps : 0;
    const remainingSteps = Math.max(0, (t.epochs - pos.epochsDone) * batchesPerEpoch - pos.batch);
    const f = Math.max(pos.frames, 1);
    opts.onProgress({
      phase, epoch, epochs: t.epochs, batch: done ? batchesPerEpoch : pos.batch, batchesPerEpoch, step: vae.steps,
      loss: done ? done.loss : pos.sumLoss / f, mse: done ? done.mse : pos.sumMse / f, kl: done ? done.kl : pos.sumKl / f,
      valLoss: lastVal(), bestLoss: pos.bestLoss ?? undefined,
      framesPerSecond: done ? done.framesPerSecond : epochSeconds > 0 ? pos.frames / epochSeconds : 0,
      etaSeconds: perStep * remainingSteps,
    });
  };

  outer: while (pos.epochsDone < t.epochs) {
    const epoch = pos.epochsDone + 1;
    const order = epochOrder(trainFrames, t.seed, epoch);
    let segmentStart = performance.now();
    while (pos.batch < batchesPerEpoch) {
      if (signal?.aborted) {
        pos.seconds += (performance.now() - segmentStart) / 1000;
        stoppedBy = 'abort';
        break outer;
      }
      const start = pos.batch * batchSize;
      const rows = Math.min(batchSize, trainFrames - start);
      for (let r = 0; r < rows; r++) {
        const f = order[start + r];
        batch.set(src.subarray(f * bins, (f + 1) * bins), r * bins);
      }
      const res = vae.trainStep(batch, rows, { beta: t.beta, learningRate: t.learningRate });
      if (!Number.isFinite(res.loss)) {
        throw new LossDiverged(epoch, vae.steps, res.loss);
      }
      pos.sumLoss += res.loss * rows;
      pos.sumMse += res.mse * rows;
      pos.sumKl += res.kl * rows;
      pos.frames += rows;
      pos.batch++;
      progress('step', epoch, pos.seconds + (performance.now() - segmentStart) / 1000);
      await yieldToEventLoop();
    }
    let val: ReturnType<TimbreVae['evaluate']> | undefined;
    if (opts.validation) {
      val = vae.evaluate(opts.validation.data, opts.validation.frames, t.beta);
    }
    pos.seconds += (performance.now() - segmentStart) / 1000;
    segmentStart = performance.now();
    const record: EpochRecord = {
      epoch, steps: vae.steps, loss: pos.sumLoss / pos.frames, mse: pos.sumMse / pos.frames, kl: pos.sumKl / pos.frames,
      ...(val ? { valLoss: val.loss, valMse: val.mse, valKl: val.kl } : {}),
      seconds: pos.seconds, framesPerSecond: pos.frames / Math.max(pos.seconds, 1e-9),
    };
    history.epochs.push(record);
    if (val) progress('validation', epoch, pos.seconds, record);
    const monitored = val ? val.loss : record.loss;
    const improved = pos.bestLoss === null || monitored < pos.bestLoss;
    pos.epochsDone = epoch;
    pos.batch = 0;
    pos.sumLoss = pos.sumMse = pos.sumKl = pos.frames = pos.seconds = 0;
    if (improved) {
      pos.bestLoss = monitored;
      pos.bestEpoch = epoch;
      pos.sinceBest = 0;
      bestWeights = vae.getWeights();
      await saveModelFolder(runDir, { config, vae, history });
    } else {
      pos.sinceBest++;
      await writeHistory();
    }
    const early = pos.sinceBest >= t.patience;
    const checkpointed = improved || epoch % t.checkpointEvery === 0 || early || epoch === t.epochs;
    if (checkpointed) await saveCheckpoint();
    opts.onEpoch?.(record, { improved, checkpointed });
    progress('epoch', epoch, 0, record);
    if (early) {
      stoppedBy = 'early-stopping';
      break;
    }
    await yieldToEventLoop();
  }

  if (stoppedBy === 'abort' || history.epochs.length === 0) {
    await saveCheckpoint();
  }
  if (!bestWeights) {
    // No epoch finished (abort in the first epoch, or epochs = 0): the run folder still gets a loadable model.
    await saveModelFolder(runDir, { config, vae, history });
  } else {
    vae.setWeights(bestWeights);
    await writeHistory();
  }
  return {
    stoppedBy,
    epochsCompleted: pos.epochsDone,
    steps: vae.steps,
    bestEpoch: pos.bestEpoch,
    bestLoss: pos.bestLoss ?? Infinity,
    history,
    checkpointDir,
  };
}
