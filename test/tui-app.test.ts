/**
 * The instrument's components with the real services on a small generated
 * dataset: the engine's dataset scanner and audio reader, the render worker
 * (with a model folder that does not exist, so its error path is shown) and
 * the PortAudio output child with an ALSA configuration that has no device.
 * Rendering goes through Ink into an in-memory terminal of a chosen size
 * (ink-testing-library for the default 100 columns; our own stdout for
 * 80x24 and resizing).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import React from 'react';
import { render as testRender } from 'ink-testing-library';
import { writeWav } from '../src/io/wav.ts';
import { mountApp, until } from './tui-terminal.ts';
import { App, type AppProps } from '../src/tui/App.tsx';
import { lazyAudioOutput, lazyRenderWorker, loadWaveform, scanForBrowser, type RenderService, type TuiServices } from '../src/tui/services.ts';
import type { PrepareParams } from '../src/engine/render-worker.ts';
import { DEFAULT_MODEL_DIR } from '../src/paths.ts';
import type { AppState } from '../src/tui/state.ts';

const root = mkdtempSync(join(tmpdir(), 'lts-tui-app-'));
const dataset = join(root, 'sounds');
mkdirSync(join(dataset, 'noises'), { recursive: true });
const SR = 22050;
const tone = new Float32Array(2 * SR).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 220 * i) / SR));
let seed = 7;
const noise = new Float32Array(3 * SR).map(() => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return (seed / 2 ** 32 - 0.5) * 0.8;
});
const chirp = new Float32Array(Math.round(1.5 * SR)).map((_, i) => 0.7 * Math.sin(2 * Math.PI * (100 + 400 * (i / SR)) * (i / SR)));
writeWav(join(dataset, 'tone-220.wav'), tone, SR);
writeWav(join(dataset, 'noises', 'white-noise.wav'), noise, SR);
writeWav(join(dataset, 'chirp.wav'), chirp, SR);
writeFileSync(join(dataset, 'broken.wav'), 'RIFF this is not audio at all');
// An ALSA configuration whose default device writes what it plays to a file (ALSA's file plugin
// over the null device): a real PortAudio playback path on a machine without a sound card.
const captured = join(root, 'played.raw');
const alsaFileConf = join(root, 'asound-file.conf');
writeFileSync(alsaFileConf, `pcm.!default {\n  type file\n  slave.pcm { type null }\n  file "${captured}"\n  format "raw"\n}\n`);

const services: TuiServices[] = [];
const extraServices: TuiServices[] = [];
const extraRenderers: RenderService[] = [];
/** One set of real services shared by every mounted app (the render worker and audio child start once). */
function makeServices(): TuiServices {
  if (services.length) return services[0];
  const s: TuiServices = {
    scanDataset: scanForBrowser,
    loadAudio: loadWaveform,
    renderer: lazyRenderWorker('cpu'),
    audio: lazyAudioOutput({ ALSA_CONFIG_PATH: join(root, 'missing-alsa.conf') }),
    presetsDir: join(root, 'presets'),
    rendersDir: join(root, 'renders'),
  };
  mkdirSync(s.presetsDir, { recursive: true });
  services.push(s);
  return s;
}

after(async () => {
  for (const s of [...services, ...extraServices]) {
    s.audio.close();
    await s.renderer.close();
  }
  for (const r of extraRenderers) await r.close();
  rmSync(root, { recursive: true, force: true });
});

function mount(columns: number, rows: number, extra: Partial<AppProps> = {}) {
  const props: AppProps = { services: makeServices(), dataset, model: join(root, 'no-such-model'), ...extra };
  return mountApp(props, columns, rows);
}

function assertFits(frame: string, columns: number, rows: number) {
  const lines = frame.split('\n');
  // One line short of the terminal, so that Ink rewrites only changed lines (see layout.ts).
  assert.equal(lines.length, rows - 1, `screen has ${rows - 1} lines`);
  for (const l of lines) assert.ok([...l].length <= columns, `line wider than ${columns}: '${l}'`);
}

