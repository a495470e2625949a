/**
 * Screen layout of the instrument, computed from the terminal size.
 *
 * ```
 * row 0          status line (model, backend, rate, last render)
 * rows 1..H-4    dataset browser │ waveform A, waveform B, curve (same time columns)
 * row H-3        transport
 * row H-2        key hints of the focused panel, replaced by render progress or a notice
 * row H-1        left empty
 * ```
 * The last terminal row stays empty on purpose: when Ink's output is as high
 * as the terminal it clears and repaints the whole screen on every frame;
 * one line shorter, it rewrites only the lines that changed, which keeps a
 * key press to a few bytes over SSH and the redraw free of flicker.
 * The waveform views and the curve share one plot width, right of a value
 * gutter, so that with the views zoomed to the selection every character
 * column is the same instant of the excerpt in all three.
 */

/** Smallest terminal width the layout is designed for (the SSH default 80x24). */
export const MIN_COLUMNS = 80;
/** Smallest terminal height the layout is designed for. */
export const MIN_ROWS = 24;
/** Below this width the app shows a "terminal too small" notice instead of the panels. */
export const HARD_MIN_COLUMNS = 60;
/** Below this height the app shows a "terminal too small" notice instead of the panels. */
export const HARD_MIN_ROWS = 18;

/** Width of the value gutter left of the waveform and curve plots. */
export const GUTTER = 5;

/** Sizes of every region in characters. */
export interface Layout {
  columns: number;
  rows: number;
  /** True when the terminal is too small to draw the panels. */
  tooSmall: boolean;
  /** Width of the dataset browser (left column). */
  listWidth: number;
  /** Lines the app draws: `rows - 1` (see the module comment). */
  height: number;
  /** Height of the panel area between the status line and the transport. */
  mainHeight: number;
  /** Visible rows of the dataset list. */
  listRows: number;
  /** Width of the right column (waveforms and curve). */
  rightWidth: number;
  /** Plot width shared by both waveforms and the curve: one curve value per column. */
  plotWidth: number;
  /** Character rows of each waveform. */
  waveRows: number;
  /** Character rows of the curve. */
  curveRows: number;
}

/**
 * Compute the layout for a terminal of `columns` × `rows`.
 *
 * The dataset browser takes 26 columns at 80 wide and about 28 % of wider
 * terminals (at most 40); waveforms take a quarter of the spare rows each
 * (at least 2), the curve the rest.
 */
export function computeLayout(columns: number, rows: number): Layout {
  const c = Math.max(1, Math.floor(columns || MIN_COLUMNS));
  const r = Math.max(1, Math.floor(rows || MIN_ROWS));
  const tooSmall = c < HARD_MIN_COLUMNS || r < HARD_MIN_ROWS;
  const listWidth = c >= 100 ? Math.min(40, Math.floor(c * 0.28)) : Math.max(20, Math.min(26, c - 54));
  const rightWidth = Math.max(10, c - listWidth - 1);
  const plotWidth = Math.max(8, rightWidth - GUTTER);
  const height = Math.max(1, r - 1);
  const mainHeight = Math.max(6, height - 3);
  const avail = Math.max(6, mainHeight - 6);
  const waveRows = Math.max(2, Math.floor(avail / 4));
  const curveRows = Math.max(2, avail - 2 * waveRows);
  const listRows = Math.max(1, mainHeight - 2);
  return { columns: c, rows: r, height, tooSmall, listWidth, mainHeight, listRows, rightWidth, plotWidth, waveRows, curveRows };
}
