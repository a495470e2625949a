/**
 * Live mode (issue 6): a streaming engine that plays the A/B excerpt pair of
 * Latent Timbre Synthesis (Tatar, Bisig, Pasquier, Neural Computing and
 * Applications 2020) while a control moves the interpolation amount.
 *
 * Per STFT frame `f` of the excerpts, at the moment the frame is synthesised:
 *
 * ```text
 *   a    = current control value (absolute), or clamp(curve[f] + offset) (offset mode)
 *   z    = a·μ_A[f] + (1 − a)·μ_B[f]            (posterior means: deterministic)
 *   |c|  = fromFeatures(decode(z))               (one frame through the VAE decoder)
 *   out += RTPGHI(|c|)                           (Průša & Søndergaard, DAFx 2016; src/dsp/rtpghi.ts)
 * ```
 *
 * so a control change reaches the very next frame decoded. Frames are made on
 * demand by {@link LiveEngine.pull} (used by the tests, faster than real time)
 * or by the device loop of {@link LiveEngine.start}, which pulls one device
 * block at a time and awaits the stream's `write` (paced by the device clock),
 * so the control is read as late as possible.
 *
 * Latency from a control change to sound (see {@link LiveEngine.latencyEstimate}):
 * the next frame decoded after the change starts to contribute
 * `lookahead·hop` samples after the end of the audio already synthesised
 * (its Hann window rises from there and reaches full weight `nFft/2` samples
 * later), plus what waits in the engine and in the device queue.
 *
 * The control: keys call {@link LiveEngine.setAmount} / {@link LiveEngine.nudge};
 * a MIDI controller mapped to `amount` (src/engine/midi-map.ts, with its 14-bit
 * pairing and anti-zipper ramp) drives it through {@link LiveEngine.connectMidi}.
 * Both move the same control; the last one touched wins. In `offset` mode the
 * control is added to the drawn curve at the current frame position.
 *
 * New excerpts, loop/once, the control mode and the curve can be given to a
 * playing engine with {@link LiveEngine.swap}: taken at the next frame, with
 * the phase state and the overlap-add carrying on (no gap, no restart).
 *
 * Only STFT models can be played live (RTPGHI needs STFT magnitudes): a
 * constant-Q model is refused with a one-line {@link UserError}.
 */
import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { realtimeCurrentThread } from '../io/realtime.ts';
import type { Magnitudes, StftConfig } from '../dsp/types.ts';
import { RtPghi } from '../dsp/rtpghi.ts';
import { readAudio } from '../io/audio.ts';
import { UserError } from '../io/errors.ts';
import type { AudioOutput, AudioStream, AudioUnavailable } from '../io/audio-out.ts';
import { analyzeMagnitudes, fromFeatures, transformFor } from './features.ts';
import { checkExcerpt, excerptFeatures } from './excerpt.ts';
import { AMOUNT_LIMITS, clampLiveControl, type AmountMode, type MidiMapper, type MidiParamChange } from './midi-map.ts';
import type { TimbreVae } from './vae.ts';
import type { ModelConfig } from './types.ts';

/** How far (seconds) a live stream may run ahead of the wall clock at least (see {@link LiveEngine.start}). */
export const MIN_WALL_CLOCK_LEAD_S = 0.5;

/** What {@link LiveEngine.start} answers when {@link LiveEngine.stop} came while the device was opening. */
export const LIVE_STOPPED_WHILE_OPENING = 'live: stopped before the stream started';

/** The one-line refusal for constant-Q (or any non-STFT) models. */
export const LIVE_NEEDS_STFT = 'live mode needs an STFT model; train one with --transform stft';

/** What the live engine needs of a loaded model (`Renderer.loadModel` and `loadModelFolder` both provide it). */
export interface LiveModel {
  config: ModelConfig;
  vae: TimbreVae;
}

/** Posterior means of an excerpt's frames, row-major `[frames, latent]`. */
export interface LatentSequence {
  frames: number;
  latent: number;
  mu: Float32Array;
  /** Length of the excerpt in samples (`round(duration·sr)`); the once-mode output length. Default `(frames − 1)·hop`. */
  samples?: number;
}

/** Options of {@link LiveEngine}. */
export interface LiveOptions {
  /** Loop the excerpt pair (default true); false plays it once and then ends. */
  loop?: boolean;
  /**
   * RTPGHI look-ahead in frames. Default 0: no extra delay, which keeps a knob move within the
   * 30 ms target with the default stream buffers (see BENCHMARKS.md, "Live mode"). 1 estimates the
   * phase better (about 1 to 4 dB lower spectral convergence on real sounds) for one hop more latency.
   */
  lookahead?: 0 | 1;
  /** RTPGHI relative tolerance (default 1e-4, `DEFAULT_PGHI_TOLERANCE`). */
  tolerance?: number;
  /** Seed of RTPGHI's random phases for quiet coefficients (default 0). */
  seed?: number;
  /** How the control enters `a`: `absolute` (default: a = control) or `offset` (a = curve[f] + control, clamped to −0.3..1.3). */
  mode?: AmountMode;
  /** The drawn curve resampled to the excerpt frames, `[frames]`; required in offset mode. */
  curve?: Float32Array;
  /** Initial control value: default 0.5 in absolute mode, 0 in offset mode. */
  amount?: number;
  /** Fade-in at the start (and fade-out at the end in once mode), milliseconds; default 10. */
  fadeMs?: number;
}

