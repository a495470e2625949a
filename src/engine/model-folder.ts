/**
 * The on-disk model folder: everything needed to use (and, for checkpoints, to keep training) a
 * {@link TimbreVae}.
 *
 * Layout (format version 1):
 *
 * | file | content |
 * |---|---|
 * | `config.json` | the {@link ModelConfig}: `formatVersion` (1), features, network, training, meta |
 * | `weights.bin` | every weight as little-endian float32, concatenated in manifest order, no padding |
 * | `weights.json` | manifest: `{ format: "lts-weights", formatVersion: 1, dtype: "float32", byteOrder: "little",`<br>`file: "weights.bin", byteLength, sha256, weights: [{ name, shape, offset, length }] }`<br>(`offset` in bytes, `length` in values; weight names and shapes as {@link TimbreVae.weightSpecs}: Dense weights `[out, in]`, biases `[out]`) |
 * | `history.json` | `{ epochs: EpochRecord[] }`, one entry per finished epoch (may be empty) |
 * | `optimizer.bin` | checkpoints only: the Adam moments, little-endian float32, same layout rules as `weights.bin` |
 * | `optimizer.json` | checkpoints only: `{ format: "lts-optimizer", formatVersion: 1, algorithm: "adam", learningRate,`<br>`beta1, beta2, epsilon, step, weightsSha256, file: "optimizer.bin", byteLength, sha256, tensors: [...], trainer }`<br>(`weightsSha256` ties the state to the weights it was saved with; `trainer` is the trainer's resume position) |
 *
 * **Atomicity.** Every file is written to a temporary sibling and renamed into place. Data files go
 * first and `weights.json` (which holds the checksum of `weights.bin`) last, so a save interrupted at
 * any point leaves either the previous complete folder or a folder whose checksums do not match,
 * which {@link loadModelFolder} refuses with a clear message; never a silently wrong model.
 *
 * **Errors.** Every problem a user can cause (wrong path, a damaged or foreign folder, a folder from a
 * newer program, a hand-edited `config.json` with a wrong type, an out-of-range value or settings that
 * contradict each other, weights holding NaN or infinite values) raises a one-line
 * {@link ModelFolderError} naming the file (and the field or tensor) and the fix.
 *
 * **Finite weights.** A model whose training diverged has NaN or infinite weights; it would load and
 * render near-silence. {@link saveModelFolder} refuses to write such weights (or optimizer moments) and
 * {@link loadModelFolder} refuses to read them, both with a {@link NonFiniteWeightsError}; the check
 * is one pass over the float32 data.
 *
 * Call `initBackend()` from `./backend.ts` before loading.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { UserError } from '../io/errors.ts';
import { writeFileAtomicAsync } from '../io/atomic.ts';
import { TimbreVae, type NamedWeights, type OptimizerState } from './vae.ts';
import type { ModelConfig } from './types.ts';
import type { CqtConfig } from '../dsp/types.ts';
import { cqtTransform } from '../dsp/cqt.ts';
import { makeFolders } from '../io/folders.ts';

/** The model folder format version this program writes and reads. */
export const MODEL_FORMAT_VERSION = 1;

/** One finished training epoch. Losses are means over the epoch (training) or the whole validation set. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Total optimiser steps after this epoch. */
  steps: number;
  loss: number;
  mse: number;
  kl: number;
  /** Validation losses (absent without a validation set). */
  valLoss?: number;
  valMse?: number;
  valKl?: number;
  /** Wall time of the epoch in seconds (training and validation). */
  seconds: number;
  /** Training throughput of the epoch. */
  framesPerSecond: number;
}

/** Contents of `history.json`. */
export interface TrainHistory {
  epochs: EpochRecord[];
}

/** A model folder that cannot be read: the message names the folder or file and the fix. */
export class ModelFolderError extends UserError {
  /** The folder or file at fault. */
  readonly path: string;

  /**
   * @param path Folder or file the problem is about (prefixed to the message).
   * @param problem One line: what is wrong and what to do.
   */
  constructor(path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`${path}: ${problem}`, options);
    this.name = 'ModelFolderError';
    this.path = path;
  }
}

