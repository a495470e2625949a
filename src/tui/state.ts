/**
 * State of the instrument and its reducer: every edit the keyboard can make,
 * as a pure function `(state, action) => state`. Side effects (scanning,
 * rendering, playback, file I/O) live in the controller hook of the app,
 * which dispatches the results back here as actions.
 *
 * Time conventions: slot starts, the shared excerpt duration and the
 * waveform views are in seconds of the source files; the curve has one
 * value per plot column over the excerpt (see `curve-view.ts`).
 */
import type { PhaseMethod } from '../dsp/phase-settings.ts';
import { RENDER_DEFAULTS } from '../engine/render-types.ts';
import { LIVE_CONTROL_RANGE } from '../engine/midi-map.ts';
import { computeLayout, type Layout } from './layout.ts';
import {
  CURVE_RANGES,
  RESET_VALUE,
  clampAmount,
  drawLine,
  resampleValues,
  setValue,
  smoothValues,
} from './curve-view.ts';

/** Focusable panels, in Tab order. */
export const PANELS = ['dataset', 'waveA', 'waveB', 'curve', 'transport'] as const;
/** One of {@link PANELS}. */
export type PanelId = (typeof PANELS)[number];

/** The two excerpt slots. */
export type SlotId = 'A' | 'B';

/** One audio file of the dataset as listed by the browser. */
export interface DatasetEntry {
  path: string;
  /** Path relative to the dataset folder (what the list shows and the filter matches). */
  relPath: string;
  /** Seconds. */
  duration: number;
  sampleRate: number;
  channels: number;
}

/** A file assigned to slot A or B, its excerpt start and its waveform view. */
export interface Slot {
  path: string;
  relPath: string;
  /** File duration in seconds. */
  fileDuration: number;
  sampleRate: number;
  /** Excerpt start in seconds. */
  start: number;
  /** Visible time range of the waveform view, seconds. */
  view: [number, number];
  /** True once decoding the file failed (the message line says why); choosing a file replaces the slot. */
  unreadable?: boolean;
}

/** Overlays drawn over the panels; while one is open it takes every key. */
export type Overlay =
  | { kind: 'help'; scroll: number }
  | { kind: 'devices'; index: number }
  | { kind: 'presets'; index: number; names: { name: string; description?: string }[] }
  | { kind: 'midi'; index: number }
  | { kind: 'midimaps'; index: number; names: string[] }
  | { kind: 'prompt'; purpose: 'save-render' | 'save-preset' | 'save-midi'; label: string; text: string };

/** Parameters MIDI learn can bind, as the MIDI panel lists them (amount twice: absolute and offset). */
export const LEARN_ROWS: readonly { param: MidiParamName; mode: 'absolute' | 'offset'; label: string }[] = [
  { param: 'amount', mode: 'absolute', label: 'amount a (absolute)' },
  { param: 'amount', mode: 'offset', label: 'amount a (offset on curve)' },
  { param: 'startA', mode: 'absolute', label: 'start of A' },
  { param: 'startB', mode: 'absolute', label: 'start of B' },
  { param: 'trigger', mode: 'absolute', label: 'Generate & Play' },
];

/** A MIDI-mappable parameter (the names of src/engine/midi-map.ts). */
export type MidiParamName = 'amount' | 'startA' | 'startB' | 'trigger';

/** One MIDI mapping as the panel shows it. */
export interface MidiMappingView {
  param: MidiParamName;
  /** e.g. `CC 1 ch 1`, `note 60 ch 10`. */
  source: string;
  min: number;
  max: number;
  mode?: 'absolute' | 'offset';
}

/** Range of the live control: the amount in absolute mode, the offset in offset mode. */
export const KNOB_RANGE = LIVE_CONTROL_RANGE;
/** Knob step of `[` / `]`. */
export const KNOB_STEP = 0.05;
/** Fine knob step of `{` / `}`. */
export const KNOB_FINE_STEP = 0.01;

/** A message shown on the message line. */
export interface Message {
  text: string;
  level: 'info' | 'warn' | 'error';
}

/** An audio output device as offered by the picker. */
export interface DeviceEntry {
  id: number;
  name: string;
  isDefault?: boolean;
}

/** Summary of the last finished render. */
export interface LastRender {
  path: string;
  /** Wall-clock seconds the render took. */
  seconds: number;
  /** Audio duration in seconds. */
  duration: number;
  peakDbfs: number;
}

/** Phase iteration counts offered by the transport (the original UI offered 0..64). */
export const ITERATION_STEPS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512] as const;

