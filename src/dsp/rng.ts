/**
 * A small, fast, seeded pseudo-random number generator: xoshiro128** 1.1
 * (D. Blackman, S. Vigna, "Scrambled linear pseudorandom number generators",
 * ACM TOMS 2021), seeded through SplitMix32 so that nearby seeds give
 * unrelated streams. Period 2^128 - 1; 32 bits per draw.
 *
 * Everything random in this project draws from here, so a run is exactly
 * reproducible from its seed (on every platform: only 32-bit integer
 * arithmetic is used).
 *
 * @module
 */

/**
 * A seeded generator: call it to get a uniform float in `[0, 1)` (32 bits of
 * randomness, a multiple of 2^-32).
 */
export interface Rng {
  (): number;
  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number;
  /** A copy of the internal state (four uint32 words); pass to {@link restoreRng} to resume the stream. */
  state(): [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function fromState(a: number, b: number, c: number, d: number): Rng {
  let s0 = a >>> 0;
  let s1 = b >>> 0;
  let s2 = c >>> 0;
  let s3 = d >>> 0;
  if ((s0 | s1 | s2 | s3) === 0) throw new Error('rng: the all-zero state is invalid for xoshiro128**; use createRng(seed)');
  const nextUint32 = (): number => {
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  };
  const rng = (() => nextUint32() * 2.3283064365386963e-10) as Rng;
  rng.nextUint32 = nextUint32;
  rng.state = () => [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0];
  return rng;
}

/**
 * Create a generator from a seed.
 *
 * @param seed Any finite number; it is reduced to 32 bits (`seed >>> 0` after truncation, with the
 *   high 32 bits of large integers mixed in), so `createRng(1)` and `createRng(2)` give unrelated streams.
 * @returns A function returning uniform floats in `[0, 1)`.
 * @example
 * const rng = createRng(42);
 * const u = rng();          // in [0, 1)
 * const g = gaussian(rng);  // standard normal
 */
export function createRng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new Error(`rng: seed must be a finite number, got ${String(seed)}`);
  }
  const t = Math.trunc(seed);
  const hi = Math.floor(t / 4294967296) >>> 0;
  const sm = splitmix32((t >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
  return fromState(sm(), sm(), sm(), sm() | 1);
}

/**
 * Resume a generator from a state captured with {@link Rng.state}.
 *
 * @param state Four uint32 words, not all zero.
 */
export function restoreRng(state: readonly number[]): Rng {
  if (!Array.isArray(state) || state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
    throw new Error('rng: state must be an array of four uint32 integers, as returned by rng.state()');
  }
  return fromState(state[0], state[1], state[2], state[3]);
}

/**
 * A standard normal sample (mean 0, variance 1) by the Box-Muller transform
 * (two uniform draws per sample, no cached spare, so the stream position
 * depends only on the number of calls).
 *
 * @param rng Source of uniforms in `[0, 1)`.
 */
export function gaussian(rng: () => number): number {
  const u = 1 - rng(); // (0, 1]: log is finite
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Fill an array with independent standard normal samples.
 *
 * @param rng Source of uniforms.
 * @param out Array to fill (every element is written).
 * @returns `out`.
 */
export function fillGaussian<T extends Float32Array | Float64Array>(rng: () => number, out: T): T {
  for (let i = 0; i < out.length; i++) out[i] = gaussian(rng);
  return out;
}

/**
 * A uniform integer in `[0, n)`.
 *
 * @param rng Source of uniforms in `[0, 1)`.
 * @param n Exclusive upper bound, a positive integer `<= 2^32`.
 */
export function randomInt(rng: () => number, n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new Error(`rng: randomInt bound must be a positive integer <= 2^32, got ${n}`);
  return Math.floor(rng() * n);
}

/**
 * Shuffle an array in place (Fisher-Yates), deterministically for a given generator state.
 *
 * @param rng Source of uniforms in `[0, 1)`.
 * @param a Array or typed array to permute.
 * @returns `a`.
 */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(rng: () => number, a: T): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = a[i];
    a[i] = a[j];
    a[j] = tmp;
  }
  return a;
}
