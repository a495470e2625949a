import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/engine/backend.ts';
import { TimbreVae, seededRandom } from '../src/engine/vae.ts';
import { loadModelFolder } from '../src/engine/model-folder.ts';
import { train, epochOrder, type TrainProgress } from '../src/engine/trainer.ts';
import { UserError } from '../src/io/errors.ts';
import type { FrameSet, ModelConfig } from '../src/engine/types.ts';

const BINS = 24;

function config(over: Partial<ModelConfig['training']> = {}): ModelConfig {
  return {
    formatVersion: 1,
    features: { transform: { kind: 'stft', sampleRate: 8000, nFft: 46, hop: 12 }, scaling: 'log' },
    network: { inputBins: BINS, hidden: [32], latent: 3, outputActivation: 'relu' },
    training: { beta: 5e-4, learningRate: 3e-3, batchSize: 16, epochs: 4, patience: 10, checkpointEvery: 1, seed: 7, ...over },
  };
}

/** Frames made of one of three spectral shapes (bumps at bins 3, 9, 15 with harmonics) at random gain. */
function frameSet(n: number, seed: number): FrameSet {
  const rand = seededRandom(seed);
  const data = new Float32Array(n * BINS);
  for (let i = 0; i < n; i++) {
    const c = [3, 5, 7][Math.floor(rand() * 3)];
    const g = 0.5 + rand();
    for (let h = 1; h * c < BINS; h++) for (let k = 0; k < BINS; k++) data[i * BINS + k] += (g / h) * Math.exp(-0.5 * ((k - h * c) / 0.8) ** 2);
  }
  return { frames: n, bins: BINS, data };
}

const made: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'lts-trainer-'));
  made.push(d);
  return d;
}
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

before(async () => {
  await initBackend('wasm');
});

const TRAIN = frameSet(150, 1); // 10 batches of 16 (the last one 6 frames)
const VAL = frameSet(40, 2);

async function run(runDir: string, cfg: ModelConfig, extra: { resume?: boolean; signal?: AbortSignal; onProgress?: (p: TrainProgress) => void } = {}) {
  const vae = TimbreVae.create(cfg.network, cfg.training.seed);
  try {
    const result = await train({ vae, config: cfg, train: TRAIN, validation: VAL, runDir, ...extra });
    return { result, weights: vae.getWeights() };
  } finally {
    vae.dispose();
  }
}

test('epoch order is a seeded permutation that changes per epoch', () => {
  const a = epochOrder(100, 7, 1);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(epochOrder(100, 7, 1), a);
  assert.notDeepEqual(epochOrder(100, 7, 2), a);
  assert.notDeepEqual(epochOrder(100, 8, 1), a);
});

test('training lowers the validation loss and writes the run folder, history and checkpoint', async () => {
  const dir = join(tmp(), 'run');
  const events: TrainProgress[] = [];
  const epochs: number[] = [];
  const vae = TimbreVae.create(config().network, 7);
  try {
    const initial = vae.evaluate(VAL.data, VAL.frames, 5e-4).loss;
    const result = await train({
      vae, config: config({ epochs: 5, learningRate: 1e-2 }), train: TRAIN, validation: VAL, runDir: dir,
      onProgress: (p) => events.push(p), onEpoch: (r) => epochs.push(r.epoch),
    });
    assert.equal(result.stoppedBy, 'epochs');
    assert.equal(result.epochsCompleted, 5);
    assert.equal(result.steps, 50);
    assert.deepEqual(epochs, [1, 2, 3, 4, 5]);
    const h = result.history.epochs;
    assert.ok(h[4].valLoss! < 0.3 * initial, `val loss ${initial} -> ${h[0].valLoss} -> ${h[4].valLoss}`);
    assert.ok(h[4].valLoss! < h[0].valLoss!);
    assert.ok(h.every((e) => e.framesPerSecond > 0 && e.seconds > 0));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')), result.history);
    // Progress: one event per step plus validation and epoch events, steps never decrease, ETA reaches 0.
    const steps = events.filter((e) => e.phase === 'step');
    assert.equal(steps.length, 50);
    assert.ok(steps.every((e, i) => e.step === i + 1 && e.batchesPerEpoch === 10));
    assert.equal(events.at(-1)!.etaSeconds, 0);
    // Epoch events carry that epoch's mean losses and validation loss.
    const epochEvents = events.filter((e) => e.phase === 'epoch');
    assert.deepEqual(epochEvents.map((e) => [e.epoch, e.loss, e.valLoss, e.batch]), h.map((e) => [e.epoch, e.loss, e.valLoss, 10]));
    // The run folder holds the best model; the returned vae holds the same weights.
    const best = await loadModelFolder(dir);
    try {
      const bestEpoch = h.reduce((b, e) => (e.valLoss! < b.valLoss! ? e : b));
      assert.equal(result.bestEpoch, bestEpoch.epoch);
      assert.equal(result.bestLoss, bestEpoch.valLoss);
      assert.deepEqual(best.vae.getWeights(), vae.getWeights());
    } finally {
      best.vae.dispose();
    }
    assert.ok(existsSync(join(dir, 'checkpoint', 'optimizer.bin')));
  } finally {
    vae.dispose();
  }
});