const LEFT = '\x1b[D';
const RIGHT = '\x1b[C';
const DOWN = '\x1b[B';
const UP = '\x1b[A';
const TAB = '\t';
const ESC = '\x1b';

test('80x24: lists the dataset, assigns A and B, draws waveforms, edits the curve, shows help, explains errors', async () => {
  const { press, frame, unmount, term } = mount(80, 24);
  let f = await until(frame, (s) => s.includes('tone-220'), 'the dataset list');
  assertFits(f, 80, 24);
  assert.match(f, /Dataset 3/);
  assert.match(f, /chirp +1\.5s +22\.05k/);
  assert.match(f, /noises\/whi… +3\.0s/);
  assert.match(f, /1 unreadable file skipped: broken\.wav/);

  // Filter, then assign the match to A; clear, move down, assign to B.
  await press('noi');
  f = await until(frame, (s) => s.includes('Dataset 1/3'), 'the filtered list');
  assert.ok(!f.includes('chirp'));
  await press(LEFT);
  f = await until(frame, (s) => s.includes('A  noises/white-noise.wav'), 'slot A');
  await press(ESC);
  await press(DOWN);
  await press(DOWN);
  await press(RIGHT);
  f = await until(frame, (s) => s.includes('B  tone-220.wav') && /⣿/.test(s), 'slot B with its waveform');
  assertFits(f, 80, 24);
  // The shared duration fits the shorter file (tone: 2 s) and the selection is shown in the titles.
  assert.match(f, /A  noises\/white-noise\.wav +0\.00 s–2\.00 s/);
  const lines = f.split('\n');
  const aTitle = lines.findIndex((l) => l.includes('A  noises/white-noise.wav'));
  // The noise fills the view up to its end (3 s): braille in the waveform rows.
  assert.ok(/[⡀-⣿]{20}/.test(lines[aTitle + 2]), 'waveform A is drawn');

  // Waveform panel: longer excerpt (+) is limited to 2 s by the tone; shorter works.
  await press(TAB);
  await press('---');
  f = await until(frame, (s) => s.includes('0.00 s–1.70 s'), 'shorter excerpt');
  await press('f');
  f = await until(frame, (s) => /zoom 1\.8×/.test(s), 'zoom to the selection');

  // Curve: Tab twice more, raise the value at the cursor.
  await press(TAB + TAB);
  await press(UP);
  f = await until(frame, (s) => s.includes('a 0.55'), 'curve value at the cursor');
  assert.match(f, /Curve  t 0\.00 s/);
  await press('\x1b[5~'); // PgUp: coarse
  await press('\x1b[5~');
  await press('\x1b[5~');
  f = await until(frame, (s) => s.includes('a 1.30 beyond A'), 'extrapolation beyond A');

  // Help overlay lists the keys, Esc closes it.
  await press('?');
  f = await until(frame, (s) => s.includes('Everywhere') && s.includes('Ctrl-G'), 'help');
  assertFits(f, 80, 24);
  await press(ESC);
  f = await until(frame, (s) => s.includes('Curve  t'), 'help closed');

  // Generate with a model folder that does not exist: a one-line error, no crash.
  await press('\x07'); // Ctrl-G
  f = await until(frame, (s) => /model .*no-such-model/.test(s), 'model error');
  assertFits(f, 80, 24);

  // Resize: the layout follows.
  term.resize(120, 40);
  f = await until(frame, (s) => s.split('\n').length === 39, 'the 120x40 layout');
  assertFits(f, 120, 40);
  assert.match(f, /A  noises\/white-noise\.wav/);
  // Too small to draw the panels: a notice instead of a broken screen; back to 80x24 restores them.
  term.resize(50, 15);
  f = await until(frame, (s) => s.includes('terminal 50×15 is too small'), 'the too-small notice');
  term.resize(80, 24);
  f = await until(frame, (s) => s.includes('A  noises/white-noise.wav'), 'the panels again');
  assertFits(f, 80, 24);
  unmount();
});

