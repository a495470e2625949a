/**
 * Scratch benchmark of helper B (not listed by `npm run bench`; run directly):
 *
 *   node --import tsx bench/_fgla-scratch.ts [--files 3] [--repeats 3] [--iters 32] [--no-peer] [--json FILE]
 *
 * 1. FFT candidates, real 2048 points, forward + inverse, one thread, microseconds per pair and
 *    float32 accuracy: our `realFFT` API (PFFFT SIMD, ordered layout, with copies), raw PFFFT SIMD
 *    (unordered layout, on its heap), PFFFT non-SIMD build, and a plain JavaScript radix-2 real FFT
 *    on Float64Array (written here only as a peer).
 * 2. Fast Griffin-Lim, STFT 2048/256, momentum 0.99, random start, on the real recordings in
 *    data/bench/*.wav: fused WebAssembly path, generic JS path, the FFT-only floor (the same number of
 *    PFFFT transforms alone), and torchaudio's GriffinLim (bench/peers/torchaudio_gla.py run by
 *    Debian's /usr/bin/python3, one thread) in the same run. Real-time factor = compute s / audio s;
 *    the best of `--repeats` runs counts, both wall time and process CPU time (the machine is shared).
 *    Spectral convergence of |STFT(output)| against the target, dB.
 */
