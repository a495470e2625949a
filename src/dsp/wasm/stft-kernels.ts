/**
 * Loader for the project's own WebAssembly SIMD kernels
 * (`stft-kernels.wasm`, built from `stft-kernels.as.ts` by `npm run build:wasm`).
 *
 * The kernels are instantiated on PFFFT's linear memory and call PFFFT's raw
 * `pffft_transform` export directly, so a whole Fast (or accelerated) Griffin-Lim iteration
 * (analysis, momentum, magnitude projection, synthesis, overlap-add and
 * normalisation) runs inside WebAssembly with one call from JavaScript.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pffft } from '../fft.ts';
import { WA } from './webassembly.ts';

/** Signature of the `fglaPass` kernel (see `stft-kernels.as.ts` for the meaning of every argument). */
export type FglaPassFn = (
  setup: number, nFft: number, hop: number, frames: number,
  win: number, invWss: number, mag: number, magEdge: number, prev: number,
  yOld: number, yNew: number, frame: number, spec: number, work: number,
  beta: number, mode: number, cOut: number, dcPos: number, nyPos: number,
) => void;

/** Signature of the `aglaPass` kernel (see `stft-kernels.as.ts`). */
export type AglaPassFn = (
  setup: number, nFft: number, hop: number, frames: number,
  win: number, invWss: number, mag: number, magEdge: number, tOld: number, d: number,
  yOld: number, yNew: number, frame: number, spec: number, work: number,
  alpha: number, beta: number, gamma: number, cOut: number, dcPos: number, nyPos: number,
) => void;

/** Signature of the `fglaStart` kernel (see `stft-kernels.as.ts`). */
export type FglaStartFn = (
  setup: number, nFft: number, frames: number, mags: number, phRe: number, phIm: number,
  prev: number, mag: number, magEdge: number, scratch: number, scratch2: number,
) => void;

/** Signature of the `randomPhasors` kernel (see `stft-kernels.as.ts`). */
export type RandomPhasorsFn = (state: number, count: number, re: number, im: number, table: number) => void;

/** The instantiated kernels. */
export interface StftKernels {
  /** Uniform random unit phasors from a xoshiro128** state held in memory (needs {@link StftKernels.phasorTable}). */
  randomPhasors: RandomPhasorsFn;
  /** Byte pointer of the cos/sin table `randomPhasors` needs (8192 f64, allocated once). */
  phasorTable: number;
  /** One fused Fast Griffin-Lim pass over every frame. */
  fglaPass: FglaPassFn;
  /** One fused accelerated Griffin-Lim pass over every frame. */
  aglaPass: AglaPassFn;
  /** Lays out the starting coefficients and target magnitudes in PFFFT's unordered layout. */
  fglaStart: FglaStartFn;
}

/** Path of the committed binary. */
export const STFT_KERNELS_WASM = fileURLToPath(new URL('./stft-kernels.wasm', import.meta.url));

function load(): StftKernels {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(STFT_KERNELS_WASM);
  } catch {
    throw new Error(`stft-kernels: ${STFT_KERNELS_WASM} is missing; run npm run build:wasm`);
  }
  const module = new WA.Module(bytes);
  const instance = new WA.Instance(module, {
    env: { memory: pffft.memory },
    'stft-kernels.as': { pffftTransform: pffft.transform, pffftZreorder: pffft.zreorder },
  });
  const { fglaPass, aglaPass, fglaStart, randomPhasors } = instance.exports;
  if (typeof fglaPass !== 'function' || typeof aglaPass !== 'function' || typeof fglaStart !== 'function' || typeof randomPhasors !== 'function') {
    throw new Error('stft-kernels: the .wasm lacks the fglaPass/aglaPass/fglaStart/randomPhasors exports; run npm run build:wasm');
  }
  const phasorTable = pffft.malloc(8192 * 8);
  const table = new Float64Array(pffft.memory.buffer, phasorTable, 8192);
  for (let j = 0; j < 4096; j++) {
    table[j] = Math.cos((2 * Math.PI * j) / 4096);
    table[4096 + j] = Math.sin((2 * Math.PI * j) / 4096);
  }
  return {
    fglaPass: fglaPass as FglaPassFn,
    aglaPass: aglaPass as AglaPassFn,
    fglaStart: fglaStart as FglaStartFn,
    randomPhasors: randomPhasors as RandomPhasorsFn,
    phasorTable,
  };
}

/** The kernels, instantiated once on first import. */
export const stftKernels: StftKernels = load();

/**
 * Uniform random unit phasors `cos(2 pi u), sin(2 pi u)` for successive
 * uniforms `u` of `createRng(seed)` (rng.ts), computed in WebAssembly.
 *
 * @param state xoshiro128** state to start from (`createRng(seed).state()`).
 * @param count Number of phasors.
 * @returns Real and imaginary parts, each `count` floats.
 */
export function randomUnitPhasors(state: readonly number[], count: number): { re: Float32Array; im: Float32Array } {
  const re = new Float32Array(count);
  const im = new Float32Array(count);
  const CHUNK = 1 << 16;
  const p = pffft.malloc(16 + 2 * CHUNK * 4);
  try {
    new Uint32Array(pffft.memory.buffer, p, 4).set(state.slice(0, 4));
    for (let i = 0; i < count; i += CHUNK) {
      const m = Math.min(CHUNK, count - i);
      stftKernels.randomPhasors(p, m, p + 16, p + 16 + 4 * m, stftKernels.phasorTable);
      const h = pffft.heapF32();
      const o = (p + 16) >> 2;
      re.set(h.subarray(o, o + m), i);
      im.set(h.subarray(o + m, o + 2 * m), i);
    }
    return { re, im };
  } finally {
    pffft.free(p);
  }
}
