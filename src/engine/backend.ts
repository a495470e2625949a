/**
 * TensorFlow.js backend selection for the engine.
 *
 * Every module of the engine imports `tf` from here (never from
 * `@tensorflow/tfjs` directly) and calls {@link initBackend} once before
 * building a model, so that the backend choice, the wasm fix below and the
 * silencing of tfjs console output apply everywhere.
 *
 * Backends are tried in this order (`'auto'`):
 * 1. `tensorflow` from `@tensorflow/tfjs-node-gpu` (libtensorflow with CUDA),
 * 2. `tensorflow` from `@tensorflow/tfjs-node` (libtensorflow on the CPU),
 * 3. `wasm` from `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD, one thread in Node),
 * 4. `cpu`, the plain JavaScript reference backend.
 * Both native packages are optional dependencies that cannot install without
 * access to the libtensorflow download host; when their import fails, the
 * reason is recorded in {@link BackendInfo.fallbacks} and the next is tried.
 *
 * **Wasm transposed matMul.** The wasm `BatchMatMul` / `_FusedMatMul`
 * kernels are roughly 10x slower when `transposeA` or `transposeB` is set
 * (measured 325 ms / 95 ms against 9 ms for a 512x1024 @ 1024x2048 product),
 * and the gradients of every Dense layer use exactly those flags. On wasm
 * both kernels are re-registered so that a transposed operand is first
 * materialised with the `Transpose` kernel and then multiplied untransposed;
 * the arithmetic (the same XNNPACK GEMM over the same values) is unchanged.
 *
 * **Console noise.** tfjs prints a "Hi, looks like you are running
 * TensorFlow.js in Node.js" banner and other warnings through
 * `console.warn`, which would corrupt a full-screen terminal UI. This module
 * enables tfjs production mode (which silences tfjs's own logging and skips
 * debug checks) and sets `TF_CPP_MIN_LOG_LEVEL=2` before loading libtensorflow
 * so that its native start-up messages stay off stderr as well.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../io/errors.ts';
import { isWasmMemory, type WasmMemory } from '../dsp/wasm/webassembly.ts';

export { tf };

/** A backend preference: `'auto'` tries the fastest available first. */
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** Every value `--backend` accepts. */
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Check a `--backend` value; throws a one-line UserError naming the accepted values. */
export function parseBackendPreference(s: string): BackendPreference {
  if (!(BACKEND_PREFERENCES as readonly string[]).includes(s)) {
    throw new UserError(`--backend ${s}: unknown; use one of ${BACKEND_PREFERENCES.join(', ')}`);
  }
  return s as BackendPreference;
}

/** The backend that {@link initBackend} activated. */
export interface BackendInfo {
  /** tfjs backend name: `'tensorflow'`, `'wasm'` or `'cpu'`. */
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** Human description for status lines, e.g. `"wasm (SIMD, 1 thread)"` or `"tensorflow (tfjs-node-gpu, CUDA)"`. */
  description: string;
  /** One line per backend that was tried and skipped before this one, saying why (empty when the first choice loaded). */
  fallbacks: string[];
}

let current: BackendInfo | null = null;
let wasmLoaded = false;
let wasmPatched = false;
/** The linear memory of the wasm backend's module, once captured (see {@link wasmBackendMemory}). */
let wasmMemory: WasmMemory | null = null;

/**
 * The `WebAssembly.Memory` in which @tensorflow/tfjs-backend-wasm keeps every tensor, or null
 * before the wasm backend has been initialised (or if it could not be captured). The backend
 * exposes only typed-array views of it, so {@link initBackend} captures the memory object while
 * the backend instantiates its module; the project's own kernels (`adam-kernel.ts`) import it
 * and work on tensors in place, by their `memoryOffset`.
 */
export function wasmBackendMemory(): WasmMemory | null {
  return wasmMemory;
}

/**
 * Wrap `WebAssembly.instantiate` so that the memories exported by modules instantiated until
 * the returned function is called are collected in `into`; calling it restores the original.
 */
function collectInstantiatedMemories(into: WasmMemory[]): () => void {
  const api = (globalThis as unknown as { WebAssembly: { instantiate: (...a: unknown[]) => Promise<unknown> } }).WebAssembly;
  const original = api.instantiate;
  api.instantiate = async function (this: unknown, ...args: unknown[]) {
    const r = (await original.apply(this, args)) as { instance?: { exports: Record<string, unknown> }; exports?: Record<string, unknown> };
    const exports = r.instance?.exports ?? r.exports ?? {};
    for (const v of Object.values(exports)) if (isWasmMemory(v)) into.push(v);
    return r;
  };
  return () => {
    api.instantiate = original;
  };
}

/** Silence tfjs's JavaScript logging (production mode) and libtensorflow's native logging. */
function quietTfjs(): void {
  if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  tf.enableProdMode();
}

function describeImportError(pkg: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND')) {
    return `${pkg}: not installed (npm install ${pkg} on a host that can download libtensorflow)`;
  }
  const msg = String(err?.message ?? e).split('\n')[0];
  return `${pkg}: failed to load (${msg})`;
}

/** Dynamic import that keeps TypeScript from resolving optional packages at compile time. */
async function importOptional(name: string): Promise<unknown> {
  return import(name);
}

