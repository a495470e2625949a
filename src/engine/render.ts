/**
 * The interpolate_two pipeline (Tatar, Bisig, Pasquier 2020, §3.3), made
 * deterministic and cached:
 *
 * 1. **load**   the model folder and both audio files (resampled to the model rate);
 *               analyse each whole file once (cached) and slice the excerpt frames.
 * 2. **encode** both excerpts frame by frame to μ and log σ² (cached per model, file, start, duration).
 * 3. **decode** z = a·z_A + (1 − a)·z_B per frame, a from the curve. By default z is the mixed μ
 *               (deterministic); with `sample` the mixed μ and log σ² are sampled like the original,
 *               with a seeded generator so that a render is still reproducible.
 * 4. **phase**  undo the feature scaling and rebuild the phase (FGLA, PGHI or PGHI + FGLA).
 * 5. **write**  fades at both ends, optional peak normalisation, WAV and JSON sidecar, atomically and together
 *               (both appear or neither does).
 *
 * The engine never touches the terminal; progress goes to a callback.
 */
import { statSync, lstatSync, accessSync, constants as fsConstants } from 'node:fs';
import { join, resolve, dirname, basename, extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Magnitudes, Transform } from '../dsp/types.ts';
import { reconstructPhaseWith } from '../dsp/phase.ts';
import { fglaOnThreads } from './phase-split.ts';
import { checkAcceleration, DEFAULT_ACCELERATION } from '../dsp/fgla.ts';
import { isPghiTimeDerivative } from '../dsp/pghi.ts';
import { createRng, gaussian } from '../dsp/rng.ts';
import { readAudio } from '../io/audio.ts';
import { encodeWav } from '../io/wav.ts';
import { StagedFiles, AtomicWriteError } from '../io/atomic.ts';
import { UserError } from '../io/errors.ts';
import { makeFolders, removeEmptyFolders } from '../io/folders.ts';
import { VERSION } from '../version.ts';
import { RenderCancelled } from './render-errors.ts';
import { parseCurveSpec, sampleCurve } from './curve.ts';
import { transformFor, analyzeMagnitudes, fromFeatures } from './features.ts';
import { checkExcerpt, excerptFeatures } from './excerpt.ts';
import { initBackend, parseBackendPreference, type BackendInfo } from './backend.ts';
import { loadModelFolder, weightsChecksum } from './model-folder.ts';
import { VaeHelpers } from './vae-helpers.ts';
import type { TimbreVae } from './vae.ts';
import type { ModelConfig } from './types.ts';
import {
  RENDER_STAGES,
  RENDER_DEFAULTS,
  defaultPhaseSettings,
  defaultPhaseMethod,
  type Excerpt,
  type RenderOutcome,
  type RenderParams,
  type RenderProgress,
  type RenderSidecar,
  type RenderStage,
  type RenderTarget,
} from './render-types.ts';

/** A loaded model and what the pipeline derives from it. */
export interface LoadedModel {
  dir: string;
  name: string;
  config: ModelConfig;
  vae: TimbreVae;
  transform: Transform;
  sampleRate: number;
  /** sha256 of the weights (from the manifest): identifies the model in caches and sidecars. */
  weightsSha256: string;
}

/** Options of a single render call. */
export interface RenderCallOptions {
  onProgress?: (p: RenderProgress) => void;
  signal?: AbortSignal;
}

/** Encoded excerpt: latent statistics per frame, row-major `[frames, latent]`. */
interface EncodedExcerpt {
  frames: number;
  latent: number;
  mu: Float32Array;
  /** Null when encoded for a render without sampling, which needs only μ. */
  logvar: Float32Array | null;
}

export { RenderCancelled };

export { RENDER_DEFAULTS, defaultPhaseSettings, defaultPhaseMethod };

const MAX_CACHE = 16;

