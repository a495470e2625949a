/**
 * Live-mode benchmark (issue 6, items 3-4).
 *
 * `npm run bench -- live [--model DIR] [--seconds 60] [--rtf-seconds 20] [--block 128] [--queue 5]
 *  [--lookahead 0] [--configs 128x5:0,256x2:0] [--no-floor] [--inject-every 0.5] [--nice -10] [--rt 4] [--train-steps 300] [--with-tui] [--json FILE] [--md BENCHMARKS.md]`
 *
 * Three measurements with the same model and excerpt pair (A = data/bench/bench-sax.wav from
 * 0.5 s, B = data/bench/bench-strings.wav from 0.5 s, 2 s, looping):
 *
 * 1. **Streaming real-time factor, one thread**: `LiveEngine.pull` of `--rtf-seconds` of audio
 *    (per frame: latent mix, one-frame decode, RTPGHI, overlap-add) while the control moves every
 *    block; process CPU time / audio time (wall time beside it; the machine is shared). Peers in
 *    the same run on the same frames: (i) the offline pipeline (all frames decoded in one batch,
 *    offline PGHI, istft), (ii) `TimbreVae.decode(z, 1)` per frame + RTPGHI without the engine
 *    (before 2026-11-24 19:30 the engine had its own fused one-frame decoder and this peer was
 *    3.6× slower; `TimbreVae` inference is now row-major and fused itself, and `FrameDecoder`
 *    calls it). Stage split: decoder alone, RTPGHI alone.
 * 2. **Control latency** during (3): every `--inject-every` s a CC message (CC 1, channel 1,
 *    alternately 0 and 127) is fed as raw bytes through the MIDI input's device callback path
 *    (`createMidiInput` with the message source of the binding replaced, `connectMidi` →
 *    `MidiMapper.handleBytes`). "Reflects" is defined as: the first output sample of the first
 *    frame decoded after the message arrived (its amount has moved toward the new value; its
 *    Hann window starts there with weight ~0). Latency = (wall time from the injection until
 *    the stream `write` that carries that sample) + (samples ahead of it at that moment: written
 *    but not yet handed to PortAudio, as the stream reports) + the configured device buffer
 *    (naudiodon queue `queue · block` + PortAudio's double buffer of two blocks). The time until
 *    that frame is at full weight (its window centre, nFft/2 samples later) is reported beside it.
 * 3. **60 s through the real PortAudio path**: `LiveEngine.start` streams to ALSA's `jack` PCM
 *    on a private `jackd -d dummy` server (a real-time 44.1 kHz clock without a sound card;
 *    Debian packages jackd2, libasound2-plugins), counting the underruns PortAudio reports.
 *    The stream runs with `niceness: --nice` (default −10, as the audio process; needs root or
 *    CAP_SYS_NICE, else the priority is unchanged: the table reports the nice value in effect),
 *    and its synthesis thread at SCHED_FIFO priority `--rt` (default 4, as in the instrument;
 *    0 = normal scheduling; `synthFifoPriority` reports what was in effect). Run it as the
 *    instrument runs (`bin/lts.js`, `npm start`): `node --single-threaded-gc --import tsx bench/index.ts live …`
 *    (V8's GC helper threads run at normal priority; the real-time synthesis thread would wait for them);
 *    the output says which GC was in effect.
 *    With `--with-tui` the real instrument (`bin/lts.js`) runs in a tmux window at the same
 *    time, with a key pressed every 100 ms, so the machine also redraws the TUI; the stream
 *    itself runs in this process. `npm run bench -- tui-live` measures live mode running
 *    inside the instrument (its live worker) instead.
 *
 * The model: `--model DIR` (default models/default). If that folder does not exist, a model of
 * the default shape (STFT 2048/256 at 44.1 kHz, log magnitudes, hidden 1024, latent 32) is
 * trained for `--train-steps` (default 300) steps on the two excerpt files and used instead:
 * the costs measured here depend on the shape, not on how well the model is trained; the
 * output says which model was used.
 */
