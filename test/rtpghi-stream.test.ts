/**
 * Streaming RTPGHI (src/dsp/rtpghi.ts): quality against the offline PGHI on a
 * real-ish signal, exact stream bookkeeping (block sizes, delay, length),
 * continuity across push boundaries, determinism and input errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stft, istft } from '../src/dsp/stft.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { RtPghi } from '../src/dsp/rtpghi.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import { createRng, gaussian } from '../src/dsp/rng.ts';
import type { Magnitudes, StftConfig } from '../src/dsp/types.ts';
import { UserError } from '../src/io/errors.ts';
import { median } from '../bench/util.ts';
import { readRecordings } from './helpers/recordings.ts';

const CFG: StftConfig = { kind: 'stft', sampleRate: 44100, nFft: 2048, hop: 256 };

/**
 * 1.5 s of a "played" phrase: a harmonic tone with vibrato and a swell, a
 * second, brighter note entering at 0.6 s (an onset), and a little noise.
 */
function phrase(sr: number): Float32Array {
  const n = Math.round(1.5 * sr);
  const x = new Float32Array(n);
  const rng = createRng(11);
  let ph1 = 0;
  let ph2 = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    const f1 = 220 * (1 + 0.01 * Math.sin(2 * Math.PI * 5 * t));
    ph1 += (2 * Math.PI * f1) / sr;
    let s = 0;
    for (let k = 1; k <= 8; k++) s += Math.sin(k * ph1 + 0.3 * k) / k;
    s *= 0.2 * (0.6 + 0.4 * Math.sin(Math.PI * t / 1.5));
    if (t >= 0.6) {
      ph2 += (2 * Math.PI * 659.3) / sr;
      const env = Math.min(1, (t - 0.6) / 0.01) * Math.exp(-(t - 0.6) * 2);
      for (let k = 1; k <= 12; k++) s += (0.15 * env * Math.sin(k * ph2)) / k;
    }
    x[i] = s + 0.002 * gaussian(rng);
  }
  return x;
}

function magnitudesOf(x: Float32Array, cfg: StftConfig): Magnitudes {
  const c = stft(x, cfg);
  const data = new Float32Array(c.frames * c.bins);
  for (let i = 0; i < data.length; i++) data[i] = Math.hypot(c.re[i], c.im[i]);
  return { frames: c.frames, bins: c.bins, data };
}

/** Push every frame; returns the blocks (null for none) and the flushed tail. */
function stream(mag: Magnitudes, rt: RtPghi): { blocks: (Float32Array | null)[]; tail: Float32Array; signal: Float32Array } {
  const blocks: (Float32Array | null)[] = [];
  for (let t = 0; t < mag.frames; t++) blocks.push(rt.push(mag.data.slice(t * mag.bins, (t + 1) * mag.bins)));
  const tail = rt.flush();
  const parts = [...blocks.filter((b): b is Float32Array => b !== null), tail];
  const signal = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    signal.set(p, o);
    o += p.length;
  }
  return { blocks, tail, signal };
}

test('streamed reconstruction is within a few dB of offline PGHI (spectral convergence), with and without look-ahead', () => {
  const x = phrase(CFG.sampleRate);
  const mag = magnitudesOf(x, CFG);
  const offline = istft(pghi(mag, CFG), CFG, x.length);
  const scOffline = signalSpectralConvergence(x, offline, CFG);
  const sc1 = signalSpectralConvergence(x, stream(mag, new RtPghi(CFG, { lookahead: 1 })).signal.subarray(0, x.length), CFG);
  const sc0 = signalSpectralConvergence(x, stream(mag, new RtPghi(CFG, { lookahead: 0 })).signal.subarray(0, x.length), CFG);
  // Offline PGHI on such material reaches about -20 dB or better; the streamed versions see one frame at a time.
  assert.ok(scOffline < -15, `offline PGHI SC ${scOffline.toFixed(2)} dB`);
  assert.ok(sc1 < scOffline + 3, `look-ahead 1: SC ${sc1.toFixed(2)} dB vs offline ${scOffline.toFixed(2)} dB`);
  assert.ok(sc0 < scOffline + 6, `look-ahead 0: SC ${sc0.toFixed(2)} dB vs offline ${scOffline.toFixed(2)} dB`);
  // Random phase (no integration at all) is far worse: the test can tell good from bad.
  const rng = createRng(5);
  const c = stft(x, CFG);
  for (let i = 0; i < c.re.length; i++) {
    const m = mag.data[i];
    const p = 2 * Math.PI * rng();
    c.re[i] = m * Math.cos(p);
    c.im[i] = m * Math.sin(p);
  }
  const scRandom = signalSpectralConvergence(x, istft(c, CFG, x.length), CFG);
  assert.ok(sc1 < scRandom - 8, `streamed ${sc1.toFixed(2)} dB is not clearly better than random phase ${scRandom.toFixed(2)} dB`);
});