/** A whole file analysed at the model rate (cached per model features and file identity). */
interface Analysis {
  mag: Magnitudes;
  samples: Float32Array;
  /** The reader's notes on the file (`AudioData.warnings`): it is cut off, damaged frames were skipped. */
  warnings: string[];
}

/**
 * Renders interpolations with one backend and a small cache of models,
 * analysed files and encoded excerpts. One instance per process (or worker).
 */
export class Renderer {
  private models = new Map<string, LoadedModel>();
  private analyses = new Map<string, Analysis>();
  private encodings = new Map<string, EncodedExcerpt>();
  private preparing: Promise<void> | null = null;
  private encodedCount = 0;
  private phaseThreads = 1;

  private constructor(readonly backend: BackendInfo, private readonly helpers: VaeHelpers) {}

  /**
   * Initialise the tfjs backend (`auto`: tfjs-node-gpu, tfjs-node, wasm, cpu) and create a renderer.
   *
   * @param opts.backend as for `--backend` (default `auto`).
   * @param opts.threads threads that share the encode and decode of a render (default 1); the
   *   extra threads start when the first model is loaded and join once they have loaded it too, so
   *   a render never waits for them. A helper thread takes about a second of CPU to start, so it pays off
   *   in a long-lived renderer (the instrument's render worker uses {@link defaultInferenceThreads}),
   *   not for one render. The result does not depend on the number of threads.
   */
  static async create(opts: { backend?: string; threads?: number } = {}): Promise<Renderer> {
    const info = await initBackend(parseBackendPreference(opts.backend ?? 'auto'));
    // Helpers are pinned to the backend the caller got, and used only if they get it too.
    const threads = info.name === 'tensorflow' ? 1 : (opts.threads ?? 1);
    return new Renderer(info, VaeHelpers.start({ threads, backend: info.name }));
  }

  /** Threads that share a render's encode and decode (1 + helper threads started). */
  get threads(): number {
    return 1 + this.helpers.count;
  }

  /** Load `dir` and resolve when every helper thread has loaded it too (or failed to); for benchmarks and tests. */
  async helpersLoaded(dir: string): Promise<void> {
    const model = await this.loadModel(dir);
    return this.helpers.load(model.dir, model.weightsSha256);
  }

  /** Threads that shared the rows of the last encode or decode (1: this thread alone). */
  get lastInferenceThreads(): number {
    return this.helpers.lastThreads;
  }

  /** Threads that shared the Griffin-Lim iterations of the last render (1: this thread alone, or none ran). */
  get lastPhaseThreads(): number {
    return this.phaseThreads;
  }

  /** Load (or return the cached) model folder. */
  async loadModel(dir: string): Promise<LoadedModel> {
    const abs = resolve(dir);
    // The manifest's checksum identifies the weights: a folder retrained in place is reloaded.
    const weightsSha256 = weightsChecksum(abs);
    const cached = this.models.get(abs);
    if (cached && weightsSha256 !== '' && cached.weightsSha256 === weightsSha256) return cached;
    const { config, vae } = await loadModelFolder(abs);
    vae.warmInference(); // part of loading: the first render's encode does not pay for it
    const transform = transformFor(config.features.transform);
    const model: LoadedModel = {
      dir: abs,
      name: basename(abs),
      config,
      vae,
      transform,
      sampleRate: config.features.transform.sampleRate,
      weightsSha256,
    };
    for (const old of this.models.values()) old.vae.dispose();
    this.models.clear();
    this.encodings.clear();
    this.models.set(abs, model);
    void this.helpers.load(abs, weightsSha256);
    return model;
  }

  /**
   * Render `params` and write the WAV and its sidecar to `target`.
   * Nothing is written unless every stage succeeds.
   */
  async render(params: RenderParams, target: RenderTarget, opts: RenderCallOptions = {}): Promise<RenderOutcome> {
    const { samples, frames, timings, model, warnings } = await this.synthesize(params, opts);
    const t0 = performance.now();
    report(opts, 'write', 0);
    const out = await writeRender(samples, model, params, frames, timings, this.backend.name, target);
    timings.write = (performance.now() - t0) / 1000;
    report(opts, 'write', 1);
    return { ...out, samples, frames, timings, sampleRate: model.sampleRate, warnings };
  }

