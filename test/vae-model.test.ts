import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../src/engine/backend.ts';
import { TimbreVae, seededRandom } from '../src/engine/vae.ts';
import type { NetworkConfig } from '../src/engine/types.ts';

const NET: NetworkConfig = { inputBins: 48, hidden: [64], latent: 4, outputActivation: 'relu' };

/**
 * Synthetic "spectral frames": each frame is a sum of three Gaussian bumps (harmonic-like
 * partials) at one of a few pitches with random amplitudes, plus a little noise; non-negative.
 */
function spectralFrames(n: number, bins: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(n * bins);
  const pitches = [4, 7, 11];
  for (let i = 0; i < n; i++) {
    const f0 = pitches[Math.floor(rand() * pitches.length)];
    const amp = 0.3 + 0.7 * rand();
    for (let h = 1; h <= 3; h++) {
      const centre = f0 * h;
      for (let k = 0; k < bins; k++) out[i * bins + k] += (amp / h) * Math.exp(-0.5 * ((k - centre) / 1.2) ** 2);
    }
    for (let k = 0; k < bins; k++) out[i * bins + k] += 0.01 * rand();
  }
  return out;
}

before(async () => {
  await initBackend('wasm');
});

test('encode/decode/reconstruct have the documented shapes, also across inference chunks', () => {
  const vae = TimbreVae.create(NET, 3);
  try {
    const n = 2100; // more than one 2048-row chunk
    const x = spectralFrames(n, NET.inputBins, 1);
    const { mu, logvar } = vae.encode(x, n);
    assert.equal(mu.length, n * NET.latent);
    assert.equal(logvar.length, n * NET.latent);
    const y = vae.decode(mu, n);
    assert.equal(y.length, n * NET.inputBins);
    assert.ok(y.every((v) => v >= 0), 'relu output must be non-negative');
    assert.deepEqual(vae.reconstruct(x, n), y);
    assert.deepEqual(vae.encodeMean(x, n), mu, 'encodeMean gives encode\'s mu');
    // Rows past the first chunk equal the same rows encoded on their own.
    const tail = vae.encode(x.subarray(2040 * NET.inputBins), 60);
    for (let i = 0; i < tail.mu.length; i++) assert.ok(Math.abs(tail.mu[i] - mu[2040 * NET.latent + i]) < 1e-5);
    assert.equal(vae.parameterCount(), 48 * 64 + 64 + 2 * (64 * 4 + 4) + 4 * 64 + 64 + 64 * 48 + 48);
    assert.deepEqual(vae.weightSpecs().map((s) => s.name), [
      'encoder/dense_0/weight', 'encoder/dense_0/bias', 'encoder/z_mean/weight', 'encoder/z_mean/bias',
      'encoder/z_log_var/weight', 'encoder/z_log_var/bias', 'decoder/dense_0/weight', 'decoder/dense_0/bias',
      'decoder/output/weight', 'decoder/output/bias',
    ]);
    assert.deepEqual(vae.weightSpecs()[0].shape, [64, 48]);
    assert.deepEqual(vae.weightSpecs()[1].shape, [64]);
  } finally {
    vae.dispose();
  }
});

test('the KL term and the total loss follow the documented formula', () => {
  const vae = TimbreVae.create(NET, 5);
  try {
    const n = 300;
    const x = spectralFrames(n, NET.inputBins, 2);
    // Train a little so that mu and logvar are not trivially near zero.
    for (let s = 0; s < 20; s++) vae.trainStep(x.subarray(0, 64 * NET.inputBins), 64, { beta: 5e-4, learningRate: 1e-2 });
    const { mu, logvar } = vae.encode(x, n);
    let kl = 0;
    for (let i = 0; i < mu.length; i++) kl += -(1 + logvar[i] - mu[i] * mu[i] - Math.exp(logvar[i]));
    kl /= mu.length;
    const beta = 0.25;
    const r = vae.evaluate(x, n, beta);
    assert.ok(Math.abs(r.kl - kl) <= 1e-4 * Math.max(1, kl), `kl ${r.kl} vs ${kl}`);
    assert.ok(kl > 1e-3);
    assert.ok(Math.abs(r.loss - (r.mse + beta * r.kl)) < 1e-6);
    // The sampled reconstruction error is close to (and on average above) the error of the mean reconstruction.
    const y = vae.reconstruct(x, n);
    let mse = 0;
    for (let i = 0; i < y.length; i++) mse += (y[i] - x[i]) ** 2;
    mse /= y.length;
    assert.ok(r.mse > 0.5 * mse && r.mse < 3 * mse + 1e-3, `sampled mse ${r.mse} vs mean-path mse ${mse}`);
  } finally {
    vae.dispose();
  }
});

