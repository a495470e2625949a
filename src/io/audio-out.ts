/**
 * Audio output through PortAudio (naudiodon), isolated in a child process.
 *
 * {@link createAudioOutput} spawns `node --import tsx src/io/audio-out-child.ts`
 * lazily (on the first call) with stdout and stderr piped: naudiodon prints its
 * banner to stdout, ALSA prints device-probing noise to stderr, and a broken ALSA
 * configuration can even abort the process inside PortAudio. Both streams are
 * drained and discarded (the last lines are kept for error messages); requests
 * and audio travel over Node's IPC channel (`serialization: 'advanced'`, so
 * Float32Arrays are sent as binary), never over stdout.
 *
 * Nothing here throws for a missing device: every operation resolves to either
 * a working object or `{ available: false, reason }` with a one-line reason such
 * as `"no audio device (renders are still written to files)"`. If the child dies,
 * pending operations resolve as unavailable and the next call starts a new child.
 *
 * Two forms of output:
 * - {@link AudioOutput.play} for finished renders: the whole buffer is sent once,
 *   played in blocks of 2048 frames with 4 blocks queued.
 * - {@link AudioOutput.openStream} for live mode: the caller writes blocks as it
 *   synthesises them; `write` resolves when the stream wants more, which paces a
 *   producer to the device clock. Latency is about `blockFrames * (queueBlocks + 2)`
 *   frames (naudiodon's queue plus PortAudio's own double buffer).
 *
 * Samples are float32 in [-1, 1]; multichannel audio is interleaved
 * (`[l0, r0, l1, r1, ...]`). The device converts to its own format (for ALSA,
 * through a `plug` PCM when the hardware wants e.g. S16_LE).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One output device as PortAudio reports it. */
export interface AudioDevice {
  /** PortAudio device index: pass it as `deviceId`. Stable only until the device set changes (hot-plug). */
  id: number;
  /** Device name, e.g. `default`, `pulse`, `hw:0,0` for ALSA. */
  name: string;
  /** Host API, e.g. `ALSA`. */
  hostApi: string;
  /** Maximum number of output channels. */
  maxOutputChannels: number;
  /** The device's default sample rate in Hz. */
  defaultSampleRate: number;
  /** PortAudio's suggested output latency for interactive use, seconds (0 when the device does not say). */
  defaultLowOutputLatency: number;
  /** PortAudio's suggested output latency for robust playback, seconds. */
  defaultHighOutputLatency: number;
  /** True for the host API's default output device. */
  isDefault: boolean;
}

/** The typed "no audio" state: a one-line reason suitable for a status line. */
export interface AudioUnavailable {
  available: false;
  /** One line, e.g. `"no audio device (renders are still written to files)"`. */
  reason: string;
}

/** How a playback ended. `failed` carries a one-line `reason`. */
export interface PlaybackResult {
  status: 'finished' | 'stopped' | 'failed';
  reason?: string;
}

/** A render being played. */
export interface PlaybackHandle {
  available: true;
  /** PortAudio device index actually used. */
  deviceId: number;
  /** Length of the render in seconds. */
  duration: number;
  /** Resolves (never rejects) when the audio has been played out, stopped, or failed. */
  done: Promise<PlaybackResult>;
  /** Stop playing now (drops the queued audio). Idempotent. */
  stop(): void;
  /** Seconds of the render handed to the device so far, minus the queue still ahead of it (clamped to [0, duration]). */
  position(): number;
}