import { spawn, execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir, loadavg, getPriority, setPriority } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs, printTable, writeJson, median, machineInfo, formatNumber } from './util.ts';
import { initBackend } from '../src/engine/backend.ts';
import { loadModelFolder, saveModelFolder } from '../src/engine/model-folder.ts';
import { TimbreVae } from '../src/engine/vae.ts';
import { analyzeMagnitudes, fromFeatures, toFeatures } from '../src/engine/features.ts';
import { LiveEngine, LIVE_RT_PRIORITY, FrameDecoder, encodeExcerpt, type LiveModel, type LiveFrameInfo } from '../src/engine/live.ts';
import { MidiMapper } from '../src/engine/midi-map.ts';
import { createMidiInput, connectMidi, type MidiBackend } from '../src/io/midi.ts';
import { createAudioOutput, type AudioOutput, type AudioStream, type StreamOptions, type AudioUnavailable } from '../src/io/audio-out.ts';
import { readAudio } from '../src/io/audio.ts';
import { RtPghi } from '../src/dsp/rtpghi.ts';
import { realtimeCurrentThread } from '../src/io/realtime.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { istft } from '../src/dsp/stft.ts';
import { createRng } from '../src/dsp/rng.ts';
import type { ModelConfig } from '../src/engine/types.ts';
import type { StftConfig } from '../src/dsp/types.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILE_A = join(ROOT, 'data', 'bench', 'bench-sax.wav');
const FILE_B = join(ROOT, 'data', 'bench', 'bench-strings.wav');
const EXCERPT = { startA: 0.5, startB: 0.5, duration: 2 };

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Train a stand-in model of the default shape on the two excerpt files. */
async function standInModel(dir: string, steps: number): Promise<string> {
  const config: ModelConfig = {
    formatVersion: 1,
    features: { transform: { kind: 'stft', sampleRate: 44100, nFft: 2048, hop: 256 }, scaling: 'log' },
    network: { inputBins: 1025, hidden: [1024], latent: 32, outputActivation: 'relu' },
    training: { beta: 5e-4, learningRate: 1e-3, batchSize: 64, epochs: 1, patience: 10, checkpointEvery: 1, seed: 1 },
  };
  const feats = [];
  for (const f of [FILE_A, FILE_B]) {
    const a = await readAudio(f, { sampleRate: 44100 });
    feats.push(toFeatures(analyzeMagnitudes(a.samples, config.features), 'log'));
  }
  const bins = 1025;
  const frames = feats.reduce((s, f) => s + f.frames, 0);
  const all = new Float32Array(frames * bins);
  let o = 0;
  for (const f of feats) {
    all.set(f.data, o);
    o += f.data.length;
  }
  const vae = TimbreVae.create(config.network, 1);
  const rng = createRng(2);
  const batch = new Float32Array(64 * bins);
  for (let s = 0; s < steps; s++) {
    for (let r = 0; r < 64; r++) {
      const f = Math.floor(rng() * frames);
      batch.set(all.subarray(f * bins, (f + 1) * bins), r * bins);
    }
    vae.trainStep(batch, 64, { beta: 5e-4, learningRate: 1e-3 });
  }
  const out = join(dir, 'stand-in-default-shape');
  await saveModelFolder(out, { config, vae });
  vae.dispose();
  return out;
}

