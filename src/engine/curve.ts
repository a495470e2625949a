/**
 * Interpolation curves: the amount `a` of excerpt A per frame.
 *
 * Mixing follows the original LTS (Tatar, Bisig, Pasquier 2020):
 * `z = a * z_A + (1 - a) * z_B`, so `a = 0.3` is 30 % of excerpt A; values
 * above 1 or below 0 extrapolate (1.2 moves 20 % beyond A, away from B).
 *
 * A curve is a list of breakpoints `(t, a)` over normalised time `t` in
 * [0, 1], joined linearly or smoothly (monotone cubic, so it never
 * overshoots between breakpoints), and resampled to any number of frames.
 * The same representation serves the CLI spec (`0:0,0.5:1.2,1:0`), preset
 * files in `presets/` and the curve editor of the TUI.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../io/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

/** How breakpoints are joined. */
export type CurveInterpolation = 'linear' | 'smooth';

/** A curve: breakpoints sorted by time, `t` in [0, 1], `a` finite. */
export interface Curve {
  points: [number, number][];
  interpolation: CurveInterpolation;
}

/** The folder of the shipped presets (`presets/` at the top of the project). */
export const PRESETS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'presets');

/** Largest |a| accepted anywhere: far beyond any musical use, it keeps a typo (`12` for `1.2`) from blowing up the decoder. */
export const MAX_ABS_AMOUNT = 10;

/**
 * Validate and normalise a curve: sorts points, checks ranges, and makes
 * sure the curve spans t = 0 and t = 1 (a missing end holds the nearest value).
 *
 * @param points breakpoints `(t, a)`; `t` in [0, 1], `a` finite with |a| <= 10.
 * @param interpolation `linear` (default) or `smooth`.
 * @param what names the source in error messages (a file, `--curve`).
 */
export function makeCurve(points: [number, number][], interpolation: CurveInterpolation = 'linear', what = 'curve'): Curve {
  if (points.length === 0) throw new UserError(`${what}: no points; give at least one t:a pair such as 0:0,1:1`);
  for (const [t, a] of points) {
    if (!Number.isFinite(t) || t < 0 || t > 1) throw new UserError(`${what}: time ${t} is outside 0..1; breakpoint times are normalised`);
    if (!Number.isFinite(a)) throw new UserError(`${what}: amount ${a} at t=${t} is not a finite number; use values like 0, 0.5, 1.2`);
    if (Math.abs(a) > MAX_ABS_AMOUNT) throw new UserError(`${what}: amount ${a} at t=${t} is beyond ±${MAX_ABS_AMOUNT}; 1.2 already extrapolates 20 %`);
  }
  if (interpolation !== 'linear' && interpolation !== 'smooth') {
    throw new UserError(`${what}: unknown interpolation '${String(interpolation)}'; use linear or smooth`);
  }
  const sorted = [...points].map(([t, a]) => [t, a] as [number, number]).sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i][0] === sorted[i - 1][0]) throw new UserError(`${what}: two breakpoints at t=${sorted[i][0]}; give each time once`);
  }
  if (sorted[0][0] > 0) sorted.unshift([0, sorted[0][1]]);
  if (sorted[sorted.length - 1][0] < 1) sorted.push([1, sorted[sorted.length - 1][1]]);
  return { points: sorted, interpolation };
}

/**
 * Parse a CLI curve spec.
 *
 * Forms: a constant (`0.5`); breakpoints `t:a` separated by commas
 * (`0:0,0.5:1.2,1:0`), optionally prefixed by `smooth:` or `linear:`;
 * or the name of a preset in `presets/` (`ramp-a-to-b`).
 *
 * @param spec the text given by the user.
 * @param presetDirs folders searched for a preset name, in order.
 * @param source how error messages name where the spec came from (default `--curve`; a sidecar
 *   passes e.g. `old.json: "params.curve"`); the spec itself is quoted after it.
 * @throws UserError (one line) naming the source, the spec and the form expected.
 */