/** Options of {@link LiveEngine.start}: the live stream's buffering (see `AudioOutput.openStream`). */
export interface LiveStreamOptions {
  /** PortAudio device index (default device if absent). */
  deviceId?: number;
  /** Frames per device block and per pull, default 128 (2.9 ms at 44.1 kHz). */
  blockFrames?: number;
  /**
   * Blocks naudiodon queues ahead of the device, default 5 (14.5 ms at 128 frames). Together with
   * one block in flight and PortAudio's double buffer, 8 blocks (23 ms) wait ahead of a new sample.
   * Measured (BENCHMARKS.md, "Live mode"): this keeps a knob move within 30 ms at the 95th
   * percentile, where 256 x 2 (29 ms ahead) does not; their underrun counts on the loaded
   * shared machine followed its load, not the configuration.
   */
  queueBlocks?: number;
  /** Blocks in flight to the audio process before the producer waits, default 1. */
  highWaterBlocks?: number;
  /**
   * Nice value to give this process while streaming (−20..19, lower is more urgent), restored on
   * stop; e.g. −10 like the audio process. The producer runs on this process's main thread, so on
   * a busy machine a higher priority is what keeps the small device buffer fed. Needs the
   * privilege to lower the nice value (root or CAP_SYS_NICE); without it nothing changes.
   * Default: unchanged.
   */
  niceness?: number;
  /**
   * Run the synthesising thread (the one that calls `start`: a worker thread or the main thread)
   * at SCHED_FIFO with this real-time priority (1..99) while streaming, restored on stop; e.g.
   * {@link LIVE_RT_PRIORITY}. The producer must hand each block over within the device buffer
   * (23 ms at the default settings); at a normal or even a lowered nice value a loaded machine
   * can hold it back longer than that (BENCHMARKS.md, "Live mode": the remaining underruns came
   * from the synthesis side after the audio process itself ran real-time). It stays below the
   * audio process's feeding threads (5) and PortAudio's callback (10), so the device side always
   * runs first. Needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO (see `src/io/realtime.ts`); without
   * it nothing changes ({@link LiveEngine.realtime} tells). Default: unchanged.
   */
  realtimePriority?: number;
}

/** Real-time priority the instrument gives its live synthesis thread (below the audio process's 5 and 10). */
export const LIVE_RT_PRIORITY = 4;

/** One synthesised frame, reported to {@link LiveEngine.onFrame} listeners. */
export interface LiveFrameInfo {
  /** Frames synthesised since the start (0, 1, ...). */
  index: number;
  /** Position of the frame in the excerpts (wraps when looping). */
  position: number;
  /** The amount `a` it was decoded with. */
  amount: number;
  /**
   * Output sample index (0 = the first sample the engine returns) at which this frame's
   * window starts to contribute: `index·hop − nFft/2 + 1` (may be negative for the first frames).
   */
  firstSample: number;
  /** Output sample index of the frame's centre, where its contribution is at full weight. */
  centreSample: number;
  /** Output samples already produced (pulled or queued in the engine) when the frame was decoded. */
  producedBefore: number;
}

/** Latency estimate of the engine and its stream, in seconds. */
export interface LiveLatency {
  /** From a control change until the first output sample of the next decoded frame leaves the engine (`lookahead·hop` + one pull block). */
  synthesis: number;
  /** Audio queued between the engine and the device's output (pipe to the audio process + naudiodon queue + PortAudio's buffer); 0 without a stream. */
  device: number;
  /** `synthesis + device`: control change to the first sample that reflects it at the device. */
  total: number;
  /** Extra time until that frame is at full weight (its window centre): `nFft/2` samples. */
  toFullWeight: number;
}

/**
 * Encode one excerpt for live mode: read the file at the model's rate, analyse the whole file
 * (the same analysis as training and `Renderer`), take the frames of the excerpt, and encode them
 * to posterior means. One call of a fresh {@link ExcerptEncoder}; keep one to reuse the work.
 *
 * @param model The loaded model.
 * @param path Audio file.
 * @param start Excerpt start in seconds (>= 0).
 * @param duration Excerpt duration in seconds (> 0); must fit in the file after `start`.
 * @param label Name used in errors, e.g. `excerpt A`.
 * @returns `[frames, latent]` means, `frames = 1 + floor(round(duration·sr) / hop)`.
 * @throws UserError (one line) for a missing file, an excerpt outside the file, a silent excerpt, or a non-STFT model.
 */