test("without look-ahead, the backward difference of the power beats that of the log-magnitude on the recordings of data/bench; with look-ahead both options give the centred log difference (up to the last frame)", async () => {
  const recordings = await readRecordings('bench');
  const power: number[] = [];
  const log: number[] = [];
  for (const { x } of recordings) {
    const mag = magnitudesOf(x, CFG);
    const sc = (timeDerivative: 'power' | 'log', lookahead: 0 | 1) =>
      stream(mag, new RtPghi(CFG, { lookahead, timeDerivative })).signal.subarray(0, x.length);
    power.push(signalSpectralConvergence(x, sc('power', 0), CFG));
    log.push(signalSpectralConvergence(x, sc('log', 0), CFG));
    // (the stream's last frame has no next one: flush() takes the backward difference, which the option chooses)
    const early = (y: Float32Array) => y.subarray(0, x.length - CFG.nFft);
    if (x === recordings[0].x) assert.deepEqual(early(sc('power', 1)), early(sc('log', 1)), 'look-ahead 1 does not depend on the option');
  }
  // measured 2026-12-06: -22.65 vs -21.72 dB
  assert.ok(median(power) < median(log) - 0.3, `median SC: power ${median(power).toFixed(2)} dB, log ${median(log).toFixed(2)} dB`);
});

test('stream bookkeeping: null while filling, then hop samples per push, total length (frames-1)*hop + nFft/2', () => {
  const x = phrase(CFG.sampleRate).subarray(0, 20000);
  const mag = magnitudesOf(x, CFG);
  for (const lookahead of [0, 1] as const) {
    const rt = new RtPghi(CFG, { lookahead });
    assert.equal(rt.latencySamples, 1024 + lookahead * 256);
    const { blocks, tail, signal } = stream(mag, rt);
    const firstOut = blocks.findIndex((b) => b !== null);
    assert.equal(firstOut, 1024 / 256 + lookahead, `look-ahead ${lookahead}: first output at push ${firstOut}`);
    for (let i = firstOut; i < blocks.length; i++) assert.equal(blocks[i]?.length, 256, `push ${i}`);
    assert.equal(signal.length, (mag.frames - 1) * 256 + 1024);
    assert.equal(tail.length, signal.length - (blocks.length - firstOut) * 256);
    assert.equal(rt.samplesOut, signal.length);
    assert.equal(rt.framesPushed, mag.frames);
  }
});

test('a change in the pushed magnitudes is heard exactly where the window of its frame starts (the documented delay)', () => {
  // Silence, then from frame 20 on a steady partial: the output is zero before the window of frame 20.
  const M = CFG.nFft / 2 + 1;
  for (const lookahead of [0, 1] as const) {
    const rt = new RtPghi(CFG, { lookahead });
    const loud = new Float32Array(M);
    loud[40] = 100;
    loud[39] = loud[41] = 50;
    let emitted = 0;
    let firstNonZero = -1;
    let pushOfFirst = -1;
    for (let t = 0; t < 40; t++) {
      const out = rt.push(t < 20 ? new Float32Array(M) : loud);
      if (!out) continue;
      for (let i = 0; i < out.length && firstNonZero < 0; i++) {
        if (out[i] !== 0) {
          firstNonZero = emitted + i;
          pushOfFirst = t;
        }
      }
      emitted += out.length;
    }
    // Frame 20's window starts at signal sample 20*256 - 1024; the Hann window is 0 at its first sample.
    assert.equal(firstNonZero, 20 * 256 - 1024 + 1, `look-ahead ${lookahead}`);
    // It is returned by the push of frame 20 (no look-ahead) or of frame 21 (one frame of look-ahead).
    assert.equal(pushOfFirst, 20 + lookahead);
  }
});

