/**
 * Scratch: Griffin-Lim with in-place (Gauss-Seidel) frame updates, as in RTISI (X. Zhu, G. T. Beauregard, L. L. Wyse,
 * "Real-time signal estimation from modified short-time Fourier transform magnitude spectra", IEEE TASLP 2007) and
 * J. Le Roux's in-place consistency updates, against FGLA, both from the PGHI start.
 *   node --import tsx bench/_gs-scratch.ts --dir data/bench --iters 8 --algos "fgla,0.99;gs,0;gs,0.5"
 * A sweep visits the frames in order (`gs`) or alternately forwards and backwards (`gsa`). For frame t it analyses
 * the current signal (1 FFT), projects onto the magnitude (with momentum p on the analysed frames as in FGLA:
 * a - p/(1+p) a_prev), and replaces the frame's contribution to the overlap-add (1 inverse FFT), so later frames of
 * the same sweep already see it. One sweep costs what one GLA iteration costs. `lbfgs,M` is L-BFGS with memory M
 * (see `lbfgs` below). Each entry of `--algos` is `name,param[,iterations]`.
 * Findings (2026-12-06, eighth session) are in BENCHMARKS.md: at most 0.6 dB over FGLA after PGHI + 8; not kept.
 */
import { parseArgs } from './util.ts';
import { scratchTable } from './_scratch-table.ts';
import { stftTransform, DEFAULT_STFT, hannWindow, windowSumSquare } from '../src/dsp/stft.ts';
import { realFFT } from '../src/dsp/fft.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { fgla } from '../src/dsp/fgla.ts';
import type { Coefficients, Magnitudes } from '../src/dsp/types.ts';

const args = parseArgs(process.argv.slice(2)).flags;
const dir = String(args.dir ?? 'data/bench');
const iters = Number(args.iters ?? 8);
const algos = String(args.algos ?? 'fgla,0.99;gs,0').split(';').map((s) => s.split(','));
const cfg = DEFAULT_STFT;
const tr = stftTransform(cfg);

function gs(mag: Magnitudes, init: Coefficients, length: number, sweeps: number, alpha: number, order: string): Float32Array {
  const { nFft: N, hop: H } = cfg;
  const half = N >> 1;
  const B = half + 1;
  const T = mag.frames;
  const S = mag.data;
  const w = hannWindow(N);
  const fft = realFFT(N);
  const Lp = (T - 1) * H + N;
  const wss = windowSumSquare(T, cfg);
  const inv = new Float64Array(Lp); // mask / wss: the signal is zero outside [half, half + length)
  for (let i = half; i < Math.min(Lp, half + length); i++) inv[i] = wss[i] > 1e-8 ? 1 / wss[i] : 0;
  const num = new Float64Array(Lp);
  const frames = new Float32Array(T * N); // each frame's inverse FFT (normalised), times the window
  const spec = new Float32Array(N + 2);
  const seg = new Float32Array(N);
  const out = new Float32Array(N);
  const prevRe = new Float32Array(T * B), prevIm = new Float32Array(T * B);
  const c = { frames: T, bins: B, re: Float32Array.from(init.re), im: Float32Array.from(init.im) };
  const k = alpha / (1 + alpha);
  const synth = (t: number) => {
    const o = t * B;
    for (let b = 0; b < B; b++) { spec[2 * b] = c.re[o + b]; spec[2 * b + 1] = c.im[o + b]; }
    spec[1] = 0; spec[N + 1] = 0;
    fft.inverse(spec, out);
    const f = t * N, s = t * H;
    for (let j = 0; j < N; j++) {
      const v = out[j] * w[j];
      num[s + j] += v - frames[f + j];
      frames[f + j] = v;
    }
  };
  for (let t = 0; t < T; t++) synth(t);
  let first = true;
  for (let it = 0; it < sweeps; it++) {
    const back = order === 'gsa' && it % 2 === 1;
    for (let q = 0; q < T; q++) {
      const t = back ? T - 1 - q : q;
      const s = t * H;
      for (let j = 0; j < N; j++) seg[j] = num[s + j] * inv[s + j] * w[j];
      fft.forward(seg, spec);
      const o = t * B;
      for (let b = 0; b < B; b++) {
        const ar = spec[2 * b], ai = spec[2 * b + 1];
        let xr = ar, xi = ai;
        if (!first) { xr -= k * prevRe[o + b]; xi -= k * prevIm[o + b]; }
        prevRe[o + b] = ar; prevIm[o + b] = ai;
        const m = Math.hypot(xr, xi);
        const sm = S[o + b];
        if (m > 0) { c.re[o + b] = (sm * xr) / m; c.im[o + b] = (sm * xi) / m; } else { c.re[o + b] = sm; c.im[o + b] = 0; }
      }
      synth(t);
    }
    first = false;
  }
  return tr.synthesize(c, length) as Float32Array;
}

