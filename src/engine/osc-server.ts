/**
 * OSC server compatible with the Max patch of the original Latent Timbre Synthesis
 * (K. Tatar, D. Bisig, P. Pasquier 2020; `app/interpolate_two/max_ui.maxpat` and its Python engine
 * `app/interpolate_two/main.py` in ktatar/latent-timbre-synthesis).
 *
 * The patch sends to UDP port 7020 and listens for replies on 7021, both on 127.0.0.1 by default.
 *
 * | received | effect | replies |
 * |---|---|---|
 * | `/test/connection` | | `/report "Connection works. #N"` |
 * | `/load/dataset PATH` | dataset folder (its `audio/` subfolder when present; `npy/` is ignored, sounds are re-analysed) | `/dataset PATH`, `/report` |
 * | `/load/model PATH` | an lts model folder, or an original run folder `run-NNN/` (`config.ini`, `model/mymodel_last.h5`), imported once into a cache | `/model/batch_size N`, `/report` |
 * | `/batch_size/set INT` | inference batch size (kept for the patch; our encoder chunks by itself) | `/model/batch_size N`, `/report` |
 * | `/output/normalize 0\|1` | peak-normalise renders to −1 dBFS | `/output/normalize 0\|1`, `/report` |
 * | `/output/gf_iter INT` | phase iterations (Fast Griffin-Lim), 0–512 | `/output/gf_iter N`, `/report` |
 * | `/sound/set_phase_iter INT` | the same, 0–64 (the patch's range) | `/report` |
 * | `/audio/devicelist` | | `/audio/devicelist "clear"`, then `"ID NAME"` per output device |
 * | `/audio/device/in ID`, `/audio/device/out ID` | device choice (lts plays only; the input is remembered) | `/report` |
 * | `/sound/interpolate_two/first/audio_path PATH` (and `second`) | an audio file; a name not found as given is looked up by file stem in the dataset | `.../first/path`, `.../first/name`, `/report` |
 * | `/set_alfa V1 … Vn` | the curve: `a = (v + 1) / 2` per value, resampled linearly to the frame count | `/report` |
 * | `/interpolate_two/generate DUR OFF1 OFF2` | render `DUR` seconds from `OFF1` of the first and `OFF2` of the second sound (seconds), write it to the renders folder, play it | `/report`s of the stages |
 * | `/sound/interpolate_two/play_again`, `/sound/stop` | playback; stop also cancels a running render | `/report` |
 * | `/sound/interpolate_two/save_folder PATH`, `/sound/interpolate_two/save` | copy the last render (WAV + JSON sidecar) to `generated_audio-NNNNN.wav` there, atomically, never overwriting | `/report` |
 *
 * At start-up the device list and `/audio/io "IN OUT"` are sent, as the original does. Unknown
 * addresses, wrong argument types and malformed packets are answered with a `/report` giving the
 * reason; nothing a client sends can stop the server.
 *
 * Differences from the original engine, all deliberate: renders are deterministic (z is the mixed
 * posterior mean, the random phase start is seeded); the duration is used as given instead of truncated
 * to whole seconds; the normalise flag is applied; every render is written to disk with a JSON sidecar
 * that `lts render --from` reproduces; phase reconstruction uses the invertible constant-Q transform
 * (`fgla`) for constant-Q models and PGHI followed by FGLA for STFT models.
 *
 * Messages that change the model or produce audio (`/load/model`, `/interpolate_two/generate`,
 * `.../play_again`, `.../save`) run one after another in arrival order; every other message is
 * answered at once, also while a render runs. Renders run in a worker thread ({@link RenderWorker}).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, openSync, closeSync, unlinkSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { UserError, isUserError } from '../io/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { isAudioFile, probeAudio } from '../io/audio.ts';
import { createAudioOutput, type AudioOutput, type PlaybackHandle } from '../io/audio-out.ts';
import { openOscPort, describeArgs, oscInt, oscString, type OscArg, type OscMessage, type OscPort } from '../io/osc.ts';
import { curveFromValues, formatCurveSpec } from './curve.ts';
import { scanDataset, type DatasetFile } from './dataset.ts';
import { userCacheDir } from './feature-cache.ts';
import { importLtsRun, isOriginalLtsRun, readOriginalConfig, findOriginalH5 } from './import-lts.ts';
import { RENDER_DEFAULTS, RenderCancelled, defaultPhaseMethod, defaultPhaseSettings } from './render.ts';
import { RenderWorker, type ModelInfo } from './render-worker.ts';
import type { RenderOutcome, RenderParams, RenderProgress, RenderTarget, RenderStage } from './render-types.ts';

/** The render pipeline the server drives: {@link RenderWorker} (or anything with its shape). */
export interface OscRenderBackend {
  loadModel(dir: string): Promise<ModelInfo>;
  render(params: RenderParams, target: RenderTarget, opts?: { onProgress?: (p: RenderProgress) => void; signal?: AbortSignal }): Promise<RenderOutcome>;
  close(): Promise<void>;
}

