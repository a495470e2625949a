/**
 * Live engine (src/engine/live.ts) on a really trained small STFT model
 * (test/helpers/tiny-model.ts: a low 196 Hz tone as A, a bright 1244 Hz tone as B):
 * faster-than-real-time streaming into a buffer, continuity at block joins,
 * the blend following the control (keys and MIDI bytes through the device path),
 * looping, once mode, offset mode, the constant-Q refusal, and a real stream
 * through PortAudio into ALSA's file plugin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, mkdtempSync, copyFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel, SR, type TinyModel } from './helpers/tiny-model.ts';
import { loadModelFolder } from '../src/engine/model-folder.ts';
import { LiveEngine, FrameDecoder, ExcerptEncoder, encodeExcerpt, LIVE_NEEDS_STFT, LIVE_STOPPED_WHILE_OPENING, MIN_WALL_CLOCK_LEAD_S, type LiveModel, type LatentSequence, type LiveFrameInfo } from '../src/engine/live.ts';
import { TimbreVae } from '../src/engine/vae.ts';
import { MidiMapper } from '../src/engine/midi-map.ts';
import { createMidiInput, connectMidi, type MidiBackend } from '../src/io/midi.ts';
import { stft } from '../src/dsp/stft.ts';
import { UserError } from '../src/io/errors.ts';
import { createAudioOutput } from '../src/io/audio-out.ts';
import { writeAsoundConf, readFloatCapture, findStart, maxAbsDiff, realtimeAllowed } from './audio-out-helpers.ts';
import { threadSched } from '../src/io/realtime.ts';
import type { ModelConfig } from '../src/engine/types.ts';
import type { StftConfig } from '../src/dsp/types.ts';

let tiny: TinyModel;
let model: LiveModel;
let A: LatentSequence;
let B: LatentSequence;
const DUR = 1.0;

before(async () => {
  tiny = await makeTinyModel();
  const loaded = await loadModelFolder(tiny.modelDir);
  model = { config: loaded.config, vae: loaded.vae };
  A = await encodeExcerpt(model, tiny.fileA, 0.5, DUR, 'excerpt A');
  B = await encodeExcerpt(model, tiny.fileB, 0.5, DUR, 'excerpt B');
});
after(() => {
  model?.vae.dispose();
  if (tiny) rmSync(tiny.dir, { recursive: true, force: true });
});

const CFG = (): StftConfig => model.config.features.transform as StftConfig;

/** Magnitude-weighted mean frequency (Hz) of a signal's STFT. */
function centroid(x: Float32Array): number {
  const c = stft(x, CFG());
  let num = 0;
  let den = 0;
  for (let t = 0; t < c.frames; t++) {
    for (let k = 0; k < c.bins; k++) {
      const m = Math.hypot(c.re[t * c.bins + k], c.im[t * c.bins + k]);
      num += m * ((k * SR) / CFG().nFft);
      den += m;
    }
  }
  return num / den;
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

test('FrameDecoder gives what TimbreVae.decode gives, frame by frame', () => {
  const dec = new FrameDecoder(model);
  const z = new Float32Array(2);
  for (const [a, b] of [[0, 0], [1.5, -0.7], [-2, 3]]) {
    z[0] = a;
    z[1] = b;
    const ref = model.vae.decode(z, 1);
    const got = dec.decode(z);
    assert.equal(got.length, 129);
    assert.deepEqual(got, ref);
    // And the same as that frame decoded among others (rows are independent).
    const batch = model.vae.decode(new Float32Array([0.3, 0.1, ...z, -1, 2]), 3);
    assert.deepEqual(batch.subarray(129, 258), got);
  }
  dec.dispose();
});

test('ExcerptEncoder: the same bytes as encodeExcerpt, encoding only the frames a moved excerpt adds; a changed file is read again', async () => {
  const enc = new ExcerptEncoder(model);
  const hop = CFG().hop;
  const same = async (path: string, start: number, dur: number) => {
    const got = await enc.encode(path, start, dur, 'excerpt A');
    assert.deepEqual(got, await encodeExcerpt(model, path, start, dur, 'excerpt A'));
    return enc.lastEncodedFrames;
  };
  const frames = A.frames;
  assert.equal(await same(tiny.fileA, 0.5, DUR), frames, 'first: every frame');
  assert.equal(await same(tiny.fileA, 0.5, DUR), 0, 'again: none');
  // A knob moves the start 10 hops later: only the 10 frames past the old end are new.
  assert.equal(await same(tiny.fileA, 0.5 + (10 * hop) / SR, DUR), 10);
  // An earlier start: the frames before the old start.
  assert.equal(await same(tiny.fileA, 0.5 - (4 * hop) / SR, DUR), 4);
  // The other file has its own frames; going back to the first one encodes nothing.
  assert.equal(await same(tiny.fileB, 0.5, DUR), frames);
  assert.equal(await same(tiny.fileA, 0.5, DUR), 0);
  // The file is replaced by other audio (new size or time): read and encoded again.
  const dir = mkdtempSync(join(tmpdir(), 'lts-excerpt-enc-'));
  try {
    const path = join(dir, 'x.wav');
    copyFileSync(tiny.fileA, path);
    assert.equal(await same(path, 0.5, DUR), frames);
    copyFileSync(tiny.fileB, path);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.equal(await same(path, 0.5, DUR), frames);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Bad input: the same one-line errors as encodeExcerpt.
  await assert.rejects(enc.encode(join(tiny.dir, 'missing.wav'), 0, 1, 'excerpt B'), /missing\.wav: file not found; check the path of excerpt B/);
  await assert.rejects(enc.encode(tiny.fileA, 5, 1, 'excerpt B'), /excerpt B \(low\.wav\): start 5 s is past the end/);
  await assert.rejects(enc.encode(tiny.fileA, Number.NaN, 1, 'excerpt B'), /excerpt B: start NaN is invalid/);
});

test('the blend follows the control: a = 0 sounds like the bright B, a = 1 like the low A, switching at once', () => {
  const e = new LiveEngine(model, A, B, { amount: 0 });
  const frames: LiveFrameInfo[] = [];
  e.onFrame((f) => frames.push(f));
  const seg = Math.round(0.4 * SR);
  const s0 = e.pull(seg);
  e.setAmount(1);
  const nBefore = frames.length;
  const s1 = e.pull(seg);
  // The first frame decoded after the change already uses it.
  assert.equal(frames[nBefore].amount, 1);
  assert.ok(frames.slice(0, nBefore).every((f) => f.amount === 0));
  e.setAmount(0);
  const s2 = e.pull(seg);
  const c0 = centroid(s0.subarray(4000));
  const c1 = centroid(s1.subarray(2000));
  const c2 = centroid(s2.subarray(2000));
  assert.ok(c0 > 2 * c1 && c2 > 2 * c1, `centroids ${c0.toFixed(0)} / ${c1.toFixed(0)} / ${c2.toFixed(0)} Hz`);
  // And the sources themselves: A near its 196 Hz family, B well above 1 kHz.
  assert.ok(c1 < 700 && c0 > 1000, `a=1 centroid ${c1.toFixed(0)} Hz, a=0 centroid ${c0.toFixed(0)} Hz`);
  assert.equal(e.amount(), 0);
});

test('blocks of any size join without steps: identical to one long pull, and no jump at joins beyond the signal\'s own', () => {
  const sizes = [37, 64, 100, 1, 255, 513, 64, 90];
  const whole = new LiveEngine(model, A, B, { amount: 0.3 }).pull(sizes.reduce((s, n) => s + n, 0) * 6);
  const e = new LiveEngine(model, A, B, { amount: 0.3 });
  const parts: Float32Array[] = [];
  const joins: number[] = [];
  let n = 0;
  for (let r = 0; r < 6; r++) {
    for (const s of sizes) {
      parts.push(e.pull(s));
      n += s;
      joins.push(n);
    }
  }
  const cat = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    cat.set(p, o);
    o += p.length;
  }
  assert.deepEqual(cat, whole);
  // With the control moving at every join (a ramp from B to A), the output stays as smooth as inside blocks.
  const m = new LiveEngine(model, A, B, { amount: 0 });
  const y: number[] = [];
  const joinSet = new Set<number>();
  for (let k = 0; k < 120; k++) {
    m.setAmount(k / 119);
    const b = m.pull(100);
    joinSet.add(y.length);
    for (const v of b) y.push(v);
  }
  let atJoins = 0;
  let inside = 0;
  for (let i = 1; i < y.length; i++) {
    const d = Math.abs(y[i] - y[i - 1]);
    if (joinSet.has(i)) atJoins = Math.max(atJoins, d);
    else inside = Math.max(inside, d);
  }
  assert.ok(inside > 0.01, `signal too quiet to judge: ${inside}`);
  assert.ok(atJoins <= inside, `largest step at block joins ${atJoins} exceeds the largest inside blocks ${inside}`);
});

/** Largest sample-to-sample step of `y` inside `[from, to)`, and outside it. */
function stepsNear(y: Float32Array, from: number, to: number): [number, number] {
  let near = 0;
  let elsewhere = 0;
  for (let i = 1; i < y.length; i++) {
    const d = Math.abs(y[i] - y[i - 1]);
    if (i >= from && i < to) near = Math.max(near, d);
    else elsewhere = Math.max(elsewhere, d);
  }
  return [near, elsewhere];
}

test('swap(): new excerpts while playing, no gap and no step at the change, the sound follows the new pair', () => {
  // a = 1 plays A (low) before the swap; after swapping A and B it plays the bright one.
  const e = new LiveEngine(model, A, B, { amount: 1, loop: true });
  const frames: LiveFrameInfo[] = [];
  e.onFrame((f) => frames.push(f));
  const seg = Math.round(0.4 * SR);
  const before = e.pull(seg);
  const posBefore = e.position;
  e.swap(B, A);
  assert.equal(e.position, posBefore, 'the playhead keeps its frame');
  assert.equal(e.controlValue(), 1, 'the control is kept');
  const after = e.pull(seg);
  const y = new Float32Array(2 * seg);
  y.set(before);
  y.set(after, seg);
  const cBefore = centroid(before.subarray(2000));
  const cAfter = centroid(after.subarray(4000));
  assert.ok(cAfter > 2 * cBefore, `centroid before ${cBefore.toFixed(0)} Hz, after ${cAfter.toFixed(0)} Hz`);
  // No gap and nothing but the change of latents: at a = 1, swapping A and B gives z = B from the next
  // frame on, exactly what a control jump to a = 0 gives on the unswapped pair.
  const ref = new LiveEngine(model, A, B, { amount: 1, loop: true });
  const r0 = ref.pull(seg);
  ref.setAmount(0);
  const r1 = ref.pull(seg);
  assert.deepEqual(before, r0);
  assert.deepEqual(after, r1);
  let rms = 0;
  for (let i = seg - 400; i < seg + 400; i++) rms += y[i] * y[i];
  assert.ok(Math.sqrt(rms / 800) > 1e-3, 'silence around the change');
  assert.ok(frames.length > 0 && frames[frames.length - 1].amount === 1);
  // No step at the change beyond the signal's own: around the swap (one hop before to one window after, where
  // old and new frames overlap-add) no sample-to-sample step is larger than the largest one elsewhere.
  const { hop, nFft } = CFG();
  const [near, elsewhere] = stepsNear(y, seg - hop, seg + nFft);
  assert.ok(elsewhere > 0.01, `signal too quiet to judge: ${elsewhere}`);
  assert.ok(near <= elsewhere, `largest step at the swap ${near} exceeds the largest elsewhere ${elsewhere}`);
});

test('swap(): shorter excerpts (another frame count) in loop mode: the playhead wraps into them, no step at the change', async () => {
  const e = new LiveEngine(model, A, B, { amount: 0.5, loop: true });
  const seg = Math.round(0.8 * SR); // past the end of the shorter excerpts: the playhead wraps to their start
  const before = e.pull(seg);
  const A2 = await encodeExcerpt(model, tiny.fileA, 0.2, 0.5, 'excerpt A');
  const B2 = await encodeExcerpt(model, tiny.fileB, 0.3, 0.5, 'excerpt B');
  assert.ok(e.position >= A2.frames, `playhead ${e.position} is past the new end ${A2.frames}`);
  e.swap(A2, B2);
  assert.equal(e.frames, A2.frames);
  assert.equal(e.position, 0, 'wrapped to the start of the new excerpts');
  const after = e.pull(Math.round(1.2 * SR));
  assert.ok(e.position < A2.frames);
  const y = new Float32Array(before.length + after.length);
  y.set(before);
  y.set(after, before.length);
  const [near, elsewhere] = stepsNear(y, seg - CFG().hop, seg + CFG().nFft);
  assert.ok(near <= elsewhere, `largest step at the swap ${near} exceeds the largest elsewhere ${elsewhere}`);
  // No gap: the output around the change is never silent for a hop.
  for (let i = seg - 4 * CFG().hop; i < seg + 4 * CFG().hop; i += CFG().hop) {
    let sum = 0;
    for (let k = i; k < i + CFG().hop; k++) sum += y[k] * y[k];
    assert.ok(Math.sqrt(sum / CFG().hop) > 1e-3, `silent hop at ${i}`);
  }
});

test('swap(): mode, loop and curve change with it; once mode past the new end ends; bad input changes nothing', () => {
  const e = new LiveEngine(model, A, B, { amount: 0.5, loop: true });
  e.pull(Math.round(0.3 * SR));
  const curve = new Float32Array(A.frames).fill(0.2);
  e.swap(A, B, { mode: 'offset', curve });
  assert.equal(e.mode, 'offset');
  assert.equal(e.controlValue(), 0, 'switching to offset mode starts the offset at 0');
  e.pull(2048);
  assert.ok(Math.abs(e.amount() - 0.2) < 1e-6, `amount ${e.amount()} should be the curve's 0.2`);
  assert.throws(() => e.swap(A, B, { mode: 'offset', curve: new Float32Array(3) }), (x: unknown) => x instanceof UserError && /finite values/.test(x.message));
  assert.throws(() => e.swap(A, { ...B, frames: B.frames - 1, mu: B.mu.subarray(0, (B.frames - 1) * B.latent) }), UserError);
  assert.equal(e.mode, 'offset', 'a refused swap leaves the engine as it was');
  // Once mode, playhead past the shorter pair's end: it finishes (flushes) and ends.
  const short = (s: LatentSequence, n: number): LatentSequence => ({ frames: n, latent: s.latent, mu: s.mu.slice(0, n * s.latent), samples: (n - 1) * CFG().hop });
  const o = new LiveEngine(model, A, B, { amount: 0.5, loop: false });
  o.pull(Math.round(0.6 * SR));
  o.swap(short(A, 10), short(B, 10));
  assert.equal(o.frames, 10);
  o.pull(4096);
  assert.equal(o.ended, true);
});

test('looping: positions wrap, every pass sounds alike, and the seam has no click', () => {
  const e = new LiveEngine(model, A, B, { amount: 0.5, loop: true });
  const pos: number[] = [];
  e.onFrame((f) => pos.push(f.position));
  const L = e.lengthSamples;
  assert.equal(L, SR * DUR);
  const y = e.pull(3 * L);
  assert.equal(pos[0], 0);
  for (let i = 1; i < pos.length; i++) assert.equal(pos[i], (pos[i - 1] + 1) % e.frames);
  assert.ok(pos.filter((p) => p === 0).length >= 3);
  const r = [0, 1, 2].map((k) => rms(y.subarray(k * L + 2000, (k + 1) * L - 2000)));
  assert.ok(r[0] > 0.01);
  for (const v of r.slice(1)) assert.ok(Math.abs(20 * Math.log10(v / r[0])) < 1.5, `pass levels ${r.map((v) => v.toFixed(4)).join(', ')}`);
  assert.equal(e.ended, false);
  let inside = 0;
  for (let i = 1; i < y.length; i++) inside = Math.max(inside, Math.abs(y[i] - y[i - 1]));
  // Around the loop points (the output reaches an excerpt's end every `frames` hops) nothing jumps more than elsewhere.
  for (let k = 1; k <= 2; k++) {
    const seam = k * e.frames * e.hop;
    let m = 0;
    for (let i = seam - 200; i < seam + 200; i++) m = Math.max(m, Math.abs(y[i] - y[i - 1]));
    assert.ok(m <= inside);
  }
});

test('once mode: exactly the excerpt length with fades at both ends, then silence and ended', () => {
  const e = new LiveEngine(model, A, B, { amount: 1, loop: false });
  const y = e.pull(e.lengthSamples + 5000);
  assert.equal(e.ended, true);
  assert.equal(e.samplesOut, e.lengthSamples);
  const body = y.subarray(0, e.lengthSamples);
  assert.ok(rms(body) > 0.01);
  assert.ok(y.subarray(e.lengthSamples).every((v) => v === 0));
  assert.ok(Math.abs(body[0]) < 1e-3 && Math.abs(body[body.length - 1]) < 1e-3, 'no fade at the ends');
  assert.ok(e.pull(64).every((v) => v === 0));
});

test('offset mode adds the control to the drawn curve at the current frame, clamped to -0.3..1.3', () => {
  const curve = new Float32Array(A.frames);
  for (let i = 0; i < curve.length; i++) curve[i] = i / (curve.length - 1);
  const e = new LiveEngine(model, A, B, { mode: 'offset', curve, loop: false });
  const got: LiveFrameInfo[] = [];
  e.onFrame((f) => got.push(f));
  e.pull(Math.floor(e.lengthSamples / 2));
  for (const f of got) assert.ok(Math.abs(f.amount - curve[f.position]) < 1e-6);
  const k = got.length;
  e.setAmount(0.5);
  e.pull(e.lengthSamples);
  for (const f of got.slice(k)) assert.ok(Math.abs(f.amount - Math.min(1.3, curve[f.position] + 0.5)) < 1e-6, `frame ${f.position}: ${f.amount}`);
  assert.equal(got[got.length - 1].amount, 1.3);
  assert.throws(() => new LiveEngine(model, A, B, { mode: 'offset' }), (err: unknown) => err instanceof UserError && /curve/.test(err.message));
});

test('MIDI: raw CC bytes through the device path move the blend; the ramp smooths; a key press takes over', () => {
  // The RtMidi binding is replaced by a backend that delivers bytes exactly as the device callback does.
  let deliver: ((delta: number, message: number[]) => void) | undefined;
  const backend: MidiBackend = {
    getPortCount: () => 1,
    getPortName: () => 'test',
    openPort: () => undefined,
    closePort: () => undefined,
    isPortOpen: () => true,
    ignoreTypes: () => undefined,
    on: (_ev, cb) => { deliver = cb; return undefined; },
    destroy: () => undefined,
  };
  const input = createMidiInput({ backend });
  const mapper = new MidiMapper({ mappings: [{ param: 'amount', source: { kind: 'cc', channel: 0, controller: 1 }, min: 0, max: 1, mode: 'absolute' }] });
  const e = new LiveEngine(model, A, B, { amount: 0 });
  // The audio clock (the engine renders faster than real time here): the time of the next frame.
  const clock = () => e.audioTime;
  connectMidi(input, mapper, clock);
  e.connectMidi(mapper, clock);
  const got: LiveFrameInfo[] = [];
  e.onFrame((f) => got.push(f));
  const low = e.pull(6400);
  assert.ok(got.every((f) => f.amount === 0));
  deliver!(0, [0xb0, 1, 127]); // CC 1 = 127 on channel 1: the first value sets without a ramp
  const k = got.length;
  const high = e.pull(6400);
  assert.equal(got[k].amount, 1);
  assert.ok(centroid(low.subarray(3000)) > 2 * centroid(high.subarray(3000)));
  // A second move ramps over 8 ms (128 samples = 2 hops at 16 kHz): intermediate values, then the target.
  deliver!(0, [0xb0, 1, 0]);
  const k2 = got.length;
  e.pull(1280);
  const ramp = got.slice(k2).map((f) => f.amount);
  assert.ok(ramp.some((a) => a > 0 && a < 1), `no ramp: ${ramp.join(', ')}`);
  assert.equal(ramp[ramp.length - 1], 0);
  for (let i = 1; i < ramp.length; i++) assert.ok(ramp[i] <= ramp[i - 1]);
  // Keys move the same control, starting from where the knob left it.
  e.nudge(0.25);
  const k3 = got.length;
  e.pull(640);
  assert.ok(got.slice(k3).every((f) => f.amount === 0.25));
  assert.equal(e.controlValue(), 0.25);
});

test('a constant-Q model is refused with one line; mismatched excerpts and bad values are one-line errors', async () => {
  const cqtConfig: ModelConfig = {
    ...model.config,
    features: { transform: { kind: 'cqt', sampleRate: 16000, hop: 64, binsPerOctave: 12, nBins: 48, fmin: 65.4 }, scaling: 'log' },
    network: { ...model.config.network, inputBins: 48 },
  };
  const vae = TimbreVae.create(cqtConfig.network, 1);
  try {
    const cqtModel: LiveModel = { config: cqtConfig, vae };
    const seq: LatentSequence = { frames: 4, latent: 2, mu: new Float32Array(8) };
    assert.throws(() => new LiveEngine(cqtModel, seq, seq), (e: unknown) => e instanceof UserError && e.message === LIVE_NEEDS_STFT);
    await assert.rejects(LiveEngine.create(cqtModel, { path: tiny.fileA, start: 0 }, { path: tiny.fileB, start: 0 }, 1), (e: unknown) => e instanceof UserError && e.message === LIVE_NEEDS_STFT);
  } finally {
    vae.dispose();
  }
  const short: LatentSequence = { frames: A.frames - 1, latent: 2, mu: A.mu.slice(0, (A.frames - 1) * 2) };
  assert.throws(() => new LiveEngine(model, A, short), (e: unknown) => e instanceof UserError && /same duration/.test(e.message));
  const e = new LiveEngine(model, A, B);
  assert.throws(() => e.setAmount(NaN), (x: unknown) => x instanceof UserError && /finite/.test(x.message));
  assert.throws(() => e.pull(0), (x: unknown) => x instanceof UserError && /positive whole number/.test(x.message));
  await assert.rejects(encodeExcerpt(model, tiny.fileA, 1.5, 1, 'excerpt A'), (x: unknown) => x instanceof UserError && /runs past the end/.test(x.message));
  await assert.rejects(encodeExcerpt(model, join(tiny.dir, 'nope.wav'), 0, 1, 'excerpt A'), (x: unknown) => x instanceof UserError && /file not found/.test(x.message));
  e.setAmount(5);
  assert.equal(e.controlValue(), 1.3);
});

test('start(): streams through the real PortAudio path; the device receives exactly the pulled samples', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-live-'));
  const out = createAudioOutput({ env: { ALSA_CONFIG_PATH: writeAsoundConf(dir, 'default') } });
  try {
    const ref = new LiveEngine(model, A, B, { amount: 0.2, loop: false }).pull(SR * DUR);
    const e = new LiveEngine(model, A, B, { amount: 0.2, loop: false });
    const r = await e.start(out, { blockFrames: 256, queueBlocks: 2 });
    assert.equal(r.available, true, r.available ? '' : r.reason);
    assert.equal(e.playing, true);
    const lat = e.latencyEstimate();
    assert.ok(lat.device > 0 && lat.total > lat.synthesis);
    await e.done();
    assert.equal(e.playing, false);
    assert.equal(e.error, undefined);
    assert.equal(e.underruns(), 0);
    assert.equal(e.ended, true);
    const cap = readFloatCapture(join(dir, 'default.raw'));
    const k = findStart(cap, ref);
    assert.ok(k >= 0, `streamed audio not found in the ${cap.length}-sample capture`);
    assert.equal(maxAbsDiff(cap, k, ref), 0);
    await e.dispose();
    // A stream stopped from elsewhere (the output's stop(), as the TUI's transport does) ends the loop with a reason.
    const looping = new LiveEngine(model, A, B, { loop: true });
    assert.equal((await looping.start(out)).available, true);
    await new Promise((r) => setTimeout(r, 200));
    out.stop();
    const t0 = performance.now();
    await looping.done();
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(looping.playing, false);
    assert.match(looping.error ?? '', /stopped taking audio/);
    await looping.dispose();
    // ALSA's null device takes audio about 7x faster than real time: the loop still keeps to the wall clock (a
    // real-time thread that spun would starve the machine), and it still streams.
    const paced = new LiveEngine(model, A, B, { loop: true });
    const c0 = readFloatCapture(join(dir, 'default.raw')).length;
    const w0 = performance.now();
    assert.equal((await paced.start(out)).available, true);
    await new Promise((r) => setTimeout(r, 1500));
    const took = (readFloatCapture(join(dir, 'default.raw')).length - c0) / SR;
    const wall = (performance.now() - w0) / 1000;
    await paced.dispose();
    assert.ok(took <= wall + MIN_WALL_CLOCK_LEAD_S + 0.1, `${took.toFixed(2)} s of audio in ${wall.toFixed(2)} s`);
    assert.ok(took >= 0.25 * wall, `still streams: ${took.toFixed(2)} s of audio in ${wall.toFixed(2)} s`);
    // stop() while the device opens (Ctrl-L twice in quick succession): start() then plays nothing and says so.
    const early = new LiveEngine(model, A, B, { loop: true });
    const starting = early.start(out);
    await early.stop();
    const before = readFloatCapture(join(dir, 'default.raw')).length;
    const answer = await starting;
    assert.equal(answer.available, false);
    assert.equal(answer.available ? '' : answer.reason, LIVE_STOPPED_WHILE_OPENING);
    assert.equal(early.playing, false);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(early.framesSynthesized, 0, 'nothing was synthesised');
    assert.ok(readFloatCapture(join(dir, 'default.raw')).length - before < 2048, 'the device got no stream');
    // The same engine starts normally afterwards.
    assert.equal((await early.start(out)).available, true);
    assert.equal(early.playing, true);
    await early.dispose();
    assert.equal(early.playing, false);
    const bad = new LiveEngine(model, A, B, { loop: false });
    await assert.rejects(bad.start(out, { niceness: 99 }), (x: unknown) => x instanceof UserError && /niceness must be an integer -20\.\.19/.test(x.message));
    assert.equal(bad.playing, false);
    await bad.dispose();
  } finally {
    out.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start() with realtimePriority: the synthesising thread is SCHED_FIFO at that priority while streaming, normal after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-live-rt-'));
  const out = createAudioOutput({ env: { ALSA_CONFIG_PATH: writeAsoundConf(dir, 'default') } });
  const allowed = realtimeAllowed();
  // The engine runs on this (the main) thread, whose thread id is the process id.
  assert.equal(threadSched(process.pid).realtime, false, 'the test must start from normal scheduling');
  try {
    const e = new LiveEngine(model, A, B, { loop: true });
    assert.equal((await e.start(out, { blockFrames: 256, queueBlocks: 2, realtimePriority: 3 })).available, true);
    await new Promise((r) => setTimeout(r, 150));
    const during = threadSched(process.pid);
    assert.equal(e.realtime, allowed);
    assert.deepEqual(during, allowed ? { realtime: true, priority: 3 } : { realtime: false, priority: 0 });
    await e.stop();
    assert.equal(e.realtime, false);
    assert.deepEqual(threadSched(process.pid), { realtime: false, priority: 0 });
    assert.equal(e.error, undefined);
    await e.dispose();
    const bad = new LiveEngine(model, A, B, { loop: false });
    await assert.rejects(bad.start(out, { realtimePriority: 0 }), (x: unknown) => x instanceof UserError && /realtimePriority must be an integer 1\.\.99/.test(x.message));
    assert.equal(bad.playing, false);
    await bad.dispose();
  } finally {
    out.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
