/**
 * Loss-curve plots as PNG images, with no dependency beyond `node:zlib`.
 *
 * `lossPlotPng` draws the training and validation loss of a run against the
 * epoch on a logarithmic y axis, with axes, axis names, decade ticks, tick
 * labels and a legend, and encodes the picture with a small PNG encoder written here
 * (PNG specification, W3C 2003 / ISO 15948: signature, IHDR, IDAT holding a
 * zlib stream of filtered scanlines, IEND; each chunk carries a CRC-32).
 *
 * Layout of the picture: 8-bit RGB, white background, black axes; the
 * training curve is blue `#1f77b4` and the validation curve orange
 * `#ff7f0e` (the matplotlib "tab10" colours, so the plot looks like the
 * loss plots of the original LTS runs).
 */
import { deflateSync } from 'node:zlib';

/** One epoch of a training history as plotted. */
export interface LossPoint {
  /** Epoch number (x axis). Any increasing numbers work; they need not start at 1. */
  epoch: number;
  /** Training loss of the epoch; values <= 0 or not finite leave a gap (a log axis cannot show them). */
  loss: number;
  /** Validation loss of the epoch, when there is a validation set. */
  valLoss?: number | null;
}

/** Options of {@link lossPlotPng}. */
export interface LossPlotOptions {
  /** Image width in pixels, default 640, at least 120. */
  width?: number;
  /** Image height in pixels, default 400, at least 90. */
  height?: number;
}

/** RGB colour of the training curve (`#1f77b4`). */
export const TRAIN_COLOUR: readonly [number, number, number] = [0x1f, 0x77, 0xb4];
/** RGB colour of the validation curve (`#ff7f0e`). */
export const VALIDATION_COLOUR: readonly [number, number, number] = [0xff, 0x7f, 0x0e];

type Rgb = readonly [number, number, number];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [0xe4, 0xe4, 0xe4];

/** A plain RGB raster, row-major, 3 bytes per pixel. */
class Raster {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3).fill(255);
  }
  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
  }
  hline(x0: number, x1: number, y: number, c: Rgb): void {
    for (let x = Math.min(x0, x1); x <= Math.max(x0, x1); x++) this.set(x, y, c);
  }
  vline(x: number, y0: number, y1: number, c: Rgb): void {
    for (let y = Math.min(y0, y1); y <= Math.max(y0, y1); y++) this.set(x, y, c);
  }
  /** A line two pixels thick (the pixel and its lower-right neighbours), by sampling the segment densely. */
  thickLine(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) * 2));
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.set(x, y, c);
      this.set(x + 1, y, c);
      this.set(x, y + 1, c);
    }
  }
  dot(x: number, y: number, c: Rgb): void {
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) this.set(x + dx, y + dy, c);
  }
}

/**
 * A 3x5 pixel font for tick labels and the legend: each glyph is 15 bits,
 * row by row from the top, most significant bit = top-left pixel.
 */
const FONT: Record<string, number> = {
  '0': 0b111101101101111,
  '1': 0b010110010010111,
  '2': 0b111001111100111,
  '3': 0b111001111001111,
  '4': 0b101101111001001,
  '5': 0b111100111001111,
  '6': 0b111100111101111,
  '7': 0b111001010010010,
  '8': 0b111101111101111,
  '9': 0b111101111001111,
  '-': 0b000000111000000,
  '.': 0b000000000000010,
  e: 0b000111101110011,
  t: 0b010111010010011,
  r: 0b000101110100100,
  a: 0b000110011101111,
  i: 0b010000010010010,
  n: 0b000110101101101,
  v: 0b000101101101010,
  l: 0b010010010010011,
  o: 0b000111101101111,
  s: 0b000011110011110,
  p: 0b000111101111100,
  c: 0b000111100100111,
  h: 0b100100111101101,
  ' ': 0,
};

