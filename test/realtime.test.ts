/**
 * Real-time scheduling of single threads (src/io/realtime.ts), observed through Linux's /proc:
 * the calling thread's id (main thread and a worker thread), and SCHED_FIFO switched on and
 * back off for exactly that thread. Needs util-linux's chrt; the switch itself needs root,
 * CAP_SYS_NICE or an RLIMIT_RTPRIO, and without it the functions must report that nothing changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { currentThreadId, threadIds, threadSched, setThreadFifo } from '../src/io/realtime.ts';
import { realtimeAllowed } from './audio-out-helpers.ts';

/** Run test/helpers/realtime-worker.ts in a worker thread (booted like the app's workers) and return its report. */
function inWorker(priority?: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('../src/engine/worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./helpers/realtime-worker.ts', import.meta.url).href, priority },
    });
    w.once('message', (m) => { resolve(m as Record<string, unknown>); void w.terminate(); });
    w.once('error', reject);
  });
}

test('currentThreadId: the main thread is the process id; a worker thread has its own id among the process threads', async () => {
  assert.equal(currentThreadId(), process.pid);
  const r = (await inWorker()) as { tid: number; tasks: number[] };
  assert.ok(Number.isInteger(r.tid) && r.tid !== process.pid, `worker thread id ${r.tid}`);
  assert.ok(r.tasks.includes(r.tid));
  assert.ok(threadIds().has(process.pid));
});

test('realtimeCurrentThread: only the calling worker thread becomes SCHED_FIFO, and release restores it', async () => {
  const allowed = realtimeAllowed();
  const r = await inWorker(7);
  assert.deepEqual(r.before, { realtime: false, priority: 0 });
  assert.equal(r.realtime, allowed);
  assert.deepEqual(r.during, allowed ? { realtime: true, priority: 7 } : { realtime: false, priority: 0 });
  assert.deepEqual(r.main, { realtime: false, priority: 0 }, 'the main thread must not change');
  assert.deepEqual(r.after, { realtime: false, priority: 0 });
});

test('setThreadFifo refuses priorities outside 1..99', async () => {
  await assert.rejects(setThreadFifo(process.pid, 0), /integer 1\.\.99/);
  await assert.rejects(setThreadFifo(process.pid, 100), /integer 1\.\.99/);
  assert.deepEqual(threadSched(process.pid), { realtime: false, priority: 0 });
});
