import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, restoreRng, gaussian, fillGaussian, randomInt, shuffleInPlace } from '../src/dsp/rng.ts';

test('xoshiro128** matches the reference output sequence for state {1,2,3,4}', () => {
  // First outputs of Vigna's reference C implementation seeded with s = {1, 2, 3, 4}.
  const r = restoreRng([1, 2, 3, 4]);
  const got = Array.from({ length: 6 }, () => r.nextUint32());
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

test('same seed gives the same stream, different seeds differ, values in [0,1)', () => {
  const a = createRng(123);
  const b = createRng(123);
  const c = createRng(124);
  let same = 0;
  for (let i = 0; i < 1000; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
    if (x === c()) same++;
  }
  assert.equal(same, 0);
  assert.notEqual(createRng(2 ** 40)(), createRng(0)(), 'high bits of large seeds matter');
  assert.throws(() => createRng(Number.NaN), /seed must be a finite number/);
});

test('uniform and gaussian moments are right', () => {
  const r = createRng(7);
  const n = 200000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r();
    s += u;
    s2 += u * u;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005);
  assert.ok(Math.abs(s2 / n - 1 / 3) < 0.005);
  const g = fillGaussian(createRng(8), new Float64Array(n));
  let m = 0;
  let v = 0;
  let k4 = 0;
  for (const x of g) m += x;
  m /= n;
  for (const x of g) {
    v += (x - m) ** 2;
    k4 += (x - m) ** 4;
  }
  v /= n;
  k4 /= n * v * v;
  assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 0.02, `variance ${v}`);
  assert.ok(Math.abs(k4 - 3) < 0.1, `kurtosis ${k4}`);
  assert.ok(Number.isFinite(gaussian(() => 0)), 'u = 0 does not produce infinity');
});

test('state() and restoreRng resume the stream exactly', () => {
  const a = createRng(99);
  for (let i = 0; i < 10; i++) a();
  const b = restoreRng(a.state());
  for (let i = 0; i < 100; i++) assert.equal(a(), b());
  assert.throws(() => restoreRng([0, 0, 0, 0]), /all-zero/);
  assert.throws(() => restoreRng([1, 2, 3]), /four uint32/);
});

test('randomInt covers the range and shuffleInPlace is a deterministic permutation', () => {
  const r = createRng(5);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 6000; i++) counts[randomInt(r, 6)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `count ${c}`);
  assert.throws(() => randomInt(r, 0), /positive integer/);
  const a = shuffleInPlace(createRng(1), Array.from({ length: 50 }, (_, i) => i));
  const b = shuffleInPlace(createRng(1), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i));
});
