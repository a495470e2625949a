/**
 * Live mode for the instrument: the UI-thread handle of a worker thread that
 * runs the streaming engine (src/engine/live.ts: per STFT frame the latents of
 * excerpts A and B are mixed with the current control value, decoded and
 * phase-reconstructed with RTPGHI, Průša & Søndergaard 2016) and streams it to
 * the audio device. The worker, TensorFlow.js in it and the model are loaded on
 * the first start, so the instrument opens as fast without live mode.
 *
 * Why a worker: the engine synthesises one frame per hop (5.8 ms at 44.1 kHz
 * with hop 256) and keeps a device queue of about 23 ms filled; a redraw of the
 * screen takes 15 to 25 ms on a loaded machine, which on the same thread would
 * empty that queue.
 */
import type { Worker } from 'node:worker_threads';
import type { MidiMapping } from '../engine/midi-map.ts';
import type { LiveProbe, LiveReply, LiveRequest, LiveStartParams, LiveStatusReport } from './live-protocol.ts';
import { startTsWorker } from '../engine/ts-worker.ts';

/** What {@link LiveService.start} resolves with. */
export type LiveStartResult =
  | { ok: true; frames: number; sampleRate: number; hop: number; latencyMs: number; localDevice: boolean; realtime: boolean; updated: boolean }
  /**
   * `superseded`: a stop or a newer start came first; that one's outcome is what plays. `playing`: new
   * settings for a running stream could not be used (say, an excerpt that cannot be encoded); it goes on as it was.
   */
  | { ok: false; message: string; superseded?: boolean; playing?: boolean };

/** Events of a live stream, in arrival order. */
export type LiveEvent =
  | { type: 'status'; status: LiveStatusReport }
  | { type: 'ended'; underruns: number; error?: string }
  | { type: 'tee'; seq: number; samples: Float32Array; sampleRate: number; awaitAck: boolean }
  | { type: 'tee-close' }
  | { type: 'probe'; probe: LiveProbe };

/** Live mode as the UI drives it (implemented by {@link LiveWorker}). */
export interface LiveService {
  /**
   * Start the stream, or give the running one new settings: new excerpts, duration, loop, mode or curve are
   * swapped into a running stream without a break (`updated: true`); another model, backend or output device
   * restarts it. Resolves once it plays, or with the one-line reason it cannot (`superseded` when a stop or a
   * newer start came first).
   */
  start(params: LiveStartParams): Promise<LiveStartResult>;
  /** Stop the stream (queued audio is dropped); resolves when it has stopped. */
  stop(): Promise<void>;
  /** Set the control from the keys (absolute `a`, or the offset in offset mode). */
  setAmount(value: number): void;
  /** Forward one raw MIDI message with its arrival time (seconds since the Unix epoch, see `epochMs`). */
  midi(bytes: ArrayLike<number>, t: number): void;
  /** Replace the MIDI mappings the stream follows. */
  setMappings(mappings: MidiMapping[], rampMs: number): void;
  /** Acknowledge a `tee` block once it was written (paces the stream when no local device plays it). */
  ackTee(seq: number): void;
  /** Listen to stream events; returns an unsubscribe function. */
  onEvent(cb: (e: LiveEvent) => void): () => void;
  /** Stop and end the worker. */
  close(): Promise<void>;
}

/** The live engine in a worker thread. */
export class LiveWorker implements LiveService {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: LiveStartResult | null) => void }>();
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private closed = false;

  /** @param opts.probe report control latencies (`probe` events) for benchmarks. */
  constructor(private readonly opts: { probe?: boolean } = {}) {}

  private get(): Worker {
    if (this.worker) return this.worker;
    const w = startTsWorker(new URL('./live-worker-entry.ts', import.meta.url), { probe: this.opts.probe === true });
    w.on('message', (m: LiveReply) => this.receive(m));
    const fail = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.resolve({ ok: false, message: why });
      }
      if (!this.closed) this.emit({ type: 'ended', underruns: 0, error: why });
    };
    w.on('error', (e) => fail(`live engine failed: ${String(e?.message ?? e).split('\n')[0]}`));
    w.on('exit', (code) => fail(`live engine exited (code ${code})`));
    this.worker = w;
    return w;
  }

  private send(m: LiveRequest): void {
    this.worker?.postMessage(m);
  }

  private emit(e: LiveEvent): void {
    for (const l of this.listeners) l(e);
  }

  private receive(m: LiveReply): void {
    switch (m.type) {
      case 'started':
      case 'failed':
      case 'superseded':
      case 'stopped': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.type === 'started') p.resolve({ ok: true, frames: m.frames, sampleRate: m.sampleRate, hop: m.hop, latencyMs: m.latencyMs, localDevice: m.localDevice, realtime: m.realtime, updated: m.updated === true });
        else if (m.type === 'failed') p.resolve({ ok: false, message: m.message, ...(m.playing ? { playing: true } : {}) });
        else if (m.type === 'superseded') p.resolve({ ok: false, message: 'superseded by a newer request', superseded: true });
        else p.resolve(null);
        return;
      }
      default:
        this.emit(m);
    }
  }

  async start(params: LiveStartParams): Promise<LiveStartResult> {
    if (this.closed) return { ok: false, message: 'live engine closed' };
    const w = this.get();
    const id = this.nextId++;
    const r = new Promise<LiveStartResult | null>((resolve) => this.pending.set(id, { resolve }));
    w.postMessage({ type: 'start', id, params } satisfies LiveRequest);
    return (await r) ?? { ok: false, message: 'live mode stopped' };
  }

  async stop(): Promise<void> {
    if (!this.worker) return;
    const id = this.nextId++;
    const r = new Promise<LiveStartResult | null>((resolve) => this.pending.set(id, { resolve }));
    this.send({ type: 'stop', id });
    await r;
  }

  setAmount(value: number): void {
    this.send({ type: 'amount', value });
  }

  midi(bytes: ArrayLike<number>, t: number): void {
    this.send({ type: 'midi', bytes: Array.from(bytes), t });
  }

  setMappings(mappings: MidiMapping[], rampMs: number): void {
    this.send({ type: 'mappings', mappings, rampMs });
  }

  ackTee(seq: number): void {
    this.send({ type: 'tee-ack', seq });
  }

  onEvent(cb: (e: LiveEvent) => void): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const w = this.worker;
    if (w) {
      const id = this.nextId++;
      const r = new Promise<LiveStartResult | null>((resolve) => this.pending.set(id, { resolve }));
      this.send({ type: 'close', id });
      await Promise.race([r, new Promise((res) => setTimeout(res, 3000).unref())]);
    }
    this.closed = true;
    this.worker = null;
    await w?.terminate();
  }
}
