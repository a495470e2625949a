/**
 * Live mode inside the instrument (issue 6): how long a MIDI control change takes to reach the
 * device while the TUI is on screen.
 *
 * `npm run bench -- tui-live [--model DIR] [--seconds 20] [--inject-every 0.5] [--keys-every 0.1] [--json FILE]`
 *
 * The real `lts` runs in tmux (100x30) with the excerpt pair A = data/bench/bench-sax.wav,
 * B = data/bench/bench-strings.wav (2 s from 0, looping), a MIDI mapping CC 1 → amount (written to its
 * state folder before it starts) and its audio on ALSA's `jack` PCM of a private `jackd -d dummy`
 * server (period 256: a real-time 44.1 kHz clock without a sound card; Debian packages jackd2,
 * libasound2-plugins). MIDI bytes enter through `LTS_TUI_MIDI_FIFO` (a named pipe read by the
 * instrument's MIDI port backend, then `createMidiInput` → the app's MIDI handler → mapper and live
 * worker: the path of a device callback). Live mode is started with Ctrl-L; every `--inject-every`
 * seconds CC 1 alternates 0 / 127 while a key is pressed every `--keys-every` seconds, so the
 * screen keeps redrawing.
 *
 * Latency, as in bench/live.ts: from the message's arrival in the instrument to the stream write
 * that carries the first output sample of the first frame decoded after it, plus the audio ahead of
 * that sample (not yet handed to PortAudio) and the configured device buffer (5 queued blocks +
 * PortAudio's double buffer, 128 frames each). The live worker reports each one (`LTS_TUI_TRACE`).
 *
 * Peer, same run, same model, excerpts and stream settings: the live worker alone (no TUI, no
 * tmux, MIDI bytes handed to it directly), so the ratio shows what the instrument around it costs.
 */