export function parseCurveSpec(spec: string, presetDirs: string[] = [PRESETS_DIR], source = '--curve'): Curve {
  const text = spec.trim();
  if (text === '') throw new UserError(`${source} is empty; give t:a pairs such as 0:0,1:1, a constant, or a preset name`);
  const what = `${source} '${spec}'`;
  let interpolation: CurveInterpolation = 'linear';
  let body = text;
  const m = /^(smooth|linear):(.*)$/s.exec(text);
  if (m) {
    interpolation = m[1] as CurveInterpolation;
    body = m[2].trim();
    if (body === '') {
      throw new UserError(`${what}: the breakpoints after '${m[1]}:' are missing; give t:a pairs after it, e.g. ${m[1]}:0:0,0.5:1.2,1:0`);
    }
    if (!body.includes(':') && !/^[-+.\d]/.test(body)) {
      throw new UserError(`${what}: expected t:a pairs after '${m[1]}:', e.g. ${m[1]}:0:0,0.5:1.2,1:0 (a preset takes no prefix)`);
    }
  } else if (/^[A-Za-z][\w.-]*$/.test(body) && !/^(nan|inf|infinity)$/i.test(body)) {
    return loadPresetByName(body, presetDirs);
  }
  if (!body.includes(':')) {
    const a = parseNumber(body, what);
    return makeCurve([[0, a], [1, a]], interpolation, what);
  }
  const points: [number, number][] = body.split(',').map((pair) => {
    const parts = pair.split(':');
    if (parts.length !== 2) throw new UserError(`${what}: '${pair}' is not a t:a pair (e.g. 0.5:1.2)`);
    return [parseNumber(parts[0], what), parseNumber(parts[1], what)];
  });
  return makeCurve(points, interpolation, what);
}

/** A plain decimal number (`1`, `-0.5`, `.5`, `1e-3`), else a one-line UserError naming `what`. */
function parseNumber(s: string, what: string): number {
  const t = s.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) {
    throw new UserError(`${what}: '${t}' is not a number; use values like 0, 0.5, 1.2`);
  }
  return Number(t);
}

/**
 * Evaluate a curve at `n` evenly spaced times `t_i = i / (n - 1)` (one per
 * frame). Linear joins are exact; `smooth` uses monotone cubic Hermite
 * interpolation (Fritsch & Carlson 1980), which never overshoots the
 * breakpoints, so a curve drawn inside [0, 1] stays inside it.
 *
 * @returns Float32Array of length `n`.
 */
export function sampleCurve(curve: Curve, n: number): Float32Array {
  const out = new Float32Array(n);
  const pts = curve.points;
  const k = pts.length;
  const slopes = curve.interpolation === 'smooth' ? monotoneSlopes(pts) : null;
  let seg = 0;
  for (let i = 0; i < n; i++) {
    const t = n === 1 ? 0 : i / (n - 1);
    while (seg < k - 2 && t > pts[seg + 1][0]) seg++;
    if (k === 1) {
      out[i] = pts[0][1];
      continue;
    }
    const [t0, a0] = pts[seg];
    const [t1, a1] = pts[seg + 1];
    const h = t1 - t0;
    const u = h > 0 ? Math.min(1, Math.max(0, (t - t0) / h)) : 0;
    if (!slopes) {
      out[i] = a0 + (a1 - a0) * u;
    } else {
      const u2 = u * u;
      const u3 = u2 * u;
      out[i] =
        (2 * u3 - 3 * u2 + 1) * a0 + (u3 - 2 * u2 + u) * h * slopes[seg] + (-2 * u3 + 3 * u2) * a1 + (u3 - u2) * h * slopes[seg + 1];
    }
  }
  return out;
}

/** Fritsch–Carlson tangents for monotone cubic interpolation. */
function monotoneSlopes(pts: [number, number][]): Float64Array {
  const k = pts.length;
  const d = new Float64Array(k - 1);
  for (let i = 0; i < k - 1; i++) d[i] = (pts[i + 1][1] - pts[i][1]) / (pts[i + 1][0] - pts[i][0]);
  const m = new Float64Array(k);
  m[0] = d[0];
  m[k - 1] = d[k - 2];
  for (let i = 1; i < k - 1; i++) m[i] = d[i - 1] * d[i] <= 0 ? 0 : (d[i - 1] + d[i]) / 2;
  for (let i = 0; i < k - 1; i++) {
    if (d[i] === 0) {
      m[i] = 0;
      m[i + 1] = 0;
      continue;
    }
    const al = m[i] / d[i];
    const be = m[i + 1] / d[i];
    const s = al * al + be * be;
    if (s > 9) {
      const tau = 3 / Math.sqrt(s);
      m[i] = tau * al * d[i];
      m[i + 1] = tau * be * d[i];
    }
  }
  return m;
}