test('training on synthetic spectral frames lowers the loss a lot', () => {
  const vae = TimbreVae.create(NET, 7);
  try {
    const n = 512;
    const x = spectralFrames(n, NET.inputBins, 3);
    const before = vae.evaluate(x, n, 5e-4);
    const rand = seededRandom(9);
    const batch = new Float32Array(32 * NET.inputBins);
    for (let s = 0; s < 300; s++) {
      for (let b = 0; b < 32; b++) {
        const row = Math.floor(rand() * n);
        batch.set(x.subarray(row * NET.inputBins, (row + 1) * NET.inputBins), b * NET.inputBins);
      }
      const r = vae.trainStep(batch, 32, { beta: 5e-4, learningRate: 3e-3 });
      assert.ok(Number.isFinite(r.loss));
    }
    assert.equal(vae.steps, 300);
    const after = vae.evaluate(x, n, 5e-4);
    assert.ok(after.mse < 0.25 * before.mse, `mse ${before.mse} -> ${after.mse}`);
  } finally {
    vae.dispose();
  }
});

test('same seed gives identical weights and training; another seed differs', () => {
  const x = spectralFrames(64, NET.inputBins, 4);
  const run = (seed: number) => {
    const vae = TimbreVae.create(NET, seed);
    try {
      const losses = [0, 1, 2].map(() => vae.trainStep(x, 64, { beta: 5e-4, learningRate: 1e-3 }).loss);
      return { losses, weights: vae.getWeights() };
    } finally {
      vae.dispose();
    }
  };
  const a = run(11);
  const b = run(11);
  const c = run(12);
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(a.weights, b.weights);
  assert.notDeepEqual(a.weights[0].data, c.weights[0].data);
});

test('weights and optimiser state transfer exactly: training continues identically', () => {
  const x = spectralFrames(64, NET.inputBins, 5);
  const a = TimbreVae.create(NET, 21);
  const b = TimbreVae.create(NET, 21);
  const other = TimbreVae.create(NET, 99);
  try {
    for (let s = 0; s < 4; s++) a.trainStep(x, 64, { beta: 5e-4, learningRate: 2e-3 });
    // b: fresh model with a's weights and optimiser state (same seed, so same noise stream).
    b.setWeights(a.getWeights());
    b.setOptimizerState(a.getOptimizerState());
    assert.equal(b.steps, 4);
    const la = [0, 1, 2].map(() => a.trainStep(x, 64, { beta: 5e-4 }).loss);
    const lb = [0, 1, 2].map(() => b.trainStep(x, 64, { beta: 5e-4 }).loss);
    assert.deepEqual(la, lb);
    assert.deepEqual(a.getWeights(), b.getWeights());
    assert.deepEqual(a.getOptimizerState(), b.getOptimizerState());
    // Setting weights makes encodings identical even across seeds.
    other.setWeights(a.getWeights());
    assert.deepEqual(other.encode(x, 64), a.encode(x, 64));
  } finally {
    a.dispose();
    b.dispose();
    other.dispose();
  }
});

