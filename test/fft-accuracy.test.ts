import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realFFT, complexFFT, nextFastSize, isFastSize } from '../src/dsp/fft.ts';
import { createRng, gaussian } from '../src/dsp/rng.ts';
import { relErr } from './helpers/signal.ts';

/** Naive O(n^2) DFT in float64: X[k] = sum_j x[j] e^{-2 pi i jk/n} (sign < 0), or the inverse (sign > 0, no scaling). */
function naiveDft(re: Float64Array, im: Float64Array, sign: number): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const oRe = new Float64Array(n);
  const oIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      sr += re[j] * c - im[j] * s;
      si += re[j] * s + im[j] * c;
    }
    oRe[k] = sr;
    oIm[k] = si;
  }
  return { re: oRe, im: oIm };
}

const REAL_SIZES = [32, 64, 96, 160, 480, 512, 2048];
const COMPLEX_SIZES = [16, 48, 80, 240, 256, 1024];

test('realFFT.forward matches a float64 naive DFT (numpy.fft.rfft layout)', () => {
  const rng = createRng(1);
  for (const n of REAL_SIZES) {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = gaussian(rng);
    const out = new Float32Array(n + 2);
    realFFT(n).forward(x, out);
    const ref = naiveDft(Float64Array.from(x), new Float64Array(n), -1);
    const expect = new Float64Array(n + 2);
    for (let k = 0; k <= n / 2; k++) {
      expect[2 * k] = ref.re[k];
      expect[2 * k + 1] = ref.im[k];
    }
    assert.ok(relErr(out, expect) < 2e-6, `n=${n}: relative error ${relErr(out, expect)}`);
    assert.equal(out[1], 0, 'imaginary part of DC is exactly 0');
    assert.equal(out[n + 1], 0, 'imaginary part of Nyquist is exactly 0');
  }
});

test('realFFT.inverse matches the naive inverse DFT scaled by 1/n and ignores DC/Nyquist imaginary parts', () => {
  const rng = createRng(2);
  for (const n of REAL_SIZES) {
    const spec = new Float32Array(n + 2);
    for (let i = 0; i < n + 2; i++) spec[i] = gaussian(rng);
    const fullRe = new Float64Array(n);
    const fullIm = new Float64Array(n);
    for (let k = 0; k <= n / 2; k++) {
      fullRe[k] = spec[2 * k];
      fullIm[k] = k === 0 || k === n / 2 ? 0 : spec[2 * k + 1];
      if (k > 0 && k < n / 2) {
        fullRe[n - k] = spec[2 * k];
        fullIm[n - k] = -spec[2 * k + 1];
      }
    }
    const ref = naiveDft(fullRe, fullIm, +1);
    const expect = ref.re.map((v) => v / n);
    const out = new Float32Array(n);
    realFFT(n).inverse(spec, out);
    assert.ok(relErr(out, expect) < 2e-6, `n=${n}: relative error ${relErr(out, expect)}`);
  }
});

test('complexFFT forward and inverse match the naive DFT', () => {
  const rng = createRng(3);
  for (const n of COMPLEX_SIZES) {
    const x = new Float32Array(2 * n);
    for (let i = 0; i < 2 * n; i++) x[i] = gaussian(rng);
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      re[i] = x[2 * i];
      im[i] = x[2 * i + 1];
    }
    const fwd = naiveDft(re, im, -1);
    const inv = naiveDft(re, im, +1);
    const eF = new Float64Array(2 * n);
    const eI = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      eF[2 * k] = fwd.re[k];
      eF[2 * k + 1] = fwd.im[k];
      eI[2 * k] = inv.re[k] / n;
      eI[2 * k + 1] = inv.im[k] / n;
    }
    const f = complexFFT(n);
    const out = new Float32Array(2 * n);
    f.forward(x, out);
    assert.ok(relErr(out, eF) < 2e-6, `forward n=${n}: ${relErr(out, eF)}`);
    f.inverse(x, out);
    assert.ok(relErr(out, eI) < 2e-6, `inverse n=${n}: ${relErr(out, eI)}`);
    // In-place use is allowed.
    const y = x.slice();
    f.forward(y, y);
    f.inverse(y, y);
    assert.ok(relErr(y, x) < 1e-6, `round trip n=${n}`);
  }
});

test('a pure cosine lands in exactly one bin', () => {
  const n = 2048;
  const k0 = 100;
  const x = new Float32Array(n);
  for (let j = 0; j < n; j++) x[j] = Math.cos((2 * Math.PI * k0 * j) / n);
  const out = new Float32Array(n + 2);
  realFFT(n).forward(x, out);
  assert.ok(Math.abs(out[2 * k0] - n / 2) < 1e-3 * n);
  let leak = 0;
  for (let k = 0; k <= n / 2; k++) if (k !== k0) leak = Math.max(leak, Math.hypot(out[2 * k], out[2 * k + 1]));
  assert.ok(leak < 1e-4 * n, `leakage ${leak}`);
});

test('realFFT round trip on a long signal and instances are cached per size', () => {
  const n = 4800; // 2^6 * 3 * 5^2
  const rng = createRng(4);
  const x = new Float32Array(n).map(() => rng() * 2 - 1);
  const spec = new Float32Array(n + 2);
  const y = new Float32Array(n);
  const f = realFFT(n);
  assert.equal(realFFT(n), f);
  assert.equal(f.size, n);
  f.forward(x, spec);
  f.inverse(spec, y);
  assert.ok(relErr(y, x) < 1e-6);
});

test('nextFastSize agrees with a brute-force search and isFastSize', () => {
  const smooth = (m: number) => {
    for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
    return m === 1;
  };
  for (const kind of ['real', 'complex'] as const) {
    const mult = kind === 'real' ? 32 : 16;
    for (let n = 0; n <= 5000; n += 7) {
      let m = Math.max(mult, n);
      while (!(m % mult === 0 && smooth(m))) m++;
      assert.equal(nextFastSize(n, kind), m, `${kind} ${n}`);
      assert.ok(isFastSize(m, kind));
    }
  }
  assert.equal(nextFastSize(1000, 'real'), 1024);
  assert.equal(nextFastSize(2049, 'real'), 2304);
  assert.equal(nextFastSize(1, 'complex'), 16);
  assert.ok(!isFastSize(48, 'real'));
  assert.ok(isFastSize(48, 'complex'));
  assert.ok(!isFastSize(224, 'real')); // 7 * 32
});

test('unsupported sizes and wrong buffers give clear errors', () => {
  assert.throws(() => realFFT(100), /unsupported real FFT size 100.*next supported size is 128/);
  assert.throws(() => realFFT(16), /unsupported real FFT size 16.*32/);
  assert.throws(() => complexFFT(8), /unsupported complex FFT size 8/);
  assert.throws(() => realFFT(224), /unsupported real FFT size 224/);
  assert.throws(() => realFFT(0), /unsupported/);
  assert.throws(() => realFFT(Number.NaN), /unsupported/);
  const f = realFFT(64);
  assert.throws(() => f.forward(new Float32Array(63), new Float32Array(66)), /input must have length 64/);
  assert.throws(() => f.forward(new Float32Array(64), new Float32Array(64)), /output must have length 66/);
  assert.throws(() => f.inverse(new Float32Array(64), new Float32Array(64)), /input must have length 66/);
  assert.throws(() => f.forward(new Float64Array(64) as unknown as Float32Array, new Float32Array(66)), /Float32Array/);
  assert.throws(() => nextFastSize(-1, 'real'), /non-negative/);
});
