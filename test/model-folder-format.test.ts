import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, mkdirSync, rmSync, truncateSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/engine/backend.ts';
import { TimbreVae } from '../src/engine/vae.ts';
import { saveModelFolder, loadModelFolder, ModelFolderError, type TrainHistory } from '../src/engine/model-folder.ts';
import { UserError } from '../src/io/errors.ts';
import type { ModelConfig } from '../src/engine/types.ts';

const CONFIG: ModelConfig = {
  formatVersion: 1,
  features: { transform: { kind: 'stft', sampleRate: 22050, nFft: 64, hop: 16 }, scaling: 'log' },
  network: { inputBins: 33, hidden: [40, 24], latent: 5, outputActivation: 'linear' },
  training: { beta: 5e-4, learningRate: 1e-3, batchSize: 16, epochs: 3, patience: 5, checkpointEvery: 1, seed: 42 },
  meta: { dataset: '/data/example', note: 'test' },
};

const HISTORY: TrainHistory = {
  epochs: [{ epoch: 1, steps: 4, loss: 0.5, mse: 0.49, kl: 20, valLoss: 0.6, valMse: 0.59, valKl: 19, seconds: 0.1, framesPerSecond: 640 }],
};

function frames(n: number, bins: number): Float32Array {
  const x = new Float32Array(n * bins);
  for (let i = 0; i < x.length; i++) x[i] = Math.abs(Math.sin(i * 0.731) * Math.cos(i * 0.113));
  return x;
}

const made: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'lts-model-folder-'));
  made.push(d);
  return d;
}

after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A trained model (a few steps, so weights and moments are non-trivial). */
function trained(): TimbreVae {
  const vae = TimbreVae.create(CONFIG.network, CONFIG.training.seed);
  const x = frames(16, CONFIG.network.inputBins);
  for (let s = 0; s < 3; s++) vae.trainStep(x, 16, { beta: 5e-4, learningRate: 1e-3 });
  return vae;
}

async function rejects(dir: string, pattern: RegExp, opts?: { withOptimizer?: boolean }): Promise<void> {
  await assert.rejects(loadModelFolder(dir, opts), (e: unknown) => {
    assert.ok(e instanceof ModelFolderError, `expected ModelFolderError, got ${String(e)}`);
    assert.ok(e instanceof UserError);
    assert.ok(!e.message.includes('\n'), 'message must be one line');
    assert.match(e.message, pattern);
    return true;
  });
}

before(async () => {
  await initBackend('wasm');
});

test('save/load round trip is bit-exact, with the documented file layout', async () => {
  const dir = join(tmp(), 'model');
  const vae = trained();
  try {
    await saveModelFolder(dir, { config: CONFIG, vae, history: HISTORY });
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'history.json', 'weights.bin', 'weights.json']);
    const manifest = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'weights.bin'));
    assert.equal(manifest.format, 'lts-weights');
    assert.equal(manifest.byteLength, bin.length);
    assert.equal(manifest.sha256, createHash('sha256').update(bin).digest('hex'));
    // Decode weights.bin by hand from the manifest (little-endian float32) and compare with the model.
    const weights = vae.getWeights();
    assert.equal(bin.length, 4 * weights.reduce((s, w) => s + w.data.length, 0));
    for (const w of weights) {
      const e = manifest.weights.find((x: { name: string }) => x.name === w.name);
      assert.deepEqual(e.shape, w.shape);
      for (const i of [0, w.data.length - 1]) assert.equal(bin.readFloatLE(e.offset + 4 * i), w.data[i]);
    }
    const loaded = await loadModelFolder(dir);
    try {
      assert.deepEqual(loaded.config, CONFIG);
      assert.deepEqual(loaded.history, HISTORY);
      assert.deepEqual(loaded.vae.getWeights(), weights);
      const x = frames(10, CONFIG.network.inputBins);
      assert.deepEqual(loaded.vae.encode(x, 10), vae.encode(x, 10));
      assert.equal(loaded.optimizer, undefined);
    } finally {
      loaded.vae.dispose();
    }
  } finally {
    vae.dispose();
  }
});