  /** Run stages load → phase and return the finished samples (fades and normalisation applied), without writing. */
  async synthesize(
    params: RenderParams,
    opts: RenderCallOptions = {},
  ): Promise<{ samples: Float32Array; frames: number; timings: Record<RenderStage, number>; model: LoadedModel; warnings: string[] }> {
    validateParams(params);
    const timings = Object.fromEntries(RENDER_STAGES.map((s) => [s, 0])) as Record<RenderStage, number>;
    const curve = parseCurveSpec(params.curve);
    // A preparation still running encodes what this render most likely needs: wait for it rather than
    // encoding the same excerpts twice (its failure is this render's to report, if it applies).
    await this.preparing?.catch(() => undefined);
    let t = performance.now();
    const lap = (stage: RenderStage) => {
      const now = performance.now();
      timings[stage] += (now - t) / 1000;
      t = now;
    };

    report(opts, 'load', 0);
    const { model, length, frames, analyses } = await this.inputs(params);
    const sr = model.sampleRate;
    checkAbort(opts.signal);
    lap('load');
    report(opts, 'encode', 0);

    const [encA, encB] = await this.encodePair(model, [params.a, params.b], analyses, params.duration, frames, params.sample);
    checkAbort(opts.signal);
    lap('encode');
    report(opts, 'decode', 0);

    const amounts = sampleCurve(curve, frames);
    const z = mixLatents(encA, encB, amounts, params.sample, params.seed);
    const features = await this.helpers.decode(model, this.backend.name, z, frames);
    const mag: Magnitudes = fromFeatures({ frames, bins: model.transform.bins, data: features }, model.config.features.scaling);
    checkAbort(opts.signal);
    lap('decode');

    report(opts, 'phase', 0);
    // The Griffin-Lim iterations are shared with the helper threads that are ready (same bytes as on one thread).
    const phaseHelpers = this.helpers.phaseRunners();
    this.phaseThreads = 1;
    const out = await reconstructPhaseWith(mag, model.transform, length, {
      method: params.phase.method,
      iterations: params.phase.iterations,
      momentum: params.phase.momentum,
      acceleration: params.phase.acceleration,
      tolerance: params.phase.tolerance,
      timeDerivative: params.phase.timeDerivative,
      seed: params.seed,
      signal: opts.signal,
      onProgress: (done: number, total: number) => report(opts, 'phase', total > 0 ? done / total : 1),
    }, (m, transform, len, fglaOptions) =>
      fglaOnThreads(m, transform, len, fglaOptions, phaseHelpers, { onSplit: (threads) => (this.phaseThreads = threads) }));
    checkAbort(opts.signal);
    applyFades(out, Math.round((params.fadeMs / 1000) * sr));
    if (params.normalizeDbfs !== null) normalizePeak(out, params.normalizeDbfs);
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i])) throw new Error('phase reconstruction produced a non-finite sample');
    }
    lap('phase');
    return { samples: out, frames, timings, model, warnings: [...new Set([...analyses[0].warnings, ...analyses[1].warnings])] };
  }

  /**
   * Prepare a render ahead of time: load the model, analyse both files and encode both excerpts into the
   * caches, so that a following {@link render} of the same excerpts only mixes, decodes and rebuilds the
   * phase. The instrument calls it when the excerpts change, before Generate & Play. A render started
   * meanwhile waits for it. Bad input rejects with the same one-line errors as a render.
   */
  async prepare(params: Pick<RenderParams, 'model' | 'a' | 'b' | 'duration' | 'sample'>): Promise<void> {
    const run = (async () => {
      const { model, frames, analyses } = await this.inputs(params);
      await this.encodePair(model, [params.a, params.b], analyses, params.duration, frames, params.sample);
    })();
    this.preparing = run;
    try {
      await run;
    } finally {
      if (this.preparing === run) this.preparing = null;
    }
  }

  /** Excerpts encoded since this renderer was created (for tests: a prepared render encodes none). */
  get encodedExcerpts(): number {
    return this.encodedCount;
  }

  /** What a render of `params` starts from: the model, the output length and frame count, both files analysed (all cached). */
  private async inputs(params: Pick<RenderParams, 'model' | 'a' | 'b' | 'duration'>): Promise<{
    model: LoadedModel;
    length: number;
    frames: number;
    analyses: [Analysis, Analysis];
  }> {
    const model = await this.loadModel(params.model);
    const length = Math.round(params.duration * model.sampleRate);
    const analyses = await Promise.all([this.analyse(model, params.a.path), this.analyse(model, params.b.path)]);
    return { model, length, frames: model.transform.frameCount(length), analyses };
  }

  /** Whole-file magnitudes at the model rate, cached per (model features, file identity). */
  private async analyse(model: LoadedModel, path: string): Promise<Analysis> {
    const abs = resolve(path);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new UserError(`${path}: file not found; check the path given to --a/--b`);
    }
    const key = `${JSON.stringify(model.config.features)}|${abs}|${st.size}|${st.mtimeMs}`;
    const hit = this.analyses.get(key);
    if (hit) return hit;
    const audio = await readAudio(abs, { sampleRate: model.sampleRate });
    const mag = analyzeMagnitudes(audio.samples, model.config.features);
    const entry = { mag, samples: audio.samples, warnings: audio.warnings };
    remember(this.analyses, key, entry);
    return entry;
  }

  /**
   * Encode the frames of excerpts A and B, each cached per (model, file, start, duration). The
   * excerpts not in the cache are encoded in one call whose rows the helper threads share (with two
   * threads and both excerpts new: A on this thread, B on the other). Without `sample` only μ is
   * computed; a cached μ-only entry is encoded again when a sampling render needs log σ².
   */
  private async encodePair(
    model: LoadedModel,
    excerpts: [Excerpt, Excerpt],
    analyses: [Analysis, Analysis],
    duration: number,
    frames: number,
    sample: boolean,
  ): Promise<[EncodedExcerpt, EncodedExcerpt]> {
    const sr = model.sampleRate;
    const slots = ['A', 'B'] as const;
    const keys = excerpts.map((ex, i) => {
      checkExcerpt(`excerpt ${slots[i]}`, ex.path, analyses[i].samples, sr, ex.start, duration);
      return `${model.weightsSha256}|${model.dir}|${resolve(ex.path)}|${analyses[i].samples.length}|${ex.start}|${duration}`;
    });
    const found = keys.map((k) => {
      const hit = this.encodings.get(k);
      return hit && (hit.logvar !== null || !sample) ? hit : undefined;
    });
    const missing = [0, 1].filter((i) => !found[i] && (i === 0 || keys[1] !== keys[0]));
    if (missing.length > 0) {
      const bins = model.transform.bins;
      const feats = new Float32Array(missing.length * frames * bins);
      missing.forEach((i, j) => {
        feats.set(excerptFeatures(model, analyses[i].mag, Math.round(excerpts[i].start * sr), frames), j * frames * bins);
      });
      const { mu, logvar } = await this.helpers.encode(model, this.backend.name, feats, missing.length * frames, { meanOnly: !sample });
      const latent = mu.length / (missing.length * frames);
      missing.forEach((i, j) => {
        const part = (x: Float32Array) => x.slice(j * frames * latent, (j + 1) * frames * latent);
        const enc: EncodedExcerpt = { frames, latent, mu: part(mu), logvar: logvar && part(logvar) };
        remember(this.encodings, keys[i], enc);
        this.encodedCount++;
        found[i] = enc;
      });
    }
    return [found[0]!, found[1] ?? found[0]!];
  }

  /** Release the models (tfjs memory). */
  dispose(): void {
    void this.helpers.close();
    for (const m of this.models.values()) m.vae.dispose();
    this.models.clear();
    this.encodings.clear();
    this.analyses.clear();
  }
}