/** A live output stream (issue 6: streaming synthesis). */
export interface AudioStream {
  available: true;
  /** PortAudio device index actually used. */
  deviceId: number;
  /** Sample rate in Hz. */
  sampleRate: number;
  /** Interleaved channels per frame. */
  channels: number;
  /** Nominal output latency in seconds: naudiodon's queue (`blockFrames * queueBlocks / sampleRate`). */
  latency: number;
  /**
   * Queue interleaved samples (any length; the child regroups them into blocks).
   * Resolves once no more than `highWaterBlocks` blocks wait in the pipe to the child,
   * so `await stream.write(block)` paces a producer to the device. Resolves at once after close.
   */
  write(samples: Float32Array): Promise<void>;
  /**
   * Output underflows PortAudio reported so far (the device ran dry). naudiodon coalesces
   * the reports between two block writes, so this is a lower bound of the device's xruns.
   */
  underruns(): number;
  /** Seconds of audio written by the caller but not yet handed to PortAudio. */
  buffered(): number;
  /** Seconds of audio handed to PortAudio so far. */
  position(): number;
  /** Whether PortAudio's threads got real-time scheduling (known a few ms after the stream has started; false before). */
  realtime(): boolean;
  /** Play out everything written (the last partial block is padded with silence) and close. */
  close(): Promise<void>;
  /** Drop everything queued and close at once. */
  abort(): Promise<void>;
}

/** Options of {@link AudioOutput.openStream}. */
export interface StreamOptions {
  /** PortAudio device index; default: the default output device. */
  deviceId?: number;
  /** Interleaved channels, default 1. */
  channels?: number;
  /** Frames per PortAudio callback, default 512 (11.6 ms at 44.1 kHz). */
  blockFrames?: number;
  /** Blocks naudiodon queues ahead of the device, default 3. */
  queueBlocks?: number;
  /** Blocks the caller may have in flight to the child before `write` waits, default 2. */
  highWaterBlocks?: number;
  /**
   * Try real-time (SCHED_FIFO) scheduling, default true: priority 10 for the threads PortAudio
   * starts, and priority 5 while the stream is open for the audio process's threads that feed
   * PortAudio (its event loop, which receives the blocks, and libuv's workers), so a loaded machine
   * cannot starve naudiodon's queue. Granted with CAP_SYS_NICE or an RLIMIT_RTPRIO (e.g. the
   * `audio` group); otherwise nothing changes.
   */
  realtime?: boolean;
}

/** Result of {@link AudioOutput.status}. */
export type AudioStatus = { available: true; devices: AudioDevice[] } | AudioUnavailable;

/** Audio output device access. See the module comment. */
export interface AudioOutput {
  /** Output devices (empty when audio is unavailable). Re-enumerates each call, so hot-plugged devices appear. */
  listDevices(): Promise<AudioDevice[]>;
  /** Devices, or why there is no audio output. */
  status(): Promise<AudioStatus>;
  /**
   * Play a finished render.
   * @param samples Float32 samples in [-1, 1], interleaved if `channels > 1`.
   * @param sampleRate Hz, e.g. 44100.
   * @param opts.deviceId PortAudio device index (default: the default device).
   * @param opts.channels Interleaved channels, default 1.
   */
  play(samples: Float32Array, sampleRate: number, opts?: { deviceId?: number; channels?: number }): Promise<PlaybackHandle | AudioUnavailable>;
  /** Open a live stream at `sampleRate` Hz. */
  openStream(sampleRate: number, opts?: StreamOptions): Promise<AudioStream | AudioUnavailable>;
  /** Stop every playback and stream of this output now. */
  stop(): void;
  /** Stop everything and end the child process. The output may be used again afterwards (a new child starts). */
  close(): void;
  /** The most recent availability seen: `undefined` before the first call. */
  readonly lastStatus: { available: boolean; reason?: string } | undefined;
}

/** Options of {@link createAudioOutput}. */
export interface AudioOutputOptions {
  /**
   * Extra environment for the child, merged over `process.env`. Use it to select an ALSA
   * configuration, e.g. `{ ALSA_CONFIG_PATH: '/path/asound.conf' }` (replaces the system's
   * alsa.conf, ~/.asoundrc is then not read).
   */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds to wait for the child to start and for each request to be answered, default 20000. */
  timeoutMs?: number;
}

/** Where {@link teeStream} sends a copy of every block besides the local device (the listening pages, the UI thread). */
export interface StreamSink {
  /** Take a block; resolves when the sink is ready for more (only awaited together with the device's write). */
  write(samples: Float32Array): Promise<void>;
  /** Seconds of audio taken so far: the stream's position when there is no local device. */
  position(): number;
  /** The stream closed or was aborted: let go of anything waiting. */
  close(): void;
}

