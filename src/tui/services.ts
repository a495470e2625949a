/**
 * The side-effect services the instrument uses, behind one interface so
 * that the components stay pure and tests can hand in real services on
 * small data (a generated dataset, a tiny trained model, a private state
 * folder, an audio output with a test ALSA configuration).
 *
 * {@link createServices} builds the real ones: the dataset scanner of the
 * engine, the audio reader, the render pipeline in a worker thread
 * ({@link RenderWorker}) and the PortAudio output in a child process. Each
 * is imported when first used, after the first screen is drawn, so that the
 * instrument appears as soon as Ink has loaded.
 */
import { join } from 'node:path';
import type { AudioOutput } from '../io/audio-out.ts';
import type { ModelInfo, RenderWorker } from '../engine/render-worker.ts';
import { PRESETS_DIR } from '../engine/curve.ts';
import type { RenderOutcome, RenderParams, RenderProgress, RenderTarget } from '../engine/render-types.ts';
import type { DatasetEntry } from './state.ts';
import { makeWaveformData, type WaveformData } from './waveform.ts';

/** The render pipeline as the UI drives it (implemented by {@link RenderWorker}). */
export interface RenderService {
  /** Resolves with the tfjs backend once the pipeline is initialised. */
  readonly ready: Promise<{ backend: string; description?: string }>;
  /** Load a model folder. */
  loadModel(dir: string): Promise<ModelInfo>;
  /** Render; rejects with an error named `RenderCancelled` when `signal` aborts. */
  render(
    params: RenderParams,
    target: RenderTarget,
    opts?: { onProgress?: (p: RenderProgress) => void; signal?: AbortSignal },
  ): Promise<RenderOutcome>;
  close(): Promise<void>;
}

/** Everything the instrument does outside its own state. */
export interface TuiServices {
  /** List the audio files of a dataset folder (with the unreadable ones). */
  scanDataset(dir: string): Promise<{ files: DatasetEntry[]; skipped: { path: string; reason: string }[] }>;
  /** Decode a file to mono at its own rate, with its waveform envelope. */
  loadAudio(path: string): Promise<WaveformData>;
  renderer: RenderService;
  audio: Pick<AudioOutput, 'status' | 'play' | 'stop' | 'close'>;
  /** Folder of curve presets (`presets/` of the project). */
  presetsDir: string;
  /** Folder of numbered renders (`<stateDir>/renders`). */
  rendersDir: string;
}

/** Scan a dataset with the engine's scanner, in the shape the browser lists. */
export async function scanForBrowser(dir: string): Promise<{ files: DatasetEntry[]; skipped: { path: string; reason: string }[] }> {
  const { scanDataset } = await import('../engine/dataset.ts');
  const scan = await scanDataset(dir);
  return {
    files: scan.map((f) => ({ path: f.path, relPath: f.relPath, duration: f.duration, sampleRate: f.sampleRate, channels: f.channels })),
    skipped: scan.skipped.map((s) => ({ path: s.path, reason: s.reason })),
  };
}

/** Decode an audio file for the waveform views and auditioning. */
export async function loadWaveform(path: string): Promise<WaveformData> {
  const { readAudio } = await import('../io/audio.ts');
  const a = await readAudio(path);
  return makeWaveformData(a.samples, a.sampleRate);
}

/**
 * A {@link RenderService} that loads the render worker module (and, through
 * it, TensorFlow.js) only after the first screen is drawn: the import costs
 * about a second, and the worker thread then initialises tfjs beside the UI.
 *
 * @param backend tfjs backend preference for the worker.
 */
export function lazyRenderWorker(backend?: string): RenderService {
  const worker: Promise<RenderWorker> = new Promise<void>((r) => setImmediate(r))
    .then(() => import('../engine/render-worker.ts'))
    .then((m) => m.RenderWorker.start({ backend }));
  const ready = worker.then((w) => w.ready);
  ready.catch(() => undefined);
  return {
    ready,
    loadModel: async (dir) => (await worker).loadModel(dir),
    render: async (params, target, opts) => (await worker).render(params, target, opts),
    close: async () => {
      const w = await worker.catch(() => null);
      await w?.close();
    },
  };
}

/** An audio output whose PortAudio child module is imported on first use. */
export function lazyAudioOutput(env?: NodeJS.ProcessEnv): TuiServices['audio'] {
  let out: Promise<AudioOutput> | null = null;
  let made: AudioOutput | null = null;
  const get = () => {
    out ??= import('../io/audio-out.ts').then((m) => (made = m.createAudioOutput(env ? { env } : {})));
    return out;
  };
  return {
    status: async () => (await get()).status(),
    play: async (samples, sampleRate, opts) => (await get()).play(samples, sampleRate, opts),
    stop: () => made?.stop(),
    close: () => made?.close(),
  };
}

/**
 * The real services.
 *
 * @param opts.stateDir state folder; renders go to `<stateDir>/renders`.
 * @param opts.backend tfjs backend preference for the render worker (default auto).
 * @param opts.presetsDir preset folder (default the project's `presets/`).
 * @param opts.audioEnv extra environment for the audio child (an ALSA configuration in tests).
 */
export function createServices(opts: { stateDir: string; backend?: string; presetsDir?: string; audioEnv?: NodeJS.ProcessEnv }): TuiServices {
  return {
    scanDataset: scanForBrowser,
    loadAudio: loadWaveform,
    renderer: lazyRenderWorker(opts.backend),
    audio: lazyAudioOutput(opts.audioEnv),
    presetsDir: opts.presetsDir ?? PRESETS_DIR,
    rendersDir: join(opts.stateDir, 'renders'),
  };
}
