/**
 * Waveform view-model: min/max envelopes of an audio signal drawn with
 * Unicode braille characters (U+2800–U+28FF), plus a labelled time axis.
 *
 * A braille cell holds a 2 × 4 grid of dots, so a view `columns` characters
 * wide and `rows` characters high has `2·columns` dot columns and `4·rows`
 * dot rows. Every dot column covers an equal slice of the visible time range;
 * it is filled from the slice's minimum to its maximum sample, the classic
 * min/max waveform of audio editors, which never hides a transient however
 * far the view is zoomed out. Amplitudes are scaled by the file's peak so that
 * quiet files stay legible in a few rows.
 *
 * Everything here is pure and synchronous; components only lay the strings out.
 */

/** Samples per block of the precomputed envelope used for zoomed-out views. */
export const PEAK_BLOCK = 256;

/** A mono signal with a block-wise min/max envelope, ready for fast drawing at any zoom. */
export interface WaveformData {
  /** Mono samples. */
  samples: Float32Array;
  sampleRate: number;
  /** Duration in seconds (`samples.length / sampleRate`). */
  duration: number;
  /** Minimum of each block of {@link PEAK_BLOCK} samples; length `ceil(samples.length / PEAK_BLOCK)`. */
  blockMin: Float32Array;
  /** Maximum of each block of {@link PEAK_BLOCK} samples. */
  blockMax: Float32Array;
  /** Largest absolute sample value (0 for digital silence). */
  peak: number;
  /** Notes from reading the file (e.g. it is cut off), one line each naming the file; see `AudioData.warnings`. */
  warnings: string[];
}

/**
 * Precompute the block envelope of a mono signal.
 *
 * @param samples mono samples.
 * @param sampleRate sample rate in Hz (> 0).
 */
export function makeWaveformData(samples: Float32Array, sampleRate: number, warnings: string[] = []): WaveformData {
  const nb = Math.ceil(samples.length / PEAK_BLOCK);
  const blockMin = new Float32Array(nb);
  const blockMax = new Float32Array(nb);
  let peak = 0;
  for (let b = 0; b < nb; b++) {
    const end = Math.min(samples.length, (b + 1) * PEAK_BLOCK);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = b * PEAK_BLOCK; i < end; i++) {
      const v = samples[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    blockMin[b] = lo;
    blockMax[b] = hi;
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    if (m > peak) peak = m;
  }
  return { samples, sampleRate, duration: samples.length / sampleRate, blockMin, blockMax, peak, warnings };
}

/**
 * Min/max of the signal over `n` equal slices of the time range `[t0, t1)`.
 * Slices shorter than a block read the samples directly, longer ones combine
 * whole blocks (plus the partial samples at both ends), so the cost is
 * O(n + blocks in view). Slices outside the file are reported as `NaN`.
 *
 * @returns `{ min, max }`, each of length `n`.
 */
export function envelope(w: WaveformData, t0: number, t1: number, n: number): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(n).fill(NaN);
  const max = new Float32Array(n).fill(NaN);
  const len = w.samples.length;
  const span = (t1 - t0) / n;
  for (let c = 0; c < n; c++) {
    let a = Math.floor((t0 + c * span) * w.sampleRate);
    let b = Math.floor((t0 + (c + 1) * span) * w.sampleRate);
    if (b <= a) b = a + 1;
    if (b <= 0 || a >= len) continue;
    a = Math.max(0, a);
    b = Math.min(len, b);
    let lo = Infinity;
    let hi = -Infinity;
    let i = a;
    while (i < b) {
      if (i % PEAK_BLOCK === 0 && i + PEAK_BLOCK <= b) {
        const blk = i / PEAK_BLOCK;
        if (w.blockMin[blk] < lo) lo = w.blockMin[blk];
        if (w.blockMax[blk] > hi) hi = w.blockMax[blk];
        i += PEAK_BLOCK;
      } else {
        const v = w.samples[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        i++;
      }
    }
    min[c] = lo;
    max[c] = hi;
  }
  return { min, max };
}

/** Bit of the braille dot at (dot column `x` in 0..1, dot row `y` in 0..3) of a cell. */
const BRAILLE_BITS = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];

/**
 * A grid of braille cells addressed by dot coordinates; `toLines()` gives one
 * string per character row.
 */
export class BrailleCanvas {
  private readonly cells: Uint8Array;

  /**
   * @param columns width in characters (2 dots each).
   * @param rows height in characters (4 dots each).
   */
  constructor(readonly columns: number, readonly rows: number) {
    this.cells = new Uint8Array(Math.max(0, columns * rows));
  }

  /** Set the dot at dot column `x` (0..2·columns−1) and dot row `y` (0..4·rows−1, 0 at the top); outside dots are ignored. */
  set(x: number, y: number): void {
    if (x < 0 || y < 0 || x >= this.columns * 2 || y >= this.rows * 4) return;
    const cx = x >> 1;
    const cy = y >> 2;
    this.cells[cy * this.columns + cx] |= BRAILLE_BITS[x & 1][y & 3];
  }

