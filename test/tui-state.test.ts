/**
 * The instrument's reducer and key map: every edit a key can make, driven
 * through `commandForKey` exactly as the app does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Key } from 'ink';
import { commandForKey, hintFor, isEffect, KEYMAP, splitKeys } from '../src/tui/keys.ts';
import {
  initialState,
  reducer,
  filteredFiles,
  restorable,
  MIN_DURATION,
  type Action,
  type AppState,
  type DatasetEntry,
} from '../src/tui/state.ts';

const NO_KEY: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};
const k = (over: Partial<Key> = {}): Key => ({ ...NO_KEY, ...over });

/** Press a key: map it like the app and apply the resulting action (effects are returned). */
function press(s: AppState, input: string, key: Partial<Key> = {}): { state: AppState; effect?: string } {
  const c = commandForKey(s, input, k(key));
  if (c === null) return { state: s };
  if (isEffect(c)) return { state: s, effect: c.effect };
  return { state: reducer(s, c) };
}

function typeKeys(s: AppState, keys: [string, Partial<Key>?][]): AppState {
  for (const [input, key] of keys) s = press(s, input, key).state;
  return s;
}

const FILES: DatasetEntry[] = [
  { path: '/d/cello.wav', relPath: 'cello.wav', duration: 6, sampleRate: 44100, channels: 1 },
  { path: '/d/flute.wav', relPath: 'flute.wav', duration: 3, sampleRate: 44100, channels: 1 },
  { path: '/d/voice/speech-1.wav', relPath: 'voice/speech-1.wav', duration: 10, sampleRate: 48000, channels: 2 },
];

function loaded(columns = 80, rows = 24): AppState {
  const s = initialState({ dataset: '/d', model: '/m', columns, rows });
  return reducer(s, { type: 'dataset-loaded', files: FILES, skipped: [] });
}

test('typing filters the list only in the dataset panel; arrows assign A and B', () => {
  let s = loaded();
  s = typeKeys(s, [['v'], ['o'], ['i']]);
  assert.equal(s.dataset.filter, 'voi');
  assert.deepEqual(filteredFiles(s).map((f) => f.relPath), ['voice/speech-1.wav']);
  s = press(s, '', { leftArrow: true }).state;
  assert.equal(s.slots.A?.path, '/d/voice/speech-1.wav');
  s = press(s, '', { escape: true }).state;
  assert.equal(s.dataset.filter, '');
  s = typeKeys(s, [['', { downArrow: true }], ['', { rightArrow: true }]]);
  assert.equal(s.slots.B?.path, '/d/flute.wav');
  // Duration 2 s fits both (flute is 3 s).
  assert.equal(s.duration, 2);
  // Letters in another panel do not reach the filter.
  s = press(s, '', { tab: true }).state;
  assert.equal(s.focus, 'waveA');
  s = press(s, 'q').state;
  assert.equal(s.dataset.filter, '');
  // Shift-Tab goes back.
  assert.equal(press(s, '', { tab: true, shift: true }).state.focus, 'dataset');
});

test('the shared duration is limited by the shorter file, and selections stay inside their files', () => {
  let s = loaded();
  s = reducer(s, { type: 'assign', slot: 'A', entry: FILES[0] });
  s = reducer(s, { type: 'assign', slot: 'B', entry: FILES[1] });
  s = reducer(s, { type: 'focus', panel: 'waveA' });
  for (let i = 0; i < 30; i++) s = press(s, '+').state;
  assert.equal(s.duration, 3, 'limited by flute (3 s)');
  s = press(s, '', { end: true }).state;
  assert.equal(s.slots.A?.start, 3, 'cello (6 s) selection ends at the end of the file');
  for (let i = 0; i < 50; i++) s = press(s, '-').state;
  assert.equal(s.duration, MIN_DURATION);
  // Move the selection right by one column: the view is the whole file (6 s over plotWidth columns).
  s = press(s, '', { home: true }).state;
  s = press(s, '', { rightArrow: true }).state;
  const step = 6 / s.layout.plotWidth;
  assert.ok(Math.abs((s.slots.A?.start ?? 0) - Math.round(step * 1000) / 1000) < 1e-9);
  s = press(s, '', { rightArrow: true, shift: true }).state;
  assert.ok(Math.abs((s.slots.A?.start ?? 0) - 11 * step) < 2e-3);
  // Assigning a shorter file shortens the duration with a notice.
  s = reducer(s, { type: 'duration-change', delta: 10 });
  assert.equal(s.duration, 3);
  const short: DatasetEntry = { path: '/d/blip.wav', relPath: 'blip.wav', duration: 1.5, sampleRate: 44100, channels: 1 };
  s = reducer(s, { type: 'assign', slot: 'B', entry: short });
  assert.equal(s.duration, 1.5);
  assert.match(s.message?.text ?? '', /shortened to 1\.50 s/);
});

