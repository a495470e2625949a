import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, truncateSync } from 'node:fs';
import { loadDataset } from '../src/engine/dataset.ts';
import { analyzeMagnitudes } from '../src/engine/features.ts';
import { defaultCacheDir, fingerprintFile, EDGE_BYTES, FeatureCache } from '../src/engine/feature-cache.ts';
import { UserError } from '../src/io/errors.ts';
import type { Magnitudes } from '../src/dsp/types.ts';
import type { FeatureConfig } from '../src/engine/types.ts';
import { tmpDir, tone, wav, bytes } from './dataset-helpers.ts';

const CFG: FeatureConfig = { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'linear' };

/** An analyzer that counts calls per input length and otherwise is the real analysis. */
function countingAnalyzer() {
  const calls: number[] = [];
  const analyzer = (samples: Float32Array, cfg: FeatureConfig): Magnitudes => {
    calls.push(samples.length);
    return analyzeMagnitudes(samples, cfg);
  };
  return { calls, analyzer };
}

function corpus(): string {
  const dir = tmpDir('lts-cache-');
  wav(join(dir, 'a.wav'), tone(0.3, 44100, 220), 44100);
  wav(join(dir, 'b.wav'), tone(0.4, 44100, 330, { seed: 5 }), 44100);
  wav(join(dir, 'sub', 'c.wav'), tone(0.5, 22050, 440, { seed: 9 }), 22050);
  return dir;
}

test('feature cache: the second run does not analyse; results are identical; the default folder is <dataset>/.lts-cache', async () => {
  const dir = corpus();
  const first = countingAnalyzer();
  const r1 = await loadDataset(dir, CFG, { analyzer: first.analyzer, seed: 1 });
  assert.equal(first.calls.length, 3);
  assert.equal(r1.cache.dir, join(dir, '.lts-cache'));
  assert.deepEqual([r1.cache.hits, r1.cache.misses, r1.cache.writes], [0, 3, 3]);
  assert.equal(readdirSync(join(dir, '.lts-cache')).filter((f) => f.endsWith('.ltsf')).length, 3);
  const second = countingAnalyzer();
  const progress: string[] = [];
  const r2 = await loadDataset(dir, CFG, { analyzer: second.analyzer, seed: 1, onProgress: (p) => progress.push(p.status) });
  assert.equal(second.calls.length, 0, 'no analysis on the second run');
  assert.deepEqual([r2.cache.hits, r2.cache.misses], [3, 0]);
  assert.deepEqual(progress, ['cached', 'cached', 'cached']);
  assert.ok(r2.files.every((f) => f.cached));
  assert.deepEqual(r2.train.data, r1.train.data);
  assert.deepEqual(r2.validation.data, r1.validation.data);
  // Only the scaling changed: the cached magnitudes are reused, and the features are log1p of them.
  const third = countingAnalyzer();
  const r3 = await loadDataset(dir, { ...CFG, scaling: 'log' }, { analyzer: third.analyzer, seed: 1 });
  assert.equal(third.calls.length, 0);
  for (let i = 0; i < r1.train.data.length; i += 97) assert.ok(Math.abs(r3.train.data[i] - Math.log1p(r1.train.data[i])) < 1e-5);
});

test('feature cache: a changed file or a changed transform is re-analysed', async () => {
  const dir = corpus();
  await loadDataset(dir, CFG, { cacheDir: join(dir, 'cache-here') });
  // Rewrite b.wav with other content (new mtime).
  wav(join(dir, 'b.wav'), tone(0.4, 44100, 660, { seed: 6 }), 44100);
  const t = countingAnalyzer();
  const r = await loadDataset(dir, CFG, { analyzer: t.analyzer, cacheDir: join(dir, 'cache-here') });
  assert.deepEqual(t.calls, [Math.round(0.4 * 44100)], 'only b.wav re-analysed');
  assert.deepEqual([r.cache.hits, r.cache.invalid], [2, 1]);
  // Same size, same mtime, same inode, but different audio at the start: caught by the head/tail hash.
  // (Whole-second times, so that restoring the mtime is exact.)
  const p = join(dir, 'a.wav');
  utimesSync(p, 1_700_000_000, 1_700_000_000);
  await loadDataset(dir, CFG, { cacheDir: join(dir, 'cache-here') });
  const st = statSync(p);
  const buf = readFileSync(p);
  buf[100] ^= 0x55;
  writeFileSync(p, buf);
  utimesSync(p, st.atime, st.mtime);
  assert.equal(statSync(p).mtimeMs, st.mtimeMs);
  assert.equal(statSync(p).ino, st.ino);
  const u = countingAnalyzer();
  await loadDataset(dir, CFG, { analyzer: u.analyzer, cacheDir: join(dir, 'cache-here') });
  assert.deepEqual(u.calls, [Math.round(0.3 * 44100)], 'only a.wav re-analysed');
  // A different transform: everything is re-analysed once, then cached too.
  const other: FeatureConfig = { transform: { kind: 'stft', sampleRate: 44100, nFft: 512, hop: 128 }, scaling: 'linear' };
  const v = countingAnalyzer();
  const rv = await loadDataset(dir, other, { analyzer: v.analyzer, cacheDir: join(dir, 'cache-here') });
  assert.equal(v.calls.length, 3);
  assert.equal(rv.train.bins, 257);
  const w = countingAnalyzer();
  await loadDataset(dir, CFG, { analyzer: w.analyzer, cacheDir: join(dir, 'cache-here') });
  assert.equal(w.calls.length, 0, 'the first configuration is still cached beside the second');
});

