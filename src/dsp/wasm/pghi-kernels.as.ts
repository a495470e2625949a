// @ts-nocheck -- AssemblyScript source, not TypeScript.
// Compiled by `npm run build:wasm` (scripts/build-wasm.ts) to pghi-kernels.wasm, which
// src/dsp/pghi.ts loads through src/dsp/wasm/pghi-kernels.ts.
//
// Phase Gradient Heap Integration (Průša, Balazs, Søndergaard, IEEE/ACM TASLP
// 25(5), 2017) for the centred STFT of src/dsp/stft.ts, followed by its
// least-squares inverse STFT (Griffin & Lim 1984), on PFFFT's linear memory
// ("env"."memory"): the module calls PFFFT's `pffft_transform_ordered` export
// directly, so the phases, the spectra and the signal never leave that memory.
// All pointers are byte offsets into it.
//
// The passes are those of the JavaScript implementation in src/dsp/pghi.ts
// (see its documentation for the method, the layout of the working state and
// the measurements behind every choice) and compute bit for bit the same
// result: the same float64 expressions in the same order, rounded to float32
// where the JavaScript stores into a Float32Array, the same queue order.
//
// Working state, one 16-byte slot per coefficient of a grid padded by one
// frame before the first and after the last and one bin below DC and above
// Nyquist; slot p (frame t, bin m: p = (t + 1)(M + 2) + m + 1) at st + 16p:
//   +0  f32 phase step to the next frame
//   +4  f32 phase step to the next bin
//   +8  f32 ln|c| until the derivatives are computed, then the phase (NaN until reached)
//   +12 i32 priority bucket (-1: under the tolerance or padding), then, once queued,
//       the slot index of the next coefficient in the same bucket.

/** PFFFT's pffft_transform_ordered(setup, input, output, work, direction): 1 = backward. */
declare function pffftTransformOrdered(setup: i32, input: usize, output: usize, work: usize, direction: i32): void;

/**
 * JavaScript's Math.log, imported: the same results as pghi.ts (subnormal magnitudes only), and
 * AssemblyScript's own logarithm would bring a data segment (its lookup table) that
 * instantiation would write over PFFFT's memory.
 */
declare function jsLog(x: f64): f64;

/** Taps of the time differentiator (pghi.ts DIFF_1, DIFF_2): Hann-tapered ideal differentiator over ±2 frames, on |c|². */
const DIFF_1: f64 = 0.75;
const DIFF_2: f64 = 0.125;
/** Buckets of the priority queue (a multiple of 32; the same as pghi.ts). */
const QUEUE_BUCKETS: i32 = 4096;
/** Angles in the phasor table (a power of two; the same as pghi.ts). */
const PHASOR_STEPS: i32 = 65536;
const PHASOR_SCALE: f64 = <f64>PHASOR_STEPS / (2 * Math.PI);
const TWO_PI: f64 = 2 * Math.PI;
const INV_TWO_PI: f64 = 1 / (2 * Math.PI);
/** Spacing of the random phases under the tolerance (1024 per turn). */
const RANDOM_PHASE_STEP: f64 = (2 * Math.PI) / 1024;

/**
 * Check every magnitude (finite, ≥ 0) and find the first largest one, with
 * 128-bit SIMD (a running maximum and its index per lane; ties go to the
 * lowest index, as the scalar loop of pghi.ts `logMagnitudes`).
 *
 * @param data T·M f32: magnitudes, frame-major.
 * @param n    T·M.
 * @returns The index of the (first) largest magnitude (0 when all are 0), or
 *          −(i + 1) for the first value i that is negative, NaN or infinite.
 */
