// @ts-nocheck -- AssemblyScript source (v128/f32x4 intrinsics), not TypeScript.
// Compiled by `npm run build:wasm` (scripts/build-wasm.ts) to adam.wasm, which
// src/engine/adam-kernel.ts instantiates on the linear memory of
// @tensorflow/tfjs-backend-wasm ("env"."memory"), so the Adam update of a
// variable runs in one pass over the tensors where tfjs keeps them. All
// pointers are byte offsets into that memory (tfjs's `memoryOffset`s, 16-byte
// aligned by its allocator; unaligned is also fine, only slower).

/**
 * One Adam step, in place, on `n` float32 values (D. P. Kingma, J. Ba, "Adam:
 * A Method for Stochastic Optimization", ICLR 2015, Algorithm 1, with the bias
 * correction folded into the step size as Keras does):
 *
 *   m ← m·b1 + g·c1
 *   v ← v·b2 + (g·g)·c2
 *   w ← w − (m / (√v + eps))·alpha
 *
 * Every product, sum, quotient and square root is one IEEE float32 operation in
 * exactly this order (no fused multiply-add), which is also what the op-by-op
 * TensorFlow.js formulation in vae.ts computes with float32 scalars, so both give
 * the same bits.
 *
 * @param w, m, v  Byte pointers of the weight and its first and second moments (updated in place).
 * @param g        Byte pointer of the gradient (read only).
 * @param n        Number of values.
 * @param alpha    Step size lr·√(1 − b2^t)/(1 − b1^t), rounded to float32 by the caller.
 * @param b1, c1   First-moment decay and 1 − b1 as float32 (0.9, 0.1).
 * @param b2, c2   Second-moment decay and 1 − b2 as float32 (0.999, 0.001).
 * @param eps      Epsilon (Keras: 1e-7).
 */
export function adamStep(
  w: usize, m: usize, v: usize, g: usize, n: i32,
  alpha: f32, b1: f32, c1: f32, b2: f32, c2: f32, eps: f32,
): void {
  const A = f32x4.splat(alpha);
  const B1 = f32x4.splat(b1);
  const C1 = f32x4.splat(c1);
  const B2 = f32x4.splat(b2);
  const C2 = f32x4.splat(c2);
  const E = f32x4.splat(eps);
  const n4 = n & ~3;
  let i: i32 = 0;
  for (; i < n4; i += 4) {
    const o: usize = (<usize>i) << 2;
    const gi = v128.load(g + o);
    const mn = f32x4.add(f32x4.mul(v128.load(m + o), B1), f32x4.mul(gi, C1));
    const vn = f32x4.add(f32x4.mul(v128.load(v + o), B2), f32x4.mul(f32x4.mul(gi, gi), C2));
    v128.store(m + o, mn);
    v128.store(v + o, vn);
    const step = f32x4.mul(f32x4.div(mn, f32x4.add(f32x4.sqrt(vn), E)), A);
    v128.store(w + o, f32x4.sub(v128.load(w + o), step));
  }
  for (; i < n; i++) {
    const o: usize = (<usize>i) << 2;
    const gi = load<f32>(g + o);
    const mn: f32 = load<f32>(m + o) * b1 + gi * c1;
    const vn: f32 = load<f32>(v + o) * b2 + (gi * gi) * c2;
    store<f32>(m + o, mn);
    store<f32>(v + o, vn);
    store<f32>(w + o, load<f32>(w + o) - (mn / (Mathf.sqrt(vn) + eps)) * alpha);
  }
}
