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
import { createReadStream, type ReadStream } from 'node:fs';
import { createMidiInput, type MidiBackend, type MidiInput } from '../io/midi.ts';
import type { ListenServer } from '../io/listen-server.ts';
import { LiveWorker, type LiveService } from './live-worker.ts';
import type { ModelInfo, PrepareParams, RenderWorker } from '../engine/render-worker.ts';
import { PRESETS_DIR } from '../engine/curve.ts';
import type { RenderOutcome, RenderParams, RenderProgress, RenderTarget } from '../engine/render-types.ts';
import type { DatasetEntry } from './state.ts';
import { makeWaveformData, type WaveformData } from './waveform.ts';

/** The render pipeline as the UI drives it (implemented by {@link RenderWorker}). */
export interface RenderService {
  /** Resolves with the tfjs backend once the pipeline is initialised. */
  readonly ready: Promise<{ backend: string; description?: string; threads?: number }>;
  /** Load a model folder. */
  loadModel(dir: string): Promise<ModelInfo>;
  /** Encode both excerpts ahead of a render (see `RenderWorker.prepare`); optional for other renderers. */
  prepare?(params: PrepareParams): Promise<void>;
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
  /** Live mode (the streaming engine in a worker thread); absent: Ctrl-L explains that live mode is unavailable. */
  live?: LiveService;
  /** Open the MIDI system (called once, after the first screen); absent: no MIDI. */
  midi?: () => MidiInput;
  /** File the current MIDI mappings are kept in between runs (`<stateDir>/midi-map.json`); absent: not kept. */
  midiMapPath?: string;
  /** Start the OSC server for the original Max patch (Ctrl-E, `--osc`); absent: not offered. */
  startOsc?: (opts: { port: number; replyPort?: number; log: (line: string) => void }) => Promise<OscHandle>;
  /** The listening page's server (`--listen`), or null. */
  listen?: ListenServer | null;
  /** tfjs backend preference of the live engine (as `--backend`). */
  backend?: string;
  /** Extra environment of the live engine's audio child (an ALSA configuration in tests). */
  audioEnv?: NodeJS.ProcessEnv;
}

/** A running OSC server as the instrument sees it. */
export interface OscHandle {
  /** UDP port it listens on. */
  port: number;
  /** UDP port replies go to. */
  replyPort: number;
  close(): Promise<void>;
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
  return makeWaveformData(a.samples, a.sampleRate, a.warnings);
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
    prepare: async (params) => (await worker).prepare(params),
    render: async (params, target, opts) => (await worker).render(params, target, opts),
    close: async () => {
      const w = await worker.catch(() => null);
      await w?.close();
    },
  };
}

/** An audio output whose PortAudio child module is imported on first use (the whole {@link AudioOutput}, so the OSC server and the listening page can share it). */
export function lazyAudioOutput(env?: NodeJS.ProcessEnv): AudioOutput {
  let out: Promise<AudioOutput> | null = null;
  let made: AudioOutput | null = null;
  const get = () => {
    out ??= import('../io/audio-out.ts').then((m) => (made = m.createAudioOutput(env ? { env } : {})));
    return out;
  };
  return {
    listDevices: async () => (await get()).listDevices(),
    status: async () => (await get()).status(),
    play: async (samples, sampleRate, opts) => (await get()).play(samples, sampleRate, opts),
    openStream: async (sampleRate, opts) => (await get()).openStream(sampleRate, opts),
    stop: () => made?.stop(),
    close: () => made?.close(),
    get lastStatus() {
      return made?.lastStatus;
    },
  };
}

/**
 * Start the OSC server ({@link https://github.com/ktatar/latent-timbre-synthesis the original's} protocol,
 * src/engine/osc-server.ts) on the instrument's render worker and audio output. Its module (and with it
 * TensorFlow.js, for importing original runs) is imported on the first start.
 */
export function oscStarter(renderer: RenderService, audio: AudioOutput, rendersDir: string): NonNullable<TuiServices['startOsc']> {
  return async ({ port, replyPort, log }) => {
    const { OscServer } = await import('../engine/osc-server.ts');
    const server = await OscServer.start({ port, replyPort, rendersDir, renderer, audio, log });
    return { port: server.local.port, replyPort: server.replyTo.port, close: () => server.close() };
  };
}

/**
 * A MIDI port backend whose one port, named after the file, delivers the raw bytes written to a
 * file or named pipe (each read is handed on as it arrives). For benchmarks and scripted tests on
 * machines without an ALSA sequencer: `mkfifo /tmp/cc && LTS_TUI_MIDI_FIFO=/tmp/cc lts`, then write
 * MIDI bytes to /tmp/cc. The bytes take the device path of {@link createMidiInput}.
 *
 * @param path The file or pipe.
 */
export function fifoMidiBackend(path: string): MidiBackend {
  const listeners: ((deltaTime: number, message: number[]) => void)[] = [];
  let stream: ReadStream | null = null;
  let last = performance.now();
  return {
    getPortCount: () => 1,
    getPortName: () => `pipe ${path}`,
    openPort: () => {
      stream?.destroy();
      // 'r+' keeps a named pipe open across writers (no end of file when one writer closes).
      stream = createReadStream(path, { flags: 'r+', highWaterMark: 64 });
      stream.on('data', (chunk) => {
        const now = performance.now();
        const bytes = Array.from(chunk as Buffer);
        for (const l of listeners) l((now - last) / 1000, bytes);
        last = now;
      });
      stream.on('error', () => undefined);
    },
    closePort: () => {
      stream?.destroy();
      stream = null;
    },
    isPortOpen: () => stream !== null,
    ignoreTypes: () => undefined,
    on: (_event, cb) => listeners.push(cb),
    destroy: () => stream?.destroy(),
  };
}

/**
 * The real services. MIDI comes from `@julusian/midi`, or, with `LTS_TUI_MIDI_FIFO=PATH` in the
 * environment, from {@link fifoMidiBackend} (benchmarks).
 *
 * @param opts.stateDir state folder; renders go to `<stateDir>/renders`.
 * @param opts.backend tfjs backend preference for the render worker (default auto).
 * @param opts.presetsDir preset folder (default the project's `presets/`).
 * @param opts.audioEnv extra environment for the audio child (an ALSA configuration in tests).
 */
export function createServices(opts: { stateDir: string; backend?: string; presetsDir?: string; audioEnv?: NodeJS.ProcessEnv }): TuiServices {
  const renderer = lazyRenderWorker(opts.backend);
  const audio = lazyAudioOutput(opts.audioEnv);
  const rendersDir = join(opts.stateDir, 'renders');
  return {
    scanDataset: scanForBrowser,
    loadAudio: loadWaveform,
    renderer,
    audio,
    presetsDir: opts.presetsDir ?? PRESETS_DIR,
    rendersDir,
    live: new LiveWorker({ probe: process.env.LTS_TUI_TRACE !== undefined }),
    midi: () => {
      const fifo = process.env.LTS_TUI_MIDI_FIFO;
      return fifo ? createMidiInput({ backend: fifoMidiBackend(fifo) }) : createMidiInput();
    },
    midiMapPath: join(opts.stateDir, 'midi-map.json'),
    startOsc: oscStarter(renderer, audio, rendersDir),
    backend: opts.backend,
    audioEnv: opts.audioEnv,
  };
}