test('zoom: in and out around the selection, fit to the selection, whole file', () => {
  let s = loaded();
  s = reducer(s, { type: 'assign', slot: 'A', entry: FILES[2] }); // 10 s
  s = reducer(s, { type: 'focus', panel: 'waveA' });
  s = press(s, '', { rightArrow: true, shift: true }).state;
  const start = s.slots.A!.start;
  s = press(s, 'f').state;
  assert.deepEqual(s.slots.A!.view, [start, start + 2], 'fit = exactly the selection, aligned with the curve');
  s = press(s, 'a').state;
  assert.deepEqual(s.slots.A!.view, [0, 10]);
  s = press(s, 'z').state;
  const v = s.slots.A!.view;
  assert.ok(Math.abs(v[1] - v[0] - 5) < 1e-9, 'zoom in halves the view');
  assert.ok(v[0] <= start && v[1] >= start + 2, 'the selection stays visible');
  s = press(s, 'x').state;
  s = press(s, 'x').state;
  assert.deepEqual(s.slots.A!.view, [0, 10], 'zoom out stops at the whole file');
});

test('curve keys: fine and coarse steps, clamping to the range, breakpoint line, smooth, reset, range', () => {
  let s = loaded();
  s = reducer(s, { type: 'focus', panel: 'curve' });
  const n = s.curve.values.length;
  assert.equal(n, s.layout.plotWidth, 'one value per plot column');
  s = press(s, '', { upArrow: true }).state;
  assert.equal(s.curve.values[0], 0.55);
  s = press(s, '', { downArrow: true, shift: true }).state;
  assert.equal(s.curve.values[0], 0.54);
  s = press(s, '', { pageUp: true }).state;
  assert.equal(s.curve.values[0], 0.79);
  for (let i = 0; i < 10; i++) s = press(s, '', { pageUp: true }).state;
  assert.equal(s.curve.values[0], 1.3, 'clamped at the top of ±1.3');
  // Breakpoint at column 0 (1.3), value 0 at column 10, line between.
  s = press(s, 'b').state;
  s = typeKeys(s, new Array(10).fill(['', { rightArrow: true }]));
  s = press(s, '0').state;
  s = press(s, 'l').state;
  assert.deepEqual(s.curve.values.slice(0, 11), [1.3, 1.17, 1.04, 0.91, 0.78, 0.65, 0.52, 0.39, 0.26, 0.13, 0]);
  assert.equal(s.curve.mark, 10, 'the cursor becomes the next breakpoint');
  // Shift-right jumps 8 columns; End goes to the last.
  s = press(s, '', { rightArrow: true, shift: true }).state;
  assert.equal(s.curve.cursor, 18);
  s = press(s, '', { end: true }).state;
  assert.equal(s.curve.cursor, n - 1);
  s = press(s, '1').state;
  assert.equal(s.curve.values[n - 1], 1);
  const before = s.curve.values;
  s = press(s, 's').state;
  assert.notDeepEqual(s.curve.values, before);
  assert.equal(s.curve.values[5], before[5], 'a straight stretch is unchanged by smoothing');
  s = press(s, 'v').state;
  assert.deepEqual(s.curve.range, [-0.3, 1.3]);
  s = press(s, 'v').state;
  assert.deepEqual(s.curve.range, [0, 1]);
  assert.ok(s.curve.values.every((v) => v >= 0 && v <= 1), 'values clamped into the new range');
  s = press(s, 'r').state;
  assert.ok(s.curve.values.every((v) => v === 0.5));
  // A line without a breakpoint explains itself.
  assert.match(press(s, 'l').state.message?.text ?? '', /no breakpoint/);
});