/** (1) Streaming real-time factor and peers. */
function measureRtf(model: LiveModel, A: Awaited<ReturnType<typeof encodeExcerpt>>, B: Awaited<ReturnType<typeof encodeExcerpt>>, seconds: number, lookahead: 0 | 1): Record<string, unknown>[] {
  const cfg = model.config.features.transform as StftConfig;
  const sr = cfg.sampleRate;
  const block = 256;
  const warm = new LiveEngine(model, A, B, { lookahead });
  warm.pull(sr); // JIT and tfjs warm-up
  void warm.dispose();
  const e = new LiveEngine(model, A, B, { lookahead });
  const nBlocks = Math.ceil((seconds * sr) / block);
  const amounts: number[] = [];
  e.onFrame((f) => amounts.push(f.amount));
  const c0 = cpuNow();
  const w0 = performance.now();
  for (let k = 0; k < nBlocks; k++) {
    e.setAmount(0.5 + 0.5 * Math.sin(k / 50));
    e.pull(block);
  }
  const cpu = cpuNow() - c0;
  const wall = (performance.now() - w0) / 1000;
  const audio = (nBlocks * block) / sr;
  const nFrames = e.framesSynthesized;
  void e.dispose();

  // The same frames for the peers: the latents the engine decoded.
  const L = A.latent;
  const z = new Float32Array(nFrames * L);
  for (let i = 0; i < nFrames; i++) {
    const f = i % A.frames;
    const a = amounts[i];
    for (let j = 0; j < L; j++) z[i * L + j] = a * A.mu[f * L + j] + (1 - a) * B.mu[f * L + j];
  }
  const bins = cfg.nFft / 2 + 1;
  const scaling = model.config.features.scaling;
  // Stage: fused one-frame decoder alone.
  const dec = new FrameDecoder(model);
  const mags = new Float32Array(nFrames * bins);
  let t = cpuNow();
  for (let i = 0; i < nFrames; i++) mags.set(dec.decode(z.subarray(i * L, (i + 1) * L)), i * bins);
  const decodeCpu = cpuNow() - t;
  dec.dispose();
  fromFeatures({ frames: nFrames, bins, data: mags }, scaling, true);
  // Stage: RTPGHI alone.
  const rt = new RtPghi(cfg, { lookahead });
  t = cpuNow();
  for (let i = 0; i < nFrames; i++) rt.push(mags.subarray(i * bins, (i + 1) * bins));
  rt.flush();
  const rtCpu = cpuNow() - t;
  // Peer (i): offline pipeline on the same frames.
  t = cpuNow();
  const feats = model.vae.decode(z, nFrames);
  const offMag = fromFeatures({ frames: nFrames, bins, data: feats }, scaling, true);
  istft(pghi(offMag, cfg), cfg, (nFrames - 1) * cfg.hop);
  const offlineCpu = cpuNow() - t;
  // Peer (ii): naive streaming, TimbreVae.decode(z, 1) per frame + RTPGHI.
  const rt2 = new RtPghi(cfg, { lookahead });
  t = cpuNow();
  for (let i = 0; i < nFrames; i++) {
    const m = fromFeatures({ frames: 1, bins, data: model.vae.decode(z.subarray(i * L, (i + 1) * L), 1) }, scaling, true);
    rt2.push(m.data);
  }
  const naiveCpu = cpuNow() - t;
  const frameAudio = (nFrames * cfg.hop) / sr;
  return [
    { measure: 'live engine (fused 1-frame decode + RTPGHI), CPU', rtf: cpu / audio, 'wall rtf': wall / audio, 'ms/frame': (cpu / nFrames) * 1000, 'vs live': 1 },
    { measure: '  stage: 1-frame decoder alone', rtf: decodeCpu / frameAudio, 'ms/frame': (decodeCpu / nFrames) * 1000, 'vs live': decodeCpu / frameAudio / (cpu / audio) },
    { measure: '  stage: RTPGHI + overlap-add alone', rtf: rtCpu / frameAudio, 'ms/frame': (rtCpu / nFrames) * 1000, 'vs live': rtCpu / frameAudio / (cpu / audio) },
    { measure: 'peer: offline batch decode + PGHI + istft', rtf: offlineCpu / frameAudio, 'ms/frame': (offlineCpu / nFrames) * 1000, 'vs live': offlineCpu / frameAudio / (cpu / audio) },
    { measure: 'peer: TimbreVae.decode(z,1) per frame + RTPGHI', rtf: naiveCpu / frameAudio, 'ms/frame': (naiveCpu / nFrames) * 1000, 'vs live': naiveCpu / frameAudio / (cpu / audio) },
  ];
}

/** Start `jackd -d dummy` as `server`; real-time priority first, else normal. */
async function startJackd(server: string, period: number): Promise<{ proc: ChildProcess; mode: string } | undefined> {
  for (const rt of [true, false]) {
    const proc = spawn('jackd', [rt ? '-R' : '--no-realtime', '-n', server, '-d', 'dummy', '-r', '44100', '-p', String(period)], {
      stdio: 'ignore', env: { ...process.env, JACK_NO_AUDIO_RESERVATION: '1' },
    });
    proc.on('error', () => undefined);
    const deadline = Date.now() + 8000;
    let up = false;
    while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
      if (existsSync(`/dev/shm/jack_${server}_0_0`)) { up = true; break; }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up) return { proc, mode: rt ? 'real-time' : 'normal priority' };
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
  return undefined;
}

