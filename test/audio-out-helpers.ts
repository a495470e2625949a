/**
 * Shared helpers of the audio-output tests: ALSA configurations that capture
 * what PortAudio plays into a file, test signals, and exact alignment of a
 * capture against the played samples.
 */
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { before, after } from 'node:test';
import { createAudioOutput, type AudioOutput } from '../src/io/audio-out.ts';

/** Linear chirp `amp * cos(2π (f0 t + (f1 - f0) t² / (2 T)))`, `seconds` long. Starts at `amp` (non-zero) so alignment is unambiguous. */
export function chirp(sampleRate: number, seconds: number, f0 = 100, f1 = 8000, amp = 0.6): Float32Array {
  const n = Math.round(sampleRate * seconds);
  const out = new Float32Array(n);
  const k = (f1 - f0) / seconds;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    out[i] = amp * Math.cos(2 * Math.PI * (f0 * t + 0.5 * k * t * t));
  }
  return out;
}

/**
 * Write an ALSA configuration used through `ALSA_CONFIG_PATH` (it replaces the system's
 * alsa.conf, so nothing of the machine's own configuration or ~/.asoundrc leaks in).
 * - `default`: the `file` plugin (raw, in the format PortAudio negotiates: FLOAT_LE) over a `null` slave,
 *   capturing to `<dir>/default.raw`; plus `lts_s16`, a `plug` converting to S16_LE into `<dir>/s16.raw`.
 * - `paced`: the `file` plugin capturing to `<dir>/paced.raw` over a JACK client (real-time clock of a
 *   `jackd -d dummy` server named by JACK_DEFAULT_SERVER).
 * - `broken`: a default PCM pointing at a sound card that does not exist.
 * - `empty`: no PCM at all.
 * @returns The configuration file path.
 */
export function writeAsoundConf(dir: string, kind: 'default' | 'paced' | 'broken' | 'empty'): string {
  const path = join(dir, `asound-${kind}.conf`);
  let text = '';
  if (kind === 'default') {
    text = `pcm.!default {
  type file
  slave.pcm { type null }
  file "${join(dir, 'default.raw')}"
  format "raw"
}
pcm.lts_s16 {
  type plug
  slave {
    pcm { type file; slave.pcm { type null }; file "${join(dir, 's16.raw')}"; format "raw" }
    format S16_LE
  }
}
`;
  } else if (kind === 'paced') {
    text = `pcm.!default {
  type file
  slave.pcm { type plug; slave.pcm { type jack; playback_ports { 0 "system:playback_1" } } }
  file "${join(dir, 'paced.raw')}"
  format "raw"
}
`;
  } else if (kind === 'broken') {
    text = 'pcm.!default { type hw; card 7 }\n';
  }
  writeFileSync(path, text);
  return path;
}

/** Read a raw FLOAT_LE capture (empty array if the file was never created). */
export function readFloatCapture(path: string): Float32Array {
  if (!existsSync(path)) return new Float32Array(0);
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length & ~3)));
}

/** Read a raw S16_LE capture. */
export function readS16Capture(path: string): Int16Array {
  if (!existsSync(path)) return new Int16Array(0);
  const b = readFileSync(path);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length & ~1)));
}

/**
 * Locate `played` inside `captured`: the offset of the first captured sample equal to
 * `played[0]` whose next 64 samples also match. Returns -1 when absent.
 */
export function findStart(captured: ArrayLike<number>, played: ArrayLike<number>, eq: (a: number, b: number) => boolean = (a, b) => a === b): number {
  const probe = Math.min(64, played.length);
  outer: for (let k = 0; k + probe <= captured.length; k++) {
    for (let j = 0; j < probe; j++) if (!eq(captured[k + j], played[j])) continue outer;
    return k;
  }
  return -1;
}

/** Largest |captured[start + i] - played[i]| over the played length (Infinity if the capture is too short). */
export function maxAbsDiff(captured: ArrayLike<number>, start: number, played: ArrayLike<number>, scale = 1): number {
  if (start < 0 || start + played.length > captured.length) return Infinity;
  let m = 0;
  for (let i = 0; i < played.length; i++) m = Math.max(m, Math.abs(captured[start + i] - played[i] * scale));
  return m;
}

