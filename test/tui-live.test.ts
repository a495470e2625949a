/**
 * Live mode, MIDI and the OSC server in the instrument, with real services:
 * a small STFT model trained in the test (test/helpers/tiny-model.ts), the
 * render worker, the live engine's worker thread streaming through the real
 * PortAudio child into ALSA's file plugin (the capture is what the device
 * played), and MIDI messages taking the device path of `createMidiInput`
 * (a port backend that delivers raw bytes, as RtMidi's callback does; this
 * machine has no ALSA sequencer).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { mountApp, until } from './tui-terminal.ts';
import { lazyAudioOutput, lazyRenderWorker, loadWaveform, oscStarter, scanForBrowser, type TuiServices } from '../src/tui/services.ts';
import { LiveWorker, type LiveStartResult } from '../src/tui/live-worker.ts';
import { LIVE_NEEDS_STFT_TEXT, type LiveStartParams } from '../src/tui/live-protocol.ts';
import { LIVE_NEEDS_STFT } from '../src/engine/live.ts';
import { createMidiInput, type MidiBackend } from '../src/io/midi.ts';
import { TimbreVae } from '../src/engine/vae.ts';
import { saveModelFolder } from '../src/engine/model-folder.ts';
import { initBackend } from '../src/engine/backend.ts';
import { encodeOsc, decodeOsc, flattenPacket } from '../src/io/osc.ts';
import type { ModelConfig } from '../src/engine/types.ts';
import { WebSocket } from 'ws';
import React from 'react';
import { render as inkRender } from 'ink';
import { ListenServer } from '../src/io/listen-server.ts';
import { listenAudioOutput, listenRenderer } from '../src/io/listen-bridge.ts';
import { Screen, openFirstController } from '../src/tui/App.tsx';
import { initialState, reducer, type AppState } from '../src/tui/state.ts';
import { listenStateWithLive } from '../src/tui/run.tsx';
import { Terminal } from './tui-terminal.ts';
import { makeTinyModel, SR, type TinyModel } from './helpers/tiny-model.ts';
import { readFloatCapture, writeAsoundConf } from './audio-out-helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'lts-tui-live-'));
const conf = writeAsoundConf(root, 'default');
const captured = join(root, 'default.raw');
let tiny: TinyModel;
let cqtModel: string;
const toClose: TuiServices[] = [];

before(async () => {
  tiny = await makeTinyModel();
  // A constant-Q model folder (untrained: only its transform matters here).
  await initBackend('auto');
  const config: ModelConfig = {
    formatVersion: 1,
    features: { transform: { kind: 'cqt', sampleRate: SR, hop: 128, binsPerOctave: 12, nBins: 72, fmin: 32.703 }, scaling: 'log' },
    network: { inputBins: 72, hidden: [16], latent: 2, outputActivation: 'relu' },
    training: { beta: 5e-4, learningRate: 3e-3, batchSize: 16, epochs: 1, patience: 10, checkpointEvery: 1, seed: 1 },
  };
  cqtModel = join(root, 'cqt-model');
  const vae = TimbreVae.create(config.network, 1);
  await saveModelFolder(cqtModel, { config, vae });
  vae.dispose();
});

after(async () => {
  for (const s of toClose) {
    s.audio.close();
    await s.live?.close();
    await s.renderer.close();
  }
  rmSync(root, { recursive: true, force: true });
  if (tiny) rmSync(tiny.dir, { recursive: true, force: true });
});

/** A MIDI port backend: one port whose messages are the raw bytes handed to `send` (what RtMidi's callback delivers). */
function testPort(name: string): MidiBackend & { send(bytes: number[]): void } {
  const listeners: ((dt: number, msg: number[]) => void)[] = [];
  let open = false;
  return {
    getPortCount: () => 1,
    getPortName: () => name,
    openPort: () => {
      open = true;
    },
    closePort: () => {
      open = false;
    },
    isPortOpen: () => open,
    ignoreTypes: () => undefined,
    on: (_e, cb) => listeners.push(cb),
    destroy: () => undefined,
    send(bytes) {
      if (open) for (const l of listeners) l(0, bytes);
    },
  };
}

