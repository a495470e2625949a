// @ts-nocheck -- AssemblyScript source (v128/f32x4 intrinsics), not TypeScript.
// Compiled by `npm run build:wasm` (scripts/build-wasm.ts) to stft-kernels.wasm,
// which the fused Fast Griffin-Lim path in src/dsp/fgla.ts loads through
// src/dsp/wasm/stft-kernels.ts.
//
// The module imports PFFFT's linear memory ("env"."memory") and PFFFT's
// `pffft_transform` (unordered z-domain layout), so frames, spectra and the
// signal never leave that memory. All pointers are byte offsets into it.
//
// Unordered layout of a real PFFFT-SIMD spectrum of size N: N floats in
// blocks of 8, each block holding the real parts of 4 bins and then their 4
// imaginary parts. DC and Nyquist (both real) share one lane of one block, at
// float offsets dcPos (as a "real part") and nyPos (as its "imaginary part");
// the caller finds both with pffft_zreorder and passes them in.

/** PFFFT's pffft_transform(setup, input, output, work, direction): 0 = forward, 1 = backward. */
declare function pffftTransform(setup: i32, input: usize, output: usize, work: usize, direction: i32): void;

/** Same constant as librosa / torchaudio use to guard the phase normalisation. */
const EPS: f32 = 1e-16;

/**
 * One pass of Fast Griffin-Lim over all frames of a centred STFT (Perraudin,
 * Balazs, Sondergaard 2013, in librosa's form), fused frame by frame:
 *
 *   mode 0 (iterate), for each frame t:
 *     r_t   = FFT(win * yOld[t*hop : t*hop + N])          (analysis of the current signal)
 *     a_t   = r_t - beta * prev_t ;  prev_t = r_t           (momentum)
 *     c_t   = mag_t * a_t / (|a_t| + EPS)                   (magnitude projection)
 *   mode 1 (start): c_t = prev_t (the caller stores the starting coefficients there)
 *   then, in both modes:
 *     yNew[t*hop : t*hop + N] += win * IFFT(c_t)           (weighted overlap-add, unscaled)
 *     yNew[i] *= invWss[i] and yOld[i] = 0 for the hop samples no later frame touches.
 *
 * invWss[i] = 1 / (N * sum_t win^2[i - t*hop]) inside the signal and 0 in the
 * zero padding, so yNew ends up as the least-squares inverse STFT of c
 * (zero-padded, ready for the next analysis) and yOld ends up all zero (ready
 * to be the next overlap-add target).
 *
 * @param setup   PFFFT real setup of size nFft.
 * @param nFft    FFT size N (multiple of 32).
 * @param hop     Hop in samples.
 * @param frames  Number of frames T.
 * @param win     N floats: window.
 * @param invWss  padLen floats, padLen = (T-1)*hop + N.
 * @param mag     T * N/2 floats: target magnitude of each (re, im) lane pair, unordered layout.
 * @param magEdge T * 2 floats: target magnitudes of DC and Nyquist.
 * @param prev    T * N floats: previous analysis (mode 0) or starting coefficients (mode 1).
 * @param yOld    padLen floats: current signal (padded coordinates); zeroed on return.
 * @param yNew    padLen floats: all zero on entry; the new signal on return.
 * @param frame   N floats scratch (16-byte aligned).
 * @param spec    N floats scratch (16-byte aligned).
 * @param work    N floats scratch for PFFFT (16-byte aligned).
 * @param beta    momentum factor alpha / (1 + alpha).
 * @param mode    0 = iterate, 1 = synthesise the start.
 * @param cOut    0, or T * N floats receiving the projected coefficients c_t (unordered layout).
 * @param dcPos   float offset of DC within a spectrum.
 * @param nyPos   float offset of Nyquist within a spectrum.
 */