/**
 * Mix two encoded excerpts per frame: z = a·z_A + (1 − a)·z_B.
 *
 * Without sampling, z_A and z_B are the posterior means μ (deterministic).
 * With sampling (the original's behaviour), μ and log σ² are each mixed with
 * the same `a`, then z = μ + exp(log σ² / 2)·ε with ε ~ N(0, 1) from a
 * generator seeded by `seed`.
 *
 * @param amounts one `a` per frame (length = frames).
 * @returns z, row-major `[frames, latent]`.
 */
export function mixLatents(A: EncodedExcerpt, B: EncodedExcerpt, amounts: Float32Array, sample: boolean, seed: number): Float32Array {
  const { frames, latent } = A;
  if (sample && (!A.logvar || !B.logvar)) throw new Error('mixLatents: sampling needs log σ² of both excerpts; encode them with it');
  const z = new Float32Array(frames * latent);
  const rng = sample ? createRng(seed) : null;
  for (let f = 0; f < frames; f++) {
    const a = amounts[f];
    for (let j = 0; j < latent; j++) {
      const i = f * latent + j;
      const mu = a * A.mu[i] + (1 - a) * B.mu[i];
      if (rng) {
        const lv = a * A.logvar![i] + (1 - a) * B.logvar![i];
        z[i] = mu + Math.exp(0.5 * lv) * gaussian(rng);
      } else z[i] = mu;
    }
  }
  return z;
}

