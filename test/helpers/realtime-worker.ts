/**
 * Worker-thread side of test/realtime.test.ts: reports its own thread id and the process's
 * threads, then (with `workerData.priority`) takes real-time scheduling, reads it back through
 * /proc, releases it and reads again.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { currentThreadId, realtimeCurrentThread, threadIds, threadSched } from '../../src/io/realtime.ts';

const tid = currentThreadId();
const report: Record<string, unknown> = { tid, tasks: [...threadIds()] };
if (tid !== null && typeof workerData?.priority === 'number') {
  report.before = threadSched(tid);
  const h = await realtimeCurrentThread(workerData.priority);
  report.realtime = h.realtime;
  report.during = threadSched(tid);
  report.main = threadSched(process.pid);
  await h.release();
  report.after = threadSched(tid);
}
parentPort!.postMessage(report);