export function fglaPass(
  setup: i32, nFft: i32, hop: i32, frames: i32,
  win: usize, invWss: usize, mag: usize, magEdge: usize, prev: usize,
  yOld: usize, yNew: usize, frame: usize, spec: usize, work: usize,
  beta: f32, mode: i32, cOut: usize, dcPos: i32, nyPos: i32,
): void {
  const n = <usize>nFft;
  const blocks = n >> 3;
  const vbeta = f32x4.splat(beta);
  const veps = f32x4.splat(EPS);
  const dcOff = <usize>dcPos << 2;
  const nyOff = <usize>nyPos << 2;
  for (let t: i32 = 0; t < frames; t++) {
    const base = (<usize>t * <usize>hop) << 2;
    const p = prev + ((<usize>t * n) << 2);
    if (mode == 0) {
      analyzeFrame(setup, n, yOld + base, win, frame, spec, work);
      // DC and Nyquist are real: handle them as scalars after the vector loop.
      const rdc = load<f32>(spec + dcOff);
      const rny = load<f32>(spec + nyOff);
      const pdc = load<f32>(p + dcOff);
      const pny = load<f32>(p + nyOff);
      const m = mag + ((<usize>t * (n >> 1)) << 2);
      for (let b: usize = 0; b < blocks; b++) {
        const o = b << 5;
        const rre = v128.load(spec + o);
        const rim = v128.load(spec + o, 16);
        const pre = v128.load(p + o);
        const pim = v128.load(p + o, 16);
        v128.store(p + o, rre);
        v128.store(p + o, rim, 16);
        const are = f32x4.sub(rre, f32x4.mul(vbeta, pre));
        const aim = f32x4.sub(rim, f32x4.mul(vbeta, pim));
        storeProjected(spec + o, are, aim, v128.load(m + (b << 4)), veps);
      }
      storeProjectedEdges(spec, dcOff, nyOff, magEdge + ((<usize>t * 2) << 2), rdc - beta * pdc, rny - beta * pny);
    } else {
      memory.copy(spec, p, n << 2);
    }
    synthesizeFrame(setup, n, t, hop, win, invWss, yOld, yNew, frame, spec, work, cOut);
  }
  finishPass(n, frames, hop, invWss, yOld, yNew);
}

/**
 * The synthesis half of a pass for frame t, shared by {@link fglaPass} and {@link aglaPass}: spec holds the
 * projected coefficients c_t (unordered layout); copy them to cOut (when not 0), inverse FFT, weighted
 * overlap-add into yNew, then normalise the hop samples no later frame touches and clear yOld there.
 */
@inline
function synthesizeFrame(
  setup: i32, n: usize, t: i32, hop: i32, win: usize, invWss: usize,
  yOld: usize, yNew: usize, frame: usize, spec: usize, work: usize, cOut: usize,
): void {
  const base = (<usize>t * <usize>hop) << 2;
  if (cOut != 0) memory.copy(cOut + ((<usize>t * n) << 2), spec, n << 2);
  pffftTransform(setup, spec, frame, work, 1);
  // Weighted overlap-add.
  const dst = yNew + base;
  for (let j: usize = 0; j < n << 2; j += 16) {
    v128.store(dst + j, f32x4.add(v128.load(dst + j), f32x4.mul(v128.load(frame + j), v128.load(win + j))));
  }
  // Samples [base, base + hop) are final: normalise them and clear yOld there.
  finalize(yNew + base, yOld + base, invWss + base, <usize>hop);
}

/** The tail of a pass: normalise the samples after the last frame's first hop samples, clear yOld there. */
@inline
function finishPass(n: usize, frames: i32, hop: i32, invWss: usize, yOld: usize, yNew: usize): void {
  const done = (<usize>frames * <usize>hop) << 2;
  finalize(yNew + done, yOld + done, invWss + done, n - <usize>hop);
}

/** The analysis half of a pass for one frame: spec = FFT(win * src) (unordered layout). */
@inline
function analyzeFrame(setup: i32, n: usize, src: usize, win: usize, frame: usize, spec: usize, work: usize): void {
  for (let j: usize = 0; j < n << 2; j += 16) {
    v128.store(frame + j, f32x4.mul(v128.load(src + j), v128.load(win + j)));
  }
  pffftTransform(setup, frame, spec, work, 0);
}

