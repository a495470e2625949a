/**
 * Child-process entry of the audio output ({@link ../io/audio-out.ts}): the only
 * place where PortAudio (through naudiodon's native binding) is loaded.
 *
 * Why a child process: naudiodon's native code prints to stdout (PortAudio
 * banner, stream options), ALSA writes 100+ `ALSA lib` lines to stderr while
 * devices are enumerated, and a broken ALSA configuration can abort the whole
 * process inside PortAudio (e.g. `BuildDeviceList: Assertion ... failed` with
 * an empty configuration). None of that may reach the terminal UI or kill the
 * app, so the parent spawns this file with stdout/stderr piped (and drained)
 * and talks to it over Node's IPC channel (an extra pipe, never stdout) with
 * `serialization: 'advanced'`, so Float32Arrays travel as binary.
 *
 * Protocol (parent -> child), every request carries a numeric `id` answered by
 * exactly one `{ type: 'reply', id, ok, ... }`:
 * - `{ type: 'list', id }` -> `{ ok: true, devices: ChildDevice[] }`.
 * - `{ type: 'play', id, samples: Float32Array, sampleRate, channels, deviceId }`:
 *   replies once the stream is open (`ok`, `latency`), then sends
 *   `{ type: 'progress', id, frames }` as blocks are queued and
 *   `{ type: 'ended', id, status: 'finished' | 'stopped' | 'failed', reason? }`.
 * - `{ type: 'open', id, sampleRate, channels, deviceId, blockFrames, queueBlocks, realtime }`:
 *   opens a live stream known by that request id; then `{ type: 'write', stream, samples }` (no reply)
 *   appends audio, answered by `{ type: 'stat', id: stream, frames, underruns, realtimeThreads }` after each block handed
 *   to PortAudio; `{ type: 'close', id, stream }` drains and closes (reply), `{ type: 'abort', id, stream }`
 *   drops queued audio first. `{ type: 'stop', stream }` (no reply) stops a playback or stream; a stream stopped this
 *   way (or by `stopAll`) is closed at once and announced with `{ type: 'stopped', id: stream }`.
 * - `{ type: 'stopAll' }` aborts every playback and stream; `{ type: 'exit' }` ends the process.
 * The child sends `{ type: 'ready', ok, reason? }` first (whether naudiodon loaded).
 *
 * Scheduling: a live stream opened with `realtime` (the default) switches the threads that feed
 * PortAudio (this process's main thread, which receives the blocks, and libuv's workers, where
 * naudiodon's `write` waits for room) to SCHED_FIFO priority 5 before it is answered, and the
 * threads PortAudio starts to priority 10 once it runs; the feeding threads return to normal
 * scheduling when the last such stream closes. Both need CAP_SYS_NICE or an RLIMIT_RTPRIO and
 * change nothing otherwise. Without it a loaded machine delays the event loop that refills
 * naudiodon's queue longer than that queue lasts (5 x 128 frames = 14.5 ms). Measured with
 * `npm run bench -- live --seconds 60 --configs 128x5:0` on two cores with three busy loops at
 * nice -10 beside it: 25 underruns in 60 s for the precomputed-block floor and 15 for the live
 * engine before, 2 and 2 after, at the same latency.
 *
 * Blocks are pushed into naudiodon's bounded chunk queue (`maxQueue`); the
 * stream is started only once that queue is full (or the input ends), so the
 * first device callback never finds it empty. PortAudio reports an output
 * underflow through its callback status flags; naudiodon keeps the latest flag
 * string and returns it from the next `write`, which this child counts
 * (so several underflows between two writes count once: a lower bound).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setThreadFifo, setThreadNormal, threadIds, threadSched } from './realtime.ts';

/** naudiodon's native stream object (`build/Release/naudiodon.node` `create()`). */
interface NativeStream {
  start(): void;
  write(chunk: Buffer): Promise<string | undefined>;
  quit(mode: 'WAIT' | 'ABORT'): Promise<void>;
}

interface NativeDevice {
  id: number; name: string; maxInputChannels: number; maxOutputChannels: number;
  defaultSampleRate: number; defaultLowOutputLatency: number; defaultHighOutputLatency: number; hostAPIName: string;
}

interface NativeBinding {
  getDevices(): NativeDevice[];
  getHostAPIs(): { defaultHostAPI: number; HostAPIs: { id: number; name: string; defaultOutput: number; deviceCount: number }[] };
  create(options: { outOptions: Record<string, number | boolean> }): NativeStream;
}

