/**
 * Sound datasets: a folder (searched recursively) of audio files in any
 * format `readAudio` reads, turned into the frame sets the VAE trains on.
 *
 * As in the original Latent Timbre Synthesis (Tatar, Bisig & Pasquier 2020),
 * every frame of every file is a training example, **silent frames
 * included**: silence and near-silence are part of the timbre space (note
 * onsets and releases pass through them), and a model that never saw them
 * decodes quiet latent regions into noise. A dataset dominated by silence
 * teaches mostly silence, though: trim long silences from the files. A
 * dataset that is silent throughout (nothing above {@link SILENCE_DB}) has no
 * timbre to learn and is refused, as is one with fewer training frames than
 * the caller's minimum (`minTrainFrames`, e.g. one batch).
 *
 * A refused dataset is left as it was found: no feature cache folder is
 * created for a dataset without readable audio, and entries (and folders) the
 * refused run wrote to the cache are removed again.
 *
 * The validation set is split **by file**, never by frame: neighbouring
 * frames of one file overlap (the hop is a fraction of the window), so a
 * frame-level split would leak training data into validation and make the
 * validation loss meaningless for early stopping.
 */
import { createHash } from 'node:crypto';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Magnitudes } from '../dsp/types.ts';
import type { FeatureConfig, FrameSet } from './types.ts';
import { readAudio, probeAudio, isAudioFile } from '../io/audio.ts';
import { UserError } from '../io/errors.ts';
import { analyzeMagnitudes, analysisHash, toFeatures } from './features.ts';
import { FeatureCache, canCreateDir, defaultCacheDir, fingerprintFile, type CacheStats, type FileFingerprint } from './feature-cache.ts';
import { analyseOnThreads } from './analysis-pool.ts';

/** One audio file of a dataset, as listed by {@link scanDataset}. */
export interface DatasetFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the dataset folder, with `/` separators (used for display, sorting and the split). */
  relPath: string;
  /** Duration in seconds. */
  duration: number;
  /** Sample rate of the file in Hz (before any resampling). */
  sampleRate: number;
  /** Channel count of the file (channels are mixed to mono for analysis). */
  channels: number;
  /** Container/encoding description from `probeAudio`, e.g. "WAV PCM 16-bit". */
  format: string;
}

/** A file left out of a dataset, and why. */
export interface SkippedFile {
  /** Absolute path. */
  path: string;
  /** One-line reason (the reader's error message). */
  reason: string;
}

/** Result of {@link scanDataset}: the readable files, sorted by `relPath`, plus the unreadable ones in `skipped`. */
export type DatasetScan = DatasetFile[] & { skipped: SkippedFile[] };

/** Compare two strings by UTF-16 code units (locale-independent, so the order is the same on every machine). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * List the audio files of a dataset folder.
 *
 * Recursive; follows symbolic links (each real folder visited once, so link
 * loops end); ignores hidden entries (names starting with `.`, which includes
 * the `.lts-cache` feature cache) and files whose extension is not an audio
 * format (`isAudioFile`). Every audio file is probed (`probeAudio`: header
 * only, no decoding); files that fail are collected in `skipped`, never thrown.
 *
 * @param dir The dataset folder.
 * @returns Readable files sorted by `relPath` (code-unit order), with the
 *   unreadable ones in the array's `skipped` property.
 * @throws UserError when `dir` does not exist or is not a folder.
 */
