/**
 * `lts render`: the headless interpolate_two, for scripts and SSH sessions.
 */
import { parseCommandArgs } from './args.ts';
import { readFileSync } from 'node:fs';
import { resolve, dirname, isAbsolute, basename } from 'node:path';
import { UserError } from '../io/errors.ts';
import { DEFAULT_MODEL_DIR } from '../paths.ts';
import { VERSION } from '../version.ts';
import { PHASE_METHODS, parsePhaseMethod } from '../dsp/phase.ts';
import { Renderer, RENDER_DEFAULTS, defaultPhaseMethod, defaultPhaseSettings } from '../engine/render.ts';
import { parseThreads } from '../engine/vae-helpers.ts';
import { LEGACY_PHASE_SETTINGS, type Excerpt, type RenderParams, type RenderSidecar } from '../engine/render-types.ts';
import { listPresets, parseCurveSpec, sampleCurve } from '../engine/curve.ts';
import { extractListenFlags, startListening, LISTEN_HELP } from './listen.ts';
import { serveRender } from '../io/listen-bridge.ts';
import type { ListenState } from '../io/listen-server.ts';

export const RENDER_HELP = `usage: lts render --a FILE[@START_S] --b FILE[@START_S] --duration S [options]

Interpolate between two excerpts of the same duration through the model's latent space
(z = a·z_A + (1 − a)·z_B per frame; a = 1 is excerpt A, 0 is B, outside 0..1 extrapolates)
and write a WAV with a JSON sidecar that reproduces it.

  --model DIR           model folder (default: models/default)
  --a FILE[@START_S]    excerpt A: audio file and start in seconds (default start 0)
  --b FILE[@START_S]    excerpt B
  --duration S          excerpt duration in seconds, shared by A and B
  --curve SPEC          amount of A over the excerpt (default: 0:1,1:0 = A glides to B):
                          t:a breakpoints over normalised time, e.g. 0:0,0.5:1.2,1:0
                          smooth:0:0,0.5:1.2,1:0 for a smooth curve; a constant, e.g. 0.5;
                          or a preset name: ${listPresets().map((p) => p.name).join(', ')}
  --phase METHOD        ${PHASE_METHODS.join(' | ')} (default: ${RENDER_DEFAULTS.method}, or ${defaultPhaseMethod('cqt')} for a constant-Q model; pghi needs an STFT model)
  --iters N             Griffin-Lim iterations (FGLA or AGLA), 0-512 (default: ${RENDER_DEFAULTS.iterations})
  --momentum M          FGLA momentum, AGLA alpha (default: ${RENDER_DEFAULTS.momentum})
  --normalize DBFS      peak-normalise the output to DBFS, e.g. -1 (default: off)
  --sample              sample z per frame like the original LTS (reproducible with --seed)
  --seed N              seed for sampling and the random phase start (default: ${RENDER_DEFAULTS.seed})
  --fade MS             fade in/out at the ends in milliseconds (default: ${RENDER_DEFAULTS.fadeMs})
  --out FILE.wav        output file (refused if it exists, unless --force)
  --dir DIR             without --out: numbered renders in DIR (default: ./renders), never overwritten
  --force               allow --out to overwrite
  --float               write 32-bit float WAV (default: 16-bit PCM)
  --from SIDECAR.json   re-render exactly what a sidecar describes (--out/--dir/--force/--json still apply)
  --backend B           auto | tensorflow | wasm | cpu (default: auto)
  --threads N           threads that share the network's encode and decode, 1-16 or auto (the cores
                          available, up to 2), and the phase iterations (STFT models, at least about
                          0.56 s of audio per thread); the render waits for them to start (about 1 s),
                          so this pays for large models and long excerpts; default 1; same bytes for any N
  --json                print the result as JSON (output path, timings per stage, real-time factor)
${LISTEN_HELP}
                        with --listen, lts render waits until the page has played the render (or Ctrl-C)
  -h, --help            this help`;

