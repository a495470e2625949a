/**
 * Small numeric helpers shared by the tests.
 */

/**
 * Relative RMS error of `est` against the reference `ref`: ‖est − ref‖₂ / ‖ref‖₂ over `ref.length` values.
 * @param est The estimate.
 * @param ref The reference (its norm is the denominator).
 */
export function relErr(est: ArrayLike<number>, ref: ArrayLike<number>): number {
  let e = 0;
  let r = 0;
  for (let i = 0; i < ref.length; i++) {
    e += (est[i] - ref[i]) ** 2;
    r += ref[i] ** 2;
  }
  return Math.sqrt(e / r);
}