/** Device description sent to the parent (mirrors `AudioDevice` in audio-out.ts). */
export interface ChildDevice {
  id: number; name: string; hostApi: string; maxOutputChannels: number;
  defaultSampleRate: number; defaultLowOutputLatency: number; defaultHighOutputLatency: number; isDefault: boolean;
}

type Msg = Record<string, unknown> & { type: string; id?: number };

const send = (m: Record<string, unknown>): void => {
  if (process.connected) process.send!(m);
};

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n')[0].trim();
}

function loadBinding(): { binding?: NativeBinding; reason?: string } {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve('naudiodon/package.json'));
  } catch {
    return { reason: 'naudiodon is not installed (optional dependency; install it with: npm install naudiodon)' };
  }
  // Load the native addon directly: naudiodon's index.js also installs a segfault handler writing crash.log into the cwd.
  for (const sub of ['build/Release/naudiodon.node', 'build/Debug/naudiodon.node']) {
    const p = join(dir, sub);
    if (!existsSync(p)) continue;
    try {
      return { binding: require(p) as NativeBinding };
    } catch (e) {
      return { reason: `naudiodon's native module failed to load: ${firstLine(e)}` };
    }
  }
  return { reason: 'naudiodon is installed but not built (rebuild it with: npm rebuild naudiodon)' };
}

const { binding, reason: loadReason } = loadBinding();

// Raise this process's priority where allowed (root, or CAP_SYS_NICE / RLIMIT_NICE): PortAudio's
// callback thread and libuv's worker threads are created later from this thread and inherit its
// nice value, so a busy machine delays them less. Refused for ordinary users; nothing changes then.
try {
  setPriority(-10);
} catch {
  // Not permitted: run at normal priority.
}

function listDevices(b: NativeBinding): ChildDevice[] {
  const devices = b.getDevices();
  const defaultIds = new Set<number>();
  try {
    // PortAudio's per-host-API default output is a global device index.
    for (const api of b.getHostAPIs().HostAPIs) if (api.defaultOutput >= 0) defaultIds.add(api.defaultOutput);
  } catch {
    // No host API information: fall back to the device named "default" in chooseDevice.
  }
  return devices
    .filter((d) => d.maxOutputChannels > 0)
    .map((d) => ({
      id: d.id,
      name: d.name,
      hostApi: d.hostAPIName,
      maxOutputChannels: d.maxOutputChannels,
      defaultSampleRate: d.defaultSampleRate,
      defaultLowOutputLatency: d.defaultLowOutputLatency,
      defaultHighOutputLatency: d.defaultHighOutputLatency,
      isDefault: defaultIds.has(d.id),
    }));
}

/** Resolve the device to use; returns a reason string when it cannot be used. */
function chooseDevice(b: NativeBinding, deviceId: number, channels: number): { id: number } | { reason: string } {
  const devices = listDevices(b);
  if (devices.length === 0) return { reason: 'no audio device (renders are still written to files)' };
  if (deviceId < 0) {
    const def = devices.find((d) => d.isDefault) ?? devices.find((d) => d.name === 'default') ?? devices[0];
    if (def.maxOutputChannels < channels) return { reason: `audio device ${def.id} (${def.name}) has ${def.maxOutputChannels} output channels, ${channels} needed` };
    return { id: def.id };
  }
  const d = devices.find((x) => x.id === deviceId);
  if (!d) {
    const names = devices.map((x) => `${x.id} ${x.name}`).join(', ');
    return { reason: `audio device ${deviceId} does not exist; choose one of: ${names}` };
  }
  if (d.maxOutputChannels < channels) return { reason: `audio device ${d.id} (${d.name}) has ${d.maxOutputChannels} output channels, ${channels} needed` };
  return { id: d.id };
}

/** True if thread `tid` already has a real-time policy. */
function isRealtimeThread(tid: number): boolean {
  return threadSched(tid).realtime;
}

/** SCHED_FIFO priority given to the threads PortAudio starts (JACK's default server priority is 10). */
const RT_PRIORITY = 10;

/**
 * SCHED_FIFO priority of the threads that feed PortAudio while a real-time stream is open: this
 * process's main thread (it receives the blocks from the parent and hands them to naudiodon) and
 * libuv's worker threads (naudiodon's `write` waits for room in its queue on one of them). Below
 * {@link RT_PRIORITY}, so the device callback always runs first.
 */
const FEED_RT_PRIORITY = 5;