/** The magnitude projection of 4 bins: dst's block gets m * (re, im) / (|(re, im)| + EPS). */
@inline
function storeProjected(dst: usize, re: v128, im: v128, m: v128, veps: v128): void {
  const abs = f32x4.sqrt(f32x4.add(f32x4.mul(re, re), f32x4.mul(im, im)));
  const s = f32x4.div(m, f32x4.add(abs, veps));
  v128.store(dst, f32x4.mul(re, s));
  v128.store(dst, f32x4.mul(im, s), 16);
}

/** The magnitude projection of the real DC and Nyquist values dc and ny (target magnitudes at e, e + 4). */
@inline
function storeProjectedEdges(spec: usize, dcOff: usize, nyOff: usize, e: usize, dc: f32, ny: f32): void {
  store<f32>(spec + dcOff, load<f32>(e) * dc / (Mathf.abs(dc) + EPS));
  store<f32>(spec + nyOff, load<f32>(e, 4) * ny / (Mathf.abs(ny) + EPS));
}

/**
 * One pass of the accelerated Griffin-Lim algorithm (AGLA: R. Nenov, D.-K. Nguyen, P. Balazs,
 * "Faster than fast: accelerating the Griffin-Lim algorithm", ICASSP 2023; and "Accelerated
 * Griffin-Lim algorithm: a fast and provably converging numerical method for phase retrieval",
 * arXiv:2306.12504), fused frame by frame like {@link fglaPass}. For each frame t:
 *
 *   y_t    = FFT(win * yOld[t*hop : t*hop + N])        (P_C1 P_C2 c of the previous pass)
 *   t_t    = (1 - gamma) * d_t + gamma * y_t
 *   c_t    = t_t + alpha * (t_t - tOld_t)
 *   d_t    = t_t + beta  * (t_t - tOld_t)
 *   tOld_t = t_t
 *   c_t    = mag_t * c_t / (|c_t| + EPS)               (magnitude projection P_C2)
 *   then the synthesis of {@link fglaPass}.
 *
 * With gamma = 1 this is Fast Griffin-Lim with momentum alpha. AGLA's first iteration (t = d = c = y)
 * is an {@link fglaPass} from prev = 0, after which the caller copies prev (= t) to d. The arguments
 * are those of {@link fglaPass} except: tOld and d, T * N floats each (the previous t and d,
 * unordered layout), and alpha, beta and gamma.
 */
export function aglaPass(
  setup: i32, nFft: i32, hop: i32, frames: i32,
  win: usize, invWss: usize, mag: usize, magEdge: usize, tOld: usize, d: usize,
  yOld: usize, yNew: usize, frame: usize, spec: usize, work: usize,
  alpha: f32, beta: f32, gamma: f32, cOut: usize, dcPos: i32, nyPos: i32,
): void {
  const n = <usize>nFft;
  const blocks = n >> 3;
  const va = f32x4.splat(alpha);
  const vb = f32x4.splat(beta);
  const vg = f32x4.splat(gamma);
  const vg1 = f32x4.splat(<f32>1 - gamma);
  const veps = f32x4.splat(EPS);
  const dcOff = <usize>dcPos << 2;
  const nyOff = <usize>nyPos << 2;
  for (let t: i32 = 0; t < frames; t++) {
    const base = (<usize>t * <usize>hop) << 2;
    const pt = tOld + ((<usize>t * n) << 2);
    const pd = d + ((<usize>t * n) << 2);
    analyzeFrame(setup, n, yOld + base, win, frame, spec, work);
    // DC and Nyquist are real: handle them as scalars after the vector loop.
    const ydc = load<f32>(spec + dcOff);
    const yny = load<f32>(spec + nyOff);
    const tdc0 = load<f32>(pt + dcOff);
    const tny0 = load<f32>(pt + nyOff);
    const ddc = load<f32>(pd + dcOff);
    const dny = load<f32>(pd + nyOff);
    const m = mag + ((<usize>t * (n >> 1)) << 2);
    for (let b: usize = 0; b < blocks; b++) {
      const o = b << 5;
      const tre = f32x4.add(f32x4.mul(vg1, v128.load(pd + o)), f32x4.mul(vg, v128.load(spec + o)));
      const tim = f32x4.add(f32x4.mul(vg1, v128.load(pd + o, 16)), f32x4.mul(vg, v128.load(spec + o, 16)));
      const gre = f32x4.sub(tre, v128.load(pt + o));
      const gim = f32x4.sub(tim, v128.load(pt + o, 16));
      v128.store(pt + o, tre);
      v128.store(pt + o, tim, 16);
      v128.store(pd + o, f32x4.add(tre, f32x4.mul(vb, gre)));
      v128.store(pd + o, f32x4.add(tim, f32x4.mul(vb, gim)), 16);
      storeProjected(spec + o, f32x4.add(tre, f32x4.mul(va, gre)), f32x4.add(tim, f32x4.mul(va, gim)), v128.load(m + (b << 4)), veps);
    }
    const tdc = (<f32>1 - gamma) * ddc + gamma * ydc;
    const tny = (<f32>1 - gamma) * dny + gamma * yny;
    store<f32>(pt + dcOff, tdc);
    store<f32>(pt + nyOff, tny);
    store<f32>(pd + dcOff, tdc + beta * (tdc - tdc0));
    store<f32>(pd + nyOff, tny + beta * (tny - tny0));
    storeProjectedEdges(spec, dcOff, nyOff, magEdge + ((<usize>t * 2) << 2), tdc + alpha * (tdc - tdc0), tny + alpha * (tny - tny0));
    synthesizeFrame(setup, n, t, hop, win, invWss, yOld, yNew, frame, spec, work, cOut);
  }
  finishPass(n, frames, hop, invWss, yOld, yNew);
}

