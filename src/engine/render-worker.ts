/**
 * Runs the render pipeline in a worker thread, so that the UI thread stays
 * responsive while a render takes seconds. Same results as {@link Renderer}
 * (the worker runs one); progress arrives as events, and `signal` cancels.
 */
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from './ts-worker.ts';
import { UserError } from '../io/errors.ts';
import { RenderCancelled } from './render-errors.ts';
import type { RenderOutcome, RenderParams, RenderProgress, RenderTarget } from './render-types.ts';

/** What {@link RenderWorker.prepare} needs of a render. */
export type PrepareParams = Pick<RenderParams, 'model' | 'a' | 'b' | 'duration' | 'sample'>;

/** What the UI needs to know about a loaded model. */
export interface ModelInfo {
  name: string;
  dir: string;
  sampleRate: number;
  transform: 'stft' | 'cqt';
  latent: number;
}

/** @internal messages to the worker */
export type WorkerRequest =
  | { type: 'load'; id: number; dir: string }
  | { type: 'prepare'; id: number; params: PrepareParams }
  | { type: 'render'; id: number; slot: number; params: RenderParams; target: RenderTarget };

/** @internal messages from the worker */
export type WorkerReply =
  | { type: 'ready'; backend: string; description: string; threads: number }
  | { type: 'fatal'; message: string; user: boolean }
  | { type: 'loaded'; id: number; info: ModelInfo }
  | { type: 'prepared'; id: number }
  | { type: 'progress'; id: number; progress: RenderProgress }
  | { type: 'result'; id: number; outcome: RenderOutcome }
  | { type: 'error'; id: number; message: string; user: boolean; cancelled: boolean };

const SLOTS = 64;

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: RenderProgress) => void;
  slot?: number;
}

/** A render pipeline in a worker thread. */
export class RenderWorker {
  /** Resolves with the backend, and the threads a render's encode and decode use, once the worker has initialised tfjs. */
  readonly ready: Promise<{ backend: string; description: string; threads: number }>;
  private worker: Worker;
  private cancel = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closed = false;

  private constructor(opts: { backend?: string }) {
    this.worker = startTsWorker(new URL('./render-worker-entry.ts', import.meta.url), { backend: opts.backend, cancel: this.cancel.buffer });
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'ready') resolve({ backend: m.backend, description: m.description, threads: m.threads });
        else if (m.type === 'fatal') reject(m.user ? new UserError(m.message) : new Error(m.message));
        else this.dispatch(m);
      };
      this.worker.on('message', onMessage);
      this.worker.on('error', (e) => {
        reject(e);
        this.failAll(e);
      });
      this.worker.on('exit', (code) => {
        const e = new Error(`render worker exited (code ${code})`);
        reject(e);
        if (!this.closed) this.failAll(e);
      });
    });
    this.ready.catch(() => undefined);
  }

  /** Start a worker; `backend` as for `--backend` (default auto). */
  static start(opts: { backend?: string } = {}): RenderWorker {
    return new RenderWorker(opts);
  }

  /** Load a model folder in the worker (cached there). */
  async loadModel(dir: string): Promise<ModelInfo> {
    await this.ready;
    return this.request<ModelInfo>({ type: 'load', id: this.nextId++, dir });
  }

  /**
   * Load the model, analyse both files and encode both excerpts in the worker ahead of a render
   * (`Renderer.prepare`), so that rendering them later only decodes and rebuilds the phase.
   */
  async prepare(params: PrepareParams): Promise<void> {
    await this.ready;
    await this.request<void>({ type: 'prepare', id: this.nextId++, params });
  }

  /**
   * Render in the worker. Rejects with {@link RenderCancelled} when `signal`
   * aborts, with a {@link UserError} for bad input.
   */
  async render(
    params: RenderParams,
    target: RenderTarget,
    opts: { onProgress?: (p: RenderProgress) => void; signal?: AbortSignal } = {},
  ): Promise<RenderOutcome> {
    await this.ready;
    const id = this.nextId++;
    const slot = id % SLOTS;
    Atomics.store(this.cancel, slot, 0);
    if (opts.signal?.aborted) throw new RenderCancelled();
    const onAbort = () => Atomics.store(this.cancel, slot, 1);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.request<RenderOutcome>({ type: 'render', id, slot, params, target }, opts.onProgress, slot);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('render worker closed'));
    await this.worker.terminate();
  }

  private request<T>(req: WorkerRequest, onProgress?: (p: RenderProgress) => void, slot?: number): Promise<T> {
    if (this.closed) return Promise.reject(new Error('render worker closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.set(req.id, { resolve: resolve as (v: unknown) => void, reject, onProgress, slot });
      this.worker.postMessage(req);
    });
  }

  private dispatch(m: WorkerReply): void {
    if (!('id' in m)) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.progress);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'loaded') p.resolve(m.info);
    else if (m.type === 'prepared') p.resolve(undefined);
    else if (m.type === 'result') p.resolve(m.outcome);
    else if (m.type === 'error') p.reject(m.cancelled ? new RenderCancelled() : m.user ? new UserError(m.message) : new Error(m.message));
  }

  private failAll(e: unknown): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
