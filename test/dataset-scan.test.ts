import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { scanDataset, splitByFile, loadDataset } from '../src/engine/dataset.ts';
import { UserError } from '../src/io/errors.ts';
import type { FeatureConfig } from '../src/engine/types.ts';
import { tmpDir, tone, sine, wav, soxConvert, bytes } from './dataset-helpers.ts';

/** A small mixed-format dataset with nested folders, junk and unreadable files. */
function makeCorpus(): string {
  const dir = tmpDir();
  wav(join(dir, 'a-tone.wav'), tone(0.5, 44100, 220), 44100, 'pcm16');
  wav(join(dir, 'sub', 'b-stereo.wav'), [tone(0.25, 48000, 330), tone(0.25, 48000, 440, { seed: 2 })], 48000, 'float32');
  const src = wav(join(dir, '.work', 'src.wav'), tone(0.4, 22050, 550), 22050, 'pcm16');
  soxConvert(src, join(dir, 'sub', 'deeper', 'c-tone.flac'));
  soxConvert(src, join(dir, 'd-tone.ogg'));
  bytes(join(dir, 'notes.txt'), 'not audio, ignored by extension');
  bytes(join(dir, 'broken.wav'), 'RIFF\x10\x00\x00\x00WAVEjunkjunkjunk');
  bytes(join(dir, 'sub', 'empty.wav'), new Uint8Array(0));
  wav(join(dir, '.hidden', 'x.wav'), tone(0.1, 44100, 100), 44100);
  return dir;
}

test('scanDataset: nested folders, mixed formats, sorted; junk ignored; unreadable files collected, not thrown', async () => {
  const dir = makeCorpus();
  const files = await scanDataset(dir);
  assert.deepEqual(
    files.map((f) => f.relPath),
    ['a-tone.wav', 'd-tone.ogg', 'sub/b-stereo.wav', 'sub/deeper/c-tone.flac'],
  );
  const by = Object.fromEntries(files.map((f) => [f.relPath, f]));
  assert.equal(by['a-tone.wav'].sampleRate, 44100);
  assert.equal(by['a-tone.wav'].channels, 1);
  assert.ok(Math.abs(by['a-tone.wav'].duration - 0.5) < 1e-6);
  assert.equal(by['sub/b-stereo.wav'].channels, 2);
  assert.equal(by['sub/b-stereo.wav'].sampleRate, 48000);
  assert.ok(Math.abs(by['sub/b-stereo.wav'].duration - 0.25) < 1e-6);
  assert.equal(by['sub/deeper/c-tone.flac'].sampleRate, 22050);
  assert.ok(Math.abs(by['sub/deeper/c-tone.flac'].duration - 0.4) < 1e-3);
  assert.ok(Math.abs(by['d-tone.ogg'].duration - 0.4) < 0.05, `ogg duration ${by['d-tone.ogg'].duration}`);
  for (const f of files) assert.ok(f.path.startsWith(dir) && f.path.endsWith(f.relPath));
  assert.deepEqual(
    files.skipped.map((s) => s.path),
    [join(dir, 'broken.wav'), join(dir, 'sub', 'empty.wav')],
  );
  for (const s of files.skipped) {
    assert.ok(s.reason.length > 0 && !s.reason.includes('\n'), 'one-line reason');
  }
});

test('scanDataset: symlink loops end; missing folder and a file instead of a folder are one-line UserErrors', async () => {
  const dir = tmpDir();
  wav(join(dir, 'one.wav'), tone(0.1, 44100, 300), 44100);
  mkdirSync(join(dir, 'loop'));
  symlinkSync(dir, join(dir, 'loop', 'back'));
  const files = await scanDataset(dir);
  assert.deepEqual(files.map((f) => f.relPath), ['one.wav']);
  await assert.rejects(scanDataset(join(dir, 'nope')), (e: unknown) => e instanceof UserError && /does not exist/.test(e.message));
  await assert.rejects(scanDataset(join(dir, 'one.wav')), (e: unknown) => e instanceof UserError && /not a folder/.test(e.message));
  const empty = tmpDir();
  writeFileSync(join(empty, 'readme.txt'), 'x');
  await assert.rejects(
    loadDataset(empty, { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'linear' }, { cacheDir: false }),
    (e: unknown) => e instanceof UserError && /no readable audio/.test(e.message) && !e.message.includes('\n'),
  );
});

