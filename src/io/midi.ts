/**
 * MIDI input: the device (RtMidi through `@julusian/midi`), a byte parser, and a
 * {@link ControlTracker} that turns controller messages into smooth, normalised values.
 *
 * Data path (the same for a device and for tests, which feed raw bytes):
 * `device callback -> ControlTracker.handleBytes(bytes, t) -> MidiEvent[]` (and the
 * tracker's per-control state), then the engine's mapping (`src/engine/midi-map.ts`).
 *
 * MIDI 1.0 facts used here (MIDI Manufacturers Association, "MIDI 1.0 Detailed
 * Specification", 1996):
 * - Channel messages: `0x8n` note off, `0x9n` note on (velocity 0 means note off),
 *   `0xAn` poly pressure, `0xBn` control change, `0xCn` program change, `0xDn` channel
 *   pressure, `0xEn` pitch bend (LSB first, 14 bits, centre 8192); `n` is the channel 0..15.
 * - Running status: a data byte without a status byte reuses the last channel status.
 *   System real-time bytes (`0xF8..0xFF`) may appear anywhere, even inside a message.
 * - Controllers 0..31 are the MSB of a 14-bit pair whose LSB is controller n + 32;
 *   receiving the MSB resets the LSB to 0.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { UserError } from './errors.ts';

/** A parsed MIDI message. Channels are 0..15 (display them as 1..16). */
export type MidiEvent =
  | { type: 'noteon'; channel: number; note: number; velocity: number }
  /** Note off, including note on with velocity 0 (`velocity` is then 0). */
  | { type: 'noteoff'; channel: number; note: number; velocity: number }
  | { type: 'cc'; channel: number; controller: number; value: number }
  /** `value` 0..16383, centre 8192; `bend` in [-1, 1] (0 at the centre, exactly ±1 at the ends). */
  | { type: 'pitchbend'; channel: number; value: number; bend: number }
  | { type: 'program'; channel: number; program: number }
  | { type: 'polypressure'; channel: number; note: number; pressure: number }
  | { type: 'pressure'; channel: number; pressure: number }
  /** System messages (sysex, clock, transport...), kept as bytes. */
  | { type: 'system'; bytes: Uint8Array }
  /** Bytes that do not form a valid message; `reason` is one line. */
  | { type: 'invalid'; bytes: Uint8Array; reason: string };

/** Data bytes that follow each channel status (high nibble 0x8..0xE). */
const DATA_LEN: Record<number, number> = { 0x8: 2, 0x9: 2, 0xa: 2, 0xb: 2, 0xc: 1, 0xd: 1, 0xe: 2 };

/** Pitch-bend value 0..16383 to [-1, 1]: 0 -> -1, 8192 -> 0, 16383 -> +1 (the two halves scale separately). */
export function bendToUnit(value: number): number {
  return value >= 8192 ? (value - 8192) / 8191 : (value - 8192) / 8192;
}

/**
 * Parse one complete MIDI message (status byte first).
 *
 * @param bytes The message, e.g. `[0x90, 60, 100]` (note on, channel 1, middle C, velocity 100).
 * @returns The event; malformed input gives `{ type: 'invalid', reason }` instead of throwing.
 */
export function parseMidi(bytes: ArrayLike<number>): MidiEvent {
  const b = Uint8Array.from(bytes as ArrayLike<number>);
  if (b.length === 0) return { type: 'invalid', bytes: b, reason: 'empty MIDI message' };
  const status = b[0];
  if (status < 0x80) return { type: 'invalid', bytes: b, reason: `MIDI message starts with data byte ${status}, not a status byte` };
  if (status >= 0xf0) return { type: 'system', bytes: b };
  const kind = status >> 4;
  const channel = status & 0x0f;
  const need = DATA_LEN[kind];
  if (b.length < 1 + need) return { type: 'invalid', bytes: b, reason: `MIDI status 0x${status.toString(16)} needs ${need} data bytes, got ${b.length - 1}` };
  for (let i = 1; i <= need; i++) {
    if (b[i] > 0x7f) return { type: 'invalid', bytes: b, reason: `MIDI data byte ${i} is ${b[i]} (> 127)` };
  }
  const d1 = b[1];
  const d2 = b[2];
  switch (kind) {
    case 0x8: return { type: 'noteoff', channel, note: d1, velocity: d2 };
    case 0x9: return d2 === 0 ? { type: 'noteoff', channel, note: d1, velocity: 0 } : { type: 'noteon', channel, note: d1, velocity: d2 };
    case 0xa: return { type: 'polypressure', channel, note: d1, pressure: d2 };
    case 0xb: return { type: 'cc', channel, controller: d1, value: d2 };
    case 0xc: return { type: 'program', channel, program: d1 };
    case 0xd: return { type: 'pressure', channel, pressure: d1 };
    default: {
      const value = d1 | (d2 << 7);
      return { type: 'pitchbend', channel, value, bend: bendToUnit(value) };
    }
  }
}