/**
 * Give the threads created since `before` (PortAudio's callback thread and the ALSA plugin's
 * helpers) SCHED_FIFO scheduling with `chrt`, as audio servers do, so CPU load elsewhere cannot
 * delay the callback past the device buffer (measured: 8 underruns per minute at load 10 on two
 * cores without, none with). Needs CAP_SYS_NICE or an RLIMIT_RTPRIO (e.g. the `audio` group's
 * limits); when refused nothing changes. Threads that are already real-time (a JACK client's
 * process thread) keep their priority, except those that merely inherited the feeding threads'
 * {@link FEED_RT_PRIORITY} from the thread that started them. The `chrt` processes run asynchronously: the stream has
 * just started with only its queue ahead of the device, and the event loop must keep feeding it
 * meanwhile. Resolves to how many threads were switched.
 */
async function makeRealtime(before: Set<number>): Promise<number> {
  const tids = [...threadIds()].filter((tid) => {
    if (before.has(tid)) return false;
    const t = threadSched(tid);
    // A thread started by a feeding thread inherits its FIFO 5 (PortAudio's callback thread is
    // started from the event loop): that one is raised too.
    return !t.realtime || (feedThreads.size > 0 && t.priority === FEED_RT_PRIORITY && t.realtime);
  });
  const ok = await Promise.all(tids.map((tid) => setThreadFifo(tid, RT_PRIORITY)));
  return ok.filter(Boolean).length;
}

/** Threads switched to {@link FEED_RT_PRIORITY} (restored to normal scheduling when no real-time stream is left). */
const feedThreads = new Set<number>();
/** Open live streams that asked for real-time scheduling. */
let feedUsers = 0;
/** The switch (or the restore) in progress, so the two never interleave. */
let feedChange: Promise<void> = Promise.resolve();

/**
 * A real-time stream opened: switch the threads that existed before it (the main thread, which
 * receives the parent's blocks, and libuv's workers, where naudiodon's `write` waits) to SCHED_FIFO
 * at {@link FEED_RT_PRIORITY}. Without this a busy machine delays the event loop that refills
 * naudiodon's queue longer than the queue lasts (queue 5 x 128 frames = 14.5 ms). Refused
 * without CAP_SYS_NICE / RLIMIT_RTPRIO: nothing changes then.
 */
function acquireFeedRealtime(before: Set<number>): void {
  feedUsers++;
  if (feedUsers > 1) return;
  feedChange = feedChange.then(async () => {
    const tids = [...before].filter((tid) => !isRealtimeThread(tid));
    const ok = await Promise.all(tids.map((tid) => setThreadFifo(tid, FEED_RT_PRIORITY)));
    tids.forEach((tid, i) => { if (ok[i]) feedThreads.add(tid); });
  });
}

/** A real-time stream closed: the last one restores normal scheduling of the feeding threads. */
function releaseFeedRealtime(): void {
  feedUsers = Math.max(0, feedUsers - 1);
  if (feedUsers > 0) return;
  feedChange = feedChange.then(async () => {
    if (feedUsers > 0) return;
    const tids = [...feedThreads];
    feedThreads.clear();
    await Promise.all(tids.map((tid) => setThreadNormal(tid)));
  });
}

function openNative(b: NativeBinding, deviceId: number, sampleRate: number, channels: number,
  blockFrames: number, queueBlocks: number): NativeStream {
  return b.create({
    outOptions: {
      deviceId, sampleRate, channelCount: channels, sampleFormat: 1,
      maxQueue: queueBlocks, framesPerBuffer: blockFrames, closeOnError: true,
    },
  });
}

