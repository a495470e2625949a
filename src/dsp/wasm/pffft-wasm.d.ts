/**
 * Type declarations for the Emscripten factory of `@echogarden/pffft-wasm`
 * (PFFFT by Julien Pommier, BSD-3, compiled to WebAssembly). Only the parts
 * this project calls are declared.
 */
declare module '@echogarden/pffft-wasm/simd' {
  /** The Emscripten module object returned by the factory. */
  export interface PffftModule {
    _pffft_new_setup(n: number, transform: number): number;
    _pffft_destroy_setup(setup: number): void;
    _pffft_transform(setup: number, input: number, output: number, work: number, direction: number): void;
    _pffft_transform_ordered(setup: number, input: number, output: number, work: number, direction: number): void;
    _pffft_zreorder(setup: number, input: number, output: number, direction: number): void;
    _pffft_aligned_malloc(bytes: number): number;
    _pffft_aligned_free(ptr: number): void;
    _pffft_simd_size(): number;
    HEAPF32: Float32Array;
  }
  /** Emscripten module options used here. */
  export interface PffftModuleOptions {
    /** Custom instantiation hook: gets the import object, must call `receiveInstance(instance, module)`. */
    instantiateWasm?: (
      imports: Record<string, Record<string, unknown>>,
      receiveInstance: (instance: object, module: object) => void,
    ) => object;
  }
  const factory: (options?: PffftModuleOptions) => Promise<PffftModule>;
  export default factory;
}

/** The non-SIMD build (same API); used only by benchmarks as a comparison point. */
declare module '@echogarden/pffft-wasm' {
  import factory from '@echogarden/pffft-wasm/simd';
  export type { PffftModule, PffftModuleOptions } from '@echogarden/pffft-wasm/simd';
  export default factory;
}
