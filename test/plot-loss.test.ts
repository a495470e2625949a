import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { lossPlotPng, crc32, encodePng, TRAIN_COLOUR, VALIDATION_COLOUR, type LossPoint } from '../src/engine/plot.ts';

/** A minimal independent PNG reader for 8-bit RGB images: checks signature, chunk CRCs, IHDR, and unfilters scanlines. */
function decodePng(png: Uint8Array): { width: number; height: number; rgb: Uint8Array; chunkTypes: string[] } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...png.subarray(0, 8)], sig, 'PNG signature');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  const chunkTypes: string[] = [];
  while (o < png.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    const data = png.subarray(o + 8, o + 8 + len);
    const crc = dv.getUint32(o + 8 + len);
    const zcrc = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
    const expected = zcrc ? zcrc(png.subarray(o + 4, o + 8 + len)) : crc32(png.subarray(o + 4, o + 8 + len));
    assert.equal(crc, expected >>> 0, `CRC of chunk ${type}`);
    chunkTypes.push(type);
    if (type === 'IHDR') {
      const h = new DataView(data.buffer, data.byteOffset, data.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      assert.equal(data[8], 8, 'bit depth');
      assert.equal(data[9], 2, 'colour type RGB');
      assert.equal(data[12], 0, 'no interlace');
    } else if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  assert.equal(raw.length, (stride + 1) * height, 'inflated size');
  const rgb = new Uint8Array(width * height * 3);
  const prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = rgb.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= 3 ? out[i - 3] : 0;
      const b = prev[i];
      const c = i >= 3 ? prev[i - 3] : 0;
      let v = line[i];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(f, 0, 'filter type');
      out[i] = v & 0xff;
    }
    prev.set(out);
  }
  return { width, height, rgb, chunkTypes };
}

/** Mean row of the pixels of colour `c` in column `x`, or NaN when there are none. */
function centroid(img: { width: number; height: number; rgb: Uint8Array }, x: number, c: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    const i = (y * img.width + x) * 3;
    if (img.rgb[i] === c[0] && img.rgb[i + 1] === c[1] && img.rgb[i + 2] === c[2]) {
      sum += y;
      n++;
    }
  }
  return n ? sum / n : NaN;
}

test('crc32 gives the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('encodePng round-trips an arbitrary raster exactly', () => {
  const w = 7, h = 5;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + 11) & 0xff;
  const img = decodePng(encodePng(w, h, rgb));
  assert.equal(img.width, w);
  assert.equal(img.height, h);
  assert.deepEqual(img.chunkTypes, ['IHDR', 'IDAT', 'IEND']);
  assert.deepEqual([...img.rgb], [...rgb]);
});

