/**
 * Scratch: RAAR (relaxed averaged alternating reflections, D. R. Luke, Inverse Problems 2005; beta 1 is
 * Douglas-Rachford), the projection algorithm from optics that T. Peer, S. Welker, T. Gerkmann ("Beyond Griffin-Lim",
 * IWAENC 2022, arXiv:2205.05496) found better than FGLA for speech after many iterations, from a PGHI start vs FGLA.
 *   node --import tsx bench/_dr-scratch.ts --dir data/bench --iters 8 --algos "fgla,0.99;raar,0.9;raar2,0.9"
 * P_C (consistency) = analyze(synthesize(.)), P_M (magnitude) = S e^{i arg}. Every algorithm costs one synthesis and
 * one analysis per iteration; the output is synthesize(P_M(x)) (`raar,B,1`: one more GLA step at the end).
 * `raar` reflects about the magnitude set first, `raar2` about the consistent set first.
 * Findings (2026-12-06, seventh session) are in BENCHMARKS.md: after PGHI + 8 both are worse than FGLA.
 */
import { parseArgs } from './util.ts';
import { scratchTable } from './_scratch-table.ts';
import { stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { fgla } from '../src/dsp/fgla.ts';
import type { Coefficients, Magnitudes } from '../src/dsp/types.ts';

const args = parseArgs(process.argv.slice(2)).flags;
const dir = String(args.dir ?? 'data/bench');
const iters = Number(args.iters ?? 8);
const algos = String(args.algos ?? 'fgla,0.99;raar,0.9').split(';').map((s) => s.split(','));
const tr = stftTransform(DEFAULT_STFT);

type C = { re: Float32Array; im: Float32Array };
function run(mag: Magnitudes, init: Coefficients, length: number, n: number, algo: string, p: number, q: number): Float32Array {
  const S = mag.data;
  const N = S.length;
  const shape = { frames: mag.frames, bins: mag.bins };
  const pm = (x: C): C => {
    const re = new Float32Array(N), im = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const m = Math.hypot(x.re[i], x.im[i]);
      if (m > 0) { re[i] = (S[i] * x.re[i]) / m; im[i] = (S[i] * x.im[i]) / m; } else re[i] = S[i];
    }
    return { re, im };
  };
  const pc = (x: C): C => { const y = tr.analyze(tr.synthesize({ ...shape, ...x }, length)); return { re: y.re, im: y.im }; };
  const lin = (terms: [number, C][]): C => {
    const re = new Float32Array(N), im = new Float32Array(N);
    for (const [k, c] of terms) for (let i = 0; i < N; i++) { re[i] += k * c.re[i]; im[i] += k * c.im[i]; }
    return { re, im };
  };
  let x: C = { re: Float32Array.from(init.re), im: Float32Array.from(init.im) };
  for (let k = 0; k < n; k++) {
    const m = pm(x);
    if (algo === 'raar') {
      // RAAR (Luke 2005): x+ = beta (x + P_C(2 P_M x - x) - P_M x) + (1 - beta) P_M x
      const c = pc(lin([[2, m], [-1, x]]));
      x = lin([[p, x], [p, c], [-p, m], [1 - p, m]]);
    } else if (algo === 'raar2') {
      // roles swapped: reflect about the consistent set first
      const c = pc(x);
      const m2 = pm(lin([[2, c], [-1, x]]));
      x = lin([[p, x], [p, m2], [-p, c], [1 - p, c]]);
    } else throw new Error(algo);
  }
  const out = pm(x);
  if (q === 1) { // final consistent + magnitude polish: one more GLA step (costs one more pass)
    return tr.synthesize({ ...shape, ...pm(pc(out)) }, length);
  }
  return tr.synthesize({ ...shape, ...out }, length);
}

await scratchTable(
  dir,
  algos.map((a) => a.join('/')),
  (_x, mag) => pghi(mag, DEFAULT_STFT),
  (init, j, x, mag) => {
    const [algo, ps, qs] = algos[j];
    return algo === 'fgla'
      ? (fgla(mag, tr, x.length, { iterations: iters, momentum: Number(ps ?? 0.99), init }) as Float32Array)
      : run(mag, init, x.length, iters, algo, Number(ps), Number(qs ?? 0));
  },
);
