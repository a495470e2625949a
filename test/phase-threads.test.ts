/**
 * Phase reconstruction on two threads (src/engine/phase-split.ts): the calling thread and a real inference helper
 * thread share the Griffin-Lim iterations and give the same bytes as `fgla` on one thread, on committed recordings;
 * an abort stops both; a helper that dies mid-way costs time, not the result; renders with two threads equal renders
 * with one.
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
import { fglaTwoThreads, type PhasePartRunner } from '../src/engine/phase-split.ts';
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
  helpers = VaeHelpers.start({ threads: 2, backend });
  await helpers.load(DEFAULT_MODEL_DIR, weightsChecksum(DEFAULT_MODEL_DIR));
});

after(() => helpers.close());

/** The helpers' runner, counting the parts the helper completed. */
function countingRunner(): { run: PhasePartRunner; done: () => number } {
  const runner = helpers.phaseRunner();
  assert.ok(runner, 'a loaded helper offers a phase runner');
  let n = 0;
  return {
    run: async (req, transfer) => {
      const out = await runner(req, transfer);
      n++;
      return out;
    },
    done: () => n,
  };
}

async function twoThreads(mag: Magnitudes, length: number, opts: FglaOptions, run: PhasePartRunner): Promise<{ out: Float32Array; threads: number }> {
  let threads = 0;
  const out = await fglaTwoThreads(mag, tr, length, opts, run, { onSplit: (t) => (threads = t) });
  return { out, threads };
}

test('two threads give the bytes of one: FGLA from random and zero phase, AGLA from PGHI, on real recordings', async () => {
  const recs = (await readRecordings('bench', 3)).filter((r) => /piano|speech-2/.test(r.name));
  assert.equal(recs.length, 2);
  const { run, done } = countingRunner();
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
      const got = await twoThreads(mag, x.length, opts, run);
      parts++;
      assert.equal(got.threads, 2, `${name} ${what}: split`);
      assert.deepEqual(got.out, want, `${name} ${what}`);
    }
  }
  assert.equal(done(), parts, 'the helper computed its half every time');
});

test('short signals, zero iterations and constant-Q stay on one thread', async () => {
  const [{ x }] = await readRecordings('bench', 0.5);
  const mag = magnitudes(tr.analyze(x));
  const { run, done } = countingRunner();
  const short = await twoThreads(mag, x.length, { iterations: 4 }, run);
  assert.equal(short.threads, 1, `${mag.frames} frames are too few to split`);
  assert.deepEqual(short.out, fgla(mag, tr, x.length, { iterations: 4 }));
  assert.equal(done(), 0);
});

test('an abort stops both threads with the abort error; the helper is usable afterwards', async () => {
  const [{ x }] = await readRecordings('bench', 3);
  const mag = magnitudes(tr.analyze(x));
  const { run, done } = countingRunner();
  const ac = new AbortController();
  await assert.rejects(
    twoThreads(mag, x.length, { iterations: 20, signal: ac.signal, onProgress: (d) => d === 3 && ac.abort() }, run),
    (e: Error) => e.name === 'AbortError',
  );
  const again = await twoThreads(mag, x.length, { iterations: 5 }, run);
  assert.equal(again.threads, 2);
  assert.deepEqual(again.out, fgla(mag, tr, x.length, { iterations: 5 }));
  assert.equal(done(), 1, 'the aborted part was not counted as done');
});

test('a helper that dies mid-way: the caller gives up on it and computes the same result alone', async () => {
  const own = VaeHelpers.start({ threads: 2, backend });
  try {
    await own.load(DEFAULT_MODEL_DIR, weightsChecksum(DEFAULT_MODEL_DIR));
    const runner = own.phaseRunner()!;
    const [{ x }] = await readRecordings('bench', 3);
    const mag = magnitudes(tr.analyze(x));
    const opts: FglaOptions = { iterations: 12, seed: 1 };
    let killed = false;
    const t0 = performance.now();
    const got = await fglaTwoThreads(mag, tr, x.length, {
      ...opts,
      onProgress: (d) => {
        if (d === 2 && !killed) {
          killed = true;
          void own.close(); // the helper thread is terminated while this thread waits for its passes
        }
      },
    }, runner, { stallMs: 400, onSplit: (t) => assert.equal(t, 1, 'fell back to one thread') });
    assert.ok(killed);
    assert.deepEqual(got, fgla(mag, tr, x.length, opts));
    assert.ok(performance.now() - t0 < 30_000);
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
