/**
 * Minimal typings for the WebAssembly JavaScript API.
 *
 * The project compiles with `lib: ["ES2023"]` and `@types/node` 20, neither
 * of which declares the global `WebAssembly` namespace, so the few parts the
 * DSP layer uses are typed here (as module-local types, to avoid clashing with
 * any global declaration another package may add later).
 *
 * @module
 */

/** A WebAssembly linear memory (`WebAssembly.Memory`). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

/** A compiled module (`WebAssembly.Module`). */
export type WasmModule = object;

/** An instantiated module (`WebAssembly.Instance`). */
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

/** Import object: module name -> field name -> value. */
export type WasmImports = Record<string, Record<string, unknown>>;

/** The parts of the global `WebAssembly` namespace used by this project. */
export interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

/** The global `WebAssembly` object, typed. Throws at import time if the runtime has none. */
export const WA: WasmApi = (() => {
  const w = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!w) throw new Error('WebAssembly is not available in this JavaScript runtime; use Node.js 20 or newer');
  return w;
})();

/** True if `v` is a `WebAssembly.Memory`. */
export function isWasmMemory(v: unknown): v is WasmMemory {
  return v instanceof (WA.Memory as unknown as new (...a: unknown[]) => object);
}