export function pghiScan(data: usize, n: i32): i32 {
  const zero = f32x4.splat(0);
  const inf = f32x4.splat(Infinity);
  let vmax = zero;
  let vidx = i32x4.splat(0);
  let idx = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  let bad = i32x4.splat(0);
  const n4 = n & ~3;
  for (let i: i32 = 0; i < n4; i += 4) {
    const v = v128.load(data + (<usize>i << 2));
    bad = v128.or(bad, v128.not(v128.and(f32x4.ge(v, zero), f32x4.ne(v, inf))));
    const gt = f32x4.gt(v, vmax);
    vmax = v128.bitselect(v, vmax, gt);
    vidx = v128.bitselect(idx, vidx, gt);
    idx = i32x4.add(idx, four);
  }
  let firstBad: i32 = v128.any_true(bad) ? 0 : n4;
  for (let i = firstBad; i < n; i++) {
    const v = load<f32>(data + (<usize>i << 2));
    if (!(v >= 0) || v == Infinity) return -(i + 1);
  }
  let maxMag: f32 = 0;
  let argMax: i32 = 0;
  for (let l = 0; l < 4; l++) {
    const v = f32x4.extract_lane(vmax, 0);
    const k = i32x4.extract_lane(vidx, 0);
    if (v > maxMag || (v == maxMag && v > 0 && k < argMax)) {
      maxMag = v;
      argMax = k;
    }
    vmax = v128.shuffle<i32>(vmax, vmax, 1, 2, 3, 0);
    vidx = v128.shuffle<i32>(vidx, vidx, 1, 2, 3, 0);
  }
  for (let i = n4; i < n; i++) {
    const v = load<f32>(data + (<usize>i << 2));
    if (v > maxMag) {
      maxMag = v;
      argMax = i;
    }
  }
  return argMax;
}

/**
 * ln|c| of frame t into its slots (pghi.ts `logMagnitudes`): a logarithm from
 * the float32 exponent and a 4097-entry table of ln(1 + k/4096) with linear
 * interpolation, JavaScript's Math.log for subnormals, −Infinity for 0; the
 * padding bins below DC and above Nyquist mirror bins 1 and M − 2.
 */
// @ts-ignore: decorator
@inline function logRow(data: usize, t: i32, M: i32, st: usize, lnTable: usize): void {
  const src = data + ((<usize>t * <usize>M) << 2);
  const row = st + ((<usize>(t + 1) * <usize>(M + 2) + 1) << 4);
  for (let m: i32 = 0; m < M; m++) {
    const v = load<f32>(src + (<usize>m << 2));
    const b = reinterpret<u32>(v);
    const e = (b >>> 23) & 0xff;
    const o = row + (<usize>m << 4);
    if (e == 0) {
      store<f32>(o, v > 0 ? <f32>jsLog(<f64>v) : <f32>-Infinity, 8);
    } else {
      const k = <usize>((b >>> 11) & 0xfff);
      const lo = load<f64>(lnTable + (k << 3));
      const hi = load<f64>(lnTable + (k << 3), 8);
      store<f32>(o, <f32>((<f64>(<i32>e - 127) * Math.LN2 + lo) + (hi - lo) * <f64>(b & 0x7ff) * (1.0 / 2048)), 8);
    }
  }
  store<f32>(row - 16, load<f32>(row + 16, 8), 8); // below DC: bin 1
  store<f32>(row + (<usize>M << 4), load<f32>(row + (<usize>(M - 2) << 4), 8), 8); // above Nyquist: bin M - 2
}

/**
 * Log-magnitudes, phase steps, queue buckets and starting phases in one pass
 * over the frames (pghi.ts `logMagnitudes` and `derivativesAndStart`, whose
 * documentation gives the formulas): frame t + 1's logarithms are taken just
 * before frame t's steps, which read them, and frame t − 1's slots get their
 * starting phase just after, so only three frames of slots are live at a time.
 *
 * @param st        working state, (T + 2)(M + 2) slots (see the header).
 * @param data      T * M f32: magnitudes, checked by {@link pghiScan}.
 * @param lnTable   4097 f64: ln(1 + k/4096).
 * @param advance   M f64 scratch: per bin, the frame advance 2π·(a·m mod N)/N.
 * @param threshold tolerance · max|c|.
 * @param logThr    ln(threshold).
 * @param F         log floor, ln(threshold) − ln(1000) (computed by the caller, with the same libm as pghi.ts).
 * @param magFloor  the same floor as a magnitude, threshold / 1000 (for the power differences of the time derivative).
 * @param qScale    (QUEUE_BUCKETS − 1) / max(1e-12, ln(max|c|) − logThr).
 * @param cT        a·N/λ.
 * @param cF        −λ/(a·N).
 * @param twoPiOverN 2π/N.
 * @param r0        xorshift32 state (odd), the first draw of the seeded generator.
 * @param power     1: the time derivative from power differences over ±2 frames (pghi.ts `timeDerivative: 'power'`), 0: log centred.
 * @returns The number of coefficients at or above the threshold.
 */