import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import pffftNoSimdFactory from '@echogarden/pffft-wasm';
import { parseArgs, printTable, writeJson, machineInfo, median } from './util.ts';
import { fftFloor } from './phase.ts';
import { pffft, realFFT } from '../src/dsp/fft.ts';
import { fgla } from '../src/dsp/fgla.ts';
import { stft, stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { readAudio } from '../src/io/audio.ts';
import type { Magnitudes } from '../src/dsp/types.ts';
import { relErr } from '../test/helpers/signal.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** Process CPU seconds and wall seconds of one call. */
function timeIt(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

function best(fn: () => void, repeats: number): { wall: number; cpu: number } {
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t = timeIt(fn);
    wall = Math.min(wall, t.wall);
    cpu = Math.min(cpu, t.cpu);
  }
  return { wall, cpu };
}

/** Plain-JS real FFT peer: complex radix-2 of size n/2 on Float64Array plus the split step. */
function makeJsRealFft(n: number) {
  const m = n >> 1;
  const bits = Math.log2(m);
  const rev = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const cosT = new Float64Array(n / 2);
  const sinT = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cosT[k] = Math.cos((2 * Math.PI * k) / n);
    sinT[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  const re = new Float64Array(m);
  const im = new Float64Array(m);
  const cfft = (sign: number) => {
    for (let size = 2; size <= m; size <<= 1) {
      const half = size >> 1;
      const step = n / size; // twiddle stride in the n-point table (angle 2 pi j / size)
      for (let s = 0; s < m; s += size) {
        for (let j = 0; j < half; j++) {
          const wr = cosT[j * step];
          const wi = sign * sinT[j * step];
          const a = s + j;
          const b = a + half;
          const tr = re[b] * wr - im[b] * wi;
          const ti = re[b] * wi + im[b] * wr;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  };
  return {
    forward(x: Float32Array, out: Float32Array) {
      for (let i = 0; i < m; i++) {
        re[rev[i]] = x[2 * i];
        im[rev[i]] = x[2 * i + 1];
      }
      cfft(1);
      for (let k = 0; k <= m; k++) {
        const k1 = k % m;
        const k2 = (m - k) % m;
        const er = 0.5 * (re[k1] + re[k2]);
        const ei = 0.5 * (im[k1] - im[k2]);
        const or = 0.5 * (im[k1] + im[k2]);
        const oi = -0.5 * (re[k1] - re[k2]);
        const wr = k < n / 2 ? cosT[k] : -1;
        const wi = k < n / 2 ? sinT[k] : 0;
        out[2 * k] = er + wr * or - wi * oi;
        out[2 * k + 1] = ei + wr * oi + wi * or;
      }
    },
    inverse(spec: Float32Array, out: Float32Array) {
      for (let k = 0; k < m; k++) {
        const ar = spec[2 * k];
        const ai = spec[2 * k + 1];
        const br = spec[2 * (m - k)];
        const bi = -spec[2 * (m - k) + 1];
        const er = ar + br;
        const ei = ai + bi;
        const dr = ar - br;
        const di = ai - bi;
        const wr = cosT[k];
        const wi = -sinT[k];
        const or = dr * wr - di * wi;
        const oi = dr * wi + di * wr;
        re[rev[k]] = er - oi;
        im[rev[k]] = ei + or;
      }
      cfft(-1);
      for (let i = 0; i < m; i++) {
        out[2 * i] = re[i] / n;
        out[2 * i + 1] = im[i] / n;
      }
    },
  };
}


async function fftCandidates(repeats: number): Promise<Record<string, unknown>[]> {
  const n = 2048;
  const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.37) + 0.5 * Math.cos(i * 1.91) + ((i * 7919) % 13) / 13 - 0.5);
  const ref = new Float32Array(n + 2);
  const js = makeJsRealFft(n);
  js.forward(x, ref);
  const inner = 2000;
  const rows: Record<string, unknown>[] = [];
  const measure = (name: string, fwd: () => void, inv: () => void, err: number, roundTrip: number) => {
    fwd();
    inv();
    const tf = best(() => {
      for (let i = 0; i < inner; i++) fwd();
    }, repeats);
    const ti = best(() => {
      for (let i = 0; i < inner; i++) inv();
    }, repeats);
    rows.push({
      candidate: name,
      'forward us': (tf.cpu / inner) * 1e6,
      'inverse us': (ti.cpu / inner) * 1e6,
      'forward+inverse us': ((tf.cpu + ti.cpu) / inner) * 1e6,
      'rel. error vs float64': err,
      'round-trip error': roundTrip,
    });
  };

  // Our API.
  const f = realFFT(n);
  const spec = new Float32Array(n + 2);
  const y = new Float32Array(n);
  f.forward(x, spec);
  f.inverse(spec, y);
  measure('realFFT (PFFFT SIMD, ordered, copies)', () => f.forward(x, spec), () => f.inverse(spec, y), relErr(spec, ref), relErr(y, x));

  // Raw PFFFT SIMD, unordered layout, data already on the heap.
  const setup = pffft.setup(n, 'real');
  const buf = pffft.malloc(3 * n * 4);
  pffft.heapF32().set(x, buf >> 2);
  measure(
    'PFFFT SIMD raw (unordered, on heap)',
    () => pffft.transform(setup, buf, buf + 4 * n, buf + 8 * n, 0),
    () => pffft.transform(setup, buf + 4 * n, buf + 4 * n, buf + 8 * n, 1),
    NaN,
    NaN,
  );
  pffft.free(buf);

  // PFFFT without SIMD.
  const ns = await pffftNoSimdFactory();
  const nsSetup = ns._pffft_new_setup(n, 0);
  const nsBuf = ns._pffft_aligned_malloc(3 * n * 4);
  const nsIo = () => new Float32Array(ns.HEAPF32.buffer, nsBuf, 3 * n);
  nsIo().set(x);
  ns._pffft_transform_ordered(nsSetup, nsBuf, nsBuf + 4 * n, nsBuf + 8 * n, 0);
  const nsOut = nsIo().slice(n, 2 * n);
  const nsSpec = new Float32Array(n + 2);
  nsSpec.set(nsOut.subarray(2), 2);
  nsSpec[0] = nsOut[0];
  nsSpec[n] = nsOut[1];
  measure(
    'PFFFT non-SIMD (ordered, on heap)',
    () => ns._pffft_transform_ordered(nsSetup, nsBuf, nsBuf + 4 * n, nsBuf + 8 * n, 0),
    () => ns._pffft_transform_ordered(nsSetup, nsBuf + 4 * n, nsBuf + 4 * n, nsBuf + 8 * n, 1),
    relErr(nsSpec, ref),
    NaN,
  );

  // Plain JS.
  const jsSpec = new Float32Array(n + 2);
  const jsY = new Float32Array(n);
  js.forward(x, jsSpec);
  js.inverse(jsSpec, jsY);
  measure('plain JS radix-2 (Float64Array)', () => js.forward(x, jsSpec), () => js.inverse(jsSpec, jsY), 0, relErr(jsY, x));
  return rows;
}

function scDb(y: Float32Array, target: Magnitudes): number {
  const m = magnitudes(stft(y, DEFAULT_STFT)).data;
  let e = 0;
  let r = 0;
  for (let i = 0; i < m.length; i++) {
    e += (m[i] - target.data[i]) ** 2;
    r += target.data[i] ** 2;
  }
  return 10 * Math.log10(e / r);
}

/** Run the benchmark. */
export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const nFiles = Number(flags.files ?? 3);
  const repeats = Number(flags.repeats ?? 3);
  const iterations = Number(flags.iters ?? 32);
  console.log(JSON.stringify(machineInfo()));

  const fftRows = await fftCandidates(repeats * 3);
  printTable(fftRows, 'Real FFT, 2048 points, one thread (best process-CPU time of repeated blocks)');

  const dir = join(root, 'data', 'bench');
  const files = readdirSync(dir).filter((f) => f.endsWith('.wav')).sort().slice(0, nFiles).map((f) => join(dir, f));
  const tr = stftTransform(DEFAULT_STFT);
  const rows: Record<string, unknown>[] = [];
  for (const file of files) {
    const audio = await readAudio(file);
    const x = audio.samples;
    const seconds = x.length / audio.sampleRate;
    const mag = magnitudes(tr.analyze(x));
    const opts = { iterations, seed: 0 };
    fgla(mag, tr, x.length, opts); // warm-up
    let yFused: Float32Array = new Float32Array(0);
    const fused = best(() => {
      yFused = fgla(mag, tr, x.length, opts);
    }, repeats);
    let yGeneric: Float32Array = new Float32Array(0);
    const generic = best(() => {
      yGeneric = fgla(mag, tr, x.length, { ...opts, path: 'generic' });
    }, Math.max(1, Math.min(2, repeats)));
    const floor = best(() => fftFloor(mag.frames, iterations), repeats);
    const start = best(() => fgla(mag, tr, x.length, { iterations: 0, seed: 0 }), repeats);
    rows.push({
      file: file.split('/').pop(),
      'audio s': seconds,
      'fused RTF (cpu)': fused.cpu / seconds,
      'fused RTF (wall)': fused.wall / seconds,
      'of which start (cpu)': start.cpu / seconds,
      'generic RTF (cpu)': generic.cpu / seconds,
      'FFT floor RTF (cpu)': floor.cpu / seconds,
      'fused / floor': fused.cpu / floor.cpu,
      'SC fused dB': scDb(yFused, mag),
      'SC generic dB': scDb(yGeneric, mag),
    });
  }

  let peer: { results: { file: string; seconds: number; cpuSeconds: number; output: string }[] } | undefined;
  if (!flags['no-peer']) {
    const tmp = mkdtempSync(join(tmpdir(), 'fgla-scratch-'));
    try {
      const r = spawnSync('/usr/bin/python3', [join(here, 'peers', 'torchaudio_gla.py'), '--out', tmp, '--iters', String(iterations), '--repeats', String(repeats), ...files], {
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      });
      if (r.status === 0) {
        peer = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
        for (const p of peer?.results ?? []) {
          const row = rows.find((q) => q.file === p.file.split('/').pop());
          if (!row) continue;
          const y = (await readAudio(p.output)).samples;
          const audio = await readAudio(p.file);
          const mag = magnitudes(tr.analyze(audio.samples));
          const s = row['audio s'] as number;
          row['torchaudio RTF (cpu)'] = p.cpuSeconds / s;
          row['SC torchaudio dB'] = scDb(y, mag);
          row['torchaudio / fused (cpu)'] = p.cpuSeconds / s / (row['fused RTF (cpu)'] as number);
        }
      } else console.log(`torchaudio peer unavailable: ${r.stderr.trim().split('\n').pop()}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  printTable(rows, `Fast Griffin-Lim, STFT 2048/256, ${iterations} iterations, momentum 0.99, one thread`);
  const med = (k: string) => median(rows.map((r) => r[k] as number).filter((v) => Number.isFinite(v)));
  printTable(
    [
      {
        'fused RTF (cpu)': med('fused RTF (cpu)'),
        'generic RTF (cpu)': med('generic RTF (cpu)'),
        'FFT floor RTF (cpu)': med('FFT floor RTF (cpu)'),
        'fused / floor': med('fused / floor'),
        'torchaudio RTF (cpu)': med('torchaudio RTF (cpu)'),
        'torchaudio / fused': med('torchaudio / fused (cpu)'),
        'SC fused dB': med('SC fused dB'),
        'SC torchaudio dB': med('SC torchaudio dB'),
      },
    ],
    'Medians',
  );
  if (typeof flags.json === 'string') writeJson(flags.json, { machine: machineInfo(), fft: fftRows, fgla: rows });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
