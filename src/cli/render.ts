/**
 * `lts render`: the headless interpolate_two, for scripts and SSH sessions.
 */
import { parseCommandArgs } from './args.ts';
import { readFileSync, statSync } from 'node:fs';
import { resolve, dirname, isAbsolute, basename, join } from 'node:path';
import { UserError } from '../io/errors.ts';
import { DEFAULT_MODEL_DIR } from '../paths.ts';
import { VERSION } from '../version.ts';
import { PHASE_METHODS, parsePhaseMethod } from '../dsp/phase.ts';
import { Renderer, RENDER_DEFAULTS, checkRenderTarget, defaultPhaseMethod, defaultPhaseSettings } from '../engine/render.ts';
import { parseThreads } from '../engine/vae-helpers.ts';
import { LEGACY_PHASE_SETTINGS, type Excerpt, type PhaseSettings, type RenderParams, type RenderSidecar } from '../engine/render-types.ts';
import { listPresets, parseCurveSpec, sampleCurve } from '../engine/curve.ts';
import { MIN_DURATION_S } from '../engine/excerpt.ts';
import { extractListenFlags, startListening, LISTEN_HELP } from './listen.ts';
import { serveRender } from '../io/listen-bridge.ts';
import type { ListenState } from '../io/listen-server.ts';

export const RENDER_HELP = `usage: lts render --a FILE[@START_S] --b FILE[@START_S] --duration S [options]

Interpolate between two excerpts of the same duration through the model's latent space
(z = a·z_A + (1 − a)·z_B per frame; a = 1 is excerpt A, 0 is B, outside 0..1 extrapolates)
and write a WAV with a JSON sidecar that reproduces it.

  --model DIR           model folder (default: models/default)
  --a FILE[@START_S]    excerpt A: audio file and start in seconds (default start 0); a file whose name
                          contains @ is taken as it is if it exists, else give it a start: take@2.wav@0
  --b FILE[@START_S]    excerpt B
  --duration S          excerpt duration in seconds, shared by A and B (${MIN_DURATION_S} to 600)
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
  --out FILE.wav        output file; its sidecar FILE.json goes beside it (refused if either exists, unless --force)
  --dir DIR             without --out: numbered renders in DIR (default: ./renders), never overwritten
                          (numbers whose WAV or sidecar exists are skipped)
  --force               allow --out to overwrite the WAV and its sidecar
  --float               write 32-bit float WAV (default: 16-bit PCM)
  --from SIDECAR.json   re-render exactly what a sidecar describes; only --out, --dir, --force, --float,
                          --json, --threads, --backend and --listen may be added (options that would change
                          the render, such as --duration or --curve, are refused: edit the sidecar instead)
  --backend B           auto | tensorflow | wasm | cpu (default: auto)
  --threads N           threads that share the network's encode and decode, 1-16 or auto (the cores
                          available, up to 2), and the phase iterations (STFT models, at least about
                          0.56 s of audio per thread); the render waits for them to start (about 1 s),
                          so this pays for large models and long excerpts; default 1; same bytes for any N
  --json                print the result as JSON (output path, timings per stage, real-time factor)
${LISTEN_HELP}
                        with --listen, lts render waits until the page has played the render (or Ctrl-C)
  -h, --help            this help

Numbers are plain decimals (2, 0.5, -1, 1e-3). The WAV and its sidecar are written together or not at all.`;

/** A plain decimal number: digits with an optional sign, point and exponent (`2`, `-0.5`, `.5`, `1e-3`); no hex, no `Infinity`. */
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Parse `FILE@START` (START in seconds, default 0). The start follows the last `@`; an argument that names an
 * existing file as a whole is that file from 0 s, so a file whose name contains `@` works as it is (or with a
 * start of its own: `take@2.wav@0`).
 *
 * @param spec the argument as given.
 * @param flag the option, for messages (`--a`).
 * @throws UserError (one line) for an empty argument or a start that is not a number of seconds >= 0.
 */
export function parseExcerpt(spec: string, flag: string): Excerpt {
  if (spec.trim() === '') throw new UserError(`${flag} is empty; give an audio file and optionally a start in seconds, e.g. ${flag} take.wav@1.5`);
  const at = spec.lastIndexOf('@');
  if (at <= 0 || isExistingFile(spec)) return { path: spec, start: 0 };
  const file = spec.slice(0, at);
  const startText = spec.slice(at + 1);
  if (!DECIMAL.test(startText.trim()) || Number(startText) < 0) {
    throw new UserError(
      isExistingFile(file)
        ? `${flag} ${spec}: start '${startText}' is not a number of seconds >= 0; use FILE@START, e.g. ${file}@1.5`
        : `${flag} ${spec}: there is no file ${spec}, and '${startText}' after its last @ is not a start in seconds >= 0; ` +
            `use FILE@START, e.g. take.wav@1.5; a file whose name contains @ takes a start too, e.g. ${spec}@0`,
    );
  }
  return { path: file, start: Number(startText) };
}