/** Shortest excerpt the editor allows, seconds. */
export const MIN_DURATION = 0.1;
/** Excerpt duration before any file is chosen, seconds. */
export const DEFAULT_DURATION = 2;
/** Duration step of `-`/`+` in seconds. */
export const DURATION_STEP = 0.1;
/** Curve step of the ↑/↓ keys. */
export const CURVE_STEP = 0.05;
/** Fine curve step of Shift+↑/↓. */
export const CURVE_FINE_STEP = 0.01;
/** Coarse curve step of PgUp/PgDn. */
export const CURVE_COARSE_STEP = 0.25;

/** The whole state of the instrument. */
export interface AppState {
  layout: Layout;
  focus: PanelId;
  overlay: Overlay | null;
  dataset: {
    dir: string;
    files: DatasetEntry[];
    skipped: { path: string; reason: string }[];
    loading: boolean;
    error: string | null;
    filter: string;
    /** Index into the filtered list. */
    index: number;
    /** First visible row of the filtered list. */
    scroll: number;
  };
  slots: Record<SlotId, Slot | null>;
  /** Shared excerpt duration, seconds. */
  duration: number;
  curve: {
    /** One amount per plot column. */
    values: number[];
    cursor: number;
    /** Breakpoint set with `b`; `l` draws a straight line from it to the cursor. */
    mark: number | null;
    range: [number, number];
  };
  settings: {
    normalize: boolean;
    method: PhaseMethod;
    iterations: number;
    deviceId: number | null;
  };
  model: {
    dir: string;
    name: string | null;
    sampleRate: number | null;
    transform: 'stft' | 'cqt' | null;
    loading: boolean;
    error: string | null;
  };
  backend: string | null;
  audio: { available: boolean | null; reason: string | null; devices: DeviceEntry[] };
  render: {
    busy: boolean;
    stage: string | null;
    fraction: number;
    last: LastRender | null;
  };
  /** What is playing, if anything. */
  playing: null | { what: string };
  /** Live mode: the streaming engine playing the A/B pair while the control moves. */
  live: {
    on: boolean;
    /** A start request in flight: excerpts being encoded and the stream opened, or (while `on`) new settings being swapped in. */
    starting: boolean;
    /** Loop the pair (true) or play it once. */
    loop: boolean;
    /** `absolute`: the control is `a`; `offset`: it is added to the drawn curve. */
    mode: 'absolute' | 'offset';
    /** The control value as the keys and the MIDI knob set it. */
    knob: number;
    /** Who moved the control last. */
    source: 'keys' | 'midi';
    /** Frame position in the excerpts and their frame count (0 until the stream reports). */
    position: number;
    frames: number;
    /** The amount `a` the engine last decoded with. */
    amount: number | null;
    underruns: number;
    /** Estimated control-to-device latency of the stream, ms. */
    latencyMs: number | null;
  };
  /** MIDI input, mappings and learn. */
  midi: {
    /** Null until the MIDI system was probed. */
    available: boolean | null;
    reason: string | null;
    ports: string[];
    open: string | null;
    mappings: MidiMappingView[];
    learning: { param: MidiParamName; mode: 'absolute' | 'offset' } | null;
    /** The last message received, described (e.g. `CC 1 ch 1 = 64`). */
    last: string | null;
  };
  /** The OSC server for the original Max patch. */
  osc: { running: boolean; starting: boolean; port: number | null; replyPort: number | null; error: string | null };
  /** The listening page (`--listen`): its URL with the token, or null. */
  listen: { url: string | null; clients: number };
  message: Message | null;
  quitting: boolean;
}

/** The initial state for a dataset folder, a model folder and a terminal size. */
export function initialState(opts: { dataset: string; model: string; columns: number; rows: number }): AppState {
  const layout = computeLayout(opts.columns, opts.rows);
  return {
    layout,
    focus: 'dataset',
    overlay: null,
    dataset: { dir: opts.dataset, files: [], skipped: [], loading: true, error: null, filter: '', index: 0, scroll: 0 },
    slots: { A: null, B: null },
    duration: DEFAULT_DURATION,
    curve: { values: new Array<number>(layout.plotWidth).fill(RESET_VALUE), cursor: 0, mark: null, range: [...CURVE_RANGES[0]] as [number, number] },
    settings: { normalize: true, method: RENDER_DEFAULTS.method, iterations: RENDER_DEFAULTS.iterations, deviceId: null },
    model: { dir: opts.model, name: null, sampleRate: null, transform: null, loading: true, error: null },
    backend: null,
    audio: { available: null, reason: null, devices: [] },
    render: { busy: false, stage: null, fraction: 0, last: null },
    playing: null,
    live: { on: false, starting: false, loop: true, mode: 'absolute', knob: 0.5, source: 'keys', position: 0, frames: 0, amount: null, underruns: 0, latencyMs: null },
    midi: { available: null, reason: null, ports: [], open: null, mappings: [], learning: null, last: null },
    osc: { running: false, starting: false, port: null, replyPort: null, error: null },
    listen: { url: null, clients: 0 },
    message: null,
    quitting: false,
  };
}