/** The device refused the stream (reported in the results, not thrown). */
class DeviceUnavailable extends Error {}

/** A write record of the measurement shim around the real stream. */
interface WriteRec { wall: number; firstSample: number; length: number; pushedFrames: number; underruns: number }

/** The real output, with every stream write time-stamped (the stream itself is untouched). */
function recordingOutput(real: AudioOutput, log: WriteRec[], sr: number): AudioOutput {
  return {
    ...real,
    listDevices: () => real.listDevices(),
    status: () => real.status(),
    play: (s, r, o) => real.play(s, r, o),
    stop: () => real.stop(),
    close: () => real.close(),
    get lastStatus() { return real.lastStatus; },
    async openStream(rate: number, opts?: StreamOptions): Promise<AudioStream | AudioUnavailable> {
      const s = await real.openStream(rate, opts);
      if (!s.available) return s;
      let written = 0;
      return {
        ...s,
        underruns: () => s.underruns(),
        buffered: () => s.buffered(),
        position: () => s.position(),
        close: () => s.close(),
        abort: () => s.abort(),
        write(samples: Float32Array): Promise<void> {
          log.push({ wall: performance.now(), firstSample: written, length: samples.length, pushedFrames: Math.round(s.position() * sr), underruns: s.underruns() });
          written += samples.length;
          return s.write(samples);
        },
      };
    },
  };
}

/** Keep the real TUI on screen in tmux (120x40) and press a key every 100 ms. */
function startTui(modelDir: string, socket: string): { stop(): void; note: string } {
  const has = spawnSync('tmux', ['-V']);
  if (has.status !== 0) return { stop: () => undefined, note: 'tmux not installed: TUI not shown' };
  const state = mkdtempSync(join(tmpdir(), 'lts-bench-live-tui-'));
  const cmd = `cd ${ROOT} && env -u CI LTS_STATE_DIR=${state} TERM=xterm-256color ${process.execPath} --single-threaded-gc bin/lts.js --dataset ${join(ROOT, 'data', 'bench')} --model ${modelDir} --backend wasm; sleep 5`;
  execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-s', 'live', '-x', '120', '-y', '40', cmd]);
  const keys = ['Down', 'Down', 'Up', 'Up'];
  let i = 0;
  // Asynchronous: this thread is the stream's synthesis thread (real-time priority); a synchronous
  // spawn would block it until the tmux client has run, which a loaded machine delays by milliseconds.
  const timer = setInterval(() => {
    spawn('tmux', ['-L', socket, 'send-keys', '-t', 'live', keys[i++ % keys.length]], { stdio: 'ignore' }).on('error', () => undefined);
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      spawnSync('tmux', ['-L', socket, 'kill-server']);
      rmSync(state, { recursive: true, force: true });
    },
    note: 'real TUI on screen in tmux 120x40, a key every 100 ms',
  };
}