/** Whether `path` exists and is not a folder. */
function isExistingFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A numeric option as a plain decimal number (see {@link DECIMAL}).
 * @param v the value given, or undefined when the option is absent.
 * @param flag the option, for messages.
 * @param fallback the value when absent.
 * @param example a valid value for the message.
 */
function numberFlag(v: string | undefined, flag: string, fallback: number, example: string): number {
  if (v === undefined) return fallback;
  if (!DECIMAL.test(v.trim())) throw new UserError(`${flag} '${v}' is not a number; write a plain decimal number, e.g. ${flag} ${example}`);
  return Number(v);
}

/** The options that decide what is rendered, which `--from` takes from the sidecar instead (see the help). */
const RENDER_OPTIONS = ['model', 'a', 'b', 'duration', 'curve', 'phase', 'iters', 'momentum', 'normalize', 'sample', 'seed', 'fade'] as const;

/** Largest sidecar read: a real one is about 1 KB. */
const MAX_SIDECAR_BYTES = 1 << 20;

/**
 * Read a render sidecar and check its structure and every field it needs, filling in the phase settings of
 * older versions (see {@link LEGACY_PHASE_SETTINGS}). `modelWeightsSha256` and `lts` may be absent (no model
 * check, no version note); fields the render does not use (timings, backend, ...) are not checked. AGLA's
 * `acceleration` and PGHI's `timeDerivative` are checked with the render's parameters.
 *
 * @param path the sidecar as given to `--from`; messages name it as given.
 * @throws UserError (one line) naming the file and, for a bad field, the field (`"params.duration"`), what it
 *   must be and what it holds.
 */
