/**
 * MIDI input: message parsing, the byte-stream parser, the controller tracker
 * (14-bit pairing, pitch bend, smoothing) and the port logic. Tests feed raw bytes
 * through the same function the device callback uses (`handleBytes`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseMidi, MidiByteParser, ControlTracker, bendToUnit, createMidiInput, midiListCommand, connectMidi,
  NO_MIDI_SEQUENCER, type MidiBackend, type MidiEvent,
} from '../src/io/midi.ts';
import { isUserError } from '../src/io/errors.ts';

test('parseMidi: note on/off (velocity-0 note on is a note off), CC, program, pressure, channel', () => {
  assert.deepEqual(parseMidi([0x93, 60, 100]), { type: 'noteon', channel: 3, note: 60, velocity: 100 });
  assert.deepEqual(parseMidi([0x93, 60, 0]), { type: 'noteoff', channel: 3, note: 60, velocity: 0 });
  assert.deepEqual(parseMidi([0x8f, 61, 64]), { type: 'noteoff', channel: 15, note: 61, velocity: 64 });
  assert.deepEqual(parseMidi([0xb0, 7, 127]), { type: 'cc', channel: 0, controller: 7, value: 127 });
  assert.deepEqual(parseMidi([0xc5, 10]), { type: 'program', channel: 5, program: 10 });
  assert.deepEqual(parseMidi([0xd2, 33]), { type: 'pressure', channel: 2, pressure: 33 });
  assert.deepEqual(parseMidi([0xa1, 60, 5]), { type: 'polypressure', channel: 1, note: 60, pressure: 5 });
  assert.equal(parseMidi([0xf8]).type, 'system');
});

test('parseMidi: pitch bend is 14-bit LSB-first; ends map to exactly -1 and +1, centre to 0', () => {
  assert.deepEqual(parseMidi([0xe0, 0x00, 0x40]), { type: 'pitchbend', channel: 0, value: 8192, bend: 0 });
  assert.deepEqual(parseMidi([0xe1, 0x00, 0x00]), { type: 'pitchbend', channel: 1, value: 0, bend: -1 });
  assert.deepEqual(parseMidi([0xe1, 0x7f, 0x7f]), { type: 'pitchbend', channel: 1, value: 16383, bend: 1 });
  const e = parseMidi([0xe0, 0x01, 0x00]);
  assert.equal(e.type === 'pitchbend' && e.value, 1);
  const f = parseMidi([0xe0, 0x00, 0x01]);
  assert.equal(f.type === 'pitchbend' && f.value, 128);
  // Every value maps monotonically into [-1, 1].
  let prev = -Infinity;
  for (let v = 0; v < 16384; v++) {
    const b = bendToUnit(v);
    assert.ok(b > prev && b >= -1 && b <= 1);
    prev = b;
  }
});

test('parseMidi: malformed messages give one-line "invalid" events, never a throw', () => {
  for (const bytes of [[], [0x40, 1], [0x90, 60], [0xb0, 200, 1], [0xe0, 1]]) {
    const e = parseMidi(bytes);
    assert.equal(e.type, 'invalid', JSON.stringify(bytes));
    if (e.type === 'invalid') assert.doesNotMatch(e.reason, /\n/);
  }
});

test('MidiByteParser: running status, real-time bytes inside messages, sysex, split chunks, stray data', () => {
  const p = new MidiByteParser();
  const msgs = (x: number[]) => p.push(x).map((m) => Array.from(m));
  assert.deepEqual(msgs([0x90, 60, 100, 62, 101, 64, 0]), [[0x90, 60, 100], [0x90, 62, 101], [0x90, 64, 0]]);
  assert.deepEqual(msgs([0xb1, 0xf8, 7]), [[0xf8]]);
  assert.deepEqual(msgs([99]), [[0xb1, 7, 99]]);
  assert.deepEqual(msgs([0xf0, 0x7e, 0x7f, 0xf8, 0x09, 0x01, 0xf7]), [[0xf8], [0xf0, 0x7e, 0x7f, 0x09, 0x01, 0xf7]]);
  // After sysex there is no running status: data bytes are ignored until a status byte.
  assert.deepEqual(msgs([5, 6, 0xe0, 0, 0x40]), [[0xe0, 0, 0x40]]);
  assert.deepEqual(msgs([0xc0, 3, 4]), [[0xc0, 3], [0xc0, 4]]);
});

test('ControlTracker: 7-bit controllers span exactly [0, 1]; a 14-bit pair (MSB n, LSB n+32) gives one 14-bit value', () => {
  const tr = new ControlTracker({ rampSeconds: 0 });
  const cc7 = { kind: 'cc', channel: 0, controller: 74 } as const;
  tr.handleBytes([0xb0, 74, 0], 0);
  assert.equal(tr.valueAt(cc7, 0), 0);
  tr.handleBytes([0xb0, 74, 127], 0.01);
  assert.equal(tr.valueAt(cc7, 0.01), 1);
  const cc1 = { kind: 'cc', channel: 2, controller: 1 } as const;
  tr.handleBytes([0xb2, 1, 64], 0.02);
  assert.equal(tr.valueAt(cc1, 0.02), 64 / 127); // no LSB seen yet: a 7-bit controller
  assert.equal(tr.isHiRes(2, 1), false);
  tr.handleBytes([0xb2, 33, 0x55], 0.03);
  assert.equal(tr.isHiRes(2, 1), true);
  assert.equal(tr.valueAt(cc1, 0.03), (64 * 128 + 0x55) / 16383);
  // MSB resets the LSB (MIDI 1.0), the following LSB refines; full scale is exactly 1.
  tr.handleBytes([0xb2, 1, 127, 33, 127], 0.04);
  assert.equal(tr.valueAt(cc1, 0.04), 1);
  tr.handleBytes([0xb2, 1, 0], 0.05);
  assert.equal(tr.valueAt(cc1, 0.05), 0);
  // Channels are separate.
  assert.equal(tr.valueAt({ kind: 'cc', channel: 0, controller: 1 }, 1), undefined);
});

test('ControlTracker: pitch bend over the full 14-bit range', () => {
  const tr = new ControlTracker({ rampSeconds: 0 });
  const pb = { kind: 'pitchbend', channel: 9 } as const;
  for (let v = 0; v < 16384; v += 7) {
    tr.handleBytes([0xe9, v & 0x7f, v >> 7], v);
    assert.equal(tr.valueAt(pb, v), v >= 8192 ? (v - 8192) / 8191 : (v - 8192) / 8192);
  }
  tr.handleBytes([0xe9, 0x7f, 0x7f], 1e6);
  assert.equal(tr.valueAt(pb, 1e6), 1);
  tr.handleBytes([0xe9, 0, 0], 2e6);
  assert.equal(tr.valueAt(pb, 2e6), -1);
});

/** Largest |dv/dt| in units per millisecond, from samples every `h` seconds over [t0, t1]. */
function maxSlopePerMs(f: (t: number) => number, t0: number, t1: number, h: number): number {
  let m = 0;
  let prev = f(t0);
  for (let t = t0 + h; t <= t1 + 1e-12; t += h) {
    const v = f(t);
    m = Math.max(m, Math.abs(v - prev) / (h * 1000));
    prev = v;
  }
  return m;
}