test('feature cache: corrupt, truncated and foreign entries are re-analysed, never trusted', async () => {
  const dir = corpus();
  const cacheDir = join(dir, 'c');
  const good = await loadDataset(dir, CFG, { cacheDir, seed: 2 });
  const entries = readdirSync(cacheDir).filter((f) => f.endsWith('.ltsf')).map((f) => join(cacheDir, f)).sort();
  assert.equal(entries.length, 3);
  // 1: flip one byte in the float data (checksum mismatch); 2: truncate; 3: replace with garbage.
  const b0 = readFileSync(entries[0]);
  b0[b0.length - 5] ^= 0xff;
  writeFileSync(entries[0], b0);
  truncateSync(entries[1], Math.floor(statSync(entries[1]).size / 2));
  writeFileSync(entries[2], 'garbage');
  const t = countingAnalyzer();
  const r = await loadDataset(dir, CFG, { analyzer: t.analyzer, cacheDir, seed: 2 });
  assert.equal(t.calls.length, 3);
  assert.deepEqual([r.cache.hits, r.cache.invalid, r.cache.writes], [0, 3, 3]);
  assert.deepEqual(r.train.data, good.train.data, 're-analysis gives the original features');
  assert.deepEqual(r.validation.data, good.validation.data);
  // Repaired: the next run hits.
  const u = countingAnalyzer();
  await loadDataset(dir, CFG, { analyzer: u.analyzer, cacheDir, seed: 2 });
  assert.equal(u.calls.length, 0);
});

