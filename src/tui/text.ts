/**
 * Small text helpers for fixed-width terminal layouts. Every string the
 * panels draw is cut or padded to its exact width so that Ink never wraps
 * a line and the screen keeps its shape at any size.
 */

/** Cut `s` to `width` characters (ending in `…` when cut) and pad with spaces to exactly `width`. */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...s];
  if (chars.length > width) return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
  return s + ' '.repeat(width - chars.length);
}

/** Like {@link fit} but cuts the middle, keeping the start and the end (for file names and paths). */
export function fitMiddle(s: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...s];
  if (chars.length <= width) return s + ' '.repeat(width - chars.length);
  if (width < 5) return chars.slice(0, width).join('');
  const tail = Math.floor((width - 1) / 2);
  const head = width - 1 - tail;
  return chars.slice(0, head).join('') + '…' + chars.slice(chars.length - tail).join('');
}

/** Cut `s` from the left (keeping the end, e.g. the file name of a long path) to at most `width` characters. */
export function fitLeft(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  if (width <= 1) return chars.slice(chars.length - width).join('');
  return '…' + chars.slice(chars.length - width + 1).join('');
}

/** `left` and `right` on one line of exactly `width` characters (right side wins when space is short). */
export function spread(left: string, right: string, width: number): string {
  const r = [...right].length;
  if (r >= width) return fit(right, width);
  return fit(left, width - r - 1) + ' ' + right;
}

/** Seconds as `1.25 s` (two decimals under a minute, `m:ss.s` above). */
export function formatSeconds(t: number): string {
  if (t < 60) return `${t.toFixed(2)} s`;
  const m = Math.floor(t / 60);
  return `${m}:${(t - m * 60).toFixed(1).padStart(4, '0')}`;
}

/** Sample rate as `44.1k`, `48k`, `22.05k`. */
export function formatRate(hz: number): string {
  const k = hz / 1000;
  return `${Number.isInteger(k) ? k : Number(k.toFixed(2))}k`;
}

/** A horizontal progress bar of `width` cells with eighth-block resolution. */
export function progressBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part > 0 ? '▏▎▍▌▋▊▉'[part - 1] : '';
  return ('█'.repeat(full) + partial).padEnd(width, ' ').slice(0, width);
}
