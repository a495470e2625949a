/**
 * Analysing dataset files on several threads: the calling thread and helper threads
 * (`analysis-worker-entry.ts`, each decoding and analysing whole files) take files from one queue.
 * A file's magnitudes do not depend on the thread that computed it (the same code on the same
 * samples), so a dataset loads to the same frames with any number of threads.
 */
import type { Worker } from 'node:worker_threads';
import type { Magnitudes } from '../dsp/types.ts';
import type { FeatureConfig } from './types.ts';
import type { AnalysisReply, AnalysisRequest } from './analysis-worker-entry.ts';
import { startTsWorker } from './ts-worker.ts';

/** Files in flight per helper thread, so that a helper has the next file while its answer waits. */
const IN_FLIGHT = 2;

/**
 * Analyse `items` with the calling thread and `helpers` helper threads.
 *
 * @param items what to analyse; `path` is the file.
 * @param cfg the feature configuration (transform) the helpers analyse with.
 * @param helpers helper threads to start (they end when this returns).
 * @param local analyse one item on this thread and take its result (synchronous work, then any async bookkeeping).
 * @param remote take a helper's result for an item: magnitudes, or the error it failed with.
 * @param signal aborts between files (rejects with the signal's reason).
 */
export async function analyseOnThreads<T extends { path: string }>(
  items: T[],
  cfg: FeatureConfig,
  helpers: number,
  local: (item: T) => Promise<void>,
  remote: (item: T, result: { mag: Magnitudes; warnings: string[] } | { error: Error }) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const queue = [...items];
  const workers: Worker[] = [];
  const pumps: Promise<void>[] = [];
  try {
    for (let h = 0; h < helpers && queue.length > 0; h++) {
      const worker = startTsWorker(new URL('./analysis-worker-entry.ts', import.meta.url));
      workers.push(worker);
      pumps.push(pump(worker));
    }
    // This thread takes files too; between files it lets the helpers' answers in.
    while (queue.length > 0) {
      signal?.throwIfAborted();
      await local(queue.shift()!);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(pumps);
    // Files handed back by a helper that failed.
    while (queue.length > 0) {
      signal?.throwIfAborted();
      await local(queue.shift()!);
    }
    signal?.throwIfAborted();
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** Keep one helper busy until the queue is empty; a helper that fails hands its files back to this thread. */
  function pump(worker: Worker): Promise<void> {
    return new Promise<void>((resolveAll) => {
      const inFlight = new Map<number, T>();
      let nextId = 1;
      let failed = false;
      const send = () => {
        while (!failed && inFlight.size < IN_FLIGHT && queue.length > 0 && !signal?.aborted) {
          const item = queue.shift()!;
          const id = nextId++;
          inFlight.set(id, item);
          worker.postMessage({ id, path: item.path, cfg } satisfies AnalysisRequest);
        }
        if (inFlight.size === 0) resolveAll();
      };
      const fail = () => {
        if (failed) return;
        failed = true;
        queue.unshift(...inFlight.values());
        inFlight.clear();
        resolveAll();
      };
      worker.on('message', (m: AnalysisReply) => {
        const item = inFlight.get(m.id);
        if (!item) return;
        inFlight.delete(m.id);
        const result = m.ok ? { mag: { frames: m.frames, bins: m.bins, data: m.data }, warnings: m.warnings } : { error: new Error(m.message) };
        void remote(item, result).then(send, fail);
      });
      worker.on('error', fail);
      worker.on('exit', fail);
      send();
    });
  }
}