/** Every state change. */
export type Action =
  | { type: 'resize'; columns: number; rows: number }
  | { type: 'focus'; panel: PanelId }
  | { type: 'focus-step'; delta: 1 | -1 }
  | { type: 'dataset-loaded'; files: DatasetEntry[]; skipped: { path: string; reason: string }[] }
  | { type: 'dataset-error'; error: string }
  | { type: 'filter-type'; text: string }
  | { type: 'filter-backspace' }
  | { type: 'filter-clear' }
  | { type: 'list-move'; delta: number }
  | { type: 'list-jump'; to: 'first' | 'last' }
  | { type: 'assign'; slot: SlotId; entry: DatasetEntry; start?: number }
  /** A file was decoded: its real length (a header can promise more than a file holds) replaces the listed one. */
  | { type: 'file-decoded'; path: string; duration: number }
  /** A file could not be decoded: the slots holding it say so. */
  | { type: 'file-unreadable'; path: string }
  | { type: 'selection-move'; slot: SlotId; columns: number }
  | { type: 'selection-jump'; slot: SlotId; to: 'start' | 'end' }
  | { type: 'duration-change'; delta: number }
  | { type: 'zoom'; slot: SlotId; mode: 'in' | 'out' | 'fit' | 'all' }
  | { type: 'cursor-move'; delta: number }
  | { type: 'cursor-jump'; to: 'first' | 'last' }
  | { type: 'curve-nudge'; delta: number }
  | { type: 'curve-set'; value: number }
  | { type: 'curve-mark' }
  | { type: 'curve-line' }
  | { type: 'curve-smooth' }
  | { type: 'curve-reset' }
  | { type: 'curve-range-cycle' }
  | { type: 'curve-load'; values: number[]; name: string }
  | { type: 'normalize-toggle' }
  | { type: 'method-cycle' }
  | { type: 'iterations-step'; delta: 1 | -1 }
  | { type: 'device-choose'; id: number | null }
  | { type: 'model-loaded'; name: string; sampleRate: number; transform: 'stft' | 'cqt' }
  | { type: 'model-error'; error: string }
  | { type: 'backend'; name: string }
  | { type: 'audio-status'; available: boolean; reason: string | null; devices: DeviceEntry[] }
  | { type: 'render-start' }
  | { type: 'render-progress'; stage: string; fraction: number }
  | { type: 'render-done'; last: LastRender }
  | { type: 'render-end' }
  | { type: 'playing'; what: string | null }
  | { type: 'message'; message: Message | null }
  | { type: 'overlay'; overlay: Overlay | null }
  | { type: 'overlay-move'; delta: number }
  | { type: 'prompt-type'; text: string }
  | { type: 'prompt-backspace' }
  | { type: 'prompt-clear' }
  | { type: 'restore'; session: RestorableState }
  | { type: 'selection-set'; slot: SlotId; fraction: number }
  | { type: 'live-knob'; value: number; source: 'keys' | 'midi' }
  | { type: 'live-knob-nudge'; delta: number }
  | { type: 'live-loop-toggle' }
  | { type: 'live-mode'; mode: 'absolute' | 'offset' }
  | { type: 'live-starting' }
  /** The stream plays; `updated`: the running stream took new settings in place (position and underruns go on). */
  | { type: 'live-started'; frames: number; latencyMs: number; updated?: boolean }
  | { type: 'live-stopped' }
  /** New settings for the running stream could not be used; it goes on as it was. */
  | { type: 'live-kept' }
  | { type: 'live-status'; position: number; frames: number; amount: number; underruns: number }
  | { type: 'midi-status'; available: boolean; reason: string | null; ports: string[]; open: string | null }
  | { type: 'midi-mappings'; mappings: MidiMappingView[]; learning: { param: MidiParamName; mode: 'absolute' | 'offset' } | null }
  | { type: 'midi-last'; text: string }
  | { type: 'osc-status'; running: boolean; starting: boolean; port: number | null; replyPort: number | null; error: string | null }
  | { type: 'listen-status'; url: string | null; clients: number }
  | { type: 'quit' };

