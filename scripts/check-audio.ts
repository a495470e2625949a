/**
 * Live-mode audio check (issue 6): stream synthesised audio block by block through the
 * real PortAudio path for N seconds and count underruns.
 *
 * Usage:
 *   node --import tsx scripts/check-audio.ts [--seconds 60] [--block 512] [--queue 3]
 *        [--work-ms 0] [--device virtual|system] [--id N] [--no-realtime] [--no-nice]
 *
 * - `--device virtual` (default): a private `jackd -d dummy` server (a real-time clock without a
 *   sound card; Debian packages jackd2 and libasound2-plugins) behind ALSA's `jack` PCM, with the
 *   `file` plugin capturing what PortAudio delivered; afterwards the capture is compared sample by
 *   sample with what was written (every sample present, in order; silence inserted by xruns counted).
 * - `--device system`: the machine's own ALSA configuration and default device (or `--id N`);
 *   no capture check.
 * - `--work-ms`: CPU time burnt per block before writing it, to stand in for synthesis cost.
 * - `--no-realtime`: do not ask for real-time scheduling of PortAudio's threads (for comparison).
 * - `--no-nice`: keep this producer at normal priority (by default it takes nice -10 when permitted).
 *
 * The producer writes each block and awaits `write()`, i.e. it is paced by the device, as live
 * mode is. Prints one line of results; exit code 0 when there were no underruns and the capture
 * (virtual device) is intact, 1 otherwise, 2 when no device could be opened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, setPriority } from 'node:os';
import { join } from 'node:path';
import { createAudioOutput } from '../src/io/audio-out.ts';

const RATE = 44100;

/** Print a one-line error to stderr. */
function fail(message: string): void {
  process.stderr.write(`${message}\n`);
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function positiveInt(name: string, dflt: number): number {
  const v = Number(arg(name, String(dflt)));
  if (!Number.isInteger(v) || v <= 0) {
    fail(`check-audio: --${name} must be a positive integer, got ${arg(name, '')}`);
    process.exit(2);
  }
  return v;
}

const seconds = positiveInt('seconds', 60);
const blockFrames = positiveInt('block', 512);
const queueBlocks = positiveInt('queue', 3);
const workMs = Number(arg('work-ms', '0'));
const deviceKind = arg('device', 'virtual');
const deviceId = process.argv.includes('--id') ? Number(arg('id', '-1')) : undefined;
const realtime = !process.argv.includes('--no-realtime');
// The producer stands in for live synthesis: like the audio child, raise its priority where permitted
// (--no-nice keeps it at normal priority), so the figures measure the output path, not this script's scheduling.
let producerNice = 0;
if (!process.argv.includes('--no-nice')) {
  try {
    setPriority(-10);
    producerNice = -10;
  } catch {
    producerNice = 0;
  }
}
if (!(workMs >= 0) || (deviceKind !== 'virtual' && deviceKind !== 'system')) {
  fail('check-audio: --work-ms must be >= 0 and --device virtual or system');
  process.exit(2);
}

/** Deterministic "synth" block: two detuned partials gliding slowly, sample index `n0` onwards. */
function synthBlock(n0: number, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const t = (n0 + i) / RATE;
    const f = 220 * (1 + 0.5 * Math.sin(2 * Math.PI * 0.1 * t));
    out[i] = 0.3 * Math.sin(2 * Math.PI * f * t) + 0.1 * Math.sin(2 * Math.PI * 1.5 * f * t + 0.3);
  }
}

function burn(ms: number): void {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
}

const dir = mkdtempSync(join(tmpdir(), 'lts-check-audio-'));
let jackd: ChildProcess | undefined;
const env: NodeJS.ProcessEnv = {};
const capturePath = join(dir, 'capture.raw');