/**
 * A mono live stream that writes every block to the local device's stream and, with a sink, to the sink too.
 * `write` resolves when both are ready for more (the device paces it; without a device, the sink). Position,
 * latency, underruns and real-time state are the device's; without one, the sink's position and none of the rest.
 *
 * @param local The local device's stream, or null (then `sink` is required).
 * @param sampleRate Hz, the rate both were opened at.
 * @param sink The second destination, or null for the device alone.
 */
export function teeStream(local: AudioStream | null, sampleRate: number, sink: StreamSink | null): AudioStream {
  if (!local && !sink) throw new Error('teeStream: needs a local stream or a sink');
  return {
    available: true,
    deviceId: local ? local.deviceId : -1,
    sampleRate,
    channels: 1,
    latency: local ? local.latency : 0,
    write: async (x) => {
      if (sink) await Promise.all([sink.write(x), local?.write(x)]);
      else await local!.write(x);
    },
    underruns: () => (local ? local.underruns() : 0),
    buffered: () => (local ? local.buffered() : 0),
    position: () => (local ? local.position() : sink!.position()),
    realtime: () => (local ? local.realtime() : false),
    close: async () => {
      sink?.close();
      await local?.close();
    },
    abort: async () => {
      sink?.close();
      await local?.abort();
    },
  };
}

/** The one-line reason used when no output device exists. */
export const NO_AUDIO_DEVICE = 'no audio device (renders are still written to files)';

const CHILD_PATH = fileURLToPath(new URL('./audio-out-child.ts', import.meta.url));

type ChildMsg = Record<string, unknown> & { type: string; id?: number };

/** Keeps the last lines a stream printed (the child's stdout/stderr), discarding the rest. */
class TailBuffer {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 40) {}
  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) this.lines.push(l.trim());
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
    if (this.partial.length > 4096) this.partial = this.partial.slice(-4096);
  }
  /** The most telling recent line: the last one that is not ALSA's routine probing noise. */
  last(): string | undefined {
    const all = this.partial.trim() ? [...this.lines, this.partial.trim()] : this.lines;
    for (let i = all.length - 1; i >= 0; i--) if (!/^ALSA lib /.test(all[i])) return all[i];
    return all[all.length - 1];
  }
}

function resolveTsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx';
  }
}

