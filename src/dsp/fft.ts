/**
 * Fast Fourier transforms on float32 data, backed by PFFFT (Julien Pommier's
 * "pretty fast FFT", BSD-3) compiled to WebAssembly with 128-bit SIMD
 * (`@echogarden/pffft-wasm`).
 *
 * The WebAssembly module is instantiated once with top-level await when this
 * module is first imported, so every function here is synchronous.
 *
 * Why PFFFT SIMD: measured on this project's shared 2-core machine with
 * `bench/_fgla-scratch.ts` (best process-CPU time, real 2048 points, forward /
 * inverse in microseconds): PFFFT SIMD on its own heap 1.97 / 1.82, through
 * this module's API (copies in and out, 1/n scaling) 2.85 / 3.69, PFFFT
 * non-SIMD 8.0 / 6.9, a plain radix-2 JavaScript FFT on Float64Array 29.5 /
 * 28.4 (DEPENDENCY-NOTES: a tuned radix-4 JavaScript FFT 7.2 / 7.0). Relative
 * error against a float64 FFT: 1.2e-7 (float32 round-off). The hot loops of
 * this project (`fgla.ts`) call PFFFT on its own memory without copies.
 *
 * Supported sizes (PFFFT's own limits): `n = 2^a * 3^b * 5^c` with `n` a
 * multiple of 32 for real transforms and a multiple of 16 for complex ones.
 * Use {@link nextFastSize} to round a length up to a supported size.
 *
 * Conventions follow numpy.fft: forward transforms are unnormalised,
 * `X[k] = sum_j x[j] * exp(-2*pi*i*j*k/n)`, and inverse transforms are scaled
 * by `1/n`, so `inverse(forward(x)) = x`.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pffftFactory, { type PffftModule } from '@echogarden/pffft-wasm/simd';
import { WA, isWasmMemory, type WasmInstance, type WasmMemory, type WasmModule } from './wasm/webassembly.ts';

/** PFFFT enum values (pffft.h). */
const PFFFT_REAL = 0;
const PFFFT_COMPLEX = 1;
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;

/**
 * The raw PFFFT WebAssembly runtime shared by every transform in this module.
 * Exposed for the fused WebAssembly kernels of this project (`src/dsp/fgla.ts`),
 * which import the same memory and call `transform` directly. Application code
 * should use {@link realFFT} / {@link complexFFT} instead.
 */
export interface PffftRuntime {
  /** The module's linear memory (grows on allocation; re-read `.buffer` after `malloc`). */
  readonly memory: WasmMemory;
  /** Raw WebAssembly export `pffft_transform(setup, in, out, work, direction)` (unordered z-domain layout). */
  readonly transform: (setup: number, input: number, output: number, work: number, direction: number) => void;
  /** Raw WebAssembly export `pffft_transform_ordered(setup, in, out, work, direction)`. */
  readonly transformOrdered: (setup: number, input: number, output: number, work: number, direction: number) => void;
  /** `pffft_zreorder(setup, in, out, direction)`: converts between unordered and ordered layouts. */
  readonly zreorder: (setup: number, input: number, output: number, direction: number) => void;
  /** 16-byte aligned allocation of `bytes` bytes inside {@link PffftRuntime.memory}; returns a byte pointer. */
  readonly malloc: (bytes: number) => number;
  /** Like `malloc`, but returns 0 instead of throwing when the memory cannot grow enough. */
  readonly tryMalloc: (bytes: number) => number;
  /** Frees a pointer returned by `malloc`. */
  readonly free: (ptr: number) => void;
  /** Returns a Float32Array view of the whole memory, refreshed if the memory has grown. */
  heapF32(): Float32Array;
  /** Returns a PFFFT setup pointer for a size and kind (cached; never freed). */
  setup(n: number, kind: 'real' | 'complex'): number;
}