/** (2)+(3) Stream for `seconds` through PortAudio to the jackd dummy device, injecting CC messages. */
async function measureDevice(model: LiveModel, A: Awaited<ReturnType<typeof encodeExcerpt>>, B: Awaited<ReturnType<typeof encodeExcerpt>>, opts: {
  seconds: number; block: number; queue: number; lookahead: 0 | 1; injectEvery: number; withTui: boolean; modelDir: string; niceness: number; rt: number;
}): Promise<Record<string, unknown>> {
  const cfg = model.config.features.transform as StftConfig;
  const sr = cfg.sampleRate;
  const server = `lts-bench-live-${process.pid}`;
  const jack = await startJackd(server, 256);
  if (!jack) return { error: 'jackd did not start; install Debian packages jackd2 and libasound2-plugins' };
  const dir = mkdtempSync(join(tmpdir(), 'lts-bench-live-'));
  const conf = join(dir, 'asound.conf');
  writeFileSync(conf, 'pcm.!default { type plug; slave.pcm { type jack; playback_ports { 0 "system:playback_1" } } }\n');
  const log: WriteRec[] = [];
  const real = createAudioOutput({ env: { ALSA_CONFIG_PATH: conf, JACK_DEFAULT_SERVER: server } });
  const out = recordingOutput(real, log, sr);
  const tui = opts.withTui ? startTui(opts.modelDir, `lts-bench-live-tui-${process.pid}`) : { stop: () => undefined, note: 'no TUI' };
  // MIDI: the binding's message source replaced; everything after it is the real device path.
  let deliver: ((delta: number, message: number[]) => void) | undefined;
  const backend: MidiBackend = {
    getPortCount: () => 1, getPortName: () => 'bench', openPort: () => undefined, closePort: () => undefined,
    isPortOpen: () => true, ignoreTypes: () => undefined, on: (_e, cb) => { deliver = cb; return undefined; }, destroy: () => undefined,
  };
  const mapper = new MidiMapper({ mappings: [{ param: 'amount', source: { kind: 'cc', channel: 0, controller: 1 }, min: 0, max: 1, mode: 'absolute' }] });
  const disconnect = connectMidi(createMidiInput({ backend }), mapper);
  const engine = new LiveEngine(model, A, B, { lookahead: opts.lookahead, amount: 0 });
  engine.connectMidi(mapper);
  const frames: (LiveFrameInfo & { wall: number })[] = [];
  engine.onFrame((f) => frames.push({ ...f, wall: performance.now() }));
  const injections: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const cpu0 = cpuNow();
  let niceDuring = getPriority();
  let rtDuring = 0;
  let result: Record<string, unknown>;
  try {
    // Let the TUI start before streaming (it loads a model too).
    if (opts.withTui) await new Promise((r) => setTimeout(r, 4000));
    const t0 = performance.now();
    const started = await engine.start(out, { blockFrames: opts.block, queueBlocks: opts.queue, highWaterBlocks: 1, niceness: opts.niceness, ...(opts.rt > 0 ? { realtimePriority: opts.rt } : {}) });
    if (!started.available) throw new DeviceUnavailable(started.reason);
    niceDuring = getPriority();
    rtDuring = engine.realtime ? opts.rt : 0;
    let value = 127;
    timer = setInterval(() => {
      injections.push(performance.now());
      deliver!(0, [0xb0, 1, value]);
      value = 127 - value;
    }, opts.injectEvery * 1000);
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    clearInterval(timer);
    timer = undefined;
    await engine.stop();
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuNow() - cpu0;
    const lat = engine.latencyEstimate();
    // Latency per injection (see the module comment for the definition).
    const deviceBuffer = (opts.queue + 2) * opts.block; // naudiodon queue + PortAudio's double buffer (as audio-out.ts documents)
    const lats: number[] = [];
    for (const ti of injections) {
      const f = frames.find((x) => x.wall >= ti);
      if (!f) continue;
      const s = Math.max(0, f.firstSample);
      const w = log.find((r) => r.firstSample + r.length > s);
      if (!w) continue;
      const ahead = s - w.pushedFrames + deviceBuffer;
      lats.push((w.wall - ti) / 1000 + ahead / sr);
    }
    lats.sort((a, b) => a - b);
    const underrunTimes: number[] = [];
    for (let i = 1; i < log.length; i++) if (log[i].underruns > log[i - 1].underruns) underrunTimes.push(log[i].firstSample / sr);
    const pct = (p: number) => lats[Math.min(lats.length - 1, Math.floor(p * lats.length))];
    result = {
      device: `jackd dummy (${jack.mode}), ALSA jack PCM, PortAudio via naudiodon`,
      tui: tui.note,
      block: opts.block,
      queue: opts.queue,
      lookahead: opts.lookahead,
      niceDuringStream: niceDuring,
      synthFifoPriority: rtDuring,
      secondsStreamed: engine.samplesOut / sr,
      wallSeconds: elapsed,
      underruns: engine.underruns(),
      underrunsAtSeconds: underrunTimes.map((t) => t.toFixed(2)).join(' ') || '-',
      streamError: engine.error ?? null,
      processCpuRtf: cpu / elapsed,
      injections: lats.length,
      latencyMedianMs: median(lats) * 1000,
      latencyP95Ms: pct(0.95) * 1000,
      latencyMaxMs: lats[lats.length - 1] * 1000,
      fullWeightExtraMs: lat.toFullWeight * 1000,
      estimateMs: lat.total * 1000,
      loadavg1: loadavg()[0],
    };
  } catch (e) {
    if (!(e instanceof DeviceUnavailable)) throw e;
    result = { error: `the stream could not be opened: ${e.message}` };
  } finally {
    if (timer) clearInterval(timer);
    disconnect();
    await engine.dispose();
    tui.stop();
    real.close();
    if (jack.proc.exitCode === null) jack.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/**
 * Transport floor (peer): the same stream settings and priority, fed with precomputed blocks
 * (no synthesis at all), for the same time. Underruns here come from the machine and the audio
 * path alone.
 */
async function measureFloor(opts: { seconds: number; block: number; queue: number; niceness: number; rt: number }): Promise<{ underruns: number; note: string }> {
  const server = `lts-bench-floor-${process.pid}`;
  const jack = await startJackd(server, 256);
  if (!jack) return { underruns: NaN, note: 'jackd did not start' };
  const dir = mkdtempSync(join(tmpdir(), 'lts-bench-live-floor-'));
  const conf = join(dir, 'asound.conf');
  writeFileSync(conf, 'pcm.!default { type plug; slave.pcm { type jack; playback_ports { 0 "system:playback_1" } } }\n');
  const out = createAudioOutput({ env: { ALSA_CONFIG_PATH: conf, JACK_DEFAULT_SERVER: server } });
  const before = getPriority();
  try {
    const s = await out.openStream(44100, { blockFrames: opts.block, queueBlocks: opts.queue, highWaterBlocks: 1 });
    if (!s.available) return { underruns: NaN, note: s.reason };
    try {
      setPriority(opts.niceness);
    } catch {
      // not permitted: unchanged
    }
    // The same real-time priority as the engine's synthesis thread gets.
    const rt = opts.rt > 0 ? await realtimeCurrentThread(opts.rt) : null;
    try {
      const block = new Float32Array(opts.block);
      const n = Math.ceil((opts.seconds * 44100) / opts.block);
      for (let k = 0; k < n; k++) {
        for (let i = 0; i < block.length; i++) block[i] = 0.3 * Math.sin((2 * Math.PI * 220 * (k * opts.block + i)) / 44100);
        await s.write(block.slice());
      }
    } finally {
      await rt?.release();
    }
    await s.abort();
    return { underruns: s.underruns(), note: 'precomputed blocks, no synthesis' };
  } finally {
    try {
      setPriority(before);
    } catch {
      // raising it back is always permitted
    }
    out.close();
    if (jack.proc.exitCode === null) jack.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The command-line arguments without the output paths (--json, --md), for the record. */
function commandArgs(argv: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json' || argv[i] === '--md') i++;
    else if (!/^--(json|md)=/.test(argv[i])) out.push(argv[i]);
  }
  return out.join(' ');
}

/** Columns of the device table in BENCHMARKS.md. */
const DEV_COLS = ['config', 'secondsStreamed', 'underruns', 'floorUnderruns', 'underrunsAtSeconds', 'latencyMedianMs', 'latencyP95Ms', 'latencyMaxMs', 'injections', 'processCpuRtf', 'loadavg1'];

/** Replace (or append) the `## Live mode` section of a Markdown file, atomically. */
function writeSection(path: string, body: string): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const head = '## Live mode';
  const start = text.indexOf(`\n${head}\n`);
  let next: string;
  if (start < 0) next = `${text.replace(/\n*$/, '\n')}\n${head}\n\n${body}\n`;
  else {
    const after = text.indexOf('\n## ', start + 1);
    next = `${text.slice(0, start)}\n${head}\n\n${body}\n${after < 0 ? '' : text.slice(after)}`;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, path);
}

function num(flags: Record<string, string | true>, name: string, dflt: number, ok: (x: number) => boolean): number {
  const v = flags[name] === undefined ? dflt : Number(flags[name]);
  if (!Number.isFinite(v) || !ok(v)) {
    console.error(`bench live: --${name} ${String(flags[name])} is invalid`);
    process.exit(2);
  }
  return v;
}

/** Entry point: see the module comment. */
export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const seconds = num(flags, 'seconds', 60, (x) => x > 0 && x <= 3600);
  const rtfSeconds = num(flags, 'rtf-seconds', 20, (x) => x > 0 && x <= 600);
  const block = num(flags, 'block', 128, (x) => Number.isInteger(x) && x >= 64 && x <= 4096);
  const queue = num(flags, 'queue', 5, (x) => Number.isInteger(x) && x >= 1 && x <= 16);
  const lookahead = num(flags, 'lookahead', 0, (x) => x === 0 || x === 1) as 0 | 1;
  const configSpec = typeof flags.configs === 'string' ? flags.configs : flags.block || flags.queue || flags.lookahead ? `${block}x${queue}:${lookahead}` : '128x5:0,256x2:0';
  const configs = configSpec.split(',').map((spec) => {
    const m = /^(\d+)x(\d+):([01])$/.exec(spec.trim());
    if (!m || Number(m[1]) < 64 || Number(m[1]) > 4096 || Number(m[2]) < 1 || Number(m[2]) > 16) {
      console.error(`bench live: --configs entry "${spec}" is invalid; use BLOCKxQUEUE:LOOKAHEAD, e.g. 256x2:0`);
      process.exit(2);
    }
    return { block: Number(m[1]), queue: Number(m[2]), lookahead: Number(m[3]) as 0 | 1 };
  });
  const injectEvery = num(flags, 'inject-every', 0.5, (x) => x >= 0.05 && x <= 10);
  const trainSteps = num(flags, 'train-steps', 300, (x) => Number.isInteger(x) && x >= 0);
  const niceness = num(flags, 'nice', -10, (x) => Number.isInteger(x) && x >= -20 && x <= 19);
  const rt = num(flags, 'rt', LIVE_RT_PRIORITY, (x) => Number.isInteger(x) && x >= 0 && x <= 99);
  await initBackend('wasm');
  const tmp = mkdtempSync(join(tmpdir(), 'lts-bench-live-model-'));
  try {
    let modelDir = resolve(typeof flags.model === 'string' ? flags.model : join(ROOT, 'models', 'default'));
    let modelNote = relative(ROOT, modelDir) || modelDir;
    if (!existsSync(join(modelDir, 'config.json'))) {
      if (typeof flags.model === 'string') {
        console.error(`bench live: --model ${flags.model} is not a model folder (no config.json)`);
        process.exit(2);
      }
      console.log(`models/default is not there yet: training a stand-in of the default shape (${trainSteps} steps)...`);
      modelDir = await standInModel(tmp, trainSteps);
      modelNote = `stand-in of the default shape (STFT 2048/256 44.1 kHz, log, hidden 1024, latent 32; ${trainSteps} training steps on the two excerpt files)`;
    }
    const loaded = await loadModelFolder(modelDir);
    const model: LiveModel = { config: loaded.config, vae: loaded.vae };
    const A = await encodeExcerpt(model, FILE_A, EXCERPT.startA, EXCERPT.duration, 'excerpt A');
    const B = await encodeExcerpt(model, FILE_B, EXCERPT.startB, EXCERPT.duration, 'excerpt B');
    const machine = machineInfo();
    console.log(`model: ${modelNote}\nmachine: ${machine.cpu}, ${machine.cores} cores, load ${loadavg()[0].toFixed(1)}`);
    const gc = process.execArgv.includes('--single-threaded-gc') ? 'single-threaded GC, as the instrument' : 'V8 default (parallel) GC; the instrument runs with --single-threaded-gc';
    console.log(`GC: ${gc}`);

    const rtfRows = measureRtf(model, A, B, rtfSeconds, lookahead);
    printTable(rtfRows, `Streaming real-time factor, one thread (${rtfSeconds} s of audio, CPU time)`);

    const devs: Record<string, unknown>[] = [];
    for (const c of configs) {
      const dev = await measureDevice(model, A, B, { seconds, block: c.block, queue: c.queue, lookahead: c.lookahead, injectEvery, withTui: flags['with-tui'] === true, modelDir, niceness, rt });
      const floor = flags['no-floor'] === true ? { underruns: NaN } : await measureFloor({ seconds, block: c.block, queue: c.queue, niceness, rt });
      devs.push({ config: `${c.block}x${c.queue}:${c.lookahead}`, ...dev, floorUnderruns: floor.underruns });
      printTable([devs[devs.length - 1]], `${seconds} s through PortAudio, block ${c.block}, queue ${c.queue}, look-ahead ${c.lookahead}, CC every ${injectEvery} s`);
    }
    loaded.vae.dispose();

    if (typeof flags.json === 'string') writeJson(flags.json, { machine, gc, model: modelNote, rtf: rtfRows, device: devs });
    if (typeof flags.md === 'string') {
      const live = rtfRows[0] as { rtf: number };
      const lines = [
        `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores, shared; load average ${formatNumber(loadavg()[0])}), Node ${machine.node}, tfjs wasm backend.`,
        `Model: ${modelNote}. Excerpts: bench-sax.wav and bench-strings.wav from 0.5 s, 2 s, looping. Real-time factor with RTPGHI look-ahead ${lookahead}.`,
        `Command: \`npm run bench -- live ${commandArgs(argv)}\`.`,
        '',
        '| streaming, one thread | real-time factor (CPU) | ms per frame | ratio to the live engine |',
        '|---|---|---|---|',
        ...rtfRows.map((r) => `| ${String(r.measure).trim()} | ${formatNumber(r.rtf as number)} | ${formatNumber(r['ms/frame'] as number)} | ${formatNumber(r['vs live'] as number)} |`),
        '',
        `Target: real-time factor <= 0.25 on one thread: **${live.rtf <= 0.25 ? 'met' : 'not met'}** (${formatNumber(live.rtf)}).`,
        '',
        `Device runs: ${seconds} s each through the real PortAudio path (config = block x queue : RTPGHI look-ahead), CC injected every ${injectEvery} s;`,
        '`floorUnderruns`: the same stream settings and priority fed with precomputed blocks (no synthesis) for the same time, right after.',
        '',
        `| ${DEV_COLS.join(' | ')} |`,
        `|${DEV_COLS.map(() => '---').join('|')}|`,
        ...devs.map((d) => `| ${DEV_COLS.map((k) => (typeof d[k] === 'number' ? formatNumber(d[k] as number) : String(d[k] ?? ''))).join(' | ')} |`),
        '',
        `Device: ${String(devs[0]?.device ?? devs[0]?.error ?? '')}; ${String(devs[0]?.tui ?? '')}; nice value while streaming ${String(devs[0]?.niceDuringStream ?? '')}; synthesis thread SCHED_FIFO priority ${String(devs[0]?.synthFifoPriority ?? '')} (0 = normal scheduling).`,
        'Latency = from the CC bytes entering the MIDI device callback path to the first output sample of the first frame decoded',
        'after them, at the device: wall time until the stream write carrying that sample, plus the samples ahead of it not yet',
        'handed to PortAudio, plus the configured device buffer (naudiodon queue `queue x block` + PortAudio\'s double buffer, 2 blocks).',
        'The frame reaches full weight (its Hann window centre) nFft/2 = 23.2 ms after that first sample.',
        `Targets: real-time factor <= 0.25 on one thread: ${live.rtf <= 0.25 ? 'met' : 'not met'}.`,
        ...devs.map((d) => `${String(d.config)}: latency <= 30 ms ${typeof d.latencyP95Ms === 'number' && d.latencyP95Ms <= 30 ? 'met at the 95th percentile' : typeof d.latencyMedianMs === 'number' && d.latencyMedianMs <= 30 ? 'met at the median only' : 'not met'}; zero underruns in ${seconds} s ${d.underruns === 0 ? 'met' : `not met (${String(d.underruns)}; the transport floor alone had ${String(d.floorUnderruns)})`}.`),
        'The engine\'s default stream is 128x5 with look-ahead 0 (`LiveEngine.start`, `LiveOptions.lookahead`).',
      ];
      writeSection(flags.md, lines.join('\n'));
      console.log(`wrote the "## Live mode" section of ${flags.md}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