test('ControlTracker smoothing: a 7-bit step ramps linearly over 8 ms, slope <= (1/127)/8 per ms; unsmoothed it would jump', () => {
  const R = 0.008;
  const tr = new ControlTracker({ rampSeconds: R });
  const src = { kind: 'cc', channel: 0, controller: 20 } as const;
  tr.handleBytes([0xb0, 20, 64], 1.0); // first value: no ramp
  assert.equal(tr.valueAt(src, 1.0), 64 / 127);
  tr.handleBytes([0xb0, 20, 65], 1.1);
  const v = (t: number) => tr.valueAt(src, t)!;
  assert.equal(v(1.1), 64 / 127);
  assert.ok(Math.abs(v(1.1 + R / 2) - 64.5 / 127) < 1e-12);
  assert.equal(v(1.1 + R), 65 / 127);
  const bound = (1 / 127) / (R * 1000);
  const slope = maxSlopePerMs(v, 1.09, 1.12, 1e-5);
  assert.ok(slope <= bound * (1 + 1e-6), `slope ${slope} > ${bound}`);
  assert.ok(slope >= bound * 0.99, 'the ramp should actually move at the derived rate');
  // Contrast: without smoothing the same step lands in full at the message time.
  const raw = new ControlTracker({ rampSeconds: 0 });
  raw.handleBytes([0xb0, 20, 64], 1.0);
  const before = raw.valueAt(src, 1.1)!;
  raw.handleBytes([0xb0, 20, 65], 1.1);
  assert.equal(raw.valueAt(src, 1.1)! - before, 65 / 127 - 64 / 127);
  // ...while with smoothing nothing has moved yet at that instant.
  const smooth = new ControlTracker({ rampSeconds: R });
  smooth.handleBytes([0xb0, 20, 64], 1.0);
  smooth.handleBytes([0xb0, 20, 65], 1.1);
  assert.equal(smooth.valueAt(src, 1.1), 64 / 127);
});

