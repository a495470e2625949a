/**
 * MIDI mappings and MIDI learn for the instrument's parameters.
 *
 * Parameters (issue 6):
 * - `amount`: the interpolation amount `a` of `z = a * z_A + (1 - a) * z_B` (Tatar et al. 2020).
 *   Range default [-0.3, 1.3] (a little extrapolation on both sides). Mode `absolute`: the
 *   controller sets `a` for every frame (the drawn curve is ignored); mode `offset`: the
 *   controller's value is added to the drawn curve, frame by frame (range default [-0.5, 0.5]),
 *   and the sum is clamped to [-0.3, 1.3] ({@link AMOUNT_LIMITS}).
 * - `startA`, `startB`: start positions of the two excerpts, as a fraction [0, 1] of the
 *   source file's length (the caller multiplies by the file duration).
 * - `trigger`: Generate & Play. A note-on fires it; a controller or pitch bend fires it when
 *   its value crosses the middle (0.5 for controllers, 0 for pitch bend) upwards.
 *
 * Continuous parameters follow a {@link ControlTracker} (14-bit controller pairing, pitch bend,
 * linear anti-zipper ramps); read them with {@link MidiMapper.value} at the time you need them
 * (e.g. once per audio block), or react to {@link MidiMapper.onChange} for the UI.
 * A continuous parameter bound to a note takes the note-on velocity (`velocity / 127`).
 *
 * Mappings are saved as JSON (`presets/<name>.midi.json` by convention; the caller gives the path):
 * `{ "format": "lts-midi-map", "version": 1, "rampMs": 8, "mappings": [ { "param": "amount",
 * "source": { "kind": "cc", "channel": 0, "controller": 1 }, "min": -0.3, "max": 1.3, "mode": "absolute" } ] }`.
 * Channels are 0..15 in files and code (shown as 1..16 to users).
 */
import { readFileSync } from 'node:fs';
import { ControlTracker, type MidiEvent, type ControlSource } from '../io/midi.ts';
import { UserError } from '../io/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

/** The mappable parameters. */
export type MidiParam = 'amount' | 'startA' | 'startB' | 'trigger';

/** All parameters, in display order. */
export const MIDI_PARAMS: readonly MidiParam[] = ['amount', 'startA', 'startB', 'trigger'];

/** What a parameter listens to. */
export type MidiSource =
  /** `hiRes`: the controller (0..31) was seen sending its LSB (n + 32): a 14-bit control. Set by learn/apply, saved. */
  | { kind: 'cc'; channel: number; controller: number; hiRes?: boolean }
  | { kind: 'pitchbend'; channel: number }
  | { kind: 'note'; channel: number; note: number };

/** How a controller value enters `amount`. */
export type AmountMode = 'absolute' | 'offset';

/** One binding of a MIDI source to a parameter. */
export interface MidiMapping {
  param: MidiParam;
  source: MidiSource;
  /** Parameter value at the control's minimum (controller 0, pitch bend fully down, velocity 0). */
  min: number;
  /** Parameter value at the control's maximum. `min > max` inverts the control. */
  max: number;
  /** Only for `amount`: absolute (default) or offset added to the drawn curve. */
  mode?: AmountMode;
}

/** Hard limits of `amount` after an offset is added (the default absolute range). */
export const AMOUNT_LIMITS: readonly [number, number] = [-0.3, 1.3];

/**
 * Range of the live control in each mode: the amount `a` itself ({@link AMOUNT_LIMITS}), or an
 * offset added to the drawn curve. Shared by the live engine and the instrument's knob.
 */
export const LIVE_CONTROL_RANGE: Readonly<Record<AmountMode, readonly [number, number]>> = { absolute: AMOUNT_LIMITS, offset: [-1, 1] };