function toBuffer(samples: Float32Array, start: number, end: number, blockLen: number): Buffer {
  // Always hand PortAudio whole blocks: the last one is padded with silence.
  const out = new Float32Array(blockLen);
  out.set(samples.subarray(start, Math.min(end, samples.length)));
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** One open PortAudio stream fed block by block. */
class Feeder {
  private readonly pending: Float32Array[] = [];
  private pendingLen = 0;
  private pendingOffset = 0;
  private pumping = false;
  private started = false;
  private pushedBlocks = 0;
  private ended = false;
  /** Number of writes whose result carried a PortAudio output-underflow status. */
  underruns = 0;
  framesPushed = 0;
  aborted = false;
  closing = false;
  /** Threads switched to real-time scheduling at start. */
  realtimeThreads = 0;
  /** Threads that existed before the stream was opened (when real-time scheduling is wanted). */
  threadsBefore: Set<number> | null = null;
  /** This stream holds the feeding threads' real-time scheduling (see {@link acquireFeedRealtime}). */
  holdsFeedRealtime = false;
  private onIdle: (() => void) | null = null;

  constructor(readonly native: NativeStream, readonly blockSamples: number, readonly queueBlocks: number,
    readonly channels: number, private readonly onBlock: (frames: number, underruns: number) => void) {}

  append(samples: Float32Array): void {
    if (this.closing || this.aborted) return;
    this.pending.push(samples);
    this.pendingLen += samples.length;
    void this.pump();
  }

  private takeBlock(): Buffer {
    const out = new Float32Array(this.blockSamples);
    let filled = 0;
    while (filled < this.blockSamples && this.pending.length > 0) {
      const head = this.pending[0];
      const n = Math.min(this.blockSamples - filled, head.length - this.pendingOffset);
      out.set(head.subarray(this.pendingOffset, this.pendingOffset + n), filled);
      filled += n;
      this.pendingOffset += n;
      this.pendingLen -= n;
      if (this.pendingOffset >= head.length) { this.pending.shift(); this.pendingOffset = 0; }
    }
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.aborted && (this.pendingLen >= this.blockSamples || (this.closing && this.pendingLen > 0))) {
        await this.writeBlock(this.takeBlock());
      }
    } finally {
      this.pumping = false;
      if (this.onIdle && (this.aborted || this.pendingLen === 0)) { const f = this.onIdle; this.onIdle = null; f(); }
    }
  }

  async writeBlock(buf: Buffer): Promise<void> {
    const res = await this.native.write(buf);
    if (typeof res === 'string' && /output underflow/.test(res)) this.underruns++;
    this.pushedBlocks++;
    this.framesPushed += buf.length / 4 / this.channels;
    if (!this.started && this.pushedBlocks >= this.queueBlocks) this.start();
    this.onBlock(this.framesPushed, this.underruns);
  }

  start(): void {
    if (this.started || this.aborted) return;
    this.started = true;
    this.native.start();
    if (this.threadsBefore) void makeRealtime(this.threadsBefore).then((n) => { this.realtimeThreads = n; });
  }

  /** Flush what is queued (last block padded), let PortAudio play it out, and close the stream. */
  async drainAndQuit(): Promise<void> {
    this.closing = true;
    await new Promise<void>((resolve) => {
      if (!this.pumping && this.pendingLen === 0) resolve();
      else { this.onIdle = resolve; void this.pump(); }
    });
    await this.quit(this.aborted ? 'ABORT' : 'WAIT');
  }

  async quit(mode: 'WAIT' | 'ABORT'): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.holdsFeedRealtime) { this.holdsFeedRealtime = false; releaseFeedRealtime(); }
    if (!this.started && this.pushedBlocks > 0 && mode === 'WAIT') this.start();
    await this.native.quit(this.started ? mode : 'ABORT');
  }

  abort(): void {
    this.aborted = true;
    this.pending.length = 0;
    this.pendingLen = 0;
  }
}

const feeders = new Map<number, Feeder>();
/** Ids of live streams (as opposed to render playbacks). */
const streamIds = new Set<number>();

/** Stop a playback (its loop ends and reports "stopped") or a live stream (closed now, parent told "stopped"). */
async function stopFeeder(id: number): Promise<void> {
  const f = feeders.get(id);
  if (!f) return;
  f.abort();
  if (!streamIds.has(id)) return;
  feeders.delete(id);
  streamIds.delete(id);
  try { await f.quit('ABORT'); } catch { /* the stream is gone either way */ }
  send({ type: 'stopped', id });
}