/** Start `jackd -d dummy` as `server`; real-time scheduling first (a steadier clock), else normal. */
async function spawnJackd(server: string, realtime: boolean): Promise<ChildProcess | undefined> {
  const proc = spawn('jackd', [realtime ? '-R' : '--no-realtime', '-n', server, '-d', 'dummy', '-r', String(RATE), '-p', '256'], {
    stdio: 'ignore', env: { ...process.env, JACK_NO_AUDIO_RESERVATION: '1' },
  });
  proc.on('error', () => undefined);
  const deadline = Date.now() + 8000;
  while (!existsSync(`/dev/shm/jack_${server}_0_0`)) {
    if (Date.now() > deadline || proc.exitCode !== null || proc.signalCode !== null) {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return proc;
}

let jackdMode = '';

async function startVirtualDevice(): Promise<void> {
  const server = `lts-check-${process.pid}`;
  jackd = await spawnJackd(server, true);
  jackdMode = 'real-time';
  if (!jackd) {
    jackd = await spawnJackd(server, false);
    jackdMode = 'normal priority';
  }
  if (!jackd) {
    fail('check-audio: jackd did not start; install the Debian packages jackd2 and libasound2-plugins, or use --device system');
    cleanup();
    process.exit(2);
  }
  const conf = join(dir, 'asound.conf');
  writeFileSync(conf, `pcm.!default {
  type file
  slave.pcm { type plug; slave.pcm { type jack; playback_ports { 0 "system:playback_1" } } }
  file "${capturePath}"
  format "raw"
}
`);
  env.ALSA_CONFIG_PATH = conf;
  env.JACK_DEFAULT_SERVER = server;
}

function cleanup(): void {
  if (jackd && jackd.exitCode === null) jackd.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

/** Compare the capture with the written signal: every sample in order, silent runs allowed between. */
function checkCapture(totalFrames: number): { found: boolean; gaps: number; missing: number } {
  if (!existsSync(capturePath)) return { found: false, gaps: 0, missing: totalFrames };
  const b = readFileSync(capturePath);
  const cap = new Float32Array(b.buffer, b.byteOffset, b.length >> 2);
  const x = new Float32Array(totalFrames);
  synthBlock(0, x);
  // Written samples go through float32 unchanged (file plugin before any conversion).
  let p = 0;
  while (p < cap.length && cap[p] === 0) p++;
  if (p >= cap.length || cap[p] !== x[0]) return { found: false, gaps: 0, missing: totalFrames };
  let gaps = 0;
  let inGap = false;
  let i = 0;
  for (; i < x.length && p < cap.length;) {
    if (cap[p] === x[i]) { p++; i++; inGap = false; continue; }
    if (cap[p] !== 0) break;
    if (!inGap) { gaps++; inGap = true; }
    p++;
  }
  return { found: true, gaps, missing: x.length - i };
}

async function main(): Promise<number> {
  if (deviceKind === 'virtual') await startVirtualDevice();
  const out = createAudioOutput({ env });
  try {
    const s = await out.openStream(RATE, { blockFrames, queueBlocks, deviceId, realtime });
    if (!s.available) {
      fail(`check-audio: ${s.reason}`);
      return 2;
    }
    const blocks = Math.ceil((seconds * RATE) / blockFrames);
    const block = new Float32Array(blockFrames);
    let maxWait = 0;
    /** Stream position (s) at which each underrun was first seen. */
    const underrunTimes: number[] = [];
    const t0 = performance.now();
    for (let k = 0; k < blocks; k++) {
      synthBlock(k * blockFrames, block);
      if (workMs > 0) burn(workMs);
      const w0 = performance.now();
      await s.write(block.slice());
      maxWait = Math.max(maxWait, performance.now() - w0);
      if (s.underruns() > underrunTimes.length) underrunTimes.push(s.position());
    }
    await s.close();
    const elapsed = (performance.now() - t0) / 1000;
    const audio = (blocks * blockFrames) / RATE;
    const underruns = s.underruns();
    let captureNote = 'not checked (system device)';
    const deviceNote = deviceKind === 'virtual' ? `virtual device: jackd dummy, ${jackdMode}` : 'system device';
    let captureOk = true;
    if (deviceKind === 'virtual') {
      const c = checkCapture(blocks * blockFrames);
      captureOk = c.found && c.missing === 0;
      captureNote = c.found ? `${c.missing === 0 ? 'all samples in order' : `${c.missing} samples missing`}, ${c.gaps} silent gap(s)` : 'signal not found';
    }
    console.log(`check-audio: ${audio.toFixed(1)} s streamed in ${elapsed.toFixed(2)} s (block ${blockFrames}, queue ${queueBlocks}, `
      + `nominal latency ${(s.latency * 1000).toFixed(1)} ms, work ${workMs} ms/block); underruns ${underruns}; `
      + `longest write wait ${maxWait.toFixed(1)} ms; real-time callback thread: ${s.realtime() ? 'yes' : 'no'}; producer nice ${producerNice}; ${deviceNote}; capture: ${captureNote}`);
    if (underrunTimes.length > 0) {
      const shown = underrunTimes.slice(0, 20).map((t) => `${t.toFixed(2)} s`).join(', ');
      console.log(`check-audio: underruns seen at ${shown}${underrunTimes.length > 20 ? `, ... (${underrunTimes.length} in all)` : ''}`);
    }
    return underruns === 0 && captureOk ? 0 : 1;
  } finally {
    out.close();
  }
}

let code = 2;
try {
  code = await main();
} finally {
  cleanup();
}
process.exit(code);