function services(over: Partial<TuiServices> = {}): TuiServices {
  const stateDir = mkdtempSync(join(root, 'state-'));
  const renderer = lazyRenderWorker('cpu');
  const audio = lazyAudioOutput({ ALSA_CONFIG_PATH: conf });
  const s: TuiServices = {
    scanDataset: scanForBrowser,
    loadAudio: loadWaveform,
    renderer,
    audio,
    presetsDir: join(stateDir, 'presets'),
    rendersDir: join(stateDir, 'renders'),
    live: new LiveWorker(),
    midiMapPath: join(stateDir, 'midi-map.json'),
    startOsc: oscStarter(renderer, audio, join(stateDir, 'renders')),
    backend: 'cpu',
    audioEnv: { ALSA_CONFIG_PATH: conf },
    ...over,
  };
  mkdirSync(s.presetsDir, { recursive: true });
  mkdirSync(s.rendersDir, { recursive: true });
  toClose.push(s);
  return s;
}

const LEFT = '\x1b[D';
const RIGHT = '\x1b[C';
const DOWN = '\x1b[B';
const ESC = '\x1b';

/** high.wav (first in the list) to A, low.wav to B; resolves once both slots and the STFT model are on screen (a loaded machine may take a while to load the model in the render worker). */
async function pickHighAndLow(frame: () => string, press: (k: string) => Promise<void>): Promise<void> {
  await press(LEFT);
  await press(DOWN);
  await press(RIGHT);
  await until(frame, (s) => s.includes('A  high.wav') && s.includes('B  low.wav') && /model · stft 16k/.test(s), 'both slots and the model', 60000);
}

/** Mean squared first difference over mean square: grows with the square of the dominant frequency. */
function brightness(x: Float32Array): number {
  let d = 0;
  let e = 0;
  for (let i = 1; i < x.length; i++) {
    d += (x[i] - x[i - 1]) ** 2;
    e += x[i] * x[i];
  }
  return d / Math.max(e, 1e-12);
}