/** y[i] *= w[i]; z[i] = 0 for i < count (floats). */
function finalize(y: usize, z: usize, w: usize, count: usize): void {
  const bytes = count << 2;
  const vec = bytes & ~(<usize>15);
  const zero = f32x4.splat(0);
  for (let j: usize = 0; j < vec; j += 16) {
    v128.store(y + j, f32x4.mul(v128.load(y + j), v128.load(w + j)));
    v128.store(z + j, zero);
  }
  for (let j: usize = vec; j < bytes; j += 4) {
    store<f32>(y + j, load<f32>(y + j) * load<f32>(w + j));
    store<f32>(z + j, 0);
  }
}

/** PFFFT's pffft_zreorder(setup, input, output, direction): direction 1 = ordered -> unordered. */
declare function pffftZreorder(setup: i32, input: usize, output: usize, direction: i32): void;

/**
 * Lay out the start of Fast Griffin-Lim for {@link fglaPass}: for every frame t,
 *   prev_t  = the starting coefficients S_t * z_t / |z_t| (S_t where z_t = 0) in PFFFT's
 *             unordered layout, z = zRe + i zIm; DC and Nyquist keep only the real part
 *             (a real signal has no other),
 *   mag_t   = S_t arranged like the real lanes of that layout (N/2 floats),
 *   magEdge = S_t[0], S_t[N/2].
 *
 * @param setup   PFFFT real setup of size nFft.
 * @param nFft    FFT size N.
 * @param frames  Number of frames T.
 * @param mags    T * (N/2 + 1) floats: target magnitudes, frame-major, ordered bins.
 * @param zRe     T * (N/2 + 1) floats: real part of the starting phase source.
 * @param zIm     T * (N/2 + 1) floats: imaginary part of the starting phase source.
 * @param prev    T * N floats (output).
 * @param mag     T * N/2 floats (output).
 * @param magEdge T * 2 floats (output).
 * @param scratch  N floats scratch (16-byte aligned).
 * @param scratch2 N floats scratch (16-byte aligned).
 */
