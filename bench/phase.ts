/**
 * The official phase-reconstruction benchmark.
 *
 * `npm run bench -- phase [--input DIR] [--iters 1,8,32] [--files N] [--repeats R]
 *  [--json FILE] [--md BENCHMARKS.md] [--no-peer] [--threads N]`
 *
 * For every WAV file in DIR (default `data/bench/`), read at 44.1 kHz mono,
 * the true magnitude is taken and the signal rebuilt with:
 * - STFT 2048/256 Fast Griffin-Lim (FGLA) and the accelerated Griffin-Lim
 *   algorithm (AGLA, `FglaOptions.acceleration`) from random phase, at each iteration count;
 * - STFT PGHI alone (one row, no iterations);
 * - STFT PGHI followed by FGLA, and by AGLA, at each iteration count;
 * - constant-Q (DEFAULT_CQT, the original LTS features) FGLA and AGLA from random phase;
 * - with `--threads N` (N >= 2): the iterating STFT methods again with their iterations shared between this
 *   thread and N - 1 inference helper threads (`engine/phase-split.ts`; same output bytes), as separate rows
 *   "METHOD (N threads)" with the wall time against the one-thread row ("wall / one thread");
 * - the FFT floor: the PFFFT transforms of FGLA at each iteration count
 *   alone (`fftFloor`), so that a slow figure on a shared machine can be read
 *   against the machine's own floor in the same run;
 * - the peer: torchaudio.transforms.GriffinLim (n_fft 2048, hop 256, Hann,
 *   momentum 0.99, rand_init, power 1, one thread) through
 *   `bench/peers/torchaudio_gla.py` run by Debian's `/usr/bin/python3`.
 *
 * Reported per file and as medians: real-time factor (compute seconds per
 * second of audio; only the reconstruction is timed, best of R runs, one
 * thread: our code runs on Node's main thread, the peer with
 * `torch.set_num_threads(1)`), spectral convergence measured the same way for
 * every method (STFT 2048/256 magnitude of the output against that of the
 * input, `signalSpectralConvergence`), and our time divided by torchaudio's at
 * the same iteration count. With `--md FILE` the median table is written into
 * the `## Phase reconstruction` section of FILE (other sections untouched).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir, loadavg } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs, printTable, writeJson, median, machineInfo, formatNumber } from './util.ts';
import { pffft } from '../src/dsp/fft.ts';
import { readAudio } from '../src/io/audio.ts';
import { writeWav } from '../src/io/wav.ts';
import { stft, stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { cqtTransform, DEFAULT_CQT } from '../src/dsp/cqt.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { reconstructPhase, reconstructPhaseWith, PHASE_METHODS, type PhaseMethod } from '../src/dsp/phase.ts';
import { VaeHelpers } from '../src/engine/vae-helpers.ts';
import { fglaOnThreads } from '../src/engine/phase-split.ts';
import { weightsChecksum } from '../src/engine/model-folder.ts';
import { DEFAULT_MODEL_DIR } from '../src/paths.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import type { Magnitudes, Transform } from '../src/dsp/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const SR = 44100;
const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = join(here, 'peers', 'torchaudio_gla.py');
/** Method name of the FFT-floor rows ({@link fftFloor}). */
const FLOOR = 'FFT floor (PFFFT alone)';

/** One measured case. */
interface Row {
  file: string;
  method: string;
  transform: string;
  iterations: number | null;
  /** Wall time of the fastest run, s. */
  seconds: number;
  /** Process CPU time (user + system) of the least expensive run, s. */
  cpuSeconds: number;
  /** Wall-time real-time factor: seconds / audio seconds. */
  rtf: number;
  /** CPU-time real-time factor. */
  cpuRtf: number;
  /** Spectral convergence, dB (none for the FFT floor). */
  scDb?: number;
  /** Our CPU time / torchaudio's CPU time at the same iteration count (absent for the peer and PGHI alone). */
  vsTorchaudio?: number;
  /** STFT rows: our CPU time / that of the FFT floor with as many iterations (same file, same run). */
  vsFloor?: number;
  /** Rows of `--threads N`: wall time divided by the same method's one-thread wall time on the same file. */
  vsOneThread?: number;
}

