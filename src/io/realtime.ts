/**
 * Real-time (SCHED_FIFO) scheduling of single threads on Linux, as audio
 * servers (JACK, PipeWire) give their processing threads.
 *
 * Node cannot set a thread's scheduling policy itself, so the switch runs
 * util-linux's `chrt` on the thread id (Linux schedules threads, not
 * processes: `chrt -p TID` changes exactly one thread). It needs root,
 * CAP_SYS_NICE or an RLIMIT_RTPRIO that covers the priority (e.g. the limits
 * Debian's `audio` group gets from `/etc/security/limits.d`); when refused,
 * or off Linux, nothing changes and the functions say so by their result.
 *
 * Linux's real-time throttling (`/proc/sys/kernel/sched_rt_runtime_us`,
 * 95 % by default) keeps a runaway real-time thread from locking the machine.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Ids of this process's threads (Linux `/proc/self/task`; empty elsewhere). */
export function threadIds(): Set<number> {
  try {
    return new Set(readdirSync('/proc/self/task').map(Number));
  } catch {
    return new Set();
  }
}

/**
 * Id of the calling thread (the main thread or a `worker_threads` worker), from the
 * `/proc/thread-self` link (`PID/task/TID`); null off Linux.
 */
export function currentThreadId(): number | null {
  try {
    const m = /task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Scheduling of thread `tid` of this process: whether its policy is real-time (SCHED_FIFO 1 or
 * SCHED_RR 2; field 41 of its `stat`) and its real-time priority (field 40; 0 for normal threads).
 */
export function threadSched(tid: number): { realtime: boolean; priority: number } {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const policy = Number(fields[41 - 3]);
    return { realtime: policy === 1 || policy === 2, priority: Number(fields[40 - 3]) };
  } catch {
    return { realtime: false, priority: 0 };
  }
}

/** Run `chrt args` without blocking the event loop; resolves true when it succeeded. */
function chrt(args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    let p: ReturnType<typeof spawn>;
    try {
      p = spawn('chrt', args, { stdio: 'ignore', timeout: 2000 });
    } catch {
      resolve(false);
      return;
    }
    p.on('error', () => resolve(false));
    p.on('exit', (code) => resolve(code === 0));
  });
}

/**
 * Switch thread `tid` to SCHED_FIFO at `priority`.
 *
 * @param tid A thread id of this process (see {@link threadIds}, {@link currentThreadId}).
 * @param priority Real-time priority 1..99 (JACK's server default is 10; keep clients below it).
 * @returns True if the switch was made; false when refused (no privilege) or unsupported.
 */
export function setThreadFifo(tid: number, priority: number): Promise<boolean> {
  if (!Number.isInteger(priority) || priority < 1 || priority > 99) {
    return Promise.reject(new RangeError(`real-time priority must be an integer 1..99, got ${priority}`));
  }
  return chrt(['-f', '-p', String(priority), String(tid)]);
}

/**
 * Return thread `tid` to normal (SCHED_OTHER) scheduling. Always permitted.
 *
 * @returns True if `chrt` succeeded.
 */
export function setThreadNormal(tid: number): Promise<boolean> {
  return chrt(['-o', '-p', '0', String(tid)]);
}

/**
 * Make the calling thread real-time (SCHED_FIFO at `priority`) until the returned release
 * function is called. The switch itself runs asynchronously (a `chrt` process), so the caller's
 * event loop keeps running meanwhile.
 *
 * @param priority Real-time priority 1..99.
 * @returns `{ realtime, release }`: whether the thread is now real-time, and a function that
 *   restores normal scheduling (a no-op when the switch was refused).
 */
export async function realtimeCurrentThread(priority: number): Promise<{ realtime: boolean; release: () => Promise<void> }> {
  const tid = currentThreadId();
  if (tid === null) return { realtime: false, release: async () => {} };
  const before = threadSched(tid);
  if (before.realtime) return { realtime: true, release: async () => {} };
  const ok = await setThreadFifo(tid, priority);
  return {
    realtime: ok,
    release: async () => {
      if (ok) await setThreadNormal(tid);
    },
  };
}