test('resizing keeps the curve shape and the cursor position in time', () => {
  let s = loaded(80, 24);
  const n0 = s.curve.values.length;
  s = reducer(s, { type: 'curve-load', values: [0, 1], name: 'ramp' });
  s = reducer(s, { type: 'cursor-jump', to: 'last' });
  s = reducer(s, { type: 'resize', columns: 120, rows: 40 });
  const n1 = s.curve.values.length;
  assert.ok(n1 > n0);
  assert.equal(s.curve.cursor, n1 - 1);
  assert.equal(s.curve.values[0], 0);
  assert.equal(s.curve.values[n1 - 1], 1);
  assert.ok(Math.abs(s.curve.values[Math.round((n1 - 1) / 2)] - 0.5) < 0.02);
});

test('transport: method cycles within what the model supports, iterations step through the offered counts', () => {
  let s = loaded();
  s = reducer(s, { type: 'focus', panel: 'transport' });
  s = reducer(s, { type: 'model-loaded', name: 'm', sampleRate: 44100, transform: 'stft' });
  assert.equal(s.settings.method, 'pghi+agla');
  for (const next of ['pghi+fgla', 'agla', 'fgla', 'pghi']) {
    s = press(s, 'm').state;
    assert.equal(s.settings.method, next);
  }
  assert.equal(press(s, '', { return: true }).effect, 'generate');
  s = press(s, '+').state;
  assert.equal(s.settings.iterations, 64);
  s = typeKeys(s, [['-'], ['-'], ['-']]);
  assert.equal(s.settings.iterations, 8);
  s = press(s, 'n').state;
  assert.equal(s.settings.normalize, false);
  // A constant-Q model offers AGLA and FGLA (no PGHI): 'pghi' falls back to the first, AGLA.
  s = reducer(s, { type: 'model-loaded', name: 'c', sampleRate: 44100, transform: 'cqt' });
  assert.equal(s.settings.method, 'agla');
  assert.equal(press(s, 'm').state.settings.method, 'fgla');
  assert.equal(press(press(s, 'm').state, 'm').state.settings.method, 'agla');
});

test('global keys work in every panel; overlays take every key until closed', () => {
  for (const panel of ['dataset', 'waveA', 'waveB', 'curve', 'transport'] as const) {
    const s = reducer(loaded(), { type: 'focus', panel });
    assert.equal(press(s, 'g', { ctrl: true }).effect, 'generate', panel);
    assert.equal(press(s, 'x', { ctrl: true }).effect, 'stop', panel);
    assert.equal(press(s, 'p', { ctrl: true }).effect, 'play-again', panel);
    assert.equal(press(s, 's', { ctrl: true }).effect, 'save-render-prompt', panel);
    assert.equal(press(s, 'o', { ctrl: true }).effect, 'device-picker', panel);
    assert.equal(press(s, 'q', { ctrl: true }).effect, 'quit', panel);
    assert.equal(press(s, 'n', { ctrl: true }).state.settings.normalize, false, panel);
    assert.equal(press(s, '?').state.overlay?.kind, 'help', panel);
  }
  let s = press(loaded(), '?').state;
  assert.equal(press(s, 'z').state, s, 'help ignores other keys');
  assert.equal(press(s, '', { downArrow: true }).state.overlay?.kind === 'help' && (press(s, '', { downArrow: true }).state.overlay as { scroll: number }).scroll, 1, 'help scrolls');
  s = press(s, '', { escape: true }).state;
  assert.equal(s.overlay, null);
  // A prompt collects text.
  s = reducer(s, { type: 'overlay', overlay: { kind: 'prompt', purpose: 'save-preset', label: 'name', text: '' } });
  s = typeKeys(s, [['m'], ['y'], ['x'], ['', { backspace: true }], ['-'], ['1']]);
  assert.deepEqual(s.overlay, { kind: 'prompt', purpose: 'save-preset', label: 'name', text: 'my-1' });
  assert.equal(press(s, '', { return: true }).effect, 'overlay-accept');
});

