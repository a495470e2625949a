/**
 * Worker-thread side of the instrument's live mode ({@link LiveWorker} in
 * `live-worker.ts`). It owns TensorFlow.js, the loaded model, the
 * {@link LiveEngine} and the PortAudio output child, so the synthesis loop
 * (one frame decoded and phase-reconstructed per hop, paced by the device)
 * never waits for the UI thread to redraw the screen.
 *
 * The UI thread sends the control value on every key press and forwards
 * every raw MIDI message with its arrival time on the shared epoch clock;
 * a {@link MidiMapper} here, with the same mappings as the UI's, turns
 * them into the engine's smoothed control exactly as `LiveEngine.connectMidi`
 * documents. With `tee` every block also goes to the UI thread (for the
 * listening page).
 *
 * A start request while a stream plays with the same model, backend, device
 * and outputs does not restart it: the excerpts that changed are encoded on
 * a second thread (`live-encoder-entry.ts`; encoding a 2 s excerpt takes
 * 50 to 100 ms, several device buffers) while this thread keeps feeding the
 * device, then swapped into the engine at its next frame (`LiveEngine.swap`):
 * no gap, the phase carries on. Every start request is answered once:
 * `started` (with `updated` for an in-place change), `failed`, or
 * `superseded` when a stop or a newer start overtook it.
 */
import { parentPort, workerData, type Worker } from 'node:worker_threads';
import type { EncodeReply, EncodeRequest } from './live-encoder-entry.ts';
import { initBackend, parseBackendPreference } from '../engine/backend.ts';
import { loadModelFolder } from '../engine/model-folder.ts';
import { LiveEngine, LIVE_RT_PRIORITY, encodeExcerpt, type LiveModel, type LatentSequence } from '../engine/live.ts';
import { MidiMapper, clampLiveControl } from '../engine/midi-map.ts';
import { createAudioOutput, teeStream, type AudioOutput, type AudioStream, type AudioUnavailable, type StreamOptions, type StreamSink } from '../io/audio-out.ts';
import { LIVE_BLOCK_FRAMES, LIVE_QUEUE_BLOCKS, epochMs, type LiveReply, type LiveRequest, type LiveStartParams } from './live-protocol.ts';
import { startTsWorker } from '../engine/ts-worker.ts';