export function readSidecar(path: string): RenderSidecar {
  if (path.trim() === '') throw new UserError('--from is empty; give the .json sidecar written beside a render, e.g. --from renders/render-0001.json');
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      throw new UserError(`--from ${path} is a folder; give the .json sidecar written beside a render, e.g. --from ${join(path, 'render-0001.json')}`);
    }
    if (!st.isFile()) throw new UserError(`--from ${path} is not a regular file; give the .json sidecar written beside a render`);
    if (st.size > MAX_SIDECAR_BYTES) throw new UserError(`--from ${path} is ${st.size} bytes, too large for a render sidecar (about 1 KB); give the .json written beside a render`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `--from ${path}: file not found; give the .json written beside a render`
        : code === 'EACCES' || code === 'EPERM'
          ? `--from ${path}: cannot be read (permission denied); check its permissions`
          : `--from ${path}: cannot be read (${String((e as Error).message).split('\n')[0]})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--from ${path}: not valid JSON (${(e as Error).message.split('\n')[0]}); give the .json written beside a render`);
  }
  const root = json as Record<string, unknown> | null;
  if (typeof root !== 'object' || root === null || Array.isArray(root) || root.kind !== 'lts-render') {
    throw new UserError(`--from ${path}: not an lts render sidecar (the .json beside a render, with "kind": "lts-render")`);
  }
  const f = sidecarFields(path);
  if (typeof root.version === 'number' && Number.isInteger(root.version) && root.version > 1) {
    throw new UserError(`--from ${path}: sidecar version ${root.version} is newer than this lts; upgrade lts`);
  }
  if (root.version !== 1) f.bad('version', '1', root.version);
  if (root.lts !== undefined) f.text(root.lts, 'lts', 'the version of lts that wrote it (text)', true);
  if (root.modelWeightsSha256 !== undefined) f.text(root.modelWeightsSha256, 'modelWeightsSha256', "the sha256 of the model's weights (text)", true);
  const p = f.object(root.params, 'params', 'the render parameters { "model", "a", "b", "duration", ... }');
  const excerpt = (v: unknown, name: string): Excerpt => {
    const o = f.object(v, `params.${name}`, `an excerpt { "path": FILE, "start": SECONDS }`);
    return {
      path: f.text(o.path, `params.${name}.path`, "the audio file's path (text)"),
      start: f.number(o.start, `params.${name}.start`, 'a start in seconds >= 0', (x) => x >= 0),
    };
  };
  const model = f.text(p.model, 'params.model', 'the model folder (text)');
  const a = excerpt(p.a, 'a');
  const b = excerpt(p.b, 'b');
  const duration = f.number(p.duration, 'params.duration', `a number of seconds from ${MIN_DURATION_S} to 600`, (x) => x >= MIN_DURATION_S && x <= 600);
  const curve = f.text(p.curve, 'params.curve', 'a curve spec (text) such as "0:1,1:0"');
  try {
    parseCurveSpec(curve, undefined, `${path}: "params.curve"`);
  } catch (e) {
    if (!(e instanceof UserError) || e.message.startsWith(`${path}:`)) throw e;
    throw new UserError(`${path}: "params.curve": ${e.message}`, { cause: e }); // a preset it names is missing
  }
  const phase = f.object(p.phase, 'params.phase', 'the phase settings { "method", "iterations", "momentum", ... }');
  const method = phase.method;
  if (typeof method !== 'string' || !(PHASE_METHODS as readonly string[]).includes(method)) {
    f.bad('params.phase.method', `one of ${PHASE_METHODS.map((m) => JSON.stringify(m)).join(', ')}`, method);
  }
  f.number(phase.iterations, 'params.phase.iterations', 'a whole number from 0 to 512', (x) => Number.isInteger(x) && x >= 0 && x <= 512);
  f.number(phase.momentum, 'params.phase.momentum', 'a number from 0 to below 2 (0.99 by default)', (x) => x >= 0 && x < 2);
  if (phase.tolerance !== undefined) f.number(phase.tolerance, 'params.phase.tolerance', 'a number between 0 and 1 (1e-4 by default)', (x) => x > 0 && x < 1);
  const normalizeDbfs =
    p.normalizeDbfs === null ? null : f.number(p.normalizeDbfs, 'params.normalizeDbfs', 'a level in dBFS from -60 to 0, or null for none', (x) => x >= -60 && x <= 0);
  const sample = typeof p.sample === 'boolean' ? p.sample : f.bad('params.sample', 'true or false', p.sample);
  const params: RenderParams = {
    model,
    a,
    b,
    duration,
    curve,
    // Sidecars from before a phase setting was recorded were rendered with its old value (see LEGACY_PHASE_SETTINGS).
    phase: { ...LEGACY_PHASE_SETTINGS, ...phase } as PhaseSettings,
    normalizeDbfs,
    sample,
    seed: f.number(p.seed, 'params.seed', 'a whole number from 0 to 4294967295', (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32),
    fadeMs: f.number(p.fadeMs, 'params.fadeMs', 'milliseconds from 0 to 1000', (x) => x >= 0 && x <= 1000),
  };
  return { ...(root as unknown as RenderSidecar), params };
}

/**
 * Checks of a sidecar's fields, each throwing a one-line UserError that names the file, the field, what it must
 * be and what it holds, and the fix.
 * @param file the sidecar as given to `--from`.
 */
