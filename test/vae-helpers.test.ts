/**
 * Inference helper threads (src/engine/vae-helpers.ts): rows shared with other threads give the
 * same bits as one thread, on the shipped model and real demo audio; helpers that die or hold other
 * weights are not used; renders do not depend on the number of threads.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../src/engine/backend.ts';
import { loadModelFolder, saveModelFolder, weightsChecksum } from '../src/engine/model-folder.ts';
import { analyzeMagnitudes, toFeatures } from '../src/engine/features.ts';
import { readAudio } from '../src/io/audio.ts';
import { VaeHelpers, parseThreads, type HelperModel } from '../src/engine/vae-helpers.ts';
import { Renderer, defaultPhaseSettings } from '../src/engine/render.ts';
import type { RenderParams } from '../src/engine/render-types.ts';
import { TimbreVae } from '../src/engine/vae.ts';
import { DEFAULT_MODEL_DIR, DEMO_DATASET_DIR } from '../src/paths.ts';

let model: HelperModel;
let frames: Float32Array;
let n: number;
let backend: string;
const demoFiles = readdirSync(DEMO_DATASET_DIR).filter((f) => f.endsWith('.wav')).sort();

/** Excerpt of the demo file number `i` (sorted) from `start` seconds. */
const demoExcerpt = (i: number, start: number) => ({ path: join(DEMO_DATASET_DIR, demoFiles[i]), start });

/** A render of the shipped model with PGHI alone (fast), mean latents, no normalisation; `over` sets the rest. */
function demoRender(over: Partial<RenderParams> & Pick<RenderParams, 'a' | 'b' | 'duration' | 'curve'>): RenderParams {
  return {
    model: DEFAULT_MODEL_DIR,
    phase: defaultPhaseSettings('pghi', 0),
    normalizeDbfs: null,
    sample: false,
    seed: 0,
    fadeMs: 10,
    ...over,
  };
}

before(async () => {
  backend = (await initBackend('wasm')).name;
  const loaded = await loadModelFolder(DEFAULT_MODEL_DIR);
  model = { dir: DEFAULT_MODEL_DIR, weightsSha256: weightsChecksum(DEFAULT_MODEL_DIR), vae: loaded.vae };
  const audio = await readAudio(join(DEMO_DATASET_DIR, demoFiles[0]), { sampleRate: loaded.config.features.transform.sampleRate });
  const feats = toFeatures(analyzeMagnitudes(audio.samples, loaded.config.features), loaded.config.features.scaling, true);
  n = Math.min(feats.frames, 1001); // an odd count: the shares are unequal
  frames = feats.data.subarray(0, n * feats.bins);
});

after(() => model.vae.dispose());

test('rows shared with one or two helper threads give the same bits as this thread alone', async () => {
  assert.ok(n > 600, `the demo file gives ${n} frames`);
  const local = model.vae.encode(frames, n);
  const decoded = model.vae.decode(local.mu, n);
  for (const threads of [2, 3]) {
    const helpers = VaeHelpers.start({ threads, backend });
    try {
      assert.equal(helpers.count, threads - 1);
      await helpers.load(model.dir, model.weightsSha256);
      assert.equal(helpers.readyFor(model, backend), threads - 1, 'every helper loaded the model');
      const shared = await helpers.encode(model, backend, frames, n);
      assert.equal(helpers.lastThreads, threads, 'the rows were shared');
      assert.deepEqual(shared.mu, local.mu);
      assert.deepEqual(shared.logvar, local.logvar);
      assert.deepEqual(await helpers.decode(model, backend, local.mu, n), decoded);
      assert.deepEqual(await helpers.encode(model, backend, frames, n, { meanOnly: true }), { mu: local.mu, logvar: null });
      assert.equal(helpers.lastThreads, threads);
    } finally {
      await helpers.close();
    }
  }
});

test('a helper still starting, on another backend or holding other weights is not used', async () => {
  const helpers = VaeHelpers.start({ threads: 2, backend });
  try {
    // Not loaded yet: the call does not wait for it.
    assert.deepEqual(await helpers.encode(model, backend, frames, n), model.vae.encode(frames, n));
    assert.equal(helpers.lastThreads, 1);
    await helpers.load(model.dir, model.weightsSha256);
    await helpers.encode(model, 'cpu', frames, n);
    assert.equal(helpers.lastThreads, 1, 'the caller runs another backend');
    await helpers.encode({ ...model, weightsSha256: 'f'.repeat(64) }, backend, frames, n);
    assert.equal(helpers.lastThreads, 1, 'the caller runs other weights');
    await helpers.encode(model, backend, frames, 200);
    assert.equal(helpers.lastThreads, 1, 'too few rows to be worth sharing');
  } finally {
    await helpers.close();
  }
});

