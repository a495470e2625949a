/**
 * The editable interpolation curve of the instrument and its drawing.
 *
 * The curve is held as one amount `a` per screen column, at evenly spaced
 * times over the excerpt (column `i` of `n` sits at `t = i / (n − 1)` of the
 * excerpt), exactly the layout of {@link curveFromValues} in
 * `src/engine/curve.ts`, which turns it into the breakpoint curve a render
 * uses: z = a·z_A + (1 − a)·z_B per frame (Tatar, Bisig, Pasquier 2020),
 * frames resampled linearly from these columns. Values outside [0, 1]
 * extrapolate beyond A (> 1) or beyond B (< 0).
 *
 * Editing operations are pure functions returning new arrays; the drawing is
 * a braille line (2 × 4 dots per character) over a value range such as
 * [−1.3, 1.3], with the extrapolation zones marked per cell so the component
 * can colour them distinctly.
 */
import { BrailleCanvas } from './waveform.ts';

/** Value ranges offered by the editor, cycled with one key; the first is the default (±1.3). */
export const CURVE_RANGES: readonly (readonly [number, number])[] = [
  [-1.3, 1.3],
  [-0.3, 1.3],
  [0, 1],
];

/** Value of a freshly reset curve: the half-way blend of A and B. */
export const RESET_VALUE = 0.5;

/** Clamp `v` to `[lo, hi]` and round to 1/1000 so repeated fine steps do not accumulate float noise. */
export function clampAmount(v: number, lo: number, hi: number): number {
  return Math.round(Math.min(hi, Math.max(lo, v)) * 1000) / 1000;
}

/**
 * Resample a curve to `n` columns by linear interpolation over normalised
 * time (used when the terminal width changes or a preset is loaded).
 * A one-value curve becomes a constant.
 */
export function resampleValues(values: readonly number[], n: number): number[] {
  if (n <= 0) return [];
  if (values.length === 0) return new Array<number>(n).fill(RESET_VALUE);
  if (values.length === n) return [...values];
  if (values.length === 1) return new Array<number>(n).fill(values[0]);
  const out: number[] = [];
  const m = values.length - 1;
  for (let i = 0; i < n; i++) {
    const x = n === 1 ? 0 : (i / (n - 1)) * m;
    const k = Math.min(m - 1, Math.floor(x));
    const u = x - k;
    out.push(Math.round((values[k] * (1 - u) + values[k + 1] * u) * 1e6) / 1e6);
  }
  return out;
}

/** Set the value at `index`, clamped to the range. */
export function setValue(values: readonly number[], index: number, v: number, range: readonly [number, number]): number[] {
  const out = [...values];
  if (index >= 0 && index < out.length) out[index] = clampAmount(v, range[0], range[1]);
  return out;
}

/** A straight line from column `from` (keeping its value) to column `to` (keeping its value); the columns in between are replaced. */
export function drawLine(values: readonly number[], from: number, to: number): number[] {
  const out = [...values];
  const a = Math.max(0, Math.min(from, to));
  const b = Math.min(out.length - 1, Math.max(from, to));
  if (b - a < 2) return out;
  const va = out[a];
  const vb = out[b];
  for (let i = a + 1; i < b; i++) out[i] = Math.round((va + ((vb - va) * (i - a)) / (b - a)) * 1000) / 1000;
  return out;
}

/**
 * Smooth the curve with one pass of the binomial filter [1, 2, 1] / 4
 * (ends use [2, 1] / 3 so that a constant stays constant). Repeated passes
 * approach a Gaussian blur; a straight line is left unchanged inside.
 */
export function smoothValues(values: readonly number[]): number[] {
  const n = values.length;
  if (n < 3) return [...values];
  const out: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v =
      i === 0
        ? (2 * values[0] + values[1]) / 3
        : i === n - 1
          ? (2 * values[n - 1] + values[n - 2]) / 3
          : (values[i - 1] + 2 * values[i] + values[i + 1]) / 4;
    out[i] = Math.round(v * 1000) / 1000;
  }
  return out;
}