test('resume continues at the same step with bit-identical results (after a stop and after an abort)', async () => {
  const root = tmp();
  const straight = await run(join(root, 'straight'), config({ epochs: 4 }));
  assert.equal(straight.result.steps, 40);

  // 2 epochs, then resume to 4.
  const split = join(root, 'split');
  const first = await run(split, config({ epochs: 2 }));
  assert.equal(first.result.steps, 20);
  const second = await run(split, config({ epochs: 4 }), { resume: true });
  assert.equal(second.result.steps, 40);
  assert.deepEqual(second.result.history.epochs.map((e) => [e.epoch, e.steps, e.loss, e.mse, e.kl, e.valLoss]),
    straight.result.history.epochs.map((e) => [e.epoch, e.steps, e.loss, e.mse, e.kl, e.valLoss]));
  assert.deepEqual(second.weights, straight.weights);

  // Abort in the middle of epoch 2 (after step 14), then resume.
  const aborted = join(root, 'aborted');
  const ac = new AbortController();
  const a = await run(aborted, config({ epochs: 4 }), { signal: ac.signal, onProgress: (p) => { if (p.step === 14) ac.abort(); } });
  assert.equal(a.result.stoppedBy, 'abort');
  assert.equal(a.result.steps, 14);
  const ck = JSON.parse(readFileSync(join(aborted, 'checkpoint', 'optimizer.json'), 'utf8'));
  assert.equal(ck.step, 14);
  assert.equal(ck.trainer.epochsDone, 1);
  assert.equal(ck.trainer.batch, 4);
  const resumed = await run(aborted, config({ epochs: 4 }), { resume: true });
  assert.equal(resumed.result.steps, 40);
  assert.deepEqual(resumed.weights, straight.weights);
  assert.deepEqual(resumed.result.history.epochs.map((e) => [e.loss, e.valLoss]), straight.result.history.epochs.map((e) => [e.loss, e.valLoss]));
  const lastStraight = await loadModelFolder(join(root, 'straight', 'checkpoint'));
  const lastResumed = await loadModelFolder(join(aborted, 'checkpoint'));
  try {
    assert.deepEqual(lastResumed.vae.getWeights(), lastStraight.vae.getWeights());
  } finally {
    lastStraight.vae.dispose();
    lastResumed.vae.dispose();
  }
});

test('early stopping ends training after `patience` epochs without improvement', async () => {
  // Train on one spectral shape, validate on a disjoint one: fitting the training shape makes validation worse.
  const trainSet: FrameSet = { frames: 64, bins: BINS, data: new Float32Array(64 * BINS) };
  const valSet: FrameSet = { frames: 16, bins: BINS, data: new Float32Array(16 * BINS) };
  for (let i = 0; i < 64; i++) for (let k = 0; k < 8; k++) trainSet.data[i * BINS + k] = 2;
  for (let i = 0; i < 16; i++) for (let k = 16; k < 24; k++) valSet.data[i * BINS + k] = 2;
  const cfg = config({ epochs: 30, patience: 2, learningRate: 1e-2 });
  const vae = TimbreVae.create(cfg.network, cfg.training.seed);
  try {
    const r = await train({ vae, config: cfg, train: trainSet, validation: valSet, runDir: join(tmp(), 'early') });
    assert.equal(r.stoppedBy, 'early-stopping');
    assert.ok(r.epochsCompleted < 30);
    assert.equal(r.epochsCompleted, r.bestEpoch + 2);
    const v = r.history.epochs.map((e) => e.valLoss!);
    assert.ok(v.slice(r.bestEpoch).every((x) => x >= v[r.bestEpoch - 1]));
  } finally {
    vae.dispose();
  }
});

test('bad runs give one-line user errors', async () => {
  const dir = join(tmp(), 'r');
  const cfg = config({ epochs: 1 });
  const vae = TimbreVae.create(cfg.network, cfg.training.seed);
  try {
    const isUser = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
    await assert.rejects(train({ vae, config: cfg, train: TRAIN, runDir: dir, resume: true }), isUser(/no checkpoint to resume from/));
    await assert.rejects(train({ vae, config: cfg, train: { frames: 0, bins: BINS, data: new Float32Array(0) }, runDir: dir }), isUser(/training set is empty/));
    await assert.rejects(train({ vae, config: cfg, train: { frames: 2, bins: 10, data: new Float32Array(20) }, runDir: dir }), isUser(/have 10 bins but the network expects 24/));
    await assert.rejects(train({ vae, config: config({ batchSize: 0 }), train: TRAIN, runDir: dir }), isUser(/batch size must be a positive integer/));
    await train({ vae, config: cfg, train: TRAIN, runDir: dir });
    await assert.rejects(train({ vae, config: cfg, train: TRAIN, runDir: dir }), isUser(/already holds a training run.*--resume/));
    await assert.rejects(train({ vae, config: cfg, train: frameSet(100, 3), runDir: dir, resume: true }), isUser(/training set has 100 frames but the checkpoint was made with 150/));
  } finally {
    vae.dispose();
  }
});