import { spawn, execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, printTable, writeJson, median, machineInfo } from './util.ts';
import { LiveWorker } from '../src/tui/live-worker.ts';
import { epochMs } from '../src/tui/live-protocol.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function startJackd(server: string): Promise<{ proc: ChildProcess; mode: string } | undefined> {
  for (const rt of [true, false]) {
    const proc = spawn('jackd', [rt ? '-R' : '--no-realtime', '-n', server, '-d', 'dummy', '-r', '44100', '-p', '256'], {
      stdio: 'ignore',
      env: { ...process.env, JACK_NO_AUDIO_RESERVATION: '1' },
    });
    proc.on('error', () => undefined);
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
      if (existsSync(`/dev/shm/jack_${server}_0_0`)) {
        // The segment appears before the server takes clients.
        await new Promise((r) => setTimeout(r, 1500));
        return { proc, mode: rt ? 'real-time' : 'normal priority' };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
  return undefined;
}

function summary(name: string, xs: number[], underruns: number | string) {
  return { run: name, injections: xs.length, 'median ms': median(xs), 'p90 ms': quantile(xs, 0.9), 'max ms': xs.length ? Math.max(...xs) : NaN, underruns };
}

/** Run the benchmark; see the module comment for the options. */
export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const model = resolve(String(flags.model ?? join(ROOT, 'models', 'default')));
  const seconds = Number(flags.seconds ?? 20);
  const every = Number(flags['inject-every'] ?? 0.5);
  const keysEvery = Number(flags['keys-every'] ?? 0.1);
  if (!existsSync(join(model, 'config.json'))) throw new Error(`bench tui-live: no model at ${model}; pass --model DIR`);
  if (spawnSync('tmux', ['-V']).status !== 0) throw new Error('bench tui-live: tmux is needed (Debian package tmux)');
  const tmp = mkdtempSync(join(tmpdir(), 'lts-bench-tui-live-'));
  const server = `ltsbtl${process.pid}`;
  const socket = `lts-bench-tui-live-${process.pid}`;
  const jack = await startJackd(server);
  if (!jack) throw new Error('bench tui-live: jackd did not start; install Debian packages jackd2 and libasound2-plugins');
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
  try {
    const data = join(tmp, 'data');
    mkdirSync(data);
    for (const f of ['bench-sax.wav', 'bench-strings.wav']) copyFileSync(join(ROOT, 'data', 'bench', f), join(data, f));
    const conf = join(tmp, 'asound.conf');
    // ALSA's file plugin over the jack PCM (the form PortAudio lists as a device; what it plays is written to /dev/null).
    writeFileSync(conf, 'pcm.!default {\n  type file\n  slave.pcm { type plug; slave.pcm { type jack; playback_ports { 0 "system:playback_1" } } }\n  file "/dev/null"\n  format "raw"\n}\n');
    const env = { ALSA_CONFIG_PATH: conf, JACK_DEFAULT_SERVER: server };
    const mapping = { format: 'lts-midi-map', version: 1, rampMs: 8, mappings: [{ param: 'amount', source: { kind: 'cc', channel: 0, controller: 1 }, min: -0.3, max: 1.3, mode: 'absolute' }] };

    // Peer: the live worker alone.
    const worker = new LiveWorker({ probe: true });
    const alone: number[] = [];
    let aloneUnderruns = 0;
    worker.onEvent((e) => {
      if (e.type === 'probe') alone.push(e.probe.totalMs);
      if (e.type === 'status') aloneUnderruns = e.status.underruns;
    });
    const r = await worker.start({
      model,
      a: { path: join(data, 'bench-sax.wav'), start: 0 },
      b: { path: join(data, 'bench-strings.wav'), start: 0 },
      duration: 2,
      loop: true,
      mode: 'absolute',
      curve: [0.5],
      amount: 0.5,
      deviceId: null,
      midi: { mappings: mapping.mappings as never, rampMs: 8 },
      tee: false,
      audioEnv: env,
    });
    if (!r.ok) throw new Error(`bench tui-live: the live worker did not start: ${r.message}`);
    await new Promise((res) => setTimeout(res, 2000));
    for (let k = 0; k < Math.round(seconds / every); k++) {
      worker.midi([0xb0, 1, k % 2 ? 0 : 127], epochMs() / 1000);
      await new Promise((res) => setTimeout(res, every * 1000));
    }
    await worker.close();

    // The instrument in tmux.
    const state = join(tmp, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'midi-map.json'), JSON.stringify(mapping));
    const fifo = join(tmp, 'midi.fifo');
    execFileSync('mkfifo', [fifo]);
    const trace = join(tmp, 'trace.txt');
    const vars = [`LTS_STATE_DIR=${state}`, `LTS_TUI_TRACE=${trace}`, `LTS_TUI_MIDI_FIFO=${fifo}`, `ALSA_CONFIG_PATH=${conf}`, `JACK_DEFAULT_SERVER=${server}`, 'TERM=xterm-256color'];
    const cmd = `cd ${ROOT} && env ${vars.join(' ')} ${process.execPath} --single-threaded-gc bin/lts.js --dataset ${data} --model ${model}; sleep 30`;
    tmux('new-session', '-d', '-s', 'b', '-x', '100', '-y', '30', cmd);
    const screen = () => {
      try {
        return tmux('capture-pane', '-p', '-t', 'b');
      } catch {
        return '';
      }
    };
    const wait = async (ok: (s: string) => boolean, what: string, ms = 120000) => {
      const t0 = Date.now();
      while (!ok(screen())) {
        if (Date.now() - t0 > ms) throw new Error(`bench tui-live: timed out waiting for ${what}:\n${screen()}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    await wait((s) => s.includes('Dataset 2') && /· stft/.test(s) && s.includes('MIDI pipe'), 'the instrument');
    tmux('send-keys', '-t', 'b', 'Left', 'Down', 'Right');
    await wait((s) => s.includes('B  bench-strings.wav'), 'both slots');
    tmux('send-keys', '-t', 'b', 'C-l');
    await wait((s) => s.includes('● LIVE'), 'live mode');
    await new Promise((res) => setTimeout(res, 2000));
    const fd = openSync(fifo, 'w');
    const keys = setInterval(() => {
      try {
        tmux('send-keys', '-t', 'b', 'Tab');
      } catch {
        // The session is going away.
      }
    }, keysEvery * 1000);
    for (let k = 0; k < Math.round(seconds / every); k++) {
      writeSync(fd, Buffer.from([0xb0, 1, k % 2 ? 0 : 127]));
      await new Promise((res) => setTimeout(res, every * 1000));
    }
    clearInterval(keys);
    closeSync(fd);
    const last = screen();
    const tuiUnderruns = Number(/xruns (\d+)/.exec(last)?.[1] ?? NaN);
    tmux('send-keys', '-t', 'b', 'C-q');
    await new Promise((res) => setTimeout(res, 1000));
    const inTui = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('live-cc '))
      .map((l) => Number(l.split(' ')[1]));
    const rows = [summary('live worker alone (peer)', alone, aloneUnderruns), summary(`in the TUI (a key every ${keysEvery * 1000} ms)`, inTui, tuiUnderruns)];
    printTable(rows, `CC to device, ${seconds} s, a CC every ${every} s, jackd dummy (${jack.mode}), jackd period 256, stream 128-frame blocks x 5 queued`);
    const ratio = median(inTui) / median(alone);
    console.log(`median in the TUI / alone: ${ratio.toFixed(2)}`);
    if (flags.json) writeJson(String(flags.json), { machine: machineInfo(), model, seconds, every, keysEvery, jack: jack.mode, rows, ratio });
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    jack.proc.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}