async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node', fallbacks: string[]): Promise<BackendInfo | null> {
  try {
    await importOptional(pkg);
  } catch (e) {
    fallbacks.push(describeImportError(pkg, e));
    return null;
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend("tensorflow") returned false');
    await tf.ready();
  } catch (e) {
    fallbacks.push(`${pkg}: backend did not initialise (${String((e as Error)?.message ?? e).split('\n')[0]})`);
    return null;
  }
  const gpu = pkg === '@tensorflow/tfjs-node-gpu';
  return { name: 'tensorflow', description: gpu ? 'tensorflow (tfjs-node-gpu, CUDA)' : 'tensorflow (tfjs-node, CPU)', fallbacks };
}

/**
 * The wasm kernels' function signature as seen through tfjs's kernel registry.
 * `backend` is the wasm backend instance (only `disposeData` is used here).
 */
type KernelFunc = (args: {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: { disposeData(dataId: object): boolean };
  attrs?: Record<string, unknown>;
}) => tf.TensorInfo | tf.TensorInfo[];

/**
 * Re-register the wasm `BatchMatMul` and `_FusedMatMul` kernels so that
 * `transposeA` / `transposeB` are applied by the `Transpose` kernel first and
 * the product is then computed untransposed. Idempotent. Called by
 * {@link initBackend} on wasm; exported for tests and benchmarks.
 *
 * @returns true if the kernels are (now) patched, false if the wasm backend is not loaded.
 */
export function patchWasmTransposedMatMul(): boolean {
  if (wasmPatched) return true;
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) return false;
  const transposeFn = transpose.kernelFunc as unknown as KernelFunc;
  const lastTwoSwapped = (rank: number): number[] => {
    const perm = Array.from({ length: rank }, (_, i) => i);
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return perm;
  };
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const original = tf.getKernel(name, 'wasm');
    if (!original) return false;
    const originalFn = original.kernelFunc as unknown as KernelFunc;
    const kernelFunc: KernelFunc = (args) => {
      const attrs = args.attrs ?? {};
      if (!attrs.transposeA && !attrs.transposeB) return originalFn(args);
      const temps: tf.TensorInfo[] = [];
      const inputs = { ...args.inputs };
      for (const [key, flag] of [['a', 'transposeA'], ['b', 'transposeB']] as const) {
        const t = inputs[key];
        if (attrs[flag] && t) {
          const tt = transposeFn({ inputs: { x: t }, backend: args.backend, attrs: { perm: lastTwoSwapped(t.shape.length) } }) as tf.TensorInfo;
          temps.push(tt);
          inputs[key] = tt;
        }
      }
      try {
        return originalFn({ inputs, backend: args.backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      } finally {
        for (const t of temps) args.backend.disposeData(t.dataId);
      }
    };
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  wasmPatched = true;
  return true;
}

async function tryWasm(fallbacks: string[]): Promise<BackendInfo | null> {
  try {
    if (!wasmLoaded) {
      await import('@tensorflow/tfjs-backend-wasm');
      wasmLoaded = true;
    }
    patchWasmTransposedMatMul();
    const memories: WasmMemory[] = [];
    const restore = collectInstantiatedMemories(memories);
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('setBackend("wasm") returned false');
      await tf.ready();
    } finally {
      restore();
    }
    // The backend's heap views share their buffer with the memory its module exported.
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
    wasmMemory = memories.find((m) => m.buffer === heap?.buffer) ?? wasmMemory;
  } catch (e) {
    fallbacks.push(describeImportError('@tensorflow/tfjs-backend-wasm', e));
    return null;
  }
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  return { name: 'wasm', description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : '1 thread'})`, fallbacks };
}

async function useCpu(fallbacks: string[]): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) throw new Error('tfjs: the cpu backend failed to initialise');
  await tf.ready();
  return { name: 'cpu', description: 'cpu (plain JavaScript, slow)', fallbacks };
}

/**
 * Select and initialise the TensorFlow.js backend.
 *
 * @param preference `'auto'` (default) tries tfjs-node-gpu, tfjs-node, wasm, then cpu and takes the first that
 *   loads. `'tensorflow'` tries only the two native packages and then falls back to wasm and cpu (the reasons
 *   are listed in `fallbacks`). `'wasm'` tries wasm, then cpu. `'cpu'` uses the JavaScript backend.
 * @returns The active backend. Calling again with another preference switches backends; tensors created on the
 *   previous backend move lazily, but models should be created after the final choice.
 * @throws Error only if not even the cpu backend initialises (a broken installation).
 */
export async function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  quietTfjs();
  const fallbacks: string[] = [];
  let info: BackendInfo | null = null;
  if (preference === 'auto' || preference === 'tensorflow') {
    info = (await tryNative('@tensorflow/tfjs-node-gpu', fallbacks)) ?? (await tryNative('@tensorflow/tfjs-node', fallbacks));
  }
  if (!info && preference !== 'cpu') info = await tryWasm(fallbacks);
  if (!info) info = await useCpu(fallbacks);
  current = info;
  return info;
}

/** The backend chosen by the last {@link initBackend} call, or null before the first. */
export function currentBackend(): BackendInfo | null {
  return current;
}