/** Parse `FILE@START` (START in seconds, default 0). */
export function parseExcerpt(spec: string, flag: string): Excerpt {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return { path: spec, start: 0 };
  const startText = spec.slice(at + 1);
  const start = Number(startText);
  if (startText === '' || !Number.isFinite(start) || start < 0) {
    throw new UserError(`${flag} ${spec}: start '${startText}' is not a number of seconds >= 0; use FILE@1.5`);
  }
  return { path: spec.slice(0, at), start };
}

function numberFlag(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UserError(`${flag} '${v}' is not a number`);
  return x;
}

/** Read a render sidecar and check it. */
export function readSidecar(path: string): RenderSidecar {
  let json: RenderSidecar;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as RenderSidecar;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? `--from ${path}: file not found` : `--from ${path}: not valid JSON; give the .json written beside a render`,
    );
  }
  if (json?.kind !== 'lts-render' || typeof json.params !== 'object') {
    throw new UserError(`--from ${path}: not an lts render sidecar (the .json beside a render)`);
  }
  if (json.version !== 1) throw new UserError(`--from ${path}: sidecar version ${String(json.version)} is newer than this lts; upgrade lts`);
  // Sidecars from before a PGHI setting was recorded were rendered with its old value (tolerance 1e-5, log difference).
  if (json.params.phase && typeof json.params.phase === 'object') json.params.phase = { ...LEGACY_PHASE_SETTINGS, ...json.params.phase };
  return json;
}

