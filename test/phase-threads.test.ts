/**
 * Phase reconstruction on several threads (src/engine/phase-split.ts): the calling thread and real inference helper
 * threads share the Griffin-Lim iterations and give the same bytes as `fgla` on one thread, on committed recordings,
 * with two and three threads; an abort stops all; a helper that dies mid-way costs time, not the result; renders with
 * two threads equal renders with one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { fgla, type FglaOptions } from '../src/dsp/fgla.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { DEFAULT_ACCELERATION } from '../src/dsp/phase-settings.ts';
import { initBackend } from '../src/engine/backend.ts';
import { weightsChecksum } from '../src/engine/model-folder.ts';
import { VaeHelpers } from '../src/engine/vae-helpers.ts';
import { fglaOnThreads, type PhasePartRunner } from '../src/engine/phase-split.ts';
import { Renderer, defaultPhaseSettings } from '../src/engine/render.ts';
import type { RenderParams } from '../src/engine/render-types.ts';
import { DEFAULT_MODEL_DIR, DEMO_DATASET_DIR } from '../src/paths.ts';
import type { Magnitudes } from '../src/dsp/types.ts';
import { readRecordings } from './helpers/recordings.ts';

const tr = stftTransform(DEFAULT_STFT);
let helpers: VaeHelpers;
let backend: string;

before(async () => {
  backend = (await initBackend('wasm')).name;
  helpers = VaeHelpers.start({ threads: 3, backend });
  await helpers.load(DEFAULT_MODEL_DIR, weightsChecksum(DEFAULT_MODEL_DIR));
});

after(() => helpers.close());

/** The helpers' runners (the first `count`), counting the parts they completed. */
function countingRunners(count: number): { runners: PhasePartRunner[]; done: () => number } {
  const all = helpers.phaseRunners();
  assert.equal(all.length, 2, 'both loaded helpers offer a phase runner');
  let n = 0;
  return {
    runners: all.slice(0, count).map((runner) => async (req, transfer) => {
      const out = await runner(req, transfer);
      n++;
      return out;
    }),
    done: () => n,
  };
}

async function onThreads(mag: Magnitudes, length: number, opts: FglaOptions, runners: PhasePartRunner[]): Promise<{ out: Float32Array; threads: number }> {
  let threads = 0;
  const out = await fglaOnThreads(mag, tr, length, opts, runners, { onSplit: (t: number) => (threads = t) });
  return { out, threads };
}

test('two and three threads give the bytes of one: FGLA from random and zero phase, AGLA from PGHI, on real recordings', async () => {
  const recs = (await readRecordings('bench', 3)).filter((r) => /piano|speech-2/.test(r.name));
  assert.equal(recs.length, 2);
  for (const threads of [2, 3]) {
    const { runners, done } = countingRunners(threads - 1);
    let parts = 0;
    for (const { name, x } of recs) {
      const mag = magnitudes(tr.analyze(x));
      const start = pghi(mag, DEFAULT_STFT);
      const cases: [string, FglaOptions][] = [
        ['fgla random', { iterations: 9, seed: 4 }],
        ['fgla zero', { iterations: 3, init: 'zero', momentum: 0.5 }],
        ['agla after pghi', { iterations: 12, init: start, acceleration: DEFAULT_ACCELERATION }],
      ];
      for (const [what, opts] of cases) {
        const want = fgla(mag, tr, x.length, opts);
        const got = await onThreads(mag, x.length, opts, runners);
        parts += threads - 1;
        assert.equal(got.threads, threads, `${name} ${what}: split ${threads} ways`);
        assert.deepEqual(got.out, want, `${name} ${what}, ${threads} threads`);
      }
    }
    assert.equal(done(), parts, 'the helpers computed their parts every time');
  }
});

test('short signals stay on one thread, and a signal long enough for two but not three threads uses two', async () => {
  const recs = await readRecordings('bench');
  const { runners, done } = countingRunners(2);
  for (const [seconds, threads] of [[0.5, 1], [1.5, 2]] as const) {
    const x = recs[0].x.subarray(0, Math.round(seconds * 44100));
    const mag = magnitudes(tr.analyze(x));
    const got = await onThreads(mag, x.length, { iterations: 4 }, runners);
    assert.equal(got.threads, threads, `${mag.frames} frames`);
    assert.deepEqual(got.out, fgla(mag, tr, x.length, { iterations: 4 }));
  }
  assert.equal(done(), 1, 'one helper part, for the 1.5 s signal');
});