export function pghiPrepare(
  st: usize, data: usize, lnTable: usize, T: i32, M: i32, advance: usize,
  threshold: f64, logThr: f64, F: f64, magFloor: f64, qScale: f64, cT: f64, cF: f64, twoPiOverN: f64, N: i32, a: i32, r0: i32,
  power: i32,
): i32 {
  for (let m: i32 = 0; m < M; m++) store<f64>(advance + (<usize>m << 3), twoPiOverN * <f64>((a * m) % N));
  const W16 = <usize>(M + 2) << 4;
  const top: i32 = QUEUE_BUCKETS - 1;
  const hT: f64 = cT / 2;
  let r: u32 = <u32>r0;
  let remaining: i32 = 0;
  for (let o: usize = st; o < st + W16; o += 16) {
    store<f32>(o, 0, 8);
    store<i32>(o, -1, 12);
  }
  for (let o: usize = st + <usize>(T + 1) * W16, end = st + <usize>(T + 2) * W16; o < end; o += 16) {
    store<f32>(o, 0, 8);
    store<i32>(o, -1, 12);
  }
  if (T > 0) logRow(data, 0, M, st, lnTable);
  for (let t: i32 = 0; t <= T; t++) {
    if (t < T) {
      if (t + 1 < T) logRow(data, t + 1, M, st, lnTable);
      const row = st + <usize>(t + 1) * W16 + 16;
      // time derivative: power differences over ±2 frames inside, ±1 next to the edges, log one-sided at the edges
      const reach: i32 = T == 1 ? 0 : t == 0 || t == T - 1 || power == 0 ? 1 : t == 1 || t == T - 2 ? 2 : 3;
      const up: usize = reach == 0 || t == T - 1 ? 0 : W16;
      const down: usize = reach == 0 || t == 0 ? 0 : W16;
      const f: f64 = up != 0 && down != 0 ? cF / 2 : cF;
      const src = data + ((<usize>t * <usize>M) << 2);
      const rowBytes = <usize>M << 2;
      for (let m: i32 = 0; m < M; m++) {
        const o = row + (<usize>m << 4);
        const pv = src + (<usize>m << 2);
        const v: f64 = <f64>load<f32>(pv);
        if (v >= threshold) {
          let x: f64 = <f64>load<f32>(o - 16, 8);
          const s0 = x > F ? x : F;
          x = <f64>load<f32>(o + 16, 8);
          const s1 = x > F ? x : F;
          store<f32>(o, <f32>(load<f64>(advance + (<usize>m << 3)) + hT * (s1 - s0)));
          if (reach >= 2) {
            let y: f64 = <f64>load<f32>(pv + rowBytes);
            const p1 = y > magFloor ? y : magFloor;
            y = <f64>load<f32>(pv - rowBytes);
            const m1 = y > magFloor ? y : magFloor;
            let d: f64 = p1 * p1 - m1 * m1;
            if (reach == 3) {
              y = <f64>load<f32>(pv + 2 * rowBytes);
              const p2 = y > magFloor ? y : magFloor;
              y = <f64>load<f32>(pv - 2 * rowBytes);
              const m2 = y > magFloor ? y : magFloor;
              d = DIFF_1 * d - DIFF_2 * (p2 * p2 - m2 * m2);
            } else d = 0.5 * d;
            store<f32>(o, <f32>(cF * (d / (2 * v * v))), 4);
          } else {
            x = <f64>load<f32>(o + up, 8);
            const su = x > F ? x : F;
            x = <f64>load<f32>(o - down, 8);
            const sd = x > F ? x : F;
            store<f32>(o, <f32>(f * (su - sd)), 4);
          }
          const q: f64 = (<f64>load<f32>(o, 8) - logThr) * qScale;
          store<i32>(o, q < 1 ? 0 : q >= <f64>top ? top : <i32>q, 12);
          remaining++;
        } else store<i32>(o, -1, 12);
      }
    }
    if (t > 0) {
      // frame t - 1: its log-magnitudes are no longer needed
      const row = st + <usize>t * W16;
      store<f32>(row, 0, 8);
      store<i32>(row, -1, 12);
      store<f32>(row + (<usize>(M + 1) << 4), 0, 8);
      store<i32>(row + (<usize>(M + 1) << 4), -1, 12);
      for (let m: i32 = 0; m < M; m++) {
        const o = row + 16 + (<usize>m << 4);
        if (load<i32>(o, 12) < 0) {
          r ^= r << 13;
          r ^= r >>> 17;
          r ^= r << 5;
          store<f32>(o, <f32>(<f64>(r >>> 22) * RANDOM_PHASE_STEP), 8);
        } else store<f32>(o, NaN, 8);
      }
    }
  }
  return remaining;
}

