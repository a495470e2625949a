/**
 * The keyboard map of the instrument: one table that documents every key
 * (shown by the help overlay and the hint bar) and one pure function that
 * turns a key press into a state action or a side effect.
 *
 * Design rules:
 * - Global commands use Ctrl+letter (and `?`, Tab), so they work in every
 *   panel, including the dataset browser where printable keys type into the
 *   filter. Ctrl-B (tmux prefix), Ctrl-A (screen prefix), Ctrl-H/I/J/M
 *   (backspace, tab, newline, return) are avoided.
 * - Panel keys only act in the focused panel; the same key may mean the
 *   analogous thing in two panels (arrows move, `-`/`+` decrease/increase),
 *   never two unrelated things at once.
 */
import type { Key } from 'ink';
import {
  CURVE_COARSE_STEP,
  CURVE_FINE_STEP,
  CURVE_STEP,
  DURATION_STEP,
  KNOB_FINE_STEP,
  KNOB_STEP,
  selectedEntry,
  type Action,
  type AppState,
  type PanelId,
  type SlotId,
} from './state.ts';

/** Side effects a key can request; the app's controller performs them. */
export type Effect =
  | { effect: 'generate' }
  | { effect: 'play-again' }
  | { effect: 'stop' }
  | { effect: 'save-render-prompt' }
  | { effect: 'device-picker' }
  | { effect: 'preset-picker' }
  | { effect: 'save-preset-prompt' }
  | { effect: 'audition-file' }
  | { effect: 'audition-excerpt'; slot: SlotId }
  | { effect: 'overlay-accept' }
  | { effect: 'live-toggle' }
  | { effect: 'knob'; delta: number }
  | { effect: 'live-loop' }
  | { effect: 'live-mode' }
  | { effect: 'midi-panel' }
  | { effect: 'midi-rescan' }
  | { effect: 'midi-clear' }
  | { effect: 'midi-save-prompt' }
  | { effect: 'midi-load-picker' }
  | { effect: 'osc-toggle' }
  | { effect: 'quit' };

/** What a key press does: a state change, a side effect, or nothing. */
export type KeyCommand = Action | Effect | null;

/** True when a command is a side effect rather than a reducer action. */
export function isEffect(c: KeyCommand): c is Effect {
  return c !== null && 'effect' in c;
}

/** One documented key binding. */
export interface KeyHelp {
  keys: string;
  does: string;
}

