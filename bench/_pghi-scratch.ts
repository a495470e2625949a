/**
 * Scratch measurement of PGHI variants on data/bench (not an official benchmark;
 * see bench/phase.ts for that): per-file spectral convergence of PGHI alone and
 * (with --fgla) of PGHI + 8 FGLA iterations, and the process CPU time of pghi()
 * alone and of pghi + istft, as real-time factors (best of R runs).
 *
 * `node --import tsx bench/_pghi-scratch.ts [--rev GITREV] [--repeats R] [--lambda F] [--tol T] [--fgla]`
 *
 * `--rev` measures src/dsp/pghi.ts as committed at that revision (e.g. `ef01b86`,
 * the version before the speed work) instead of the working tree, for
 * before/after comparisons in interleaved runs on a shared machine.
 */
import { readdirSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { readAudio } from '../src/io/audio.ts';
import { stft, istft, DEFAULT_STFT, stftTransform } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import { fgla } from '../src/dsp/fgla.ts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pghi as pghiHead } from '../src/dsp/pghi.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (k: string, d: string): string => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : d;
};
const rev = flag('rev', '');
const repeats = Number(flag('repeats', '3'));
const lambdaFactor = args.includes('--lambda') ? Number(flag('lambda', '0')) : undefined;
const tolerance = args.includes('--tol') ? Number(flag('tol', '0')) : undefined;
const withFgla = args.includes('--fgla');
const root = join(here, '..');
let pghi = pghiHead;
if (rev !== '') {
  // the committed file, its relative imports made absolute, loaded from a temporary folder
  const text = execFileSync('git', ['show', `${rev}:src/dsp/pghi.ts`], { cwd: root, encoding: 'utf8' })
    .replace(/from '\.\/([^']+)'/g, `from '${join(root, 'src', 'dsp')}/$1'`)
    .replace(/from '\.\.\/([^']+)'/g, `from '${join(root, 'src')}/$1'`);
  const dir = mkdtempSync(join(tmpdir(), 'pghi-rev-'));
  const file = join(dir, 'pghi.mts');
  writeFileSync(file, text);
  try {
    pghi = ((await import(file)) as typeof import('../src/dsp/pghi.ts')).pghi;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const SR = 44100;
const cfg = DEFAULT_STFT;
const tr = stftTransform(cfg);
const dir = join(root, 'data', 'bench');
const files = readdirSync(dir).filter((f) => f.endsWith('.wav')).sort();
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rows: { f: string; sc: number; sc8?: number; rtf: number; rtfIstft: number }[] = [];
for (const f of files) {
  const x = (await readAudio(join(dir, f), { sampleRate: SR })).samples;
  const dur = x.length / SR;
  const S = magnitudes(stft(x, cfg));
  const opts = { lambdaFactor, tolerance, seed: 0 };
  pghi(S, cfg, opts); // warm
  let best = Infinity;
  let bestI = Infinity;
  let c = pghi(S, cfg, opts);
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    c = pghi(S, cfg, opts);
    const c1 = process.cpuUsage(c0);
    istft(c, cfg, x.length);
    const c2 = process.cpuUsage(c0);
    const t0 = 0;
    const t1 = (c1.user + c1.system) / 1000;
    const t2 = (c2.user + c2.system) / 1000;
    best = Math.min(best, t1 - t0);
    bestI = Math.min(bestI, t2 - t0);
  }
  const y = istft(c, cfg, x.length);
  const sc = signalSpectralConvergence(x, y, cfg);
  let sc8: number | undefined;
  if (withFgla) sc8 = signalSpectralConvergence(x, fgla(S, tr, x.length, { iterations: 8, init: c, seed: 0 }), cfg);
  rows.push({ f: basename(f, '.wav'), sc, sc8, rtf: best / 1000 / dur, rtfIstft: bestI / 1000 / dur });
}
for (const r of rows) {
  console.log(`${r.f.padEnd(16)} SC ${r.sc.toFixed(2).padStart(7)}${r.sc8 !== undefined ? `  +fgla8 ${r.sc8.toFixed(2).padStart(7)}` : ''}  RTF ${r.rtf.toFixed(4)}  +istft ${r.rtfIstft.toFixed(4)}`);
}
console.log(
  `${rev || 'working tree'} lambda=${lambdaFactor ?? 'default'} tol=${tolerance ?? 'default'}: median SC ${med(rows.map((r) => r.sc)).toFixed(2)}` +
    (withFgla ? `  +fgla8 ${med(rows.map((r) => r.sc8 as number)).toFixed(2)}` : '') +
    `  RTF ${med(rows.map((r) => r.rtf)).toFixed(4)}  +istft ${med(rows.map((r) => r.rtfIstft)).toFixed(4)}`,
);