test('ControlTracker smoothing: a fast knob sweep (1 step/ms) stays continuous: slope <= max(step/ramp, step/interval), ends on target', () => {
  const R = 0.008;
  const dt = 0.001;
  const tr = new ControlTracker({ rampSeconds: R });
  const src = { kind: 'cc', channel: 0, controller: 71 } as const;
  for (let i = 0; i <= 127; i++) tr.handleBytes([0xb0, 71, i], 2 + i * dt);
  // Ramps restart from the current value: the lag g obeys g' = g (1 - dt/R) + step, so g <= step R / dt,
  // and the slope g / R <= step / dt (here the knob's own rate: 1/127 per ms).
  const bound = Math.max(1 / 127 / (R * 1000), 1 / 127 / (dt * 1000));
  const slope = maxSlopePerMs((t) => tr.valueAt(src, t)!, 2, 2 + 127 * dt + R, 2e-5);
  assert.ok(slope <= bound * (1 + 1e-6), `slope ${slope} > ${bound}`);
  assert.equal(tr.valueAt(src, 2 + 127 * dt + R), 1);
  // A full-range jump is spread over the ramp: slope 1/R per ms instead of an instant 1.0 step.
  tr.handleBytes([0xb0, 71, 0], 3);
  const jump = maxSlopePerMs((t) => tr.valueAt(src, t)!, 2.999, 3.01, 1e-5);
  assert.ok(jump <= 1 / (R * 1000) * (1 + 1e-6));
});

test('ControlTracker.fill gives the per-sample ramp of an audio block', () => {
  const tr = new ControlTracker({ rampSeconds: 0.004 });
  const src = { kind: 'cc', channel: 1, controller: 10 } as const;
  const out = new Float32Array(441);
  assert.equal(tr.fill(src, out, 0, 44100), undefined);
  tr.handleBytes([0xb1, 10, 0], 0);
  tr.handleBytes([0xb1, 10, 127], 0.001);
  tr.fill(src, out, 0, 44100);
  for (let i = 0; i < out.length; i++) assert.equal(out[i], Math.fround(tr.valueAt(src, i / 44100)!));
  assert.equal(out[0], 0);
  assert.equal(out[44], 0); // t = 0.998 ms, before the message
  assert.equal(out[440], 1); // 9.98 ms: ramp (1..5 ms) done
  assert.ok(out[132] > 0.45 && out[132] < 0.55); // t ~ 3 ms: half-way
});