/** `lts render`; resolves to the exit code. */
export async function renderCommand(argvIn: string[]): Promise<number> {
  const { argv, listen } = extractListenFlags(argvIn);
  const parsed = parseCommandArgs('render', argv, {
    model: { type: 'string' },
    a: { type: 'string' },
    b: { type: 'string' },
    duration: { type: 'string' },
    curve: { type: 'string' },
    phase: { type: 'string' },
    iters: { type: 'string' },
    momentum: { type: 'string' },
    normalize: { type: 'string' },
    sample: { type: 'boolean' },
    seed: { type: 'string' },
    fade: { type: 'string' },
    out: { type: 'string' },
    dir: { type: 'string' },
    force: { type: 'boolean' },
    float: { type: 'boolean' },
    from: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;
  if (v.help) {
    console.log(RENDER_HELP);
    return 0;
  }

  let params: RenderParams;
  let expectedSha: string | undefined;
  if (v.from) {
    const sc = readSidecar(v.from);
    const base = dirname(resolve(v.from));
    const rel = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
    params = { ...sc.params, model: rel(sc.params.model), a: { ...sc.params.a, path: rel(sc.params.a.path) }, b: { ...sc.params.b, path: rel(sc.params.b.path) } };
    expectedSha = sc.modelWeightsSha256;
    if (typeof sc.lts === 'string' && sc.lts !== VERSION) {
      process.stderr.write(`note: ${v.from} was made by lts ${sc.lts}; this is lts ${VERSION}, whose phase reconstruction may differ in the last bits\n`);
    }
  } else {
    if (!v.a || !v.b) throw new UserError('two excerpts are needed: --a FILE[@START] and --b FILE[@START]; see lts render --help');
    if (v.duration === undefined) throw new UserError('--duration S is needed (seconds, shared by both excerpts)');
    const a = parseExcerpt(v.a, '--a');
    const b = parseExcerpt(v.b, '--b');
    params = {
      model: resolve(v.model ?? DEFAULT_MODEL_DIR),
      a: { path: resolve(a.path), start: a.start },
      b: { path: resolve(b.path), start: b.start },
      duration: numberFlag(v.duration, '--duration', NaN),
      curve: v.curve ?? '0:1,1:0',
      phase: defaultPhaseSettings(
        v.phase ? parsePhaseMethod(v.phase) : RENDER_DEFAULTS.method,
        numberFlag(v.iters, '--iters', RENDER_DEFAULTS.iterations),
        numberFlag(v.momentum, '--momentum', RENDER_DEFAULTS.momentum),
      ),
      normalizeDbfs: v.normalize === undefined ? null : numberFlag(v.normalize, '--normalize', 0),
      sample: v.sample ?? false,
      seed: numberFlag(v.seed, '--seed', RENDER_DEFAULTS.seed),
      fadeMs: numberFlag(v.fade, '--fade', RENDER_DEFAULTS.fadeMs),
    };
  }

  const curveShown = listen ? Array.from(sampleCurve(parseCurveSpec(params.curve), 256)) : null;
  const server = listen ? await startListening(listen, v.out ? dirname(resolve(v.out)) : resolve(v.dir ?? 'renders')) : null;
  const shown: ListenState = {
    source: 'lts render',
    model: basename(params.model),
    a: { file: basename(params.a.path), start: params.a.start },
    b: { file: basename(params.b.path), start: params.b.start },
    duration: params.duration,
    curve: curveShown,
    status: 'rendering…',
  };
  server?.publishState(shown);
  let renderer: Renderer;
  try {
    renderer = await Renderer.create({ backend: v.backend, threads: v.threads === undefined ? 1 : parseThreads(v.threads) });
  } catch (e) {
    await server?.close();
    throw e;
  }
  if (!v.json) console.error(`backend: ${renderer.backend.description}; encode/decode on ${renderer.threads === 1 ? '1 thread' : `${renderer.threads} threads`}`);
  try {
    if (!v.from && !v.phase) {
      // No --phase: the best method this model supports (PGHI needs an STFT model).
      const m = await renderer.loadModel(params.model);
      params.phase.method = defaultPhaseMethod(m.transform.config.kind);
    }
    if (expectedSha) {
      const m = await renderer.loadModel(params.model);
      if (m.weightsSha256 !== expectedSha) {
        throw new UserError(`--from: the model in ${params.model} has changed since this render (weights differ); the result would not match`);
      }
    }
    // Asked for threads: start them and wait until they have loaded the model (about a second), so that
    // this render uses them (the instrument, which renders many times, never waits for them).
    if (renderer.threads > 1) await renderer.helpersLoaded(params.model);
    const bar_ =
      !v.json && process.stderr.isTTY
        ? (p: { stage: string; fraction: number }) => process.stderr.write(`\r${p.stage.padEnd(7)} ${bar(p.fraction)} `)
        : undefined;
    const progress =
      server || bar_
        ? (p: { stage: string; fraction: number }) => {
            bar_?.(p);
            server?.publishState({ ...shown, status: `rendering: ${p.stage} ${Math.round(p.fraction * 100)} %` });
          }
        : undefined;
    const res = await renderer.render(
      params,
      { out: v.out, dir: v.dir, force: v.force, encoding: v.float ? 'float32' : 'pcm16' },
      { onProgress: progress },
    );
    if (bar_) process.stderr.write('\r\x1b[K');
    const total = Object.values(res.timings).reduce((s, x) => s + x, 0);
    const seconds = res.samples.length / res.sampleRate;
    if (v.json) {
      console.log(
        JSON.stringify({
          path: res.path,
          sidecar: res.sidecarPath,
          sampleRate: res.sampleRate,
          frames: res.frames,
          seconds,
          peakDbfs: Number.isFinite(res.peakDbfs) ? res.peakDbfs : null,
          backend: renderer.backend.name,
          threads: renderer.lastInferenceThreads,
          phaseThreads: renderer.lastPhaseThreads,
          timings: res.timings,
          total,
          realTimeFactor: total / seconds,
        }),
      );
    } else {
      console.log(res.path);
      console.error(
        `rendered ${seconds.toFixed(2)} s in ${total.toFixed(2)} s (` +
          Object.entries(res.timings)
            .map(([k, t]) => `${k} ${t.toFixed(2)}`)
            .join(', ') +
          `); sidecar ${res.sidecarPath}`,
      );
    }
    if (server) {
      server.publishState({ ...shown, status: `rendered ${basename(res.path)}` });
      console.error(`listen: playing ${basename(res.path)} in the page; waiting until it has played (Ctrl-C to quit)`);
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await serveRender(server, res, { signal: ac.signal });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    }
    return 0;
  } finally {
    renderer.dispose();
    await server?.close();
  }
}

function bar(f: number, width = 24): string {
  const n = Math.max(0, Math.min(width, Math.round(f * width)));
  return '[' + '#'.repeat(n) + '-'.repeat(width - n) + ']';
}