function num(m: Msg, key: string, dflt: number): number {
  const v = m[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

async function handlePlay(b: NativeBinding, m: Msg): Promise<void> {
  const id = m.id!;
  const samples = m.samples as Float32Array;
  const sampleRate = num(m, 'sampleRate', 44100);
  const channels = num(m, 'channels', 1);
  const blockFrames = 2048;
  const queueBlocks = 4;
  const dev = chooseDevice(b, num(m, 'deviceId', -1), channels);
  if ('reason' in dev) { send({ type: 'reply', id, ok: false, reason: dev.reason }); return; }
  const before = threadIds();
  let native: NativeStream;
  try {
    native = openNative(b, dev.id, sampleRate, channels, blockFrames, queueBlocks);
  } catch (e) {
    send({ type: 'reply', id, ok: false, reason: `cannot open audio device ${dev.id}: ${firstLine(e)}` });
    return;
  }
  const feeder = new Feeder(native, blockFrames * channels, queueBlocks, channels, (frames) => {
    send({ type: 'progress', id, frames: Math.max(0, frames - blockFrames * queueBlocks) });
  });
  feeder.threadsBefore = before;
  feeders.set(id, feeder);
  send({ type: 'reply', id, ok: true, deviceId: dev.id, latency: (blockFrames * queueBlocks) / sampleRate });
  try {
    const blockLen = blockFrames * channels;
    for (let off = 0; off < samples.length && !feeder.aborted; off += blockLen) {
      await feeder.writeBlock(toBuffer(samples, off, off + blockLen, blockLen));
    }
    await feeder.quit(feeder.aborted ? 'ABORT' : 'WAIT');
    send({ type: 'ended', id, status: feeder.aborted ? 'stopped' : 'finished' });
  } catch (e) {
    send({ type: 'ended', id, status: 'failed', reason: `audio playback failed: ${firstLine(e)}` });
  } finally {
    feeders.delete(id);
  }
}

async function handleOpen(b: NativeBinding, m: Msg): Promise<void> {
  const id = m.id!;
  const sampleRate = num(m, 'sampleRate', 44100);
  const channels = num(m, 'channels', 1);
  const blockFrames = num(m, 'blockFrames', 512);
  const queueBlocks = num(m, 'queueBlocks', 3);
  const dev = chooseDevice(b, num(m, 'deviceId', -1), channels);
  if ('reason' in dev) { send({ type: 'reply', id, ok: false, reason: dev.reason }); return; }
  const before = m.realtime === false ? null : threadIds();
  let native: NativeStream;
  try {
    native = openNative(b, dev.id, sampleRate, channels, blockFrames, queueBlocks);
  } catch (e) {
    send({ type: 'reply', id, ok: false, reason: `cannot open audio device ${dev.id}: ${firstLine(e)}` });
    return;
  }
  const feeder: Feeder = new Feeder(native, blockFrames * channels, queueBlocks, channels, (frames, underruns) => {
    send({ type: 'stat', id, frames, underruns, realtimeThreads: feeder.realtimeThreads });
  });
  feeder.threadsBefore = before;
  if (before) {
    // Switch the feeding threads before the parent may write: the stream starts as soon as its
    // queue is full, and must not be fed by a normal-priority event loop meanwhile.
    feeder.holdsFeedRealtime = true;
    acquireFeedRealtime(before);
    await feedChange;
  }
  feeders.set(id, feeder);
  streamIds.add(id);
  send({ type: 'reply', id, ok: true, deviceId: dev.id, latency: (blockFrames * queueBlocks) / sampleRate });
}

async function handleClose(m: Msg, abort: boolean): Promise<void> {
  const id = m.id!;
  const sid = num(m, 'stream', -1);
  const f = feeders.get(sid);
  if (!f) { send({ type: 'reply', id, ok: true }); return; }
  try {
    if (abort) f.abort();
    await f.drainAndQuit();
    // The feeding threads are back to normal scheduling when the last real-time stream has closed.
    await feedChange;
    send({ type: 'reply', id, ok: true, frames: f.framesPushed, underruns: f.underruns, realtimeThreads: f.realtimeThreads });
  } catch (e) {
    send({ type: 'reply', id, ok: false, reason: `closing the audio stream failed: ${firstLine(e)}` });
  } finally {
    feeders.delete(sid);
    streamIds.delete(sid);
  }
}

async function handle(m: Msg): Promise<void> {
  if (m.type === 'exit') {
    await Promise.all([...feeders.values()].map((f) => { f.abort(); return f.quit('ABORT').catch(() => undefined); }));
    process.exit(0);
  }
  if (m.type === 'stopAll') {
    await Promise.all([...feeders.keys()].map((id) => stopFeeder(id)));
    return;
  }
  if (m.type === 'write') {
    feeders.get(num(m, 'stream', -1))?.append(m.samples as Float32Array);
    return;
  }
  if (m.type === 'stop') {
    await stopFeeder(num(m, 'stream', -1));
    return;
  }
  if (!binding) { send({ type: 'reply', id: m.id, ok: false, reason: loadReason }); return; }
  switch (m.type) {
    case 'list':
      try {
        send({ type: 'reply', id: m.id, ok: true, devices: listDevices(binding) });
      } catch (e) {
        send({ type: 'reply', id: m.id, ok: false, reason: `listing audio devices failed: ${firstLine(e)}` });
      }
      return;
    case 'play': return handlePlay(binding, m);
    case 'open': return handleOpen(binding, m);
    case 'close': return handleClose(m, false);
    case 'abort': return handleClose(m, true);
    default:
      send({ type: 'reply', id: m.id, ok: false, reason: `unknown audio request "${m.type}"` });
  }
}

process.on('message', (m: Msg) => {
  handle(m).catch((e) => send({ type: 'reply', id: m.id, ok: false, reason: firstLine(e) }));
});
// The parent went away: nothing may keep playing.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', ok: binding !== undefined, reason: loadReason });