test('without an ALSA sequencer MIDI is unavailable with a one-line reason; RtMidi itself agrees', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-midi-'));
  try {
    const none = createMidiInput({ sequencerPath: join(dir, 'seq') });
    assert.equal(none.available, false);
    assert.equal(none.reason, NO_MIDI_SEQUENCER);
    assert.deepEqual(none.listPorts(), []);
    assert.throws(() => none.open(0), (e: unknown) => isUserError(e) && /no ALSA sequencer/.test((e as Error).message));
    none.close();
    // Skip the pre-check and let RtMidi try: on a machine without /dev/snd/seq it must fail the same way.
    const real = createMidiInput({ sequencerPath: dir });
    if (!existsSync('/dev/snd/seq')) {
      assert.equal(real.available, false);
      assert.equal(real.reason, NO_MIDI_SEQUENCER);
    } else {
      assert.ok(Array.isArray(real.listPorts()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An in-memory port backend standing in for the OS MIDI system (the port logic is what is tested). */
class PortBackend implements MidiBackend {
  ports: string[] = [];
  opened: number | null = null;
  private cb: ((d: number, m: number[]) => void) | null = null;
  getPortCount() { return this.ports.length; }
  getPortName(i: number) { return this.ports[i] ?? ''; }
  openPort(i: number) { this.opened = i; }
  closePort() { this.opened = null; }
  isPortOpen() { return this.opened !== null; }
  ignoreTypes() { /* accepted */ }
  on(_e: 'message', cb: (d: number, m: number[]) => void) { this.cb = cb; return this; }
  destroy() { this.cb = null; }
  deliver(delta: number, m: number[]) { this.cb?.(delta, m); }
}

test('ports: open by index, one-line error listing the ports, messages reach listeners and a tracker via connectMidi', () => {
  const b = new PortBackend();
  b.ports = ['Midi Through 14:0', 'nanoKONTROL2 20:0'];
  const input = createMidiInput({ backend: b });
  assert.equal(input.available, true);
  assert.deepEqual(input.listPorts(), b.ports);
  assert.throws(() => input.open(5), (e: unknown) => isUserError(e)
    && (e as Error).message === 'MIDI port 5 does not exist; ports: 0 "Midi Through 14:0", 1 "nanoKONTROL2 20:0" (see: lts midi list)');
  input.open(1);
  assert.equal(b.opened, 1);
  assert.equal(input.openPortName, 'nanoKONTROL2 20:0');
  const got: [number[], number][] = [];
  const off = input.onMessage((bytes, d) => got.push([Array.from(bytes), d]));
  const tracker = new ControlTracker({ rampSeconds: 0 });
  let clock = 5;
  const events: MidiEvent[] = [];
  const orig = tracker.handleBytes.bind(tracker);
  tracker.handleBytes = (bytes, t, each) => { const ev = orig(bytes, t, each); events.push(...ev); return ev; };
  const unplug = connectMidi(input, tracker, () => clock);
  b.deliver(0.002, [0xb0, 16, 100]);
  clock = 6;
  b.deliver(0.5, [0xe0, 0x7f, 0x7f]);
  assert.deepEqual(got.slice(0, 2), [[[0xb0, 16, 100], 0.002], [[0xe0, 0x7f, 0x7f], 0.5]]);
  assert.equal(tracker.valueAt({ kind: 'cc', channel: 0, controller: 16 }, 5), 100 / 127);
  assert.equal(tracker.valueAt({ kind: 'pitchbend', channel: 0 }, 6), 1);
  assert.equal(events.length, 2);
  clock = 7;
  // A consumer that throws does not break the device callback; the error is handed to onError.
  const errors: unknown[] = [];
  const unplugBad = connectMidi(input, { handleBytes: () => { throw new Error('listener bug'); } }, () => 0, (e) => errors.push(e));
  b.deliver(0, [0xb0, 16, 50]);
  assert.equal(errors.length, 1);
  assert.equal(tracker.valueAt({ kind: 'cc', channel: 0, controller: 16 }, 7), 50 / 127);
  unplugBad();
  off();
  unplug();
  b.deliver(0, [0xb0, 16, 1]);
  assert.equal(got.length, 3);
  input.close();
  assert.equal(b.opened, null);
});

test('hot-plug: watch() reports port list changes and reopens the device when it comes back', async () => {
  const b = new PortBackend();
  b.ports = ['Midi Through'];
  const input = createMidiInput({ backend: b });
  const seen: string[][] = [];
  const stop = input.watch((p) => seen.push(p), 10);
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  b.ports = ['Midi Through', 'Keystep'];
  await wait(60);
  assert.deepEqual(seen.at(-1), ['Midi Through', 'Keystep']);
  input.open(1);
  b.ports = ['Midi Through']; // unplugged
  await wait(60);
  assert.deepEqual(seen.at(-1), ['Midi Through']);
  b.opened = null; // the OS port went away with the device
  b.ports = ['Keystep', 'Midi Through']; // replugged, now first
  await wait(60);
  assert.equal(b.opened, 0);
  assert.equal(input.openPortName, 'Keystep');
  stop();
});

test('midiListCommand prints ports or "no MIDI: ..." and returns an exit code', async () => {
  const lines: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lts-midi-'));
  try {
    const code = await midiListCommand({ input: createMidiInput({ sequencerPath: join(dir, 'none') }), write: (l) => lines.push(l) });
    assert.equal(code, 1);
    assert.deepEqual(lines, ['no MIDI: no ALSA sequencer']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const b = new PortBackend();
  b.ports = ['A', 'B'];
  lines.length = 0;
  assert.equal(await midiListCommand({ input: createMidiInput({ backend: b }), write: (l) => lines.push(l) }), 0);
  assert.deepEqual(lines, ['0: A', '1: B']);
  b.ports = [];
  lines.length = 0;
  assert.equal(await midiListCommand({ input: createMidiInput({ backend: b }), write: (l) => lines.push(l) }), 0);
  assert.match(lines[0], /^no MIDI input ports/);
});