/** Raised-cosine fade-in and fade-out of `n` samples at both ends (in place). */
export function applyFades(x: Float32Array, n: number): void {
  const m = Math.min(n, Math.floor(x.length / 2));
  for (let i = 0; i < m; i++) {
    const g = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / m);
    x[i] *= g;
    x[x.length - 1 - i] *= g;
  }
}

/** Scale `x` in place so that its peak is at `dbfs` (no-op on silence). */
export function normalizePeak(x: Float32Array, dbfs: number): void {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak === 0) return;
  const g = Math.pow(10, dbfs / 20) / peak;
  for (let i = 0; i < x.length; i++) x[i] *= g;
}

/** Check every parameter and throw a one-line UserError naming the bad one. */
export function validateParams(p: RenderParams): void {
  const num = (v: unknown, name: string, ok: (x: number) => boolean, hint: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new UserError(`${name} ${String(v)} is invalid; ${hint}`);
  };
  if (!p.model) throw new UserError('no model folder given; pass --model DIR (the shipped one is models/default)');
  if (!p.a?.path || !p.b?.path) throw new UserError('two excerpts are needed; pass --a FILE[@START] and --b FILE[@START]');
  num(p.a.start, 'start of excerpt A', (x) => x >= 0, 'use seconds >= 0, e.g. --a file.wav@1.5');
  num(p.b.start, 'start of excerpt B', (x) => x >= 0, 'use seconds >= 0, e.g. --b file.wav@0.25');
  num(p.duration, '--duration', (x) => x > 0 && x <= 600, 'use seconds between 0 and 600, e.g. --duration 2');
  num(p.phase.iterations, '--iters', (x) => Number.isInteger(x) && x >= 0 && x <= 512, 'use a whole number from 0 to 512');
  num(p.phase.momentum, '--momentum', (x) => x >= 0 && x < 2, 'use a value in [0, 2), 0.99 by default');
  num(p.phase.tolerance, 'PGHI tolerance', (x) => x > 0 && x < 1, 'use a value in (0, 1), 1e-4 by default');
  try {
    checkAcceleration(p.phase.acceleration, 'AGLA acceleration');
  } catch (e) {
    throw new UserError(`${(e as Error).message}; leave it out for beta ${DEFAULT_ACCELERATION.beta}, gamma ${DEFAULT_ACCELERATION.gamma}`);
  }
  if (!isPghiTimeDerivative(p.phase.timeDerivative)) {
    throw new UserError(`PGHI time derivative ${JSON.stringify(p.phase.timeDerivative)} is not 'power' or 'log'; leave it out for 'power'`);
  }
  num(p.seed, '--seed', (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32, 'use a whole number from 0 to 4294967295');
  num(p.fadeMs, '--fade', (x) => x >= 0 && x <= 1000, 'use milliseconds from 0 to 1000');
  if (p.normalizeDbfs !== null) num(p.normalizeDbfs, '--normalize', (x) => x <= 0 && x >= -60, 'use dBFS from -60 to 0, e.g. --normalize -1');
  if (typeof p.curve !== 'string') throw new UserError('the curve must be a spec string such as 0:0,1:1');
}

/**
 * Write a render's WAV and sidecar to `target`, both or neither: each is written in full to a temporary
 * file, then both are moved into place; on any failure nothing of this render is left (no temporary files).
 * An explicit `out` is refused if its WAV or its sidecar exists, unless `force`; numbered renders skip every
 * number whose WAV or sidecar exists. File-system failures (permissions, read-only or full disk, a file where
 * a folder should be, a folder in the way) become one-line {@link UserError}s naming the path and the fix.
 */
async function writeRender(
  samples: Float32Array,
  model: LoadedModel,
  params: RenderParams,
  frames: number,
  timings: Record<RenderStage, number>,
  backend: string,
  target: RenderTarget,
): Promise<{ path: string; sidecarPath: string; peakDbfs: number }> {
  const wav = encodeWav(samples, model.sampleRate, { encoding: target.encoding ?? 'pcm16' });
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  const peakDbfs = peak > 0 ? 20 * Math.log10(peak) : -Infinity;
  const sidecar: RenderSidecar = {
    kind: 'lts-render',
    version: 1,
    lts: VERSION,
    params: { ...params, model: params.model, a: { ...params.a }, b: { ...params.b } },
    modelWeightsSha256: model.weightsSha256,
    backend,
    sampleRate: model.sampleRate,
    frames,
    timings,
    createdAt: new Date().toISOString(),
  };
  const sidecarText = JSON.stringify(sidecar, null, 2) + '\n';
  if (target.out !== undefined) {
    const { path, sidecarPath } = checkOutTarget(target.out, target.force === true);
    const staged = stageOutputs(sidecarPath, sidecarText, path, wav, (file) => file);
    try {
      // The sidecar first: whoever sees the WAV appear finds its sidecar beside it.
      staged.publish([sidecarPath, path], { overwrite: target.force === true });
    } catch (e) {
      // Created meanwhile by someone else: the check gives its one-line refusal.
      if ((e as AtomicWriteError).code === 'EEXIST') checkOutTarget(target.out, false);
      throw outputError(e, `cannot write ${(e as AtomicWriteError).file ?? path}`, dirname(path));
    } finally {
      staged.discard();
    }
    return { path, sidecarPath, peakDbfs };
  }
  const { dir, created } = checkRendersDir(target.dir, true);
  let written = false;
  try {
    const staged = stageOutputs(join(dir, 'render.json'), sidecarText, join(dir, 'render.wav'), wav, () => dir);
    try {
      for (let n = 1; n < 1_000_000; n++) {
        const path = join(dir, `render-${String(n).padStart(4, '0')}.wav`);
        const sidecarPath = sidecarFor(path);
        if (pathExists(path) || pathExists(sidecarPath)) continue; // never overwrite, never pair with another render's file
        try {
          staged.publish([sidecarPath, path]);
          written = true;
          return { path, sidecarPath, peakDbfs };
        } catch (e) {
          if ((e as AtomicWriteError).code === 'EEXIST') continue; // taken meanwhile (another render): the next number
          throw outputError(e, `cannot write ${(e as AtomicWriteError).file ?? path}`, dir);
        }
      }
    } finally {
      staged.discard();
    }
  } finally {
    if (!written && created) removeEmptyFolders(created);
  }
  throw new UserError(`${dir} holds a million renders; choose another folder with --dir or a file with --out`);
}

/**
 * Check where a render will be written, without writing anything, so that a bad `--out` or `--dir` is refused
 * before the render runs (the write checks again). Throws what {@link Renderer.render} would throw for `target`.
 *
 * @param target as for {@link Renderer.render}.
 * @throws UserError (one line): an empty or unusable `--out` name, a missing folder or a file in its place, an
 *   existing WAV or sidecar without `force`, a folder where the WAV or sidecar would go, a folder that cannot be
 *   written (permissions, read-only file system).
 */
export function checkRenderTarget(target: RenderTarget): void {
  if (target.out !== undefined) checkOutTarget(target.out, target.force === true);
  else checkRendersDir(target.dir, false);
}

/**
 * Check an explicit output name and resolve it with its sidecar.
 * @param out the `--out` value as given.
 * @param force whether existing files may be replaced.
 */
function checkOutTarget(out: string, force: boolean): { path: string; sidecarPath: string } {
  if (out.trim() === '') {
    throw new UserError('--out is empty; give a file name such as --out take.wav, or leave --out out for numbered renders in ./renders');
  }
  const path = resolve(out);
  const name = basename(path);
  if (isFolder(path)) throw new UserError(`--out ${out} is a folder; give a file name such as ${join(out, 'take.wav')}, or use --dir ${out} for numbered renders`);
  if (name.toLowerCase() === '.wav') {
    throw new UserError(`--out ${out}: the file name is empty (only ".wav", which would be a hidden file); give a name such as ${join(dirname(out), 'take.wav')}`);
  }
  if (extname(name).toLowerCase() !== '.wav') throw new UserError(`--out ${out}: the output must end in .wav, e.g. ${join(dirname(out), 'take.wav')}`);
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`--out ${out}: folder ${dir} does not exist; create it first`);
    throw outputError(e, `--out ${out}: cannot use folder ${dir}`, dir);
  }
  if (!st.isDirectory()) throw new UserError(`--out ${out}: ${dir} is a file, not a folder; choose a file in a folder with --out`);
  const sidecarPath = sidecarFor(path);
  if (isFolder(sidecarPath)) {
    throw new UserError(`--out ${out}: a folder ${sidecarPath} is where the render's sidecar would go; remove it or choose another name with --out`);
  }
  if (!force && pathExists(path)) throw new UserError(`--out ${out} exists; pass --force to overwrite or choose another name`);
  if (!force && pathExists(sidecarPath)) {
    throw new UserError(`--out ${out}: ${sidecarPath} exists (the render's sidecar goes there); pass --force to overwrite it or choose another name`);
  }
  checkWritable(dir, `--out ${out}: cannot write to folder ${dir}`);
  return { path, sidecarPath };
}

