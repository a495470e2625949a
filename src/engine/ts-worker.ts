/**
 * Worker threads running this project's TypeScript modules: each boots through `worker-boot.mjs`
 * (which registers tsx in the new thread) and imports `entry`. Their stdout and stderr are piped and
 * drained, so that TensorFlow.js, PortAudio or a stray log never write on the terminal UI.
 */
import { Worker } from 'node:worker_threads';

/**
 * Start a worker thread on a TypeScript entry module.
 *
 * @param entry the entry module, e.g. `new URL('./render-worker-entry.ts', import.meta.url)`.
 * @param data more `workerData` for the entry (besides `entry`, which this sets).
 * @returns the worker, with its output drained.
 */
export function startTsWorker(entry: URL, data: Record<string, unknown> = {}): Worker {
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    workerData: { ...data, entry: entry.href },
    stdout: true,
    stderr: true,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  return worker;
}