test('every key listed in the help overlay does something in its panel', () => {
  const sample: Record<string, [string, Partial<Key>][]> = {
    'Tab / Shift-Tab': [['', { tab: true }]],
    'Ctrl-G': [['g', { ctrl: true }]],
    'Ctrl-P': [['p', { ctrl: true }]],
    'Ctrl-X': [['x', { ctrl: true }]],
    'Ctrl-S': [['s', { ctrl: true }]],
    'Ctrl-N': [['n', { ctrl: true }]],
    'Ctrl-O': [['o', { ctrl: true }]],
    '?': [['?', {}]],
    'Ctrl-Q / Ctrl-C': [['q', { ctrl: true }], ['c', { ctrl: true }]],
    type: [['c', {}]],
    '↑↓ PgUp/Dn Home End': [['', { upArrow: true }], ['', { pageDown: true }], ['', { end: true }]],
    Enter: [['', { return: true }]],
    '← / →': [['', { leftArrow: true }], ['', { rightArrow: true }]],
    '←→ (Shift ×10)': [['', { leftArrow: true }], ['', { rightArrow: true, shift: true }]],
    'Home / End': [['', { home: true }], ['', { end: true }]],
    '- / +': [['-', {}], ['+', {}]],
    'z / x': [['z', {}], ['x', {}]],
    'f / a': [['f', {}], ['a', {}]],
    '←→ Home End': [['', { rightArrow: true }], ['', { home: true }]],
    '↑↓': [['', { upArrow: true }], ['', { downArrow: true }]],
    'Shift-↑↓': [['', { upArrow: true, shift: true }]],
    'PgUp / PgDn': [['', { pageUp: true }], ['', { pageDown: true }]],
    '0 / 1': [['0', {}], ['1', {}]],
    b: [['b', {}]],
    l: [['l', {}]],
    's / r': [['s', {}], ['r', {}]],
    'p / w': [['p', {}], ['w', {}]],
    v: [['v', {}]],
    m: [['m', {}]],
    n: [['n', {}]],
    o: [['o', {}]],
    'Ctrl-L': [['l', { ctrl: true }]],
    '[ / ]': [['[', {}], [']', {}]],
    '{ / }': [['{', {}], ['}', {}]],
    'Ctrl-R': [['r', { ctrl: true }]],
    'Ctrl-T': [['t', { ctrl: true }]],
    'Ctrl-K': [['k', { ctrl: true }]],
    'Ctrl-E': [['e', { ctrl: true }]],
    'Del / Backspace': [['', { delete: true }], ['', { backspace: true }]],
    r: [['r', {}]],
    'w / l': [['w', {}], ['l', {}]],
    Esc: [['', { escape: true }]],
  };
  let base = loaded();
  base = reducer(base, { type: 'assign', slot: 'A', entry: FILES[2] });
  for (const sec of KEYMAP) {
    const panel = sec.panel === 'global' || sec.panel === 'midi' ? 'dataset' : sec.panel;
    let s = reducer(base, { type: 'focus', panel });
    if (sec.panel === 'midi') s = reducer(s, { type: 'overlay', overlay: { kind: 'midi', index: 1 } });
    for (const entry of sec.keys) {
      const presses = sample[entry.keys];
      assert.ok(presses, `no sample press for documented key '${entry.keys}'`);
      for (const [input, key] of presses) {
        const c = commandForKey(s, input, k(key));
        assert.notEqual(c, null, `'${entry.keys}' in ${sec.section} does nothing`);
        if (!isEffect(c)) assert.notEqual(reducer(s, c as Action), s, `'${entry.keys}' in ${sec.section} changes nothing`);
      }
    }
  }
});

test('a saved session is restored onto the listed files', () => {
  let s = loaded();
  s = reducer(s, {
    type: 'restore',
    session: {
      slots: { A: { path: '/d/cello.wav', start: 1.25 }, B: { path: '/d/gone.wav', start: 0 } },
      duration: 1.5,
      curve: { values: [1, 0], range: [-0.3, 1.3] },
      settings: { normalize: false, method: 'fgla', iterations: 8, deviceId: 3 },
      lastRender: { path: '/r/render-0001.wav', seconds: 1.2, duration: 1.5, peakDbfs: -1 },
      live: { loop: false, mode: 'offset', knob: 1.7 },
    },
  });
  assert.deepEqual([s.live.loop, s.live.mode, s.live.knob], [false, 'offset', 1], 'live settings back, the control clamped to the offset range');
  assert.equal(s.live.on, false, 'restoring never starts live mode');
  assert.equal(s.slots.A?.start, 1.25);
  assert.equal(s.slots.B, null, 'a file that no longer exists is not restored');
  assert.equal(s.duration, 1.5);
  assert.equal(s.curve.values.length, s.layout.plotWidth);
  assert.equal(s.curve.values[0], 1);
  assert.equal(s.curve.values[s.curve.values.length - 1], 0);
  assert.deepEqual(s.curve.range, [-0.3, 1.3]);
  assert.deepEqual(s.settings, { normalize: false, method: 'fgla', iterations: 8, deviceId: 3 });
  assert.equal(s.render.last?.path, '/r/render-0001.wav');
});