/**
 * Check (and with `create`, create) the folder of numbered renders.
 * @param given the `--dir` value as given, or undefined for `./renders`.
 * @param create create the folder (with its parents) if missing.
 * @returns the absolute folder, and the folders it created, outermost first (for {@link removeEmptyFolders} if the render fails).
 */
function checkRendersDir(given: string | undefined, create: boolean): { dir: string; created?: string[] } {
  if (given !== undefined && given.trim() === '') throw new UserError('--dir is empty; give a folder such as --dir renders, or leave --dir out for ./renders');
  const dir = resolve(given ?? 'renders');
  const what = `cannot write renders to ${dir}`;
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError(e, what, dir);
  }
  if (st && !st.isDirectory()) throw new UserError(`${what}: it is a file, not a folder; choose another folder with --dir, or a file with --out`);
  if (st) {
    checkWritable(dir, what);
    return { dir };
  }
  // Missing: its nearest existing parent must take a new folder.
  let parent = dirname(dir);
  while (!pathExists(parent) && dirname(parent) !== parent) parent = dirname(parent);
  if (!isFolder(parent)) throw new UserError(`${what}: ${parent} is a file, not a folder; choose another folder with --dir, or a file with --out`);
  checkWritable(parent, `${what}: cannot create it in ${parent}`);
  if (!create) return { dir };
  try {
    return { dir, created: makeFolders(dir) };
  } catch (e) {
    throw outputError(e, `${what}: cannot create it`, dir);
  }
}