/**
 * A curve from `n` values at evenly spaced times (the TUI's editable
 * curve), joined linearly.
 */
export function curveFromValues(values: ArrayLike<number>, what = 'curve'): Curve {
  const n = values.length;
  if (n === 0) throw new UserError(`${what}: no values`);
  const pts: [number, number][] = [];
  for (let i = 0; i < n; i++) pts.push([n === 1 ? 0 : i / (n - 1), values[i]]);
  return makeCurve(pts, 'linear', what);
}

/** Text form of a curve, accepted back by {@link parseCurveSpec}. */
export function formatCurveSpec(curve: Curve): string {
  const body = curve.points.map(([t, a]) => `${round6(t)}:${round6(a)}`).join(',');
  return curve.interpolation === 'smooth' ? `smooth:${body}` : body;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** A preset file: `presets/NAME.curve.json`. */
export interface CurvePresetFile {
  kind: 'lts-curve';
  version: 1;
  name: string;
  description?: string;
  interpolation: CurveInterpolation;
  points: [number, number][];
}

const PRESET_SUFFIX = '.curve.json';

/** Read and validate a curve preset file. */
export function loadPresetFile(path: string): Curve & { name: string; description?: string } {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`curve preset ${path}: cannot be read; check the path`);
  }
  let json: Partial<CurvePresetFile>;
  try {
    json = JSON.parse(raw) as Partial<CurvePresetFile>;
  } catch (e) {
    throw new UserError(`curve preset ${path}: invalid JSON (${(e as Error).message.split('\n')[0]}); fix or delete the file`);
  }
  if (json.kind !== 'lts-curve' || !Array.isArray(json.points)) {
    throw new UserError(`curve preset ${path}: not an lts curve preset (needs "kind": "lts-curve" and "points")`);
  }
  if (json.version !== 1) throw new UserError(`curve preset ${path}: version ${String(json.version)} is not supported by this lts; upgrade lts`);
  const pts = json.points.map((p) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
      throw new UserError(`curve preset ${path}: each point must be [t, a] with two numbers`);
    }
    return [p[0], p[1]] as [number, number];
  });
  const curve = makeCurve(pts, json.interpolation ?? 'linear', `curve preset ${path}`);
  return { ...curve, name: json.name ?? basename(path, PRESET_SUFFIX), description: json.description };
}

/** Find a preset by name in the given folders. */
export function loadPresetByName(name: string, presetDirs: string[] = [PRESETS_DIR]): Curve & { name: string } {
  for (const dir of presetDirs) {
    const p = join(dir, name + PRESET_SUFFIX);
    if (existsSync(p)) return loadPresetFile(p);
  }
  const known = listPresets(presetDirs).map((p) => p.name);
  throw new UserError(`curve preset '${name}' not found; known presets: ${known.join(', ') || '(none)'}`);
}

/** List presets (name, path, description) in the given folders; later folders do not shadow earlier ones. */
export function listPresets(presetDirs: string[] = [PRESETS_DIR]): { name: string; path: string; description?: string }[] {
  const seen = new Map<string, { name: string; path: string; description?: string }>();
  for (const dir of presetDirs) {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of entries.sort()) {
      if (!f.endsWith(PRESET_SUFFIX)) continue;
      const name = f.slice(0, -PRESET_SUFFIX.length);
      if (seen.has(name)) continue;
      let description: string | undefined;
      try {
        description = (JSON.parse(readFileSync(join(dir, f), 'utf8')) as CurvePresetFile).description;
      } catch {
        description = '(unreadable)';
      }
      seen.set(name, { name, path: join(dir, f), description });
    }
  }
  return [...seen.values()];
}

/** Save a curve as a preset, atomically. Names are limited to letters, digits, `-`, `_` and `.`. */
export function savePreset(dir: string, name: string, curve: Curve, description?: string): string {
  if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(name)) {
    throw new UserError(`preset name '${name}' is not allowed; use letters, digits, - and _ (max 64)`);
  }
  const file: CurvePresetFile = {
    kind: 'lts-curve',
    version: 1,
    name,
    ...(description ? { description } : {}),
    interpolation: curve.interpolation,
    points: curve.points.map(([t, a]) => [round6(t), round6(a)]),
  };
  const path = join(dir, name + PRESET_SUFFIX);
  writeFileAtomic(path, JSON.stringify(file, null, 2) + '\n');
  return path;
}