/**
 * L-BFGS on f(x) = sum w_k (|STFT x| - S)^2 / 2N in the coordinates u = sqrt(wss) x, where plain gradient descent
 * with step 1 is GLA (the preconditioned gradient is x - synth(P1(analyze x))). `evals` function-and-gradient
 * evaluations, each one STFT and one inverse STFT (the cost of a GLA iteration). The output is the GLA step from the
 * last evaluated point when `polish` (it is free: synth(P1(analyze x)) was computed for the gradient).
 */
function lbfgs(mag: Magnitudes, init: Coefficients, length: number, evals: number, mem: number, polish: boolean): Float32Array {
  const { nFft: N } = cfg;
  const half = N >> 1;
  const S = mag.data;
  const B = mag.bins;
  const wss = windowSumSquare(mag.frames, cfg);
  const L = length;
  const sq = new Float64Array(L);
  for (let n = 0; n < L; n++) sq[n] = Math.sqrt(Math.max(wss[n + half], 1e-8));
  const x0 = tr.synthesize(init, L) as Float32Array;
  let u: Float64Array = new Float64Array(L);
  for (let n = 0; n < L; n++) u[n] = x0[n] * sq[n];
  let count = 0;
  let lastGla: Float32Array = x0;
  const evalAt = (uu: Float64Array): { f: number; g: Float64Array } => {
    count++;
    const x = new Float32Array(L);
    for (let n = 0; n < L; n++) x[n] = uu[n] / sq[n];
    const X = tr.analyze(x);
    const P = { frames: X.frames, bins: B, re: new Float32Array(X.re.length), im: new Float32Array(X.im.length) };
    let f = 0;
    for (let i = 0; i < S.length; i++) {
      const m = Math.hypot(X.re[i], X.im[i]);
      const k = i % B;
      const wgt = k === 0 || k === B - 1 ? 1 : 2;
      f += (wgt * (m - S[i]) ** 2) / (2 * N);
      if (m > 0) { P.re[i] = (S[i] * X.re[i]) / m; P.im[i] = (S[i] * X.im[i]) / m; } else P.re[i] = S[i];
    }
    const y = tr.synthesize(P, L) as Float32Array;
    lastGla = y;
    const g = new Float64Array(L);
    for (let n = 0; n < L; n++) g[n] = (x[n] - y[n]) * sq[n];
    return { f, g };
  };
  const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let n = 0; n < a.length; n++) s += a[n] * b[n]; return s; };
  let { f, g } = evalAt(u);
  const ss: Float64Array[] = [], ys: Float64Array[] = [], rho: number[] = [];
  let bestGla = lastGla, bestF = f;
  while (count < evals) {
    const q = Float64Array.from(g);
    const al: number[] = [];
    for (let i = ss.length - 1; i >= 0; i--) { const a = rho[i] * dot(ss[i], q); al[i] = a; for (let n = 0; n < L; n++) q[n] -= a * ys[i][n]; }
    const gamma = ss.length ? dot(ss[ss.length - 1], ys[ys.length - 1]) / dot(ys[ys.length - 1], ys[ys.length - 1]) : 1;
    for (let n = 0; n < L; n++) q[n] *= gamma;
    for (let i = 0; i < ss.length; i++) { const b = rho[i] * dot(ys[i], q); for (let n = 0; n < L; n++) q[n] += ss[i][n] * (al[i] - b); }
    const gp = -dot(g, q);
    let step = 1;
    let next = evalAt(u.map((v, n) => v - step * q[n]) as Float64Array);
    while (next.f > f + 1e-4 * step * gp && count < evals) { step *= 0.5; next = evalAt(u.map((v, n) => v - step * q[n]) as Float64Array); }
    if (next.f > f) break;
    const un = u.map((v, n) => v - step * q[n]) as Float64Array;
    const s = un.map((v, n) => v - u[n]) as Float64Array;
    const yv = next.g.map((v, n) => v - g[n]) as Float64Array;
    const sy = dot(s, yv);
    if (sy > 0) { ss.push(s); ys.push(yv); rho.push(1 / sy); if (ss.length > mem) { ss.shift(); ys.shift(); rho.shift(); } }
    u = un; f = next.f; g = next.g;
    if (f < bestF) { bestF = f; bestGla = lastGla; }
  }
  if (polish) return bestGla;
  const x = new Float32Array(L);
  for (let n = 0; n < L; n++) x[n] = u[n] / sq[n];
  return x;
}

await scratchTable(
  dir,
  algos.map((a) => a.join('/')),
  (_x, mag) => pghi(mag, cfg),
  (init, j, x, mag) => {
    const [algo, ps, n] = algos[j];
    const its = n ? Number(n) : iters;
    if (algo === 'fgla') return fgla(mag, tr, x.length, { iterations: its, momentum: Number(ps ?? 0.99), init }) as Float32Array;
    if (algo === 'lbfgs' || algo === 'lbfgsx') return lbfgs(mag, init, x.length, its, Number(ps), algo === 'lbfgs');
    return gs(mag, init, x.length, its, Number(ps), algo);
  },
);