test('splitByFile: by file, deterministic for a seed, sizes as documented, stable when a file is added', () => {
  const names = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, '0')}.wav`);
  const a = splitByFile(names, 0.1, 7);
  assert.equal(a.size, 2);
  assert.deepEqual([...splitByFile([...names].reverse(), 0.1, 7)].sort(), [...a].sort(), 'independent of input order');
  const seen = new Set<string>();
  for (let seed = 0; seed < 10; seed++) seen.add([...splitByFile(names, 0.1, seed)].sort().join());
  assert.ok(seen.size >= 5, 'different seeds give different splits');
  assert.equal(splitByFile(['x.wav', 'y.wav'], 0.1, 1).size, 1, 'at least one validation file with two files');
  assert.equal(splitByFile(['x.wav', 'y.wav'], 0.9, 1).size, 1, 'at least one training file');
  assert.equal(splitByFile(['x.wav'], 0.5, 1).size, 0, 'one file: no validation');
  assert.equal(splitByFile(names, 0, 1).size, 0);
  // Adding a file changes membership of at most one old file.
  const b = splitByFile([...names, 'new.wav'], 0.1, 7);
  const moved = [...a].filter((x) => !b.has(x)).length;
  assert.ok(moved <= 1);
  assert.throws(() => splitByFile(names, 1, 1), UserError);
  assert.throws(() => splitByFile(names, -0.1, 1), UserError);
});

test('loadDataset: frames per file, validation split by file, features on the expected scale, one warning', async () => {
  const dir = makeCorpus();
  // A sine at the centre of STFT bin 6 (nFft 256 at 44.1 kHz), amplitude 0.5: |X[6]| = 0.5 * sum(hann) / 2 = 0.5 * 256 / 4 = 32.
  const k = 6;
  const f = (k * 44100) / 256;
  wav(join(dir, 'sine.wav'), sine(0.5, 44100, f, 0.5), 44100, 'float32');
  const cfg: FeatureConfig = { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'linear' };
  const progress: string[] = [];
  const ds = await loadDataset(dir, cfg, { validationFraction: 0.3, seed: 3, cacheDir: false, onProgress: (p) => progress.push(`${p.done}/${p.total}:${p.status}`) });
  assert.equal(ds.files.length, 5);
  assert.deepEqual(progress, ['1/5:analysed', '2/5:analysed', '3/5:analysed', '4/5:analysed', '5/5:analysed']);
  // Expected frame counts from the STFT definition: 1 + floor(len / hop), len at 44.1 kHz.
  const expectedLen: Record<string, number> = { 'a-tone.wav': 22050, 'sub/b-stereo.wav': 11025, 'sub/deeper/c-tone.flac': 17640, 'sine.wav': 22050 };
  for (const file of ds.files) {
    const len = expectedLen[file.relPath];
    if (len !== undefined) assert.equal(file.frames, 1 + Math.floor(len / 64), file.relPath);
  }
  const val = ds.files.filter((x) => x.split === 'validation');
  assert.equal(val.length, 2, 'round(0.3 * 5) validation files');
  assert.equal(ds.validation.frames, val.reduce((n, x) => n + x.frames, 0));
  assert.equal(ds.train.frames, ds.files.filter((x) => x.split === 'train').reduce((n, x) => n + x.frames, 0));
  assert.equal(ds.train.bins, 129);
  assert.equal(ds.train.data.length, ds.train.frames * 129);
  // Same seed: same split and identical data; the split is a function of the seed.
  const again = await loadDataset(dir, cfg, { validationFraction: 0.3, seed: 3, cacheDir: false });
  assert.deepEqual(again.files.map((x) => x.split), ds.files.map((x) => x.split));
  assert.deepEqual(again.train.data, ds.train.data);
  // The sine's middle frames peak at bin 6 with magnitude 32 (±1 %).
  const sineFile = ds.files.find((x) => x.relPath === 'sine.wav')!;
  const set = sineFile.split === 'train' ? ds.train : ds.validation;
  const mid = sineFile.firstFrame + Math.floor(sineFile.frames / 2);
  const row = set.data.subarray(mid * 129, (mid + 1) * 129);
  let peak = 0;
  for (let b = 1; b < 129; b++) if (row[b] > row[peak]) peak = b;
  assert.equal(peak, k);
  assert.ok(Math.abs(row[k] - 32) < 0.32, `magnitude ${row[k]}`);
  // Log scaling: log1p of the same magnitudes.
  const logDs = await loadDataset(dir, { ...cfg, scaling: 'log' }, { validationFraction: 0.3, seed: 3, cacheDir: false });
  const logRow = (sineFile.split === 'train' ? logDs.train : logDs.validation).data.subarray(mid * 129, (mid + 1) * 129);
  assert.ok(Math.abs(logRow[k] - Math.log(33)) < 0.01);
  // Skipped files: listed once, in one line.
  assert.deepEqual(ds.skipped.map((s) => s.path), [join(dir, 'broken.wav'), join(dir, 'sub', 'empty.wav')]);
  assert.ok(ds.warning && /skipped 2 unreadable files: broken\.wav \(.+\); sub\/empty\.wav \(.+\)/.test(ds.warning), ds.warning ?? '');
  assert.ok(!ds.warning!.includes('\n'));
});

test('loadDataset: silent frames are kept; a single file gives an empty validation set', async () => {
  const dir = tmpDir();
  const x = new Float32Array(44100 / 2);
  x.set(sine(0.25, 44100, 1000, 0.5), 0); // second half is digital silence
  wav(join(dir, 'half-silent.wav'), x, 44100, 'float32');
  const ds = await loadDataset(dir, { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'linear' }, { cacheDir: false });
  assert.equal(ds.validation.frames, 0);
  assert.equal(ds.train.frames, 1 + Math.floor(x.length / 64));
  const last = ds.train.data.subarray((ds.train.frames - 1) * 129);
  assert.ok(last.every((v) => v === 0), 'the last (silent) frame is present and zero');
  assert.equal(ds.warning, null);
});

test('loadDataset: an abort signal stops between files', async () => {
  const dir = tmpDir();
  for (let i = 0; i < 3; i++) wav(join(dir, `f${i}.wav`), tone(0.2, 44100, 200 + 50 * i), 44100);
  const ac = new AbortController();
  await assert.rejects(
    loadDataset(dir, { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'linear' }, {
      cacheDir: false,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.done === 1) ac.abort();
      },
    }),
    (e: unknown) => e instanceof Error && e.name === 'AbortError',
  );
});

test('loadDataset: a dataset silent throughout is refused in one line; quiet sound and partly silent files are kept', async () => {
  const cfg: FeatureConfig = { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'log' };
  const dir = tmpDir();
  wav(join(dir, 'zeros.wav'), new Float32Array(22050), 44100);
  wav(join(dir, 'sub', 'zeros-float.wav'), new Float32Array(11025), 44100, 'float32');
  await assert.rejects(loadDataset(dir, cfg, { cacheDir: false }), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(
      e.message,
      `dataset ${dir} is silent: its 2 files (0.75 s of audio) hold nothing louder than -90 dBFS, so there is no timbre to learn; add recordings with sound to it`,
    );
    return true;
  });
  // A sine at -60 dBFS (0.001) is quiet but not silence; with it the silent files are kept too.
  wav(join(dir, 'quiet.wav'), sine(0.25, 44100, 1000, 0.001), 44100, 'float32');
  const ds = await loadDataset(dir, cfg, { cacheDir: false, validationFraction: 0 });
  assert.deepEqual(ds.files.map((f) => f.relPath), ['quiet.wav', 'sub/zeros-float.wav', 'zeros.wav']);
});

test('loadDataset: fewer training frames than minTrainFrames is refused with the counts; the default minimum is one frame', async () => {
  const cfg: FeatureConfig = { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'linear' };
  const dir = tmpDir();
  wav(join(dir, 'a.wav'), tone(0.1, 44100, 220), 44100); // 1 + floor(4410 / 64) = 69 frames
  wav(join(dir, 'b.wav'), tone(0.2, 44100, 330), 44100); // 138 frames
  const small = await loadDataset(dir, cfg, { cacheDir: false, validationFraction: 0 });
  assert.equal(small.train.frames, 69 + 138);
  await assert.rejects(loadDataset(dir, cfg, { cacheDir: false, validationFraction: 0, minTrainFrames: 1000 }), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(
      e.message,
      `dataset ${dir} is too small to train on: its training set has 207 frames (2 files, 0.3 s of audio) but training needs at least 1000 frames (about 1.5 s of audio); add more or longer audio files`,
    );
    return true;
  });
  // Exactly the minimum is enough.
  const exact = await loadDataset(dir, cfg, { cacheDir: false, validationFraction: 0, minTrainFrames: 207 });
  assert.equal(exact.train.frames, 207);
  await assert.rejects(loadDataset(dir, cfg, { cacheDir: false, minTrainFrames: 0 }), RangeError);
});

test('loadDataset: a cut-off file is used as far as it decodes and named in the one warning line, on one thread and on several', async () => {
  const dir = tmpDir();
  wav(join(dir, 'whole.wav'), tone(1, 44100, 220), 44100);
  wav(join(dir, 'other.wav'), tone(1, 44100, 330), 44100);
  // A recording cut off at 0.5 s: the header still promises 1 s.
  const full = readFileSync(wav(join(dir, 'cut.wav'), tone(1, 44100, 440), 44100));
  writeFileSync(join(dir, 'cut.wav'), full.subarray(0, 44 + 2 * 22050));
  const cfg: FeatureConfig = { transform: { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 }, scaling: 'linear' };
  for (const threads of [1, 2]) {
    const ds = await loadDataset(dir, cfg, { validationFraction: 0, cacheDir: false, threads, parallelMinSeconds: 0 });
    assert.equal(ds.files.length, 3, `threads ${threads}`);
    assert.equal(ds.analysisThreads, threads);
    assert.equal(ds.files.find((f) => f.relPath === 'cut.wav')!.frames, 1 + Math.floor(22050 / 64), 'the half that is there');
    assert.deepEqual(ds.skipped, []);
    assert.ok(ds.warning && !ds.warning.includes('\n'), ds.warning ?? '');
    assert.match(ds.warning!, /^used 1 damaged file as far as it decodes: .*cut\.wav: the file is cut off: its header promises 1\.00 s, it holds 0\.50 s/);
    assert.doesNotMatch(ds.warning!, /whole\.wav|other\.wav/);
  }
});