export async function encodeExcerpt(model: LiveModel, path: string, start: number, duration: number, label = 'excerpt'): Promise<LatentSequence> {
  return new ExcerptEncoder(model, 1).encode(path, start, duration, label);
}

/** What {@link ExcerptEncoder} keeps of one file. */
interface EncodedFile {
  samples: Float32Array;
  mag: Magnitudes;
  /** μ of every analysis frame, row-major `[mag.frames, latent]`; valid where `done` is 1. */
  mu: Float32Array;
  done: Uint8Array;
}

/**
 * Encodes live excerpts ({@link encodeExcerpt}) with a cache per file: its audio, its whole-file
 * analysis and the posterior means of every analysis frame encoded so far. A frame's μ depends on
 * that frame of the whole-file analysis alone, so an excerpt that moves (a knob sweeping its start,
 * a longer duration) encodes only the frames not encoded before, and the result is the same bytes
 * as {@link encodeExcerpt}'s. A file is read again when its size or modification time changes; the
 * `maxFiles` most recently used files are kept.
 */
export class ExcerptEncoder {
  private readonly files = new Map<string, EncodedFile>();
  /** Frames the last {@link encode} call ran through the encoder (0 when all were cached). */
  lastEncodedFrames = 0;

  /**
   * @param model The loaded model (STFT features).
   * @param maxFiles Files kept (default 4: A, B and the previous pair).
   */
  constructor(private readonly model: LiveModel, private readonly maxFiles = 4) {}

  /** As {@link encodeExcerpt}, with the cache. */
  async encode(path: string, start: number, duration: number, label = 'excerpt'): Promise<LatentSequence> {
    const cfg = stftConfigOf(this.model);
    const sr = cfg.sampleRate;
    checkExcerptArgs(label, start, duration);
    const abs = resolve(path);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new UserError(`${path}: file not found; check the path of ${label}`);
    }
    const key = `${abs}|${st.size}|${st.mtimeMs}`;
    let file = this.files.get(key);
    if (file) {
      this.files.delete(key);
    } else {
      for (const k of this.files.keys()) if (k.startsWith(`${abs}|`)) this.files.delete(k);
      const audio = await readAudio(path, { sampleRate: sr });
      const mag = analyzeMagnitudes(audio.samples, this.model.config.features);
      const latent = this.model.config.network.latent;
      file = { samples: audio.samples, mag, mu: new Float32Array(mag.frames * latent), done: new Uint8Array(mag.frames) };
    }
    this.files.set(key, file); // most recently used last
    while (this.files.size > this.maxFiles) this.files.delete(this.files.keys().next().value as string);

    checkExcerpt(label, path, file.samples, sr, start, duration);
    const len = Math.round(duration * sr);
    const frames = transformFor(cfg).frameCount(len);
    const first = Math.round(Math.round(start * sr) / cfg.hop);
    const last = Math.min(file.mag.frames - 1, first + frames - 1);
    this.lastEncodedFrames = 0;
    for (let lo = first; lo <= last; lo++) {
      if (file.done[lo]) continue;
      let hi = lo;
      while (hi <= last && !file.done[hi]) hi++;
      this.encodeRun(file, lo, hi);
      this.lastEncodedFrames += hi - lo;
      lo = hi;
    }
    const latent = this.model.config.network.latent;
    const mu = new Float32Array(frames * latent);
    for (let f = 0; f < frames; f++) {
      const src = Math.min(file.mag.frames - 1, first + f);
      mu.set(file.mu.subarray(src * latent, (src + 1) * latent), f * latent);
    }
    return { frames, latent, mu, samples: len };
  }

  /** Encode analysis frames `[lo, hi)` of `file` into its cache. */
  private encodeRun(file: EncodedFile, lo: number, hi: number): void {
    const feats = excerptFeatures(this.model, file.mag, lo * this.model.config.features.transform.hop, hi - lo);
    file.mu.set(this.model.vae.encodeMean(feats, hi - lo), lo * this.model.config.network.latent);
    file.done.fill(1, lo, hi);
  }
}

/**
 * The VAE decoder for one frame at a time: `TimbreVae.decode(z, 1)`, which runs row-major with bias
 * and relu fused into each matrix product (one `tf.fused.matMul` per layer, no transposes), about
 * 0.2 ms per frame on the default network (32 → 1024 → 1025, wasm backend; `bench/live.ts`).
 * Constructing it decodes one frame, so that the backend packs the weights for its matrix kernels
 * (milliseconds) before a device waits for audio, not during the first hop.
 */
export class FrameDecoder {
  /** Latent width (input). */
  readonly latent: number;
  /** Feature width (output). */
  readonly bins: number;
  private readonly vae: TimbreVae;
  private disposed = false;

  /** @param model The model whose decoder to run (it stays owned by the caller). */
  constructor(model: LiveModel) {
    this.vae = model.vae;
    this.latent = model.config.network.latent;
    this.bins = model.config.network.inputBins;
    this.decode(new Float32Array(this.latent));
  }

