/**
 * Loader for the WebAssembly Phase Gradient Heap Integration kernels
 * (`pghi-kernels.wasm`, built from `pghi-kernels.as.ts` by `npm run build:wasm`),
 * used by `src/dsp/pghi.ts`.
 *
 * Like the Fast Griffin-Lim kernels (`stft-kernels.ts`), the module is
 * instantiated on PFFFT's linear memory and calls PFFFT's raw
 * `pffft_transform_ordered` export itself, so PGHI and its inverse STFT run
 * inside WebAssembly with a handful of calls from JavaScript. The two tables
 * the kernels read (the mantissa logarithms and the phasors) are written into
 * that memory once, at load.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pffft } from '../fft.ts';
import { WA } from './webassembly.ts';

/** `pghiScan(data, n)`: checks the magnitudes; returns the index of the largest, or −(i + 1) for an invalid value i. */
export type PghiScanFn = (data: number, n: number) => number;
/** `pghiPrepare(...)`: log-magnitudes, phase steps, buckets and starting phases; returns the number of coefficients to integrate. */
export type PghiPrepareFn = (
  st: number, data: number, lnTable: number, T: number, M: number, advance: number,
  threshold: number, logThr: number, F: number, magFloor: number, qScale: number, cT: number, cF: number, twoPiOverN: number,
  N: number, a: number, r0: number, power: number,
) => number;
/** `pghiIntegrate(...)`: the heap integration. */
export type PghiIntegrateFn = (
  st: number, T: number, M: number, remaining: number, firstSeed: number, head: number, bits: number, counts: number, order: number,
) => void;
/** `pghiCartesian(st, data, t0, frames, M, phasors, re, im)`: coefficients of frames [t0, t0 + frames). */
export type PghiCartesianFn = (st: number, data: number, t0: number, frames: number, M: number, phasors: number, re: number, im: number) => void;
/** `pghiSynthesize(...)`: the inverse STFT of the estimated coefficients, written over `ola` as float32. */
export type PghiSynthesizeFn = (
  setup: number, N: number, hop: number, T: number, M: number, st: number, data: number, phasors: number,
  ws: number, win: number, buf: number, work: number, period: number, ola: number, length: number,
) => void;

/** The instantiated kernels (see `pghi-kernels.as.ts` for every argument) and their tables. */
export interface PghiKernels {
  pghiScan: PghiScanFn;
  pghiPrepare: PghiPrepareFn;
  pghiIntegrate: PghiIntegrateFn;
  pghiCartesian: PghiCartesianFn;
  pghiSynthesize: PghiSynthesizeFn;
  /** Byte pointer of the table ln(1 + k/4096), k = 0..4096 (f64). */
  lnTable: number;
  /** Byte pointer of the phasor table: cos, sin of 2πk/65536 interleaved (f32). */
  phasors: number;
}

/** Path of the committed binary. */
export const PGHI_KERNELS_WASM = fileURLToPath(new URL('./pghi-kernels.wasm', import.meta.url));

/**
 * Instantiate the kernels and copy the tables into PFFFT's memory.
 *
 * @param lnTable ln(1 + k/4096), k = 0..4096 (the same values as the JavaScript path uses).
 * @param phasors The interleaved phasor table (the same values as the JavaScript path uses).
 */
export function loadPghiKernels(lnTable: Float64Array, phasors: Float32Array): PghiKernels {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(PGHI_KERNELS_WASM);
  } catch {
    throw new Error(`pghi-kernels: ${PGHI_KERNELS_WASM} is missing; run npm run build:wasm`);
  }
  const instance = new WA.Instance(new WA.Module(bytes), {
    env: { memory: pffft.memory },
    'pghi-kernels.as': { pffftTransformOrdered: pffft.transformOrdered, jsLog: Math.log },
  });
  const e = instance.exports;
  const names = ['pghiScan', 'pghiPrepare', 'pghiIntegrate', 'pghiCartesian', 'pghiSynthesize'] as const;
  for (const n of names) {
    if (typeof e[n] !== 'function') throw new Error(`pghi-kernels: the .wasm lacks the ${n} export; run npm run build:wasm`);
  }
  const ln = pffft.malloc(lnTable.byteLength);
  new Float64Array(pffft.memory.buffer, ln, lnTable.length).set(lnTable);
  const ph = pffft.malloc(phasors.byteLength);
  pffft.heapF32().set(phasors, ph >> 2);
  return {
    pghiScan: e.pghiScan as PghiScanFn,
    pghiPrepare: e.pghiPrepare as PghiPrepareFn,
    pghiIntegrate: e.pghiIntegrate as PghiIntegrateFn,
    pghiCartesian: e.pghiCartesian as PghiCartesianFn,
    pghiSynthesize: e.pghiSynthesize as PghiSynthesizeFn,
    lnTable: ln,
    phasors: ph,
  };
}