test('a checkpoint stores the exact optimizer state and trainer position', async () => {
  const dir = join(tmp(), 'ckpt');
  const vae = trained();
  try {
    const trainerState = { epoch: 2, batch: 1, bestLoss: 0.25 };
    await saveModelFolder(dir, { config: CONFIG, vae, optimizer: vae.getOptimizerState(), trainerState });
    assert.ok(existsSync(join(dir, 'optimizer.bin')) && existsSync(join(dir, 'optimizer.json')));
    const loaded = await loadModelFolder(dir, { withOptimizer: true });
    try {
      assert.deepEqual(loaded.optimizer, vae.getOptimizerState());
      assert.deepEqual(loaded.trainerState, trainerState);
      assert.equal(loaded.vae.steps, 3);
      assert.deepEqual(loaded.history, { epochs: [] });
    } finally {
      loaded.vae.dispose();
    }
    // Saving again without optimizer state removes the stale optimizer files.
    await saveModelFolder(dir, { config: CONFIG, vae });
    assert.ok(!existsSync(join(dir, 'optimizer.json')) && !existsSync(join(dir, 'optimizer.bin')));
    await rejects(dir, /has no optimizer state/, { withOptimizer: true });
  } finally {
    vae.dispose();
  }
});

test('damaged, foreign and newer folders give one-line errors naming the file and the fix', async () => {
  const root = tmp();
  const vae = trained();
  const fresh = async (name: string, optimizer = false) => {
    const d = join(root, name);
    await saveModelFolder(d, { config: CONFIG, vae, history: HISTORY, ...(optimizer ? { optimizer: vae.getOptimizerState() } : {}) });
    return d;
  };
  try {
    await rejects(join(root, 'nope'), /nope: model folder not found; pass a folder written by `lts train`/);
    writeFileSync(join(root, 'afile'), 'x');
    await rejects(join(root, 'afile'), /is a file, not a model folder/);
    mkdirSync(join(root, 'empty'));
    await rejects(join(root, 'empty'), /is not an lts model folder/);

    const orig = join(root, 'run-001');
    mkdirSync(join(orig, 'model'), { recursive: true });
    writeFileSync(join(orig, 'config.ini'), '[audio]\nsample_rate = 44100\n');
    writeFileSync(join(orig, 'model', 'mymodel_last.h5'), 'HDF');
    await rejects(orig, /looks like an original LTS run .*use `lts import`/);

    let d = await fresh('no-bin');
    rmSync(join(d, 'weights.bin'));
    await rejects(d, /missing weights\.bin \(named in weights\.json\)/);

    d = await fresh('no-manifest');
    rmSync(join(d, 'weights.json'));
    await rejects(d, /missing weights\.json/);

    d = await fresh('no-config');
    rmSync(join(d, 'config.json'));
    await rejects(d, /missing config\.json/);

    d = await fresh('truncated');
    const size = readFileSync(join(d, 'weights.bin')).length;
    truncateSync(join(d, 'weights.bin'), size - 100);
    await rejects(d, new RegExp(`weights\\.bin: truncated \\(${size - 100} bytes, weights\\.json expects ${size}\\)`));

    d = await fresh('flipped');
    const bin = readFileSync(join(d, 'weights.bin'));
    bin[1234] ^= 0x40;
    writeFileSync(join(d, 'weights.bin'), bin);
    await rejects(d, /weights\.bin: corrupt \(sha256 checksum/);

    d = await fresh('bad-json');
    writeFileSync(join(d, 'config.json'), '{ "formatVersion": 1, "network": ');
    await rejects(d, /config\.json: invalid JSON .*restore it/);

    d = await fresh('newer');
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, formatVersion: 7 }));
    await rejects(d, /newer: was written by a newer lts \(model format 7; this lts reads up to 1\); upgrade lts/);

    d = await fresh('unknown');
    writeFileSync(join(d, 'config.json'), JSON.stringify({ name: 'something else' }));
    await rejects(d, /is not an lts model config/);

    d = await fresh('mismatch');
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, network: { ...cfg.network, latent: 6 } }));
    await rejects(d, /weights\.json: tensor "encoder\/z_mean\/weight" has shape \[5,24\] but the network in config\.json needs \[6,24\]/);

    d = await fresh('stale-optimizer', true);
    const other = TimbreVae.create(CONFIG.network, 7);
    try {
      // Simulate an interrupted save: new weights, optimizer state of the old ones.
      const optJson = readFileSync(join(d, 'optimizer.json'));
      const optBin = readFileSync(join(d, 'optimizer.bin'));
      await saveModelFolder(d, { config: CONFIG, vae: other });
      writeFileSync(join(d, 'optimizer.json'), optJson);
      writeFileSync(join(d, 'optimizer.bin'), optBin);
      await rejects(d, /optimizer\.json: belongs to other weights than weights\.bin/, { withOptimizer: true });
    } finally {
      other.dispose();
    }

    d = await fresh('bad-history');
    writeFileSync(join(d, 'history.json'), '[1,2]');
    await rejects(d, /history\.json: is not a training history/);
    rmSync(join(d, 'history.json'));
    const ok = await loadModelFolder(d);
    assert.equal(ok.history, null);
    ok.vae.dispose();
  } finally {
    vae.dispose();
  }
});