/** Create an audio output backed by a PortAudio child process (started on first use). */
export function createAudioOutput(opts: AudioOutputOptions = {}): AudioOutput {
  const timeoutMs = opts.timeoutMs ?? 20000;
  let child: ChildProcess | null = null;
  let ready: Promise<AudioUnavailable | null> | null = null;
  let nextId = 1;
  let lastStatus: { available: boolean; reason?: string } | undefined;
  const pending = new Map<number, (m: ChildMsg) => void>();
  const listeners = new Map<number, (m: ChildMsg) => void>();
  const deathHandlers = new Set<(reason: string) => void>();
  /** The local stop of every playback and live stream still going (see play and openStream), called by stop(). */
  const stoppers = new Set<() => void>();
  // The child keeps this process alive only while something is in flight (a request, a playback,
  // an open stream); when idle it is unref'd, so an app that forgets close() can still exit.
  let busyCount = 0;
  type Refable = { ref?(): void; unref?(): void } | null | undefined;
  const applyRef = (): void => {
    const p = child;
    if (!p) return;
    const handles: Refable[] = [p, p.channel as Refable, p.stdout as unknown as Refable, p.stderr as unknown as Refable];
    for (const h of handles) {
      if (busyCount > 0) h?.ref?.();
      else h?.unref?.();
    }
  };
  const busy = (delta: number): void => {
    busyCount = Math.max(0, busyCount + delta);
    applyRef();
  };

  const unavailable = (reason: string): AudioUnavailable => {
    lastStatus = { available: false, reason };
    return { available: false, reason };
  };

  function deathReason(code: number | null, signal: NodeJS.Signals | null, errTail: TailBuffer, outTail: TailBuffer): string {
    const detail = errTail.last() ?? outTail.last();
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return `${NO_AUDIO_DEVICE}: the audio output process ${how}${detail ? ` (${detail})` : ''}`.slice(0, 300);
  }

  function start(): Promise<AudioUnavailable | null> {
    if (ready) return ready;
    ready = new Promise((resolve) => {
      let settled = false;
      const settle = (v: AudioUnavailable | null): void => { if (!settled) { settled = true; resolve(v); } };
      let proc: ChildProcess;
      try {
        proc = spawn(process.execPath, ['--import', resolveTsxLoader(), CHILD_PATH], {
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          serialization: 'advanced',
          env: { ...process.env, ...opts.env },
        });
      } catch (e) {
        ready = null;
        settle(unavailable(`cannot start the audio output process: ${(e as Error).message}`));
        return;
      }
      child = proc;
      // Fresh tails per child, so a reason never quotes a previous child's last words.
      const outTail = new TailBuffer();
      const errTail = new TailBuffer();
      proc.stdout!.on('data', (d: Buffer) => outTail.push(d));
      proc.stderr!.on('data', (d: Buffer) => errTail.push(d));
      const timer = setTimeout(() => {
        settle(unavailable(`audio output process did not start within ${timeoutMs} ms`));
        proc.kill('SIGKILL');
      }, timeoutMs);
      proc.on('message', (m: ChildMsg) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          settle(m.ok ? null : unavailable(String(m.reason)));
          applyRef();
          return;
        }
        if (m.type === 'reply' && typeof m.id === 'number') {
          const r = pending.get(m.id);
          pending.delete(m.id);
          r?.(m);
          return;
        }
        if (typeof m.id === 'number') listeners.get(m.id)?.(m);
      });
      proc.on('error', (e) => {
        clearTimeout(timer);
        settle(unavailable(`cannot start the audio output process: ${e.message}`));
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        const reason = deathReason(code, signal, errTail, outTail);
        if (child === proc) { child = null; ready = null; }
        settle(unavailable(reason));
        const waiting = [...pending.values()];
        pending.clear();
        for (const r of waiting) r({ type: 'reply', ok: false, reason, died: true });
        for (const h of [...deathHandlers]) h(reason);
        deathHandlers.clear();
        listeners.clear();
      });
    });
    return ready;
  }

  /** Send a request and wait for its reply (or the child's death, or the timeout). */
  async function request(msg: Record<string, unknown>): Promise<ChildMsg> {
    const notReady = await start();
    if (notReady) return { type: 'reply', ok: false, reason: notReady.reason };
    const proc = child;
    if (!proc || !proc.connected) return { type: 'reply', ok: false, reason: 'audio output process is not running' };
    const id = nextId++;
    busy(+1);
    return new Promise<ChildMsg>((resolveRaw) => {
      let done = false;
      const resolve = (m: ChildMsg): void => { if (!done) { done = true; busy(-1); resolveRaw(m); } };
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ type: 'reply', ok: false, reason: `audio output did not answer "${String(msg.type)}" within ${timeoutMs} ms` });
        proc.kill('SIGKILL');
      }, timeoutMs);
      pending.set(id, (m) => { clearTimeout(timer); resolve(m); });
      try {
        proc.send({ ...msg, id });
      } catch (e) {
        clearTimeout(timer);
        pending.delete(id);
        resolve({ type: 'reply', ok: false, reason: `audio output process unreachable: ${(e as Error).message}` });
      }
    });
  }

  function post(msg: Record<string, unknown>): boolean {
    const proc = child;
    if (!proc || !proc.connected) return false;
    try {
      proc.send(msg);
      return true;
    } catch {
      return false;
    }
  }

  async function status(): Promise<AudioStatus> {
    const r = await request({ type: 'list' });
    if (!r.ok) return unavailable(String(r.reason));
    const devices = r.devices as AudioDevice[];
    if (devices.length === 0) return unavailable(NO_AUDIO_DEVICE);
    lastStatus = { available: true };
    return { available: true, devices };
  }

  function checkRate(sampleRate: number): string | null {
    if (!Number.isFinite(sampleRate) || sampleRate < 1000 || sampleRate > 384000 || Math.round(sampleRate) !== sampleRate) {
      return `sample rate must be a whole number of Hz between 1000 and 384000, got ${sampleRate}`;
    }
    return null;
  }

  function checkChannels(channels: number): string | null {
    if (!Number.isInteger(channels) || channels < 1 || channels > 64) return `channels must be an integer 1..64, got ${channels}`;
    return null;
  }

  async function play(samples: Float32Array, sampleRate: number, o: { deviceId?: number; channels?: number } = {}): Promise<PlaybackHandle | AudioUnavailable> {
    const channels = o.channels ?? 1;
    const bad = checkRate(sampleRate) ?? checkChannels(channels)
      ?? (samples instanceof Float32Array ? null : 'samples must be a Float32Array')
      ?? (samples.length % channels === 0 ? null : `sample count ${samples.length} is not a multiple of ${channels} channels`);
    if (bad) return { available: false, reason: bad };
    if (samples.length === 0) {
      return { available: true, deviceId: o.deviceId ?? -1, duration: 0, done: Promise.resolve({ status: 'finished' }), stop() {}, position: () => 0 };
    }
    const notReady = await start();
    if (notReady) return notReady;
    const id = nextId++;
    busy(+1);
    const frames = samples.length / channels;
    let played = 0;
    let resolveDone!: (r: PlaybackResult) => void;
    const done = new Promise<PlaybackResult>((res) => { resolveDone = res; });
    let finished = false;
    const finish = (r: PlaybackResult): void => {
      if (finished) return;
      finished = true;
      stoppers.delete(stopNow);
      listeners.delete(id);
      deathHandlers.delete(onDeath);
      busy(-1);
      resolveDone(r);
    };
    const onDeath = (reason: string): void => finish({ status: 'failed', reason });
    // A stop ends the playback here at once ('stopped', the position stays), without waiting for the child's
    // report, which a loaded machine may deliver a second later; the child stops the device meanwhile.
    const stopNow = (): void => finish({ status: 'stopped' });
    deathHandlers.add(onDeath);
    listeners.set(id, (m) => {
      if (m.type === 'progress') played = Math.min(frames, Number(m.frames));
      else if (m.type === 'ended') {
        if (m.status === 'finished') played = frames;
        finish({ status: m.status as PlaybackResult['status'], reason: m.reason as string | undefined });
      }
    });
    const reply = await new Promise<ChildMsg>((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ type: 'reply', ok: false, reason: `audio output did not open the device within ${timeoutMs} ms` });
      }, timeoutMs);
      pending.set(id, (m) => { clearTimeout(timer); resolve(m); });
      if (!post({ type: 'play', id, samples, sampleRate, channels, deviceId: o.deviceId ?? -1 })) {
        clearTimeout(timer);
        pending.delete(id);
        resolve({ type: 'reply', ok: false, reason: 'audio output process is not running' });
      }
    });
    if (!reply.ok) {
      finish({ status: 'failed', reason: String(reply.reason) });
      return unavailable(String(reply.reason));
    }
    lastStatus = { available: true };
    if (!finished) stoppers.add(stopNow);
    return {
      available: true,
      deviceId: Number(reply.deviceId),
      duration: frames / sampleRate,
      done,
      stop: () => {
        if (finished) return;
        post({ type: 'stop', stream: id });
        stopNow();
      },
      position: () => played / sampleRate,
    };
  }

  async function openStream(sampleRate: number, o: StreamOptions = {}): Promise<AudioStream | AudioUnavailable> {
    const channels = o.channels ?? 1;
    const blockFrames = o.blockFrames ?? 512;
    const queueBlocks = o.queueBlocks ?? 3;
    const highWaterBlocks = o.highWaterBlocks ?? 2;
    const bad = checkRate(sampleRate) ?? checkChannels(channels)
      ?? (Number.isInteger(blockFrames) && blockFrames >= 16 && blockFrames <= 65536 ? null : `blockFrames must be an integer 16..65536, got ${blockFrames}`)
      ?? (Number.isInteger(queueBlocks) && queueBlocks >= 1 && queueBlocks <= 64 ? null : `queueBlocks must be an integer 1..64, got ${queueBlocks}`)
      ?? (Number.isInteger(highWaterBlocks) && highWaterBlocks >= 1 ? null : `highWaterBlocks must be a positive integer, got ${highWaterBlocks}`);
    if (bad) return { available: false, reason: bad };
    let sentSamples = 0;
    let pushedFrames = 0;
    let underrunCount = 0;
    let realtimeThreads = 0;
    let closed = false;
    let dead = false;
    const waiters: (() => void)[] = [];
    const highWaterSamples = highWaterBlocks * blockFrames * channels;
    const wake = (): void => {
      while (waiters.length > 0 && (closed || dead || sentSamples - pushedFrames * channels <= highWaterSamples)) waiters.shift()!();
    };
    // stop() of the output ends the stream here at once (a waiting write resolves, later ones are dropped), without
    // waiting for the child, which a loaded machine may schedule hundreds of milliseconds later.
    let stopped = false;
    const stopNow = (): void => { stopped = true; closed = true; wake(); };
    let released = false;
    const release = (): void => {
      stoppers.delete(stopNow);
      if (!released) { released = true; busy(-1); }
    };
    const onDeath = (): void => { dead = true; release(); wake(); };
    const reply = await request({ type: 'open', sampleRate, channels, deviceId: o.deviceId ?? -1, blockFrames, queueBlocks, realtime: o.realtime ?? true });
    if (!reply.ok) return unavailable(String(reply.reason));
    busy(+1);
    // The child keys the stream by the request id it answered.
    const sid = Number(reply.id);
    stoppers.add(stopNow);
    listeners.set(sid, (m) => {
      if (m.type === 'stat') {
        if (stopped) return; // the position stays where stop() found it
        pushedFrames = Number(m.frames);
        underrunCount = Number(m.underruns);
        realtimeThreads = Number(m.realtimeThreads) || 0;
        wake();
      } else if (m.type === 'stopped') {
        // stop() of the output closed this stream in the child.
        closed = true;
        listeners.delete(sid);
        deathHandlers.delete(onDeath);
        release();
        wake();
      }
    });
    deathHandlers.add(onDeath);
    lastStatus = { available: true };
    const finishClose = async (type: 'close' | 'abort'): Promise<void> => {
      if (closed) return;
      closed = true;
      wake();
      if (dead) return;
      stoppers.delete(stopNow);
      const r = await request({ type, stream: sid });
      if (r.ok && typeof r.underruns === 'number') underrunCount = r.underruns;
      if (r.ok && typeof r.realtimeThreads === 'number') realtimeThreads = Math.max(realtimeThreads, r.realtimeThreads);
      listeners.delete(sid);
      deathHandlers.delete(onDeath);
      release();
    };
    return {
      available: true,
      deviceId: Number(reply.deviceId),
      sampleRate,
      channels,
      latency: Number(reply.latency),
      write(samples: Float32Array): Promise<void> {
        if (closed || dead || samples.length === 0) return Promise.resolve();
        if (!post({ type: 'write', stream: sid, samples })) { dead = true; return Promise.resolve(); }
        sentSamples += samples.length;
        if (sentSamples - pushedFrames * channels <= highWaterSamples) return Promise.resolve();
        return new Promise<void>((res) => { waiters.push(res); });
      },
      underruns: () => underrunCount,
      buffered: () => Math.max(0, sentSamples / channels - pushedFrames) / sampleRate,
      position: () => pushedFrames / sampleRate,
      realtime: () => realtimeThreads > 0,
      close: () => finishClose('close'),
      abort: () => finishClose('abort'),
    };
  }

  return {
    listDevices: async () => {
      const s = await status();
      return s.available ? s.devices : [];
    },
    status,
    play,
    openStream,
    stop: () => {
      for (const f of stoppers) f();
      stoppers.clear();
      post({ type: 'stopAll' });
    },
    close: () => {
      const proc = child;
      if (!proc) return;
      post({ type: 'exit' });
      // If the child does not leave promptly (e.g. stuck inside the driver), make sure it goes.
      const t = setTimeout(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); }, 2000);
      t.unref();
      proc.once('exit', () => clearTimeout(t));
    },
    get lastStatus() { return lastStatus; },
  };
}