async function loadRuntime(): Promise<PffftRuntime> {
  const require = createRequire(import.meta.url);
  const wasmPath = join(dirname(require.resolve('@echogarden/pffft-wasm/simd')), 'pffft.wasm');
  let compiled: WasmModule;
  try {
    compiled = await WA.compile(readFileSync(wasmPath));
  } catch (e) {
    throw new Error(`fft: cannot load PFFFT (${wasmPath}): ${e instanceof Error ? e.message : String(e)}; WebAssembly SIMD (Node >= 16.4) is required`);
  }
  let instance: WasmInstance | undefined;
  const mod: PffftModule = await pffftFactory({
    instantiateWasm(imports, receiveInstance) {
      const inst = new WA.Instance(compiled, imports);
      instance = inst;
      receiveInstance(inst, compiled);
      return inst.exports;
    },
  });
  if (!instance) throw new Error('fft: PFFFT WebAssembly instance was not captured');
  if (mod._pffft_simd_size() !== 4) throw new Error('fft: expected the SIMD build of PFFFT (simd size 4)');
  const exportsList = Object.values(instance.exports);
  const memory = exportsList.find(isWasmMemory);
  if (!memory) throw new Error('fft: PFFFT module exports no memory');

  // Emscripten's export wrappers replace themselves with the raw WebAssembly
  // function on first call; calling each once (with valid arguments) lets us
  // hand the raw functions to our own WebAssembly kernels without a JS hop.
  const probe = mod._pffft_new_setup(32, PFFFT_REAL);
  const buf = mod._pffft_aligned_malloc(64 * 4);
  mod._pffft_transform(probe, buf, buf, buf + 128, PFFFT_FORWARD);
  mod._pffft_transform_ordered(probe, buf, buf, buf + 128, PFFFT_FORWARD);
  mod._pffft_zreorder(probe, buf, buf + 128, PFFFT_FORWARD);
  mod._pffft_aligned_free(buf);
  const raw = <T>(fn: T, name: string): T => {
    if (!exportsList.includes(fn)) {
      throw new Error(`fft: could not resolve the raw WebAssembly export of ${name}`);
    }
    return fn;
  };

  let heap = new Float32Array(memory.buffer);
  const setups = new Map<string, number>();
  setups.set('real:32', probe);
  const runtime: PffftRuntime = {
    memory,
    transform: raw(mod._pffft_transform, 'pffft_transform'),
    transformOrdered: raw(mod._pffft_transform_ordered, 'pffft_transform_ordered'),
    zreorder: raw(mod._pffft_zreorder, 'pffft_zreorder'),
    malloc(bytes: number): number {
      const p = mod._pffft_aligned_malloc(bytes);
      if (p === 0) throw new Error(`fft: out of WebAssembly memory allocating ${bytes} bytes`);
      return p;
    },
    tryMalloc(bytes: number): number {
      return bytes > 0x7fff0000 ? 0 : mod._pffft_aligned_malloc(bytes);
    },
    free(ptr: number): void {
      mod._pffft_aligned_free(ptr);
    },
    heapF32(): Float32Array {
      if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
      return heap;
    },
    setup(n: number, kind: 'real' | 'complex'): number {
      const key = `${kind}:${n}`;
      let s = setups.get(key);
      if (s === undefined) {
        checkSize(n, kind);
        s = mod._pffft_new_setup(n, kind === 'real' ? PFFFT_REAL : PFFFT_COMPLEX);
        if (s === 0) throw new Error(`fft: PFFFT rejected size ${n} (${kind}); use nextFastSize(${n}, '${kind}')`);
        setups.set(key, s);
      }
      return s;
    },
  };
  return runtime;
}

/** The shared PFFFT runtime (see {@link PffftRuntime}). */
export const pffft: PffftRuntime = await loadRuntime();

/** True when `n` has no prime factor other than 2, 3 and 5. */
function is235(n: number): boolean {
  for (const p of [2, 3, 5]) while (n % p === 0) n /= p;
  return n === 1;
}

/** Minimum / required multiple for each kind (PFFFT SIMD: 2*4*4 real, 4*4 complex). */
const MULTIPLE = { real: 32, complex: 16 } as const;

