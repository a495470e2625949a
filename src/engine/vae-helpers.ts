/**
 * Helper threads for VAE inference: the rows of an encode or a decode are shared between the
 * calling thread and helper threads, each with its own TensorFlow.js backend and its own copy of the
 * model loaded from the same model folder.
 *
 * Why: TensorFlow.js' wasm backend runs one thread in Node, and a render with the original LTS
 * network (384 → 2048 → latent → 2048 → 384) spends almost all of its encode and decode time in
 * three 2048-wide matrix products per frame (about 8 GFLOP for two 4 s excerpts encoded and one
 * decoded at hop 128), which one core does at XNNPACK's wasm speed and no faster. Rows (frames)
 * are independent, so a share of them per core divides that time.
 *
 * Results are identical to computing everything on the calling thread: every row's result depends
 * on that row alone (the inference path has no cross-row arithmetic; tested in
 * `vae-helpers.test.ts`), and a helper is used only when it runs the same backend as the caller
 * and has loaded the same weights (the model folder's weights checksum).
 *
 * Helpers never slow a call down or make it fail: a call uses only helpers that are ready at that
 * moment (one still starting is skipped, so a first render does not wait for it), and a helper that
 * fails or exits gives its share back to the calling thread. Helper threads are unref'd, so they
 * never keep the process alive; {@link VaeHelpers.close} ends them.
 */
import type { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { TimbreVae } from './vae.ts';
import { UserError } from '../io/errors.ts';
import { startTsWorker } from './ts-worker.ts';
import type { PhasePartRequest, PhasePartRunner } from './phase-split.ts';

/** Fewest rows worth sending to another thread (below this the message costs more than it saves). */
export const MIN_ROWS_PER_THREAD = 128;

/** @internal messages to a helper */
export type HelperRequest = HelperWork & { id: number };
/** @internal a request without its id */
export type HelperWork =
  | { type: 'load'; dir: string }
  | { type: 'encode'; data: Float32Array; n: number; meanOnly: boolean }
  | { type: 'decode'; data: Float32Array; n: number }
  | PhasePartRequest;

/** @internal messages from a helper */
export type HelperReply =
  | { type: 'loaded'; id: number; backend: string; weightsSha256: string }
  | { type: 'encoded'; id: number; mu: Float32Array; logvar: Float32Array | null }
  | { type: 'decoded'; id: number; out: Float32Array }
  | { type: 'phase-done'; id: number; out: Float32Array }
  | { type: 'error'; id: number; message: string };

/** The model a call runs, as the helpers must have loaded it. */
export interface HelperModel {
  /** Absolute model folder. */
  dir: string;
  /** `weights.json` checksum of the weights the caller runs (empty: unknown, helpers are not used). */
  weightsSha256: string;
  vae: TimbreVae;
}

/**
 * Threads for one inference call by default (the instrument's render worker, `--threads auto`,
 * dataset analysis for training): the cores available, at most 2 (a render's encode of A and B
 * is two equal halves).
 */
export function defaultInferenceThreads(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

/**
 * Parse a `--threads` value: `auto` or an integer 1-16.
 * @throws UserError (one line) naming the flag.
 */
export function parseThreads(text: string | undefined, flag = '--threads'): number {
  if (text === undefined || text === 'auto') return defaultInferenceThreads();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new UserError(`${flag} ${text}: use auto or a whole number of threads from 1 to 16`);
  return n;
}

interface Pending {
  resolve(v: HelperReply): void;
  reject(e: Error): void;
}

/** One helper thread. */
class Helper {
  readonly worker: Worker;
  alive = true;
  /** The model folder and weights checksum this helper has loaded, with its backend (set once loaded). */
  loaded: { dir: string; weightsSha256: string; backend: string } | null = null;
  private loading: { key: string; promise: Promise<void> } | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(backend: string) {
    this.worker = startTsWorker(new URL('./vae-helper-entry.ts', import.meta.url), { backend });
    this.worker.unref();
    this.worker.on('message', (m: HelperReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'error') p.reject(new Error(m.message));
      else p.resolve(m);
    });
    const fail = (e: Error) => {
      this.alive = false;
      this.loaded = null;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', (e) => fail(e));
    this.worker.on('exit', (code) => fail(new Error(`inference helper exited (code ${code})`)));
  }

  request(req: HelperWork, transfer: ArrayBuffer[] = []): Promise<HelperReply> {
    if (!this.alive) return Promise.reject(new Error('inference helper is not running'));
    const id = this.nextId++;
    return new Promise<HelperReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id } as HelperRequest, transfer);
    });
  }

  /** Load `dir` unless it is loaded or loading already with the weights `weightsSha256`. */
  load(dir: string, weightsSha256: string): Promise<void> {
    const key = `${weightsSha256}|${dir}`;
    if (this.loading?.key === key) return this.loading.promise;
    this.loaded = null;
    const promise = this.request({ type: 'load', dir }).then((r) => {
      if (r.type === 'loaded' && this.loading?.key === key) this.loaded = { dir, weightsSha256: r.weightsSha256, backend: r.backend };
    });
    this.loading = { key, promise };
    promise.catch(() => {
      if (this.loading?.key === key) this.loading = null;
    });
    return promise;
  }
}

