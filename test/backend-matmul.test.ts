import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, patchWasmTransposedMatMul, currentBackend, tf } from '../src/engine/backend.ts';

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Transpose the last two axes of a row-major [batch, r, c] array in plain JS. */
function transposeJs(x: Float32Array, batch: number, r: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[b * r * c + j * r + i] = x[b * r * c + i * c + j];
  return out;
}

/** Float64 reference product of row-major [batch, m, k] @ [batch, k, n]. */
function matMulJs(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let q = 0; q < batch; q++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[q * m * k + i * k + p] * b[q * k * n + p * n + j];
    out[q * m * n + i * n + j] = s;
  }
  return out;
}

test('auto picks a working backend and explains skipped native backends', async () => {
  const info = await initBackend('auto');
  assert.equal(currentBackend(), info);
  assert.equal(tf.getBackend(), info.name);
  if (info.name === 'tensorflow') {
    assert.match(info.description, /tfjs-node/);
  } else {
    // The native packages cannot install without the libtensorflow download host: both must be reported.
    assert.equal(info.name, 'wasm');
    assert.match(info.description, /^wasm \((SIMD|no SIMD), (1 thread|multi-threaded)\)$/);
    assert.equal(info.fallbacks.length, 2);
    assert.match(info.fallbacks[0], /@tensorflow\/tfjs-node-gpu: /);
    assert.match(info.fallbacks[1], /@tensorflow\/tfjs-node: /);
  }
});

test('the cpu backend prints nothing to the console (no tfjs banner)', async () => {
  const seen: unknown[][] = [];
  const con = console as unknown as Record<'warn' | 'log' | 'info' | 'error', (...a: unknown[]) => void>;
  const orig = { ...con };
  for (const k of ['warn', 'log', 'info', 'error'] as const) con[k] = (...a: unknown[]) => { seen.push(a); };
  try {
    const info = await initBackend('cpu');
    assert.equal(info.name, 'cpu');
    tf.tidy(() => tf.matMul(tf.ones([3, 3]), tf.ones([3, 3])).dataSync());
  } finally {
    for (const k of ['warn', 'log', 'info', 'error'] as const) con[k] = orig[k];
  }
  assert.deepEqual(seen, []);
});

test('wasm transposed matMul equals the untransposed product and the cpu backend', async () => {
  const cases = [
    { batch: 1, m: 37, k: 53, n: 29, ta: true, tb: false },
    { batch: 1, m: 37, k: 53, n: 29, ta: false, tb: true },
    { batch: 1, m: 64, k: 96, n: 48, ta: true, tb: true },
    { batch: 3, m: 17, k: 23, n: 11, ta: true, tb: true },
  ];
  const info = await initBackend('wasm');
  assert.equal(info.name, 'wasm');
  assert.equal(patchWasmTransposedMatMul(), true);
  const wasmResults: Float32Array[] = [];
  for (const [i, c] of cases.entries()) {
    const a = values(c.batch * c.m * c.k, 10 + i); // logical [batch, m, k]
    const b = values(c.batch * c.k * c.n, 20 + i); // logical [batch, k, n]
    const aStored = c.ta ? transposeJs(a, c.batch, c.m, c.k) : a; // stored [batch, k, m] when transposeA
    const bStored = c.tb ? transposeJs(b, c.batch, c.k, c.n) : b;
    const aShape = c.ta ? [c.batch, c.k, c.m] : [c.batch, c.m, c.k];
    const bShape = c.tb ? [c.batch, c.n, c.k] : [c.batch, c.k, c.n];
    const viaFlags = tf.tidy(() => tf.matMul(tf.tensor3d(aStored, aShape as [number, number, number]),
      tf.tensor3d(bStored, bShape as [number, number, number]), c.ta, c.tb).dataSync() as Float32Array);
    const plain = tf.tidy(() => tf.matMul(tf.tensor3d(a, [c.batch, c.m, c.k]), tf.tensor3d(b, [c.batch, c.k, c.n])).dataSync() as Float32Array);
    // Transposing first and then multiplying must give exactly the plain product of the same values.
    assert.deepEqual(viaFlags, plain, `case ${i}: transposed-flag product differs from the plain product`);
    const ref = matMulJs(a, b, c.batch, c.m, c.k, c.n);
    for (let j = 0; j < ref.length; j++) assert.ok(Math.abs(viaFlags[j] - ref[j]) < 1e-4, `case ${i} element ${j}: ${viaFlags[j]} vs ${ref[j]}`);
    wasmResults.push(viaFlags);
  }
  // Fused kernel with bias and relu and transposeB (as Dense layers use it).
  const fused = tf.tidy(() => {
    const x = tf.tensor2d(values(8 * 12, 5), [8, 12]);
    const w = tf.tensor2d(values(10 * 12, 6), [10, 12]);
    const bias = tf.tensor1d(values(10, 7));
    const viaFlags = tf.fused.matMul({ a: x, b: w, transposeB: true, bias, activation: 'relu' }).dataSync() as Float32Array;
    const plain = tf.fused.matMul({ a: x, b: tf.tensor2d(transposeJs(values(10 * 12, 6), 1, 10, 12), [12, 10]), bias, activation: 'relu' })
      .dataSync() as Float32Array;
    return { viaFlags, plain };
  });
  assert.deepEqual(fused.viaFlags, fused.plain);
  assert.ok(fused.plain.some((v) => v === 0) && fused.plain.some((v) => v > 0), 'relu output should mix zeros and positives');

  // Gradients of a dense layer (which use the transposed products) agree with the cpu backend.
  const gradOn = async (backend: 'wasm' | 'cpu') => {
    await initBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor2d(values(16 * 24, 8), [16, 24]);
      const w = tf.variable(tf.tensor2d(values(24 * 12, 9), [24, 12]));
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.relu(tf.matMul(x, w)))), [w]);
      const g = grads[w.name].dataSync() as Float32Array;
      w.dispose();
      return Float32Array.from(g);
    });
  };
  const gWasm = await gradOn('wasm');
  for (const [i, c] of cases.entries()) {
    // cpu backend reference for each case
    const a = values(c.batch * c.m * c.k, 10 + i);
    const b = values(c.batch * c.k * c.n, 20 + i);
    await initBackend('cpu');
    const cpu = tf.tidy(() => tf.matMul(tf.tensor3d(a, [c.batch, c.m, c.k]), tf.tensor3d(b, [c.batch, c.k, c.n])).dataSync() as Float32Array);
    for (let j = 0; j < cpu.length; j++) assert.ok(Math.abs(wasmResults[i][j] - cpu[j]) < 1e-4, `case ${i}: wasm vs cpu at ${j}`);
  }
  const gCpu = await gradOn('cpu');
  assert.equal(gWasm.length, gCpu.length);
  let maxAbs = 0;
  for (let i = 0; i < gCpu.length; i++) maxAbs = Math.max(maxAbs, Math.abs(gCpu[i]));
  for (let i = 0; i < gCpu.length; i++) assert.ok(Math.abs(gWasm[i] - gCpu[i]) <= 1e-5 * maxAbs + 1e-6, `gradient ${i}: ${gWasm[i]} vs ${gCpu[i]}`);
  assert.ok(maxAbs > 0);
});
