/**
 * Scratch: accelerated Griffin-Lim (Nenov, Nguyen, Balazs 2023) from a PGHI start vs FGLA.
 *   node --import tsx bench/_agla-scratch.ts --dir data/bench --iters 8 --params "0.99,1,1;0.99,1.1,1.2"
 * Each param triple is alpha,beta,gamma; gamma 1 = FGLA with momentum alpha.
 * Options: --init random (an LCG random start instead of PGHI), --transform cqt (DEFAULT_CQT, random start),
 * --out t|d (synthesise the last t or d instead of c), --lambda L (output x_n + L (x_n - x_{n-1})).
 * Findings (2026-12-06) are in BENCHMARKS.md, "Accelerated Griffin-Lim".
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, median } from './util.ts';
import { stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { cqtTransform, DEFAULT_CQT } from '../src/dsp/cqt.ts';
import { pghi } from '../src/dsp/pghi.ts';
import { readAudio } from '../src/io/audio.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import type { Coefficients, Magnitudes } from '../src/dsp/types.ts';

const args = parseArgs(process.argv.slice(2)).flags;
const dir = String(args.dir ?? 'data/bench');
const iters = Number(args.iters ?? 8);
const params = String(args.params ?? '0.99,1,1').split(';').map((s) => s.split(',').map(Number));
const tr = args.transform === 'cqt' ? cqtTransform(DEFAULT_CQT) : stftTransform(DEFAULT_STFT);

function agla(mag: Magnitudes, init: Coefficients, length: number, n: number, a: number, b: number, g: number): Float32Array {
  const S = mag.data;
  const N = S.length;
  const extra = (init as Coefficients).extra;
  const proj = (re: Float32Array, im: Float32Array): Coefficients => {
    const oRe = new Float32Array(N), oIm = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const m = Math.hypot(re[i], im[i]);
      if (m > 0) { oRe[i] = (S[i] * re[i]) / m; oIm[i] = (S[i] * im[i]) / m; } else oRe[i] = S[i];
    }
    return { frames: mag.frames, bins: mag.bins, re: oRe, im: oIm, extra: lastExtra ?? extra };
  };
  let lastExtra: unknown = undefined;
  let prevSig: Float32Array | null = null;
  const c = proj(init.re, init.im);
  // t0 = d0 = P_C1(c0); the first loop pass then repeats this projection (t = d = c = y), so n loop passes
  // compute what fgla(…, { iterations: n, acceleration }) computes with one analysis less.
  const y0 = tr.analyze(tr.synthesize(c, length));
  lastExtra = y0.extra;
  const tRe = Float32Array.from(y0.re), tIm = Float32Array.from(y0.im);
  const dRe = Float32Array.from(y0.re), dIm = Float32Array.from(y0.im);
  const cRe = Float32Array.from(c.re), cIm = Float32Array.from(c.im);
  for (let k = 0; k < n; k++) {
    const sig = tr.synthesize(proj(cRe, cIm), length);
    prevSig = sig;
    const y = tr.analyze(sig);
    lastExtra = y.extra;
    for (let i = 0; i < N; i++) {
      const tr_ = (1 - g) * dRe[i] + g * y.re[i];
      const ti_ = (1 - g) * dIm[i] + g * y.im[i];
      const dr = tr_ - tRe[i], di = ti_ - tIm[i];
      cRe[i] = tr_ + a * dr; cIm[i] = ti_ + a * di;
      dRe[i] = tr_ + b * dr; dIm[i] = ti_ + b * di;
      tRe[i] = tr_; tIm[i] = ti_;
    }
  }
  if (args.out === 't') return tr.synthesize(proj(tRe, tIm), length);
  if (args.out === 'd') return tr.synthesize(proj(dRe, dIm), length);
  const out = tr.synthesize(proj(cRe, cIm), length);
  const lam = Number(args.lambda ?? 0);
  if (lam !== 0 && prevSig) for (let i = 0; i < out.length; i++) out[i] += lam * (out[i] - prevSig[i]);
  return out;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.wav')).sort();
const rows: number[][] = params.map(() => []);
for (const f of files) {
  const x = (await readAudio(join(dir, f), { sampleRate: 44100 })).samples;
  const mag = magnitudes(tr.analyze(x));
  let init = args.transform === 'cqt' ? (null as unknown as Coefficients) : pghi(mag, DEFAULT_STFT);
  if (args.init === 'random') {
    let st = 12345;
    const re = new Float32Array(mag.data.length), im = new Float32Array(mag.data.length);
    for (let i = 0; i < re.length; i++) { st = (st * 1103515245 + 12345) >>> 0; const p = (st / 2 ** 32) * 2 * Math.PI; re[i] = Math.cos(p); im[i] = Math.sin(p); }
    init = { frames: mag.frames, bins: mag.bins, re, im };
  }
  const line: string[] = [f.padEnd(28)];
  params.forEach(([a, b, g], j) => {
    const y = agla(mag, init, x.length, iters, a, b, g);
    const sc = signalSpectralConvergence(x, y, DEFAULT_STFT);
    rows[j].push(sc);
    line.push(sc.toFixed(2).padStart(8));
  });
  console.log(line.join(''));
}
console.log('median'.padEnd(28) + rows.map((r) => median(r).toFixed(2).padStart(8)).join(''));
console.log('params: ' + params.map((p) => p.join('/')).join('  '));