/** Wait until the capture has grown by `samples` after now, and return its last `samples` samples. */
async function nextCaptured(samples: number): Promise<Float32Array> {
  const from = readFloatCapture(captured).length;
  const t0 = Date.now();
  for (;;) {
    const cap = readFloatCapture(captured);
    if (cap.length >= from + 2 * samples) return cap.slice(cap.length - samples);
    if (Date.now() - t0 > 30000) assert.fail(`the device received only ${cap.length - from} new samples in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('live mode from the keys plays through PortAudio; MIDI learn binds a knob that the sound follows; mappings save and load; note-on generates', async () => {
  const port = testPort('Test Controller');
  const svc = services({ midi: () => createMidiInput({ backend: port }) });
  const { frame, press, unmount } = mountApp({ services: svc, dataset: tiny.dir, model: tiny.modelDir, size: { columns: 100, rows: 30 } });
  try {
    await until(frame, (s) => s.includes('high') && s.includes('low') && s.includes('MIDI Test Controller'), 'the dataset and the MIDI port');
    await pickHighAndLow(frame, press);

    // Live mode from the keys.
    await press('\x0c'); // Ctrl-L
    let f = await until(frame, (s) => /● LIVE a 0\.50 \(keys\) frame +\d+\/\d+/.test(s), 'the live line', 60000);
    assert.match(f, /live: \d+ frames at 16000 Hz/);
    assert.match(f, /LIVE/, 'the status line says live');
    const first = await nextCaptured(SR / 4);
    assert.ok(first.some((v) => Math.abs(v) > 0.01), 'the device plays sound');
    await press(']]]]');
    await until(frame, (s) => /● LIVE a 0\.70 \(keys\)/.test(s), 'the knob moved by the keys');
    await press('{');
    await until(frame, (s) => /● LIVE a 0\.69 \(keys\)/.test(s), 'the fine step');

    // MIDI learn: open the panel, choose "amount a (absolute)", move CC 1.
    await press('\x0b'); // Ctrl-K
    f = await until(frame, (s) => s.includes('open: Test Controller') && s.includes('amount a (absolute)'), 'the MIDI panel');
    await press(DOWN); // from the port row to the first parameter
    await press('\r');
    await until(frame, (s) => s.includes('… move a control'), 'learn armed');
    port.send([0xb0, 1, 0]);
    f = await until(frame, (s) => /amount a \(absolute\) +CC 1 ch 1 +-0\.3\.\.1\.3/.test(s) && s.includes('last message: CC 1 ch 1 = 0'), 'the learnt mapping');
    assert.ok(f.includes('MIDI learn: amount (absolute) ← CC 1 ch 1'), 'the message line says what was learnt');
    await press(ESC);
    await until(frame, (s) => /● LIVE a -0\.30 \(MIDI CC 1 ch 1\)/.test(s), 'the knob from MIDI');
    const low = brightness(await nextCaptured(SR / 2));
    port.send([0xb0, 1, 127]);
    await until(frame, (s) => /● LIVE a 1\.30 \(MIDI CC 1 ch 1\)/.test(s), 'the knob at the top');
    const high = brightness(await nextCaptured(SR / 2));
    assert.ok(high > 4 * low, `the sound follows the knob toward the bright sound A (brightness ${low.toFixed(4)} -> ${high.toFixed(4)})`);
    // A key takes over from the knob again.
    await press('[');
    await until(frame, (s) => /● LIVE a 1\.25 \(keys\)/.test(s), 'keys take over');
    await press('\x0c');
    await until(frame, (s) => !s.includes('● LIVE') && s.includes('live mode stopped'), 'live mode stopped');

    // Save the mapping by name, remove it, load it back.
    await press('\x0b');
    await until(frame, (s) => s.includes('CC 1 ch 1  -0.3..1.3'), 'the panel with the mapping');
    await press('w');
    await press('knobs\r');
    await until(frame, (s) => s.includes('MIDI mappings saved'), 'saved');
    const file = join(svc.presetsDir, 'knobs.midi.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(saved.mappings, [{ param: 'amount', source: { kind: 'cc', channel: 0, controller: 1 }, min: -0.3, max: 1.3, mode: 'absolute' }]);
    await press(DOWN);
    await press('\x7f'); // Backspace: unmap
    await until(frame, (s) => /amount a \(absolute\) +—/.test(s), 'unmapped');
    assert.deepEqual(JSON.parse(readFileSync(svc.midiMapPath!, 'utf8')).mappings, [], 'the kept mappings follow');
    await press('l');
    await until(frame, (s) => s.includes('MIDI mappings (Enter loads') && s.includes('knobs'), 'the mapping picker');
    await press('\r');
    await until(frame, (s) => /amount a \(absolute\) +CC 1 ch 1/.test(s) && s.includes('MIDI mappings knobs loaded (1)'), 'loaded');

    // A note-on learnt for Generate & Play renders and plays.
    for (let i = 0; i < 5; i++) await press(DOWN); // port, 2 × amount, start A, start B, then Generate & Play
    await press('\r');
    port.send([0x99, 60, 100]);
    await until(frame, (s) => /Generate & Play +note 60 ch 10/.test(s), 'the trigger mapping');
    await press(ESC);
    port.send([0x99, 60, 90]);
    await until(frame, (s) => /rendered render-0001\.wav/.test(s), 'the render started by the note', 90000);
    assert.ok(statSync(join(svc.rendersDir, 'render-0001.wav')).size > 1000);
  } finally {
    unmount();
  }
});

test('the first controller port opens by itself; ALSA\'s "Midi Through" port is passed over', () => {
  const ports = ['Midi Through Port-0', 'nanoKONTROL2 MIDI 1'];
  let opened = -1;
  const backend: MidiBackend = {
    getPortCount: () => ports.length,
    getPortName: (i) => ports[i],
    openPort: (i) => {
      opened = i;
    },
    closePort: () => {
      opened = -1;
    },
    isPortOpen: () => opened >= 0,
    ignoreTypes: () => undefined,
    on: () => undefined,
    destroy: () => undefined,
  };
  const input = createMidiInput({ backend });
  assert.equal(openFirstController(input), 1);
  assert.equal(input.openPortName, 'nanoKONTROL2 MIDI 1');
  assert.equal(openFirstController(input), -1, 'an open port stays');
});

test('a constant-Q model: live mode explains that it needs an STFT model; without a sequencer the MIDI panel says no MIDI', async () => {
  assert.equal(LIVE_NEEDS_STFT_TEXT, LIVE_NEEDS_STFT, 'the UI shows the engine\'s message');
  const svc = services({ midi: () => createMidiInput({ sequencerPath: join(root, 'no-such-seq') }) });
  const { frame, press, unmount } = mountApp({ services: svc, dataset: tiny.dir, model: cqtModel, size: { columns: 100, rows: 30 } });
  try {
    await until(frame, (s) => s.includes('high') && /cqt 16k/.test(s), 'the list and the model');
    await press(LEFT);
    await press(DOWN);
    await press(RIGHT);
    await press('\x0c');
    await until(frame, (s) => s.includes(LIVE_NEEDS_STFT_TEXT), 'the refusal');
    assert.ok(!frame().includes('● LIVE'));
    // The engine refuses the same way when asked directly.
    const r = await svc.live!.start({
      model: cqtModel, backend: 'cpu', a: { path: tiny.fileA, start: 0 }, b: { path: tiny.fileB, start: 0 }, duration: 1, loop: true,
      mode: 'absolute', curve: [0.5], amount: 0.5, deviceId: null, midi: { mappings: [], rampMs: 8 }, tee: false,
    });
    assert.deepEqual(r, { ok: false, message: LIVE_NEEDS_STFT });
    await press('\x0b');
    const f = await until(frame, (s) => s.includes('Input ports — no MIDI (no ALSA sequencer)'), 'no MIDI');
    assert.match(f, /amount a \(absolute\) +—/);
  } finally {
    unmount();
  }
});

test('Ctrl-E starts the OSC server: it answers the Max patch\'s connection test and shows in the status line; Ctrl-E stops it', async () => {
  const replies = createSocket('udp4');
  await new Promise<void>((r) => replies.bind(0, '127.0.0.1', () => r()));
  const replyPort = (replies.address() as { port: number }).port;
  const got: string[] = [];
  replies.on('message', (buf) => {
    for (const m of flattenPacket(decodeOsc(buf))) got.push(`${m.address} ${m.args.map((a) => String(a.value)).join(' ')}`);
  });
  const svc = services();
  const { frame, press, unmount } = mountApp({ services: svc, dataset: tiny.dir, model: tiny.modelDir, size: { columns: 100, rows: 30 }, oscPort: 0, oscReplyPort: replyPort });
  try {
    const f = await until(frame, (s) => /OSC \d+/.test(s), 'the OSC server started by the option');
    const port = Number(/OSC (\d+)/.exec(f)![1]);
    assert.ok(port > 0);
    const sender = createSocket('udp4');
    sender.send(encodeOsc({ address: '/test/connection', args: [] }), port, '127.0.0.1');
    await until(() => got.join('\n'), (s) => s.includes('/report Connection works. #1'), 'the reply');
    sender.close();
    await press('\x05'); // Ctrl-E
    await until(frame, (s) => s.includes('OSC server stopped') && !/OSC \d+/.test(s.split('\n')[0]), 'stopped');
  } finally {
    unmount();
    replies.close();
  }
});

test('--listen: the page gets the live stream (paced by the page without a local device) and the live knob; the help shows the URL', async () => {
  const stateDir = mkdtempSync(join(root, 'listen-'));
  const rendersDir = join(stateDir, 'renders');
  mkdirSync(rendersDir, { recursive: true });
  const server = await ListenServer.start({ port: 0, rendersDir });
  const base = services({ audioEnv: { ALSA_CONFIG_PATH: join(root, 'no-alsa.conf') } });
  const svc: TuiServices = {
    ...base,
    audio: listenAudioOutput(server, lazyAudioOutput({ ALSA_CONFIG_PATH: join(root, 'no-alsa.conf') })),
    renderer: listenRenderer(server, base.renderer),
    listen: server,
  };
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { headers: { Host: `localhost:${server.port}`, Origin: `http://localhost:${server.port}` } });
  const texts: { type: string; [k: string]: unknown }[] = [];
  const frames: Buffer[] = [];
  ws.on('message', (d, bin) => (bin ? frames.push(d as Buffer) : texts.push(JSON.parse(d.toString()))));
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  const { frame, press, unmount } = mountApp({ services: svc, dataset: tiny.dir, model: tiny.modelDir, size: { columns: 100, rows: 30 }, onState: (st) => server.publishState(listenStateWithLive(st)) });
  try {
    await until(frame, (s) => s.includes('high') && /model · stft/.test(s) && /web \d+ \(1\)/.test(s), 'the list, the model and the connected page');
    await press(LEFT);
    await press(DOWN);
    await press(RIGHT);
    await until(frame, (s) => s.includes('B  low.wav'), 'both slots');
    await press('\x0c');
    await until(frame, (s) => /● LIVE a 0\.50 \(keys\)/.test(s) && s.includes('no local device'), 'live mode without a local device');
    await press(']');
    const live = () => frames.filter((f) => f.readUInt32LE(0) === 2);
    await until(() => String(live().reduce((n, f) => n + (f.length - 16) / 4, 0)), (n) => Number(n) >= SR / 2, 'half a second of the live stream at the page');
    const open = texts.find((t) => t.type === 'live-open');
    assert.equal(open?.sampleRate, SR);
    const pcm = live().map((f) => new Float32Array(new Uint8Array(f.subarray(16)).buffer));
    assert.ok(pcm.some((x) => x.some((v) => Math.abs(v) > 0.01)), 'the page receives sound');
    const knobs = () => texts.filter((t) => t.type === 'state').map((t) => (t.state as { knob?: { value: number } | null }).knob?.value);
    await until(() => knobs().join(', '), (k) => k.split(', ').includes('0.55'), 'the page showing the live control');
    await press('?');
    const f = await until(frame, (s) => s.includes('Listening page'), 'the help');
    assert.ok(f.includes(server.url), 'the help shows the URL with the token');
    await press(ESC);
    await press('\x0c');
    await until(() => texts.map((t) => t.type).join(' '), (t) => t.includes('live-close'), 'the page told the stream ended');
  } finally {
    unmount();
    ws.close();
    await server.close();
  }
});

test('new excerpts while live are swapped into the running stream (no restart, no gap); another device restarts it', async () => {
  const live = new LiveWorker();
  const statuses: { synthesized: number; frames: number }[] = [];
  const ends: unknown[] = [];
  live.onEvent((e) => {
    if (e.type === 'status') statuses.push(e.status);
    if (e.type === 'ended') ends.push(e);
  });
  const base = {
    model: tiny.modelDir, backend: 'cpu', a: { path: tiny.fileA, start: 0.2 }, b: { path: tiny.fileB, start: 0.2 }, duration: 0.5,
    loop: true, mode: 'absolute' as const, curve: [0.5], amount: 1, deviceId: null, midi: { mappings: [], rampMs: 20 }, tee: false,
    audioEnv: { ALSA_CONFIG_PATH: conf },
  };
  try {
    const r1 = await live.start(base);
    assert.ok(r1.ok, r1.ok ? '' : r1.message);
    assert.equal(r1.updated, false);
    await until(() => String(statuses.length), (n) => Number(n) > 3, 'status reports', 20000);
    const before = statuses[statuses.length - 1].synthesized;
    const r2 = await live.start({ ...base, a: { path: tiny.fileB, start: 0.3 }, b: { path: tiny.fileA, start: 0.3 }, duration: 0.75 });
    assert.ok(r2.ok, r2.ok ? '' : r2.message);
    assert.equal(r2.updated, true, 'the running stream took the new excerpts in place');
    assert.ok(r2.frames > r1.frames, `frames ${r1.frames} -> ${r2.frames}`);
    const n = statuses.length;
    await until(() => String(statuses.length), (k) => Number(k) > n + 2, 'status reports after the swap', 20000);
    const after = statuses[statuses.length - 1];
    assert.equal(after.frames, r2.frames);
    assert.ok(after.synthesized > before, `the engine kept counting (${before} -> ${after.synthesized}): it was not restarted`);
    assert.deepEqual(ends, [], 'the stream never ended');
    // Two requests at once: each is answered, the newer one plays (the older is overtaken, or took effect first).
    const [o1, o2] = await Promise.all([live.start({ ...base, a: { path: tiny.fileA, start: 0.25 } }), live.start({ ...base, a: { path: tiny.fileA, start: 0.35 } })]);
    assert.ok(o1.ok ? o1.updated : o1.superseded, `the first of two: ${JSON.stringify(o1)}`);
    assert.ok(o2.ok && o2.updated, `the second of two: ${JSON.stringify(o2)}`);
    // An excerpt that cannot be encoded is not swapped in: one line says why, and the stream goes on as it was.
    const bad = await live.start({ ...base, a: { path: join(root, 'missing.wav'), start: 0 } });
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.message, /missing\.wav: file not found/);
    assert.equal(!bad.ok && bad.playing, true, 'the stream plays on');
    const k = statuses.length;
    await until(() => String(statuses.length), (m) => Number(m) > k + 2, 'status reports after the refused update', 20000);
    assert.ok(statuses.at(-1)!.synthesized > after.synthesized, 'still the same stream, still playing');
    assert.equal(statuses.at(-1)!.frames, o2.ok ? o2.frames : -1, 'with the excerpts it had');
    assert.deepEqual(ends, []);
    // A different output device needs a new stream: a restart, not an update.
    const r3 = await live.start({ ...base, deviceId: 0 });
    if (r3.ok) assert.equal(r3.updated, false);
  } finally {
    await live.close();
  }
});