/** Every binding, by section, in the order the help overlay shows them (`midi`: keys of the MIDI panel, Ctrl-K). */
export const KEYMAP: { section: string; panel: PanelId | 'global' | 'midi'; keys: KeyHelp[] }[] = [
  {
    section: 'Everywhere',
    panel: 'global',
    keys: [
      { keys: 'Tab / Shift-Tab', does: 'next / previous panel' },
      { keys: 'Ctrl-G', does: 'Generate & Play' },
      { keys: 'Ctrl-P', does: 'Play the last render again' },
      { keys: 'Ctrl-X', does: 'Stop the render and the playback' },
      { keys: 'Ctrl-S', does: 'Save the last render as…' },
      { keys: 'Ctrl-N', does: 'Normalize on / off' },
      { keys: 'Ctrl-O', does: 'audio output device' },
      { keys: '?', does: 'this help (Esc closes)' },
      { keys: 'Ctrl-Q / Ctrl-C', does: 'quit (the session is saved)' },
    ],
  },
  {
    section: 'Live mode, MIDI, OSC',
    panel: 'global',
    keys: [
      { keys: 'Ctrl-L', does: 'live mode on / off (STFT models)' },
      { keys: '[ / ]', does: `live control ∓${KNOB_STEP}` },
      { keys: '{ / }', does: `live control, fine ∓${KNOB_FINE_STEP}` },
      { keys: 'Ctrl-R', does: 'live: loop / play once' },
      { keys: 'Ctrl-T', does: 'live: absolute a / offset on curve' },
      { keys: 'Ctrl-K', does: 'MIDI: ports, learn, mappings' },
      { keys: 'Ctrl-E', does: 'OSC server on / off (Max patch)' },
    ],
  },
  {
    section: 'MIDI panel (Ctrl-K)',
    panel: 'midi',
    keys: [
      { keys: '↑↓', does: 'choose a port or a parameter' },
      { keys: 'Enter', does: 'open port / learn: move a control' },
      { keys: 'Del / Backspace', does: 'remove the mapping' },
      { keys: 'r', does: 'rescan the ports (hot-plug)' },
      { keys: 'w / l', does: 'save / load mappings (presets/)' },
      { keys: 'Esc', does: 'close (cancels a learn)' },
    ],
  },
  {
    section: 'Dataset',
    panel: 'dataset',
    keys: [
      { keys: 'type', does: 'filter by name (Esc clears)' },
      { keys: '↑↓ PgUp/Dn Home End', does: 'move in the list' },
      { keys: 'Enter', does: 'audition the file' },
      { keys: '← / →', does: 'put the file in slot A / slot B' },
    ],
  },
  {
    section: 'Waveform A / B',
    panel: 'waveA',
    keys: [
      { keys: '←→ (Shift ×10)', does: 'move the selection by a column' },
      { keys: 'Home / End', does: 'selection to file start / end' },
      { keys: '- / +', does: `excerpt ∓${DURATION_STEP} s (both slots)` },
      { keys: 'z / x', does: 'zoom in / out around the selection' },
      { keys: 'f / a', does: 'zoom to selection / whole file' },
      { keys: 'Enter', does: 'audition the excerpt' },
    ],
  },
  {
    section: 'Curve (a = amount of A)',
    panel: 'curve',
    keys: [
      { keys: '←→ Home End', does: 'move along the frames (Shift ×8)' },
      { keys: '↑↓', does: `value ±${CURVE_STEP}` },
      { keys: 'Shift-↑↓', does: `fine ±${CURVE_FINE_STEP}` },
      { keys: 'PgUp / PgDn', does: `coarse ±${CURVE_COARSE_STEP}` },
      { keys: '0 / 1', does: 'value 0 (all B) / 1 (all A)' },
      { keys: 'b', does: 'set a breakpoint at the cursor' },
      { keys: 'l', does: 'line from the breakpoint to here' },
      { keys: 's / r', does: 'smooth / reset to 0.5' },
      { keys: 'p / w', does: 'load / save a preset (presets/)' },
      { keys: 'v', does: 'value range ±1.3 · −0.3..1.3 · 0..1' },
    ],
  },
  {
    section: 'Transport',
    panel: 'transport',
    keys: [
      { keys: 'Enter', does: 'Generate & Play' },
      { keys: 'm', does: 'phase method (pghi+agla, agla, ...)' },
      { keys: '- / +', does: 'fewer / more phase iterations' },
      { keys: 'n', does: 'Normalize on / off' },
      { keys: 'o', does: 'audio output device' },
    ],
  },
];

/** The one-line hint for the focused panel (or the open overlay). */
export function hintFor(state: AppState): string {
  const o = state.overlay;
  if (o?.kind === 'help') return '↑↓ PgUp PgDn scroll · Esc or ? closes the help';
  if (o?.kind === 'prompt') return 'type a name · Ctrl-U clears · Enter saves · Esc cancels';
  if (o?.kind === 'midi') {
    return state.midi.learning
      ? `move a control to bind ${state.midi.learning.param} · Esc cancels`
      : '↑↓ choose · Enter open/learn · Del unmap · r rescan · w save · l load · Esc';
  }
  if (o) return '↑↓ choose · Enter selects · Esc cancels';
  switch (state.focus) {
    case 'dataset':
      return 'type to filter · ↑↓ move · Enter listen · ← to A · → to B · Tab next · ? help';
    case 'waveA':
    case 'waveB':
      return '←→ move (Shift ×10) · -/+ length · z/x zoom · f fit · a all · Enter listen · ?';
    case 'curve':
      return '↑↓ value (Shift fine, PgUp coarse) · ←→ move · b/l line · s smooth · ? keys';
    case 'transport':
      return 'Enter generate · m method · -/+ iterations · n normalize · o output · ? keys';
  }
}

const NO_KEY: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};

/**
 * Split a multi-character input into single key presses.
 *
 * Ink delivers a run of plain characters that arrived in one read (a paste,
 * fast typing over SSH, or several keys sent at once, e.g. two Tabs or `zz`)
 * as one string with no key flags. The instrument treats every character as
 * its own key press: control characters become Tab, Enter, Backspace,
 * Escape or Ctrl+letter, the rest are typed characters. A Meta (Alt)
 * key, which is what Esc pressed just before another key looks like, becomes
 * Esc followed by that key.
 *
 * @returns the presses in order; a single key (or an escape sequence Ink already decoded) is returned unchanged.
 */