/**
 * A set of inference helper threads (see the module documentation).
 *
 * @example
 * const helpers = VaeHelpers.start({ threads: 2, backend: 'wasm' });
 * helpers.load(dir, weightsChecksum(dir));               // in the background
 * const { mu } = await helpers.encode(model, 'wasm', frames, n); // rows shared with the ready helpers
 * await helpers.close();
 */
export class VaeHelpers {
  /** Started by the first {@link load}, so that they do not compete with the caller's own start-up. */
  private helpers: Helper[] = [];
  private lastParts = 0;
  private closed = false;

  private constructor(private readonly size: number, private readonly backend: string) {}

  /**
   * Prepare `threads - 1` helper threads (none for `threads` <= 1), started by the first {@link load}.
   *
   * @param opts.threads Threads per call including the caller's (default {@link defaultInferenceThreads}).
   * @param opts.backend The backend preference the helpers initialise with, as for `--backend`; it
   *   should name the caller's backend, since a helper on another backend is never used.
   */
  static start(opts: { threads?: number; backend: string }): VaeHelpers {
    return new VaeHelpers(Math.max(0, (opts.threads ?? defaultInferenceThreads()) - 1), opts.backend);
  }

  /** Number of helper threads (the calling thread not counted); they start with the first {@link load}. */
  get count(): number {
    return this.size;
  }

  /** Helpers ready for `model` now: alive, same backend as `backendName`, same weights. */
  readyFor(model: HelperModel, backendName: string): number {
    return this.usable(model, backendName).length;
  }

  /**
   * Load a model folder in every helper, in the background; resolves when all have tried (a helper
   * that fails to load, or finds other weights than `weightsSha256`, is simply not used).
   *
   * @param dir absolute model folder.
   * @param weightsSha256 its weights checksum as the caller loaded it ({@link weightsChecksum}).
   */
  load(dir: string, weightsSha256: string): Promise<void> {
    if (this.helpers.length === 0 && !this.closed) this.helpers = Array.from({ length: this.size }, () => new Helper(this.backend));
    return Promise.allSettled(this.helpers.filter((h) => h.alive).map((h) => h.load(dir, weightsSha256))).then(() => undefined);
  }

  /** Threads (the caller's included) that shared the rows of the last encode or decode. */
  get lastThreads(): number {
    return this.lastParts;
  }