test('bad input is refused with the words fgla uses, before any helper is asked', async () => {
  const [{ x }] = await readRecordings('bench', 2);
  const mag = magnitudes(tr.analyze(x));
  const { runners, done } = countingRunners(2);
  const wrongShape = { frames: 3, bins: mag.bins, re: new Float32Array(3 * mag.bins), im: new Float32Array(3 * mag.bins) };
  for (const opts of [{ iterations: 4, momentum: Number.NaN }, { iterations: -1 }, { iterations: 4, init: wrongShape }] as FglaOptions[]) {
    let want = '';
    try {
      fgla(mag, tr, x.length, opts);
    } catch (e) {
      want = (e as Error).message;
    }
    assert.ok(want.startsWith('fgla: '), `fgla refuses ${JSON.stringify(opts).slice(0, 60)}`);
    await assert.rejects(onThreads(mag, x.length, opts, runners), { message: want });
  }
  assert.equal(done(), 0);
});

test('an abort stops every thread with the abort error; the helpers are usable afterwards', async () => {
  const [{ x }] = await readRecordings('bench', 3);
  const mag = magnitudes(tr.analyze(x));
  const { runners, done } = countingRunners(2);
  const ac = new AbortController();
  await assert.rejects(
    onThreads(mag, x.length, { iterations: 20, signal: ac.signal, onProgress: (d: number) => d === 3 && ac.abort() }, runners),
    (e: Error) => e.name === 'AbortError',
  );
  const again = await onThreads(mag, x.length, { iterations: 5 }, runners);
  assert.equal(again.threads, 3);
  assert.deepEqual(again.out, fgla(mag, tr, x.length, { iterations: 5 }));
  assert.equal(done(), 2, 'the aborted parts were not counted as done');
});

// The stall limit is set far beyond the test's timeout: once a helper has started its part, the caller gives up on it
// after about a second without progress (RUNNING_STALL_MIN_MS), whatever the limit for a helper that has not started.
test('a helper that dies mid-way: the caller gives up on it within about a second and computes the same result alone', { timeout: 30_000 }, async () => {
  const own = VaeHelpers.start({ threads: 2, backend });
  try {
    await own.load(DEFAULT_MODEL_DIR, weightsChecksum(DEFAULT_MODEL_DIR));
    const runners = own.phaseRunners();
    assert.equal(runners.length, 1);
    const [{ x }] = await readRecordings('bench', 3);
    const mag = magnitudes(tr.analyze(x));
    const opts: FglaOptions = { iterations: 12, seed: 1 };
    let killed = false;
    const t0 = performance.now();
    const got = await fglaOnThreads(mag, tr, x.length, {
      ...opts,
      onProgress: (d: number) => {
        if (d === 2 && !killed) {
          killed = true;
          void own.close(); // the helper thread is terminated while this thread waits for its passes
        }
      },
    }, runners, { stallMs: 600_000, onSplit: (t: number) => assert.equal(t, 1, 'fell back to one thread') });
    assert.ok(killed);
    // The test's timeout cannot fire while this thread waits, so the time is checked here: far below the stall limit.
    assert.ok(performance.now() - t0 < 60_000, `gave up after ${Math.round(performance.now() - t0)} ms`);
    assert.deepEqual(got, fgla(mag, tr, x.length, opts));
  } finally {
    await own.close();
  }
});

test('a render with pghi+agla gives the same bytes with one and two threads, and two threads shared the iterations', async () => {
  const files = readdirSync(DEMO_DATASET_DIR).filter((f) => f.endsWith('.wav')).sort();
  const out = mkdtempSync(join(tmpdir(), 'lts-phase-threads-'));
  const params: RenderParams = {
    model: DEFAULT_MODEL_DIR,
    a: { path: join(DEMO_DATASET_DIR, files[0]), start: 0.2 },
    b: { path: join(DEMO_DATASET_DIR, files[1]), start: 0.1 },
    duration: 2,
    curve: '0:1,1:0',
    phase: defaultPhaseSettings('pghi+agla', 16),
    normalizeDbfs: -1,
    sample: false,
    seed: 3,
    fadeMs: 10,
  };
  const one = await Renderer.create({ backend: 'wasm', threads: 1 });
  const two = await Renderer.create({ backend: 'wasm', threads: 2 });
  try {
    await two.helpersLoaded(DEFAULT_MODEL_DIR);
    const a = await one.render(params, { out: join(out, 'one.wav') });
    assert.equal(one.lastPhaseThreads, 1);
    const b = await two.render(params, { out: join(out, 'two.wav') });
    assert.equal(two.lastPhaseThreads, 2, 'the iterations were shared');
    assert.deepEqual(b.samples, a.samples);
  } finally {
    one.dispose();
    two.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});