/** What a character cell of the curve view shows, for colouring. */
export type CurveCellKind =
  /** Curve dots inside [0, 1]. */
  | 'curve'
  /** Curve dots beyond A (> 1) or beyond B (< 0). */
  | 'curve-extra'
  /** Empty cell inside [0, 1]. */
  | 'empty'
  /** Empty cell in an extrapolation zone. */
  | 'zone'
  /** Guide dots of the a = 0 and a = 1 lines. */
  | 'guide';

/** A drawn curve: `rows` lines of `columns` characters and the kind of every cell (`kinds[row][column]`). */
export interface CurveDrawing {
  lines: string[];
  kinds: CurveCellKind[][];
}

/**
 * Draw the curve as a braille line plot.
 *
 * Each value gets two dot columns (its own value and the midpoint to the
 * next), vertically joined to the previous dot so steep edges stay
 * connected. Row 0 is the top (`range[1]`). Dotted guide lines mark a = 1
 * and a = 0 where they fall inside the range.
 *
 * @param values one amount per column (length = columns).
 * @param rows height in characters (>= 1).
 * @param range `[lo, hi]` shown from bottom to top.
 */
export function drawCurve(values: readonly number[], rows: number, range: readonly [number, number]): CurveDrawing {
  const columns = values.length;
  const [lo, hi] = range;
  const dotRows = rows * 4;
  const toY = (v: number) => Math.min(dotRows - 1, Math.max(0, Math.round(((hi - v) / (hi - lo)) * (dotRows - 1))));
  const curve = new BrailleCanvas(columns, rows);
  let prevY = -1;
  for (let i = 0; i < columns; i++) {
    const v0 = values[i];
    const v1 = i + 1 < columns ? (values[i] + values[i + 1]) / 2 : values[i];
    const y0 = toY(v0);
    const y1 = toY(v1);
    curve.vline(2 * i, prevY < 0 ? y0 : prevY, y0);
    curve.vline(2 * i + 1, y0, y1);
    prevY = y1;
  }
  const guides = new BrailleCanvas(columns, rows);
  for (const g of [0, 1]) {
    if (g < lo || g > hi) continue;
    const y = toY(g);
    for (let x = 0; x < columns * 2; x += 4) guides.set(x, y);
  }
  const curveLines = curve.toLines();
  const guideLines = guides.toLines();
  const lines: string[] = [];
  const kinds: CurveCellKind[][] = [];
  for (let r = 0; r < rows; r++) {
    // The value at the centre of this character row decides its zone.
    const centre = hi - ((r * 4 + 1.5) / (dotRows - 1)) * (hi - lo);
    const inZone = centre > 1 || centre < 0;
    let line = '';
    const rowKinds: CurveCellKind[] = [];
    for (let c = 0; c < columns; c++) {
      if (curve.hasDots(c, r)) {
        line += curveLines[r][c];
        const v = values[c];
        rowKinds.push(v > 1 || v < 0 ? 'curve-extra' : 'curve');
      } else if (guides.hasDots(c, r)) {
        line += guideLines[r][c];
        rowKinds.push('guide');
      } else {
        line += ' ';
        rowKinds.push(inZone ? 'zone' : 'empty');
      }
    }
    lines.push(line);
    kinds.push(rowKinds);
  }
  return { lines, kinds };
}

/**
 * Labels for the value gutter left of the curve, one per row (right-aligned
 * to `width`): the top and bottom of the range, `1 A` and `0 B` on the rows
 * holding a = 1 and a = 0.
 */
export function curveGutter(rows: number, range: readonly [number, number], width: number): string[] {
  const [lo, hi] = range;
  const dotRows = rows * 4;
  const rowOf = (v: number) => Math.floor(Math.min(dotRows - 1, Math.max(0, Math.round(((hi - v) / (hi - lo)) * (dotRows - 1)))) / 4);
  const labels = new Array<string>(rows).fill('');
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/^(-?)0\./, '$1.'));
  labels[0] = fmt(hi);
  labels[rows - 1] = fmt(lo);
  if (1 <= hi && 1 >= lo) labels[rowOf(1)] = 'A 1';
  if (0 <= hi && 0 >= lo) labels[rowOf(0)] = 'B 0';
  return labels.map((l) => l.slice(0, width).padStart(width));
}
