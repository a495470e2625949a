/**
 * Scheduling of the audio process during a live stream: with `realtime` (the default) the
 * threads that feed PortAudio (the audio process's event loop among them) run SCHED_FIFO at
 * priority 5 while the stream is open, and return to normal scheduling once it is closed; with
 * `realtime: false` nothing changes. Observed from outside through `/proc` (Linux), against a
 * private `jackd -d dummy` server behind ALSA's `jack` PCM. Debian packages: jackd2,
 * libasound2-plugins, util-linux (chrt).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { chirp, realtimeAllowed, pacedJackOutput } from './audio-out-helpers.ts';

const RATE = 44100;


/** Pid of this process's audio output child (found by parent pid and command line). */
function audioChildPid(): number {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${e}/cmdline`, 'utf8').includes('audio-out-child.ts')) return Number(e);
    } catch {
      // The process ended while listed.
    }
  }
  throw new Error('audio output child process not found');
}

/** Scheduling policy (0 normal, 1 SCHED_FIFO) and real-time priority of the main thread of `pid`. */
function mainThreadSched(pid: number): { policy: number; rtPriority: number } {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 40 (rt_priority) and 41 (policy) of proc(5); the slice starts at field 3.
  return { rtPriority: Number(f[40 - 3]), policy: Number(f[41 - 3]) };
}

const fx = pacedJackOutput('audio-sched', RATE);

test('live stream: the feeding event loop runs SCHED_FIFO 5 while a real-time stream is open, normal again after close', async () => {
  const allowed = realtimeAllowed();
  const s = await fx.out.openStream(RATE, { blockFrames: 1024, queueBlocks: 4 });
  assert.equal(s.available, true, s.available ? '' : s.reason);
  if (!s.available) return;
  const pid = audioChildPid();
  // Switched before openStream resolves, i.e. before the first block can arrive.
  assert.deepEqual(mainThreadSched(pid), allowed ? { policy: 1, rtPriority: 5 } : { policy: 0, rtPriority: 0 });
  const x = chirp(RATE, 0.5, 100, 2000, 0.3);
  for (let off = 0; off < x.length; off += 1024) await s.write(x.slice(off, off + 1024));
  assert.equal(mainThreadSched(pid).policy, allowed ? 1 : 0);
  await s.close();
  assert.deepEqual(mainThreadSched(pid), { policy: 0, rtPriority: 0 });
  assert.equal(s.underruns(), 0);
});

test('live stream with realtime: false leaves the audio process at normal scheduling', async () => {
  const s = await fx.out.openStream(RATE, { blockFrames: 1024, queueBlocks: 4, realtime: false });
  assert.equal(s.available, true, s.available ? '' : s.reason);
  if (!s.available) return;
  const pid = audioChildPid();
  const x = chirp(RATE, 0.3, 100, 2000, 0.3);
  for (let off = 0; off < x.length; off += 1024) await s.write(x.slice(off, off + 1024));
  assert.equal(mainThreadSched(pid).policy, 0);
  await s.close();
  assert.equal(s.realtime(), false);
  assert.deepEqual(mainThreadSched(pid), { policy: 0, rtPriority: 0 });
});