export async function scanDataset(dir: string): Promise<DatasetScan> {
  const root = resolve(dir);
  let st;
  try {
    st = await stat(root);
  } catch {
    throw new UserError(`dataset folder ${dir} does not exist; pass a folder of audio files`);
  }
  if (!st.isDirectory()) throw new UserError(`dataset ${dir} is not a folder; pass a folder of audio files`);

  const candidates: string[] = [];
  const unreadable: SkippedFile[] = [];
  const visited = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    let real: string;
    try {
      real = await realpath(d);
    } catch (e) {
      unreadable.push({ path: d, reason: `cannot open folder (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      return;
    }
    if (visited.has(real)) return;
    visited.add(real);
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      unreadable.push({ path: d, reason: `cannot list folder (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      return;
    }
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue;
      const p = join(d, ent.name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        try {
          const t = await stat(p);
          isDir = t.isDirectory();
          isFile = t.isFile();
        } catch {
          if (isAudioFile(p)) unreadable.push({ path: p, reason: 'broken symbolic link' });
          continue;
        }
      }
      if (isDir) await walk(p);
      else if (isFile && isAudioFile(p)) candidates.push(p);
    }
  };
  await walk(root);

  const files: DatasetFile[] = [];
  for (const p of candidates) {
    try {
      const info = await probeAudio(p);
      files.push({
        path: p,
        relPath: relative(root, p).split(sep).join('/'),
        duration: info.duration,
        sampleRate: info.sampleRate,
        channels: info.channels,
        format: info.format,
      });
    } catch (e) {
      unreadable.push({ path: p, reason: oneLineReason(e) });
    }
  }
  files.sort((a, b) => byCodeUnits(a.relPath, b.relPath));
  unreadable.sort((a, b) => byCodeUnits(a.path, b.path));
  return Object.assign(files, { skipped: unreadable });
}

function oneLineReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/**
 * Split files into training and validation **by file**, deterministically.
 *
 * Each file gets the rank of `SHA-256(seed, relPath)`; the files with the
 * lowest ranks are the validation set. So the split depends only on the seed
 * and the file names, not on the order of discovery, and adding a file to a
 * dataset moves at most one other file between the sets.
 *
 * Sizes: `round(fraction * n)` validation files, at least 1 and at most
 * `n - 1` when `n >= 2` and `fraction > 0`; none when `n < 2` or `fraction == 0`.
 *
 * @param relPaths File names (relative paths), any order.
 * @param fraction Share of files for validation, in [0, 1).
 * @param seed Any integer.
 * @returns The set of relPaths chosen for validation.
 */
export function splitByFile(relPaths: readonly string[], fraction: number, seed: number): Set<string> {
  if (!(fraction >= 0 && fraction < 1))
    throw new UserError(`validation fraction ${fraction} is out of range; use a number in [0, 1), e.g. 0.1`);
  const n = relPaths.length;
  if (n < 2 || fraction === 0) return new Set();
  const nVal = Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
  const ranked = relPaths
    .map((p) => ({ p, h: createHash('sha256').update(`${seed}\0${p}`).digest('hex') }))
    .sort((a, b) => byCodeUnits(a.h, b.h) || byCodeUnits(a.p, b.p));
  return new Set(ranked.slice(0, nVal).map((r) => r.p));
}

/** Progress of {@link loadDataset}'s analysis, reported after every file. */
export interface DatasetProgress {
  /** Files finished (analysed, loaded from the cache, or skipped). */
  done: number;
  /** Files to process. */
  total: number;
  /** Seconds of audio finished. */
  seconds: number;
  /** Seconds of audio in all files. */
  totalSeconds: number;
  /** The file just finished (relative path). */
  file: string;
  /** How it was finished. */
  status: 'analysed' | 'cached' | 'skipped';
}

/**
 * Least audio to analyse (seconds) for which {@link loadDataset} starts analysis threads, per
 * transform. A thread takes about half a second of CPU to start. Measured here (2026-11-24, demo
 * files, decoding included, one thread): constant-Q about 0.03 s per second of audio, STFT about
 * 0.008; 54 s of audio analysed as fast on two threads as on one, 270 s in 4.8 s instead of 8.4
 * (constant-Q) and 1.8 s instead of 2.2 (STFT).
 */
export const PARALLEL_MIN_SECONDS: Record<FeatureConfig['transform']['kind'], number> = { cqt: 60, stft: 240 };

/**
 * Level (dB relative to a full-scale sine) below which a whole dataset counts as silent: no magnitude of
 * any file reaches this fraction of the peak magnitude a full-scale sine gives with the same transform,
 * i.e. nothing is louder than a sine at -90 dBFS, the step of one least significant bit of 16-bit audio.
 * Digital silence and dithered 16-bit silence (random +-1 LSB, which peaks at -98 to -112 dB in these
 * terms) are caught, while quiet recordings pass with a wide margin (white noise at -60 dBFS rms peaks
 * at -64 dB with a 256-point STFT, -74 dB with 2048 points, -80 dB with the default constant-Q).
 */
export const SILENCE_DB = -90;

const fullScalePeaks = new Map<string, number>();

/**
 * The peak magnitude of a full-scale sine in the middle of the transform's range (cached per
 * analysis): the reference of {@link SILENCE_DB}.
 *
 * @param cfg Feature configuration (only the transform matters).
 */
export function fullScalePeak(cfg: FeatureConfig): number {
  const key = analysisHash(cfg.transform);
  let peak = fullScalePeaks.get(key);
  if (peak === undefined) {
    const t = cfg.transform;
    const sr = t.sampleRate;
    const f = t.kind === 'cqt' ? t.fmin * 2 ** (t.nBins / t.binsPerOctave / 2) : sr / 8;
    const x = new Float32Array(Math.max(Math.round(sr / 2), t.kind === 'stft' ? 4 * t.nFft : 0));
    for (let i = 0; i < x.length; i++) x[i] = Math.sin((2 * Math.PI * f * i) / sr);
    const mag = analyzeMagnitudes(x, { transform: t, scaling: 'linear' });
    peak = 0;
    for (let i = 0; i < mag.data.length; i++) if (mag.data[i] > peak) peak = mag.data[i];
    fullScalePeaks.set(key, peak);
  }
  return peak;
}

/** A duration for messages: whole seconds from 10 s, two significant digits below. */
function formatSeconds(s: number): string {
  return s >= 10 ? s.toFixed(0) : String(Number(s.toPrecision(2)));
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Share of files used for validation, in [0, 1); default 0.1. See {@link splitByFile}. */
  validationFraction?: number;
  /** Seed of the split; default 0. */
  seed?: number;
  /**
   * Feature cache folder. Default (undefined): `<dataset>/.lts-cache/`, or
   * `$XDG_CACHE_HOME/lts` when the dataset is read-only. `false` disables the cache.
   */
  cacheDir?: string | false;
  /** Called after every file. */
  onProgress?: (p: DatasetProgress) => void;
  /** Aborts between files (rejects with the signal's reason). */
  signal?: AbortSignal;
  /**
   * Threads that analyse files not in the cache, default 1. With more, helper threads decode and
   * analyse whole files beside this one (`analysis-pool.ts`; the same frames as one thread), when
   * at least `parallelMinSeconds` of audio is to be analysed. Ignored with a custom `analyzer`.
   */
  threads?: number;
  /** Least audio (seconds, not in the cache) worth starting threads for; default {@link PARALLEL_MIN_SECONDS} of the transform. */
  parallelMinSeconds?: number;
  /**
   * Fewest training frames the dataset must give (default 1). With fewer, {@link loadDataset} refuses
   * the dataset with a one-line error saying how many frames and seconds it has and how many are needed.
   */
  minTrainFrames?: number;
  /**
   * The analysis function, default {@link analyzeMagnitudes}. Replaceable so
   * callers (and tests) can observe or instrument the analysis; it must
   * return `[frames, bins]` magnitudes of the samples.
   */
  analyzer?: (samples: Float32Array, cfg: FeatureConfig) => Magnitudes;
}

/** A dataset file after loading: where its frames went. */
export interface LoadedFile extends DatasetFile {
  /** Which set the file's frames belong to. */
  split: 'train' | 'validation';
  /** First row of this file's frames in its set's FrameSet. */
  firstFrame: number;
  /** Number of frames of this file. */
  frames: number;
  /** True when the magnitudes came from the feature cache. */
  cached: boolean;
}

/** Result of {@link loadDataset}. */
export interface LoadedDataset {
  /** Training frames, `[frames, bins]` features (scaled per the feature configuration). */
  train: FrameSet;
  /** Validation frames (0 frames when there is no validation file). */
  validation: FrameSet;
  /** Files that were loaded, sorted by relPath. */
  files: LoadedFile[];
  /** Files left out (unreadable when scanned or when decoded). */
  skipped: SkippedFile[];
  /** One line listing the skipped files and the damaged files used as far as they decode, for the CLI to print once; null when there are none. */
  warning: string | null;
  /** Feature cache use; `dir` is null when caching was off or no cache folder was writable. */
  cache: CacheStats & { dir: string | null };
  /** Threads that analysed files this time (1 unless `threads` asked for more and there was enough to analyse). */
  analysisThreads: number;
}

/**
 * Load a dataset folder as training and validation frame sets.
 *
 * Steps: {@link scanDataset}; for each file (in relPath
 * order) the magnitudes come from the feature cache when a valid entry
 * exists, otherwise the file is decoded (`readAudio`, mixed to mono and
 * resampled to the transform's sample rate) and analysed
 * ({@link analyzeMagnitudes}) and the result cached; finally the magnitudes
 * are scaled ({@link toFeatures}), the readable files are split
 * ({@link splitByFile}) and the frames concatenated per set. Frames of one file
 * are contiguous, in time order. Silent frames are kept (see the module comment).
 *
 * Memory: the magnitudes of all files are held once per file and once
 * concatenated, i.e. up to twice `frames * bins * 4` bytes at the end.
 *
 * @param dir The dataset folder.
 * @param cfg Feature configuration (transform and scaling).
 * @param opts See {@link LoadDatasetOptions}.
 * @returns The frame sets, the file list, the skipped files and one warning line.
 * @throws UserError when the folder is missing, holds no readable audio, gives fewer training frames
 *   than `opts.minTrainFrames` or is silent throughout (below {@link SILENCE_DB}); what the refused
 *   run wrote to the feature cache is removed again ({@link FeatureCache.discard}), and without readable
 *   audio no cache folder is created at all.
 */
export async function loadDataset(dir: string, cfg: FeatureConfig, opts: LoadDatasetOptions = {}): Promise<LoadedDataset> {
  const validationFraction = opts.validationFraction ?? 0.1;
  const seed = opts.seed ?? 0;
  const analyzer = opts.analyzer ?? analyzeMagnitudes;
  // Validate the split fraction before any slow work.
  splitByFile([], validationFraction, seed);
  const minTrainFrames = opts.minTrainFrames ?? 1;
  if (!Number.isInteger(minTrainFrames) || minTrainFrames < 1) throw new RangeError(`loadDataset: minTrainFrames must be a positive integer, got ${minTrainFrames}`);
  const scan = await scanDataset(dir);
  const skipped: SkippedFile[] = [...scan.skipped];
  const noAudio = () => {
    const why = skipped.length ? ` (${skipped.length} unreadable: ${skipped[0].reason}${skipped.length > 1 ? ', ...' : ''})` : '';
    return new UserError(`dataset ${dir} holds no readable audio files${why}; add WAV, FLAC, MP3 or OGG files to it`);
  };
  // Nothing to analyse: refuse before a cache folder is chosen, so none is created in the user's folder.
  if (scan.length === 0) throw noAudio();
  const cacheDir = opts.cacheDir === false ? null : opts.cacheDir !== undefined ? resolve(opts.cacheDir) : defaultCacheDir(dir);
  if (cacheDir && opts.cacheDir !== undefined && !canCreateDir(cacheDir)) {
    throw new UserError(`feature cache folder ${cacheDir} cannot be created or written; choose another cache folder`);
  }
  const cache: FeatureCache | null = cacheDir ? new FeatureCache(cacheDir) : null;
  /** Refuse the dataset: take back what this run wrote to the cache, then throw. */
  const refuse = async (e: UserError): Promise<never> => {
    await cache?.discard();
    throw e;
  };
  const analysis = analysisHash(cfg.transform);

  const totalSeconds = scan.reduce((s, f) => s + f.duration, 0);
  let seconds = 0;
  let done = 0;
  const results: ({ mag: Magnitudes; cached: boolean } | null)[] = scan.map(() => null);
  let bins = -1;
  const report = (i: number, status: DatasetProgress['status']) => {
    done++;
    seconds += scan[i].duration;
    opts.onProgress?.({ done, total: scan.length, seconds, totalSeconds, file: scan[i].relPath, status });
  };
  /** A file's magnitudes: checked against the others, kept, reported. */
  const accept = (i: number, mag: Magnitudes, cached: boolean) => {
    if (bins >= 0 && mag.bins !== bins) throw new Error(`analysis gave ${mag.bins} bins per frame, other files ${bins}`);
    bins = mag.bins;
    results[i] = { mag, cached };
    report(i, cached ? 'cached' : 'analysed');
  };
  const skip = (i: number, e: unknown) => {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    skipped.push({ path: scan[i].path, reason: oneLineReason(e) });
    report(i, 'skipped');
  };
  /** The reader's notes on files used as far as they decode (cut off, damaged frames skipped). */
  const notes: string[] = [];
  /** Analysed magnitudes: cached, then accepted (or the file skipped). */
  const analysed = async (item: { i: number; fingerprint: FileFingerprint | null }, mag: Magnitudes, warnings: string[]) => {
    if (cache && item.fingerprint) await cache.put(scan[item.i].path, analysis, item.fingerprint, mag);
    accept(item.i, mag, false);
    notes.push(...warnings);
  };
  const analyseHere = async (item: { i: number; fingerprint: FileFingerprint | null }) => {
    try {
      const audio = await readAudio(scan[item.i].path, { sampleRate: cfg.transform.sampleRate });
      await analysed(item, analyzer(audio.samples, cfg), audio.warnings);
    } catch (e) {
      skip(item.i, e);
    }
  };

  // Files in the cache are taken from it (in order); the others are analysed: here, one after the other,
  // or (with threads, the default analyser and enough audio to pay for starting threads) on several threads.
  const threads = opts.analyzer ? 1 : Math.max(1, Math.floor(opts.threads ?? 1));
  const misses: { i: number; fingerprint: FileFingerprint | null; path: string }[] = [];
  for (let i = 0; i < scan.length; i++) {
    opts.signal?.throwIfAborted();
    try {
      const fingerprint = cache ? await fingerprintFile(scan[i].path) : null;
      const mag = cache && fingerprint ? await cache.get(scan[i].path, analysis, fingerprint) : null;
      if (mag) accept(i, mag, true);
      else if (threads > 1) misses.push({ i, fingerprint, path: scan[i].path });
      else await analyseHere({ i, fingerprint });
    } catch (e) {
      skip(i, e);
    }
  }
  const missSeconds = misses.reduce((s, m) => s + scan[m.i].duration, 0);
  let analysisThreads = 1;
  if (misses.length > 1 && missSeconds >= (opts.parallelMinSeconds ?? PARALLEL_MIN_SECONDS[cfg.transform.kind])) {
    analysisThreads = Math.min(threads, misses.length);
    await analyseOnThreads(misses, cfg, analysisThreads - 1, analyseHere, async (item, r) => {
      try {
        if ('error' in r) throw r.error;
        await analysed(item, r.mag, r.warnings);
      } catch (e) {
        skip(item.i, e);
      }
    }, opts.signal);
  } else {
    for (const m of misses) {
      opts.signal?.throwIfAborted();
      await analyseHere(m);
    }
  }
  const loaded = scan.flatMap((file, i) => (results[i] ? [{ file, mag: results[i]!.mag, cached: results[i]!.cached }] : []));

  if (loaded.length === 0) await refuse(noAudio());
  // Split the files that loaded, so that both sets are non-empty whenever two files or more are readable.
  const validationSet = splitByFile(
    loaded.map((l) => l.file.relPath),
    validationFraction,
    seed,
  );
  const trainFiles = loaded.filter((l) => !validationSet.has(l.file.relPath));
  const valFiles = loaded.filter((l) => validationSet.has(l.file.relPath));

  // Too little to train on, or nothing but silence: refuse (see the module comment).
  const frameCount = (part: typeof loaded) => part.reduce((n, l) => n + l.mag.frames, 0);
  const audioSeconds = (part: typeof loaded) => part.reduce((n, l) => n + l.file.duration, 0);
  const trainFrameCount = frameCount(trainFiles);
  if (trainFrameCount < minTrainFrames) {
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    const neededSeconds = (minTrainFrames * cfg.transform.hop) / cfg.transform.sampleRate;
    const held = valFiles.length
      ? `, or hold out fewer files for validation (--validation; ${plural(frameCount(valFiles), 'frame')} in ${plural(valFiles.length, 'file')} are held out now)`
      : '';
    await refuse(
      new UserError(
        `dataset ${dir} is too small to train on: its training set has ${plural(trainFrameCount, 'frame')} ` +
          `(${plural(trainFiles.length, 'file')}, ${formatSeconds(audioSeconds(trainFiles))} s of audio) but training needs at least ${plural(minTrainFrames, 'frame')} ` +
          `(about ${formatSeconds(neededSeconds)} s of audio); add more or longer audio files${held}`,
      ),
    );
  }
  let peak = 0;
  for (const l of loaded) {
    const d = l.mag.data;
    for (let i = 0; i < d.length; i++) if (d[i] > peak) peak = d[i];
  }
  if (peak < fullScalePeak(cfg) * 10 ** (SILENCE_DB / 20)) {
    await refuse(
      new UserError(
        `dataset ${dir} is silent: its ${loaded.length === 1 ? 'file' : `${loaded.length} files`} (${formatSeconds(audioSeconds(loaded))} s of audio) ` +
          `${loaded.length === 1 ? 'holds' : 'hold'} nothing louder than ${SILENCE_DB} dBFS, so there is no timbre to learn; add recordings with sound to it`,
      ),
    );
  }
  const files: LoadedFile[] = [];
  const concat = (part: typeof loaded, split: LoadedFile['split']): FrameSet => {
    const frames = part.reduce((n, l) => n + l.mag.frames, 0);
    const data = new Float32Array(frames * bins);
    let row = 0;
    for (const l of part) {
      data.set(l.mag.data, row * bins);
      files.push({ ...l.file, split, firstFrame: row, frames: l.mag.frames, cached: l.cached });
      row += l.mag.frames;
    }
    const set = toFeatures({ frames, bins, data }, cfg.scaling, true);
    return { frames: set.frames, bins: set.bins, data: set.data };
  };
  const train = concat(trainFiles, 'train');
  const validation = concat(valFiles, 'validation');
  files.sort((a, b) => byCodeUnits(a.relPath, b.relPath));
  skipped.sort((a, b) => byCodeUnits(a.path, b.path));
  notes.sort(byCodeUnits);
  const parts = [
    skipped.length
      ? `skipped ${skipped.length} unreadable file${skipped.length > 1 ? 's' : ''}: ${skipped
          .map((s) => `${relative(resolve(dir), s.path) || s.path} (${s.reason})`)
          .join('; ')}`
      : '',
    notes.length ? `used ${notes.length} damaged file${notes.length > 1 ? 's' : ''} as far as ${notes.length > 1 ? 'they decode' : 'it decodes'}: ${notes.join('; ')}` : '',
  ].filter(Boolean);
  const warning = parts.length ? parts.join('; ') : null;
  return {
    train,
    validation,
    files,
    skipped,
    warning,
    cache: { ...(cache?.stats ?? { hits: 0, misses: 0, invalid: 0, writes: 0, writeErrors: 0 }), dir: cache?.dir ?? null },
    analysisThreads,
  };
}