test('the chosen excerpts are encoded ahead of Generate & Play once the choice rests, again when it changes', async () => {
  const real = lazyRenderWorker('wasm');
  const calls: PrepareParams[] = [];
  // The real render worker, with its prepare calls recorded on the way through.
  const renderer: RenderService = { ...real, prepare: async (p) => (calls.push(p), real.prepare!(p)) };
  extraRenderers.push(real);
  const { press, frame, unmount } = mountApp({ services: { ...makeServices(), renderer }, dataset, model: DEFAULT_MODEL_DIR }, 80, 24);
  try {
    await until(frame, (s) => s.includes('tone-220') && s.includes('default ·'), 'the dataset and the model');
    await press(LEFT);
    await until(frame, (s) => s.includes('A  chirp.wav'), 'slot A');
    await press(DOWN);
    await press(DOWN);
    await press(RIGHT);
    await until(frame, (s) => s.includes('B  tone-220.wav'), 'slot B');
    const settled = async (n: number) => {
      for (const t0 = Date.now(); calls.length < n; ) {
        if (Date.now() - t0 > 20_000) assert.fail(`${calls.length} prepare calls, expected ${n}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 600)); // and no more after the delay
      return calls.length;
    };
    assert.equal(await settled(1), 1, 'one call once A and B rest, not one per key');
    assert.deepEqual(calls[0], {
      model: DEFAULT_MODEL_DIR, a: { path: join(dataset, 'chirp.wav'), start: 0 }, b: { path: join(dataset, 'tone-220.wav'), start: 0 }, duration: 1.5, sample: false,
    });
    // A shorter excerpt: prepared again with the new duration.
    await press(TAB);
    await press('-');
    await until(frame, (s) => s.includes('0.00 s–1.40 s'), 'shorter excerpt');
    assert.equal(await settled(2), 2);
    assert.equal(calls[1].duration, 1.4);
    // Generate & Play renders the prepared excerpts.
    await press('\x07');
    await until(frame, (s) => /rendered render-\d+\.wav/.test(s), 'the render');
  } finally {
    unmount();
  }
});

test('no audio device: said once, auditioning explains itself; Ctrl-S without a render explains itself; presets save and load', async () => {
  const { press, frame, unmount } = mount(80, 24);
  let f = await until(frame, (s) => s.includes('no audio device'), 'the no-device notice', 30000);
  assert.match(f, /out file only/);
  await press(DOWN);
  await press('\r'); // audition chirp? (second entry after sorting: broken is skipped) -> cannot play
  f = await until(frame, (s) => /cannot play/.test(s), 'audition notice');
  await press('\x13'); // Ctrl-S
  f = await until(frame, (s) => s.includes('nothing rendered yet'), 'save notice');

  // Presets: save the curve by name, reset it, load it back from the picker.
  await press(TAB + TAB + TAB);
  await press('1');
  await until(frame, (s) => s.includes('a 1.00'), 'value 1 at the cursor');
  await press('w');
  await until(frame, (s) => s.includes('Save the curve as preset'), 'the preset prompt');
  await press('my-ramp');
  await press('\r');
  f = await until(frame, (s) => s.includes('preset saved'), 'the preset notice');
  const saved = JSON.parse(readFileSync(join(root, 'presets', 'my-ramp.curve.json'), 'utf8'));
  assert.equal(saved.kind, 'lts-curve');
  assert.equal(saved.points[0][1], 1);
  await press('r');
  await until(frame, (s) => s.includes('a 0.50'), 'reset curve');
  await press('p');
  f = await until(frame, (s) => s.includes('Curve presets') && s.includes('my-ramp'), 'the preset picker');
  assertFits(f, 80, 24);
  await press('\r');
  await until(frame, (s) => s.includes('a 1.00') && s.includes('preset my-ramp loaded'), 'the loaded preset');
  unmount();
});

test('the session restores files, selections and the curve (ink-testing-library, 100 columns)', async () => {
  let saved: AppState | null = null;
  const first = testRender(
    React.createElement(App, {
      services: makeServices(),
      dataset,
      model: join(root, 'no-such-model'),
      size: { columns: 100, rows: 30 },
      onChange: (s: AppState) => (saved = s),
    }),
  );
  const frame1 = () => stripVTControlCharacters(first.lastFrame() ?? '');
  await until(frame1, (s) => s.includes('tone-220'), 'list');
  first.stdin.write(DOWN);
  await new Promise((r) => setTimeout(r, 20));
  first.stdin.write(LEFT);
  await until(frame1, (s) => s.includes('A  noises/white-noise.wav'), 'A assigned');
  first.stdin.write('\t');
  await new Promise((r) => setTimeout(r, 20));
  first.stdin.write('\x1b[1;2C'); // Shift-Right: 10 columns
  await until(frame1, (s) => /A  noises\/white-noise\.wav +0\.[1-9]\d s–/.test(s), 'selection moved');
  // onChange runs in an effect after the frame is committed.
  await until(() => JSON.stringify((saved as AppState | null)?.slots.A?.start ?? 0), (x) => Number(x) > 0, 'the change reaching onChange', 5000);
  const s = saved as unknown as AppState;
  assert.equal(s.slots.A?.relPath, 'noises/white-noise.wav');
  const start = s.slots.A?.start ?? 0;
  assert.ok(start > 0, 'selection moved right');
  first.unmount();

  const second = testRender(
    React.createElement(App, {
      services: makeServices(),
      dataset,
      model: join(root, 'no-such-model'),
      size: { columns: 100, rows: 30 },
      restore: {
        slots: { A: { path: s.slots.A!.path, start }, B: null },
        duration: s.duration,
        curve: { values: [1, 0], range: [-1.3, 1.3] },
        settings: { normalize: false, method: 'fgla', iterations: 8, deviceId: null },
        lastRender: null,
        live: null,
      },
    }),
  );
  const frame2 = () => stripVTControlCharacters(second.lastFrame() ?? '');
  const f = await until(frame2, (x) => x.includes('A  noises/white-noise.wav'), 'restored slot');
  assert.match(f, new RegExp(`A  noises/white-noise\\.wav +${start.toFixed(2)} s`));
  assert.match(f, /Norm off │ fgla ×8/);
  assert.match(f, /a 1\.00/, 'the restored curve starts at 1');
  second.unmount();
});

test('with an output device: the picker lists it, choosing it shows in the transport, Enter plays the file through PortAudio', async () => {
  const svc: TuiServices = { ...makeServices(), audio: lazyAudioOutput({ ALSA_CONFIG_PATH: alsaFileConf }) };
  extraServices.push(svc);
  const { press, frame, unmount, term } = mount(80, 24, { services: svc });
  await until(frame, (s) => s.includes('tone-220') && s.includes('out default'), 'the list and the audio status', 30000);
  await press('\x0f'); // Ctrl-O
  let f = await until(frame, (s) => s.includes('Audio output (Enter selects)'), 'the device picker');
  assertFits(f, 80, 24);
  const deviceLine = f.split('\n').find((l) => l.includes('(default)'));
  assert.ok(deviceLine, 'the default device is marked');
  const name = deviceLine.replace(/[│╭╮╰╯]/g, '').trim().replace(/\s+\(default\)$/, '');
  await press('\r');
  f = await until(frame, (s) => s.includes(`audio output: ${name}`), 'the chosen device');
  assert.ok(f.includes(`out ${name}`.slice(0, 20)), 'the transport names the device');
  // Audition tone-220 (third in the list): it plays, then the playing line goes away.
  await press(DOWN + DOWN);
  await press('\r');
  // The null device plays faster than real time: look for the playing line in every frame drawn.
  const everShown = () =>
    term.frames.some((fr) => stripVTControlCharacters(fr).includes('♪ playing tone-220.wav')) ? 'yes' : frame();
  await until(everShown, (x) => x === 'yes', 'the playing line', 40000);
  await until(frame, (s) => !s.includes('♪ playing'), 'the end of playback', 20000);
  const bytes = existsSync(captured) ? readFileSync(captured).length : 0;
  assert.ok(bytes >= 2 * 22050 * 2, `the device received at least 2 s of 16-bit audio (${bytes} bytes)`);
  unmount();
});

test('a cut-off file: the waveform shows what is there and the status line says the file is cut off, by its name', async () => {
  const cutDir = join(root, 'cut-sounds');
  mkdirSync(cutDir, { recursive: true });
  const whole = join(cutDir, 'take.wav');
  writeWav(whole, tone, SR);
  // The recorder stopped at 1.2 s of 2 s: the header still promises 2 s.
  writeFileSync(whole, readFileSync(whole).subarray(0, 44 + 2 * Math.round(1.2 * SR)));
  const { press, frame, unmount } = mount(120, 30, { dataset: cutDir });
  await until(frame, (s) => s.includes('no audio device'), 'the no-device notice', 30000);
  await press(LEFT);
  const f = await until(frame, (s) => s.includes('A  take.wav') && s.includes('cut off'), 'slot A and the warning');
  assert.match(f, /take\.wav: the file is cut off: its header promises 2\.00 s, it holds 1\.20 s/);
  assert.ok(!f.includes(cutDir), 'named by its file name, not its full path');
  assert.match(f, /A  take\.wav +0\.00 s–1\.20 s/);
  unmount();
});

test('excerpt limits follow the decoded length: a file of 0.9998 s allows 0.99 s, never 1.00 s, and the render works', async () => {
  const dir = join(root, 'odd-sounds');
  mkdirSync(dir, { recursive: true });
  const odd = new Float32Array(44089).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 330 * i) / 44100));
  const long = new Float32Array(2 * 44100).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 220 * i) / 44100));
  writeWav(join(dir, 'odd.wav'), odd, 44100);
  writeWav(join(dir, 'long.wav'), long, 44100);
  const real = lazyRenderWorker('wasm');
  extraRenderers.push(real);
  const { press, frame, unmount } = mountApp({ services: { ...makeServices(), renderer: real }, dataset: dir, model: DEFAULT_MODEL_DIR }, 220, 30);
  try {
    await until(frame, (s) => s.includes('odd') && s.includes('default ·'), 'the dataset and the model', 60000);
    await press(DOWN);
    await press(LEFT);
    await press(UP);
    await press(RIGHT);
    let f = await until(frame, (s) => s.includes('A  odd.wav') && s.includes('B  long.wav') && (s.match(/⣿/g) ?? []).length > 10, 'both slots and waveforms');
    assert.match(f, /A  odd\.wav +0\.00 s–0\.99 s/, 'the excerpt is limited to what the file holds, rounded down');
    await press(TAB);
    await press('++++');
    await press('\x1b[1;2C'); // Shift-Right: try to move the selection past the end
    f = frame();
    assert.match(f, /A  odd\.wav +0\.0\d s–(0\.99|1\.00) s/);
    assert.ok(!/A  odd\.wav +0\.00 s–1\.00 s/.test(f), `+ never allows 1.00 s: ${f}`);
    await press('\x07'); // Ctrl-G
    f = await until(frame, (s) => /rendered render-\d+\.wav|render failed/.test(s), 'the render', 120000);
    assert.match(f, /rendered render-\d+\.wav/, 'the render of the longest allowed excerpt works');

  } finally {
    unmount();
  }
});

test('a cut-off FLAC: the list and the slot take the decoded length, not the header\'s, and + stops there', async () => {
  const dir = join(root, 'cut-flac');
  mkdirSync(dir, { recursive: true });
  const wav = join(root, 'whole.wav');
  writeWav(wav, new Float32Array(2 * 44100).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 44100)), 44100);
  execFileSync('sox', [wav, join(root, 'whole.flac')]);
  writeFileSync(join(dir, 'trunc.flac'), readFileSync(join(root, 'whole.flac')).subarray(0, 3000));
  writeWav(join(dir, 'zlong.wav'), new Float32Array(2 * 44100).fill(0.1), 44100);
  const { press, frame, unmount } = mount(100, 30, { dataset: dir });
  try {
    let f = await until(frame, (s) => s.includes('trunc') && s.includes('zlong'), 'the list');
    assert.match(f, /trunc +2\.0s/, 'before decoding, the header\'s length');
    await press(LEFT);
    await press(DOWN);
    await press(RIGHT);
    f = await until(frame, (s) => /A  trunc\.flac +0\.00 s–0\.1\d s/.test(s), 'slot A limited to the decoded length');
    const decoded = (await loadWaveform(join(dir, 'trunc.flac'))).duration;
    assert.ok(decoded < 0.3, `the FLAC is cut off (${decoded} s)`);
    const shown = Math.floor(decoded * 100) / 100;
    assert.match(f, new RegExp(`A  trunc\\.flac +0\\.00 s–${shown.toFixed(2).replace('.', '\\.')} s`));
    assert.match(f, /trunc +0\.2s/, 'the list shows the decoded length');
    await press(TAB);
    await press('+++');
    assert.match(frame(), new RegExp(`A  trunc\\.flac +0\\.00 s–${shown.toFixed(2).replace('.', '\\.')} s`), '+ stops at the decoded length');
  } finally {
    unmount();
  }
});

test('a file that cannot be decoded: the slot says so instead of loading forever, and another file can be chosen', async () => {
  const dir = join(root, 'nan-sounds');
  mkdirSync(dir, { recursive: true });
  // A float WAV whose header is fine (the scanner lists it) but whose samples are NaN.
  writeWav(join(dir, 'bad.wav'), new Float32Array(SR).fill(0.25), SR, { encoding: 'float32' });
  const bytes = readFileSync(join(dir, 'bad.wav'));
  const dataAt = bytes.indexOf('data') + 8;
  for (let i = dataAt; i + 4 <= bytes.length; i += 4) bytes.writeFloatLE(NaN, i);
  writeFileSync(join(dir, 'bad.wav'), bytes);
  writeWav(join(dir, 'good.wav'), tone, SR);
  const { press, frame, unmount } = mount(100, 30, { dataset: dir });
  try {
    await until(frame, (s) => s.includes('bad') && s.includes('good'), 'the list');
    await press(LEFT);
    let f = await until(frame, (s) => s.includes('A  bad.wav') && s.includes('cannot read'), 'the unreadable slot');
    assert.ok(!f.includes('loading…'), 'no longer loading');
    await press(DOWN);
    await press(LEFT);
    f = await until(frame, (s) => s.includes('A  good.wav') && /⣿/.test(s), 'another file in slot A');
    assert.ok(!f.includes('cannot read'));
  } finally {
    unmount();
  }
});

test('file names with control characters are drawn escaped, wide characters keep the columns aligned', async () => {
  const dir = join(root, 'odd-names');
  mkdirSync(dir, { recursive: true });
  const short = new Float32Array(SR).map((_, i) => 0.4 * Math.sin((2 * Math.PI * 440 * i) / SR));
  const names = ['\x1b[31mred.wav', 'new\nline.wav', 'tab\there.wav', '日本語の音.wav', 'plain.wav'];
  for (const n of names) writeWav(join(dir, n), short, SR);
  const { press, frame, unmount, term } = mount(80, 24, { dataset: dir });
  try {
    let f = await until(frame, (s) => s.includes('plain') && s.includes('Dataset 5'), 'the list');
    assertFits(f, 80, 24);
    assert.ok(f.includes('␛[31mred'), 'the escape is shown as ␛');
    assert.ok(f.includes('new␊line'), 'the newline is shown as ␊');
    assert.ok(f.includes('tab␉here'), 'the tab is shown as ␉');
    // The raw frame carries no escape sequence from a file name (Ink's own colours are fine).
    const raw = term.frames[term.frames.length - 1];
    assert.ok(!raw.includes('\x1b[31mred'), 'the file name did not colour the screen');
    // Every list row ends its panel at the same terminal column (CJK characters take two cells).
    const cellsOf = (l: string) => [...l].reduce((n, c) => n + (/[\u3040-\u9fff]/.test(c) ? 2 : 1), 0);
    const rows = f.split('\n').filter((l) => /\d\.\ds +22\.05k│/.test(l));
    assert.equal(rows.length, 5, f);
    const ends = rows.map((l) => cellsOf(l.slice(0, l.indexOf('│') + 1)));
    assert.deepEqual(ends, new Array(5).fill(ends[0]), `list rows: ${rows.join('\n')}`);
    // Chosen into a slot: the title line shows the escaped name, and the screen keeps its 23 lines.
    const newline = rows.findIndex((l) => l.includes('new␊line'));
    for (let i = 0; i < newline; i++) await press(DOWN);
    await press(LEFT);
    f = await until(frame, (s) => s.includes('A  new␊line.wav'), 'slot A with the escaped name');
    assertFits(f, 80, 24);
    assert.match(f.split('\n')[0], /^ LTS │/, 'the status line is still the first line');
  } finally {
    unmount();
  }
});

test('Ctrl-S save as into a missing folder or a file\'s place: one line naming the destination and the fix', async () => {
  const real = lazyRenderWorker('wasm');
  extraRenderers.push(real);
  const { press, frame, unmount } = mountApp({ services: { ...makeServices(), renderer: real }, dataset, model: DEFAULT_MODEL_DIR }, 220, 30);
  try {
    await until(frame, (s) => s.includes('tone-220') && s.includes('default ·'), 'the dataset and the model', 60000);
    await press(LEFT);
    await press(DOWN);
    await press(DOWN);
    await press(RIGHT);
    await until(frame, (s) => s.includes('A  chirp.wav') && s.includes('B  tone-220.wav'), 'both slots');
    await press('\x07'); // Ctrl-G
    let f = await until(frame, (s) => /rendered render-\d+\.wav|render failed/.test(s), 'the render', 120000);
    assert.match(f, /rendered render-\d+\.wav/);

    // Save as into a missing folder, then into a file's place: one line naming the destination and the fix.
    const missing = join(root, 'no-such-folder', 'sub', 'take.wav');
    await press('\x13'); // Ctrl-S
    await until(frame, (s) => s.includes('Save the last render as'), 'the save prompt');
    await press('\x15'); // Ctrl-U clears the suggested name
    await press(missing);
    await press('\r');
    f = await until(frame, (s) => s.includes('cannot save as'), 'the save error');
    assert.ok(f.includes(`folder ${join(root, 'no-such-folder', 'sub')} does not exist; create it first or choose another place`), f);
    assert.ok(!/\.tmp|ENOENT/.test(f), 'no temporary file name, no raw error code');
    const blocker = join(root, 'a-file');
    writeFileSync(blocker, 'x');
    await press('\x13');
    await until(frame, (s) => s.includes('Save the last render as'), 'the save prompt');
    await press('\x15');
    await press(join(blocker, 'take.wav'));
    await press('\r');
    f = await until(frame, (s) => s.includes('is a file, not a folder'), 'the second save error');
    assert.ok(!/\.tmp|ENOTDIR/.test(f));
    // And a good place works.
    await press('\x13');
    await until(frame, (s) => s.includes('Save the last render as'), 'the save prompt');
    await press('\x15');
    await press(join(root, 'kept.wav'));
    await press('\r');
    await until(frame, (s) => s.includes('saved '), 'the saved notice');
    assert.ok(existsSync(join(root, 'kept.wav')));
  } finally {
    unmount();
  }
});