  /**
   * Decode one latent vector.
   * @param z `latent` values.
   * @returns `bins` features (a new array).
   */
  decode(z: Float32Array): Float32Array {
    if (this.disposed) throw new Error('FrameDecoder: disposed');
    return this.vae.decode(z, 1);
  }

  /** Stop decoding (the model's weights are the caller's to dispose). Idempotent. */
  dispose(): void {
    this.disposed = true;
  }
}

/** A start and duration that can name an excerpt, else a one-line UserError. */
function checkExcerptArgs(label: string, start: number, duration: number): void {
  if (!(Number.isFinite(start) && start >= 0)) throw new UserError(`${label}: start ${start} is invalid; use seconds >= 0`);
  if (!(Number.isFinite(duration) && duration > 0 && duration <= 600)) throw new UserError(`${label}: duration ${duration} is invalid; use seconds between 0 and 600`);
}

/** The model's STFT configuration, or the one-line refusal for other transforms. */
function stftConfigOf(model: LiveModel): StftConfig {
  const t = model.config.features.transform;
  if (t.kind !== 'stft') throw new UserError(LIVE_NEEDS_STFT);
  return t;
}

/** The control's starting value in a mode: the middle of the blend, or no offset. */
function defaultControl(mode: AmountMode): number {
  return mode === 'offset' ? 0 : 0.5;
}

/** Both excerpts encoded by a model with `latent` dimensions, with the same frame count; else a one-line UserError. */
function checkExcerptPair(A: LatentSequence, B: LatentSequence, latent: number): void {
  for (const [name, s] of [['A', A], ['B', B]] as const) {
    if (!s || s.latent !== latent || !(s.mu instanceof Float32Array) || s.mu.length !== s.frames * latent || !(s.frames >= 1)) {
      throw new UserError(`live: excerpt ${name} must be encoded by this model ([frames, ${latent}] means); encode it with encodeExcerpt`);
    }
  }
  if (A.frames !== B.frames) throw new UserError(`live: excerpts A and B have ${A.frames} and ${B.frames} frames; encode both with the same duration`);
}

/** Check the mode and the curve (one finite value per frame; required in offset mode); returns the curve or null. */
function checkCurveAndMode(mode: AmountMode, curve: Float32Array | undefined, frames: number): Float32Array | null {
  if (mode !== 'absolute' && mode !== 'offset') throw new UserError(`live: mode must be absolute or offset, got ${String(mode)}`);
  if (curve !== undefined && (!(curve instanceof Float32Array) || curve.length !== frames || !curve.every(Number.isFinite))) {
    throw new UserError(`live: the curve must be ${frames} finite values (one per frame); resample the drawn curve to the excerpt frames`);
  }
  if (mode === 'offset' && !curve) throw new UserError('live: offset mode adds the control to the drawn curve; pass the curve (one value per frame)');
  return curve ?? null;
}

/**
 * The streaming synthesis engine of live mode. See the module comment.
 *
 * @example
 * const model = await renderer.loadModel('models/default');
 * const engine = await LiveEngine.create(model, { path: 'a.wav', start: 1 }, { path: 'b.wav', start: 0 }, 2);
 * engine.connectMidi(mapper);                // knob mapped to `amount`
 * await engine.start(createAudioOutput());   // plays, looping, until stop()
 * engine.nudge(+0.05);                       // a key press
 * await engine.stop();
 */
export class LiveEngine {
  /** Sample rate of the output (the model's). */
  readonly sampleRate: number;
  /** Samples per frame step (the STFT hop). */
  readonly hop: number;
  /** Frames per excerpt (changes with {@link swap}). */
  get frames(): number {
    return this.nFrames;
  }
  /** Output length in once mode: the excerpt length in samples (`round(duration·sr)` from {@link encodeExcerpt}). */
  get lengthSamples(): number {
    return this.length;
  }
  /** True: the excerpt pair loops; false: it plays once. */
  get loop(): boolean {
    return this.looping;
  }
  /** How the control enters the amount (see {@link LiveOptions.mode}). */
  get mode(): AmountMode {
    return this.amountMode;
  }

  private readonly cfg: StftConfig;
  private readonly model: LiveModel;
  private nFrames: number;
  private length: number;
  private looping: boolean;
  private amountMode: AmountMode;
  private A: LatentSequence;
  private B: LatentSequence;
  private curve: Float32Array | null;
  private readonly rt: RtPghi;
  private readonly decoder: FrameDecoder;
  private readonly z: Float32Array;
  private readonly fadeSamples: number;
  private control: number;
  private lastAmount: number;
  private midi: { mapper: MidiMapper; clock: () => number; unsubscribe: () => void } | null = null;
  private midiActive = false;
  private frameIndex = 0;
  private pos = 0;
  /** Output FIFO (samples produced but not yet pulled). */
  private fifo = new Float32Array(4096);
  private fifoStart = 0;
  private fifoLen = 0;
  /** Output samples produced so far (pulled + in the FIFO). */
  private produced = 0;
  private pulled = 0;
  private finished = false;
  private frameListeners = new Set<(f: LiveFrameInfo) => void>();
  private stream: AudioStream | null = null;
  private realtimeThread = false;
  private streamOpts: Required<Omit<LiveStreamOptions, 'deviceId' | 'niceness' | 'realtimePriority'>> | null = null;
  private loopDone: Promise<void> | null = null;
  private stopping = false;
  private underrunCount = 0;
  private streamError: string | undefined;