/**
 * Whether `n` is a size PFFFT can transform.
 *
 * @param n Transform size (number of real samples, or of complex samples).
 * @param kind `'real'` (multiple of 32) or `'complex'` (multiple of 16); both need `n = 2^a 3^b 5^c`.
 */
export function isFastSize(n: number, kind: 'real' | 'complex'): boolean {
  return Number.isInteger(n) && n > 0 && n % MULTIPLE[kind] === 0 && is235(n);
}

function checkSize(n: number, kind: 'real' | 'complex'): void {
  if (!isFastSize(n, kind)) {
    const hint = Number.isFinite(n) && n > 0 ? `; the next supported size is ${nextFastSize(Math.ceil(n), kind)}` : '';
    throw new Error(
      `fft: unsupported ${kind} FFT size ${n}: sizes must be 2^a*3^b*5^c and a multiple of ${MULTIPLE[kind]}${hint} (see nextFastSize)`,
    );
  }
}

/**
 * The smallest size `>= n` that {@link realFFT} / {@link complexFFT} accept.
 *
 * @param n Minimum length (any positive number; non-integers are rounded up).
 * @param kind `'real'` (result is a multiple of 32) or `'complex'` (multiple of 16).
 * @returns A size of the form `2^a * 3^b * 5^c`.
 * @example nextFastSize(1000, 'real') // 1024
 */
export function nextFastSize(n: number, kind: 'real' | 'complex'): number {
  if (!Number.isFinite(n) || n < 0) throw new Error(`fft: nextFastSize needs a finite non-negative length, got ${n}`);
  if (kind !== 'real' && kind !== 'complex') throw new Error(`fft: nextFastSize kind must be 'real' or 'complex', got ${String(kind)}`);
  const m = MULTIPLE[kind];
  let k = Math.max(1, Math.ceil(n / m));
  // m is a power of two, so m*k is 2-3-5 smooth exactly when k is.
  while (!is235(k)) k++;
  return k * m;
}

/** A real-input FFT of a fixed size `n` (see {@link realFFT}). */
export interface RealFFT {
  /** Transform size `n` (number of real samples). */
  readonly size: number;
  /**
   * Forward transform, like `numpy.fft.rfft` (unnormalised).
   *
   * @param x Input, length `n`.
   * @param out Output, length `n + 2`: interleaved `[re0, im0, re1, im1, ..., re_{n/2}, im_{n/2}]`
   *   (`im0` and `im_{n/2}` are always 0). May not alias `x` unless both are the same length-(n+2) array.
   */
  forward(x: Float32Array, out: Float32Array): void;
  /**
   * Inverse transform, like `numpy.fft.irfft`: scaled by `1/n`, so `inverse(forward(x)) = x`.
   * The imaginary parts of bins 0 and `n/2` are ignored (the result is real).
   *
   * @param spec Half spectrum, length `n + 2`, interleaved as produced by {@link RealFFT.forward}.
   * @param out Output signal, length `n`.
   */
  inverse(spec: Float32Array, out: Float32Array): void;
}

/** A complex FFT of a fixed size `n` (see {@link complexFFT}). */
export interface ComplexFFT {
  /** Transform size `n` (number of complex samples). */
  readonly size: number;
  /**
   * Forward transform, unnormalised (`numpy.fft.fft`).
   *
   * @param x Input, interleaved complex `[re0, im0, re1, im1, ...]`, length `2n`.
   * @param out Output, interleaved complex, length `2n` (may be the same array as `x`).
   */
  forward(x: Float32Array, out: Float32Array): void;
  /**
   * Inverse transform scaled by `1/n` (`numpy.fft.ifft`).
   *
   * @param x Input spectrum, interleaved complex, length `2n`.
   * @param out Output, interleaved complex, length `2n` (may be the same array as `x`).
   */
  inverse(x: Float32Array, out: Float32Array): void;
}

function checkArray(a: unknown, len: number, what: string): void {
  if (!(a instanceof Float32Array)) throw new Error(`fft: ${what} must be a Float32Array`);
  if (a.length !== len) throw new Error(`fft: ${what} must have length ${len}, got ${a.length}`);
}