const port = parentPort!;
const probing = workerData?.probe === true;
const post = (m: LiveReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let backend: Promise<string> | null = null;
let loaded: { dir: string; model: LiveModel } | null = null;
let output: AudioOutput | null = null;
let mapper = new MidiMapper();
let source: 'keys' | 'midi' = 'keys';
/** An encoded excerpt and what it was encoded from ({@link excerptKey}). */
interface Encoded {
  key: string;
  seq: LatentSequence;
}
interface Running {
  id: number;
  /** What the stream was started (or last updated) with. */
  params: LiveStartParams;
  /** The excerpts the engine plays, so that an update re-encodes only the one that changed. */
  encoded: { a: Encoded; b: Encoded };
  engine: LiveEngine;
  unsub: (() => void)[];
  /** Disconnects the engine from the current mapper. */
  midi: () => void;
  stopping: boolean;
}
/** The running stream; `gen` tells a stale start (superseded by stop or a newer start) from the current one. */
let current: Running | null = null;
let gen = 0;
let teeSeq = 0;
const teeWaiters = new Map<number, () => void>();
/** MIDI arrivals waiting for the first frame decoded after them, then for the write that carries it. */
const probes: { injectedAt: number; sample: number | null }[] = [];

function errorText(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** Resample `values` linearly to `n` points. */
function resample(values: number[], n: number): Float32Array {
  const out = new Float32Array(n);
  if (values.length === 0) return out.fill(0.5);
  for (let i = 0; i < n; i++) {
    const x = n > 1 ? (i / (n - 1)) * (values.length - 1) : 0;
    const j = Math.floor(x);
    const f = x - j;
    out[i] = j + 1 < values.length ? values[j] * (1 - f) + values[j + 1] * f : values[values.length - 1];
  }
  return out;
}

async function model(dir: string): Promise<LiveModel> {
  if (loaded?.dir === dir) return loaded.model;
  const m = await loadModelFolder(dir);
  loaded?.model.vae.dispose();
  loaded = { dir, model: { config: m.config, vae: m.vae } };
  return loaded.model;
}

/**
 * The output the engine streams to: the local device, and with `tee` the UI thread too.
 * Without a local device the tee is paced by the UI thread's acknowledgements (the listening
 * page's stream runs at the wall clock); with one, the device paces and the copies are not awaited.
 */
function streamingOutput(local: AudioOutput, tee: boolean, onWrite: (stream: AudioStream | null, from: number, n: number, sr: number) => void): AudioOutput {
  return {
    ...local,
    openStream: async (sampleRate: number, opts?: StreamOptions): Promise<AudioStream | AudioUnavailable> => {
      const dev = await local.openStream(sampleRate, opts);
      if (!dev.available && !tee) return dev;
      const l = dev.available ? dev : null;
      let written = 0;
      const sink: StreamSink | null = tee
        ? {
            write: async (x) => {
              const seq = ++teeSeq;
              const copy = Float32Array.from(x);
              const awaitAck = l === null;
              const acked = awaitAck ? new Promise<void>((r) => teeWaiters.set(seq, r)) : Promise.resolve();
              post({ type: 'tee', seq, samples: copy, sampleRate, awaitAck }, [copy.buffer as ArrayBuffer]);
              await acked;
            },
            // every block written goes to the sink too (counted in `write` below, before it is handed on)
            position: () => written / sampleRate,
            close: () => {
              for (const r of teeWaiters.values()) r();
              teeWaiters.clear();
              post({ type: 'tee-close' });
            },
          }
        : null;
      const s = teeStream(l, sampleRate, sink);
      return {
        ...s,
        write: (x) => {
          onWrite(l, written, x.length, sampleRate);
          written += x.length;
          return s.write(x);
        },
      };
    },
  };
}

/** Let `next` drive the engine's control (replacing the previous mapper). */
function attach(c: Running, next: MidiMapper): void {
  c.midi();
  mapper = next;
  const off = c.engine.connectMidi(next, () => epochMs() / 1000);
  const listen = next.onChange((ch) => {
    if (ch.param === 'amount' && (next.mappingOf('amount')?.mode ?? 'absolute') === c.engine.mode) source = 'midi';
  });
  c.midi = () => {
    off();
    listen();
  };
}

async function stopCurrent(): Promise<void> {
  const c = current;
  if (!c) return;
  current = null;
  c.stopping = true;
  for (const u of c.unsub) u();
  c.midi();
  await c.engine.dispose();
}

/** The encoder thread (see `live-encoder-entry.ts`), started on the first in-place update. */
let encoder: Worker | null = null;
let encodeSeq = 0;
const encodeWaiters = new Map<number, (r: EncodeReply) => void>();

/** What an excerpt's encoding depends on: model, file, start and duration. */
function excerptKey(p: LiveStartParams, ex: { path: string; start: number }): string {
  return JSON.stringify([p.model, ex.path, ex.start, p.duration]);
}

/** An encoder request before it gets its id. */
type EncoderAsk = EncodeRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** Send a request to the encoder thread (started on first use); resolves with its answer. */
function askEncoder(req: EncoderAsk): Promise<EncodeReply> {
  if (!encoder) {
    const w = startTsWorker(new URL('./live-encoder-entry.ts', import.meta.url));
    w.unref();
    w.on('message', (r: EncodeReply) => {
      const done = encodeWaiters.get(r.id);
      encodeWaiters.delete(r.id);
      done?.(r);
    });
    const fail = (why: string) => {
      if (encoder === w) encoder = null;
      for (const [id, done] of encodeWaiters) done({ id, ok: false, message: why });
      encodeWaiters.clear();
    };
    w.on('error', (e) => fail(`the encoder thread failed: ${errorText(e)}`));
    w.on('exit', () => fail('the encoder thread ended'));
    encoder = w;
  }
  const id = ++encodeSeq;
  return new Promise((resolve) => {
    encodeWaiters.set(id, resolve);
    encoder!.postMessage({ ...req, id } as EncodeRequest);
  });
}

/**
 * Encode an excerpt on the encoder thread, so this thread keeps feeding the device meanwhile;
 * an excerpt the stream already plays (same key) is reused as it is.
 */
async function encodeElsewhere(p: LiveStartParams, ex: { path: string; start: number }, label: string, playing: Encoded): Promise<Encoded> {
  const key = excerptKey(p, ex);
  if (key === playing.key) return playing;
  const r = await askEncoder({ model: p.model, backend: p.backend ?? 'auto', path: ex.path, start: ex.start, duration: p.duration, label });
  if (!r.ok) throw new Error(r.message);
  return { key, seq: { frames: r.frames, latent: r.latent, mu: r.mu, samples: r.samples } };
}

/** Load the backend and the model on the encoder thread now, so the first change of excerpts does not wait for them. */
function warmEncoder(p: LiveStartParams): void {
  void askEncoder({ model: p.model, backend: p.backend ?? 'auto', warm: true });
}

/** Tell the UI thread that `engine` plays request `id` (`updated`: taken in place by a running stream). */
async function postStarted(id: number, engine: LiveEngine, updated: boolean): Promise<void> {
  post({
    type: 'started',
    id,
    frames: engine.frames,
    sampleRate: engine.sampleRate,
    hop: engine.hop,
    latencyMs: engine.latencyEstimate().total * 1000,
    localDevice: output ? (await output.status()).available : false,
    realtime: engine.realtime,
    updated,
  });
}

/** Whether a running stream can take `p` in place: same model, backend, device and outputs. */
function sameStream(a: LiveStartParams, b: LiveStartParams): boolean {
  return a.model === b.model && (a.backend ?? 'auto') === (b.backend ?? 'auto') && a.deviceId === b.deviceId && a.tee === b.tee &&
    JSON.stringify(a.audioEnv ?? {}) === JSON.stringify(b.audioEnv ?? {});
}

/**
 * New excerpts, loop, mode or curve for the running stream: encode the excerpts that changed on the
 * encoder thread and swap them into the engine at the next frame (`LiveEngine.swap`), so the sound
 * goes on without a gap. An excerpt that cannot be encoded (a missing file, a silent excerpt) is
 * answered `failed` with `playing`: the stream goes on with the excerpts it had. Resolves true when
 * answered, false when the stream has to be restarted instead (it stopped meanwhile).
 */
async function update(c: Running, id: number, p: LiveStartParams, mine: number): Promise<boolean> {
  let a: Encoded;
  let b: Encoded;
  try {
    [a, b] = await Promise.all([encodeElsewhere(p, p.a, 'excerpt A', c.encoded.a), encodeElsewhere(p, p.b, 'excerpt B', c.encoded.b)]);
  } catch (e) {
    if (mine !== gen) post({ type: 'superseded', id });
    else if (current === c && !c.stopping && c.engine.playing) post({ type: 'failed', id, message: errorText(e), playing: true });
    else return false;
    return true;
  }
  if (mine !== gen) {
    post({ type: 'superseded', id });
    return true;
  }
  if (current !== c || c.stopping || !c.engine.playing) return false;
  const modeChanged = p.mode !== c.engine.mode;
  c.engine.swap(a.seq, b.seq, { loop: p.loop, mode: p.mode, curve: resample(p.curve, a.seq.frames), ...(modeChanged ? { amount: p.amount } : {}) });
  if (modeChanged) source = 'keys';
  c.params = p;
  c.encoded = { a, b };
  c.id = id;
  await postStarted(id, c.engine, true);
  return true;
}

/** Start request `id`: update the running stream in place when it can, else (re)start it. Always answers `id` once. */
async function start(id: number, p: LiveStartParams): Promise<void> {
  const mine = ++gen;
  const superseded = () => post({ type: 'superseded', id });
  const running = current;
  if (running && !running.stopping && running.engine.playing && output && sameStream(running.params, p)) {
    if (await update(running, id, p, mine)) return;
    if (mine !== gen) return superseded();
  }
  await stopCurrent();
  backend ??= initBackend(parseBackendPreference(p.backend ?? 'auto')).then((b) => b.name);
  await backend;
  const m = await model(p.model);
  const A = await encodeExcerpt(m, p.a.path, p.a.start, p.duration, 'excerpt A');
  const B = await encodeExcerpt(m, p.b.path, p.b.start, p.duration, 'excerpt B');
  if (mine !== gen) return superseded();
  const engine = new LiveEngine(m, A, B, {
    loop: p.loop,
    mode: p.mode,
    curve: resample(p.curve, A.frames),
    amount: clampLiveControl(p.mode, p.amount),
  });
  source = 'keys';
  const encoded = { a: { key: excerptKey(p, p.a), seq: A }, b: { key: excerptKey(p, p.b), seq: B } };
  const c: Running = { id, params: p, encoded, engine, unsub: [], midi: () => undefined, stopping: false };
  attach(c, new MidiMapper({ rampMs: p.midi.rampMs, mappings: p.midi.mappings }));
  let lastStatus = 0;
  const status = () => ({
    position: engine.position === 0 ? engine.frames - 1 : engine.position - 1,
    frames: engine.frames,
    amount: engine.amount(),
    control: engine.controlValue(),
    source,
    underruns: engine.underruns(),
    synthesized: engine.framesSynthesized,
  });
  c.unsub.push(
    engine.onFrame((f) => {
      if (probing) for (const pr of probes) if (pr.sample === null) pr.sample = Math.max(0, f.firstSample);
      const now = performance.now();
      if (now - lastStatus >= 50) {
        lastStatus = now;
        post({ type: 'status', status: status() });
      }
    }),
  );
  output ??= createAudioOutput(p.audioEnv ? { env: p.audioEnv } : {});
  const queued = (LIVE_QUEUE_BLOCKS + 2) * LIVE_BLOCK_FRAMES;
  const out = streamingOutput(output, p.tee, (stream, from, n, sr) => {
    if (!probing || probes.length === 0) return;
    const now = epochMs();
    for (let i = probes.length - 1; i >= 0; i--) {
      const pr = probes[i];
      if (pr.sample === null || pr.sample >= from + n) continue;
      probes.splice(i, 1);
      const ahead = (stream ? stream.buffered() * 1000 : 0) + ((Math.max(pr.sample, from) - from + (stream ? queued : 0)) / sr) * 1000;
      const toWriteMs = now - pr.injectedAt;
      post({ type: 'probe', probe: { injectedAt: pr.injectedAt, toWriteMs, queuedMs: ahead, totalMs: toWriteMs + ahead } });
    }
  });
  if (mine !== gen) {
    c.midi();
    await engine.dispose();
    return superseded();
  }
  current = c;
  const r = await engine.start(out, { deviceId: p.deviceId ?? undefined, blockFrames: LIVE_BLOCK_FRAMES, queueBlocks: LIVE_QUEUE_BLOCKS, realtimePriority: LIVE_RT_PRIORITY });
  /** This start does not play: let go of c (unless stopCurrent has already) and its engine. */
  const letGo = async () => {
    if (current === c) current = null;
    if (!c.stopping) {
      for (const u of c.unsub) u();
      c.midi();
    }
    await engine.dispose();
  };
  if (mine !== gen || c.stopping) {
    // A stop or a newer start came while the device opened: nothing of this one plays.
    await letGo();
    return superseded();
  }
  if (!r.available) {
    await letGo();
    post({ type: 'failed', id, message: r.reason });
    return;
  }
  await postStarted(id, engine, false);
  post({ type: 'status', status: status() });
  warmEncoder(p);
  void engine.done().then(() => {
    if (c.stopping) return;
    if (current === c) current = null;
    for (const u of c.unsub) u();
    c.midi();
    post({ type: 'status', status: status() });
    post({ type: 'ended', underruns: engine.underruns(), ...(engine.error ? { error: engine.error } : {}) });
    void engine.dispose();
  });
}

port.on('message', (req: LiveRequest) => {
  switch (req.type) {
    case 'start':
      start(req.id, req.params).catch((e) => post({ type: 'failed', id: req.id, message: errorText(e) }));
      return;
    case 'stop':
      gen++;
      stopCurrent().then(
        () => post({ type: 'stopped', id: req.id }),
        () => post({ type: 'stopped', id: req.id }),
      );
      return;
    case 'close':
      gen++;
      stopCurrent()
        .catch(() => undefined)
        .then(() => {
          output?.close();
          output = null;
          void encoder?.terminate();
          encoder = null;
          post({ type: 'stopped', id: req.id });
        });
      return;
    case 'amount':
      if (current && Number.isFinite(req.value)) {
        current.engine.setAmount(req.value);
        source = 'keys';
      }
      return;
    case 'midi':
      if (probing && current) probes.push({ injectedAt: req.t * 1000, sample: null });
      mapper.handleBytes(req.bytes, req.t);
      return;
    case 'mappings': {
      const next = new MidiMapper({ rampMs: req.rampMs, mappings: req.mappings });
      if (current) attach(current, next);
      else mapper = next;
      return;
    }
    case 'tee-ack': {
      const r = teeWaiters.get(req.seq);
      teeWaiters.delete(req.seq);
      r?.();
      return;
    }
  }
});