/** The parts of the state a saved session brings back. */
export interface RestorableState {
  slots: Record<SlotId, { path: string; start: number } | null>;
  duration: number;
  curve: { values: number[]; range: [number, number] };
  settings: { normalize: boolean; method: PhaseMethod; iterations: number; deviceId: number | null };
  lastRender: LastRender | null;
  /** Live mode's loop/once, control meaning and value; null keeps the defaults. */
  live: { loop: boolean; mode: 'absolute' | 'offset'; knob: number } | null;
}

/** Phase methods a model's transform supports (PGHI needs an STFT model). */
export function methodsFor(transform: 'stft' | 'cqt' | null): PhaseMethod[] {
  return transform === 'cqt' ? ['agla', 'fgla'] : ['pghi+agla', 'pghi+fgla', 'agla', 'fgla', 'pghi'];
}

/** The dataset entries that match the filter (case-insensitive substring of the relative path; spaces separate terms that must all match). */
export function filteredFiles(state: AppState): DatasetEntry[] {
  const terms = state.dataset.filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return state.dataset.files;
  return state.dataset.files.filter((f) => {
    const p = f.relPath.toLowerCase();
    return terms.every((t) => p.includes(t));
  });
}

/** The entry under the list cursor, if any. */
export function selectedEntry(state: AppState): DatasetEntry | null {
  return filteredFiles(state)[state.dataset.index] ?? null;
}

/** Resolution of the excerpt duration the UI shows (two decimals); limits are rounded down to it. */
export const DURATION_RESOLUTION = 0.01;

/**
 * `x` rounded down to a multiple of `step` (never up: an excerpt limit rounded up would run past the end of the
 * file). A float error below a microsecond counts as exact, so 1.2 s stays 1.2 s.
 */
export function floorTo(x: number, step: number): number {
  const n = Math.floor(x / step + 1e-6);
  return Math.round(n * step * 1e6) / 1e6;
}