/**
 * Weights (or optimizer moments) holding NaN or infinite values: a model whose training diverged.
 * Raised by {@link saveModelFolder} (nothing is written) and {@link loadModelFolder}.
 */
export class NonFiniteWeightsError extends ModelFolderError {
  /** Name of the first tensor holding a non-finite value, e.g. `decoder/output/bias`. */
  readonly tensor: string;
  /** How many values of that tensor are NaN or infinite. */
  readonly count: number;
  /** Whether a save refused the weights (nothing written) or a load found them in the folder. */
  readonly operation: 'save' | 'load';

  /**
   * @param path The folder (on save) or data file (on load) the weights belong to.
   * @param bad The first tensor with non-finite values, as found by {@link findNonFinite}.
   * @param operation `save` or `load`.
   * @param fix One line: what to do about it.
   */
  constructor(path: string, bad: NonFiniteTensor, operation: 'save' | 'load', fix: string) {
    super(path, `tensor "${bad.name}" holds ${bad.count} NaN or infinite value${bad.count === 1 ? '' : 's'} (of ${bad.length}); ${fix}`);
    this.name = 'NonFiniteWeightsError';
    this.tensor = bad.name;
    this.count = bad.count;
    this.operation = operation;
  }
}

/** A tensor found by {@link findNonFinite}. */
export interface NonFiniteTensor {
  /** Tensor name. */
  name: string;
  /** Number of NaN or infinite values in it. */
  count: number;
  /** Number of values in it. */
  length: number;
}

/**
 * The first tensor holding NaN or ±Infinity.
 *
 * @param tensors Named float32 tensors (weights or optimizer moments).
 * @returns The first tensor (in the given order) with non-finite values and how many it has, or null
 *   when every value is finite.
 */
export function findNonFinite(tensors: NamedWeights): NonFiniteTensor | null {
  for (const t of tensors) {
    const d = t.data;
    let count = 0;
    // x - x is 0 for every finite x and NaN for NaN and ±Infinity.
    for (let i = 0; i < d.length; i++) if (d[i] - d[i] !== 0) count++;
    if (count > 0) return { name: t.name, count, length: d.length };
  }
  return null;
}

/** What to do about a model with non-finite weights (when loading it). */
const BROKEN_MODEL_FIX = 'the model is broken (e.g. its training diverged): retrain it with a lower learning rate (--lr), or use an earlier checkpoint of its run';

/** Manifest entry of one tensor in a `.bin` file. */
interface TensorEntry {
  name: string;
  shape: number[];
  /** Byte offset in the `.bin` file. */
  offset: number;
  /** Number of float32 values. */
  length: number;
}

interface WeightsManifest {
  format: 'lts-weights';
  formatVersion: number;
  dtype: 'float32';
  byteOrder: 'little';
  file: string;
  byteLength: number;
  sha256: string;
  weights: TensorEntry[];
}

interface OptimizerManifest {
  format: 'lts-optimizer';
  formatVersion: number;
  algorithm: 'adam';
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  step: number;
  weightsSha256: string;
  file: string;
  byteLength: number;
  sha256: string;
  tensors: TensorEntry[];
  trainer?: Record<string, unknown>;
}

/** What {@link saveModelFolder} writes. */
export interface SaveModelOptions {
  /** Written to `config.json`; its `formatVersion` is forced to {@link MODEL_FORMAT_VERSION}. */
  config: ModelConfig;
  /** The model whose weights are saved; its network must equal `config.network`. */
  vae: TimbreVae;
  /** Training history; an empty history is written when absent. */
  history?: TrainHistory;
  /** Adam state for a resumable checkpoint; when absent any stale optimizer files are removed. */
  optimizer?: OptimizerState;
  /** Trainer resume position stored in `optimizer.json` (only with `optimizer`). */
  trainerState?: Record<string, unknown>;
}

/** What {@link loadModelFolder} returns. */
export interface LoadedModel {
  config: ModelConfig;
  /** A model with the saved weights (seeded with `config.training.seed`). The caller owns it: dispose it. */
  vae: TimbreVae;
  /** The saved history, or null when the folder has no `history.json`. */
  history: TrainHistory | null;
  /** With `withOptimizer`: the Adam state. */
  optimizer?: OptimizerState;
  /** With `withOptimizer`: the trainer position saved beside it. */
  trainerState?: Record<string, unknown>;
}