  /** Set the dots of dot column `x` from dot row `y0` to `y1` inclusive (either order). */
  vline(x: number, y0: number, y1: number): void {
    const a = Math.min(y0, y1);
    const b = Math.max(y0, y1);
    for (let y = a; y <= b; y++) this.set(x, y);
  }

  /** True when the character cell at (column, row) has at least one dot. */
  hasDots(column: number, row: number): boolean {
    return this.cells[row * this.columns + column] !== 0;
  }

  /** One string per character row; empty cells are spaces. */
  toLines(): string[] {
    const out: string[] = [];
    for (let r = 0; r < this.rows; r++) {
      let s = '';
      for (let c = 0; c < this.columns; c++) {
        const v = this.cells[r * this.columns + c];
        s += v === 0 ? ' ' : String.fromCharCode(0x2800 + v);
      }
      out.push(s);
    }
    return out;
  }
}

/**
 * Draw the min/max waveform of `[t0, t1)` as braille.
 *
 * Amplitude +peak maps to the top dot row and −peak to the bottom one; a
 * silent slice still shows one dot on the centre line, and time outside the
 * file stays blank.
 *
 * @param w the signal and its envelope.
 * @param t0 view start in seconds (may be negative or beyond the end: that part is blank).
 * @param t1 view end in seconds (> t0).
 * @param columns width in characters.
 * @param rows height in characters (>= 1).
 * @returns `rows` strings of exactly `columns` characters.
 */
export function renderWaveform(w: WaveformData, t0: number, t1: number, columns: number, rows: number): string[] {
  const canvas = new BrailleCanvas(columns, rows);
  if (columns <= 0 || rows <= 0 || !(t1 > t0)) return canvas.toLines();
  const { min, max } = envelope(w, t0, t1, columns * 2);
  const dotRows = rows * 4;
  const scale = w.peak > 0 ? w.peak : 1;
  const toY = (v: number) => {
    const u = (1 - v / scale) / 2; // 0 at +peak, 1 at -peak
    return Math.min(dotRows - 1, Math.max(0, Math.floor(u * dotRows)));
  };
  for (let x = 0; x < columns * 2; x++) {
    if (Number.isNaN(min[x])) continue;
    canvas.vline(x, toY(max[x]), toY(min[x]));
  }
  return canvas.toLines();
}

const NICE_STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600];

/** Format seconds compactly for an axis label with the given tick step. */
export function formatAxisTime(t: number, step: number): string {
  const decimals = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3;
  if (t >= 60 && step >= 1) {
    const m = Math.floor(t / 60);
    const s = Math.round(t - m * 60);
    return `${m}:${String(s).padStart(2, '0')}`;
  }
  return t.toFixed(decimals);
}

/**
 * A one-row time axis for `[t0, t1)` over `columns` characters: a tick mark
 * `╵` at every labelled time followed by its label, labels at a "nice" step
 * (1, 2, 5 × 10^k s, at least `minSpacing` characters apart), and the unit
 * `s` at the right end when there is room.
 *
 * @returns a string of exactly `columns` characters.
 */
export function timeAxis(t0: number, t1: number, columns: number, minSpacing = 8): string {
  const chars = new Array<string>(Math.max(0, columns)).fill(' ');
  if (columns <= 0 || !(t1 > t0)) return chars.join('');
  const secondsPerColumn = (t1 - t0) / columns;
  const step = NICE_STEPS.find((s) => s / secondsPerColumn >= minSpacing) ?? NICE_STEPS[NICE_STEPS.length - 1];
  const first = Math.ceil(t0 / step - 1e-9) * step;
  for (let t = first; t < t1; t += step) {
    const col = Math.round((t - t0) / secondsPerColumn);
    if (col < 0 || col >= columns) continue;
    const label = '╵' + formatAxisTime(t + 0, step);
    if (col + label.length > columns) break;
    for (let i = 0; i < label.length; i++) chars[col + i] = label[i];
  }
  if (chars[columns - 1] === ' ' && (columns < 2 || chars[columns - 2] === ' ')) chars[columns - 1] = 's';
  return chars.join('');
}

/**
 * Character columns `[from, to)` of the selection `[s0, s1]` seconds in a view
 * of `[t0, t1)` over `columns` characters, clipped to the view (empty when it
 * lies outside). A selection narrower than a column still covers one column.
 */
export function selectionColumns(s0: number, s1: number, t0: number, t1: number, columns: number): [number, number] {
  const spc = (t1 - t0) / columns;
  let from = Math.floor((s0 - t0) / spc + 1e-9);
  let to = Math.ceil((s1 - t0) / spc - 1e-9);
  if (to <= from) to = from + 1;
  from = Math.max(0, Math.min(columns, from));
  to = Math.max(0, Math.min(columns, to));
  return [from, to];
}