/** Longest duration both slots allow, rounded down to {@link DURATION_RESOLUTION} (Infinity when no slot is set). */
export function maxDuration(slots: Record<SlotId, Slot | null>): number {
  let m = Infinity;
  for (const s of [slots.A, slots.B]) if (s) m = Math.min(m, floorTo(s.fileDuration, DURATION_RESOLUTION));
  return m;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Clamp an excerpt start so that `[start, start + duration]` lies in the file (the latest start rounded down to a millisecond). */
function clampStart(start: number, slot: Slot, duration: number): number {
  const latest = Math.max(0, floorTo(slot.fileDuration - duration, 0.001));
  return round3(Math.max(0, Math.min(latest, start)));
}

/** Pan a view (keeping its width) so that the selection is visible; clamp it to the file. */
function keepSelectionVisible(slot: Slot, duration: number): [number, number] {
  let [t0, t1] = slot.view;
  const w = t1 - t0;
  const s0 = slot.start;
  const s1 = slot.start + duration;
  if (w >= s1 - s0) {
    if (s0 < t0) [t0, t1] = [s0, s0 + w];
    if (s1 > t1) [t0, t1] = [s1 - w, s1];
  } else {
    [t0, t1] = [s0, s0 + w];
  }
  if (t1 > slot.fileDuration) [t0, t1] = [slot.fileDuration - w, slot.fileDuration];
  if (t0 < 0) [t0, t1] = [0, w];
  return [t0, Math.min(Math.max(t1, t0 + 1e-3), Math.max(t1, t0 + 1e-3))];
}

function withSlot(state: AppState, id: SlotId, slot: Slot): AppState {
  return { ...state, slots: { ...state.slots, [id]: slot } };
}

/** Re-clamp both slots after the duration changed. */
function reclampSlots(state: AppState, duration: number): AppState {
  let next: AppState = { ...state, duration };
  for (const id of ['A', 'B'] as const) {
    const s = next.slots[id];
    if (!s) continue;
    const moved: Slot = { ...s, start: clampStart(s.start, s, duration) };
    next = withSlot(next, id, { ...moved, view: keepSelectionVisible(moved, duration) });
  }
  return next;
}

function listScroll(index: number, scroll: number, rows: number): number {
  if (index < scroll) return index;
  if (index >= scroll + rows) return index - rows + 1;
  return scroll;
}

function zoomView(slot: Slot, duration: number, mode: 'in' | 'out' | 'fit' | 'all'): [number, number] {
  const full = slot.fileDuration;
  if (mode === 'all') return [0, full];
  if (mode === 'fit') return [slot.start, Math.min(full, slot.start + duration)];
  const [t0, t1] = slot.view;
  const w = t1 - t0;
  const minW = Math.max(0.01, 64 / slot.sampleRate);
  const nw = Math.min(full, Math.max(minW, mode === 'in' ? w / 2 : w * 2));
  const centre = slot.start + duration / 2;
  let a = centre - nw / 2;
  a = Math.max(0, Math.min(full - nw, a));
  return [a, a + nw];
}

/** Apply one action. Pure: never mutates `state`. */
export function reducer(state: AppState, action: Action): AppState {
  switch (action.type) {
    case 'resize': {
      const layout = computeLayout(action.columns, action.rows);
      if (layout.columns === state.layout.columns && layout.rows === state.layout.rows) return state;
      const oldN = state.curve.values.length;
      const values = resampleValues(state.curve.values, layout.plotWidth);
      const scale = (i: number) => (oldN > 1 ? Math.round((i / (oldN - 1)) * (layout.plotWidth - 1)) : 0);
      return {
        ...state,
        layout,
        curve: {
          ...state.curve,
          values,
          cursor: scale(state.curve.cursor),
          mark: state.curve.mark === null ? null : scale(state.curve.mark),
        },
        dataset: { ...state.dataset, scroll: listScroll(state.dataset.index, state.dataset.scroll, layout.listRows) },
      };
    }
    case 'focus':
      return { ...state, focus: action.panel };
    case 'focus-step': {
      const i = PANELS.indexOf(state.focus);
      return { ...state, focus: PANELS[(i + action.delta + PANELS.length) % PANELS.length] };
    }
    case 'dataset-loaded': {
      const files = [...action.files].sort((a, b) => a.relPath.localeCompare(b.relPath));
      return { ...state, dataset: { ...state.dataset, files, skipped: action.skipped, loading: false, error: null, index: 0, scroll: 0 } };
    }
    case 'dataset-error':
      return { ...state, dataset: { ...state.dataset, loading: false, error: action.error, files: [] } };
    case 'filter-type':
    case 'filter-backspace':
    case 'filter-clear': {
      const filter =
        action.type === 'filter-type'
          ? state.dataset.filter + action.text
          : action.type === 'filter-backspace'
            ? state.dataset.filter.slice(0, -1)
            : '';
      return { ...state, dataset: { ...state.dataset, filter, index: 0, scroll: 0 } };
    }
    case 'list-move':
    case 'list-jump': {
      const n = filteredFiles(state).length;
      if (n === 0) return state;
      const index =
        action.type === 'list-jump'
          ? action.to === 'first'
            ? 0
            : n - 1
          : Math.max(0, Math.min(n - 1, state.dataset.index + action.delta));
      return { ...state, dataset: { ...state.dataset, index, scroll: listScroll(index, state.dataset.scroll, state.layout.listRows) } };
    }
    case 'assign': {
      const e = action.entry;
      const others = { ...state.slots, [action.slot]: null };
      const own = floorTo(e.duration, DURATION_RESOLUTION);
      const limit = Math.min(maxDuration(others), own);
      const duration = round3(Math.max(Math.min(MIN_DURATION, own), Math.min(state.duration, limit)));
      const previous = state.slots[action.slot];
      const slot: Slot = {
        path: e.path,
        relPath: e.relPath,
        fileDuration: e.duration,
        sampleRate: e.sampleRate,
        start: 0,
        view: [0, e.duration],
        // The same file again: it was already found unreadable (another file clears this).
        ...(previous?.path === e.path && previous.unreadable ? { unreadable: true } : {}),
      };
      slot.start = clampStart(action.start ?? (previous?.path === e.path ? previous.start : 0), slot, duration);
      const next = reclampSlots(withSlot(state, action.slot, slot), duration);
      return {
        ...next,
        message: duration < state.duration ? { level: 'info', text: `duration shortened to ${duration.toFixed(2)} s to fit ${e.relPath}` } : next.message,
      };
    }
    case 'file-decoded': {
      if (!(action.duration > 0) || !Number.isFinite(action.duration)) return state;
      const listed = state.dataset.files.some((f) => f.path === action.path && f.duration !== action.duration);
      const files = listed ? state.dataset.files.map((f) => (f.path === action.path ? { ...f, duration: action.duration } : f)) : state.dataset.files;
      let next: AppState = listed ? { ...state, dataset: { ...state.dataset, files } } : state;
      let changed: Slot | null = null;
      for (const id of ['A', 'B'] as const) {
        const s = next.slots[id];
        if (!s || s.path !== action.path || (s.fileDuration === action.duration && !s.unreadable)) continue;
        const [v0, v1] = s.view;
        const view: [number, number] = [Math.min(v0, action.duration), Math.min(v1, action.duration)];
        changed = { ...s, fileDuration: action.duration, unreadable: false, view: view[1] - view[0] > 1e-3 ? view : [0, action.duration] };
        next = withSlot(next, id, changed);
      }
      if (!changed) return next;
      const limit = maxDuration(next.slots);
      const duration = round3(Math.max(Math.min(MIN_DURATION, limit), Math.min(next.duration, limit)));
      next = reclampSlots(next, duration);
      return duration < state.duration
        ? { ...next, message: { level: 'info', text: `duration shortened to ${duration.toFixed(2)} s: ${changed.relPath} holds ${action.duration.toFixed(3)} s` } }
        : next;
    }
    case 'file-unreadable': {
      let next = state;
      for (const id of ['A', 'B'] as const) {
        const s = next.slots[id];
        if (s && s.path === action.path && !s.unreadable) next = withSlot(next, id, { ...s, unreadable: true });
      }
      return next;
    }
    case 'selection-move':
    case 'selection-jump': {
      const s = state.slots[action.slot];
      if (!s) return state;
      let start: number;
      if (action.type === 'selection-jump') start = action.to === 'start' ? 0 : s.fileDuration - state.duration;
      else start = s.start + (action.columns * (s.view[1] - s.view[0])) / state.layout.plotWidth;
      const moved: Slot = { ...s, start: clampStart(start, s, state.duration) };
      return withSlot(state, action.slot, { ...moved, view: keepSelectionVisible(moved, state.duration) });
    }
    case 'duration-change': {
      const limit = maxDuration(state.slots);
      const d = round3(Math.max(Math.min(MIN_DURATION, limit), Math.min(limit, state.duration + action.delta)));
      if (d === state.duration) return state;
      return reclampSlots(state, d);
    }
    case 'zoom': {
      const s = state.slots[action.slot];
      if (!s) return state;
      return withSlot(state, action.slot, { ...s, view: zoomView(s, state.duration, action.mode) });
    }
    case 'cursor-move':
    case 'cursor-jump': {
      const n = state.curve.values.length;
      const cursor =
        action.type === 'cursor-jump'
          ? action.to === 'first'
            ? 0
            : n - 1
          : Math.max(0, Math.min(n - 1, state.curve.cursor + action.delta));
      return { ...state, curve: { ...state.curve, cursor } };
    }
    case 'curve-nudge':
    case 'curve-set': {
      const c = state.curve;
      const v = action.type === 'curve-set' ? action.value : c.values[c.cursor] + action.delta;
      return { ...state, curve: { ...c, values: setValue(c.values, c.cursor, v, c.range) } };
    }
    case 'curve-mark':
      return {
        ...state,
        curve: { ...state.curve, mark: state.curve.cursor },
        message: { level: 'info', text: `breakpoint set at column ${state.curve.cursor + 1}; move and press l to draw a line to it` },
      };
    case 'curve-line': {
      const c = state.curve;
      if (c.mark === null) return { ...state, message: { level: 'warn', text: 'no breakpoint yet: press b at the start point first' } };
      // The cursor becomes the next breakpoint, so a polyline is drawn with b, move, l, move, l ...
      return { ...state, curve: { ...c, values: drawLine(c.values, c.mark, c.cursor), mark: c.cursor } };
    }
    case 'curve-smooth':
      return { ...state, curve: { ...state.curve, values: smoothValues(state.curve.values) } };
    case 'curve-reset':
      return { ...state, curve: { ...state.curve, values: state.curve.values.map(() => RESET_VALUE), mark: null } };
    case 'curve-range-cycle': {
      const i = CURVE_RANGES.findIndex((r) => r[0] === state.curve.range[0] && r[1] === state.curve.range[1]);
      const range = [...CURVE_RANGES[(i + 1) % CURVE_RANGES.length]] as [number, number];
      const values = state.curve.values.map((v) => clampAmount(v, range[0], range[1]));
      return { ...state, curve: { ...state.curve, range, values }, message: { level: 'info', text: `curve range ${range[0]} .. ${range[1]}` } };
    }
    case 'curve-load': {
      const r = state.curve.range;
      const values = resampleValues(action.values, state.layout.plotWidth).map((v) => clampAmount(v, r[0], r[1]));
      return { ...state, curve: { ...state.curve, values, mark: null }, message: { level: 'info', text: `preset ${action.name} loaded` } };
    }
    case 'normalize-toggle':
      return { ...state, settings: { ...state.settings, normalize: !state.settings.normalize } };
    case 'method-cycle': {
      const methods = methodsFor(state.model.transform);
      const i = methods.indexOf(state.settings.method);
      return { ...state, settings: { ...state.settings, method: methods[(i + 1) % methods.length] } };
    }
    case 'iterations-step': {
      const steps = ITERATION_STEPS as readonly number[];
      let i = steps.findIndex((s) => s >= state.settings.iterations);
      if (i < 0) i = steps.length - 1;
      if (steps[i] !== state.settings.iterations && action.delta < 0) i += 1;
      const j = Math.max(0, Math.min(steps.length - 1, i + action.delta));
      return { ...state, settings: { ...state.settings, iterations: steps[j] } };
    }
    case 'device-choose':
      return { ...state, settings: { ...state.settings, deviceId: action.id } };
    case 'model-loaded': {
      const methods = methodsFor(action.transform);
      const method = methods.includes(state.settings.method) ? state.settings.method : methods[0];
      return {
        ...state,
        model: { ...state.model, name: action.name, sampleRate: action.sampleRate, transform: action.transform, loading: false, error: null },
        settings: { ...state.settings, method },
      };
    }
    case 'model-error':
      return { ...state, model: { ...state.model, loading: false, error: action.error }, message: { level: 'error', text: action.error } };
    case 'backend':
      return { ...state, backend: action.name };
    case 'audio-status':
      return { ...state, audio: { available: action.available, reason: action.reason, devices: action.devices } };
    case 'render-start':
      return { ...state, render: { ...state.render, busy: true, stage: 'load', fraction: 0 } };
    case 'render-progress':
      return { ...state, render: { ...state.render, stage: action.stage, fraction: action.fraction } };
    case 'render-done':
      return { ...state, render: { ...state.render, last: action.last } };
    case 'render-end':
      return { ...state, render: { ...state.render, busy: false, stage: null, fraction: 0 } };
    case 'playing':
      return { ...state, playing: action.what === null ? null : { what: action.what } };
    case 'message':
      return { ...state, message: action.message };
    case 'overlay':
      return { ...state, overlay: action.overlay };
    case 'overlay-move': {
      const o = state.overlay;
      if (o?.kind === 'help') return { ...state, overlay: { ...o, scroll: Math.max(0, o.scroll + action.delta) } };
      if (!o || o.kind === 'prompt') return state;
      const n = o.kind === 'devices' ? state.audio.devices.length : o.kind === 'midi' ? midiRowCount(state) : o.names.length;
      if (n === 0) return state;
      return { ...state, overlay: { ...o, index: Math.max(0, Math.min(n - 1, o.index + action.delta)) } };
    }
    case 'prompt-type':
    case 'prompt-backspace':
    case 'prompt-clear': {
      const o = state.overlay;
      if (!o || o.kind !== 'prompt') return state;
      const text =
        action.type === 'prompt-type' ? (o.text + action.text).slice(0, 500) : action.type === 'prompt-clear' ? '' : o.text.slice(0, -1);
      return { ...state, overlay: { ...o, text } };
    }
    case 'restore': {
      const s = action.session;
      const range = CURVE_RANGES.find((r) => r[0] === s.curve.range[0] && r[1] === s.curve.range[1]) ?? CURVE_RANGES[0];
      const values = resampleValues(s.curve.values, state.layout.plotWidth).map((v) => clampAmount(v, range[0], range[1]));
      let next: AppState = {
        ...state,
        duration: Math.max(MIN_DURATION, s.duration),
        curve: { values, cursor: 0, mark: null, range: [range[0], range[1]] },
        settings: {
          ...s.settings,
          method: methodsFor(state.model.transform).includes(s.settings.method) ? s.settings.method : methodsFor(state.model.transform)[0],
        },
        render: { ...state.render, last: s.lastRender },
      };
      if (s.live) {
        const [lo, hi] = KNOB_RANGE[s.live.mode];
        next = { ...next, live: { ...next.live, loop: s.live.loop, mode: s.live.mode, knob: Math.min(hi, Math.max(lo, s.live.knob)) } };
      }
      for (const id of ['A', 'B'] as const) {
        const saved = s.slots[id];
        if (!saved) continue;
        const entry = state.dataset.files.find((f) => f.path === saved.path);
        if (entry) next = reducer(next, { type: 'assign', slot: id, entry, start: saved.start });
      }
      return { ...next, message: null };
    }
    case 'selection-set': {
      const sl = state.slots[action.slot];
      if (!sl || !Number.isFinite(action.fraction)) return state;
      const moved: Slot = { ...sl, start: clampStart(Math.max(0, Math.min(1, action.fraction)) * sl.fileDuration, sl, state.duration) };
      if (moved.start === sl.start) return state;
      return withSlot(state, action.slot, { ...moved, view: keepSelectionVisible(moved, state.duration) });
    }
    case 'live-knob':
    case 'live-knob-nudge': {
      const [lo, hi] = KNOB_RANGE[state.live.mode];
      const raw = action.type === 'live-knob' ? action.value : state.live.knob + action.delta;
      if (!Number.isFinite(raw)) return state;
      const knob = Math.round(Math.max(lo, Math.min(hi, raw)) * 1e4) / 1e4;
      const source = action.type === 'live-knob' ? action.source : 'keys';
      if (knob === state.live.knob && source === state.live.source) return state;
      return { ...state, live: { ...state.live, knob, source } };
    }
    case 'live-loop-toggle':
      return { ...state, live: { ...state.live, loop: !state.live.loop } };
    case 'live-mode': {
      if (action.mode === state.live.mode) return state;
      return { ...state, live: { ...state.live, mode: action.mode, knob: action.mode === 'offset' ? 0 : 0.5, source: 'keys' } };
    }
    case 'live-starting':
      return { ...state, live: { ...state.live, starting: true } };
    case 'live-started':
      if (action.updated && state.live.on) {
        const position = Math.min(state.live.position, Math.max(0, action.frames - 1));
        return { ...state, live: { ...state.live, starting: false, frames: action.frames, position, latencyMs: action.latencyMs } };
      }
      return { ...state, live: { ...state.live, on: true, starting: false, frames: action.frames, position: 0, underruns: 0, latencyMs: action.latencyMs } };
    case 'live-kept':
      return state.live.starting ? { ...state, live: { ...state.live, starting: false } } : state;
    case 'live-stopped':
      return { ...state, live: { ...state.live, on: false, starting: false, amount: null, latencyMs: null } };
    case 'live-status':
      // The knob and who moved it are the UI's own (keys and the UI's MIDI mapper see every change first).
      return { ...state, live: { ...state.live, position: action.position, frames: action.frames, amount: action.amount, underruns: action.underruns } };
    case 'midi-status':
      return { ...state, midi: { ...state.midi, available: action.available, reason: action.reason, ports: action.ports, open: action.open } };
    case 'midi-mappings':
      return { ...state, midi: { ...state.midi, mappings: action.mappings, learning: action.learning } };
    case 'midi-last':
      return { ...state, midi: { ...state.midi, last: action.text } };
    case 'osc-status':
      return { ...state, osc: { running: action.running, starting: action.starting, port: action.port, replyPort: action.replyPort, error: action.error } };
    case 'listen-status':
      return { ...state, listen: { url: action.url, clients: action.clients } };
    case 'quit':
      return { ...state, quitting: true };
  }
}

/** Rows of the MIDI panel: one per input port, then one per {@link LEARN_ROWS} entry. */
export function midiRowCount(state: AppState): number {
  return state.midi.ports.length + LEARN_ROWS.length;
}

/** What the MIDI panel's row `index` is: a port to open, or a parameter to learn. */
export function midiRow(state: AppState, index: number): { kind: 'port'; index: number } | { kind: 'learn'; row: (typeof LEARN_ROWS)[number] } | null {
  if (index < 0) return null;
  if (index < state.midi.ports.length) return { kind: 'port', index };
  const row = LEARN_ROWS[index - state.midi.ports.length];
  return row ? { kind: 'learn', row } : null;
}

/** The restorable part of the state, as saved in the session file. */
export function restorable(state: AppState): RestorableState {
  const slot = (s: Slot | null) => (s ? { path: s.path, start: s.start } : null);
  return {
    slots: { A: slot(state.slots.A), B: slot(state.slots.B) },
    duration: state.duration,
    curve: { values: state.curve.values, range: state.curve.range },
    settings: state.settings,
    lastRender: state.render.last,
    live: { loop: state.live.loop, mode: state.live.mode, knob: state.live.knob },
  };
}