test('a folder retrained in place: helpers reload it, and until then are not used', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-helpers-'));
  const cfg = (await loadModelFolder(DEFAULT_MODEL_DIR)).config;
  const first = TimbreVae.create(cfg.network, 1);
  const second = TimbreVae.create(cfg.network, 2);
  const helpers = VaeHelpers.start({ threads: 2, backend });
  try {
    await saveModelFolder(dir, { config: cfg, vae: first });
    await helpers.load(dir, weightsChecksum(dir));
    await saveModelFolder(dir, { config: cfg, vae: second });
    const retrained: HelperModel = { dir, weightsSha256: weightsChecksum(dir), vae: second };
    assert.equal(helpers.readyFor(retrained, backend), 0, 'the helper holds the first weights');
    assert.deepEqual(await helpers.encode(retrained, backend, frames, n), second.encode(frames, n));
    await helpers.load(dir, retrained.weightsSha256);
    assert.equal(helpers.readyFor(retrained, backend), 1);
    assert.deepEqual(await helpers.encode(retrained, backend, frames, n), second.encode(frames, n));
    assert.equal(helpers.lastThreads, 2);
  } finally {
    await helpers.close();
    first.dispose();
    second.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a helper that exits during a call gives its share back to the caller', async () => {
  const helpers = VaeHelpers.start({ threads: 2, backend });
  // For the busy call only: a caller-side network of the same widths but one hidden unit, so that
  // this thread's share returns at once while the helper (full model) is still working.
  const quick = TimbreVae.create({ ...model.vae.config, hidden: [1] }, 1);
  try {
    await helpers.load(model.dir, model.weightsSha256);
    const big = 60 * n;
    const z = new Float32Array(big * model.vae.config.latent).fill(0.1);
    const busy = helpers.decode({ ...model, vae: quick }, backend, z, big);
    // Queued behind the busy share in the helper; the helper is ended while it waits.
    const pending = helpers.encode(model, backend, frames, n);
    setTimeout(() => void helpers.close(), 0);
    const [decoded, encoded] = await Promise.all([busy, pending]);
    assert.equal(helpers.readyFor(model, backend), 0, 'the helper is gone');
    assert.deepEqual(encoded, model.vae.encode(frames, n));
    // The helper's half of the busy decode was computed here instead, with the caller's network.
    const width = model.vae.config.inputBins;
    assert.deepEqual(decoded.subarray(decoded.length - width), quick.decode(z.subarray(0, model.vae.config.latent), 1));
  } finally {
    await helpers.close();
    quick.dispose();
  }
});

test('a render gives the same bytes with one and two threads', async () => {
  const sr = 44100;
  const out = mkdtempSync(join(tmpdir(), 'lts-helpers-render-'));
  const params = demoRender({ a: demoExcerpt(0, 0.2), b: demoExcerpt(1, 0.1), duration: 2, curve: '0:1,0.5:1.2,1:-0.1', sample: true, seed: 7 });
  const one = await Renderer.create({ backend: 'wasm', threads: 1 });
  const two = await Renderer.create({ backend: 'wasm', threads: 2 });
  try {
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    await two.helpersLoaded(DEFAULT_MODEL_DIR);
    // Opposite orders: without sampling only μ is encoded and cached, so the two-thread renderer's
    // sampling render must encode again with log σ², while the one-thread renderer starts with it.
    const plain = { ...params, sample: false };
    const a = await one.render(params, { out: join(out, 'one-sampled.wav') });
    const aPlain = await one.render(plain, { out: join(out, 'one-plain.wav') });
    const bPlain = await two.render(plain, { out: join(out, 'two-plain.wav') });
    assert.equal(two.lastInferenceThreads, 2, 'the decode was shared');
    const b = await two.render(params, { out: join(out, 'two-sampled.wav') });
    assert.equal(a.sampleRate, sr);
    assert.ok(a.samples.length >= 2 * sr - 1);
    assert.deepEqual(b.samples, a.samples);
    assert.deepEqual(bPlain.samples, aPlain.samples);
    assert.notDeepEqual(aPlain.samples, a.samples, 'sampling changes the render');
  } finally {
    one.dispose();
    two.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

test('prepare encodes both excerpts ahead: the render then encodes nothing and gives the same bytes; bad excerpts are refused', async () => {
  const out = mkdtempSync(join(tmpdir(), 'lts-prepare-'));
  const params = demoRender({ a: demoExcerpt(2, 0.5), b: demoExcerpt(3, 0.25), duration: 1.5, curve: '0:0,1:1' });
  const plain = await Renderer.create({ backend: 'wasm' });
  const prepared = await Renderer.create({ backend: 'wasm', threads: 2 });
  const racing = await Renderer.create({ backend: 'wasm' });
  try {
    const want = await plain.render(params, { out: join(out, 'plain.wav') });
    assert.equal(plain.encodedExcerpts, 2);
    await prepared.prepare(params);
    assert.equal(prepared.encodedExcerpts, 2);
    const got = await prepared.render(params, { out: join(out, 'prepared.wav') });
    assert.equal(prepared.encodedExcerpts, 2, 'the render found both excerpts encoded');
    assert.deepEqual(got.samples, want.samples);
    // A render asked for while the preparation runs waits for it instead of encoding again.
    const early = racing.prepare(params);
    const raced = await racing.render(params, { out: join(out, 'raced.wav') });
    await early;
    assert.equal(racing.encodedExcerpts, 2);
    assert.deepEqual(raced.samples, want.samples);
    // Bad input: the render's one-line errors; the renderer goes on working.
    await assert.rejects(prepared.prepare({ ...params, a: { ...params.a, start: 60 } }), /excerpt A \(.*\): start 60 s is past the end/);
    await assert.rejects(prepared.prepare({ ...params, b: { path: join(out, 'missing.wav'), start: 0 } }), /missing\.wav: file not found/);
    assert.deepEqual((await prepared.render(params, { out: join(out, 'after.wav') })).samples, want.samples);
  } finally {
    plain.dispose();
    prepared.dispose();
    racing.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

test('--threads accepts auto or 1-16 and names the flag otherwise', () => {
  assert.ok(parseThreads('auto') >= 1);
  assert.equal(parseThreads('3'), 3);
  for (const bad of ['0', '17', '1.5', 'many']) assert.throws(() => parseThreads(bad), { message: `--threads ${bad}: use auto or a whole number of threads from 1 to 16` });
});