const littleEndianHost = os.endianness() === 'LE';

/** Pack tensors into one little-endian float32 buffer and its manifest entries. */
function packTensors(tensors: NamedWeights): { bytes: Uint8Array; entries: TensorEntry[] } {
  const total = tensors.reduce((s, t) => s + t.data.length, 0);
  const bytes = new Uint8Array(total * 4);
  const view = new DataView(bytes.buffer);
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (littleEndianHost) bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(offset + 4 * i, t.data[i], true);
    entries.push({ name: t.name, shape: [...t.shape], offset, length: t.data.length });
    offset += t.data.byteLength;
  }
  return { bytes, entries };
}

/** Read tensors described by `entries` out of a little-endian float32 buffer (entries already validated). */
function unpackTensors(bytes: Uint8Array, entries: TensorEntry[]): NamedWeights {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return entries.map((e) => {
    const data = new Float32Array(e.length);
    if (littleEndianHost) new Uint8Array(data.buffer).set(bytes.subarray(e.offset, e.offset + 4 * e.length));
    else for (let i = 0; i < e.length; i++) data[i] = view.getFloat32(e.offset + 4 * i, true);
    return { name: e.name, shape: [...e.shape], data };
  });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sameNetwork(a: ModelConfig['network'], b: ModelConfig['network']): boolean {
  return a.inputBins === b.inputBins && a.latent === b.latent && a.outputActivation === b.outputActivation &&
    a.hidden.length === b.hidden.length && a.hidden.every((h, i) => h === b.hidden[i]);
}

/**
 * The sha256 of the weights recorded in `dir/weights.json`, which identifies the weights (a folder
 * retrained in place gets a new one), or '' when the manifest is missing or unreadable.
 */
export function weightsChecksum(dir: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8')) as { sha256?: unknown };
    return typeof manifest.sha256 === 'string' ? manifest.sha256 : '';
  } catch {
    return '';
  }
}

/**
 * Write a model folder (see the module documentation for the format).
 *
 * @param dir Folder to write; created (with parents) if missing. Existing model files are replaced
 *   file by file, other files in it (e.g. a `checkpoint/` subfolder or audio examples) are left alone.
 * @param opts Config, model and optionally history, optimizer state and trainer position.
 * @throws NonFiniteWeightsError (before anything is written, so the folder keeps its previous files)
 *   when a weight or optimizer moment is NaN or infinite; Error if `opts.vae` does not have the network
 *   of `opts.config`; fs errors (disk full, permissions) are re-thrown as they come, with the
 *   destination keeping its previous files.
 */