/**
 * Heap integration (Průša et al. 2017, Algorithm 1) with the bucket queue of
 * pghi.ts `integrate`: same seeds, same pop order, same phases.
 *
 * @param st        working state from {@link pghiPrepare}.
 * @param remaining number of coefficients at or above the threshold.
 * @param firstSeed slot index of the largest coefficient.
 * @param head      QUEUE_BUCKETS i32 scratch (bucket list heads).
 * @param bits      QUEUE_BUCKETS / 32 i32 scratch (non-empty bucket bitmap).
 * @param counts    QUEUE_BUCKETS + 1 i32 scratch (counting sort of later seeds).
 * @param order     `remaining` i32 scratch (later seeds in descending order).
 */
export function pghiIntegrate(
  st: usize, T: i32, M: i32, remaining: i32, firstSeed: i32, head: usize, bits: usize, counts: usize, order: usize,
): void {
  memory.fill(head, 0xff, <usize>QUEUE_BUCKETS << 2);
  memory.fill(bits, 0, <usize>QUEUE_BUCKETS >> 3);
  const dt = <usize>(M + 2) << 4;
  let topWord: i32 = 0;
  let queued: i32 = 0;
  let haveOrder = false;
  let orderPos: usize = order;
  while (remaining > 0) {
    let seed = firstSeed;
    if (seed < 0) {
      if (!haveOrder) {
        descendingOrder(st, T, M, counts, order);
        haveOrder = true;
      }
      while (true) {
        const ph = load<f32>(st + (<usize>load<i32>(orderPos) << 4), 8);
        if (ph != ph) break;
        orderPos += 4;
      }
      seed = load<i32>(orderPos);
    }
    firstSeed = -1;
    {
      const o = st + (<usize>seed << 4);
      store<f32>(o, 0, 8);
      const b = load<i32>(o, 12);
      store<i32>(o, -1, 12);
      store<i32>(head + (<usize>b << 2), seed);
      store<i32>(bits + (<usize>(b >> 5) << 2), load<i32>(bits + (<usize>(b >> 5) << 2)) | (1 << (b & 31)));
      topWord = b >> 5;
      queued = 1;
    }
    let popped: i32 = 0;
    while (queued > 0) {
      while (load<i32>(bits + (<usize>topWord << 2)) == 0) topWord--;
      const wp = bits + (<usize>topWord << 2);
      const word = load<i32>(wp);
      const bi = (topWord << 5) + 31 - clz<i32>(word);
      const hp = head + (<usize>bi << 2);
      const o = st + (<usize>load<i32>(hp) << 4);
      const nx = load<i32>(o, 12);
      store<i32>(hp, nx);
      if (nx < 0) store<i32>(wp, word & ~(1 << (bi & 31)));
      queued--;
      popped++;

      const ph = <f64>load<f32>(o, 8);
      const dT = <f64>load<f32>(o);
      const dF = <f64>load<f32>(o, 4);
      let oj = o + dt; // next frame
      let pj = load<f32>(oj, 8);
      if (pj != pj) {
        topWord = reach(oj, ph + 0.5 * (dT + <f64>load<f32>(oj)), st, head, bits, topWord);
        queued++;
      }
      oj = o - dt; // previous frame
      pj = load<f32>(oj, 8);
      if (pj != pj) {
        topWord = reach(oj, ph - 0.5 * (dT + <f64>load<f32>(oj)), st, head, bits, topWord);
        queued++;
      }
      oj = o + 16; // next bin
      pj = load<f32>(oj, 8);
      if (pj != pj) {
        topWord = reach(oj, ph + 0.5 * (dF + <f64>load<f32>(oj, 4)), st, head, bits, topWord);
        queued++;
      }
      oj = o - 16; // previous bin
      pj = load<f32>(oj, 8);
      if (pj != pj) {
        topWord = reach(oj, ph - 0.5 * (dF + <f64>load<f32>(oj, 4)), st, head, bits, topWord);
        queued++;
      }
    }
    remaining -= popped;
  }
}