function sidecarFields(file: string) {
  const show = (v: unknown): string => {
    const t = JSON.stringify(v);
    return t.length > 60 ? `${t.slice(0, 57)}...` : t;
  };
  const bad = (field: string, want: string, got: unknown): never => {
    throw new UserError(
      got === undefined
        ? `${file}: "${field}" is missing; it must be ${want}; fix the field or render again without --from`
        : `${file}: "${field}" must be ${want}, got ${show(got)}; fix the field or render again without --from`,
    );
  };
  return {
    bad,
    object(v: unknown, field: string, want: string): Record<string, unknown> {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(field, want, v);
      return v as Record<string, unknown>;
    },
    number(v: unknown, field: string, want: string, ok: (x: number) => boolean): number {
      if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) return bad(field, want, v);
      return v;
    },
    text(v: unknown, field: string, want: string, emptyOk = false): string {
      if (typeof v !== 'string' || (!emptyOk && v.trim() === '')) return bad(field, want, v);
      return v;
    },
  };
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
  if (v.from !== undefined) {
    const extra = RENDER_OPTIONS.filter((k) => v[k] !== undefined).map((k) => `--${k}`);
    if (extra.length > 0 && v.from.trim() !== '') {
      throw new UserError(
        `--from ${v.from} re-renders exactly what the sidecar records, so ${extra.length === 1 ? extra[0] : `${extra.slice(0, -1).join(', ')} and ${extra[extra.length - 1]}`} cannot be added; leave ${extra.length === 1 ? 'it' : 'them'} out ` +
          '(only --out, --dir, --force, --float, --json, --threads, --backend and --listen go with --from), edit the sidecar, or render without --from',
      );
    }
    const sc = readSidecar(v.from);
    const base = dirname(resolve(v.from));
    const rel = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
    params = { ...sc.params, model: rel(sc.params.model), a: { ...sc.params.a, path: rel(sc.params.a.path) }, b: { ...sc.params.b, path: rel(sc.params.b.path) } };
    expectedSha = sc.modelWeightsSha256;
    if (typeof sc.lts === 'string' && sc.lts !== VERSION) {
      process.stderr.write(`note: ${v.from} was made by lts ${sc.lts}; this is lts ${VERSION}, whose phase reconstruction may differ in the last bits\n`);
    }
  } else {
    if (v.a === undefined || v.b === undefined) throw new UserError('two excerpts are needed: --a FILE[@START] and --b FILE[@START]; see lts render --help');
    if (v.duration === undefined) throw new UserError('--duration S is needed (seconds, shared by both excerpts)');
    if (v.model !== undefined && v.model.trim() === '') throw new UserError('--model is empty; give a model folder, or leave --model out for models/default');
    const a = parseExcerpt(v.a, '--a');
    const b = parseExcerpt(v.b, '--b');
    const duration = numberFlag(v.duration, '--duration', NaN, '2');
    if (duration < MIN_DURATION_S) {
      throw new UserError(`--duration ${v.duration} is shorter than the minimum of ${MIN_DURATION_S} s; use seconds from ${MIN_DURATION_S} to 600, e.g. --duration 2`);
    }
    params = {
      model: resolve(v.model ?? DEFAULT_MODEL_DIR),
      a: { path: resolve(a.path), start: a.start },
      b: { path: resolve(b.path), start: b.start },
      duration,
      curve: v.curve ?? '0:1,1:0',
      phase: defaultPhaseSettings(
        v.phase !== undefined ? parsePhaseMethod(v.phase) : RENDER_DEFAULTS.method,
        numberFlag(v.iters, '--iters', RENDER_DEFAULTS.iterations, '32'),
        numberFlag(v.momentum, '--momentum', RENDER_DEFAULTS.momentum, '0.99'),
      ),
      normalizeDbfs: v.normalize === undefined ? null : numberFlag(v.normalize, '--normalize', 0, '-1'),
      sample: v.sample ?? false,
      seed: numberFlag(v.seed, '--seed', RENDER_DEFAULTS.seed, '7'),
      fadeMs: numberFlag(v.fade, '--fade', RENDER_DEFAULTS.fadeMs, '10'),
    };
  }
  if (v.threads !== undefined && v.threads !== 'auto' && !/^\d+$/.test(v.threads)) {
    throw new UserError(`--threads ${v.threads}: use auto or a whole number of threads from 1 to 16`);
  }
  const target = { out: v.out, dir: v.dir, force: v.force, encoding: v.float ? ('float32' as const) : ('pcm16' as const) };
  // A bad --out or --dir is refused now rather than after the render.
  checkRenderTarget(target);

  const curveShown = listen ? Array.from(sampleCurve(parseCurveSpec(params.curve), 256)) : null;
  const server = listen ? await startListening(listen, v.out !== undefined ? dirname(resolve(v.out)) : resolve(v.dir ?? 'renders')) : null;
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
    if (v.from === undefined && v.phase === undefined) {
      // No --phase: the best method this model supports (PGHI needs an STFT model).
      const m = await renderer.loadModel(params.model);
      params.phase.method = defaultPhaseMethod(m.transform.config.kind);
    }
    if (expectedSha) {
      const m = await renderer.loadModel(params.model);
      if (m.weightsSha256 !== expectedSha) {
        throw new UserError(
          `--from ${v.from}: the model in ${params.model} has changed since this render (its weights' sha256 is ${m.weightsSha256.slice(0, 12)}…, ` +
            `the sidecar records ${expectedSha.slice(0, 12)}…), so the result would not match; restore that model (or point "params.model" at a copy of it), ` +
            `or render the same settings without --from to hear the changed model`,
        );
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
    const res = await renderer.render(params, target, { onProgress: progress });
    if (bar_) process.stderr.write('\r\x1b[K');
    for (const w of res.warnings) process.stderr.write(`lts render: warning: ${w}\n`);
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
          warnings: res.warnings,
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