export async function saveModelFolder(dir: string, opts: SaveModelOptions): Promise<void> {
  const { vae } = opts;
  if (!sameNetwork(vae.config, opts.config.network)) {
    throw new Error(`saveModelFolder: the model's network ${JSON.stringify(vae.config)} differs from config.network ${JSON.stringify(opts.config.network)}`);
  }
  const named = vae.getWeights();
  const bad = findNonFinite(named) ?? (opts.optimizer ? findNonFinite(opts.optimizer.moments) : null);
  if (bad) {
    throw new NonFiniteWeightsError(dir, bad, 'save', 'not saved, the folder keeps its previous files; the model is broken (its training diverged): train with a lower learning rate (--lr)');
  }
  makeFolders(dir);
  const config: ModelConfig = { ...opts.config, formatVersion: MODEL_FORMAT_VERSION };
  const weights = packTensors(named);
  const weightsSha = sha256(weights.bytes);
  const weightsManifest: WeightsManifest = {
    format: 'lts-weights', formatVersion: MODEL_FORMAT_VERSION, dtype: 'float32', byteOrder: 'little',
    file: 'weights.bin', byteLength: weights.bytes.length, sha256: weightsSha, weights: weights.entries,
  };
  await writeFileAtomicAsync(join(dir, 'weights.bin'), weights.bytes);
  if (opts.optimizer) {
    const o = opts.optimizer;
    const packed = packTensors(o.moments);
    const manifest: OptimizerManifest = {
      format: 'lts-optimizer', formatVersion: MODEL_FORMAT_VERSION, algorithm: o.algorithm, learningRate: o.learningRate,
      beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, step: o.step, weightsSha256: weightsSha,
      file: 'optimizer.bin', byteLength: packed.bytes.length, sha256: sha256(packed.bytes), tensors: packed.entries,
      ...(opts.trainerState ? { trainer: opts.trainerState } : {}),
    };
    await writeFileAtomicAsync(join(dir, 'optimizer.bin'), packed.bytes);
    await writeFileAtomicAsync(join(dir, 'optimizer.json'), JSON.stringify(manifest, null, 2) + '\n');
  } else {
    await rm(join(dir, 'optimizer.json'), { force: true });
    await rm(join(dir, 'optimizer.bin'), { force: true });
  }
  await writeFileAtomicAsync(join(dir, 'history.json'), JSON.stringify(opts.history ?? { epochs: [] }, null, 2) + '\n');
  await writeFileAtomicAsync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  await writeFileAtomicAsync(join(dir, 'weights.json'), JSON.stringify(weightsManifest, null, 2) + '\n');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Heuristic for a run folder of the original Python LTS (config.ini and/or Keras .h5 weights). */
async function looksLikeOriginalLtsRun(dir: string): Promise<boolean> {
  if (await exists(join(dir, 'config.ini'))) return true;
  const hasH5 = async (d: string) => {
    try {
      return (await readdir(d)).some((f) => f.endsWith('.h5'));
    } catch {
      return false;
    }
  };
  return (await hasH5(dir)) || (await hasH5(join(dir, 'model')));
}

/** The error for a model file that exists but cannot be read (a folder in its place, no permission, an I/O error). */
function unreadable(path: string, e: unknown): ModelFolderError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = (e as Error).message;
  if (code === 'EISDIR') {
    return new ModelFolderError(path, `is a folder, not a file (${why}); put the model's file there (restore the folder from a copy) or retrain`, { cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ModelFolderError(path, `cannot read (${why}); give yourself read permission (chmod u+r) or restore it from a copy`, { cause: e });
  }
  return new ModelFolderError(path, `cannot read (${why}); check the disk and restore the file from a copy, or retrain`, { cause: e });
}

async function readJson(dir: string, name: string, what: string): Promise<unknown> {
  const path = join(dir, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelFolderError(dir, `missing ${name} (${what}); the folder is incomplete: save it again, or retrain`);
    }
    throw unreadable(path, e);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFolderError(path, `invalid JSON (${(e as Error).message}); the file is damaged: restore it from a copy or retrain`, { cause: e });
  }
}

async function readBin(dir: string, file: string, byteLength: number, sha: string, manifestName: string): Promise<Uint8Array> {
  if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file.startsWith('..')) {
    throw new ModelFolderError(join(dir, manifestName), `invalid data file name ${JSON.stringify(file)}; the manifest is damaged`);
  }
  const path = join(dir, file);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelFolderError(dir, `missing ${file} (named in ${manifestName}); the folder is incomplete: save it again, or retrain`);
    }
    throw unreadable(path, e);
  }
  if (bytes.length !== byteLength) {
    throw new ModelFolderError(path, `${bytes.length < byteLength ? 'truncated' : 'has the wrong size'} (${bytes.length} bytes, ${manifestName} expects ${byteLength}); the save was interrupted or the file was damaged: restore it or retrain`);
  }
  if (sha256(bytes) !== sha) {
    throw new ModelFolderError(path, `corrupt (sha256 checksum does not match ${manifestName}); restore it from a copy or retrain`);
  }
  return bytes;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check manifest entries against expected names/shapes and the data size. */