test('a session without live settings (older file) keeps the live defaults', () => {
  const s0 = loaded();
  const s = reducer(s0, {
    type: 'restore',
    session: {
      slots: { A: null, B: null }, duration: 1.5, curve: { values: [0.5], range: [-0.3, 1.3] },
      settings: { normalize: false, method: 'fgla', iterations: 8, deviceId: null }, lastRender: null, live: null,
    },
  });
  assert.deepEqual([s.live.loop, s.live.mode, s.live.knob], [s0.live.loop, s0.live.mode, s0.live.knob]);
  // What is saved follows the live settings as they change.
  let t = reducer(s, { type: 'live-loop-toggle' });
  t = reducer(t, { type: 'live-mode', mode: 'offset' });
  assert.deepEqual(restorable(t).live, { loop: !s0.live.loop, mode: 'offset', knob: t.live.knob });
});

test('help entries and hint lines fit an 80-column terminal', () => {
  for (const sec of KEYMAP) {
    for (const k of sec.keys) {
      assert.ok([...k.keys].length <= 20, `key label too long: ${k.keys}`);
      assert.ok([...k.does].length <= 35, `description too long: ${k.does}`);
    }
  }
  let s = loaded();
  for (const panel of ['dataset', 'waveA', 'waveB', 'curve', 'transport'] as const) {
    s = reducer(s, { type: 'focus', panel });
    assert.ok([...hintFor(s)].length <= 78, `hint of ${panel} is ${[...hintFor(s)].length} characters`);
  }
});

test('keys that arrive together are handled one by one', () => {
  const presses = splitKeys('\t\tz\x07A\r\x7f', k());
  assert.deepEqual(
    presses.map(([input, key]) => [input, key.tab, key.ctrl, key.return, key.backspace, key.shift]),
    [
      ['', true, false, false, false, false],
      ['', true, false, false, false, false],
      ['z', false, false, false, false, false],
      ['g', false, true, false, false, false],
      ['A', false, false, false, false, true],
      ['', false, false, true, false, false],
      ['', false, false, false, true, false],
    ],
  );
  // Two Tabs from the dataset panel reach waveform B; an arrow key Ink already decoded passes through.
  let s = loaded();
  for (const [input, key] of splitKeys('\t\t', k())) s = press(s, input, key).state;
  assert.equal(s.focus, 'waveB');
  assert.deepEqual(splitKeys('', k({ upArrow: true })), [['', k({ upArrow: true })]]);
  // Esc then Left sent together arrives as Meta+Left: it closes the help and then assigns slot A.
  const both = splitKeys('', k({ leftArrow: true, meta: true }));
  assert.deepEqual(both, [['', k({ escape: true, meta: true })], ['', k({ leftArrow: true })]]);
  let h = press(loaded(), '?').state;
  for (const [input, key] of both) h = press(h, input, key).state;
  assert.equal(h.overlay, null);
  assert.equal(h.slots.A?.path, FILES[0].path);
});