/** Options of {@link OscServer.start}. */
export interface OscServerOptions {
  /** Interface to listen on, default `127.0.0.1`. */
  host?: string;
  /** UDP port to listen on, default 7020 (the original's); 0 picks a free port. */
  port?: number;
  /** Where replies go, default `127.0.0.1`. */
  replyHost?: string;
  /** Port replies go to, default 7021 (the original's). */
  replyPort?: number;
  /** Folder for numbered renders `render-NNNN.wav` + sidecar, default `./renders`. */
  rendersDir?: string;
  /** Where imported original runs are cached, default `~/.cache/lts/imported` (`$XDG_CACHE_HOME/lts/imported`). */
  importDir?: string;
  /** tfjs backend of the render worker: auto (default), tensorflow, wasm, cpu. */
  backend?: string;
  /** Audio output; default {@link createAudioOutput}(). Closed by {@link OscServer.close} only if created here. */
  audio?: AudioOutput;
  /** Render pipeline; default a new {@link RenderWorker}. Closed by {@link OscServer.close} only if created here. */
  renderer?: OscRenderBackend;
  /** Log sink: every received message and every report, one line each. Default: silent. */
  log?: (line: string) => void;
}

/** UDP port the original engine listens on (the Max patch's `udpsend 127.0.0.1 7020`). */
export const OSC_DEFAULT_PORT = 7020;
/** UDP port the original engine replies to (the Max patch's `udpreceive 7021`). */
export const OSC_DEFAULT_REPLY_PORT = 7021;

/** Phase iterations used until the patch sends `/output/gf_iter` (the original started at 1, too few for FGLA from a random start). */
export const OSC_DEFAULT_ITERATIONS = RENDER_DEFAULTS.iterations;

/** Peak level of normalised renders, dBFS. */
export const OSC_NORMALIZE_DBFS = -1;

/** Every address the server understands. */
export const OSC_ADDRESSES: readonly string[] = [
  '/test/connection',
  '/load/dataset',
  '/load/model',
  '/batch_size/set',
  '/output/normalize',
  '/output/gf_iter',
  '/sound/set_phase_iter',
  '/audio/devicelist',
  '/audio/device/in',
  '/audio/device/out',
  '/sound/interpolate_two/first/audio_path',
  '/sound/interpolate_two/second/audio_path',
  '/set_alfa',
  '/interpolate_two/generate',
  '/sound/interpolate_two/play_again',
  '/sound/stop',
  '/sound/interpolate_two/save_folder',
  '/sound/interpolate_two/save',
];

/** A bad message: reported to the client, never thrown out of the server. */
class OscArgError extends UserError {}

interface SoundSlot {
  path: string;
  name: string;
  duration: number;
}

interface LastRender {
  path: string;
  sidecarPath: string;
  samples: Float32Array;
  sampleRate: number;
}