function checkEntries(path: string, entries: unknown, expected: { name: string; shape: number[] }[], byteLength: number): TensorEntry[] {
  if (!Array.isArray(entries)) throw new ModelFolderError(path, 'no tensor list; the manifest is damaged: restore it or retrain');
  const byName = new Map<string, TensorEntry>();
  for (const e of entries as TensorEntry[]) {
    const ok = isObject(e) && typeof e.name === 'string' && Array.isArray(e.shape) && Number.isInteger(e.offset) && Number.isInteger(e.length) &&
      e.offset >= 0 && e.offset % 4 === 0 && e.offset + 4 * e.length <= byteLength && e.shape.reduce((a: number, b: number) => a * b, 1) === e.length;
    if (!ok) throw new ModelFolderError(path, `invalid entry ${JSON.stringify(e).slice(0, 120)}; the manifest is damaged: restore it or retrain`);
    byName.set(e.name, e);
  }
  return expected.map((x) => {
    const e = byName.get(x.name);
    if (!e) throw new ModelFolderError(path, `has no tensor "${x.name}", which the network in config.json needs; the files do not belong together: retrain or restore the folder`);
    if (e.shape.length !== x.shape.length || e.shape.some((d, i) => d !== x.shape[i])) {
      throw new ModelFolderError(path, `tensor "${x.name}" has shape [${e.shape}] but the network in config.json needs [${x.shape}]; the files do not belong together: retrain or restore the folder`);
    }
    return e;
  });
}

/** What to do about a field of `config.json` that is wrong (the model was trained with the right value). */
const CONFIG_FIX = 'set it back to the value the model was trained with, or retrain (or re-import) the model';

/** Limits of a model configuration: those of `lts train`, and what one process can hold. */
const CONFIG_LIMITS = {
  sampleRate: [1000, 768_000],
  nFft: [2, 65_536],
  cqtHop: [1, 65_536],
  binsPerOctave: [1, 1024],
  nBins: [4, 16_384],
  hidden: [1, 65_536],
  latent: [1, 4096],
  batchSize: [1, 1 << 20],
  /** Most float32 weights a network may have (1 GiB). */
  weights: 1 << 28,
} as const;