/** Stage the sidecar and the WAV (see {@link StagedFiles}); a failure names `where(file)`. */
function stageOutputs(sidecarPath: string, sidecarText: string, wavPath: string, wav: Uint8Array, where: (file: string) => string): StagedFiles {
  try {
    return StagedFiles.stage([
      { path: sidecarPath, data: sidecarText },
      { path: wavPath, data: wav },
    ]);
  } catch (e) {
    const file = (e as AtomicWriteError).file ?? wavPath;
    throw outputError(e, `cannot write ${where(file)}`, dirname(file));
  }
}

/** Throw a one-line UserError if `dir` cannot be written (permissions, read-only file system). */
function checkWritable(dir: string, what: string): void {
  try {
    accessSync(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (e) {
    throw outputError(e, what, dir);
  }
}

/** Whether anything (file, folder, link, even a dangling one) is at `path`. */
function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` is a folder (following links). */
function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The nearest of `folder` and its parents that exists, if it is a file rather than a folder (the cause of ENOTDIR). */
function fileInTheWay(folder: string): string | null {
  for (let p = folder; ; p = dirname(p)) {
    try {
      return statSync(p).isDirectory() ? null : p;
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}

/**
 * Turn a file-system error met while writing a render's output into a one-line {@link UserError} that names
 * the place and the fix; anything else (a bug, or already a UserError) is returned unchanged.
 *
 * @param e the error, a plain `fs` error or an {@link AtomicWriteError}.
 * @param what what failed, naming the path, e.g. `cannot write /x/take.wav`.
 * @param folder the folder written into (searched for a file in the way on ENOTDIR).
 */
function outputError(e: unknown, what: string, folder: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof UserError || typeof code !== 'string') return e;
  const elsewhere = 'choose another folder with --dir, or a file elsewhere with --out';
  const problem = (() => {
    switch (code) {
      case 'EACCES':
      case 'EPERM':
        return `permission denied; check the folder's permissions or ${elsewhere}`;
      case 'EROFS':
        return `the file system is read-only; ${elsewhere}`;
      case 'ENOSPC':
        return `no space left on the device; free some space or ${elsewhere}`;
      case 'EDQUOT':
        return `the disk quota is used up; free some space or ${elsewhere}`;
      case 'ENOTDIR': {
        const file = fileInTheWay(folder);
        return `${file ?? 'a part of the path'} is a file, not a folder; ${elsewhere}`;
      }
      case 'EISDIR':
        return 'a folder of that name is in the way; remove it or choose another name with --out';
      case 'ENOENT':
        return `the folder ${folder} does not exist (any more); create it or ${elsewhere}`;
      case 'EEXIST':
        return 'it exists; choose another name with --out or pass --force';
      case 'ENAMETOOLONG':
        return 'the name is too long; choose a shorter one with --out or --dir';
      default: {
        const cause = (e as { cause?: unknown }).cause ?? e;
        return `${String((cause as Error)?.message ?? cause).split('\n')[0]}; ${elsewhere}`;
      }
    }
  })();
  return new UserError(`${what}: ${problem}`, { cause: e });
}

/** `x.wav` → `x.json`. */
export function sidecarFor(wavPath: string): string {
  return wavPath.replace(/\.wav$/i, '') + '.json';
}

function report(opts: RenderCallOptions, stage: RenderStage, fraction: number): void {
  opts.onProgress?.({ stage, fraction });
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new RenderCancelled();
}


function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  while (map.size > MAX_CACHE) map.delete(map.keys().next().value as string);
}