  /**
   * Encode row-major `[n, inputBins]` frames, sharing the rows with the ready helpers.
   * Same result as `model.vae.encode(frames, n)` (with `meanOnly`: `mu` as
   * `model.vae.encodeMean(frames, n)` and `logvar` null).
   *
   * @param backendName the caller's backend name (`tf.getBackend()`).
   */
  async encode(
    model: HelperModel,
    backendName: string,
    frames: Float32Array,
    n: number,
    opts: { meanOnly?: boolean } = {},
  ): Promise<{ mu: Float32Array; logvar: Float32Array | null }> {
    const { inputBins, latent } = model.vae.config;
    const meanOnly = opts.meanOnly ?? false;
    const mu = new Float32Array(n * latent);
    const logvar = meanOnly ? null : new Float32Array(n * latent);
    await this.share(model, backendName, n, {
      local: (start, rows) => {
        const x = frames.subarray(start * inputBins, (start + rows) * inputBins);
        if (meanOnly) {
          mu.set(model.vae.encodeMean(x, rows), start * latent);
        } else {
          const r = model.vae.encode(x, rows);
          mu.set(r.mu, start * latent);
          logvar!.set(r.logvar, start * latent);
        }
      },
      remote: async (h, start, rows) => {
        const data = frames.slice(start * inputBins, (start + rows) * inputBins);
        const r = await h.request({ type: 'encode', data, n: rows, meanOnly }, [data.buffer]);
        if (r.type !== 'encoded' || r.mu.length !== rows * latent || (logvar !== null) !== (r.logvar !== null)) {
          throw new Error('inference helper answered with the wrong shape');
        }
        mu.set(r.mu, start * latent);
        if (logvar && r.logvar) logvar.set(r.logvar, start * latent);
      },
    });
    return { mu, logvar };
  }

  /**
   * Decode row-major `[n, latent]` vectors, sharing the rows with the ready helpers.
   * Same result as `model.vae.decode(z, n)`.
   */
  async decode(model: HelperModel, backendName: string, z: Float32Array, n: number): Promise<Float32Array> {
    const { inputBins, latent } = model.vae.config;
    const out = new Float32Array(n * inputBins);
    await this.share(model, backendName, n, {
      local: (start, rows) => out.set(model.vae.decode(z.subarray(start * latent, (start + rows) * latent), rows), start * inputBins),
      remote: async (h, start, rows) => {
        const data = z.slice(start * latent, (start + rows) * latent);
        const r = await h.request({ type: 'decode', data, n: rows }, [data.buffer]);
        if (r.type !== 'decoded' || r.out.length !== rows * inputBins) throw new Error('inference helper answered with the wrong shape');
        out.set(r.out, start * inputBins);
      },
    });
    return out;
  }

  /**
   * Runners for parts of a phase reconstruction on several threads (`phase-split.ts`), one per helper that is running
   * and has loaded a model (which also loads the phase code, so that the first reconstruction does not wait for it);
   * empty when there is none.
   */
  phaseRunners(): PhasePartRunner[] {
    return this.helpers
      .filter((h) => h.alive && h.loaded !== null)
      .map((h) => async (req, transfer) => {
        const r = await h.request(req, transfer);
        if (r.type !== 'phase-done') throw new Error('inference helper answered a phase part with the wrong reply');
        return r.out;
      });
  }

  /** End the helper threads. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.helpers.map((h) => h.worker.terminate().catch(() => 0)));
  }

  private usable(model: HelperModel, backendName: string): Helper[] {
    if (model.weightsSha256 === '') return [];
    return this.helpers.filter((h) => h.alive && h.loaded !== null && h.loaded.dir === model.dir &&
      h.loaded.weightsSha256 === model.weightsSha256 && h.loaded.backend === backendName);
  }

  /**
   * Split rows `[0, n)` into contiguous shares, the first for the calling thread and one per ready
   * helper, post the helpers' shares, compute the caller's, then wait; a share whose helper fails
   * is computed by the caller.
   */
  private async share(
    model: HelperModel,
    backendName: string,
    n: number,
    work: { local(start: number, rows: number): void; remote(h: Helper, start: number, rows: number): Promise<void> },
  ): Promise<void> {
    const helpers = this.usable(model, backendName).slice(0, Math.max(0, Math.floor(n / MIN_ROWS_PER_THREAD) - 1));
    const parts = helpers.length + 1;
    this.lastParts = parts;
    const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * n) / parts));
    const remote = helpers.map((h, i) => {
      const start = bounds[i + 1];
      const rows = bounds[i + 2] - start;
      return work.remote(h, start, rows).then(() => null, () => ({ start, rows }));
    });
    work.local(0, bounds[1]);
    for (const failed of await Promise.all(remote)) {
      if (failed) work.local(failed.start, failed.rows);
    }
  }
}