/** Draw `text` with the 3x5 font at scale `s` (pixels per font pixel), top-left corner at (x, y). */
function drawText(r: Raster, text: string, x: number, y: number, s: number, c: Rgb): void {
  for (const ch of text) {
    const g = FONT[ch] ?? 0;
    for (let row = 0; row < 5; row++)
      for (let col = 0; col < 3; col++)
        if ((g >> (14 - (row * 3 + col))) & 1)
          for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) r.set(x + col * s + dx, y + row * s + dy, c);
    x += 4 * s;
  }
}

/** Width in pixels of `text` drawn at scale `s`. */
function textWidth(text: string, s: number): number {
  return text.length === 0 ? 0 : (text.length * 4 - 1) * s;
}

/** Label of the decade 10^d: "1", "10", "100", "1000" for 0..3, "0.1", "0.01" for -1, -2, otherwise "1e-5" style. */
function decadeLabel(d: number): string {
  if (d >= 0 && d <= 3) return String(10 ** d);
  if (d === -1) return '0.1';
  if (d === -2) return '0.01';
  return `1e${d}`;
}

/** Round epoch steps to 1, 2 or 5 times a power of ten so that at most `maxTicks` ticks appear. */
function niceStep(span: number, maxTicks: number): number {
  const raw = span / Math.max(1, maxTicks);
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-12)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(1, m * p);
  return Math.max(1, 10 * p);
}

/**
 * Draw the training and validation loss of a run and return a PNG file.
 *
 * The x axis spans the first to the last epoch of `history`; the y axis is
 * logarithmic (base 10) and spans whole decades around every positive,
 * finite loss value (training and validation together), so that an
 * exponential decay of the loss is a straight line. Losses that are zero,
 * negative, NaN or infinite are left out of the curve (a gap). A single
 * epoch is drawn as a dot. An empty history gives the empty axes.
 *
 * @param history Per-epoch losses, in epoch order.
 * @param opts Image size; default 640 x 400 pixels.
 * @returns The bytes of an 8-bit RGB PNG image (colour type 2, no interlace).
 */
