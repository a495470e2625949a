/**
 * Small text helpers for fixed-width terminal layouts. Every string the
 * panels draw is cut or padded to its exact width so that Ink never wraps
 * a line and the screen keeps its shape at any size.
 */

/**
 * `s` with every control character made visible, so that a file name or a message can never move the cursor,
 * colour the screen or break a line: C0 controls and DEL become their Unicode control pictures (newline `␊`,
 * tab `␉`, escape `␛`, DEL `␡`), C1 controls `?`.
 */
export function printable(s: string): string {
  if (!/[\u0000-\u001f\u007f-\u009f]/.test(s)) return s;
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x20 ? String.fromCharCode(0x2400 + n) : n === 0x7f ? '\u2421' : '?';
  });
}

/** Characters that are not one terminal cell each: wide (CJK, fullwidth, emoji) or zero-width (combining marks, joiners, selectors). */
const NOT_SINGLE =
  /[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f\u1100-\u115f\u200b-\u200f\u2060-\u2064\u231a\u231b\u23e9-\u23ec\u23f0\u23f3\u25fd\u25fe\u2614\u2615\u2648-\u2653\u267f\u2693\u26a1\u26aa\u26ab\u26bd\u26be\u26c4\u26c5\u26ce\u26d4\u26ea\u26f2-\u26f5\u26fa\u26fd\u2705\u270a\u270b\u2728\u274c\u274e\u2753-\u2755\u2757\u2795-\u2797\u27b0\u27bf\u2b1b\u2b1c\u2b50\u2b55\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe00-\ufe0f\ufe10-\ufe19\ufe20-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{1f000}-\u{1faff}\u{20000}-\u{3fffd}\u{e0000}-\u{e01ef}]|\p{M}/u;

const WIDE =
  /^(?:[\u1100-\u115f\u231a\u231b\u23e9-\u23ec\u23f0\u23f3\u25fd\u25fe\u2614\u2615\u2648-\u2653\u267f\u2693\u26a1\u26aa\u26ab\u26bd\u26be\u26c4\u26c5\u26ce\u26d4\u26ea\u26f2-\u26f5\u26fa\u26fd\u2705\u270a\u270b\u2728\u274c\u274e\u2753-\u2755\u2757\u2795-\u2797\u27b0\u27bf\u2b1b\u2b1c\u2b50\u2b55\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f680}-\u{1f6ff}\u{1f7e0}-\u{1f7eb}\u{1f90c}-\u{1f9ff}\u{1fa70}-\u{1faff}\u{1f004}\u{1f0cf}\u{1f18e}\u{1f191}-\u{1f19a}\u{1f200}-\u{1f251}\u{20000}-\u{3fffd}]|\p{Extended_Pictographic}\ufe0f|\p{Regional_Indicator}{2})/u;

let segmenter: Intl.Segmenter | null = null;

/** The user-perceived characters of `s` with the terminal cells each takes (0, 1 or 2). */
function cells(s: string): { text: string; width: number }[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const out: { text: string; width: number }[] = [];
  for (const { segment } of segmenter.segment(s)) {
    const width = WIDE.test(segment) || segment.includes('\u200d') ? 2 : /^(?:\p{M}|[\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f])+$/u.test(segment) ? 0 : 1;
    out.push({ text: segment, width });
  }
  return out;
}

/** Terminal cells `s` takes once made {@link printable} (wide characters count two, combining marks none). */
export function textWidth(s: string): number {
  const p = printable(s);
  if (!NOT_SINGLE.test(p)) return [...p].length;
  return cells(p).reduce((n, c) => n + c.width, 0);
}

/** Leading characters of `cs` that fit in `width` cells, and the cells they take. */
function headOf(cs: { text: string; width: number }[], width: number): { text: string; width: number } {
  let text = '';
  let w = 0;
  for (const c of cs) {
    if (w + c.width > width) break;
    text += c.text;
    w += c.width;
  }
  return { text, width: w };
}

/** Trailing characters of `cs` that fit in `width` cells. */
function tailOf(cs: { text: string; width: number }[], width: number): { text: string; width: number } {
  let text = '';
  let w = 0;
  for (let i = cs.length - 1; i >= 0; i--) {
    if (w + cs[i].width > width) break;
    text = cs[i].text + text;
    w += cs[i].width;
  }
  return { text, width: w };
}

/**
 * Cut `s` to `width` terminal cells (ending in `…` when cut) and pad with spaces to exactly `width`; control
 * characters are made {@link printable}.
 */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  s = printable(s);
  if (!NOT_SINGLE.test(s)) {
    const chars = [...s];
    if (chars.length > width) return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
    return s + ' '.repeat(width - chars.length);
  }
  const cs = cells(s);
  const total = cs.reduce((n, c) => n + c.width, 0);
  if (total <= width) return s + ' '.repeat(width - total);
  const head = headOf(cs, width - 1);
  return head.text + '…' + ' '.repeat(width - 1 - head.width);
}

/** Like {@link fit} but cuts the middle, keeping the start and the end (for file names and paths). */
export function fitMiddle(s: string, width: number): string {
  if (width <= 0) return '';
  s = printable(s);
  if (!NOT_SINGLE.test(s)) {
    const chars = [...s];
    if (chars.length <= width) return s + ' '.repeat(width - chars.length);
    if (width < 5) return chars.slice(0, width).join('');
    const tail = Math.floor((width - 1) / 2);
    const head = width - 1 - tail;
    return chars.slice(0, head).join('') + '…' + chars.slice(chars.length - tail).join('');
  }
  const cs = cells(s);
  const total = cs.reduce((n, c) => n + c.width, 0);
  if (total <= width) return s + ' '.repeat(width - total);
  if (width < 5) {
    const h = headOf(cs, width);
    return h.text + ' '.repeat(width - h.width);
  }
  const tail = tailOf(cs, Math.floor((width - 1) / 2));
  const head = headOf(cs, width - 1 - tail.width);
  return head.text + '…' + ' '.repeat(width - 1 - tail.width - head.width) + tail.text;
}

/** Cut `s` from the left (keeping the end, e.g. the file name of a long path) to at most `width` cells. */
export function fitLeft(s: string, width: number): string {
  s = printable(s);
  if (!NOT_SINGLE.test(s)) {
    const chars = [...s];
    if (chars.length <= width) return s;
    if (width <= 1) return chars.slice(chars.length - width).join('');
    return '…' + chars.slice(chars.length - width + 1).join('');
  }
  const cs = cells(s);
  if (cs.reduce((n, c) => n + c.width, 0) <= width) return s;
  if (width <= 1) return tailOf(cs, Math.max(0, width)).text;
  return '…' + tailOf(cs, width - 1).text;
}

/** `left` and `right` on one line of exactly `width` cells (right side wins when space is short). */
export function spread(left: string, right: string, width: number): string {
  const r = textWidth(right);
  if (r >= width) return fit(right, width);
  return fit(left, width - r - 1) + ' ' + printable(right);
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