export function splitKeys(input: string, key: Key): [string, Key][] {
  // Esc followed at once by another key reaches Ink as one Meta (Alt) key; the instrument binds no
  // Alt keys, so it is taken apart again: Esc, then the key.
  if (key.meta && !key.escape) return [['', { ...NO_KEY, escape: true, meta: true }], ...splitKeys(input, { ...key, meta: false })];
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.escape) return [[input, key]];
  return chars.map((ch): [string, Key] => {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\t') return ['', { ...NO_KEY, tab: true }];
    if (ch === '\r' || ch === '\n') return ['', { ...NO_KEY, return: true }];
    if (ch === '\x7f' || ch === '\b') return ['', { ...NO_KEY, backspace: true }];
    if (ch === '\x1b') return ['', { ...NO_KEY, escape: true, meta: true }];
    if (code >= 1 && code <= 26) return [String.fromCharCode(code + 96), { ...NO_KEY, ctrl: true }];
    return [ch, { ...NO_KEY, shift: /[A-Z]/.test(ch) }];
  });
}

/** Characters the dataset filter accepts (what file names are made of). */
const FILTER_CHARS = /^[\p{L}\p{N} ._\-/()+,'&@#%=~!]+$/u;

/**
 * Map a key press to a command, given the current state.
 *
 * @param input the text Ink reports (the letter for Ctrl+letter, pasted text, or '').
 * @param key Ink's key flags.
 */
export function commandForKey(state: AppState, input: string, key: Key): KeyCommand {
  // Quit always works.
  if (key.ctrl && (input === 'c' || input === 'q')) return { effect: 'quit' };

  const o = state.overlay;
  if (o) {
    if (key.escape && o.kind === 'midi') return { effect: 'midi-panel' };
    if (key.escape || (o.kind === 'help' && (input === '?' || input === 'q'))) return { type: 'overlay', overlay: null };
    if (o.kind === 'help') {
      const page = Math.max(1, state.layout.mainHeight - 3);
      if (key.upArrow) return { type: 'overlay-move', delta: -1 };
      if (key.downArrow) return { type: 'overlay-move', delta: 1 };
      if (key.pageUp) return { type: 'overlay-move', delta: -page };
      if (key.pageDown || input === ' ') return { type: 'overlay-move', delta: page };
      return null;
    }
    if (key.return) return { effect: 'overlay-accept' };
    if (o.kind === 'midi') {
      if (key.upArrow) return { type: 'overlay-move', delta: -1 };
      if (key.downArrow) return { type: 'overlay-move', delta: 1 };
      if (key.backspace || key.delete) return { effect: 'midi-clear' };
      if (input === 'r') return { effect: 'midi-rescan' };
      if (input === 'w') return { effect: 'midi-save-prompt' };
      if (input === 'l') return { effect: 'midi-load-picker' };
      return null;
    }
    if (o.kind === 'prompt') {
      if (key.backspace || key.delete) return { type: 'prompt-backspace' };
      if (key.ctrl && input === 'u') return { type: 'prompt-clear' };
      if (!key.ctrl && !key.meta && input && !/[\u0000-\u001f\u007f]/.test(input)) return { type: 'prompt-type', text: input };
      return null;
    }
    if (key.upArrow) return { type: 'overlay-move', delta: -1 };
    if (key.downArrow) return { type: 'overlay-move', delta: 1 };
    return null;
  }

  if (key.tab) return { type: 'focus-step', delta: key.shift ? -1 : 1 };
  if (key.ctrl) {
    switch (input) {
      case 'g':
        return { effect: 'generate' };
      case 'p':
        return { effect: 'play-again' };
      case 'x':
        return { effect: 'stop' };
      case 's':
        return { effect: 'save-render-prompt' };
      case 'n':
        return { type: 'normalize-toggle' };
      case 'o':
        return { effect: 'device-picker' };
      case 'l':
        return { effect: 'live-toggle' };
      case 'r':
        return { effect: 'live-loop' };
      case 't':
        return { effect: 'live-mode' };
      case 'k':
        return { effect: 'midi-panel' };
      case 'e':
        return { effect: 'osc-toggle' };
      default:
        return null;
    }
  }
  if (input === '?') return { type: 'overlay', overlay: { kind: 'help', scroll: 0 } };
  // The live control: printable keys no panel uses (the dataset filter does not accept them).
  if (input === '[') return { effect: 'knob', delta: -KNOB_STEP };
  if (input === ']') return { effect: 'knob', delta: KNOB_STEP };
  if (input === '{') return { effect: 'knob', delta: -KNOB_FINE_STEP };
  if (input === '}') return { effect: 'knob', delta: KNOB_FINE_STEP };

  switch (state.focus) {
    case 'dataset':
      return datasetKey(state, input, key);
    case 'waveA':
    case 'waveB':
      return waveKey(state.focus === 'waveA' ? 'A' : 'B', input, key);
    case 'curve':
      return curveKey(input, key);
    case 'transport':
      return transportKey(input, key);
  }
}

function datasetKey(state: AppState, input: string, key: Key): KeyCommand {
  const page = Math.max(1, state.layout.listRows - 1);
  if (key.upArrow) return { type: 'list-move', delta: -1 };
  if (key.downArrow) return { type: 'list-move', delta: 1 };
  if (key.pageUp) return { type: 'list-move', delta: -page };
  if (key.pageDown) return { type: 'list-move', delta: page };
  if (key.home) return { type: 'list-jump', to: 'first' };
  if (key.end) return { type: 'list-jump', to: 'last' };
  if (key.return) return { effect: 'audition-file' };
  if (key.leftArrow || key.rightArrow) {
    const entry = selectedEntry(state);
    if (!entry) return { type: 'message', message: { level: 'warn', text: 'no file under the cursor: clear the filter with Esc' } };
    return { type: 'assign', slot: key.leftArrow ? 'A' : 'B', entry };
  }
  if (key.backspace || key.delete) return { type: 'filter-backspace' };
  if (key.escape) return { type: 'filter-clear' };
  if (input && !key.meta && FILTER_CHARS.test(input)) return { type: 'filter-type', text: input };
  return null;
}

function waveKey(slot: SlotId, input: string, key: Key): KeyCommand {
  if (key.leftArrow) return { type: 'selection-move', slot, columns: key.shift ? -10 : -1 };
  if (key.rightArrow) return { type: 'selection-move', slot, columns: key.shift ? 10 : 1 };
  if (key.home) return { type: 'selection-jump', slot, to: 'start' };
  if (key.end) return { type: 'selection-jump', slot, to: 'end' };
  if (key.return) return { effect: 'audition-excerpt', slot };
  switch (input) {
    case '-':
    case '_':
      return { type: 'duration-change', delta: -DURATION_STEP };
    case '+':
    case '=':
      return { type: 'duration-change', delta: DURATION_STEP };
    case 'z':
      return { type: 'zoom', slot, mode: 'in' };
    case 'x':
      return { type: 'zoom', slot, mode: 'out' };
    case 'f':
      return { type: 'zoom', slot, mode: 'fit' };
    case 'a':
      return { type: 'zoom', slot, mode: 'all' };
    default:
      return null;
  }
}

function curveKey(input: string, key: Key): KeyCommand {
  if (key.leftArrow) return { type: 'cursor-move', delta: key.shift ? -8 : -1 };
  if (key.rightArrow) return { type: 'cursor-move', delta: key.shift ? 8 : 1 };
  if (key.home) return { type: 'cursor-jump', to: 'first' };
  if (key.end) return { type: 'cursor-jump', to: 'last' };
  if (key.upArrow) return { type: 'curve-nudge', delta: key.shift ? CURVE_FINE_STEP : CURVE_STEP };
  if (key.downArrow) return { type: 'curve-nudge', delta: key.shift ? -CURVE_FINE_STEP : -CURVE_STEP };
  if (key.pageUp) return { type: 'curve-nudge', delta: CURVE_COARSE_STEP };
  if (key.pageDown) return { type: 'curve-nudge', delta: -CURVE_COARSE_STEP };
  switch (input) {
    case '0':
      return { type: 'curve-set', value: 0 };
    case '1':
      return { type: 'curve-set', value: 1 };
    case 'b':
      return { type: 'curve-mark' };
    case 'l':
      return { type: 'curve-line' };
    case 's':
      return { type: 'curve-smooth' };
    case 'r':
      return { type: 'curve-reset' };
    case 'v':
      return { type: 'curve-range-cycle' };
    case 'p':
      return { effect: 'preset-picker' };
    case 'w':
      return { effect: 'save-preset-prompt' };
    default:
      return null;
  }
}

function transportKey(input: string, key: Key): KeyCommand {
  if (key.return) return { effect: 'generate' };
  switch (input) {
    case 'm':
      return { type: 'method-cycle' };
    case '-':
    case '_':
      return { type: 'iterations-step', delta: -1 };
    case '+':
    case '=':
      return { type: 'iterations-step', delta: 1 };
    case 'n':
      return { type: 'normalize-toggle' };
    case 'o':
      return { effect: 'device-picker' };
    default:
      return null;
  }
}