const realCache = new Map<number, RealFFT>();
const complexCache = new Map<number, ComplexFFT>();

/**
 * A real FFT of size `n`, created once per size and cached.
 *
 * @param n Transform size: `2^a * 3^b * 5^c` and a multiple of 32 (e.g. 32, 64, 96, 256, 2048, 4800).
 *   Any other size throws an error naming the next supported size ({@link nextFastSize}).
 * @example
 * const f = realFFT(2048);
 * const spec = new Float32Array(2050);
 * f.forward(signal, spec); // spec[2k], spec[2k+1] = re, im of bin k
 */
export function realFFT(n: number): RealFFT {
  const cached = realCache.get(n);
  if (cached) return cached;
  const setup = pffft.setup(n, 'real');
  const buf = pffft.malloc(n * 4);
  const work = pffft.malloc(n * 4);
  const b = buf >> 2;
  const inv = 1 / n;
  const { transformOrdered } = pffft;
  const fft: RealFFT = {
    size: n,
    forward(x: Float32Array, out: Float32Array): void {
      checkArray(x, n, `realFFT(${n}).forward input`);
      checkArray(out, n + 2, `realFFT(${n}).forward output`);
      const heap = pffft.heapF32();
      heap.set(x, b);
      transformOrdered(setup, buf, buf, work, PFFFT_FORWARD);
      const h = pffft.heapF32();
      // Ordered real layout: [F0, F(n/2), re1, im1, ..., re(n/2-1), im(n/2-1)].
      const dc = h[b];
      const ny = h[b + 1];
      out.set(h.subarray(b + 2, b + n), 2);
      out[0] = dc;
      out[1] = 0;
      out[n] = ny;
      out[n + 1] = 0;
    },
    inverse(spec: Float32Array, out: Float32Array): void {
      checkArray(spec, n + 2, `realFFT(${n}).inverse input`);
      checkArray(out, n, `realFFT(${n}).inverse output`);
      const heap = pffft.heapF32();
      heap.set(spec.subarray(2, n), b + 2);
      heap[b] = spec[0];
      heap[b + 1] = spec[n];
      transformOrdered(setup, buf, buf, work, PFFFT_BACKWARD);
      out.set(pffft.heapF32().subarray(b, b + n));
      for (let i = 0; i < n; i++) out[i] *= inv;
    },
  };
  realCache.set(n, fft);
  return fft;
}

/**
 * A complex FFT of size `n`, created once per size and cached.
 *
 * @param n Transform size: `2^a * 3^b * 5^c` and a multiple of 16. Other sizes throw
 *   an error naming the next supported size ({@link nextFastSize}).
 */
export function complexFFT(n: number): ComplexFFT {
  const cached = complexCache.get(n);
  if (cached) return cached;
  const setup = pffft.setup(n, 'complex');
  const buf = pffft.malloc(n * 8);
  const work = pffft.malloc(n * 8);
  const b = buf >> 2;
  const inv = 1 / n;
  const { transformOrdered } = pffft;
  const fft: ComplexFFT = {
    size: n,
    forward(x: Float32Array, out: Float32Array): void {
      checkArray(x, 2 * n, `complexFFT(${n}).forward input`);
      checkArray(out, 2 * n, `complexFFT(${n}).forward output`);
      pffft.heapF32().set(x, b);
      transformOrdered(setup, buf, buf, work, PFFFT_FORWARD);
      out.set(pffft.heapF32().subarray(b, b + 2 * n));
    },
    inverse(x: Float32Array, out: Float32Array): void {
      checkArray(x, 2 * n, `complexFFT(${n}).inverse input`);
      checkArray(out, 2 * n, `complexFFT(${n}).inverse output`);
      pffft.heapF32().set(x, b);
      transformOrdered(setup, buf, buf, work, PFFFT_BACKWARD);
      out.set(pffft.heapF32().subarray(b, b + 2 * n));
      for (let i = 0; i < 2 * n; i++) out[i] *= inv;
    },
  };
  complexCache.set(n, fft);
  return fft;
}