export function fglaStart(
  setup: i32, nFft: i32, frames: i32, mags: usize, zRe: usize, zIm: usize,
  prev: usize, mag: usize, magEdge: usize, scratch: usize, scratch2: usize,
): void {
  const n = <usize>nFft;
  const half = n >> 1;
  const bins = half + 1;
  for (let t: i32 = 0; t < frames; t++) {
    const row = (<usize>t * bins) << 2;
    const s = mags + row;
    const pr = zRe + row;
    const pi = zIm + row;
    const s0 = load<f32>(s);
    const sh = load<f32>(s + (half << 2));
    store<f32>(scratch, s0 * unitRe(load<f32>(pr), load<f32>(pi)));
    store<f32>(scratch, sh * unitRe(load<f32>(pr + (half << 2)), load<f32>(pi + (half << 2))), 4);
    for (let k: usize = 1; k < half; k++) {
      const sk = load<f32>(s + (k << 2));
      const a = load<f32>(pr + (k << 2));
      const b = load<f32>(pi + (k << 2));
      const r = Mathf.sqrt(a * a + b * b);
      if (r > 0) {
        store<f32>(scratch + (k << 3), sk * (a / r));
        store<f32>(scratch + (k << 3), sk * (b / r), 4);
      } else {
        store<f32>(scratch + (k << 3), sk);
        store<f32>(scratch + (k << 3), 0, 4);
      }
    }
    pffftZreorder(setup, scratch, prev + ((<usize>t * n) << 2), 1);
    store<f32>(scratch, 0);
    store<f32>(scratch, 0, 4);
    for (let k: usize = 1; k < half; k++) {
      const sk = load<f32>(s + (k << 2));
      store<f32>(scratch + (k << 3), sk);
      store<f32>(scratch + (k << 3), sk, 4);
    }
    pffftZreorder(setup, scratch, scratch2, 1);
    const m = mag + ((<usize>t * half) << 2);
    for (let b: usize = 0; b < (n >> 3); b++) v128.store(m + (b << 4), v128.load(scratch2 + (b << 5)));
    store<f32>(magEdge + ((<usize>t * 2) << 2), s0);
    store<f32>(magEdge + ((<usize>t * 2) << 2), sh, 4);
  }
}

/** Real part of z / |z| (1 for z = 0). */
function unitRe(a: f32, b: f32): f32 {
  const r = Mathf.sqrt(a * a + b * b);
  return r > 0 ? a / r : 1;
}

/**
 * Uniform random unit phasors: for i < count, with u the next output of
 * xoshiro128** 1.1 (Blackman & Vigna) started from state (s0, s1, s2, s3),
 * phase = 2 pi u / 2^32, re[i] = cos(phase), im[i] = sin(phase).
 * Evaluated as table[u >> 20] rotated by the remaining angle d < 2 pi / 4096
 * with cos d = 1 - d^2/2 + d^4/24, sin d = d - d^3/6 (error < 1e-13).
 * Identical to src/dsp/rng.ts's createRng stream, so results match
 * `2 * Math.PI * rng()` to float32 precision.
 *
 * @param state 4 u32: the generator state, read on entry and written back on return
 *              (so consecutive calls continue one stream).
 * @param table 8192 f64: cos(2 pi j / 4096) for j < 4096, then sin(2 pi j / 4096).
 */
export function randomPhasors(state: usize, count: i32, re: usize, im: usize, table: usize): void {
  let s0 = load<u32>(state);
  let s1 = load<u32>(state, 4);
  let s2 = load<u32>(state, 8);
  let s3 = load<u32>(state, 12);
  const step: f64 = (2 * Math.PI) / 4294967296.0;
  for (let i: i32 = 0; i < count; i++) {
    const u = rotl(s1 * 5, 7) * 9;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    const j = <usize>(u >>> 20);
    const d = <f64>(u & 0xfffff) * step;
    const d2 = d * d;
    const cd = 1 - d2 * (0.5 - d2 / 24);
    const sd = d * (1 - d2 / 6);
    const c = load<f64>(table + (j << 3));
    const s = load<f64>(table + ((j + 4096) << 3));
    store<f32>(re + (<usize>i << 2), <f32>(c * cd - s * sd));
    store<f32>(im + (<usize>i << 2), <f32>(s * cd + c * sd));
  }
  store<u32>(state, s0);
  store<u32>(state, s1, 4);
  store<u32>(state, s2, 8);
  store<u32>(state, s3, 12);
}