  /**
   * @param model An STFT model (a constant-Q model is refused with {@link LIVE_NEEDS_STFT}).
   * @param A Encoded excerpt A (`a = 1` plays A).
   * @param B Encoded excerpt B (`a = 0` plays B), same frame count and latent width as A.
   * @param opts See {@link LiveOptions}.
   */
  constructor(model: LiveModel, A: LatentSequence, B: LatentSequence, opts: LiveOptions = {}) {
    this.cfg = stftConfigOf(model);
    this.model = model;
    const latent = model.config.network.latent;
    checkExcerptPair(A, B, latent);
    this.hop = this.cfg.hop;
    this.sampleRate = this.cfg.sampleRate;
    [this.A, this.B, this.nFrames, this.length] = this.pair(A, B);
    this.looping = opts.loop ?? true;
    this.amountMode = opts.mode ?? 'absolute';
    this.curve = checkCurveAndMode(this.amountMode, opts.curve, this.frames);
    const initial = opts.amount ?? defaultControl(this.mode);
    checkAmount(initial, 'initial amount');
    this.control = initial;
    this.lastAmount = initial;
    const fadeMs = opts.fadeMs ?? 10;
    if (!(fadeMs >= 0 && fadeMs <= 1000)) throw new UserError(`live: fadeMs must be 0..1000, got ${fadeMs}`);
    this.fadeSamples = Math.round((fadeMs / 1000) * this.sampleRate);
    this.rt = new RtPghi(this.cfg, { lookahead: opts.lookahead ?? 0, tolerance: opts.tolerance, seed: opts.seed ?? 0 });
    this.z = new Float32Array(latent);
    this.decoder = new FrameDecoder(model);
  }

  /**
   * Load both excerpts for `model` ({@link encodeExcerpt}) and create the engine.
   *
   * @param model An STFT model.
   * @param a Excerpt A: file path and start in seconds.
   * @param b Excerpt B.
   * @param duration Shared excerpt duration in seconds.
   * @param opts See {@link LiveOptions}.
   */
  static async create(model: LiveModel, a: { path: string; start: number }, b: { path: string; start: number }, duration: number, opts: LiveOptions = {}): Promise<LiveEngine> {
    stftConfigOf(model);
    const A = await encodeExcerpt(model, a.path, a.start, duration, 'excerpt A');
    const B = await encodeExcerpt(model, b.path, b.start, duration, 'excerpt B');
    return new LiveEngine(model, A, B, opts);
  }

  /**
   * Replace the excerpt pair (and the loop, mode and curve settings) while playing, without
   * stopping the stream: the next frame is decoded from the new latents at the same frame index
   * (the playhead keeps its time; past the new end it wraps in loop mode and ends in once mode).
   * The real-time PGHI state carries on, so the phase stays continuous across the change and the
   * output has no gap; what changes is only what the new excerpts sound like. In offset mode, or
   * when switching to it, pass the curve for the new frame count.
   *
   * No crossfade is added: the overlap-add already fades the old frames out and the new ones in over
   * one window (`nFft` samples, 46 ms with the default model), and a swap is exactly what a jump of
   * the control is to the engine (the tests check this bit for bit). Measured on the demo set with the
   * default model (60 random swaps between excerpt pairs, scratch bench): the largest sample step in
   * the window after a swap was a median 0.93 (at most 1.19) of the larger of the same window played by
   * the old pair alone and by the new pair alone; with a 4-frame crossfade of the latents 0.92 (at most
   * 1.43); for a control jump 0.86 (at most 1.26). A crossfade did not lower it.
   *
   * @param A Encoded excerpt A (same model), B likewise, with the same frame count as each other.
   * @param opts `loop`, `mode`, `curve` (one value per new frame), `amount`: the control value to
   *   set (default: keep the current control, unless the mode changes, then its default).
   * @throws UserError for mismatched excerpts or a bad curve (nothing changes then).
   */
  swap(A: LatentSequence, B: LatentSequence, opts: { loop?: boolean; mode?: AmountMode; curve?: Float32Array; amount?: number } = {}): void {
    const latent = this.model.config.network.latent;
    checkExcerptPair(A, B, latent);
    const mode = opts.mode ?? this.amountMode;
    const curve = checkCurveAndMode(mode, opts.curve ?? (A.frames === this.nFrames && mode === this.amountMode ? this.curve ?? undefined : undefined), A.frames);
    if (opts.amount !== undefined) checkAmount(opts.amount, 'amount');
    const modeChanged = mode !== this.amountMode;
    [this.A, this.B, this.nFrames, this.length] = this.pair(A, B);
    this.looping = opts.loop ?? this.looping;
    this.amountMode = mode;
    this.curve = curve;
    if (opts.amount !== undefined) this.setAmount(opts.amount);
    else if (modeChanged) this.setAmount(defaultControl(mode));
    if (this.pos >= this.nFrames && this.looping) this.pos = 0;
    else if (!this.looping && !this.finished && (this.pos >= this.nFrames || this.produced >= this.length)) {
      // Once mode, and the playhead is already past the new end.
      this.append(this.rt.flush());
      this.finished = true;
    }
  }