/** Snapshot of the server state (for a UI). */
export interface OscServerState {
  dataset: string | null;
  model: { dir: string; source: 'lts' | 'original'; info: ModelInfo } | null;
  first: SoundSlot | null;
  second: SoundSlot | null;
  /** The last `/set_alfa` values (v in the patch's −1..1), or null for the default a = 0.5. */
  alfa: Float32Array | null;
  iterations: number;
  normalize: boolean;
  batchSize: number;
  saveFolder: string | null;
  inputDevice: number | null;
  outputDevice: number | null;
  lastRender: string | null;
  generating: boolean;
}

/**
 * The OSC server: a UDP port, the protocol state machine, a render worker and an audio output.
 *
 * @example
 * const server = await OscServer.start({ port: 7020, replyPort: 7021, log: console.log });
 * // ... later
 * await server.close();
 */
export class OscServer {
  private port!: OscPort;
  private readonly replyHost: string;
  private readonly replyPort: number;
  private readonly rendersDir: string;
  private readonly importDir: string;
  private readonly audio: AudioOutput;
  private readonly ownsAudio: boolean;
  private renderer: OscRenderBackend | null;
  private readonly ownsRenderer: boolean;
  private readonly backend: string | undefined;
  private readonly log: (line: string) => void;

  private dataset: string | null = null;
  private datasetAudioDir: string | null = null;
  private datasetFiles: DatasetFile[] = [];
  private model: OscServerState['model'] = null;
  private first: SoundSlot | null = null;
  private second: SoundSlot | null = null;
  private alfa: Float32Array | null = null;
  private iterations = OSC_DEFAULT_ITERATIONS;
  private normalize = false;
  private batchSize = 16;
  private saveFolder: string | null = null;
  private inputDevice: number | null = null;
  private outputDevice: number | null = null;
  private last: LastRender | null = null;
  private playing: PlaybackHandle | null = null;
  private generating: AbortController | null = null;
  /** Loads, renders, playback and saves, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  /** Every other message, in arrival order (quick: settings, file look-ups). */
  private light: Promise<void> = Promise.resolve();
  private connectionTests = 0;
  private closed = false;

