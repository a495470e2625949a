/**
 * MIDI learn and mappings, driven by raw MIDI bytes through MidiMapper.handleBytes
 * (the function the MIDI input callback calls).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MidiMapper, saveMidiMap, loadMidiMap, parseMidiMap, midiMapToJson, describeSource, type MidiMapping, type MidiParamChange,
} from '../src/engine/midi-map.ts';
import { isUserError } from '../src/io/errors.ts';

const close = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) <= eps;

test('learn: arming a parameter binds the next CC; the CC then drives the parameter over its range', () => {
  const m = new MidiMapper({ rampMs: 0 });
  const learned: MidiMapping[] = [];
  const changes: MidiParamChange[] = [];
  m.onLearn((x) => learned.push(x));
  m.onChange((c) => changes.push(c));
  // Before arming, nothing is bound.
  m.handleBytes([0xb0, 21, 10], 0);
  assert.deepEqual(m.mappings(), []);
  m.armLearn('amount');
  assert.deepEqual(m.learnState(), { state: 'armed', param: 'amount', mode: 'absolute' });
  // Note-offs and program changes do not bind.
  m.handleBytes([0x80, 60, 0, 0xc0, 5], 0.1);
  assert.equal(m.learnState().state, 'armed');
  m.handleBytes([0xb3, 21, 0], 0.2);
  assert.deepEqual(m.learnState(), { state: 'idle' });
  assert.deepEqual(learned, [{ param: 'amount', source: { kind: 'cc', channel: 3, controller: 21 }, min: -0.3, max: 1.3, mode: 'absolute' }]);
  assert.equal(describeSource(learned[0].source), 'CC 21 ch 4');
  assert.ok(close(m.value('amount', 0.2)!, -0.3));
  m.handleBytes([0xb3, 21, 127], 0.3);
  assert.ok(close(m.value('amount', 0.3)!, 1.3));
  m.handleBytes([0xb3, 21, 0x40], 0.4);
  assert.ok(close(m.value('amount', 0.4)!, -0.3 + (64 / 127) * 1.6));
  // Another controller or channel does nothing.
  m.handleBytes([0xb3, 22, 0, 0xb0, 21, 0], 0.5);
  assert.ok(close(m.value('amount', 0.5)!, -0.3 + (64 / 127) * 1.6));
  assert.deepEqual(changes.map((c) => [c.param, Number(c.value.toFixed(6)), c.t]),
    [['amount', -0.3, 0.2], ['amount', 1.3, 0.3], ['amount', Number((-0.3 + (64 / 127) * 1.6).toFixed(6)), 0.4]]);
  // Cancel leaves mappings alone.
  m.armLearn('startA');
  m.cancelLearn();
  m.handleBytes([0xb0, 30, 1], 0.6);
  assert.equal(m.mappingOf('startA'), undefined);
});

test('learn 14-bit: MSB then LSB pair into one value; a pair already known as 14-bit binds by its MSB even if the LSB comes first', () => {
  const m = new MidiMapper({ rampMs: 0 });
  m.armLearn('startB');
  m.handleBytes([0xb0, 1, 0x40, 0xb0, 33, 0x00], 1);
  assert.deepEqual(m.mappingOf('startB'), { param: 'startB', source: { kind: 'cc', channel: 0, controller: 1, hiRes: true }, min: 0, max: 1 });
  assert.ok(close(m.value('startB', 1)!, (64 * 128) / 16383));
  m.handleBytes([0xb0, 33, 0x7f], 2); // the LSB alone refines the value
  assert.ok(close(m.value('startB', 2)!, (64 * 128 + 127) / 16383));
  m.handleBytes([0xb0, 1, 0x7f, 33, 0x7f], 3);
  assert.equal(m.value('startB', 3), 1);
  // Now learn startA while the (known 14-bit) controller sends its LSB first: binds controller 1, moving it off startB.
  m.armLearn('startA');
  m.handleBytes([0xb0, 33, 0x10], 4);
  assert.deepEqual(m.mappingOf('startA')?.source, { kind: 'cc', channel: 0, controller: 1, hiRes: true });
  assert.equal(m.mappingOf('startB'), undefined);
});

test('pitch bend: learn and full range (0 -> min, 8192 -> middle, 16383 -> max)', () => {
  const m = new MidiMapper({ rampMs: 0 });
  m.armLearn('startA');
  m.handleBytes([0xe5, 0x00, 0x40], 0);
  assert.deepEqual(m.mappingOf('startA')?.source, { kind: 'pitchbend', channel: 5 });
  assert.equal(m.value('startA', 0), 0.5);
  m.handleBytes([0xe5, 0, 0], 1);
  assert.equal(m.value('startA', 1), 0);
  m.handleBytes([0xe5, 0x7f, 0x7f], 2);
  assert.equal(m.value('startA', 2), 1);
  let prev = -1;
  for (let v = 0; v < 16384; v += 3) {
    m.handleBytes([0xe5, v & 0x7f, v >> 7], 3 + v);
    const x = m.value('startA', 3 + v)!;
    assert.ok(x > prev && x >= 0 && x <= 1);
    prev = x;
  }
});

test('trigger: a learned note-on fires Generate & Play once per press; note-off and other notes do not', () => {
  const m = new MidiMapper();
  const fired: number[] = [];
  m.onTrigger((t) => fired.push(t));
  m.armLearn('trigger');
  m.handleBytes([0x99, 36, 100], 0); // learning press: binds, does not fire
  assert.deepEqual(m.mappingOf('trigger')?.source, { kind: 'note', channel: 9, note: 36 });
  assert.deepEqual(fired, []);
  m.handleBytes([0x89, 36, 0], 0.5);
  m.handleBytes([0x99, 36, 90], 1);
  m.handleBytes([0x99, 36, 0], 1.2); // velocity-0 note-on = note off
  m.handleBytes([0x99, 38, 90, 0x98, 36, 90], 1.5); // other note, other channel
  m.handleBytes([0x99, 36, 1], 2);
  assert.deepEqual(fired, [1, 2]);
});

test('trigger on a controller fires when it crosses the middle upwards', () => {
  const m = new MidiMapper({ mappings: [{ param: 'trigger', source: { kind: 'cc', channel: 0, controller: 64 }, min: 0, max: 1 }] });
  const fired: number[] = [];
  m.onTrigger((t) => fired.push(t));
  m.handleBytes([0xb0, 64, 127], 1); // pedal down
  m.handleBytes([0xb0, 64, 100], 2); // still down
  m.handleBytes([0xb0, 64, 0], 3); // up
  m.handleBytes([0xb0, 64, 63], 4); // below the middle
  m.handleBytes([0xb0, 64, 64], 5); // crosses
  assert.deepEqual(fired, [1, 5]);
});

test('smoothing through the mapper: a parameter ramps to a new value over rampMs, never faster than step/ramp', () => {
  const m = new MidiMapper({ rampMs: 10 });
  m.setMapping({ param: 'amount', source: { kind: 'cc', channel: 0, controller: 7 }, min: -0.3, max: 1.3, mode: 'absolute' });
  m.handleBytes([0xb0, 7, 0], 0);
  m.handleBytes([0xb0, 7, 127], 1);
  assert.ok(close(m.value('amount', 1)!, -0.3));
  assert.ok(close(m.value('amount', 1.005)!, 0.5));
  assert.ok(close(m.value('amount', 1.01)!, 1.3));
  // Parameter slope bound: (1.6 units) / 10 ms = 0.16 per ms.
  let worst = 0;
  for (let t = 0.999; t < 1.02; t += 1e-5) worst = Math.max(worst, Math.abs(m.value('amount', t + 1e-5)! - m.value('amount', t)!) / 1e-2);
  assert.ok(worst <= 0.16 * (1 + 1e-6), `slope ${worst}`);
});

test('offset mode: the controller adds to the drawn curve, clamped to [-0.3, 1.3]; absolute mode replaces it', () => {
  const curve = Float32Array.from([0, 0.5, 1.0, -0.2]);
  const m = new MidiMapper({ rampMs: 0 });
  // Unmapped: the curve is returned unchanged (as a copy).
  const same = m.amountCurve(curve, 0);
  assert.deepEqual(Array.from(same), Array.from(curve));
  assert.notEqual(same, curve);
  m.armLearn('amount', 'offset');
  m.handleBytes([0xb0, 1, 127], 0);
  assert.deepEqual(m.mappingOf('amount'), { param: 'amount', source: { kind: 'cc', channel: 0, controller: 1 }, min: -0.5, max: 0.5, mode: 'offset' });
  assert.deepEqual(Array.from(m.amountCurve(curve, 0)), [0.5, 1.0, 1.3, 0.30000001192092896].map(Math.fround));
  m.handleBytes([0xb0, 1, 0], 1);
  assert.deepEqual(Array.from(m.amountCurve(curve, 1)), [-0.3, 0, 0.5, -0.3].map(Math.fround));
  // Centre of a 7-bit controller is 63.5: at 0x40 the offset is 0.5/127.
  m.handleBytes([0xb0, 1, 0x40], 2);
  const mid = m.amountCurve(curve, 2);
  assert.ok(close(mid[1], Math.fround(0.5 + 0.5 / 127), 1e-7));
  // Absolute mode: every frame is the controller value.
  m.setMapping({ param: 'amount', source: { kind: 'cc', channel: 0, controller: 1 }, min: -0.3, max: 1.3, mode: 'absolute' });
  m.handleBytes([0xb0, 1, 127], 3);
  assert.deepEqual(Array.from(m.amountCurve(curve, 3)), [1.3, 1.3, 1.3, 1.3].map(Math.fround));
});

test('save/load round trip: same mappings, same smoothing, same behaviour; written atomically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-midimap-'));
  try {
    const a = new MidiMapper({ rampMs: 12 });
    a.armLearn('amount', 'offset');
    a.handleBytes([0xb2, 1, 10, 0xb2, 33, 5], 0);
    a.armLearn('startA');
    a.handleBytes([0xe1, 0, 0x40], 0);
    a.setMapping({ param: 'startB', source: { kind: 'cc', channel: 0, controller: 74 }, min: 1, max: 0 });
    a.armLearn('trigger');
    a.handleBytes([0x90, 48, 99], 0);
    const path = join(dir, 'mine.midi.json');
    saveMidiMap(path, a);
    assert.deepEqual(readdirSync(dir), ['mine.midi.json']);
    const b = loadMidiMap(path);
    assert.deepEqual(b.mappings(), a.mappings());
    // The amount controller was seen sending its LSB: saved as 14-bit, so b reads its first MSB as 14-bit too.
    assert.deepEqual(b.mappingOf('amount')?.source, { kind: 'cc', channel: 2, controller: 1, hiRes: true });
    assert.equal(b.rampMs, 12);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).format, 'lts-midi-map');
    // Same history from here on (b starts without values; give both a first value), then compare the ramps.
    const first = [0xb2, 1, 0, 0xe1, 0, 0, 0xb0, 74, 0];
    a.handleBytes(first, 0.5);
    b.handleBytes(first, 0.5);
    const bytes = [0xb2, 1, 100, 0xb2, 33, 64, 0xe1, 0x7f, 0x60, 0xb0, 74, 32];
    a.handleBytes(bytes, 1);
    b.handleBytes(bytes, 1);
    for (const t of [1, 1.003, 1.006, 1.02]) {
      for (const p of ['amount', 'startA', 'startB'] as const) assert.equal(b.value(p, t), a.value(p, t));
    }
    // startB is inverted (min 1, max 0): CC 74 at 32 gives 1 - 32/127.
    assert.ok(close(b.value('startB', 2)!, 1 - 32 / 127));
    // Saving again replaces the file in place.
    b.clearMapping('trigger');
    saveMidiMap(path, b);
    assert.equal(loadMidiMap(path).mappingOf('trigger'), undefined);
    assert.deepEqual(readdirSync(dir), ['mine.midi.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad mapping files give one-line errors naming the file and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-midimap-'));
  const expectError = (content: string | null, re: RegExp) => {
    const p = join(dir, 'bad.json');
    rmSync(p, { force: true });
    if (content !== null) writeFileSync(p, content);
    assert.throws(() => loadMidiMap(p), (e: unknown) => {
      assert.ok(isUserError(e), String(e));
      const msg = (e as Error).message;
      assert.doesNotMatch(msg, /\n/);
      assert.ok(msg.startsWith(`${p}: `), msg);
      assert.match(msg, re);
      return true;
    });
  };
  try {
    expectError(null, /not found/);
    expectError('{ "format": "lts-midi-map", ', /not valid JSON/);
    expectError('[1,2]', /not an LTS MIDI mapping file/);
    expectError('{"format":"lts-midi-map","version":2,"mappings":[]}', /unsupported MIDI mapping version 2/);
    const base = (m: unknown) => JSON.stringify({ format: 'lts-midi-map', version: 1, rampMs: 8, mappings: [m] });
    expectError(base({ param: 'volume', source: { kind: 'cc', channel: 0, controller: 1 }, min: 0, max: 1 }),
      /mapping 1: "param" must be one of amount, startA, startB, trigger, got "volume"/);
    expectError(base({ param: 'amount', source: { kind: 'cc', channel: 16, controller: 1 } }), /mapping 1: source "channel" must be an integer 0\.\.15, got 16/);
    expectError(base({ param: 'amount', source: { kind: 'cc', channel: 0, controller: 1 }, min: 'x' }), /"min" must be a number/);
    expectError(base({ param: 'startA', source: { kind: 'sysex', channel: 0 } }), /source "kind" must be cc, pitchbend or note/);
    expectError(base({ param: 'startA', source: { kind: 'pitchbend', channel: 0 }, min: 0, max: 2 }), /startA range must lie within 0\.\.1/);
    expectError(base({ param: 'startA', source: { kind: 'pitchbend', channel: 0 }, mode: 'offset' }), /offset only applies to amount/);
    expectError(JSON.stringify({ format: 'lts-midi-map', version: 1, mappings: [
      { param: 'trigger', source: { kind: 'note', channel: 0, note: 1 } },
      { param: 'trigger', source: { kind: 'note', channel: 0, note: 2 } }] }), /mapping 2: "trigger" is mapped twice/);
    // Defaults fill omitted ranges and the ramp.
    const f = parseMidiMap(base({ param: 'amount', source: { kind: 'pitchbend', channel: 0 }, mode: 'offset' }), 'x.json');
    assert.deepEqual(f.mappings[0], { param: 'amount', source: { kind: 'pitchbend', channel: 0 }, min: -0.5, max: 0.5, mode: 'offset' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('learn skips channel mode messages (CC 120-127) so a learned mapping can always be saved', () => {
  const m = new MidiMapper();
  m.armLearn('startB');
  m.handleBytes([0xb0, 123, 0, 0xb0, 121, 0], 0); // all notes off, reset all controllers
  assert.equal(m.learnState().state, 'armed');
  m.handleBytes([0xb0, 119, 5], 0.1);
  assert.deepEqual(m.mappingOf('startB')?.source, { kind: 'cc', channel: 0, controller: 119 });
  assert.deepEqual(parseMidiMap(midiMapToJson(m), 'x.json').mappings, m.mappings());
});