function usage(msg: string): never {
  throw new Error(
    `bench phase: ${msg}. Usage: npm run bench -- phase [--input DIR] [--iters 1,8,32] [--files N] [--repeats R] [--json FILE] [--md BENCHMARKS.md] [--no-peer] [--threads N]`,
  );
}

function intList(v: string | true | undefined, dflt: number[], what: string): number[] {
  if (v === undefined) return dflt;
  if (v === true) usage(`${what} needs a value`);
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((n) => !Number.isInteger(n) || n < 1)) usage(`${what} must be positive whole numbers like 1,8,32, got "${v}"`);
  return xs;
}

function positiveInt(v: string | true | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < 1) usage(`${what} must be a positive whole number, got "${String(v)}"`);
  return n;
}

/** Start a clock; calling the result gives the wall and process CPU seconds (user + system) since. */
function startClock(): () => { seconds: number; cpuSeconds: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { seconds, cpuSeconds: (c.user + c.system) / 1e6 };
  };
}

/** Keep the fastest wall time and the smallest CPU time of several runs, with the last run's result. */
function fastest<T>(runs: { seconds: number; cpuSeconds: number }[], value: T): { seconds: number; cpuSeconds: number; value: T } {
  return { seconds: Math.min(...runs.map((r) => r.seconds)), cpuSeconds: Math.min(...runs.map((r) => r.cpuSeconds)), value };
}

/**
 * Run `fn` `repeats` times; keep the fastest wall time, the smallest process
 * CPU time (user + system: robust against other processes competing for the
 * cores) and the result.
 */
function timed<T>(fn: () => T, repeats: number): { seconds: number; cpuSeconds: number; value: T } {
  const runs = [];
  let value: T | undefined;
  for (let i = 0; i < repeats; i++) {
    const stop = startClock();
    value = fn();
    runs.push(stop());
  }
  return fastest(runs, value as T);
}

/** {@link timed} for an async function (the `--threads N` rows). */
async function timedAsync<T>(fn: () => Promise<T>, repeats: number): Promise<{ seconds: number; cpuSeconds: number; value: T }> {
  const runs = [];
  let value: T | undefined;
  for (let i = 0; i < repeats; i++) {
    const stop = startClock();
    value = await fn();
    runs.push(stop());
  }
  return fastest(runs, value as T);
}

interface PeerResult {
  versions?: string;
  error?: string;
  /** wall and CPU seconds and the rebuilt file per `${file}|${iterations}` */
  results: Map<string, { seconds: number; cpuSeconds: number; output: string }>;
}