/**
 * Splits a MIDI byte stream into complete messages: running status, real-time bytes
 * interleaved anywhere, and system exclusive (`0xF0 ... 0xF7`, delivered whole).
 * Keeps its state between calls, so a message may be split across chunks.
 */
export class MidiByteParser {
  private running = 0;
  private buf: number[] = [];
  private inSysex = false;

  /** Feed bytes; returns the complete messages they finish, in order. */
  push(bytes: ArrayLike<number>): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const x = bytes[i] & 0xff;
      if (x >= 0xf8) { out.push(Uint8Array.of(x)); continue; } // real-time: does not disturb anything
      if (this.inSysex) {
        if (x === 0xf7) { this.buf.push(x); out.push(Uint8Array.from(this.buf)); this.buf = []; this.inSysex = false; continue; }
        if (x < 0x80) { this.buf.push(x); continue; }
        this.inSysex = false; // an unterminated sysex is dropped; x starts a new message below
        this.buf = [];
      }
      if (x === 0xf0) { this.inSysex = true; this.buf = [x]; this.running = 0; continue; }
      if (x >= 0xf1) {
        this.running = 0;
        const len = x === 0xf2 ? 2 : x === 0xf1 || x === 0xf3 ? 1 : 0;
        this.buf = [x];
        if (len === 0) { out.push(Uint8Array.of(x)); this.buf = []; }
        else this.running = -x; // system common: collect its data bytes, no running status afterwards
        continue;
      }
      if (x >= 0x80) { this.running = x; this.buf = [x]; continue; }
      // data byte
      if (this.running === 0) continue; // no status to attach it to: ignore (as receivers must)
      if (this.buf.length === 0) this.buf = [this.running > 0 ? this.running : -this.running];
      this.buf.push(x);
      const status = this.buf[0];
      const need = status >= 0xf0 ? (status === 0xf2 ? 2 : 1) : DATA_LEN[status >> 4];
      if (this.buf.length === 1 + need) {
        out.push(Uint8Array.from(this.buf));
        this.buf = [];
        if (status >= 0xf0) this.running = 0;
      }
    }
    return out;
  }
}

/** Which control a value belongs to. */
export type ControlSource =
  | { kind: 'cc'; channel: number; controller: number }
  | { kind: 'pitchbend'; channel: number };

/** Stable key of a control source, e.g. `cc:0:1` or `pb:3`. */
export function sourceKey(s: ControlSource): string {
  return s.kind === 'cc' ? `cc:${s.channel}:${s.controller}` : `pb:${s.channel}`;
}

/** Ramp state of one control. */
interface Ramp {
  /** Value at `t0`, where the current ramp starts. */
  from: number;
  /** Target value reached at `t0 + duration`. */
  to: number;
  t0: number;
  duration: number;
}

interface CcPair {
  msb: number;
  lsb: number;
  /** An LSB (controller n + 32) has been received: the pair is a 14-bit controller from now on. */
  hiRes: boolean;
}

/** Options of {@link ControlTracker}. */
export interface ControlTrackerOptions {
  /**
   * Duration of the linear ramp to each new controller value, seconds. Default 0.008 (8 ms):
   * long enough that a 7-bit step (1/127 of the range) spreads over ~350 samples at 44.1 kHz instead
   * of a click, short enough to feel immediate. 0 disables smoothing.
   */
  rampSeconds?: number;
}

/**
 * Controller state with 14-bit pairing and anti-zipper smoothing.
 *
 * Values are normalised: a controller gives [0, 1] (7-bit `v / 127`; once its LSB partner
 * n + 32 has been seen, 14-bit `(msb * 128 + lsb) / 16383`), pitch bend gives [-1, 1]
 * (see {@link bendToUnit}). A new value does not jump: from the value current at the
 * message time `t`, the control ramps linearly to the new value over `rampSeconds`
 * (a new message during a ramp restarts it from where it is). So the smoothed value is
 * continuous, and its slope is at most `|step| / rampSeconds`; for 7-bit steps of one unit
 * at the default 8 ms that is (1/127) / 8 ms = 0.00098 per ms.
 *
 * 14-bit pairing: an MSB (controller n < 32) sets the value with LSB 0 (as MIDI 1.0 says);
 * the LSB (n + 32) that follows refines it; an LSB alone keeps the last MSB.
 */
