/**
 * End to end: the real `lts` instrument in a real terminal (tmux), driven by
 * keys. A tiny model is trained with `lts train` on a generated dataset; the
 * test picks two files, draws a curve (breakpoint, line), generates, reads
 * the screen with capture-pane, and checks the render file with readAudio,
 * its sidecar's curve, the saved session, and the layout at 120x40.
 *
 * Needs tmux (Debian package tmux). Runs without a sound card: the audio
 * child gets an ALSA configuration that does not exist, so the app reports
 * "no audio device" and writes renders to files only.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWav } from '../src/io/wav.ts';
import { readAudio } from '../src/io/audio.ts';
import { parseCurveSpec, sampleCurve } from '../src/engine/curve.ts';
import { readFloatCapture, writeAsoundConf } from './audio-out-helpers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'lts-tui-e2e-'));
/** The tmux server's socket name; the live test uses a second server (a killed server can take a moment to go). */
const SOCKETS = [`lts-e2e-${process.pid}`, `lts-e2e-live-${process.pid}`];
let socket = SOCKETS[0];
const SESSION = 'lts';

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}
function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION);
}
/** The app's notices so far (from its `LTS_TUI_TRACE` file), newest last: they say what happened before a timeout. */
let traceFile: string | null = null;
function notices(): string {
  if (!traceFile || !existsSync(traceFile)) return '(no trace)';
  const all = readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
  // Frames (Ink's redraws) are summarised: how many came after each key or notice, and when the last one was.
  const out: string[] = [];
  let frames = 0;
  let lastFrame = '';
  for (const l of all) {
    if (l.startsWith('frame ')) {
      frames++;
      lastFrame = l.slice(6);
      continue;
    }
    if (!l.startsWith('message ') && !l.startsWith('key ')) continue;
    if (frames) out.push(`  (${frames} frames, the last at ${lastFrame})`);
    frames = 0;
    out.push(l);
  }
  if (frames) out.push(`  (${frames} frames, the last at ${lastFrame})`);
  return `${out.slice(-40).join('\n')}\n(now ${Date.now()})`;
}
async function waitFor(ok: (s: string) => boolean, what: string, ms: number): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    let s = '';
    try {
      s = screen();
    } catch {
      s = '(no screen)';
    }
    if (ok(s)) return s;
    if (Date.now() - t0 > ms) {
      const bottom = s.trimEnd().split('\n').slice(-3).join('\n');
      assert.fail(`timed out after ${ms} ms waiting for ${what}; last lines:\n${bottom}\nkeys and notices (newest last):\n${notices()}\nscreen:\n${s}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function keys(...k: string[]): Promise<void> {
  for (const key of k) {
    tmux('send-keys', '-t', SESSION, key);
    await new Promise((r) => setTimeout(r, 40));
  }
}

after(() => {
  for (const s of SOCKETS) spawnSync('tmux', ['-L', s, 'kill-server']);
  rmSync(tmp, { recursive: true, force: true });
});

const data = join(tmp, 'data');
const model = join(tmp, 'model');

test('pick two files, draw a curve, generate: the render is valid audio and the screen says so', async () => {
  // A two-file dataset: a harmonic tone and a noisy buzz, 2.5 s each at 44.1 kHz.
  mkdirSync(data);
  const sr = 44100;
  const n = Math.round(2.5 * sr);
  const tone = new Float32Array(n);
  const buzz = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    for (let h = 1; h <= 6; h++) tone[i] += (0.3 / h) * Math.sin(2 * Math.PI * 220 * h * t);
    s = (s * 1664525 + 1013904223) >>> 0;
    buzz[i] = 0.25 * Math.sign(Math.sin(2 * Math.PI * 110 * t)) + 0.1 * (s / 2 ** 32 - 0.5);
  }
  writeWav(join(data, 'a-tone.wav'), tone, sr);
  writeWav(join(data, 'b-buzz.wav'), buzz, sr);

  const train = spawnSync(
    process.execPath,
    [join(ROOT, 'bin', 'lts.js'), 'train', data, '--out', model, '--epochs', '1', '--hidden', '32', '--latent', '4', '--n-fft', '512', '--hop', '128', '--batch', '256', '--validation', '0'],
    { encoding: 'utf8', cwd: ROOT, env: { ...process.env, CI: '' } },
  );
  assert.equal(train.status, 0, `lts train failed: ${train.stderr}`);

  const state = join(tmp, 'state');
  const env = [
    `LTS_STATE_DIR=${state}`,
    `ALSA_CONFIG_PATH=${join(tmp, 'no-alsa.conf')}`,
    'TERM=xterm-256color',
  ];
  const cmd = `cd ${ROOT} && env -u CI -u CONTINUOUS_INTEGRATION ${env.join(' ')} ${process.execPath} --single-threaded-gc bin/lts.js --dataset ${data} --model ${model} --backend wasm; echo "EXITED $?"; sleep 30`;
  tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', cmd);

  // The transport line too: the screen is read when Ink has written the whole frame (a capture taken while it
  // writes the frame shows only its top lines).
  let sc = await waitFor(
    (x) => x.includes('Dataset 2') && x.includes('model · stft') && x.includes('wasm') && x.includes('^G Gen&Play'),
    'the dataset, the model and the transport line',
    60000,
  );
  // Layout at 80x24: the status line, the list, both slots, the curve, transport, hints.
  const lines = sc.split('\n');
  // The backend, and the threads that share a render's network (two where the machine has two cores).
  assert.match(lines[0], availableParallelism() >= 2 ? /^ LTS │ model · stft 44\.1kHz │ wasm ×2 / : /^ LTS │ model · stft 44\.1kHz │ wasm /);
  assert.match(sc, /a-tone +2\.5s 44\.1k/);
  assert.match(sc, /A {2}\(empty\)/);
  assert.match(sc, /\^G Gen&Play/);

  await keys('Left', 'Down', 'Right');
  sc = await waitFor((x) => x.includes('A  a-tone.wav') && x.includes('B  b-buzz.wav'), 'both slots', 10000);
  // Curve: Tab to the curve panel (dataset -> A -> B -> curve), 1.0 at the start, a line down to 0 at the end.
  await keys('Tab', 'Tab', 'Tab', '1', 'b', 'End', '0', 'l');
  sc = await waitFor((x) => /Curve {2}t 2\.00 s {2}a 0\.00/.test(x), 'the curve cursor at the end', 10000);
  await keys('C-g');
  sc = await waitFor((x) => /rendered render-0001\.wav in [\d.]+ s/.test(x), 'the render', 60000);
  assert.match(sc.split('\n')[0], /last .*render-0001\.wav [\d.]+ s/);
  assert.match(sc, /written to file; no audio device/);

  const wav = join(state, 'renders', 'render-0001.wav');
  assert.ok(existsSync(wav), 'render file exists');
  const audio = await readAudio(wav);
  assert.equal(audio.sampleRate, 44100);
  assert.ok(Math.abs(audio.duration - 2) < 0.05, `render lasts the excerpt duration (2 s), got ${audio.duration}`);
  let peak = 0;
  for (const v of audio.samples) peak = Math.max(peak, Math.abs(v));
  assert.ok(peak > 0.5 && peak <= 1, `normalised render peak ${peak}`);
  const sidecar = JSON.parse(readFileSync(join(state, 'renders', 'render-0001.json'), 'utf8'));
  const amounts = sampleCurve(parseCurveSpec(sidecar.params.curve), 5);
  assert.ok(Math.abs(amounts[0] - 1) < 1e-6 && Math.abs(amounts[4]) < 1e-6, `curve drawn 1 -> 0, got ${Array.from(amounts)}`);
  assert.ok(Math.abs(amounts[2] - 0.5) < 0.03, 'a straight line in between');
  assert.equal(sidecar.params.a.path, join(data, 'a-tone.wav'));
  assert.equal(sidecar.params.b.path, join(data, 'b-buzz.wav'));

  // Save the last render under a chosen name: an atomic copy with its sidecar.
  await keys('C-s');
  await waitFor((x) => x.includes('Save the last render as'), 'the save prompt', 5000);
  await keys('C-u');
  tmux('send-keys', '-t', SESSION, '-l', join(tmp, 'my-blend'));
  await keys('Enter');
  await waitFor((x) => x.includes('saved ') && x.includes('my-blend.wav'), 'the saved notice', 10000);
  assert.deepEqual(readFileSync(join(tmp, 'my-blend.wav')), readFileSync(wav), 'saved copy equals the render');
  assert.deepEqual(JSON.parse(readFileSync(join(tmp, 'my-blend.json'), 'utf8')).params, sidecar.params);

  // Stop cancels a running render: a slow one (512 phase iterations), Ctrl-X while it runs.
  await keys('Tab', '+', '+', '+', '+');
  await waitFor((x) => x.includes('×512'), '512 iterations', 5000);
  await keys('C-g');
  await waitFor((x) => x.includes('Rendering'), 'the progress bar', 20000);
  await keys('C-x');
  await waitFor((x) => x.includes('render cancelled'), 'the cancel notice', 30000);
  assert.ok(!existsSync(join(state, 'renders', 'render-0002.wav')), 'a cancelled render leaves no file');

  // Bigger terminal: the same screen, laid out for 120x40.
  tmux('resize-window', '-t', SESSION, '-x', '120', '-y', '40');
  sc = await waitFor((x) => /│ A {2}a-tone\.wav/.test(x) && (x.split('\n')[37] ?? '').includes('^G Generate&Play'), 'the 120x40 layout', 10000);
  assert.match(sc.split('\n')[38], /render cancelled/, 'the notice line under the transport');

  // Quit: the session is saved and restores the files next time.
  await keys('C-q');
  await waitFor((x) => x.includes('EXITED 0'), 'a clean exit', 15000);
  const session = JSON.parse(readFileSync(join(state, 'session.json'), 'utf8'));
  assert.equal(session.slots.A.path, join(data, 'a-tone.wav'));
  assert.equal(session.slots.B.path, join(data, 'b-buzz.wav'));
  assert.equal(session.lastRender.path, wav);
  assert.equal(session.curve.values[0], 1);
  assert.equal(session.curve.values[session.curve.values.length - 1], 0);
});

test('live mode with --osc and --listen: the live line runs, [ ] move the control, the device receives the stream, Ctrl-L stops', async () => {
  assert.ok(existsSync(join(model, 'config.json')), 'the model of the first test');
  const state = join(tmp, 'state-live');
  const conf = writeAsoundConf(tmp, 'default');
  const captured = join(tmp, 'default.raw');
  traceFile = join(tmp, 'trace-live.txt');
  const env = [`LTS_STATE_DIR=${state}`, `ALSA_CONFIG_PATH=${conf}`, 'TERM=xterm-256color', `LTS_TUI_TRACE=${traceFile}`];
  const cmd = `cd ${ROOT} && env -u CI -u CONTINUOUS_INTEGRATION ${env.join(' ')} ${process.execPath} --single-threaded-gc bin/lts.js --dataset ${data} --model ${model} --backend wasm --osc 0 --listen 0; echo "EXITED $?"; sleep 30`;
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  socket = SOCKETS[1];
  tmux('new-session', '-d', '-s', SESSION, '-x', '100', '-y', '30', cmd);
  let sc = await waitFor((x) => x.includes('Dataset 2') && x.includes('model · stft') && /OSC \d+ · web \d+/.test(x), 'the dataset, the model, OSC and the page', 60000);
  await keys('Left', 'Down', 'Right');
  await waitFor((x) => x.includes('A  a-tone.wav') && x.includes('B  b-buzz.wav'), 'both slots', 10000);
  await keys('C-l');
  sc = await waitFor((x) => /● LIVE a 0\.50 \(keys\) frame +\d+\/\d+/.test(x), 'the live line', 60000);
  assert.match(sc, /live: \d+ frames at 44100 Hz/);
  const before = readFloatCapture(captured).length;
  await keys(']', ']');
  await waitFor((x) => /● LIVE a 0\.60 \(keys\)/.test(x), 'the control moved by the keys', 10000);
  const t0 = Date.now();
  while (readFloatCapture(captured).length < before + 44100 && Date.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 100));
  const cap = readFloatCapture(captured);
  assert.ok(cap.length >= before + 44100, `the device received a second of the live stream (${cap.length - before} samples)`);
  assert.ok(cap.subarray(before).some((v) => Math.abs(v) > 0.01), 'and it is not silent');
  await keys('?');
  sc = await waitFor((x) => x.includes('Listening page') && x.includes('OSC server: UDP'), 'the URL and OSC in the help', 10000);
  assert.match(sc, /http:\/\/localhost:\d+\/\?token=[A-Za-z0-9_-]{16,}/, 'the page URL with its token');
  await keys('Escape');
  await waitFor((x) => !x.includes('Listening page'), 'the help closed', 10000);
  // Still playing (a stream that ended by itself would make the Ctrl-L below start it again).
  assert.match(screen(), /● LIVE a 0\.60/, `live mode still on before Ctrl-L; notices:\n${notices()}`);
  await keys('C-l');
  await waitFor((x) => !x.includes('● LIVE') && x.includes('live mode stopped'), 'live mode stopped', 15000);
  await keys('C-q');
  await waitFor((x) => x.includes('EXITED 0'), 'a clean exit', 15000);
});