/** Run torchaudio's GriffinLim on the given signals (written as float32 WAVs to a temp dir). */
function runPeer(signals: { name: string; x: Float32Array }[], iters: number[], repeats: number, tmp: string): PeerResult {
  const results = new Map<string, { seconds: number; cpuSeconds: number; output: string }>();
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found (install Debian python3-torchaudio)`, results };
  const inputs: string[] = [];
  for (const { name, x } of signals) {
    const p = join(tmp, `${name}.wav`);
    writeWav(p, x, SR, { encoding: 'float32' });
    inputs.push(p);
  }
  const r = spawnSync(PYTHON, [PEER_SCRIPT, '--out', join(tmp, 'peer'), '--iters', iters.join(','), '--repeats', String(repeats), ...inputs], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.error || r.status !== 0) {
    const why = (r.stderr || String(r.error ?? '')).trim().split('\n').slice(-1)[0];
    return { error: /No module named/.test(why) ? `torchaudio missing (${why}); install Debian python3-torchaudio` : `peer failed: ${why}`, results };
  }
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
    torch: string;
    torchaudio: string;
    results: { file: string; iterations: number; seconds: number; cpuSeconds: number; output: string }[];
  };
  for (const res of out.results) {
    results.set(`${basename(res.file, '.wav')}|${res.iterations}`, { seconds: res.seconds, cpuSeconds: res.cpuSeconds, output: res.output });
  }
  return { versions: `torch ${out.torch}, torchaudio ${out.torchaudio}`, results };
}

/** Replace (or append) the `## Phase reconstruction` section of a Markdown file, atomically. */
function writeSection(path: string, body: string): void {
  const heading = '## Phase reconstruction';
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const start = old.indexOf(`${heading}\n`);
  let text: string;
  if (start < 0) text = `${old.replace(/\n*$/, '\n')}\n${heading}\n\n${body}`;
  else {
    const rest = old.slice(start + heading.length + 1);
    const next = rest.search(/^## /m);
    text = `${old.slice(0, start)}${heading}\n\n${body}${next < 0 ? '' : '\n' + rest.slice(next)}`;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text.replace(/\n*$/, '\n'));
  renameSync(tmp, path);
}

/**
 * The FFT-bound floor of Fast Griffin-Lim on the STFT: the PFFFT transforms alone that `fgla`
 * performs for `frames` frames and `iterations` iterations (one inverse for the start, then a
 * forward and an inverse per frame and iteration), on PFFFT's heap, without windowing, projection or
 * overlap-add. Timed beside `fgla` in the same run, it shows how much of a slow figure is the
 * machine (the floor slows down too) and how much is the work around the FFTs.
 *
 * @param frames Number of STFT frames.
 * @param iterations FGLA iterations.
 * @param nFft FFT size (default 2048).
 */
export function fftFloor(frames: number, iterations: number, nFft = 2048): void {
  const setup = pffft.setup(nFft, 'real');
  const buf = pffft.malloc(3 * nFft * 4);
  try {
    pffft.heapF32().fill(0.001, buf >> 2, (buf >> 2) + nFft);
    for (let t = 0; t < frames; t++) pffft.transform(setup, buf + 4 * nFft, buf, buf + 8 * nFft, 1);
    for (let it = 0; it < iterations; it++) {
      for (let t = 0; t < frames; t++) {
        pffft.transform(setup, buf, buf + 4 * nFft, buf + 8 * nFft, 0);
        pffft.transform(setup, buf + 4 * nFft, buf, buf + 8 * nFft, 1);
      }
    }
  } finally {
    pffft.free(buf);
  }
}

/** One median row as {@link main} prints it (the fields the target checks read). */
export interface MedianRow {
  method: string;
  transform: string;
  /** Iteration count as printed: a number as a string, or '-'. */
  iterations: string;
  'RTF CPU': number;
  'SC dB'?: number;
}

/** One target of issue 2 with what a run measured. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: 'yes' | 'no' | 'not measured';
}

/**
 * Issue 2's one-thread targets, checked against a run's medians (`RTF CPU`, `SC dB`); a target whose rows the run
 * did not measure (other `--iters`, `--no-peer`) is "not measured". Besides the four targets it reports the best
 * PGHI + FGLA/AGLA row within the PGHI + 8 budget (RTF 0.03) at any iteration count the run measured.
 */
export function targetChecks(medians: MedianRow[]): TargetCheck[] {
  const find = (method: string, transform: string, iterations: string) =>
    medians.find((r) => r.method === method && r.transform.startsWith(transform) && r.iterations === iterations);
  const f = (v: number | undefined, digits = 2) => (v === undefined ? '-' : v.toFixed(digits));
  const rtf = (v: number) => (v < 0.01 ? v.toFixed(4) : v.toFixed(3));
  const out: TargetCheck[] = [];
  const check = (target: string, row: MedianRow | undefined, ok: (r: MedianRow) => boolean, describe: (r: MedianRow) => string) =>
    out.push(row && row['SC dB'] !== undefined ? { target, measured: describe(row), met: ok(row) ? 'yes' : 'no' } : { target, measured: '-', met: 'not measured' });
  const fgla32 = find('fgla', 'STFT', '32');
  const peer32 = find('torchaudio GriffinLim', 'STFT', '32');
  check(
    'FGLA, STFT, 32 iterations: RTF <= 0.04, SC at least torchaudio\'s',
    fgla32 && peer32 ? fgla32 : undefined,
    (r) => r['RTF CPU'] <= 0.04 && (r['SC dB'] as number) <= (peer32!['SC dB'] as number),
    (r) => `RTF ${rtf(r['RTF CPU'])}, ${f(r['SC dB'])} dB (torchaudio ${f(peer32!['SC dB'])} dB)`,
  );
  check('PGHI alone: RTF <= 0.01, SC <= -25 dB', find('pghi', 'STFT', '-'), (r) => r['RTF CPU'] <= 0.01 && (r['SC dB'] as number) <= -25,
    (r) => `RTF ${rtf(r['RTF CPU'])}, ${f(r['SC dB'])} dB`);
  check('PGHI + 8 FGLA: RTF <= 0.03, SC <= -35 dB', find('pghi+fgla', 'STFT', '8'), (r) => r['RTF CPU'] <= 0.03 && (r['SC dB'] as number) <= -35,
    (r) => `RTF ${rtf(r['RTF CPU'])}, ${f(r['SC dB'])} dB`);
  check('constant-Q FGLA, 32 iterations: RTF <= 0.5, SC < -16 dB', find('fgla', 'CQT', '32'), (r) => r['RTF CPU'] <= 0.5 && (r['SC dB'] as number) < -16,
    (r) => `RTF ${rtf(r['RTF CPU'])}, ${f(r['SC dB'])} dB`);
  const withinBudget = medians
    .filter((r) => (r.method === 'pghi+fgla' || r.method === 'pghi+agla') && r['SC dB'] !== undefined && r['RTF CPU'] <= 0.03)
    .sort((a, b) => (a['SC dB'] as number) - (b['SC dB'] as number))[0];
  check(
    'informative: best PGHI + FGLA/AGLA within RTF 0.03, SC <= -35 dB',
    withinBudget,
    (r) => (r['SC dB'] as number) <= -35,
    (r) => `${r.method} ${r.iterations}: RTF ${rtf(r['RTF CPU'])}, ${f(r['SC dB'])} dB`,
  );
  return out;
}

function markdownTable(rows: Record<string, unknown>[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'number' ? formatNumber(v) : String(v));
  return [
    `| ${cols.join(' | ')} |`,
    `|${cols.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
}

/**
 * Run the benchmark (see the module documentation for the options).
 *
 * @param argv Command-line arguments after the benchmark name, e.g.
 *   `['--iters', '1,8,32', '--md', 'BENCHMARKS.md']`.
 */
export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const input = resolve(typeof flags.input === 'string' ? flags.input : join(here, '..', 'data', 'bench'));
  if (!existsSync(input) || !statSync(input).isDirectory()) usage(`--input ${input} is not a folder of WAV files`);
  const iters = intList(flags.iters, [1, 8, 32], '--iters');
  const repeats = positiveInt(flags.repeats, 2, '--repeats');
  let files = readdirSync(input)
    .filter((f) => /\.wav$/i.test(f))
    .sort();
  if (flags.files !== undefined) files = files.slice(0, positiveInt(flags.files, 1, '--files'));
  if (files.length === 0) usage(`no .wav files in ${input}`);
  const peerWanted = flags['no-peer'] === undefined;
  const threads = positiveInt(flags.threads, 1, '--threads');
  if (threads > 16) usage('--threads takes 1 to 16');
  let helpers: VaeHelpers | null = null;
  if (threads > 1) {
    helpers = VaeHelpers.start({ threads, backend: 'wasm' });
    await helpers.load(DEFAULT_MODEL_DIR, weightsChecksum(DEFAULT_MODEL_DIR));
    if (helpers.phaseRunners().length !== threads - 1) usage(`the helper threads did not all start (--threads ${threads})`);
  }

  const stftT = stftTransform(DEFAULT_STFT);
  const cqtT = cqtTransform(DEFAULT_CQT);
  const rows: Row[] = [];
  let totalSeconds = 0;

  console.log(`phase: ${files.length} file(s) from ${input}; iterations ${iters.join(', ')}; best of ${repeats}; one thread`);
  {
    // Warm-up (untimed): compile every code path once on the first file.
    const x = (await readAudio(join(input, files[0]), { sampleRate: SR })).samples.subarray(0, 4 * SR);
    const S = magnitudes(stft(x, DEFAULT_STFT));
    const C = magnitudes(cqtT.analyze(x));
    for (const method of PHASE_METHODS) reconstructPhase(S, stftT, x.length, { method, iterations: 2 });
    for (const method of ['fgla', 'agla'] as const) reconstructPhase(C, cqtT, x.length, { method, iterations: 2 });
  }
  let peerNote = peerWanted ? '' : 'torchaudio peer skipped (--no-peer)';
  const tmp = mkdtempSync(join(tmpdir(), 'lts-bench-phase-'));
  try {
    for (const f of files) {
      const x = (await readAudio(join(input, f), { sampleRate: SR })).samples;
      const name = basename(f, '.wav');
      const dur = x.length / SR;
      totalSeconds += dur;
      const S = magnitudes(stft(x, DEFAULT_STFT));
      const C = magnitudes(cqtT.analyze(x));
      const run = (method: PhaseMethod, transform: Transform, mag: Magnitudes, iterations: number | null) => {
        const { seconds, cpuSeconds, value } = timed(
          () => reconstructPhase(mag, transform, x.length, { method, iterations: iterations ?? 0, seed: 0 }),
          repeats,
        );
        rows.push({
          file: name,
          method,
          transform: transform.config.kind === 'stft' ? 'STFT 2048/256' : 'CQT 384 (LTS)',
          iterations,
          seconds,
          cpuSeconds,
          rtf: seconds / dur,
          cpuRtf: cpuSeconds / dur,
          scDb: signalSpectralConvergence(x, value),
        });
      };
      for (const method of ['fgla', 'agla'] as const) for (const it of iters) run(method, stftT, S, it);
      run('pghi', stftT, S, null);
      for (const method of ['pghi+fgla', 'pghi+agla'] as const) for (const it of iters) run(method, stftT, S, it);
      if (helpers) {
        for (const method of ['fgla', 'agla', 'pghi+fgla', 'pghi+agla'] as const) {
          for (const it of iters) {
            const runners = helpers.phaseRunners();
            let used = 0;
            const { seconds, cpuSeconds, value } = await timedAsync(
              async () => reconstructPhaseWith(S, stftT, x.length, { method, iterations: it, seed: 0 }, (m, t, l, o) =>
                fglaOnThreads(m, t, l, o, runners, { onSplit: (n) => (used = n) })),
              repeats,
            );
            const one = rows.find((r) => r.file === name && r.method === method && r.iterations === it && r.transform === 'STFT 2048/256');
            rows.push({
              file: name, method: `${method} (${used} thread${used === 1 ? ', helpers unused' : 's'})`, transform: 'STFT 2048/256', iterations: it, seconds, cpuSeconds,
              rtf: seconds / dur, cpuRtf: cpuSeconds / dur, scDb: signalSpectralConvergence(x, value), vsOneThread: one ? seconds / one.seconds : undefined,
            });
          }
        }
      }
      for (const it of iters) {
        // The PFFFT transforms of FGLA alone: the machine's floor, right after the rows above.
        const { seconds, cpuSeconds } = timed(() => fftFloor(S.frames, it), repeats);
        rows.push({ file: name, method: FLOOR, transform: 'STFT 2048/256', iterations: it, seconds, cpuSeconds, rtf: seconds / dur, cpuRtf: cpuSeconds / dur });
        for (const r of rows) {
          if (r.file === name && r.iterations === it && r.transform === 'STFT 2048/256' && r.method !== FLOOR) r.vsFloor = r.cpuSeconds / cpuSeconds;
        }
      }
      for (const method of ['fgla', 'agla'] as const) for (const it of iters) run(method, cqtT, C, it);

      // The peer on the same file right away, so both see the same machine load.
      if (peerWanted && !peerNote.startsWith('torchaudio peer not measured')) {
        const peer = runPeer([{ name, x }], iters, repeats, tmp);
        if (peer.error) peerNote = `torchaudio peer not measured: ${peer.error}`;
        else {
          peerNote = `peer: ${peer.versions}, /usr/bin/python3, torch.set_num_threads(1)`;
          for (const it of iters) {
            const res = peer.results.get(`${name}|${it}`);
            if (!res) continue;
            const y = (await readAudio(res.output, { sampleRate: SR })).samples;
            const yy = y.length === x.length ? y : Float32Array.from({ length: x.length }, (_, i) => y[i] ?? 0);
            rows.push({
              file: name,
              method: 'torchaudio GriffinLim',
              transform: 'STFT 2048/256',
              iterations: it,
              seconds: res.seconds,
              cpuSeconds: res.cpuSeconds,
              rtf: res.seconds / dur,
              cpuRtf: res.cpuSeconds / dur,
              scDb: signalSpectralConvergence(x, yy),
            });
            for (const r of rows) {
              if (r.file === name && r.iterations === it && r.method !== 'torchaudio GriffinLim' && r.method !== FLOOR) r.vsTorchaudio = r.cpuSeconds / res.cpuSeconds;
            }
          }
        }
      }
      console.log(`  ${f}: ${dur.toFixed(2)} s done`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await helpers?.close();
  }
  console.log(peerNote);

  const show = (r: Row) => ({
    file: r.file,
    method: r.method,
    transform: r.transform,
    iterations: r.iterations === null ? '-' : String(r.iterations),
    'RTF wall': r.rtf,
    'RTF CPU': r.cpuRtf,
    'SC dB': r.scDb,
    'CPU time / torchaudio': r.vsTorchaudio,
    'CPU time / FFT floor': r.vsFloor,
    ...(threads > 1 ? { 'wall / one thread': r.vsOneThread } : {}),
  });
  printTable(rows.map(show), 'Per file');

  const keys = [...new Set(rows.map((r) => `${r.method}|${r.transform}|${r.iterations}`))];
  const medians = keys.map((k) => {
    const g = rows.filter((r) => `${r.method}|${r.transform}|${r.iterations}` === k);
    const defined = (xs: (number | undefined)[]): number[] => xs.filter((v): v is number => v !== undefined);
    const ratios = defined(g.map((r) => r.vsTorchaudio));
    const floors = defined(g.map((r) => r.vsFloor));
    const oneThread = defined(g.map((r) => r.vsOneThread));
    const scs = defined(g.map((r) => r.scDb));
    return {
      method: g[0].method,
      transform: g[0].transform,
      iterations: g[0].iterations === null ? '-' : String(g[0].iterations),
      'RTF wall': median(g.map((r) => r.rtf)),
      'RTF CPU': median(g.map((r) => r.cpuRtf)),
      'SC dB': scs.length ? median(scs) : undefined,
      'CPU time / torchaudio': ratios.length ? median(ratios) : undefined,
      'CPU time / FFT floor': floors.length ? median(floors) : undefined,
      ...(threads > 1 ? { 'wall / one thread': oneThread.length ? median(oneThread) : undefined } : {}),
    };
  });
  printTable(medians, `Medians over ${files.length} file(s)`);
  const targets = targetChecks(medians);
  printTable(targets as unknown as Record<string, unknown>[], 'Targets of issue 2 (one thread, medians)');

  const machine = machineInfo();
  const load = loadavg().map((v) => v.toFixed(1)).join(', ');
  console.log(`load average at the end: ${load} (on ${machine.cores} cores)`);
  if (typeof flags.json === 'string') writeJson(flags.json, { machine, loadavg: loadavg(), input, files, iters, repeats, peer: peerNote, rows, medians, targets });
  if (typeof flags.md === 'string') {
    const body =
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu} (${machine.cores} cores, ${machine.memGiB} GiB), ` +
      `Node ${machine.node}, ${machine.platform}, load average ${load} (1, 5, 15 min; the machine is shared, so ratios measured in the same run are the reliable figures), by \`npm run bench -- phase${argv.length ? ' ' + argv.filter((a, i) => !['--md', '--json'].includes(a) && !['--md', '--json'].includes(argv[i - 1])).join(' ') : ''}\`.\n\n` +
      `${files.length} files from \`${relative(join(here, '..'), input) || '.'}/\` (${totalSeconds.toFixed(1)} s of 44.1 kHz mono audio). ` +
      `All figures are medians over the files. RTF = compute seconds per second of audio, reconstruction only, one thread, ` +
      `best of ${repeats} runs, as wall time and as process CPU time (user + system; less disturbed by other processes on a shared machine). ` +
      `SC = spectral convergence in dB of the STFT 2048/256 magnitude of the output against that of the input, ` +
      `the same measure for every method (lower is better). "CPU time / torchaudio" = our CPU time divided by that of torchaudio's ` +
      `GriffinLim at the same iteration count on the same file, run right after ours (median of the per-file ratios). ` +
      `"${FLOOR}" = the PFFFT transforms that FGLA performs at that iteration count, alone (one inverse per frame, then a forward and an inverse per frame and iteration): ` +
      `the machine's floor, measured on the same file in the same run; "CPU time / FFT floor" = our CPU time divided by it. ` +
      `${peerNote}.\n\n` +
      markdownTable(medians) +
      '\n\nTargets of issue 2 (one thread, medians):\n\n' +
      markdownTable(targets as unknown as Record<string, unknown>[]) +
      '\n';
    writeSection(flags.md, body);
    console.log(`\nwrote the "## Phase reconstruction" section of ${flags.md}`);
  }
}
