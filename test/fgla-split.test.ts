/**
 * A reconstruction split into chunks with ghost frames (`planChunks`, `FusedChunk`) gives the same bytes as one
 * chunk over the whole signal (`fgla`), when the chunks exchange their boundary samples after every pass. Here the
 * chunks run interleaved on one thread, on a committed recording; `phase-threads.test.ts` runs them on two threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { fgla } from '../src/dsp/fgla.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { createRng } from '../src/dsp/rng.ts';
import { randomUnitPhasors } from '../src/dsp/wasm/stft-kernels.ts';
import { FusedChunk, planChunks, ghostFrames, type ChunkPlan, type Step } from '../src/dsp/fgla-fused.ts';
import { DEFAULT_ACCELERATION } from '../src/dsp/phase-settings.ts';
import type { Magnitudes, StftConfig } from '../src/dsp/types.ts';
import { readRecordings } from './helpers/recordings.ts';

const cfg = DEFAULT_STFT;
const tr = stftTransform(cfg);

/** Run `plans` interleaved: every chunk does a pass, then each takes its neighbours' boundary samples. */
function runSplit(
  mag: Magnitudes, length: number, plans: ChunkPlan[], step: Step, z: { re: Float32Array; im: Float32Array }, iterations: number,
  cfg: StftConfig = DEFAULT_STFT,
): Float32Array {
  const bins = cfg.nFft / 2 + 1;
  const chunks = plans.map((p) =>
    FusedChunk.create({
      cfg, totalFrames: mag.frames, length, first: p.first, count: p.count, step,
      mag: mag.data.subarray(p.first * bins, (p.first + p.count) * bins),
      start: { kind: 'given', re: z.re.subarray(p.first * bins, (p.first + p.count) * bins), im: z.im.subarray(p.first * bins, (p.first + p.count) * bins) },
    })!,
  );
  const exchange = () => {
    // copy first, then write: every chunk sends what it computed in this pass
    const sent = chunks.map((c, i) => ({
      left: plans[i].send.left ? Float32Array.from(c.signal(plans[i].send.left!)) : null,
      right: plans[i].send.right ? Float32Array.from(c.signal(plans[i].send.right!)) : null,
    }));
    chunks.forEach((c, i) => {
      if (plans[i].receive.left) c.signal(plans[i].receive.left!).set(sent[i - 1].right!);
      if (plans[i].receive.right) c.signal(plans[i].receive.right!).set(sent[i + 1].left!);
    });
  };
  try {
    for (const c of chunks) c.startPass();
    exchange();
    for (let it = 0; it < iterations; it++) {
      for (const c of chunks) c.iterate(it);
      exchange();
    }
    const half = cfg.nFft / 2;
    const padded = new Float32Array((mag.frames - 1) * cfg.hop + cfg.nFft);
    chunks.forEach((c, i) => padded.set(c.signal(plans[i].output), plans[i].output.start));
    return padded.slice(half, half + length);
  } finally {
    for (const c of chunks) c.free();
  }
}

function sameBytes(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let diff = 0;
  let first = -1;
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) {
      diff++;
      if (first < 0) first = i;
    }
  }
  assert.equal(diff, 0, `${what}: ${diff} samples differ, the first at ${first} (${a[first]} vs ${b[first]})`);
}

test('plans tile the signal, exchange complete samples and refuse too few frames', () => {
  const G = ghostFrames(cfg);
  assert.equal(G, 7);
  assert.equal(planChunks(4 * G - 1, cfg, 2), null);
  for (const [T, parts] of [[100, 2], [101, 3], [690, 2]] as const) {
    const plans = planChunks(T, cfg, parts)!;
    const padLen = (T - 1) * cfg.hop + cfg.nFft;
    let at = 0;
    for (const [i, p] of plans.entries()) {
      assert.equal(p.output.start, at, `part ${i} output starts where the previous ended`);
      at += p.output.count;
      if (i > 0) assert.deepEqual(p.receive.left, plans[i - 1].send.right, `part ${i} receives what part ${i - 1} sends`);
      if (i < parts - 1) assert.deepEqual(p.receive.right, plans[i + 1].send.left);
    }
    assert.equal(at, padLen);
  }
});

test('two and three chunks give the bytes of one: FGLA from random phase, AGLA from PGHI', async () => {
  const [rec] = (await readRecordings('bench', 2.5)).filter((r) => r.name.includes('speech-1'));
  const x = rec.x;
  const mag = magnitudes(tr.analyze(x));
  const n = mag.frames * mag.bins;

  const random = randomUnitPhasors(createRng(5).state(), n); // the given phase of every chunk
  const whole = fgla(mag, tr, x.length, { iterations: 6, seed: 5, path: 'fused' });
  for (const parts of [2, 3]) {
    const split = runSplit(mag, x.length, planChunks(mag.frames, cfg, parts)!, { momentum: 0.99, accel: null }, random, 6);
    sameBytes(split, whole, `FGLA, ${parts} chunks`);
  }

  const start = pghi(mag, cfg);
  const wholeAgla = fgla(mag, tr, x.length, { iterations: 7, init: start, acceleration: DEFAULT_ACCELERATION, path: 'fused' });
  const splitAgla = runSplit(mag, x.length, planChunks(mag.frames, cfg, 2)!, { momentum: 0.99, accel: DEFAULT_ACCELERATION }, start, 7);
  sameBytes(splitAgla, wholeAgla, 'AGLA after PGHI, 2 chunks');

  // A hop that does not divide the frame: 1024/300 (3 ghost frames), AGLA from random phase.
  const odd: StftConfig = { kind: 'stft', sampleRate: 44100, nFft: 1024, hop: 300 };
  const oddTr = stftTransform(odd);
  const oddMag = magnitudes(oddTr.analyze(x));
  assert.equal(ghostFrames(odd), 3);
  const oddRandom = randomUnitPhasors(createRng(9).state(), oddMag.frames * oddMag.bins);
  const wholeOdd = fgla(oddMag, oddTr, x.length, { iterations: 5, seed: 9, acceleration: DEFAULT_ACCELERATION, path: 'fused' });
  const splitOdd = runSplit(oddMag, x.length, planChunks(oddMag.frames, odd, 2)!, { momentum: 0.99, accel: DEFAULT_ACCELERATION }, oddRandom, 5, odd);
  sameBytes(splitOdd, wholeOdd, 'AGLA, nFft 1024, hop 300, 2 chunks');
});

test('without the exchange the chunks drift apart (the exchange is what makes them agree)', async () => {
  const [rec] = (await readRecordings('bench', 1.5)).filter((r) => r.name.includes('strings'));
  const mag = magnitudes(tr.analyze(rec.x));
  const plans = planChunks(mag.frames, cfg, 2)!;
  // receive nothing: each chunk keeps its own partial sums beyond the boundary
  const isolated = plans.map((p) => ({ ...p, receive: { left: null, right: null } }));
  const start = pghi(mag, cfg);
  const whole = fgla(mag, tr, rec.x.length, { iterations: 4, init: start, path: 'fused' });
  const split = runSplit(mag, rec.x.length, isolated, { momentum: 0.99, accel: null }, start, 4);
  let diff = 0;
  for (let i = 0; i < whole.length; i++) if (whole[i] !== split[i]) diff++;
  assert.ok(diff > 100, `only ${diff} samples differ`);
});