test('continuity across push boundaries: a steady tone streams without steps at block joins and with a steady level', () => {
  const sr = CFG.sampleRate;
  const n = sr; // 1 s
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 441.7 * i) / sr) + 0.2 * Math.sin((2 * Math.PI * 1327.1 * i) / sr);
  const mag = magnitudesOf(x, CFG);
  const y = stream(mag, new RtPghi(CFG)).signal;
  // Second differences measure steps and kinks; compare those at joins with those inside blocks.
  const d2 = (i: number) => Math.abs(y[i + 1] - 2 * y[i] + y[i - 1]);
  let atJoins = 0;
  let inside = 0;
  for (let i = 2048; i < n - 2048; i++) {
    if (i % 256 === 0 || i % 256 === 255) atJoins = Math.max(atJoins, d2(i));
    else inside = Math.max(inside, d2(i));
  }
  assert.ok(inside > 0);
  assert.ok(atJoins <= 1.05 * inside, `second difference at joins ${atJoins} vs inside blocks ${inside}`);
  // Level: RMS over 256-sample blocks stays within 0.5 dB of the source's (away from the ends).
  const srcRms = Math.sqrt((0.5 * 0.5 + 0.2 * 0.2) / 2);
  for (let b = 4; b < n / 256 - 4; b++) {
    let s = 0;
    for (let i = b * 256; i < (b + 1) * 256; i++) s += y[i] * y[i];
    const db = 20 * Math.log10(Math.sqrt(s / 256) / srcRms);
    assert.ok(Math.abs(db) < 0.5, `block ${b}: level ${db.toFixed(2)} dB off`);
  }
  assert.ok(signalSpectralConvergence(x, y.subarray(0, n), CFG) < -25);
});

test('deterministic for a seed; reset() starts the identical stream again; silence gives zeros', () => {
  const x = phrase(CFG.sampleRate).subarray(0, 30000);
  const mag = magnitudesOf(x, CFG);
  const a = new RtPghi(CFG, { seed: 7 });
  const y1 = stream(mag, a).signal;
  a.reset();
  const y2 = stream(mag, a).signal;
  const y3 = stream(mag, new RtPghi(CFG, { seed: 7 })).signal;
  assert.deepEqual(y2, y1);
  assert.deepEqual(y3, y1);
  const silent: Magnitudes = { frames: 30, bins: 1025, data: new Float32Array(30 * 1025) };
  const z = stream(silent, new RtPghi(CFG)).signal;
  assert.equal(z.length, 29 * 256 + 1024);
  assert.ok(z.every((v) => v === 0));
});

test('a small configuration (16 kHz, nFft 256, hop 64) streams too: the tiny test model uses it', () => {
  const cfg: StftConfig = { kind: 'stft', sampleRate: 16000, nFft: 256, hop: 64 };
  const x = phrase(16000);
  const mag = magnitudesOf(x, cfg);
  const offline = signalSpectralConvergence(x, istft(pghi(mag, cfg), cfg, x.length), cfg);
  const streamed = signalSpectralConvergence(x, stream(mag, new RtPghi(cfg)).signal.subarray(0, x.length), cfg);
  assert.ok(streamed < offline + 3, `streamed ${streamed.toFixed(2)} dB vs offline ${offline.toFixed(2)} dB`);
});

test('bad input is a one-line UserError naming the fix', () => {
  assert.throws(() => new RtPghi({ ...CFG, nFft: 1000 }), (e: unknown) => e instanceof UserError && /nFft 1000/.test(e.message));
  assert.throws(() => new RtPghi(CFG, { lookahead: 2 as 0 }), (e: unknown) => e instanceof UserError && /lookahead must be 0 or 1/.test(e.message));
  assert.throws(() => new RtPghi(CFG, { tolerance: 0 }), (e: unknown) => e instanceof UserError && /tolerance/.test(e.message));
  assert.throws(
    () => new RtPghi(CFG, { timeDerivative: 'cubic' as 'log' }),
    (e: unknown) => e instanceof UserError && /timeDerivative must be 'power' or 'log'/.test(e.message) && !e.message.includes('\n'),
  );
  const rt = new RtPghi(CFG);
  assert.throws(() => rt.push(new Float32Array(1024)), (e: unknown) => e instanceof UserError && /1025 magnitudes, got 1024/.test(e.message));
  const bad = new Float32Array(1025);
  bad[3] = NaN;
  assert.throws(() => rt.push(bad), (e: unknown) => e instanceof UserError && /bin 3/.test(e.message));
  rt.push(new Float32Array(1025));
  rt.flush();
  assert.throws(() => rt.push(new Float32Array(1025)), (e: unknown) => e instanceof UserError && /reset\(\)/.test(e.message));
  assert.equal(rt.flush().length, 0);
});