  /** Set the control (keys, or a UI slider): `a` in absolute mode, the offset in offset mode. Clamped to −0.3..1.3 (offset: −1..1). Takes over from MIDI. */
  setAmount(value: number): void {
    checkAmount(value, 'amount');
    this.control = this.clampControl(value);
    this.midiActive = false;
  }

  /** Move the control by `delta` from its current value (a key press). Takes over from MIDI. */
  nudge(delta: number): void {
    checkAmount(delta, 'nudge');
    this.setAmount(this.clampControl(this.controlValue() + delta));
  }

  /** The control's current value (absolute `a`, or the offset), from MIDI if a knob moved last. */
  controlValue(): number {
    if (this.midiActive && this.midi) {
      const v = this.midi.mapper.value('amount', this.midi.clock());
      if (v !== undefined) return v;
    }
    return this.control;
  }

  /** The amount `a` the most recent frame was decoded with. */
  amount(): number {
    return this.lastAmount;
  }

  /**
   * Let a MIDI mapper's `amount` mapping drive the control: from the first `amount` change it
   * delivers, each frame reads `mapper.value('amount', clock())` (smoothed by its ramp) until a key
   * takes over. The mapping's mode must match the engine's mode.
   *
   * @param mapper The mapper fed by the MIDI input (`connectMidi(input, mapper)`), or by raw bytes in tests.
   * @param clock Seconds on the clock the mapper's `handleBytes` is called with; default `performance.now() / 1000` (as `connectMidi`).
   * @returns A function that disconnects.
   */
  connectMidi(mapper: MidiMapper, clock: () => number = () => performance.now() / 1000): () => void {
    this.midi?.unsubscribe();
    const unsubscribe = mapper.onChange((c: MidiParamChange) => {
      if (c.param !== 'amount') return;
      const m = mapper.mappings().find((x) => x.param === 'amount');
      if ((m?.mode ?? 'absolute') !== this.mode) return;
      this.midiActive = true;
    });
    const link = { mapper, clock, unsubscribe };
    this.midi = link;
    return () => {
      unsubscribe();
      if (this.midi === link) {
        this.control = this.controlValue();
        this.midi = null;
        this.midiActive = false;
      }
    };
  }

  /** Listen to every synthesised frame (for the TUI's position display and latency measurements). Returns an unsubscribe function. */
  onFrame(cb: (f: LiveFrameInfo) => void): () => void {
    this.frameListeners.add(cb);
    return () => { this.frameListeners.delete(cb); };
  }

  /** Position of the next frame in the excerpts, 0..frames−1. */
  get position(): number {
    return this.pos;
  }

  /** Frames synthesised since the start. */
  get framesSynthesized(): number {
    return this.frameIndex;
  }

  /**
   * Audio time of the next frame to synthesise, seconds (`framesSynthesized·hop / sampleRate`).
   * A clock for {@link connectMidi} when rendering faster than real time (tests, offline
   * renders of a recorded control track): the control ramps then advance with the audio.
   */
  get audioTime(): number {
    return (this.frameIndex * this.hop) / this.sampleRate;
  }

  /** Output samples returned by pull (or sent to the device) so far. */
  get samplesOut(): number {
    return this.pulled;
  }

  /** True in once mode after the last sample was returned. */
  get ended(): boolean {
    return this.finished && this.fifoLen === 0;
  }

  /** An excerpt pair as the engine keeps it: A, B, frames, and the once-mode length in samples. */
  private pair(A: LatentSequence, B: LatentSequence): [LatentSequence, LatentSequence, number, number] {
    const fallback = (A.frames - 1) * this.hop;
    return [A, B, A.frames, Math.min(A.samples ?? fallback, B.samples ?? fallback)];
  }

  /** True while the synthesis thread runs at real-time priority (see {@link LiveStreamOptions.realtimePriority}). */
  get realtime(): boolean {
    return this.realtimeThread;
  }

  /** Underruns the device reported for the current (or last) stream. */
  underruns(): number {
    return this.stream ? this.stream.underruns() : this.underrunCount;
  }

