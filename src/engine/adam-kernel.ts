/**
 * Fused, in-place Adam update on the TensorFlow.js wasm backend.
 *
 * Written op by op (`m·0.9 + g·0.1`, …), one Adam step of the LTS network is
 * twelve tfjs kernels per variable, each a pass over ~8 MB with a fresh
 * allocation: about a quarter of a training step on wasm (BENCHMARKS.md, "VAE
 * training and inference"). `adam.wasm` (built from `wasm/adam.as.ts` by
 * `npm run build:wasm`) does the same arithmetic in one SIMD pass, in place,
 * on the memory where the wasm backend keeps the tensors (captured by
 * `initBackend`, see {@link wasmBackendMemory}). Every operation is the same
 * float32 operation in the same order as the op-by-op form, so both give the
 * same bits (tested in test/vae-adam.test.ts).
 *
 * In-place updates are only safe when no other tensor shares a variable's
 * storage; {@link fusedAdamUpdate} checks the backend's reference counts and
 * declines (the caller then uses the op-by-op form) otherwise.
 *
 * Reference: D. P. Kingma, J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, Algorithm 1 (bias correction folded into the step
 * size, as in Keras).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf, wasmBackendMemory } from './backend.ts';
import { WA, type WasmMemory } from '../dsp/wasm/webassembly.ts';

/** Path of the committed binary. */
export const ADAM_WASM = fileURLToPath(new URL('./wasm/adam.wasm', import.meta.url));

type AdamStepFn = (
  w: number, m: number, v: number, g: number, n: number,
  alpha: number, b1: number, c1: number, b2: number, c2: number, eps: number,
) => void;

/** The kernel instantiated on a given backend memory (re-instantiated if the backend's memory changes). */
let kernel: { memory: WasmMemory; adamStep: AdamStepFn } | null = null;

function adamStepFor(memory: WasmMemory): AdamStepFn {
  if (kernel?.memory === memory) return kernel.adamStep;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(ADAM_WASM);
  } catch {
    throw new Error(`adam-kernel: ${ADAM_WASM} is missing; run npm run build:wasm`);
  }
  const instance = new WA.Instance(new WA.Module(bytes), { env: { memory } });
  const adamStep = instance.exports.adamStep;
  if (typeof adamStep !== 'function') throw new Error('adam-kernel: adam.wasm lacks the adamStep export; run npm run build:wasm');
  kernel = { memory, adamStep: adamStep as AdamStepFn };
  return kernel.adamStep;
}

/** What the wasm backend keeps per tensor (`backend.dataIdMap`). */
interface WasmTensorData {
  memoryOffset: number;
  refCount: number;
  dtype: string;
}

/** The wasm backend's tensor table, or null on another backend. */
function wasmData(): { get(dataId: object): WasmTensorData | undefined } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const b = tf.backend() as unknown as { dataIdMap?: { get(dataId: object): WasmTensorData | undefined } };
  return b.dataIdMap ?? null;
}

/** Whether {@link fusedAdamUpdate} can run now (wasm backend active, its memory captured). */
export function fusedAdamAvailable(): boolean {
  return wasmData() !== null && wasmBackendMemory() !== null;
}

/**
 * Apply one Adam step to `w`, `m`, `v` in place from gradient `g` (all float32, same size):
 * `m ← 0.9·m + 0.1·g`, `v ← 0.999·v + 0.001·g²`, `w ← w − alpha·m/(√v + eps)`.
 *
 * @param w The variable (updated in place).
 * @param m First moment (updated in place).
 * @param v Second moment (updated in place).
 * @param g Gradient of the loss with respect to `w` (read only).
 * @param alpha Bias-corrected step size `lr·√(1 − 0.999^t)/(1 − 0.9^t)`.
 * @param eps Epsilon added to √v (Keras: 1e-7).
 * @returns false (and nothing changed) when the fused kernel cannot be used: not on wasm, the
 *   backend memory was not captured, a dtype is not float32, or `w`, `m` or `v` shares its storage
 *   with another tensor (an in-place update would change that one too).
 */
export function fusedAdamUpdate(w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, alpha: number, eps: number): boolean {
  const map = wasmData();
  const memory = wasmBackendMemory();
  if (!map || !memory) return false;
  const n = w.size;
  if (m.size !== n || v.size !== n || g.size !== n) throw new Error(`fusedAdamUpdate: sizes differ (w ${n}, m ${m.size}, v ${v.size}, g ${g.size})`);
  const dw = map.get(w.dataId);
  const dm = map.get(m.dataId);
  const dv = map.get(v.dataId);
  const dg = map.get(g.dataId);
  if (!dw || !dm || !dv || !dg) return false;
  if (dw.dtype !== 'float32' || dm.dtype !== 'float32' || dv.dtype !== 'float32' || dg.dtype !== 'float32') return false;
  if (dw.refCount !== 1 || dm.refCount !== 1 || dv.refCount !== 1) return false;
  if (w.dataId === m.dataId || w.dataId === v.dataId || m.dataId === v.dataId) return false;
  const f = Math.fround;
  adamStepFor(memory)(dw.memoryOffset, dm.memoryOffset, dv.memoryOffset, dg.memoryOffset, n, f(alpha), f(0.9), f(0.1), f(0.999), f(0.001), f(eps));
  return true;
}