export class ControlTracker {
  readonly rampSeconds: number;
  private readonly parser = new MidiByteParser();
  private readonly ramps = new Map<string, Ramp>();
  private readonly pairs = new Map<string, CcPair>();

  /** @param opts See {@link ControlTrackerOptions}. */
  constructor(opts: ControlTrackerOptions = {}) {
    const r = opts.rampSeconds ?? 0.008;
    if (!(r >= 0 && r <= 1)) throw new UserError(`MIDI smoothing ramp must be 0..1 s, got ${r}`);
    this.rampSeconds = r;
  }

  /**
   * The single entry of incoming MIDI (device callback and tests): parse `bytes` (one or more
   * messages, running status allowed), update the controls, return the events.
   * @param bytes Raw MIDI bytes.
   * @param t Arrival time in seconds on the caller's clock (the clock later passed to {@link valueAt}).
   * @param each Called after each event has updated the controls (so a consumer sees the state as of that event).
   */
  handleBytes(bytes: ArrayLike<number>, t: number, each?: (ev: MidiEvent) => void): MidiEvent[] {
    const events: MidiEvent[] = [];
    for (const msg of this.parser.push(bytes)) {
      const ev = parseMidi(msg);
      this.handleEvent(ev, t);
      events.push(ev);
      each?.(ev);
    }
    return events;
  }

  /** Update the controls from one parsed event at time `t` (seconds). Non-controller events are ignored. */
  handleEvent(ev: MidiEvent, t: number): void {
    if (ev.type === 'pitchbend') {
      this.setTarget(`pb:${ev.channel}`, ev.bend, t);
      return;
    }
    if (ev.type !== 'cc') return;
    const { channel, controller, value } = ev;
    if (controller < 32) {
      const key = `cc:${channel}:${controller}`;
      const pair = this.pairs.get(key) ?? { msb: 0, lsb: 0, hiRes: false };
      pair.msb = value;
      pair.lsb = 0;
      this.pairs.set(key, pair);
      this.setTarget(key, pair.hiRes ? (pair.msb * 128) / 16383 : value / 127, t);
    } else if (controller < 64) {
      const key = `cc:${channel}:${controller - 32}`;
      const pair = this.pairs.get(key) ?? { msb: 0, lsb: 0, hiRes: false };
      pair.lsb = value;
      pair.hiRes = true;
      this.pairs.set(key, pair);
      this.setTarget(key, (pair.msb * 128 + pair.lsb) / 16383, t);
      // Also expose the LSB controller on its own, for gear that uses 32..63 as plain 7-bit controls.
      this.setTarget(`cc:${channel}:${controller}`, value / 127, t);
    } else {
      this.setTarget(`cc:${channel}:${controller}`, value / 127, t);
    }
  }

  /**
   * Declare controller `controller` (0..31) on `channel` a 14-bit pair before any LSB arrives
   * (e.g. from a saved mapping), so its first MSB is read as the top 7 of 14 bits.
   */
  declareHiRes(channel: number, controller: number): void {
    if (controller < 0 || controller >= 32) return;
    const key = `cc:${channel}:${controller}`;
    const pair = this.pairs.get(key) ?? { msb: 0, lsb: 0, hiRes: true };
    pair.hiRes = true;
    this.pairs.set(key, pair);
  }

  /** True once controller `controller` (< 32) on `channel` has received its LSB partner (or was declared 14-bit). */
  isHiRes(channel: number, controller: number): boolean {
    return this.pairs.get(`cc:${channel}:${controller}`)?.hiRes ?? false;
  }

  private setTarget(key: string, target: number, t: number): void {
    const cur = this.ramps.get(key);
    const from = cur ? this.evaluate(cur, t) : target;
    this.ramps.set(key, { from, to: target, t0: t, duration: cur ? this.rampSeconds : 0 });
  }

  private evaluate(r: Ramp, t: number): number {
    if (r.duration <= 0 || t >= r.t0 + r.duration) return r.to;
    if (t <= r.t0) return r.from;
    return r.from + ((r.to - r.from) * (t - r.t0)) / r.duration;
  }