/** Give slot `o` the phase `q` wrapped to [−π, π] and push it on its bucket; returns the new top word. */
// @ts-ignore: decorator
@inline function reach(o: usize, q: f64, st: usize, head: usize, bits: usize, topWord: i32): i32 {
  store<f32>(o, <f32>(q - TWO_PI * Math.round(q * INV_TWO_PI)), 8);
  const b = load<i32>(o, 12);
  const hp = head + (<usize>b << 2);
  store<i32>(o, load<i32>(hp), 12);
  store<i32>(hp, <i32>((o - st) >> 4));
  const w = b >> 5;
  const wp = bits + (<usize>w << 2);
  store<i32>(wp, load<i32>(wp) | (1 << (b & 31)));
  return w > topWord ? w : topWord;
}

/**
 * Slot indices of the coefficients not yet reached, by descending bucket and
 * ascending slot within a bucket (pghi.ts `descendingOrder`, a counting sort).
 */
function descendingOrder(st: usize, T: i32, M: i32, counts: usize, order: usize): void {
  const NB = QUEUE_BUCKETS;
  memory.fill(counts, 0, <usize>(NB + 1) << 2);
  const lo = M + 2;
  const hi = (T + 1) * (M + 2);
  for (let p = lo; p < hi; p++) {
    const o = st + (<usize>p << 4);
    const ph = load<f32>(o, 8);
    if (ph == ph) continue;
    const c = counts + (<usize>(NB - load<i32>(o, 12)) << 2);
    store<i32>(c, load<i32>(c) + 1);
  }
  for (let b = 0; b < NB; b++) {
    const c = counts + (<usize>b << 2);
    store<i32>(c, load<i32>(c, 4) + load<i32>(c), 4);
  }
  for (let p = lo; p < hi; p++) {
    const o = st + (<usize>p << 4);
    const ph = load<f32>(o, 8);
    if (ph == ph) continue;
    const c = counts + (<usize>(NB - 1 - load<i32>(o, 12)) << 2);
    const k = load<i32>(c);
    store<i32>(c, k + 1);
    store<i32>(order + (<usize>k << 2), p);
  }
}

/** Byte offset in the phasor table of the nearest angle to `phase` plus half a turn for odd bins (pghi.ts `phasorIndex`). */
// @ts-ignore: decorator
@inline function phasorOffset(phase: f32, m: i32): usize {
  const x = <f64>phase * PHASOR_SCALE + <f64>((m & 1) * (PHASOR_STEPS >> 1)) + (<f64>(4 * PHASOR_STEPS) + 0.5);
  return <usize>(<i32>x & (PHASOR_STEPS - 1)) << 3;
}

/**
 * `re + i·im = (−1)^m · |c| · e^{i·phase}` for frames [t0, t0 + frames), written
 * frame-major from `re` and `im` (pghi.ts `polarToCartesian`).
 *
 * @param phasors PHASOR_STEPS interleaved f32 pairs cos, sin of 2πk/PHASOR_STEPS.
 */
export function pghiCartesian(st: usize, data: usize, t0: i32, frames: i32, M: i32, phasors: usize, re: usize, im: usize): void {
  const W16 = <usize>(M + 2) << 4;
  for (let t: i32 = 0; t < frames; t++) {
    const src = data + ((<usize>(t0 + t) * <usize>M) << 2);
    const row = st + <usize>(t0 + t + 1) * W16 + 16;
    const dst = <usize>t * <usize>M << 2;
    for (let m: i32 = 0; m < M; m++) {
      const k = phasors + phasorOffset(load<f32>(row + (<usize>m << 4), 8), m);
      const v = load<f32>(src + (<usize>m << 2));
      store<f32>(re + dst + (<usize>m << 2), v * load<f32>(k));
      store<f32>(im + dst + (<usize>m << 2), v * load<f32>(k, 4));
    }
  }
}

/**
 * Inverse STFT of the coefficients `(−1)^m |c| e^{i·phase}` (stft.ts `istft`, bit for bit):
 * per frame the phasors go straight into PFFFT's ordered buffer, then the
 * unscaled inverse FFT, weighted overlap-add in float64, and at the end the
 * division by the window sum of squares (0 where it is ≤ 1e-8).
 *
 * @param setup   PFFFT real setup of size N.
 * @param ws      N f32: synthesis window w[j]/N.
 * @param win     N f32: analysis window w[j] (for the window sum of squares).
 * @param buf     N f32 scratch (16-byte aligned): the frame.
 * @param work    N f32 scratch for PFFFT.
 * @param period  hop f64 scratch: the window sum of squares where every covering frame exists.
 * @param ola     (T − 1)·hop + N f64: overlap-add buffer; on return its first `count`
 *                f32 (at the same address) hold the signal, count = min(length, (T − 1)·hop + N/2).
 */
