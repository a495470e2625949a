/**
 * Worker-thread side of {@link RenderWorker}: owns one {@link Renderer} and
 * answers requests from the UI thread. Cancellation uses a shared flag
 * (the render loop is synchronous, so a message could not interrupt it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Renderer, RenderCancelled } from './render.ts';
import { defaultInferenceThreads } from './vae-helpers.ts';
import { isUserError } from '../io/errors.ts';
import type { WorkerRequest, WorkerReply } from './render-worker.ts';

const port = parentPort!;
const cancelFlags = new Int32Array(workerData.cancel as SharedArrayBuffer);
const post = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/** An AbortSignal-shaped view of slot `slot` of the shared cancel flags. */
function sharedSignal(slot: number): AbortSignal {
  return {
    get aborted() {
      return Atomics.load(cancelFlags, slot) === 1;
    },
    reason: undefined,
    onabort: null,
    throwIfAborted() {
      if (Atomics.load(cancelFlags, slot) === 1) throw new RenderCancelled();
    },
    addEventListener() {},
    removeEventListener() {},
    dispatchEvent: () => false,
  } as unknown as AbortSignal;
}

let renderer: Renderer;
try {
  // A long-lived renderer: helper threads pay for their start-up after the first render.
  renderer = await Renderer.create({ backend: workerData.backend as string | undefined, threads: defaultInferenceThreads() });
  post({ type: 'ready', backend: renderer.backend.name, description: renderer.backend.description, threads: renderer.threads });
} catch (e) {
  post({ type: 'fatal', message: (e as Error).message, user: isUserError(e) });
  throw e;
}

port.on('message', async (req: WorkerRequest) => {
  try {
    if (req.type === 'load') {
      const m = await renderer.loadModel(req.dir);
      post({
        type: 'loaded',
        id: req.id,
        info: { name: m.name, dir: m.dir, sampleRate: m.sampleRate, transform: m.config.features.transform.kind, latent: m.config.network.latent },
      });
    } else if (req.type === 'prepare') {
      await renderer.prepare(req.params);
      post({ type: 'prepared', id: req.id });
    } else if (req.type === 'render') {
      const signal = sharedSignal(req.slot);
      const outcome = await renderer.render(req.params, req.target, {
        signal,
        onProgress: (p) => post({ type: 'progress', id: req.id, progress: p }),
      });
      post({ type: 'result', id: req.id, outcome }, [outcome.samples.buffer as ArrayBuffer]);
    }
  } catch (e) {
    post({
      type: 'error',
      id: req.id,
      message: (e as Error).message,
      user: isUserError(e),
      cancelled: e instanceof RenderCancelled,
    });
  }
});