/** Clamp a live control value to its mode's range ({@link LIVE_CONTROL_RANGE}). */
export function clampLiveControl(mode: AmountMode, v: number): number {
  const [lo, hi] = LIVE_CONTROL_RANGE[mode];
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Default [min, max] of a parameter: amount [-0.3, 1.3] (absolute) or [-0.5, 0.5] (offset),
 * startA/startB [0, 1], trigger [0, 1].
 */
export function defaultRange(param: MidiParam, mode: AmountMode = 'absolute'): [number, number] {
  if (param === 'amount') return mode === 'offset' ? [-0.5, 0.5] : [AMOUNT_LIMITS[0], AMOUNT_LIMITS[1]];
  return [0, 1];
}

/** A change of a parameter, delivered to {@link MidiMapper.onChange} listeners. */
export interface MidiParamChange {
  param: MidiParam;
  /** New target value (before smoothing), in the parameter's units. */
  value: number;
  /** Message time, seconds (the clock passed to `handleBytes`). */
  t: number;
}

/** Learn state: idle, or waiting for the next message to bind `param`. */
export type LearnState = { state: 'idle' } | { state: 'armed'; param: MidiParam; mode: AmountMode };

function sameSource(a: MidiSource, b: MidiSource): boolean {
  if (a.kind !== b.kind || a.channel !== b.channel) return false;
  if (a.kind === 'cc' && b.kind === 'cc') return a.controller === b.controller;
  if (a.kind === 'note' && b.kind === 'note') return a.note === b.note;
  return true;
}

/** Human-readable source, e.g. `CC 1 ch 1`, `pitch bend ch 2`, `note 60 ch 10`. */
export function describeSource(s: MidiSource): string {
  const ch = `ch ${s.channel + 1}`;
  if (s.kind === 'cc') return `CC ${s.controller} ${ch}`;
  if (s.kind === 'pitchbend') return `pitch bend ${ch}`;
  return `note ${s.note} ${ch}`;
}

/**
 * Mappings, MIDI learn and parameter values. Feed it raw MIDI with {@link handleBytes}
 * (the MIDI input's callback does exactly that, see `connectMidi` in src/io/midi.ts).
 */
export class MidiMapper {
  readonly tracker: ControlTracker;
  private maps: MidiMapping[] = [];
  private learn: LearnState = { state: 'idle' };
  private readonly changeListeners = new Set<(c: MidiParamChange) => void>();
  private readonly triggerListeners = new Set<(t: number) => void>();
  private readonly learnListeners = new Set<(m: MidiMapping) => void>();
  /** Note-bound continuous values (velocity / 127), keyed by param. */
  private readonly noteValues = new Map<MidiParam, number>();
  /** Last unit value of each trigger source, for upward-crossing detection. */
  private readonly lastTriggerUnit = new Map<string, number>();

  /**
   * @param opts.rampMs Smoothing ramp in milliseconds, default 8 (see ControlTracker).
   * @param opts.mappings Initial mappings (validated).
   */
  constructor(opts: { rampMs?: number; mappings?: MidiMapping[] } = {}) {
    this.tracker = new ControlTracker({ rampSeconds: (opts.rampMs ?? 8) / 1000 });
    for (const m of opts.mappings ?? []) this.setMapping(m);
  }

  /** Smoothing ramp in milliseconds. */
  get rampMs(): number { return this.tracker.rampSeconds * 1000; }

  /** The current mappings (copies). */
  mappings(): MidiMapping[] {
    return this.maps.map((m) => ({ ...m, source: { ...m.source } }));
  }

  /** The mapping of `param`, if any. */
  mappingOf(param: MidiParam): MidiMapping | undefined {
    const m = this.maps.find((x) => x.param === param);
    return m ? { ...m, source: { ...m.source } } : undefined;
  }

  /**
   * Bind a source to a parameter, replacing the parameter's previous mapping and removing the
   * source from any other parameter (one control drives one parameter).
   * @throws UserError (one line) for an invalid mapping.
   */
  setMapping(m: MidiMapping): void {
    const v = validateMapping(m, 'mapping');
    this.maps = this.maps.filter((x) => x.param !== v.param && !sameSource(x.source, v.source));
    this.maps.push(v);
    if (v.source.kind === 'cc' && v.source.hiRes) this.tracker.declareHiRes(v.source.channel, v.source.controller);
    this.maps.sort((a, b) => MIDI_PARAMS.indexOf(a.param) - MIDI_PARAMS.indexOf(b.param));
  }

  /** Remove the mapping of `param`. */
  clearMapping(param: MidiParam): void {
    this.maps = this.maps.filter((x) => x.param !== param);
    this.noteValues.delete(param);
  }

  /** The learn state. */
  learnState(): LearnState { return { ...this.learn }; }

  /**
   * Arm MIDI learn: the next control change (0..119; channel mode messages are skipped), pitch bend or note-on binds `param`
   * (with the default range of the parameter and `mode`). Arming again re-targets; see {@link cancelLearn}.
   */
  armLearn(param: MidiParam, mode: AmountMode = 'absolute'): void {
    if (!MIDI_PARAMS.includes(param)) throw new UserError(`unknown MIDI parameter "${String(param)}"; use one of ${MIDI_PARAMS.join(', ')}`);
    this.learn = { state: 'armed', param, mode: param === 'amount' ? mode : 'absolute' };
  }

  /** Leave learn mode without binding. */
  cancelLearn(): void { this.learn = { state: 'idle' }; }

  /** Listen to parameter changes; returns an unsubscribe function. */
  onChange(cb: (c: MidiParamChange) => void): () => void {
    this.changeListeners.add(cb);
    return () => { this.changeListeners.delete(cb); };
  }

  /** Listen to `trigger` (Generate & Play); `cb` receives the message time. Returns an unsubscribe function. */
  onTrigger(cb: (t: number) => void): () => void {
    this.triggerListeners.add(cb);
    return () => { this.triggerListeners.delete(cb); };
  }

  /** Listen to completed MIDI learns. Returns an unsubscribe function. */
  onLearn(cb: (m: MidiMapping) => void): () => void {
    this.learnListeners.add(cb);
    return () => { this.learnListeners.delete(cb); };
  }

  /**
   * The entry for incoming MIDI: parse the bytes (see ControlTracker.handleBytes), complete a
   * pending learn, update parameters and notify listeners.
   * @param bytes Raw MIDI bytes (one or more messages).
   * @param t Arrival time, seconds, on the clock later used with {@link value}.
   * @returns The parsed events.
   */
  handleBytes(bytes: ArrayLike<number>, t: number): MidiEvent[] {
    return this.tracker.handleBytes(bytes, t, (ev) => this.apply(ev, t));
  }

  private learnSource(ev: MidiEvent): MidiSource | undefined {
    if (ev.type === 'noteon') return { kind: 'note', channel: ev.channel, note: ev.note };
    if (ev.type === 'pitchbend') return { kind: 'pitchbend', channel: ev.channel };
    if (ev.type === 'cc') {
      // Channel mode messages (120..127: all notes off, reset...) are not controls.
      if (ev.controller >= 120) return undefined;
      // An LSB (32..63) of a pair whose MSB is known to be 14-bit binds the pair.
      if (ev.controller >= 32 && ev.controller < 64 && this.tracker.isHiRes(ev.channel, ev.controller - 32)) {
        return { kind: 'cc', channel: ev.channel, controller: ev.controller - 32, hiRes: true };
      }
      if (ev.controller < 32 && this.tracker.isHiRes(ev.channel, ev.controller)) return { kind: 'cc', channel: ev.channel, controller: ev.controller, hiRes: true };
      return { kind: 'cc', channel: ev.channel, controller: ev.controller };
    }
    return undefined;
  }

  private apply(ev: MidiEvent, t: number): void {
    if (this.learn.state === 'armed') {
      const src = this.learnSource(ev);
      if (src) {
        const { param, mode } = this.learn;
        const [min, max] = defaultRange(param, mode);
        const m: MidiMapping = param === 'amount' ? { param, source: src, min, max, mode } : { param, source: src, min, max };
        this.setMapping(m);
        this.learn = { state: 'idle' };
        if (param === 'trigger') this.lastTriggerUnit.set(triggerKey(src), this.unitOf(src) ?? 0);
        for (const l of this.learnListeners) l({ ...m, source: { ...m.source } });
        // The learning message itself sets the value (but does not fire a trigger).
        if (param !== 'trigger') this.emitValue(m, ev, t);
        return;
      }
    }
    if (ev.type === 'cc' && ev.controller >= 32 && ev.controller < 64) {
      // An LSB arrived: the mapped MSB controller is 14-bit (remembered in the mapping, so it is saved).
      for (const m of this.maps) {
        if (m.source.kind === 'cc' && m.source.channel === ev.channel && m.source.controller === ev.controller - 32) m.source.hiRes = true;
      }
    }
    for (const m of this.maps) {
      if (!matches(m.source, ev, this.tracker)) continue;
      if (m.param === 'trigger') this.handleTrigger(m, ev, t);
      else this.emitValue(m, ev, t);
    }
  }

  private unitOf(src: MidiSource): number | undefined {
    if (src.kind === 'note') return undefined;
    const v = this.tracker.target(trackerSource(src));
    if (v === undefined) return undefined;
    return src.kind === 'pitchbend' ? (v + 1) / 2 : v;
  }

  private handleTrigger(m: MidiMapping, ev: MidiEvent, t: number): void {
    let fire = false;
    if (m.source.kind === 'note') fire = ev.type === 'noteon';
    else {
      const key = triggerKey(m.source);
      const unit = this.unitOf(m.source) ?? 0;
      const prev = this.lastTriggerUnit.get(key) ?? 0;
      fire = prev < 0.5 && unit >= 0.5;
      this.lastTriggerUnit.set(key, unit);
    }
    if (fire) for (const l of this.triggerListeners) l(t);
  }

  private emitValue(m: MidiMapping, ev: MidiEvent, t: number): void {
    let unit: number | undefined;
    if (m.source.kind === 'note') {
      if (ev.type !== 'noteon') return;
      unit = ev.velocity / 127;
      this.noteValues.set(m.param, unit);
    } else {
      unit = this.unitOf(m.source);
    }
    if (unit === undefined) return;
    const value = m.min + unit * (m.max - m.min);
    for (const l of this.changeListeners) l({ param: m.param, value, t });
  }

  /**
   * The smoothed value of a mapped continuous parameter at time `t`, in its units
   * (for `amount` in offset mode: the offset). Undefined when the parameter is unmapped or its
   * control has not moved yet; `trigger` has no value.
   */
  value(param: Exclude<MidiParam, 'trigger'>, t: number): number | undefined {
    const m = this.maps.find((x) => x.param === param);
    if (!m) return undefined;
    let unit: number | undefined;
    if (m.source.kind === 'note') unit = this.noteValues.get(param);
    else {
      const v = this.tracker.valueAt(trackerSource(m.source), t);
      unit = v === undefined ? undefined : m.source.kind === 'pitchbend' ? (v + 1) / 2 : v;
    }
    return unit === undefined ? undefined : m.min + unit * (m.max - m.min);
  }

  /**
   * The amount curve to render with, per frame, at time `t`.
   * - No `amount` mapping, or its control has not moved: `curve` unchanged (a copy).
   * - Absolute mode: every frame gets the controller's value.
   * - Offset mode: `clamp(curve[i] + offset, -0.3, 1.3)`.
   * @param curve The drawn curve resampled to frames, `[frames]`.
   */
  amountCurve(curve: Float32Array, t: number): Float32Array {
    const out = Float32Array.from(curve);
    const m = this.maps.find((x) => x.param === 'amount');
    const v = this.value('amount', t);
    if (!m || v === undefined) return out;
    if ((m.mode ?? 'absolute') === 'absolute') return out.fill(v);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(AMOUNT_LIMITS[1], Math.max(AMOUNT_LIMITS[0], out[i] + v));
    return out;
  }
}

/** Identity of a trigger source for edge detection (ignores the `hiRes` flag, which may be learned later). */
function triggerKey(src: MidiSource): string {
  if (src.kind === 'cc') return `cc:${src.channel}:${src.controller}`;
  if (src.kind === 'pitchbend') return `pb:${src.channel}`;
  return `note:${src.channel}:${src.note}`;
}

function trackerSource(src: Exclude<MidiSource, { kind: 'note' }>): ControlSource {
  return src.kind === 'cc' ? { kind: 'cc', channel: src.channel, controller: src.controller } : { kind: 'pitchbend', channel: src.channel };
}

function matches(src: MidiSource, ev: MidiEvent, tracker: ControlTracker): boolean {
  if (src.kind === 'note') return (ev.type === 'noteon' || ev.type === 'noteoff') && ev.channel === src.channel && ev.note === src.note;
  if (src.kind === 'pitchbend') return ev.type === 'pitchbend' && ev.channel === src.channel;
  if (ev.type !== 'cc' || ev.channel !== src.channel) return false;
  if (ev.controller === src.controller) return true;
  // The LSB partner of a 14-bit controller updates it too.
  return src.controller < 32 && ev.controller === src.controller + 32 && tracker.isHiRes(src.channel, src.controller);
}

/** The JSON shape of a saved mapping file. */
export interface MidiMapFile {
  format: 'lts-midi-map';
  version: 1;
  rampMs: number;
  mappings: MidiMapping[];
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function intIn(x: unknown, lo: number, hi: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
}

/** Validate one mapping; `where` prefixes the one-line error (e.g. `presets/x.json: mapping 2`). */
function validateMapping(m: unknown, where: string): MidiMapping {
  if (!isObj(m)) throw new UserError(`${where}: must be an object with param, source, min, max`);
  const param = m.param;
  if (typeof param !== 'string' || !MIDI_PARAMS.includes(param as MidiParam)) {
    throw new UserError(`${where}: "param" must be one of ${MIDI_PARAMS.join(', ')}, got ${JSON.stringify(param)}`);
  }
  const s = m.source;
  if (!isObj(s)) throw new UserError(`${where}: "source" must be an object like {"kind":"cc","channel":0,"controller":1}`);
  if (!intIn(s.channel, 0, 15)) throw new UserError(`${where}: source "channel" must be an integer 0..15, got ${JSON.stringify(s.channel)}`);
  let source: MidiSource;
  if (s.kind === 'cc') {
    if (!intIn(s.controller, 0, 119)) throw new UserError(`${where}: source "controller" must be an integer 0..119, got ${JSON.stringify(s.controller)}`);
    if (s.hiRes !== undefined && typeof s.hiRes !== 'boolean') throw new UserError(`${where}: source "hiRes" must be true or false, got ${JSON.stringify(s.hiRes)}`);
    if (s.hiRes === true && s.controller >= 32) throw new UserError(`${where}: source "hiRes" needs a controller 0..31 (the MSB of a 14-bit pair), got ${s.controller}`);
    source = s.hiRes === true ? { kind: 'cc', channel: s.channel, controller: s.controller, hiRes: true } : { kind: 'cc', channel: s.channel, controller: s.controller };
  } else if (s.kind === 'pitchbend') {
    source = { kind: 'pitchbend', channel: s.channel };
  } else if (s.kind === 'note') {
    if (!intIn(s.note, 0, 127)) throw new UserError(`${where}: source "note" must be an integer 0..127, got ${JSON.stringify(s.note)}`);
    source = { kind: 'note', channel: s.channel, note: s.note };
  } else {
    throw new UserError(`${where}: source "kind" must be cc, pitchbend or note, got ${JSON.stringify(s.kind)}`);
  }
  const mode = m.mode === undefined ? undefined : m.mode;
  if (mode !== undefined && mode !== 'absolute' && mode !== 'offset') {
    throw new UserError(`${where}: "mode" must be absolute or offset, got ${JSON.stringify(mode)}`);
  }
  if (mode === 'offset' && param !== 'amount') throw new UserError(`${where}: "mode" offset only applies to amount, not ${param}`);
  const [dmin, dmax] = defaultRange(param as MidiParam, (mode ?? 'absolute') as AmountMode);
  const min = m.min === undefined ? dmin : m.min;
  const max = m.max === undefined ? dmax : m.max;
  for (const [k, v] of [['min', min], ['max', max]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 10) {
      throw new UserError(`${where}: "${k}" must be a number between -10 and 10, got ${JSON.stringify(v)}`);
    }
  }
  if ((param === 'startA' || param === 'startB') && ((min as number) < 0 || (min as number) > 1 || (max as number) < 0 || (max as number) > 1)) {
    throw new UserError(`${where}: ${param} range must lie within 0..1 (fraction of the file), got ${min}..${max}`);
  }
  const out: MidiMapping = { param: param as MidiParam, source, min: min as number, max: max as number };
  if (param === 'amount') out.mode = (mode ?? 'absolute') as AmountMode;
  return out;
}

/** Serialise a mapper's mappings and smoothing to the file format (pretty JSON, trailing newline). */
export function midiMapToJson(mapper: MidiMapper): string {
  const file: MidiMapFile = { format: 'lts-midi-map', version: 1, rampMs: mapper.rampMs, mappings: mapper.mappings() };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Parse and validate a mapping file's text.
 * @param text File content.
 * @param name File name used in error messages.
 * @throws UserError with one line naming the file, the problem and the fix.
 */
export function parseMidiMap(text: string, name: string): MidiMapFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${name}: not valid JSON (${(e as Error).message}); fix the file or delete it and learn the mappings again`);
  }
  if (!isObj(data) || data.format !== 'lts-midi-map') {
    throw new UserError(`${name}: not an LTS MIDI mapping file (expected "format": "lts-midi-map")`);
  }
  if (data.version !== 1) throw new UserError(`${name}: unsupported MIDI mapping version ${JSON.stringify(data.version)} (this lts reads version 1)`);
  const rampMs = data.rampMs === undefined ? 8 : data.rampMs;
  if (typeof rampMs !== 'number' || !(rampMs >= 0 && rampMs <= 1000)) throw new UserError(`${name}: "rampMs" must be a number 0..1000, got ${JSON.stringify(rampMs)}`);
  if (!Array.isArray(data.mappings)) throw new UserError(`${name}: "mappings" must be a list`);
  const mappings = data.mappings.map((m, i) => validateMapping(m, `${name}: mapping ${i + 1}`));
  const params = new Set<string>();
  for (const [i, m] of mappings.entries()) {
    if (params.has(m.param)) throw new UserError(`${name}: mapping ${i + 1}: "${m.param}" is mapped twice; keep one`);
    params.add(m.param);
  }
  return { format: 'lts-midi-map', version: 1, rampMs, mappings };
}

/** Save a mapper's mappings to `path` atomically (temp file + rename). The directory must exist. */
export function saveMidiMap(path: string, mapper: MidiMapper): void {
  writeFileAtomic(path, midiMapToJson(mapper));
}

/**
 * Load a mapping file into a new {@link MidiMapper}.
 * @throws UserError (one line) if the file is missing, unreadable or invalid.
 */
export function loadMidiMap(path: string): MidiMapper {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${path}: MIDI mapping file not found; save one first (MIDI learn) or check the name`
      : `${path}: cannot read the MIDI mapping file (${code ?? (e as Error).message})`);
  }
  const f = parseMidiMap(text, path);
  return new MidiMapper({ rampMs: f.rampMs, mappings: f.mappings });
}
