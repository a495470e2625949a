/**
 * The fused in-place Adam kernel (src/engine/adam-kernel.ts, adam.wasm) on the tfjs wasm backend:
 * it must give exactly the bits of the op-by-op update, on real spectrogram frames, over several
 * steps of the real network, and refuse to write into storage another tensor shares.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, wasmBackendMemory } from '../src/engine/backend.ts';
import { TimbreVae } from '../src/engine/vae.ts';
import { fusedAdamAvailable, fusedAdamUpdate } from '../src/engine/adam-kernel.ts';
import { readAudio } from '../src/io/audio.ts';
import { analyzeMagnitudes, toFeatures } from '../src/engine/features.ts';

let frames: Float32Array;
let bins: number;
let count: number;

before(async () => {
  const info = await initBackend('wasm');
  assert.equal(info.name, 'wasm');
  // Real frames: log-scaled STFT magnitudes of a committed recording.
  const audio = await readAudio(new URL('../data/bench/bench-sax.wav', import.meta.url).pathname, { sampleRate: 16000 });
  const mag = analyzeMagnitudes(audio.samples, { transform: { kind: 'stft', sampleRate: 16000, nFft: 256, hop: 64 }, scaling: 'log' });
  const feats = toFeatures(mag, 'log');
  frames = feats.data;
  bins = feats.bins;
  count = feats.frames;
});

test('the wasm backend memory is captured and the fused kernel is available on wasm', () => {
  const mem = wasmBackendMemory();
  assert.ok(mem, 'memory not captured');
  const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8;
  assert.equal(mem!.buffer, heap.buffer);
  assert.equal(fusedAdamAvailable(), true);
});

test('fused Adam equals the op-by-op update bit for bit on the real network over 6 steps', () => {
  const cfg = { inputBins: bins, hidden: [96], latent: 8, outputActivation: 'linear' as const };
  const fused = TimbreVae.create(cfg, 5);
  const ops = TimbreVae.create(cfg, 5);
  ops.fusedAdam = false;
  try {
    const n = 32;
    for (let s = 0; s < 6; s++) {
      const start = ((s * 37) % Math.max(1, count - n)) * bins;
      const batch = frames.subarray(start, start + n * bins);
      const a = fused.trainStep(batch, n, { beta: 5e-4, learningRate: 1e-3 });
      const b = ops.trainStep(batch, n, { beta: 5e-4, learningRate: 1e-3 });
      assert.equal(a.loss, b.loss, `loss differs at step ${s}`);
      assert.equal(fused.fusedVariables, fused.weightSpecs().length, 'the fused kernel updated every variable');
      assert.equal(ops.fusedVariables, 0);
    }
    const wf = fused.getWeights();
    const wo = ops.getWeights();
    for (let i = 0; i < wf.length; i++) assert.deepEqual(wf[i].data, wo[i].data, `weight ${wf[i].name} differs`);
    const mf = fused.getOptimizerState().moments;
    const mo = ops.getOptimizerState().moments;
    for (let i = 0; i < mf.length; i++) assert.deepEqual(mf[i].data, mo[i].data, `moment ${mf[i].name} differs`);
    // The weights moved: the comparison above is not between two untouched networks.
    const fresh = TimbreVae.create(cfg, 5);
    assert.notDeepEqual(fresh.getWeights()[0].data, wf[0].data);
    fresh.dispose();
  } finally {
    fused.dispose();
    ops.dispose();
  }
});

test('fusedAdamUpdate writes in place with the Adam formula and refuses shared storage', () => {
  const n = 1003; // not a multiple of 4: the scalar tail runs too
  const g = tf.tensor1d(frames.subarray(0, n).map((x, i) => x * (i % 2 ? -1 : 1)));
  // Variables own their storage once the tensors they were made from are gone (tidy disposes them).
  const [w, m, v] = tf.tidy(() => [tf.variable(tf.tensor1d(frames.subarray(n, 2 * n))), tf.variable(tf.zeros([n])), tf.variable(tf.zeros([n]))]);
  const expected = tf.tidy(() => {
    const mN = tf.add(tf.mul(m, 0.9), tf.mul(g, 0.1));
    const vN = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 0.001));
    return [tf.sub(w, tf.mul(tf.div(mN, tf.add(tf.sqrt(vN), 1e-7)), 0.003)), mN, vN].map((t) => t.dataSync().slice());
  });
  const before = w.dataId;
  assert.equal(fusedAdamUpdate(w, m, v, g, 0.003, 1e-7), true);
  assert.equal(w.dataId, before, 'the update is in place');
  assert.deepEqual(w.dataSync(), expected[0]);
  assert.deepEqual(m.dataSync(), expected[1]);
  assert.deepEqual(v.dataSync(), expected[2]);
  // A tensor sharing w's storage (a reshape is a view on wasm) would change too: the kernel declines and changes nothing.
  const shared = tf.reshape(w, [1, n]);
  assert.equal(shared.dataId, w.dataId);
  const snapshot = w.dataSync().slice();
  assert.equal(fusedAdamUpdate(w, m, v, g, 0.003, 1e-7), false);
  assert.deepEqual(w.dataSync(), snapshot);
  assert.deepEqual(shared.dataSync(), snapshot);
  tf.dispose([g, w, m, v, shared]);
});