test('feature cache: cacheDir false writes nothing; an unwritable <dataset>/.lts-cache falls back to $XDG_CACHE_HOME/lts', async () => {
  const dir = corpus();
  await loadDataset(dir, CFG, { cacheDir: false });
  assert.equal(existsSync(join(dir, '.lts-cache')), false);
  // Make ".lts-cache" a plain file so the folder cannot be created there (works even as root).
  writeFileSync(join(dir, '.lts-cache'), 'in the way');
  const xdg = tmpDir('lts-xdg-');
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = xdg;
  try {
    assert.equal(defaultCacheDir(dir), join(xdg, 'lts'));
    const r = await loadDataset(dir, CFG, {});
    assert.equal(r.cache.dir, join(xdg, 'lts'));
    assert.equal(readdirSync(join(xdg, 'lts')).filter((f) => f.endsWith('.ltsf')).length, 3);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
});

test('fingerprintFile: hashes only the first and last 64 KiB of big files', async () => {
  const dir = tmpDir('lts-fp-');
  const p = join(dir, 'big.bin');
  const data = new Uint8Array(3 * EDGE_BYTES);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  writeFileSync(p, data);
  utimesSync(p, 1_700_000_000, 1_700_000_000);
  const st = statSync(p);
  const a = await fingerprintFile(p);
  // A change in the middle (outside both edges), mtime restored: same fingerprint (the documented residual risk).
  data[EDGE_BYTES + 10] ^= 1;
  writeFileSync(p, data);
  utimesSync(p, st.atime, st.mtime);
  assert.deepEqual(await fingerprintFile(p), a);
  // A change in the last 64 KiB: different fingerprint.
  data[data.length - 1] ^= 1;
  writeFileSync(p, data);
  utimesSync(p, st.atime, st.mtime);
  assert.notEqual((await fingerprintFile(p)).edgeHash, a.edgeHash);
});

test('two analysis threads: the same frames, files and warning as one; a file that fails in a helper is skipped; cached files need none', async () => {
  const dir = tmpDir();
  // Passes the scan (a valid header) but fails when decoded: a NaN sample.
  const nan = wav(join(dir, 'a-nan.wav'), tone(0.5, 44100, 300), 44100, 'float32');
  const bytesOf = readFileSync(nan);
  bytesOf.writeFloatLE(Number.NaN, bytesOf.length - 400);
  writeFileSync(nan, bytesOf);
  for (let i = 0; i < 5; i++) wav(join(dir, `f${i}.wav`), tone(0.6 + 0.1 * i, 44100, 200 + 70 * i, { seed: i }), 44100, 'pcm16');
  const one = await loadDataset(dir, CFG, { seed: 2, cacheDir: false });
  assert.equal(one.analysisThreads, 1);
  const progress: string[] = [];
  const two = await loadDataset(dir, CFG, { seed: 2, threads: 2, parallelMinSeconds: 0, onProgress: (p) => progress.push(`${p.done}:${p.status}`) });
  assert.equal(two.analysisThreads, 2, 'a helper thread analysed files');
  assert.deepEqual(two.train, one.train);
  assert.deepEqual(two.validation, one.validation);
  assert.deepEqual(two.files.map((f) => [f.relPath, f.split, f.frames]), one.files.map((f) => [f.relPath, f.split, f.frames]));
  assert.deepEqual(two.skipped, one.skipped);
  assert.equal(two.warning, one.warning);
  assert.match(two.warning ?? '', /a-nan\.wav \(.*NaN sample values/);
  assert.deepEqual(progress.map((p) => Number(p.split(':')[0])), [1, 2, 3, 4, 5, 6], 'one report per file, counting up');
  assert.equal(progress.filter((p) => p.endsWith(':skipped')).length, 1);
  // Everything readable is cached now: no threads are started for the second run.
  const again = await loadDataset(dir, CFG, { seed: 2, threads: 2, parallelMinSeconds: 0 });
  assert.equal(again.analysisThreads, 1);
  assert.equal(again.cache.hits, 5);
  assert.deepEqual(again.train, one.train);
});

test('feature cache: a dataset without readable audio gets no cache folder; the default folder is made by the first entry', async () => {
  const text = tmpDir('lts-cache-text-');
  bytes(join(text, 'readme.txt'), 'notes');
  const bad = tmpDir('lts-cache-bad-');
  bytes(join(bad, 'x.wav'), 'RIFF junk that is no WAV');
  // Passes the scan (a valid header) but fails when decoded: a NaN sample.
  const nan = wav(join(bad, 'nan.wav'), tone(0.2, 44100, 300), 44100, 'float32');
  const b = readFileSync(nan);
  b.writeFloatLE(Number.NaN, b.length - 4);
  writeFileSync(nan, b);
  for (const dir of [tmpDir('lts-cache-empty-'), text, bad]) {
    await assert.rejects(loadDataset(dir, CFG, {}), (e: unknown) => e instanceof UserError && /holds no readable audio files/.test(e.message));
    assert.equal(existsSync(join(dir, '.lts-cache')), false, dir);
  }
  // Choosing the default folder creates nothing; a FeatureCache creates its folder with the first entry.
  const dir = tmpDir('lts-cache-lazy-');
  assert.equal(defaultCacheDir(dir), join(dir, '.lts-cache'));
  assert.equal(existsSync(join(dir, '.lts-cache')), false);
  const cache = new FeatureCache(join(dir, '.lts-cache'));
  assert.equal(existsSync(cache.dir), false);
  const audio = wav(join(dir, 'a.wav'), tone(0.1, 44100, 200), 44100);
  assert.ok(await cache.put(audio, 'abc', await fingerprintFile(audio), { frames: 1, bins: 2, data: new Float32Array([1, 2]) }));
  assert.equal(readdirSync(cache.dir).length, 1);
});

test('feature cache: a dataset refused after analysis takes back its entries and folders, keeping what was there before', async () => {
  const silent = tmpDir('lts-cache-silent-');
  wav(join(silent, 'a.wav'), new Float32Array(8000), 44100);
  wav(join(silent, 'b.wav'), new Float32Array(6000), 44100);
  // Default folder: created for the entries, then removed with them.
  await assert.rejects(loadDataset(silent, CFG, {}), (e: unknown) => e instanceof UserError && /is silent/.test(e.message));
  assert.equal(existsSync(join(silent, '.lts-cache')), false);
  // A nested cache folder of which nothing existed: every folder the run made is removed.
  const outer = join(tmpDir('lts-cache-nested-'), 'outer');
  await assert.rejects(loadDataset(silent, CFG, { cacheDir: join(outer, 'inner') }), /is silent/);
  assert.equal(existsSync(outer), false);
  // An existing cache with another dataset's entries: those stay, the refused run's go.
  const good = corpus();
  const shared = join(tmpDir('lts-cache-shared-'), 'cache');
  await loadDataset(good, CFG, { cacheDir: shared });
  const before = readdirSync(shared).sort();
  assert.equal(before.length, 3);
  await assert.rejects(loadDataset(silent, CFG, { cacheDir: shared }), /is silent/);
  assert.deepEqual(readdirSync(shared).sort(), before);
  // Too few frames for the caller: the same.
  await assert.rejects(loadDataset(good, CFG, { cacheDir: join(good, 'c2'), minTrainFrames: 100_000 }), /is too small to train on/);
  assert.equal(existsSync(join(good, 'c2')), false);
  // A cache folder that cannot be created is refused up front, naming it.
  mkdirSync(join(good, 'blocked'));
  writeFileSync(join(good, 'blocked', 'file'), 'x');
  await assert.rejects(loadDataset(good, CFG, { cacheDir: join(good, 'blocked', 'file', 'cache') }), (e: unknown) =>
    e instanceof UserError && e.message === `feature cache folder ${join(good, 'blocked', 'file', 'cache')} cannot be created or written; choose another cache folder`);
});