export function lossPlotPng(history: readonly LossPoint[], opts: LossPlotOptions = {}): Uint8Array {
  const width = Math.round(opts.width ?? 640);
  const height = Math.round(opts.height ?? 400);
  if (!Number.isFinite(width) || !Number.isFinite(height) || width < 120 || height < 90 || width > 8192 || height > 8192)
    throw new RangeError(`lossPlotPng: image size ${opts.width}x${opts.height} is out of range; use 120..8192 x 90..8192 pixels`);
  const r = new Raster(width, height);
  const s = width >= 400 && height >= 250 ? 2 : 1; // font scale
  const left = 12 + textWidth('1e-10', s);
  const right = width - 12;
  const top = 10 + 7 * s;
  const bottom = height - 14 - 5 * s;

  const good = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const values = history.flatMap((p) => [p.loss, p.valLoss]).filter(good);
  let dMin = values.length ? Math.floor(Math.log10(Math.min(...values))) : -3;
  let dMax = values.length ? Math.ceil(Math.log10(Math.max(...values))) : 0;
  if (dMax <= dMin) dMax = dMin + 1;
  // Keep at most ~12 labelled decades: show every k-th label.
  const labelEvery = Math.max(1, Math.ceil((dMax - dMin) / 12));
  const epochs = history.map((p) => p.epoch).filter((e) => Number.isFinite(e));
  let e0 = epochs.length ? Math.min(...epochs) : 0;
  let e1 = epochs.length ? Math.max(...epochs) : 1;
  if (e1 <= e0) {
    e0 -= 0.5;
    e1 += 0.5;
  }
  const xOf = (e: number) => left + ((e - e0) / (e1 - e0)) * (right - left);
  const yOf = (v: number) => bottom - ((Math.log10(v) - dMin) / (dMax - dMin)) * (bottom - top);

  // Grid and y ticks at every decade, with labels.
  for (let d = dMin; d <= dMax; d++) {
    const y = Math.round(yOf(10 ** d));
    r.hline(left + 1, right, y, GRID);
    r.hline(left - 4, left, y, BLACK);
    if ((d - dMin) % labelEvery === 0) {
      const label = decadeLabel(d);
      drawText(r, label, left - 6 - textWidth(label, s), y - Math.floor((5 * s) / 2), s, BLACK);
    }
    if (d < dMax)
      for (let m = 2; m <= 9; m++) r.hline(left - 2, left, Math.round(yOf(m * 10 ** d)), BLACK); // minor ticks
  }
  // x ticks at nice epoch steps.
  const step = niceStep(e1 - e0, Math.max(2, Math.floor((right - left) / (30 * s))));
  for (let e = Math.ceil(e0 / step) * step; e <= e1 + 1e-9; e += step) {
    const x = Math.round(xOf(e));
    r.vline(x, bottom, bottom + 4, BLACK);
    const label = String(Math.round(e));
    drawText(r, label, x - Math.floor(textWidth(label, s) / 2), bottom + 7, s, BLACK);
  }
  // Axes and their names: "loss" above the y axis, "epoch" left of the x tick labels.
  r.vline(left, top, bottom, BLACK);
  r.hline(left, right, bottom, BLACK);
  drawText(r, 'loss', 4, Math.max(1, top - 6 * s - 2), s, BLACK);
  drawText(r, 'epoch', 4, bottom + 7, s, BLACK);

  // Curves: validation first so the training curve stays visible where they overlap.
  const drawCurve = (get: (p: LossPoint) => number | null | undefined, c: Rgb) => {
    let prev: [number, number] | null = null;
    let runLength = 0;
    for (let i = 0; i < history.length; i++) {
      const v = get(history[i]);
      if (!good(v) || !Number.isFinite(history[i].epoch)) {
        if (prev && runLength === 1) r.dot(prev[0], prev[1], c);
        prev = null;
        runLength = 0;
        continue;
      }
      const pt: [number, number] = [xOf(history[i].epoch), yOf(v)];
      if (prev) r.thickLine(prev[0], prev[1], pt[0], pt[1], c);
      prev = pt;
      runLength++;
    }
    if (prev && runLength === 1) r.dot(prev[0], prev[1], c);
  };
  const hasVal = history.some((p) => good(p.valLoss));
  if (hasVal) drawCurve((p) => p.valLoss, VALIDATION_COLOUR);
  drawCurve((p) => p.loss, TRAIN_COLOUR);

  // Legend, top right, above the plot area.
  let lx = right - textWidth('train', s) - 14;
  if (hasVal) lx -= textWidth('val', s) + 26;
  const ly = Math.max(1, top - 6 * s - 2);
  r.hline(lx, lx + 8, ly + Math.floor((5 * s) / 2), TRAIN_COLOUR);
  drawText(r, 'train', lx + 11, ly, s, BLACK);
  if (hasVal) {
    const vx = lx + 11 + textWidth('train', s) + 12;
    r.hline(vx, vx + 8, ly + Math.floor((5 * s) / 2), VALIDATION_COLOUR);
    drawText(r, 'val', vx + 11, ly, s, BLACK);
  }
  return encodePng(r.width, r.height, r.data);
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (ISO 3309, polynomial 0xEDB88320, as PNG and zlib use) of `bytes`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Encode an 8-bit RGB raster as a PNG file.
 *
 * @param width Pixels per row.
 * @param height Rows.
 * @param rgb Row-major pixels, 3 bytes (R, G, B) each, length `width * height * 3`.
 * @returns PNG bytes: signature, IHDR (colour type 2, bit depth 8), one IDAT
 *   (zlib stream of scanlines, each prefixed with filter type 0 "None"), IEND.
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3)
    throw new RangeError(`encodePng: expected ${width * height * 3} bytes for ${width}x${height} RGB, got ${rgb.length}`);
  const raw = new Uint8Array((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  const chunks = [chunk('IHDR', ihdr), chunk('IDAT', new Uint8Array(deflateSync(raw, { level: 9 }))), chunk('IEND', new Uint8Array(0))];
  const signature = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
  const out = new Uint8Array(signature.length + chunks.reduce((n, c) => n + c.length, 0));
  out.set(signature, 0);
  let o = signature.length;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** One PNG chunk: big-endian length, 4-byte type, data, CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