  /** The latest received (unsmoothed) value of a control, or undefined if none arrived yet. */
  target(source: ControlSource): number | undefined {
    return this.ramps.get(sourceKey(source))?.to;
  }

  /**
   * The smoothed value of a control at time `t` (same clock as {@link handleBytes}), or undefined
   * if it never received a message. The very first message sets the value without a ramp.
   */
  valueAt(source: ControlSource, t: number): number | undefined {
    const r = this.ramps.get(sourceKey(source));
    return r ? this.evaluate(r, t) : undefined;
  }

  /**
   * Per-sample ramp for an audio block: `out[i] = valueAt(source, t0 + i / sampleRate)`.
   * @returns `out`, or undefined (and `out` untouched) if the control never received a message.
   */
  fill(source: ControlSource, out: Float32Array, t0: number, sampleRate: number): Float32Array | undefined {
    const r = this.ramps.get(sourceKey(source));
    if (!r) return undefined;
    for (let i = 0; i < out.length; i++) out[i] = this.evaluate(r, t0 + i / sampleRate);
    return out;
  }
}

/** The subset of `@julusian/midi`'s `Input` this module uses (lets the port logic run on any backend). */
export interface MidiBackend {
  getPortCount(): number;
  getPortName(index: number): string;
  openPort(index: number): void;
  closePort(): void;
  isPortOpen(): boolean;
  ignoreTypes(sysex: boolean, timing: boolean, activeSensing: boolean): void;
  on(event: 'message', cb: (deltaTime: number, message: number[]) => void): unknown;
  destroy(): void;
}

/** A MIDI input port. When `available` is false every method is a harmless no-op and `reason` says why. */
export interface MidiInput {
  /** Whether a MIDI system exists (an ALSA sequencer on Linux). */
  readonly available: boolean;
  /** One line, set when `available` is false, e.g. `"no MIDI (no ALSA sequencer)"`. */
  readonly reason?: string;
  /** Names of the input ports right now (re-enumerated on every call, so hot-plugged devices appear). */
  listPorts(): string[];
  /**
   * Open port `index` (from {@link listPorts}); closes the previously open one.
   * @throws UserError (one line, listing the ports) for an index that does not exist or when MIDI is unavailable.
   */
  open(index: number): void;
  /** Name of the open port, or undefined. */
  readonly openPortName: string | undefined;
  /** Close the open port (no-op if none). */
  close(): void;
  /**
   * Register a listener for incoming messages: `bytes` is one message, `deltaSeconds` the time since
   * the previous message on the port (RtMidi's timestamp). Returns an unsubscribe function.
   */
  onMessage(cb: (bytes: Uint8Array, deltaSeconds: number) => void): () => void;
  /**
   * Poll the port list every `intervalMs` (default 1000) and call `onChange(ports)` when it changes.
   * If the open port disappears and later reappears (same name, any index) it is reopened.
   * Returns a function that stops watching.
   */
  watch(onChange: (ports: string[]) => void, intervalMs?: number): () => void;
}

/** Reason used when Linux has no ALSA sequencer device. */
export const NO_MIDI_SEQUENCER = 'no MIDI (no ALSA sequencer)';

/** Options of {@link createMidiInput}. */
export interface MidiInputOptions {
  /**
   * Port backend; default a new `@julusian/midi` `Input`. Pass one to drive the port logic from another
   * MIDI library.
   */
  backend?: MidiBackend;
  /** ALSA sequencer device checked before RtMidi is touched on Linux, default `/dev/snd/seq`. */
  sequencerPath?: string;
}

function unavailableInput(reason: string): MidiInput {
  return {
    available: false,
    reason,
    listPorts: () => [],
    open: () => { throw new UserError(`cannot open a MIDI port: ${reason}`); },
    openPortName: undefined,
    close: () => undefined,
    onMessage: () => () => undefined,
    watch: () => () => undefined,
  };
}

/**
 * Open the MIDI system. Never throws: without MIDI the result has `available: false` and a
 * one-line `reason`. On Linux the ALSA sequencer device is checked first, because RtMidi
 * prints ALSA errors on stderr (which would corrupt the terminal UI) before failing with
 * "Failed to initialise RtMidi".
 */