/** A value as shown in a message: JSON, with strings marked as such (they often stand for numbers). */
function showValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)} (a string)`;
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 60 ? json.slice(0, 60) + '…' : json;
}

/** True for 2^a 3^b 5^c (the hop sizes the constant-Q transform's FFTs support). */
function is235(n: number): boolean {
  for (const p of [2, 3, 5]) while (n % p === 0) n /= p;
  return n === 1;
}

/** Number of float32 weights of a network (Dense layers of the encoder, the two latent heads and the decoder). */
function weightCount(net: ModelConfig['network']): number {
  const enc = [net.inputBins, ...net.hidden];
  const dec = [net.latent, ...[...net.hidden].reverse(), net.inputBins];
  let n = 0;
  for (let i = 1; i < enc.length; i++) n += (enc[i - 1] + 1) * enc[i];
  n += 2 * (enc[enc.length - 1] + 1) * net.latent;
  for (let i = 1; i < dec.length; i++) n += (dec[i - 1] + 1) * dec[i];
  return n;
}

/**
 * Check a parsed `config.json` of a model folder: the format version, the type and range of every
 * setting (transform, scaling, network, training, meta) and their consistency (the network's
 * `inputBins` must equal the transform's bins per frame; a constant-Q transform must be one this
 * program can build).
 *
 * The STFT size is checked as a number (an even integer within range), not for FFT support: the STFT
 * itself refuses sizes it cannot compute, with a one-line error, when it is built.
 *
 * @param raw The parsed JSON.
 * @param path The `config.json` path, named in every message.
 * @returns The configuration, typed.
 * @throws ModelFolderError (one line: the file, the field, its value, what it must be and the fix).
 */
export function validateModelConfig(raw: unknown, path: string): ModelConfig {
  const dir = dirname(path);
  if (!isObject(raw)) throw new ModelFolderError(path, 'is not an lts model config (not a JSON object); pass a folder written by `lts train`');
  const v = raw.formatVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ModelFolderError(path, `is not an lts model config (formatVersion ${JSON.stringify(v)}); pass a folder written by \`lts train\``);
  }
  if (v > MODEL_FORMAT_VERSION) {
    throw new ModelFolderError(dir, `was written by a newer lts (model format ${v}; this lts reads up to ${MODEL_FORMAT_VERSION}); upgrade lts`);
  }
  if (!isObject(raw.network) || !isObject(raw.training) || !isObject(raw.features)) {
    throw new ModelFolderError(path, 'lacks network, training or features settings; the file is damaged: restore it or retrain');
  }
  const fail = (field: string, value: unknown, need: string): never => {
    throw new ModelFolderError(path, `${field} is ${showValue(value)}, but must be ${need}; ${CONFIG_FIX}`);
  };
  const object = (o: Record<string, unknown>, key: string, field: string, need: string): Record<string, unknown> => {
    const x = o[key];
    return isObject(x) ? x : fail(field, x, need);
  };
  const int = (o: Record<string, unknown>, key: string, field: string, lo: number, hi: number, hint = ''): number => {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) {
      fail(field, x, `an integer from ${lo} to ${hi === Number.MAX_SAFE_INTEGER ? 'any size' : hi}${hint}`);
    }
    return x as number;
  };
  const real = (o: Record<string, unknown>, key: string, field: string, need: string, ok: (x: number) => boolean): number => {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) fail(field, x, need);
    return x as number;
  };
  const oneOf = (o: Record<string, unknown>, key: string, field: string, options: readonly string[]): void => {
    if (typeof o[key] !== 'string' || !options.includes(o[key] as string)) fail(field, o[key], `one of ${options.map((x) => JSON.stringify(x)).join(', ')}`);
  };
  const L = CONFIG_LIMITS;

  // Features: the transform and the scaling.
  const features = raw.features;
  const t = object(features, 'transform', 'features.transform', 'an object { kind, sampleRate, ... }');
  oneOf(t, 'kind', 'features.transform.kind', ['stft', 'cqt']);
  const sampleRate = int(t, 'sampleRate', 'features.transform.sampleRate', L.sampleRate[0], L.sampleRate[1], ' (Hz, e.g. 44100)');
  let bins: number;
  let transformText: string;
  if (t.kind === 'stft') {
    const nFft = int(t, 'nFft', 'features.transform.nFft', L.nFft[0], L.nFft[1], ', even (e.g. 2048)');
    if (nFft % 2 !== 0) fail('features.transform.nFft', nFft, 'even (e.g. 2048)');
    int(t, 'hop', 'features.transform.hop', 1, nFft / 2, ` (at most nFft/2, e.g. ${Math.max(1, nFft / 8)})`);
    bins = nFft / 2 + 1;
    transformText = `the STFT with nFft ${nFft}`;
  } else {
    const hop = int(t, 'hop', 'features.transform.hop', L.cqtHop[0], L.cqtHop[1], ' of the form 2^a*3^b*5^c (e.g. 128)');
    if (!is235(hop)) fail('features.transform.hop', hop, 'of the form 2^a*3^b*5^c (e.g. 128)');
    int(t, 'binsPerOctave', 'features.transform.binsPerOctave', L.binsPerOctave[0], L.binsPerOctave[1], ' (e.g. 48)');
    const nBins = int(t, 'nBins', 'features.transform.nBins', L.nBins[0], L.nBins[1], ' (e.g. 384)');
    real(t, 'fmin', 'features.transform.fmin', `a frequency in Hz above 0 and below half the sample rate (${sampleRate / 2}), e.g. 32.703`, (x) => x > 0 && x < sampleRate / 2);
    try {
      bins = cqtTransform(t as unknown as CqtConfig).bins;
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).replace(/^cqt: /, '').replace(/\s*[\r\n]+\s*/g, ' ');
      throw new ModelFolderError(path, `features.transform is not a usable constant-Q transform (${why}); ${CONFIG_FIX}`, { cause: e });
    }
    transformText = `the constant-Q transform with nBins ${nBins}`;
  }
  oneOf(features, 'scaling', 'features.scaling', ['linear', 'log']);

  // Network.
  const net = raw.network;
  const inputBins = int(net, 'inputBins', 'network.inputBins', 1, Number.MAX_SAFE_INTEGER);
  const hidden = net.hidden;
  if (!Array.isArray(hidden) || hidden.length > 64) fail('network.hidden', hidden, 'a list of at most 64 layer widths, e.g. [2048]');
  (hidden as unknown[]).forEach((_, i) => int(hidden as unknown as Record<string, unknown>, String(i), `network.hidden[${i}]`, L.hidden[0], L.hidden[1]));
  const latent = int(net, 'latent', 'network.latent', L.latent[0], L.latent[1]);
  oneOf(net, 'outputActivation', 'network.outputActivation', ['relu', 'linear']);
  if (inputBins !== bins) {
    throw new ModelFolderError(path, `network.inputBins is ${inputBins}, but ${transformText} in features.transform gives ${bins} bins per frame; the two must agree: ${CONFIG_FIX.replace(/^set it/, 'set the changed field')}`);
  }
  const weights = weightCount({ inputBins, hidden: hidden as number[], latent, outputActivation: 'relu' });
  if (weights > L.weights) {
    throw new ModelFolderError(path, `network (hidden ${showValue(hidden)}, latent ${latent}) needs ${weights} weights, more than the ${L.weights} this lts can hold; ${CONFIG_FIX}`);
  }

  // Training settings (used when a run resumes from this folder).
  const tr = raw.training;
  int(tr, 'seed', 'training.seed', 0, 2 ** 32 - 1);
  int(tr, 'batchSize', 'training.batchSize', L.batchSize[0], L.batchSize[1], ' (e.g. 64)');
  int(tr, 'epochs', 'training.epochs', 0, Number.MAX_SAFE_INTEGER);
  int(tr, 'patience', 'training.patience', 1, Number.MAX_SAFE_INTEGER);
  int(tr, 'checkpointEvery', 'training.checkpointEvery', 1, Number.MAX_SAFE_INTEGER);
  real(tr, 'learningRate', 'training.learningRate', 'a number >= 0 (e.g. 0.0001)', (x) => x >= 0);
  real(tr, 'beta', 'training.beta', 'a number >= 0 (e.g. 0.0005)', (x) => x >= 0);

  // Provenance: free-form, but an object; the validation share is reused on resume.
  if (raw.meta !== undefined) {
    const meta = object(raw, 'meta', 'meta', 'an object (or absent)');
    if (meta.validationFraction !== undefined) {
      real(meta, 'validationFraction', 'meta.validationFraction', 'a number from 0 to below 1 (e.g. 0.1)', (x) => x >= 0 && x < 1);
    }
  }
  return raw as unknown as ModelConfig;
}