test('live control: keys step and clamp per mode, a mode change resets it, MIDI status moves it; MIDI start positions stay in the file', () => {
  let s = loaded();
  assert.equal(s.live.knob, 0.5);
  s = press(s, ']').effect === 'knob' ? reducer(s, { type: 'live-knob-nudge', delta: 0.05 }) : s;
  assert.equal(s.live.knob, 0.55);
  for (let i = 0; i < 40; i++) s = reducer(s, { type: 'live-knob-nudge', delta: 0.05 });
  assert.equal(s.live.knob, 1.3, 'absolute a stops at 1.3');
  s = reducer(s, { type: 'live-knob', value: -5, source: 'midi' });
  assert.deepEqual([s.live.knob, s.live.source], [-0.3, 'midi']);
  s = reducer(s, { type: 'live-mode', mode: 'offset' });
  assert.deepEqual([s.live.knob, s.live.source], [0, 'keys'], 'offset mode starts at no offset');
  s = reducer(s, { type: 'live-knob-nudge', delta: -2 });
  assert.equal(s.live.knob, -1, 'the offset stops at -1');
  s = reducer(s, { type: 'live-started', frames: 100, latencyMs: 20 });
  s = reducer(s, { type: 'live-status', position: 40, frames: 100, amount: 0.2, underruns: 1 });
  assert.deepEqual([s.live.on, s.live.position, s.live.knob, s.live.amount, s.live.underruns], [true, 40, -1, 0.2, 1]);
  s = reducer(s, { type: 'live-stopped' });
  assert.equal(s.live.on, false);
  // startA as a fraction of the file: cello is 6 s long, the excerpt 2 s.
  s = reducer(s, { type: 'assign', slot: 'A', entry: FILES[0] });
  s = reducer(s, { type: 'selection-set', slot: 'A', fraction: 0.5 });
  assert.equal(s.slots.A?.start, 3);
  s = reducer(s, { type: 'selection-set', slot: 'A', fraction: 1 });
  assert.equal(s.slots.A?.start, 4, 'clamped so the excerpt stays in the file');
  assert.equal(reducer(s, { type: 'selection-set', slot: 'B', fraction: 0.5 }), s, 'an empty slot ignores it');
  // The MIDI panel: ports first, then the parameters.
  s = reducer(s, { type: 'midi-status', available: true, reason: null, ports: ['p0', 'p1'], open: 'p0' });
  s = press(s, 'k', { ctrl: true }).effect === 'midi-panel' ? reducer(s, { type: 'overlay', overlay: { kind: 'midi', index: 0 } }) : s;
  for (let i = 0; i < 20; i++) s = press(s, '', { downArrow: true }).state;
  assert.deepEqual(s.overlay, { kind: 'midi', index: 6 }, '2 ports + 5 parameters');
  assert.equal(press(s, '', { delete: true }).effect, 'midi-clear');
  assert.equal(press(s, '', { escape: true }).effect, 'midi-panel', 'Esc closes the panel and cancels a learn');
});

test('the decoded length replaces the listed one: duration and starts are limited to it, rounded down, never up', () => {
  const files: DatasetEntry[] = [
    { path: '/d/odd.wav', relPath: 'odd.wav', duration: 44089 / 44100, sampleRate: 44100, channels: 1 },
    { path: '/d/cut.flac', relPath: 'cut.flac', duration: 2, sampleRate: 44100, channels: 1 },
    { path: '/d/long.wav', relPath: 'long.wav', duration: 4, sampleRate: 44100, channels: 1 },
  ];
  let s = initialState({ dataset: '/d', model: '/m', columns: 100, rows: 30 });
  s = reducer(s, { type: 'dataset-loaded', files, skipped: [] });
  s = reducer(s, { type: 'assign', slot: 'A', entry: files[0] });
  s = reducer(s, { type: 'assign', slot: 'B', entry: files[2] });
  assert.equal(s.duration, 0.99, '0.9998 s allows 0.99 s');
  for (let i = 0; i < 5; i++) s = reducer(s, { type: 'duration-change', delta: 0.1 });
  assert.equal(s.duration, 0.99, '+ never reaches 1.00 s');
  s = reducer(s, { type: 'selection-jump', slot: 'A', to: 'end' });
  assert.ok(s.slots.A!.start + s.duration <= 44089 / 44100, `the excerpt ends inside the file (start ${s.slots.A!.start})`);

  // A cut-off file: listed at the header's 2 s, decoded 0.186 s.
  s = reducer(s, { type: 'assign', slot: 'A', entry: files[1] });
  assert.equal(s.duration, 0.99);
  s = reducer(s, { type: 'file-decoded', path: '/d/cut.flac', duration: 0.18575963718820862 });
  assert.equal(s.duration, 0.18);
  assert.equal(s.slots.A!.fileDuration, 0.18575963718820862);
  assert.equal(s.dataset.files.find((f) => f.path === '/d/cut.flac')!.duration, 0.18575963718820862, 'the list shows the decoded length');
  assert.match(s.message?.text ?? '', /duration shortened to 0\.18 s: cut\.flac holds 0\.186 s/);
  s = reducer(s, { type: 'duration-change', delta: 0.1 });
  assert.equal(s.duration, 0.18);
  // An unreadable file: the slot says so; choosing it again keeps saying so; another file clears it.
  s = reducer(s, { type: 'file-unreadable', path: '/d/long.wav' });
  assert.equal(s.slots.B!.unreadable, true);
  s = reducer(s, { type: 'assign', slot: 'B', entry: files[2] });
  assert.equal(s.slots.B!.unreadable, true);
  s = reducer(s, { type: 'assign', slot: 'B', entry: files[0] });
  assert.ok(!s.slots.B!.unreadable);
});