  private constructor(opts: OscServerOptions) {
    this.replyHost = opts.replyHost ?? '127.0.0.1';
    this.replyPort = opts.replyPort ?? OSC_DEFAULT_REPLY_PORT;
    this.rendersDir = resolve(opts.rendersDir ?? 'renders');
    this.importDir = resolve(opts.importDir ?? join(userCacheDir(), 'imported'));
    this.audio = opts.audio ?? createAudioOutput();
    this.ownsAudio = !opts.audio;
    this.renderer = opts.renderer ?? null;
    this.ownsRenderer = !opts.renderer;
    this.backend = opts.backend;
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * Bind the port, send the start-up messages (device list, `/audio/io`, a waiting report) and start
   * serving.
   *
   * @throws UserError when the port cannot be bound (in use: another server or the original engine).
   */
  static async start(opts: OscServerOptions = {}): Promise<OscServer> {
    const replyPort = opts.replyPort ?? OSC_DEFAULT_REPLY_PORT;
    const port = opts.port ?? OSC_DEFAULT_PORT;
    for (const [name, p] of [['--port', port], ['--reply-port', replyPort]] as const) {
      if (!Number.isInteger(p) || p < 0 || p > 65535 || (name === '--reply-port' && p === 0)) {
        throw new UserError(`${name} ${p}: not a UDP port; use a whole number from 1 to 65535`);
      }
    }
    const server = new OscServer(opts);
    server.port = await openOscPort({
      host: opts.host ?? '127.0.0.1',
      port,
      onMessage: (m) => server.receive(m),
      onDecodeError: (e, from) => server.report(`Ignored a malformed OSC packet from ${from.address}:${from.port}: ${e.message}`),
    });
    server.renderer ??= RenderWorker.start({ backend: opts.backend });
    await server.startup();
    return server;
  }

  /** The address and port the server listens on. */
  get local(): { address: string; port: number } {
    return this.port.local;
  }

  /** Where replies go. */
  get replyTo(): { host: string; port: number } {
    return { host: this.replyHost, port: this.replyPort };
  }

  /** A snapshot of the current state. */
  state(): OscServerState {
    return {
      dataset: this.dataset,
      model: this.model,
      first: this.first,
      second: this.second,
      alfa: this.alfa ? Float32Array.from(this.alfa) : null,
      iterations: this.iterations,
      normalize: this.normalize,
      batchSize: this.batchSize,
      saveFolder: this.saveFolder,
      inputDevice: this.inputDevice,
      outputDevice: this.outputDevice,
      lastRender: this.last?.path ?? null,
      generating: this.generating !== null,
    };
  }

  /** Resolves when every queued message (loads, renders, saves) has been handled. */
  async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await Promise.all([this.light, q]);
    } while (q !== this.queue);
  }

  /** Stop serving: cancel a render, stop playback, close the port, the worker and the audio child. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generating?.abort();
    this.playing?.stop();
    await this.port.close();
    await Promise.all([this.queue, this.light]).catch(() => undefined);
    if (this.ownsRenderer) await this.renderer?.close().catch(() => undefined);
    if (this.ownsAudio) this.audio.close();
  }

  // ------------------------------------------------------------ plumbing

  private send(address: string, args: OscArg[]): void {
    if (this.closed) return;
    this.port.send({ address, args }, this.replyHost, this.replyPort).catch(() => undefined);
  }

  private report(text: string): void {
    this.log(`report: ${text}`);
    this.send('/report', [oscString(text)]);
  }

  private async startup(): Promise<void> {
    this.report('Initiating audio...');
    await this.sendDeviceList();
    const status = this.audio.lastStatus;
    let out = -1;
    if (status?.available) {
      const devs = await this.audio.listDevices();
      out = devs.find((d) => d.isDefault)?.id ?? devs[0]?.id ?? -1;
    }
    this.send('/audio/io', [oscString(`${this.inputDevice ?? -1} ${this.outputDevice ?? out}`)]);
    this.report('Waiting osc message to load a model...');
  }

  private receive(m: OscMessage): void {
    if (this.closed) return;
    this.log(`received: ${m.address}${m.args.length ? ' ' + describeArgs(m.args) : ''}`);
    const queued = new Set(['/load/model', '/interpolate_two/generate', '/sound/interpolate_two/play_again', '/sound/interpolate_two/save']);
    if (queued.has(m.address)) {
      // Wait for the settings that arrived before (sounds, curve, iterations) without holding them up later.
      const settled = this.light;
      this.queue = this.queue.then(() => settled).then(() => this.dispatch(m));
    } else {
      this.light = this.light.then(() => this.dispatch(m));
    }
  }

  private async dispatch(m: OscMessage): Promise<void> {
    try {
      await this.handle(m);
    } catch (e) {
      if (isUserError(e)) this.report(e.message);
      else {
        const msg = String((e as Error)?.message ?? e).split('\n')[0];
        this.log(`internal error in ${m.address}: ${(e as Error)?.stack ?? msg}`);
        this.report(`${m.address}: internal error (${msg}); the server keeps running, please report this`);
      }
    }
  }

  private async handle(m: OscMessage): Promise<void> {
    switch (m.address) {
      case '/test/connection':
        this.connectionTests++;
        this.report(`Connection works. #${this.connectionTests}`);
        return;
      case '/load/dataset':
        return this.loadDataset(argString(m, 0, 'PATH of the dataset folder'));
      case '/load/model':
        return this.loadModel(argString(m, 0, 'PATH of a model or run folder'));
      case '/batch_size/set': {
        const n = argInt(m, 0, 1, 65536, 'the batch size');
        this.batchSize = n;
        this.send('/model/batch_size', [oscInt(n)]);
        this.report(`Batch size is set to: ${n}`);
        return;
      }
      case '/output/normalize': {
        const on = argFlag(m, 0);
        this.normalize = on;
        this.send('/output/normalize', [oscInt(on ? 1 : 0)]);
        this.report(on ? `Output normalization is on (peak ${OSC_NORMALIZE_DBFS} dBFS).` : 'Output normalization is off.');
        return;
      }
      case '/output/gf_iter': {
        const n = argInt(m, 0, 0, 512, 'the number of phase iterations');
        this.iterations = n;
        this.send('/output/gf_iter', [oscInt(n)]);
        this.report(`Griffin Lim number of iterations is set to: ${n}`);
        return;
      }
      case '/sound/set_phase_iter': {
        const n = argInt(m, 0, 0, 64, 'the number of phase iterations');
        this.iterations = n;
        this.report(`Number of phase estimation iterations set to ${n}`);
        return;
      }
      case '/audio/devicelist':
        return this.sendDeviceList();
      case '/audio/device/in': {
        const id = argInt(m, 0, -1, 100000, 'the input device ID');
        this.inputDevice = id;
        this.report(`Audio input is set to ${id} (lts only plays sound; the input is not used)`);
        return;
      }
      case '/audio/device/out':
        return this.setOutputDevice(argInt(m, 0, -1, 100000, 'the output device ID'));
      case '/sound/interpolate_two/first/audio_path':
        return this.setSound('first', argString(m, 0, 'PATH of an audio file'));
      case '/sound/interpolate_two/second/audio_path':
        return this.setSound('second', argString(m, 0, 'PATH of an audio file'));
      case '/set_alfa':
        return this.setAlfa(m);
      case '/interpolate_two/generate':
        return this.generate(m);
      case '/sound/interpolate_two/play_again':
        return this.playAgain();
      case '/sound/stop':
        this.generating?.abort();
        this.playing?.stop();
        this.audio.stop();
        this.playing = null;
        this.report('Stopped audio playback...');
        return;
      case '/sound/interpolate_two/save_folder':
        return this.setSaveFolder(argString(m, 0, 'PATH of an existing folder'));
      case '/sound/interpolate_two/save':
        return this.save();
      default:
        this.report(`Unknown OSC address ${m.address}; lts osc understands ${OSC_ADDRESSES.join(' ')}`);
    }
  }

  // ------------------------------------------------------------ handlers

  private async loadDataset(path: string): Promise<void> {
    const abs = resolve(path);
    if (!isDir(abs)) {
      this.report(`Could not set the dataset: ${path} is not an existing folder; send the dataset folder (the one holding audio/)`);
      return;
    }
    const audioDir = isDir(join(abs, 'audio')) ? join(abs, 'audio') : abs;
    const files = await scanDataset(audioDir);
    this.dataset = abs;
    this.datasetAudioDir = audioDir;
    this.datasetFiles = [...files];
    this.send('/dataset', [oscString(abs)]);
    const npy = isDir(join(abs, 'npy')) ? '; its npy/ features are not needed, lts analyses the audio itself' : '';
    this.report(`Dataset is set to: ${abs} (${files.length} audio files in ${audioDir}${npy})`);
  }

  private async loadModel(path: string): Promise<void> {
    const abs = resolve(path);
    if (!isDir(abs)) {
      this.report(`Run path does not exist: ${abs}; could not load the model`);
      return;
    }
    let dir = abs;
    let source: 'lts' | 'original' = 'lts';
    let batchSize: number;
    if (existsSync(join(abs, 'config.json'))) {
      batchSize = readLtsBatchSize(abs);
    } else if (isOriginalLtsRun(abs)) {
      source = 'original';
      const original = readOriginalConfig(join(abs, 'config.ini'));
      batchSize = original.batchSize;
      const h5 = findOriginalH5(abs);
      const key = createHash('sha256').update(readFileSync(join(abs, 'config.ini'))).update(readFileSync(h5)).digest('hex').slice(0, 20);
      dir = join(this.importDir, `${basename(abs)}-${key}`);
      if (!existsSync(join(dir, 'weights.json'))) {
        this.report(`Importing the original LTS run ${abs} (Keras weights) into ${dir}`);
        await importLtsRun(abs, dir, { force: true, backend: 'cpu' });
      }
    } else {
      this.report(`Could not load a model from ${abs}: it has neither config.json (an lts model) nor config.ini with model/mymodel_last.h5 (an original LTS run)`);
      return;
    }
    const info = await this.renderer!.loadModel(dir);
    this.model = { dir, source, info };
    this.batchSize = batchSize;
    this.send('/model/batch_size', [oscInt(batchSize)]);
    this.report(`Model loaded successfully from ${abs} (${info.transform === 'cqt' ? 'constant-Q' : 'STFT'}, ${info.sampleRate} Hz, latent ${info.latent})`);
  }

  private async setSound(slot: 'first' | 'second', path: string): Promise<void> {
    const Slot = slot === 'first' ? 'First' : 'Second';
    const found = this.findSound(path);
    if (!found) {
      const where = this.datasetAudioDir ? `and no file named ${stem(path)} is in ${this.datasetAudioDir}` : 'and no dataset is loaded (send /load/dataset first)';
      this.report(`Could not set the ${slot} sound for interpolate_two: ${path} does not exist ${where}`);
      return;
    }
    const info = await probeAudio(found);
    const s: SoundSlot = { path: found, name: stem(found), duration: info.duration };
    if (slot === 'first') this.first = s;
    else this.second = s;
    this.send(`/sound/interpolate_two/${slot}/path`, [oscString(found)]);
    this.send(`/sound/interpolate_two/${slot}/name`, [oscString(s.name)]);
    this.report(`${Slot} sound is set to: ${s.name} at the path ${found} (${s.duration.toFixed(2)} s)`);
  }

  private findSound(path: string): string | null {
    const abs = resolve(path);
    if (existsSync(abs) && statSync(abs).isFile() && isAudioFile(abs)) return abs;
    const want = stem(path);
    const matches = this.datasetFiles.filter((f) => stem(f.path) === want);
    if (matches.length === 0) return null;
    return (matches.find((f) => extname(f.path).toLowerCase() === '.wav') ?? matches[0]).path;
  }

  private setAlfa(m: OscMessage): void {
    if (m.args.length === 0) throw new OscArgError('/set_alfa: no values; send the curve as numbers from -1 to 1 (the patch sends 1000)');
    const v = new Float32Array(m.args.length);
    m.args.forEach((arg, i) => {
      const x = numeric(arg);
      if (x === null) throw new OscArgError(`/set_alfa: value ${i + 1} is ${describeArgs([arg])}, not a number; the curve was not changed`);
      if (!Number.isFinite(x) || Math.abs((x + 1) / 2) > 10) {
        throw new OscArgError(`/set_alfa: value ${i + 1} (${x}) is outside -19..21; send values from -1 (all second sound) to 1 (all first sound)`);
      }
      v[i] = x;
    });
    this.alfa = v;
    this.report(`Alfa vector is updated (${v.length} values).`);
  }

  private async generate(m: OscMessage): Promise<void> {
    if (m.args.length !== 3) {
      this.report(`Error: generate needs 3 arguments (got ${m.args.length}): duration, audio_1_offset, audio_2_offset, in seconds`);
      return;
    }
    const [dur, off1, off2] = m.args.map((arg, i) => {
      const x = numeric(arg);
      const names = ['duration', 'audio_1_offset', 'audio_2_offset'];
      if (x === null || !Number.isFinite(x) || x < 0) throw new OscArgError(`/interpolate_two/generate: ${names[i]} is ${describeArgs([arg])}; send a number of seconds >= 0`);
      return x;
    });
    if (!this.model) {
      this.report('Cannot generate: no model loaded; send /load/model with a model or run folder first');
      return;
    }
    if (!this.first || !this.second) {
      this.report(`Cannot generate: the ${this.first ? 'second' : 'first'} sound is not set; send /sound/interpolate_two/${this.first ? 'second' : 'first'}/audio_path first`);
      return;
    }
    if (!(dur > 0)) {
      this.report('Cannot generate: the duration is 0 s; send a duration above 0 seconds');
      return;
    }
    for (const [slot, off, name] of [[this.first, off1, 'audio_1'], [this.second, off2, 'audio_2']] as const) {
      if (off + dur > slot.duration + 1e-9) {
        this.report(`${name}_offset+example_length (${fmt(off + dur)}) > ${name} total length (${fmt(slot.duration)}); cannot generate. ${name}: ${slot.name}`);
        return;
      }
    }
    const amounts = this.alfa ? Array.from(this.alfa, (v) => (v + 1) / 2) : [0.5];
    const params: RenderParams = {
      model: this.model.dir,
      a: { path: this.first.path, start: off1 },
      b: { path: this.second.path, start: off2 },
      duration: dur,
      curve: formatCurveSpec(curveFromValues(amounts, '/set_alfa')),
      phase: defaultPhaseSettings(defaultPhaseMethod(this.model.info.transform), this.iterations),
      normalizeDbfs: this.normalize ? OSC_NORMALIZE_DBFS : null,
      sample: false,
      seed: RENDER_DEFAULTS.seed,
      fadeMs: RENDER_DEFAULTS.fadeMs,
    };
    this.report(`Interpolate two - duration set to ${fmt(dur)}`);
    const stageReports: Partial<Record<RenderStage, string>> = {
      encode: 'Generating interpolations',
      decode: 'Generating DL model outputs',
      phase: `Running phase estimation (${params.phase.method}, ${params.phase.iterations} iterations)`,
    };
    let stage: RenderStage | null = null;
    const ctl = new AbortController();
    this.generating = ctl;
    let outcome: RenderOutcome;
    try {
      outcome = await this.renderer!.render(params, { dir: this.rendersDir }, {
        signal: ctl.signal,
        onProgress: (p) => {
          if (p.stage !== stage) {
            stage = p.stage;
            const r = stageReports[p.stage];
            if (r) this.report(r);
          }
        },
      });
    } catch (e) {
      if (e instanceof RenderCancelled) {
        this.report('Generation cancelled.');
        return;
      }
      throw e;
    } finally {
      if (this.generating === ctl) this.generating = null;
    }
    this.last = { path: outcome.path, sidecarPath: outcome.sidecarPath, samples: outcome.samples, sampleRate: outcome.sampleRate };
    this.report(`Audio generated at ${outcome.path}, playing...`);
    await this.play();
  }

  private async play(): Promise<void> {
    if (!this.last) return;
    this.playing?.stop();
    this.playing = null;
    const h = await this.audio.play(this.last.samples, this.last.sampleRate, this.outputDevice !== null && this.outputDevice >= 0 ? { deviceId: this.outputDevice } : {});
    if (!h.available) {
      this.report(`Cannot play: ${h.reason}; the render is at ${this.last.path}`);
      return;
    }
    this.playing = h;
    void h.done.then((r) => {
      if (r.status === 'failed') this.report(`Playback failed: ${r.reason ?? 'unknown reason'}; the render is at ${this.last?.path}`);
      if (this.playing === h) this.playing = null;
    });
  }

  private async playAgain(): Promise<void> {
    if (!this.last) {
      this.report('Nothing generated yet; send /interpolate_two/generate first');
      return;
    }
    this.report('Playing the previous audio...');
    await this.play();
  }

  private setSaveFolder(path: string): void {
    const abs = resolve(path);
    if (!isDir(abs)) {
      this.report(`Save folder does not exist at the path ${path}; create it first`);
      return;
    }
    this.saveFolder = abs;
    this.report(`Save folder set to ${abs}`);
  }

  private save(): void {
    if (!this.saveFolder) {
      this.report('Please provide a save folder before saving the audio');
      return;
    }
    if (!this.last) {
      this.report('Nothing generated yet; send /interpolate_two/generate before /sound/interpolate_two/save');
      return;
    }
    const wav = readFileSync(this.last.path);
    const sidecar = existsSync(this.last.sidecarPath) ? readFileSync(this.last.sidecarPath) : null;
    for (let n = 0; n < 100000; n++) {
      const path = join(this.saveFolder, `generated_audio-${String(n).padStart(5, '0')}.wav`);
      let fd: number;
      try {
        fd = openSync(path, 'wx'); // reserve the name: never overwrite
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new UserError(`Cannot save to ${this.saveFolder}: ${(e as Error).message.split('\n')[0]}`);
      }
      closeSync(fd);
      try {
        if (sidecar) writeFileAtomic(path.replace(/\.wav$/, '.json'), sidecar);
        writeFileAtomic(path, wav);
      } catch (e) {
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
        throw new UserError(`Cannot save to ${this.saveFolder}: ${(e as Error).message.split('\n')[0]}`);
      }
      this.report(`Saved the last generated sound at the path: ${path}`);
      return;
    }
    this.report(`${this.saveFolder} holds 100000 generated_audio files; choose another save folder`);
  }

  private async sendDeviceList(): Promise<void> {
    const status = await this.audio.status();
    this.send('/audio/devicelist', [oscString('clear')]);
    if (!status.available) {
      this.report(`No audio output: ${status.reason}`);
      return;
    }
    for (const d of status.devices) this.send('/audio/devicelist', [oscString(`${d.id} ${d.name}`)]);
  }

  private async setOutputDevice(id: number): Promise<void> {
    const status = await this.audio.status();
    if (!status.available) {
      this.report(`Audio output ${id} cannot be used: ${status.reason}`);
      return;
    }
    const dev = status.devices.find((d) => d.id === id);
    if (!dev) {
      this.report(`There is no audio output device ${id}; send /audio/devicelist to see the devices`);
      return;
    }
    this.outputDevice = id;
    this.report(`Audio output is set to ${dev.name}`);
  }
}

// ------------------------------------------------------------ argument helpers

function typeName(arg: OscArg | undefined): string {
  return arg ? describeArgs([arg]) : 'missing';
}

function numeric(arg: OscArg): number | null {
  switch (arg.type) {
    case 'i':
    case 'f':
    case 'd':
      return arg.value;
    case 'h':
      return Number(arg.value);
    default:
      return null;
  }
}

function argString(m: OscMessage, i: number, what: string): string {
  const arg = m.args[i];
  if (!arg || (arg.type !== 's' && arg.type !== 'S')) throw new OscArgError(`${m.address}: expected ${what} as a string, got ${typeName(arg)}`);
  if (arg.value.trim() === '') throw new OscArgError(`${m.address}: the path is empty; send ${what}`);
  return arg.value;
}

function argInt(m: OscMessage, i: number, min: number, max: number, what: string): number {
  const arg = m.args[i];
  const x = arg ? numeric(arg) : null;
  if (x === null || !Number.isInteger(x)) throw new OscArgError(`${m.address}: expected ${what} as a whole number, got ${typeName(arg)}`);
  if (x < min || x > max) throw new OscArgError(`${m.address}: ${what} ${x} is outside ${min}..${max}`);
  return x;
}

function argFlag(m: OscMessage, i: number): boolean {
  const arg = m.args[i];
  if (arg?.type === 'T') return true;
  if (arg?.type === 'F') return false;
  const x = arg ? numeric(arg) : null;
  if (x !== 0 && x !== 1) throw new OscArgError(`${m.address}: expected 0 or 1, got ${typeName(arg)}`);
  return x === 1;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function stem(p: string): string {
  const b = basename(p);
  const e = extname(b);
  return e ? b.slice(0, -e.length) : b;
}

function readLtsBatchSize(dir: string): number {
  try {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { training?: { batchSize?: unknown } };
    const b = cfg.training?.batchSize;
    return typeof b === 'number' && Number.isInteger(b) && b > 0 ? b : 64;
  } catch {
    return 64;
  }
}

function fmt(x: number): string {
  return String(Math.round(x * 1000) / 1000);
}