test('loss plot: decodes, has the requested size, log y axis makes an exponential decay a straight line', () => {
  // Training loss decays from 1 to 1e-3 exponentially over 50 epochs; validation is exactly twice the training loss.
  const history: LossPoint[] = [];
  for (let e = 1; e <= 50; e++) {
    const loss = 10 ** (-3 * (e - 1) / 49);
    history.push({ epoch: e, loss, valLoss: 2 * loss });
  }
  const img = decodePng(lossPlotPng(history, { width: 640, height: 400 }));
  assert.equal(img.width, 640);
  assert.equal(img.height, 400);
  const xs: number[] = [];
  const blue: number[] = [];
  const orange: number[] = [];
  for (let x = Math.round(img.width * 0.25); x < Math.round(img.width * 0.75); x++) {
    const b = centroid(img, x, TRAIN_COLOUR);
    const o = centroid(img, x, VALIDATION_COLOUR);
    assert.ok(Number.isFinite(b), `training curve present in column ${x}`);
    assert.ok(Number.isFinite(o), `validation curve present in column ${x}`);
    xs.push(x);
    blue.push(b);
    orange.push(o);
  }
  // The training curve falls (row grows) left to right and is straight: fit a line, check residuals.
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b) / n;
  const my = blue.reduce((a, b) => a + b) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (blue[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx;
  assert.ok(slope > 0.1, `training curve descends on screen (slope ${slope})`);
  for (let i = 0; i < n; i++) {
    const fit = my + slope * (xs[i] - mx);
    assert.ok(Math.abs(blue[i] - fit) < 1.5, `straight on a log axis: column ${xs[i]} row ${blue[i]} vs fit ${fit}`);
  }
  // Validation (2x) sits above training by a constant log10(2) decades; the curve spans 3 decades over 49 epochs,
  // so the vertical offset divided by the per-epoch slope must be log10(2) / (3/49) epochs.
  const offsets = orange.map((o, i) => blue[i] - o);
  for (const d of offsets) assert.ok(d > 0, 'validation curve above the training curve');
  const meanOffset = offsets.reduce((a, b) => a + b) / n;
  const epochsPerPixel = 49 / (centroidSpanX(img) ?? 1);
  const offsetInEpochs = (meanOffset / slope) * epochsPerPixel;
  const expected = Math.log10(2) / (3 / 49);
  assert.ok(Math.abs(offsetInEpochs - expected) / expected < 0.1, `offset ${offsetInEpochs} epochs, expected ${expected}`);
});

/** Horizontal extent (in pixels) of the training curve inside the plot, excluding the legend at the top. */
function centroidSpanX(img: { width: number; height: number; rgb: Uint8Array }): number | null {
  let lo = Infinity, hi = -Infinity;
  for (let x = 0; x < img.width; x++) {
    for (let y = Math.round(img.height * 0.1); y < img.height; y++) {
      const i = (y * img.width + x) * 3;
      if (img.rgb[i] === TRAIN_COLOUR[0] && img.rgb[i + 1] === TRAIN_COLOUR[1] && img.rgb[i + 2] === TRAIN_COLOUR[2]) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
  }
  // The curve is drawn two pixels thick to the right, so its extent is one pixel wider than the epoch span.
  return hi > lo ? hi - lo - 1 : null;
}

test('loss plot: non-positive and NaN losses leave a gap; no validation curve without validation losses', () => {
  const history: LossPoint[] = [];
  for (let e = 0; e < 40; e++) history.push({ epoch: e, loss: e >= 15 && e < 25 ? NaN : 0.5 / (1 + e) });
  history[30].loss = 0;
  const img = decodePng(lossPlotPng(history, { width: 400, height: 300 }));
  // Columns of epochs 16..23 are in the gap; find them from the curve's own horizontal extent (epochs 0..39).
  const plotted: number[] = [];
  for (let x = 0; x < img.width; x++) if (Number.isFinite(centroid(img, x, TRAIN_COLOUR))) plotted.push(x);
  let validationPixels = 0;
  for (let x = 0; x < img.width; x++) if (Number.isFinite(centroid(img, x, VALIDATION_COLOUR))) validationPixels++;
  assert.equal(validationPixels, 0);
  // Find the largest run of empty columns between the first and the last plotted column (excluding the legend region).
  const curveCols = plotted.filter((x) => x < img.width * 0.7);
  let bestGap = 0;
  for (let i = 1; i < curveCols.length; i++) bestGap = Math.max(bestGap, curveCols[i] - curveCols[i - 1]);
  const first = curveCols[0];
  const pxPerEpoch = (img.width * 0.7 - first) / (0.7 * 39); // rough: the plot spans most of the width
  assert.ok(bestGap > 5 * pxPerEpoch, `gap of ${bestGap} px for 11 missing epochs`);
});

test('loss plot: a single epoch, an empty history, and bad sizes', () => {
  const one = decodePng(lossPlotPng([{ epoch: 1, loss: 0.02, valLoss: 0.03 }], { width: 200, height: 120 }));
  let blue = 0;
  for (let x = 0; x < one.width * 0.6; x++) if (Number.isFinite(centroid(one, x, TRAIN_COLOUR))) blue++;
  assert.ok(blue >= 3, 'single epoch drawn as a dot');
  const empty = decodePng(lossPlotPng([], {}));
  assert.equal(empty.width, 640);
  assert.equal(empty.height, 400);
  assert.throws(() => lossPlotPng([], { width: 10, height: 400 }), /image size/);
  assert.throws(() => lossPlotPng([], { width: NaN, height: 400 }), /image size/);
});