/**
 * Read a model folder written by {@link saveModelFolder}.
 *
 * @param dir The model folder.
 * @param opts.withOptimizer Also read `optimizer.json/.bin` (a checkpoint) and return the Adam state and
 *   trainer position; a folder without them is then an error.
 * @returns Config, a ready {@link TimbreVae} (owned by the caller), history (null if absent) and, on request,
 *   the optimizer state.
 * @throws ModelFolderError (one line, naming the file and the fix) for: a missing folder, a missing
 *   or unreadable file, truncated or corrupt data (size or sha256 mismatch), JSON syntax errors, a folder
 *   written by a newer lts, a folder that is not an lts model (including an original Python LTS run, for
 *   which it suggests `lts import`), a `config.json` with a bad setting ({@link validateModelConfig}),
 *   files that do not belong together, and (as {@link NonFiniteWeightsError}) weights or optimizer
 *   moments holding NaN or infinite values.
 */
export async function loadModelFolder(dir: string, opts: { withOptimizer?: boolean } = {}): Promise<LoadedModel> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new ModelFolderError(dir, 'model folder not found; pass a folder written by `lts train` (it contains config.json and weights.bin)');
  }
  if (!st.isDirectory()) throw new ModelFolderError(dir, 'is a file, not a model folder; pass the folder that contains config.json');
  if (!(await exists(join(dir, 'config.json')))) {
    if (await looksLikeOriginalLtsRun(dir)) {
      throw new ModelFolderError(dir, 'looks like an original LTS run (config.ini / Keras .h5), not an lts model folder; use `lts import` to convert it');
    }
    if (!(await exists(join(dir, 'weights.json'))) && !(await exists(join(dir, 'weights.bin')))) {
      throw new ModelFolderError(dir, 'is not an lts model folder (no config.json, weights.json or weights.bin); pass a folder written by `lts train`');
    }
  }
  const config = validateModelConfig(await readJson(dir, 'config.json', 'the model configuration'), join(dir, 'config.json'));
  let vae: TimbreVae;
  try {
    vae = TimbreVae.create(config.network, config.training.seed);
  } catch (e) {
    throw new ModelFolderError(join(dir, 'config.json'), `${(e as Error).message}; the file is damaged: restore it or retrain`, { cause: e });
  }
  try {
    const wPath = join(dir, 'weights.json');
    const wm = await readJson(dir, 'weights.json', 'the weights manifest');
    if (!isObject(wm) || wm.format !== 'lts-weights' || wm.dtype !== 'float32' || wm.byteOrder !== 'little') {
      throw new ModelFolderError(wPath, 'is not an lts weights manifest (format "lts-weights", float32, little-endian); restore it or retrain');
    }
    if (typeof wm.formatVersion === 'number' && wm.formatVersion > MODEL_FORMAT_VERSION) {
      throw new ModelFolderError(dir, `was written by a newer lts (weights format ${wm.formatVersion}; this lts reads up to ${MODEL_FORMAT_VERSION}); upgrade lts`);
    }
    const manifest = wm as unknown as WeightsManifest;
    const bytes = await readBin(dir, manifest.file, manifest.byteLength, manifest.sha256, 'weights.json');
    const entries = checkEntries(wPath, manifest.weights, vae.weightSpecs(), bytes.length);
    const tensors = unpackTensors(bytes, entries);
    const bad = findNonFinite(tensors);
    if (bad) throw new NonFiniteWeightsError(join(dir, manifest.file), bad, 'load', BROKEN_MODEL_FIX);
    vae.setWeights(tensors);

    let history: TrainHistory | null = null;
    if (await exists(join(dir, 'history.json'))) {
      const h = await readJson(dir, 'history.json', 'the training history');
      if (!isObject(h) || !Array.isArray(h.epochs)) {
        throw new ModelFolderError(join(dir, 'history.json'), 'is not a training history ({ "epochs": [...] }); delete it or restore it');
      }
      history = h as unknown as TrainHistory;
    }
    const result: LoadedModel = { config, vae, history };
    if (opts.withOptimizer) {
      const oPath = join(dir, 'optimizer.json');
      if (!(await exists(oPath))) {
        throw new ModelFolderError(dir, 'has no optimizer state (optimizer.json), so training cannot resume from it; resume from the run\'s checkpoint folder or start a new run');
      }
      const om = await readJson(dir, 'optimizer.json', 'the optimizer state');
      if (!isObject(om) || om.format !== 'lts-optimizer' || om.algorithm !== 'adam') {
        throw new ModelFolderError(oPath, 'is not an lts optimizer state (format "lts-optimizer", adam); delete the checkpoint and start a new run');
      }
      const o = om as unknown as OptimizerManifest;
      if (o.weightsSha256 !== manifest.sha256) {
        throw new ModelFolderError(oPath, 'belongs to other weights than weights.bin (an interrupted save); delete the checkpoint and resume from the last complete one, or start a new run');
      }
      const obytes = await readBin(dir, o.file, o.byteLength, o.sha256, 'optimizer.json');
      const expected = ['m', 'v'].flatMap((suffix) => vae.weightSpecs().map((s) => ({ name: `${s.name}/${suffix}`, shape: s.shape })));
      const oEntries = checkEntries(oPath, o.tensors, expected, obytes.length);
      const moments = unpackTensors(obytes, oEntries);
      const badMoment = findNonFinite(moments);
      if (badMoment) {
        throw new NonFiniteWeightsError(join(dir, o.file), badMoment, 'load', 'the checkpoint is broken (its training diverged): start a new run with a lower learning rate (--lr)');
      }
      result.optimizer = {
        algorithm: 'adam', learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, step: o.step,
        moments,
      };
      try {
        // Validate now (throws on unsupported hyper-parameters) so callers get a ModelFolderError.
        vae.setOptimizerState(result.optimizer);
      } catch (e) {
        throw new ModelFolderError(oPath, `${(e as Error).message}; delete the checkpoint and start a new run`, { cause: e });
      }
      if (o.trainer !== undefined) result.trainerState = o.trainer;
    }
    return result;
  } catch (e) {
    vae.dispose();
    throw e;
  }
}