  /** Why the device loop ended early (one line: the stream failed or stopped taking audio), or undefined. */
  get error(): string | undefined {
    return this.streamError;
  }

  /** True while the device loop runs. */
  get playing(): boolean {
    return this.loopDone !== null;
  }

  /** Latency estimate for the current settings (see {@link LiveLatency}). */
  latencyEstimate(): LiveLatency {
    const sr = this.sampleRate;
    const block = this.streamOpts?.blockFrames ?? this.hop;
    const synthesis = (this.rt.lookahead * this.hop + block) / sr;
    let device = 0;
    if (this.streamOpts && this.stream) {
      const o = this.streamOpts;
      // In flight to the audio process, naudiodon's queue, PortAudio's own double buffer.
      device = ((o.highWaterBlocks + o.queueBlocks + 2) * o.blockFrames) / sr;
    }
    return { synthesis, device, total: synthesis + device, toFullWeight: this.cfg.nFft / 2 / sr };
  }

  /**
   * Produce the next `n` output samples (synthesising frames as needed), faster than real time.
   * In once mode the output after the excerpt's end is silence and {@link ended} becomes true.
   *
   * @param n Samples, a positive integer.
   * @returns A new array of `n` samples.
   */
  pull(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 1 || n > 1 << 24) throw new UserError(`live: pull needs a positive whole number of samples, got ${n}`);
    while (this.fifoLen < n && !this.finished) this.renderFrame();
    const out = new Float32Array(n);
    const k = Math.min(n, this.fifoLen);
    out.set(this.fifo.subarray(this.fifoStart, this.fifoStart + k));
    this.fifoStart += k;
    this.fifoLen -= k;
    this.pulled += k;
    return out;
  }

  /**
   * Stream to an audio output: opens a live stream at the model's rate and, until {@link stop}
   * (or the end in once mode), pulls one block and awaits `write`, so synthesis is paced by the device,
   * and never more than max({@link MIN_WALL_CLOCK_LEAD_S}, 4 × the device latency) ahead of the wall clock
   * (a device that takes audio faster than real time does not make it spin).
   *
   * @param output The audio output (`createAudioOutput()`).
   * @param opts See {@link LiveStreamOptions} (default 128-frame blocks, 5 queued, 1 in flight).
   * @returns `{ available: true }` once playing, or why the device could not be opened (also when
   *   {@link stop} was called while it opened: then nothing plays, and the stream is closed again).
   */
  async start(output: AudioOutput, opts: LiveStreamOptions = {}): Promise<{ available: true } | AudioUnavailable> {
    if (this.loopDone) throw new UserError('live: already playing; stop() first');
    const o = { blockFrames: opts.blockFrames ?? 128, queueBlocks: opts.queueBlocks ?? 5, highWaterBlocks: opts.highWaterBlocks ?? 1 };
    this.stopping = false;
    const s = await output.openStream(this.sampleRate, { ...o, deviceId: opts.deviceId, channels: 1 });
    if (!s.available) return s;
    if (this.stopping) {
      // stop() came while the device opened (a device can take seconds to open on a loaded machine).
      await s.abort();
      return { available: false, reason: LIVE_STOPPED_WHILE_OPENING };
    }
    this.stream = s;
    this.streamOpts = o;
    this.streamError = undefined;
    let restorePriority: number | undefined;
    let releaseRealtime: (() => Promise<void>) | null = null;
    this.realtimeThread = false;
    if (opts.realtimePriority !== undefined) {
      if (!Number.isInteger(opts.realtimePriority) || opts.realtimePriority < 1 || opts.realtimePriority > 99) {
        await s.abort();
        throw new UserError(`live: realtimePriority must be an integer 1..99, got ${opts.realtimePriority}`);
      }
      const rt = await realtimeCurrentThread(opts.realtimePriority);
      releaseRealtime = rt.release;
      this.realtimeThread = rt.realtime;
    }
    if (opts.niceness !== undefined) {
      if (!Number.isInteger(opts.niceness) || opts.niceness < -20 || opts.niceness > 19) {
        await s.abort();
        throw new UserError(`live: niceness must be an integer -20..19, got ${opts.niceness}`);
      }
      try {
        const before = getPriority();
        setPriority(opts.niceness);
        restorePriority = before;
      } catch {
        // Not permitted: stream at the current priority.
      }
    }
    this.loopDone = (async () => {
      try {
        // A stream that stops taking audio (stopped from elsewhere, or its process died) resolves
        // every write at once: then the device position freezes while the writes run ahead. Leave
        // after one second of such audio instead of synthesising flat out on the main thread.
        const maxAhead = this.sampleRate + (o.highWaterBlocks + o.queueBlocks + 2) * o.blockFrames;
        // Nor may the loop run ahead of the wall clock by more than `maxLead` seconds: a device that takes audio
        // faster than real time (ALSA's null device, a driver that drops audio) would otherwise let it spin, and
        // at real-time priority a spinning thread starves every other process on its core. A device that plays
        // in real time never gets this far ahead (it holds about `s.latency`).
        const maxLead = Math.max(MIN_WALL_CLOCK_LEAD_S, 4 * s.latency);
        const t0 = performance.now();
        let written = 0;
        while (!this.stopping && !this.ended) {
          const block = this.pull(o.blockFrames);
          await s.write(block);
          written += block.length;
          if (written - s.position() * this.sampleRate > maxAhead) {
            throw new Error('the audio stream stopped taking audio (stopped elsewhere, or the audio process ended)');
          }
          const lead = written / this.sampleRate - (performance.now() - t0) / 1000;
          if (lead > maxLead) await new Promise((r) => setTimeout(r, (lead - maxLead / 2) * 1000));
        }
        if (this.stopping) await s.abort();
        else await s.close();
      } catch (e) {
        this.streamError = e instanceof Error ? e.message.split('\n')[0] : String(e);
        await s.abort();
      } finally {
        this.underrunCount = s.underruns();
        this.loopDone = null;
        if (releaseRealtime) {
          await releaseRealtime();
          this.realtimeThread = false;
        }
        if (restorePriority !== undefined) {
          try {
            setPriority(restorePriority);
          } catch {
            // Raising the nice value back is always permitted; nothing else to do.
          }
        }
      }
    })();
    return { available: true };
  }

  /** Resolves when the device loop ends (immediately if it is not running). */
  async done(): Promise<void> {
    await this.loopDone;
  }

  /** Stop streaming now (queued audio is dropped). Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loopDone;
  }

  /** Disconnect MIDI, stop, and free the decoder's weight copies. The model stays owned by the caller. */
  async dispose(): Promise<void> {
    this.midi?.unsubscribe();
    this.midi = null;
    await this.stop();
    this.decoder.dispose();
  }

  private clampControl(v: number): number {
    return clampLiveControl(this.mode, v);
  }

  /** The amount for the frame at excerpt position `f`, read now. */
  private amountAt(f: number): number {
    const v = this.controlValue();
    if (this.mode === 'absolute') return v;
    return Math.min(AMOUNT_LIMITS[1], Math.max(AMOUNT_LIMITS[0], this.curve![f] + v));
  }

  /** Decode and phase-reconstruct one frame; append its finished samples to the FIFO. */
  private renderFrame(): void {
    const f = this.pos;
    const a = this.amountAt(f);
    this.lastAmount = a;
    const L = this.A.latent;
    const z = this.z;
    const muA = this.A.mu;
    const muB = this.B.mu;
    const o = f * L;
    for (let j = 0; j < L; j++) z[j] = a * muA[o + j] + (1 - a) * muB[o + j];
    const feats = this.decoder.decode(z);
    const mag = fromFeatures({ frames: 1, bins: feats.length, data: feats }, this.model.config.features.scaling, true).data;
    const index = this.frameIndex++;
    const info: LiveFrameInfo = {
      index,
      position: f,
      amount: a,
      firstSample: index * this.hop - this.cfg.nFft / 2 + 1,
      centreSample: index * this.hop,
      producedBefore: this.produced,
    };
    const block = this.rt.push(mag);
    if (block) this.append(block);
    this.pos = f + 1;
    if (this.pos >= this.frames) {
      if (this.loop) this.pos = 0;
      else {
        this.append(this.rt.flush());
        this.finished = true;
      }
    }
    for (const l of this.frameListeners) l(info);
  }

  /** Append samples (fades applied, truncated to the excerpt length in once mode). */
  private append(x: Float32Array): void {
    let n = x.length;
    if (!this.loop) n = Math.max(0, Math.min(n, this.lengthSamples - this.produced));
    if (n === 0) return;
    if (this.fifoStart + this.fifoLen + n > this.fifo.length) {
      const need = this.fifoLen + n;
      if (need > this.fifo.length) {
        const buf = new Float32Array(Math.max(need, 2 * this.fifo.length));
        buf.set(this.fifo.subarray(this.fifoStart, this.fifoStart + this.fifoLen), 0);
        this.fifo = buf;
      } else this.fifo.copyWithin(0, this.fifoStart, this.fifoStart + this.fifoLen);
      this.fifoStart = 0;
    }
    const dst = this.fifoStart + this.fifoLen;
    const fade = this.fadeSamples;
    for (let i = 0; i < n; i++) {
      const k = this.produced + i;
      let g = 1;
      if (k < fade) g = 0.5 - 0.5 * Math.cos((Math.PI * (k + 0.5)) / fade);
      if (!this.loop && this.lengthSamples - 1 - k < fade) g *= 0.5 - 0.5 * Math.cos((Math.PI * (this.lengthSamples - 1 - k + 0.5)) / fade);
      this.fifo[dst + i] = x[i] * g;
    }
    this.fifoLen += n;
    this.produced += n;
  }
}

function checkAmount(v: number, name: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`live: ${name} must be a finite number, got ${String(v)}`);
}