/** True when every sample of `a` in [from, to) is zero. */
export function allZero(a: ArrayLike<number>, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i] !== 0) return false;
  return true;
}

/**
 * Match `played` in order against `captured` from `start`, allowing runs of inserted
 * silence (what ALSA's xrun recovery adds) but no other difference.
 * @returns The number of silent runs inserted, or -1 when the audio does not match.
 */
export function matchWithSilentGaps(captured: ArrayLike<number>, start: number, played: ArrayLike<number>): number {
  let p = start;
  let gaps = 0;
  let inGap = false;
  for (let i = 0; i < played.length;) {
    if (p >= captured.length) return -1;
    if (captured[p] === played[i]) { p++; i++; inGap = false; continue; }
    if (captured[p] !== 0) return -1;
    if (!inGap) { gaps++; inGap = true; }
    p++;
  }
  return gaps;
}

/** Whether this process may give a thread SCHED_FIFO (probed on a short-lived `sleep`). */
export function realtimeAllowed(): boolean {
  const sleeper = spawn('sleep', ['5'], { stdio: 'ignore' });
  try {
    return spawnSync('chrt', ['-f', '-p', '10', String(sleeper.pid)], { stdio: 'ignore' }).status === 0;
  } finally {
    sleeper.kill('SIGKILL');
  }
}

/**
 * Start a private `jackd -d dummy` server named `server` (a real-time clock without a sound card;
 * Debian package jackd2) and wait until it is up. `stop()` ends it (SIGTERM, then SIGKILL after 3 s).
 */
export async function startJackDummy(server: string, rate: number): Promise<{ stop(): Promise<void> }> {
  const jackd = spawn('jackd', ['--no-realtime', '-n', server, '-d', 'dummy', '-r', String(rate), '-p', '256'], {
    stdio: 'ignore', env: { ...process.env, JACK_NO_AUDIO_RESERVATION: '1' },
  });
  jackd.on('error', () => undefined);
  const stop = async () => {
    if (jackd.exitCode !== null) return;
    const exited = new Promise((r) => jackd.once('exit', r));
    jackd.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (jackd.exitCode === null && jackd.signalCode === null) jackd.kill('SIGKILL');
  };
  // The server is up once its shared-memory segment exists.
  const deadline = Date.now() + 8000;
  while (!existsSync(`/dev/shm/jack_${server}_0_0`)) {
    if (Date.now() > deadline || jackd.exitCode !== null) {
      await stop();
      throw new Error(`jackd ${server} did not start (is Debian package jackd2 installed?)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { stop };
}

/**
 * For a test file: before its tests, a private `jackd -d dummy` server (a real-time clock, no sound card) and an
 * audio output playing into it through ALSA's `jack` PCM with the `file` plugin in front (the capture is
 * `<dir>/paced.raw`, see {@link writeAsoundConf}); after them, both stopped and the folder removed.
 *
 * @param name Distinguishes the temporary folder and the jackd server name.
 * @param rate The server's sample rate.
 * @returns The folder, and the output (available once the file's `before` hooks have run).
 */
export function pacedJackOutput(name: string, rate: number): { readonly dir: string; readonly out: AudioOutput } {
  const dir = mkdtempSync(join(tmpdir(), `lts-${name}-`));
  const server = `lts-test-${name}-${process.pid}`;
  let jack: { stop(): Promise<void> } | undefined;
  let out: AudioOutput | undefined;
  before(async () => {
    jack = await startJackDummy(server, rate);
    out = createAudioOutput({ env: { ALSA_CONFIG_PATH: writeAsoundConf(dir, 'paced'), JACK_DEFAULT_SERVER: server } });
  });
  after(async () => {
    out?.close();
    await jack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    get out(): AudioOutput {
      if (!out) throw new Error('pacedJackOutput: the output exists once the before hooks have run');
      return out;
    },
  };
}