/** A LiveWorker that records every start request and its answer. */
class RecordingLive extends LiveWorker {
  readonly calls: { params: LiveStartParams; result: LiveStartResult }[] = [];
  override async start(params: LiveStartParams): Promise<LiveStartResult> {
    const result = await super.start(params);
    this.calls.push({ params, result });
    return result;
  }
}

test('the instrument: moving and shortening the excerpts while live updates the running stream (never restarted, the device never waits)', async () => {
  const live = new RecordingLive();
  const statuses: { synthesized: number; frames: number; underruns: number }[] = [];
  const ends: unknown[] = [];
  live.onEvent((e) => {
    if (e.type === 'status') statuses.push(e.status);
    if (e.type === 'ended') ends.push(e);
  });
  const svc = services({ live });
  const { frame, press, unmount } = mountApp({ services: svc, dataset: tiny.dir, model: tiny.modelDir, size: { columns: 100, rows: 30 } });
  const SHIFT_RIGHT = '\x1b[1;2C';
  try {
    await until(frame, (s) => s.includes('high') && s.includes('low'), 'the dataset');
    await pickHighAndLow(frame, press);
    await press('\x0c'); // Ctrl-L
    await until(frame, (s) => /● LIVE a 0\.50 \(keys\) frame +\d+\/\d+/.test(s), 'the live line', 60000);
    await until(() => String(statuses.length), (n) => Number(n) > 3, 'status reports', 20000);
    const capFrom = readFloatCapture(captured).length;
    const underrunsFrom = statuses.at(-1)!.underruns;
    assert.equal(live.calls.length, 1);
    const first = live.calls[0].result;
    assert.ok(first.ok && !first.updated, 'the first start opens the stream');
    // Waveform A: shorter excerpts, then move A to the right, key after key (some keys come while an update is in flight).
    await press('\t');
    const keys = ['-', '-', '-', '-', '-', RIGHT, RIGHT, SHIFT_RIGHT, RIGHT];
    for (const k of keys) await press(k);
    const sel = (s: string) => /A  high\.wav +(\d\.\d\d) s–(\d\.\d\d) s/.exec(s);
    // The stream ends up playing exactly what the screen shows: 1.5 s excerpts, A moved.
    const inStream = () => {
      const m = sel(frame());
      const c = live.calls.at(-1);
      return !!m && !!c && c.result.ok && Number(m[1]) > 0.1 && c.params.duration === 1.5 && c.params.a.start.toFixed(2) === m[1];
    };
    await until(() => `${sel(frame())?.[0]}; requests ${JSON.stringify(live.calls.map((c) => [c.params.a.start, c.params.duration]))}`, inStream, 'the stream to play the excerpts shown', 20000);
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(inStream(), `after the keys were handled: ${sel(frame())?.[0]}, last request ${JSON.stringify(live.calls.at(-1)?.params.a)}`);
    const updates = live.calls.slice(1);
    assert.ok(updates.length >= 1, 'at least one update');
    for (const u of updates) assert.ok(u.result.ok && u.result.updated, `every later request was taken in place: ${JSON.stringify(u.result)}`);
    assert.ok(updates.length <= keys.length, `${updates.length} requests for ${keys.length} key presses`);
    const last = live.calls.at(-1)!.result;
    assert.ok(last.ok && last.frames < first.frames, `frames ${first.ok ? first.frames : 0} -> ${last.ok ? last.frames : 0} (1.5 s excerpts)`);
    const n = statuses.length;
    await until(() => String(statuses.length), (k) => Number(k) > n + 3, 'status reports after the updates', 20000);
    // Never restarted: the engine's frame count only grew, the stream never ended, and the live line stayed up.
    for (let i = 1; i < statuses.length; i++) assert.ok(statuses[i].synthesized >= statuses[i - 1].synthesized, `synthesized went back at report ${i}`);
    assert.equal(statuses.at(-1)!.frames, last.ok ? last.frames : -1);
    assert.deepEqual(ends, []);
    assert.match(frame(), /● LIVE a 0\.50 \(keys\) frame +\d+\/\d+/);
    // What the device played meanwhile has no hole (a restart leaves at least a device buffer of silence).
    const cap = readFloatCapture(captured).subarray(capFrom);
    let run = 0;
    let longest = 0;
    for (const v of cap) {
      run = v === 0 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    assert.ok(cap.length > SR / 2, `the device played ${cap.length} samples meanwhile`);
    // (A dropout the device reported, from a starved machine, is not what this checks: the engine did not stop.)
    const dropouts = statuses.at(-1)!.underruns - underrunsFrom;
    assert.ok(longest < SR / 200 || dropouts > 0, `a run of ${longest} zero samples in what the device played, no underrun reported`);
  } finally {
    unmount();
  }
});

/**
 * A LiveWorker in which a stop asked for while the first start is under way reaches the engine only after the
 * engine has answered that start ("started"), and that answer reaches the app after the stop was asked for: the
 * order in which messages cross when Ctrl-L is pressed just as the stream opens.
 */
class OvertakenLive extends LiveWorker {
  private answered!: () => void;
  private readonly firstAnswer = new Promise<void>((r) => (this.answered = r));
  private stopAsked!: () => void;
  private readonly stopped = new Promise<void>((r) => (this.stopAsked = r));
  answers: LiveStartResult[] = [];
  override async start(params: LiveStartParams): Promise<LiveStartResult> {
    const result = await super.start(params);
    this.answers.push(result);
    if (this.answers.length === 1) {
      this.answered();
      await this.stopped;
    }
    return result;
  }
  override async stop(): Promise<void> {
    this.stopAsked();
    await this.firstAnswer;
    await super.stop();
  }
}

test('Ctrl-L while the engine answers a start: the answer the stop overtook does not turn live mode back on', async () => {
  const live = new OvertakenLive();
  const svc = services({ live });
  const { frame, press, unmount } = mountApp({ services: svc, dataset: tiny.dir, model: tiny.modelDir, size: { columns: 100, rows: 30 } });
  try {
    await until(frame, (s) => s.includes('high') && s.includes('low'), 'the dataset');
    await pickHighAndLow(frame, press);
    await press('\x0c'); // Ctrl-L: starts
    await until(frame, (s) => s.includes('● LIVE starting'), 'live mode starting');
    await press('\x0c'); // Ctrl-L again, before the start's answer is shown: stops
    // The stop reaches the engine once the start has been answered: a whole start (encoding, opening the device).
    const f = await until(frame, (s) => s.includes('live mode stopped'), 'the stop', 60000);
    assert.equal(live.answers.length, 1);
    assert.ok(live.answers[0].ok, `the engine started before it took the stop: ${JSON.stringify(live.answers[0])}`);
    // Give the overtaken answer time to reach the screen if it were going to.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!frame().includes('● LIVE'), `no live line after the stop:\n${frame()}`);
    assert.ok(!frame().split('\n')[0].includes('LIVE'), `the status line does not say live: ${frame().split('\n')[0]}`);
    assert.ok(f.includes('live mode stopped'));
  } finally {
    unmount();
  }
});

test('80x24: the live line and the MIDI panel fit', async () => {
  let s: AppState = initialState({ dataset: '/d', model: '/m', columns: 80, rows: 24 });
  s = reducer(s, { type: 'live-started', frames: 689, latencyMs: 23.2 });
  s = reducer(s, { type: 'live-knob', value: 0.9, source: 'midi' });
  s = reducer(s, { type: 'live-status', position: 120, frames: 689, amount: 0.9, underruns: 2 });
  // An update in place (new excerpts swapped in) keeps the position and the underrun count; a refused one changes nothing.
  const u = reducer(reducer(s, { type: 'live-starting' }), { type: 'live-started', frames: 400, latencyMs: 23.2, updated: true });
  assert.deepEqual([u.live.on, u.live.starting, u.live.position, u.live.frames, u.live.underruns], [true, false, 120, 400, 2]);
  const kept = reducer(reducer(s, { type: 'live-starting' }), { type: 'live-kept' });
  assert.deepEqual(kept.live, s.live);
  s = reducer(s, { type: 'midi-status', available: true, reason: null, ports: ['nanoKONTROL2 MIDI 1', 'Launch Control XL'], open: 'nanoKONTROL2 MIDI 1' });
  s = reducer(s, { type: 'midi-mappings', mappings: [{ param: 'amount', source: 'CC 1 ch 1', min: -0.3, max: 1.3, mode: 'absolute' }], learning: null });
  const draw = (st: AppState) => {
    const term = new Terminal(80, 24);
    const inst = inkRender(React.createElement(Screen, { state: st, waves: {} }), { stdout: term as unknown as NodeJS.WriteStream, debug: true, patchConsole: false });
    const f = term.lastFrame();
    inst.unmount();
    return f;
  };
  let f = draw(s);
  const lines = f.split('\n');
  assert.equal(lines.length, 23);
  for (const l of lines) assert.ok([...l].length <= 80, `line wider than 80: '${l}'`);
  assert.match(lines[0], /LIVE · MIDI nanoKONTROL2 MID/);
  assert.match(lines[21], /^ ● LIVE a 0\.90 \(MIDI CC 1 ch 1\) frame 121\/689 ▕.{8}▏ loop · xruns 2/);
  s = reducer(s, { type: 'overlay', overlay: { kind: 'midi', index: 2 } });
  f = draw(s);
  for (const l of f.split('\n')) assert.ok([...l].length <= 80, `line wider than 80: '${l}'`);
  assert.match(f, /● 0: nanoKONTROL2 MIDI 1/);
  assert.match(f, /amount a \(absolute\) +CC 1 ch 1 +-0\.3\.\.1\.3/);
  assert.match(f, /start of B +—/);
  assert.match(f, /Generate & Play +—/);
});