test('inference follows the weights: after a training step or setWeights it equals a fresh model with those weights', () => {
  const vae = TimbreVae.create(NET, 12);
  const fresh = TimbreVae.create(NET, 99);
  try {
    const x = spectralFrames(64, NET.inputBins, 13);
    const before = vae.encode(x, 64).mu; // builds the cached inference weights
    for (let i = 0; i < 3; i++) vae.trainStep(x, 64, { beta: 5e-4, learningRate: 1e-2 });
    const after = vae.encode(x, 64);
    assert.notDeepEqual(after.mu, before, 'training changed the encoder');
    fresh.setWeights(vae.getWeights());
    assert.deepEqual(fresh.encode(x, 64), after);
    assert.deepEqual(fresh.decode(after.mu, 64), vae.decode(after.mu, 64));
    // And the other way round: new weights set into a model that has already run inference.
    const other = TimbreVae.create(NET, 5);
    try {
      vae.setWeights(other.getWeights());
      assert.deepEqual(vae.encode(x, 64), other.encode(x, 64));
    } finally {
      other.dispose();
    }
  } finally {
    vae.dispose();
    fresh.dispose();
  }
});

test('no tensor leaks: every call frees its intermediates, dispose frees the model', () => {
  const before = tf.memory().numTensors;
  const vae = TimbreVae.create(NET, 8);
  const x = spectralFrames(100, NET.inputBins, 6);
  vae.trainStep(x, 64, { beta: 5e-4 }); // creates the optimiser moments
  const withModel = tf.memory().numTensors;
  assert.equal(withModel - before, 3 * 10, 'ten weights plus their two Adam moments');
  vae.trainStep(x, 64, { beta: 5e-4 });
  const { mu } = vae.encode(x, 100);
  assert.equal(tf.memory().numTensors - withModel, 2 * 5, 'inference keeps one transposed weight and one bias per layer');
  vae.decode(mu, 100);
  vae.reconstruct(x, 100);
  assert.equal(tf.memory().numTensors - withModel, 2 * 5, 'and reuses them');
  vae.trainStep(x, 64, { beta: 5e-4 });
  assert.equal(tf.memory().numTensors, withModel, 'a training step drops the inference copies');
  vae.warmInference();
  assert.equal(tf.memory().numTensors - withModel, 2 * 5, 'warmInference builds them');
  vae.encode(x, 100);
  vae.evaluate(x, 100, 5e-4);
  vae.getOptimizerState();
  vae.setOptimizerState(vae.getOptimizerState());
  vae.setWeights(vae.getWeights());
  assert.equal(tf.memory().numTensors, withModel);
  vae.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('bad input gives one-line errors naming the problem', () => {
  assert.throws(() => TimbreVae.create({ ...NET, latent: 0 }, 1), /latent must be a positive integer/);
  assert.throws(() => TimbreVae.create({ ...NET, hidden: [64, -1] }, 1), /hidden must be a list of positive integers/);
  assert.throws(() => TimbreVae.create({ ...NET, outputActivation: 'tanh' as 'relu' }, 1), /outputActivation/);
  const vae = TimbreVae.create(NET, 1);
  try {
    assert.throws(() => vae.encode(new Float32Array(10), 2), /2 rows of 48 need 96 values, got 10/);
    assert.throws(() => vae.decode(new Float32Array(4), 2), /TimbreVae.decode/);
    const w = vae.getWeights();
    assert.throws(() => vae.setWeights(w.slice(1)), /"encoder\/dense_0\/weight" is missing/);
    const bad = w.map((x) => (x.name === 'decoder/output/bias' ? { ...x, shape: [47], data: new Float32Array(47) } : x));
    assert.throws(() => vae.setWeights(bad), /decoder\/output\/bias" has shape \[47\]/);
    assert.throws(() => vae.setWeights([...w, { name: 'extra', shape: [1], data: new Float32Array(1) }]), /unknown weight "extra"/);
  } finally {
    vae.dispose();
  }
  assert.throws(() => vae.encode(new Float32Array(48), 1), /disposed/);
});