export function createMidiInput(opts: MidiInputOptions = {}): MidiInput {
  let backend = opts.backend;
  if (!backend) {
    const seq = opts.sequencerPath ?? '/dev/snd/seq';
    if (process.platform === 'linux' && !existsSync(seq)) return unavailableInput(NO_MIDI_SEQUENCER);
    try {
      const require = createRequire(import.meta.url);
      const midi = require('@julusian/midi') as { Input: new () => MidiBackend };
      backend = new midi.Input();
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      return unavailableInput(/RtMidi/.test(msg) ? NO_MIDI_SEQUENCER : `no MIDI (${msg})`);
    }
  }
  const b = backend;
  const listeners = new Set<(bytes: Uint8Array, deltaSeconds: number) => void>();
  let openName: string | undefined;
  // Keep clock and active-sensing bytes out; sysex too (no use for it here).
  try { b.ignoreTypes(true, true, true); } catch { /* older backends: everything passes, the parser copes */ }
  b.on('message', (delta: number, message: number[]) => {
    const bytes = Uint8Array.from(message);
    for (const l of listeners) l(bytes, delta);
  });

  const listPorts = (): string[] => {
    const n = b.getPortCount();
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push(b.getPortName(i));
    return names;
  };
  const close = (): void => {
    if (b.isPortOpen()) b.closePort();
    openName = undefined;
  };
  const open = (index: number): void => {
    const ports = listPorts();
    if (!Number.isInteger(index) || index < 0 || index >= ports.length) {
      const list = ports.length ? ports.map((p, i) => `${i} "${p}"`).join(', ') : 'none';
      throw new UserError(`MIDI port ${index} does not exist; ports: ${list} (see: lts midi list)`);
    }
    close();
    b.openPort(index);
    openName = ports[index];
  };
  return {
    available: true,
    listPorts,
    open,
    get openPortName() { return openName; },
    close,
    onMessage(cb) {
      listeners.add(cb);
      return () => { listeners.delete(cb); };
    },
    watch(onChange, intervalMs = 1000) {
      let last = listPorts();
      let wanted = openName;
      let lost = false;
      const timer = setInterval(() => {
        let now: string[];
        try { now = listPorts(); } catch { return; }
        if (openName !== undefined) wanted = openName;
        if (wanted !== undefined) {
          const idx = now.indexOf(wanted);
          if (idx < 0) lost = true;
          else if (lost) {
            lost = false;
            try { close(); b.openPort(idx); openName = wanted; } catch { lost = true; }
          }
        }
        if (now.length !== last.length || now.some((p, i) => p !== last[i])) {
          last = now;
          onChange(now);
        }
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/**
 * `lts midi list`: print the MIDI input ports, one `index: name` per line, or one line
 * `no MIDI: <why>` / `no MIDI input ports`.
 * @param opts.input MIDI input to list (default {@link createMidiInput}()).
 * @param opts.write Output function (default: write to stdout).
 * @returns Exit code: 0 when MIDI works (even with no ports), 1 when there is no MIDI system.
 */
export async function midiListCommand(opts: { input?: MidiInput; write?: (line: string) => void } = {}): Promise<number> {
  const input = opts.input ?? createMidiInput();
  const write = opts.write ?? ((l: string) => { process.stdout.write(`${l}\n`); });
  if (!input.available) {
    const why = (input.reason ?? 'unknown').replace(/^no MIDI \((.*)\)$/, '$1');
    write(`no MIDI: ${why}`);
    return 1;
  }
  const ports = input.listPorts();
  if (ports.length === 0) write('no MIDI input ports (connect a device; ports are rescanned while lts runs)');
  ports.forEach((p, i) => write(`${i}: ${p}`));
  return 0;
}

/**
 * Route a MIDI input into a consumer with `handleBytes(bytes, t)` (a {@link ControlTracker}
 * or the engine's MIDI mapper), timestamping on `clock` (seconds, default `performance.now() / 1000`).
 * An exception from the consumer (e.g. a listener of the mapper) never propagates into the
 * device callback, where it would end the process: it goes to `onError` (default: ignored).
 * @returns Unsubscribe function.
 */
export function connectMidi(input: MidiInput, target: { handleBytes(bytes: ArrayLike<number>, t: number): unknown },
  clock: () => number = () => performance.now() / 1000, onError: (e: unknown) => void = () => undefined): () => void {
  return input.onMessage((bytes) => {
    try {
      target.handleBytes(bytes, clock());
    } catch (e) {
      onError(e);
    }
  });
}