export function pghiSynthesize(
  setup: i32, N: i32, hop: i32, T: i32, M: i32, st: usize, data: usize, phasors: usize,
  ws: usize, win: usize, buf: usize, work: usize, period: usize, ola: usize, length: i32,
): void {
  const half = N >> 1;
  const len = (T - 1) * hop + N;
  memory.fill(ola, 0, <usize>len << 3);
  const W16 = <usize>(M + 2) << 4;
  const last = M - 1;
  const n4 = <usize>N << 2;
  for (let t: i32 = 0; t < T; t++) {
    const row = st + <usize>(t + 1) * W16 + 16;
    const src = data + ((<usize>t * <usize>M) << 2);
    store<f32>(buf, load<f32>(src) * load<f32>(phasors + phasorOffset(load<f32>(row, 8), 0)));
    store<f32>(buf, load<f32>(src + (<usize>last << 2)) * load<f32>(phasors + phasorOffset(load<f32>(row + (<usize>last << 4), 8), last)), 4);
    for (let m: i32 = 1; m < last; m++) {
      const k = phasors + phasorOffset(load<f32>(row + (<usize>m << 4), 8), m);
      const v = load<f32>(src + (<usize>m << 2));
      store<f32>(buf + (<usize>m << 3), v * load<f32>(k));
      store<f32>(buf + (<usize>m << 3), v * load<f32>(k, 4), 4);
    }
    pffftTransformOrdered(setup, buf, buf, work, 1);
    const dst = ola + ((<usize>t * <usize>hop) << 3);
    for (let j: usize = 0; j < n4; j += 8) {
      // two products of float32 values, exact in float64, added in float64 (as the JavaScript)
      const x = f64x2.promote_low_f32x4(v128.load64_zero(buf + j));
      const w = f64x2.promote_low_f32x4(v128.load64_zero(ws + j));
      const d = dst + (j << 1);
      v128.store(d, f64x2.add(v128.load(d), f64x2.mul(x, w)));
    }
  }
  // sum_t w²[i − t·hop], t ascending, as stft.ts windowSumSquare; periodic in i where every frame exists
  const lo = N - 1;
  const hi = (T - 1) * hop;
  for (let r: i32 = 0; r < hop; r++) store<f64>(period + (<usize>r << 3), wssAt(lo + r, N, hop, T, win));
  const count = min(length, len - half);
  let i: i32 = 0;
  for (; i < count && i + half < lo; i++) normalise(ola, i, half, wssAt(i + half, N, hop, T, win));
  let r = i < count ? (i + half - lo) % hop : 0;
  for (; i < count && i + half <= hi; i++) {
    normalise(ola, i, half, load<f64>(period + (<usize>r << 3)));
    if (++r == hop) r = 0;
  }
  for (; i < count; i++) normalise(ola, i, half, wssAt(i + half, N, hop, T, win));
}

/** Signal sample i = ola[i + half] / d (0 where d ≤ 1e-8), written as f32 over the start of `ola` (it trails the reads). */
// @ts-ignore: decorator
@inline function normalise(ola: usize, i: i32, half: i32, d: f64): void {
  store<f32>(ola + (<usize>i << 2), d > 1e-8 ? <f32>(load<f64>(ola + (<usize>(i + half) << 3)) / d) : 0);
}

/** sum over the frames t (ascending) with 0 ≤ i − t·hop < N and 0 ≤ t < T of w²[i − t·hop], in float64. */
function wssAt(i: i32, N: i32, hop: i32, T: i32, win: usize): f64 {
  let s: f64 = 0;
  const t1 = min(T - 1, i / hop);
  let t = i - N + 1 > 0 ? (i - N + hop) / hop : 0; // ceil((i − N + 1)/hop), at least 0
  for (; t <= t1; t++) {
    const v = <f64>load<f32>(win + (<usize>(i - t * hop) << 2));
    s += v * v;
  }
  return s;
}
