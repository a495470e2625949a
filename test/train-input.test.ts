/**
 * `lts train` on inputs it must refuse: datasets without readable audio (which must leave no cache
 * folder behind), datasets too small or silent to train on, a checkpoint with a damaged config.json,
 * a run whose weights go infinite (which must not write them, keeping the last good checkpoint), and a
 * run whose loss goes infinite (whose advice names --scaling log only when the run uses linear
 * magnitudes). Also: the analysis progress counts a file it skips as skipped.
 *
 * Datasets are real WAV files written by the test; the training runs use a tiny network and one or two
 * epochs, so each takes a second or two.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainCommand } from '../src/cli/train.ts';
import { initBackend } from '../src/engine/backend.ts';
import { loadModelFolder } from '../src/engine/model-folder.ts';
import { tmpDir, tone, wav, bytes } from './dataset-helpers.ts';

const TINY = ['--hidden', '16', '--latent', '2', '--n-fft', '256', '--hop', '64', '--batch', '64'];

before(async () => {
  await initBackend('auto');
});

/** Run trainCommand in this process, capturing what it writes to stderr. */
async function runInProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  const origErr = process.stderr.write.bind(process.stderr);
  let stderr = '';
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => {
    stderr += s;
    return true;
  };
  try {
    const code = await trainCommand(args);
    return { code, stderr };
  } finally {
    (process.stderr as unknown as { write: typeof origErr }).write = origErr;
  }
}

/** The last line a refused run printed: one `lts train: ...` line, after the backend line. */
function refusal(r: { code: number; stderr: string }, what: string): string {
  assert.equal(r.code, 2, `exit code for ${what}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  const last = lines.at(-1)!.replace(/^.*\r/, '');
  assert.match(last, /^lts train: /, `${what}: ${r.stderr}`);
  assert.ok(!lines.some((l) => /internal error/.test(l)), `${what}: ${r.stderr}`);
  return last;
}

/** A float32 WAV whose last sample is NaN: its header passes the scan, decoding refuses it. */
function nanWav(path: string): void {
  wav(path, tone(0.3, 44100, 300), 44100, 'float32');
  const b = readFileSync(path);
  b.writeFloatLE(Number.NaN, b.length - 4);
  writeFileSync(path, b);
}

test('a dataset without readable audio is refused and no .lts-cache folder is left in it', async () => {
  const empty = tmpDir('lts-in-empty-');
  const text = tmpDir('lts-in-text-');
  bytes(join(text, 'readme.txt'), 'notes');
  bytes(join(text, 'sub', 'list.md'), '# list');
  const bad = tmpDir('lts-in-bad-');
  bytes(join(bad, 'text.wav'), 'this is not audio at all');
  bytes(join(bad, 'empty.flac'), new Uint8Array(0));
  nanWav(join(bad, 'nan.wav'));
  const cases: [string, string, RegExp][] = [
    ['empty folder', empty, /holds no readable audio files; add WAV, FLAC, MP3 or OGG files to it$/],
    ['only text files', text, /holds no readable audio files; add WAV/],
    ['only unreadable audio files', bad, /holds no readable audio files \(3 unreadable: .*\); add WAV/],
  ];
  for (const [what, ds, pattern] of cases) {
    const out = join(tmpDir('lts-in-out-'), 'run');
    const line = refusal(await runInProcess([ds, '--out', out, '--epochs', '1', ...TINY]), what);
    assert.match(line, pattern, what);
    assert.ok(line.includes(ds), `${what}: names the folder`);
    assert.equal(existsSync(join(ds, '.lts-cache')), false, `${what}: no cache folder in the dataset`);
    assert.equal(existsSync(out), false, `${what}: no run folder`);
  }
});

test('a dataset too small to train on is refused with its frame count and what is needed, leaving no trace', async () => {
  // One file of 10 samples: 1 frame.
  const tiny = tmpDir('lts-in-tiny-');
  wav(join(tiny, 'short10.wav'), tone(10 / 44100, 44100, 440), 44100);
  const out = join(tmpDir('lts-in-out-'), 'run');
  let line = refusal(await runInProcess([tiny, '--out', out, '--epochs', '1', ...TINY]), 'one 10-sample file');
  assert.match(
    line,
    new RegExp(`^lts train: dataset ${tiny} is too small to train on: its training set has 1 frame \\(1 file, 0\\.00023 s of audio\\) but training needs at least 64 frames \\(about 0\\.093 s of audio\\); add more or longer audio files$`),
  );
  assert.equal(existsSync(join(tiny, '.lts-cache')), false, 'the cache entry written for the refused dataset is removed with its folder');
  assert.equal(existsSync(out), false);

  // Two short files: enough frames in total, but one is held out for validation; a bigger batch needs more.
  const two = tmpDir('lts-in-two-');
  wav(join(two, 'a.wav'), tone(0.05, 44100, 220), 44100);
  wav(join(two, 'b.wav'), tone(0.05, 44100, 330), 44100);
  line = refusal(await runInProcess([two, '--out', out, '--epochs', '1', ...TINY]), 'two short files');
  assert.match(line, /its training set has 35 frames \(1 file, 0\.05 s of audio\) but training needs at least 64 frames .*; add more or longer audio files, or hold out fewer files for validation \(--validation; 35 frames in 1 file are held out now\)$/);
  line = refusal(await runInProcess([two, '--out', out, '--epochs', '1', ...TINY, '--validation', '0', '--batch', '256']), 'a batch larger than the dataset');
  assert.match(line, /its training set has 70 frames \(2 files, 0\.1 s of audio\) but training needs at least 256 frames \(about 0\.37 s of audio\)/);
  assert.equal(existsSync(join(two, '.lts-cache')), false);
  // With enough audio the same settings train.
  wav(join(two, 'c.wav'), tone(0.3, 44100, 440), 44100);
  const ok = await runInProcess([two, '--out', out, '--epochs', '1', ...TINY, '--validation', '0']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(existsSync(join(two, '.lts-cache')), 'a run that trains keeps its cache');
});

test('a silent dataset is refused (digital silence and dithered 16-bit silence), leaving no trace', async () => {
  const zeros = tmpDir('lts-in-silent-');
  wav(join(zeros, 'silent.wav'), new Float32Array(44100), 44100);
  wav(join(zeros, 'sub', 'also-silent.wav'), new Float32Array(22050), 44100, 'float32');
  const dither = tmpDir('lts-in-dither-');
  const d = new Float32Array(44100);
  let seed = 99;
  for (let i = 0; i < d.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    d[i] = (Math.floor((seed / 2 ** 32) * 3) - 1) / 32768; // random -1, 0 or +1 LSB
  }
  wav(join(dither, 'dither.wav'), d, 44100);
  for (const [ds, what, files] of [[zeros, 'digital silence', '2 files \\(1\\.5 s of audio\\) hold'], [dither, 'dithered silence', 'file \\(1 s of audio\\) holds']] as const) {
    const out = join(tmpDir('lts-in-out-'), 'run');
    const line = refusal(await runInProcess([ds, '--out', out, '--epochs', '1', ...TINY, '--validation', '0']), what);
    assert.match(line, new RegExp(`^lts train: dataset ${ds} is silent: its ${files} nothing louder than -90 dBFS, so there is no timbre to learn; add recordings with sound to it$`));
    assert.equal(existsSync(join(ds, '.lts-cache')), false, what);
    assert.equal(existsSync(out), false, what);
  }
});

test('resuming from a checkpoint with a bad config.json value or NaN weights names the file and the field or tensor', async () => {
  const ds = tmpDir('lts-in-resume-ds-');
  wav(join(ds, 'a.wav'), tone(0.3, 44100, 220), 44100);
  const out = join(tmpDir('lts-in-resume-'), 'run');
  const first = await runInProcess([ds, '--out', out, '--epochs', '1', ...TINY, '--validation', '0']);
  assert.equal(first.code, 0, first.stderr);
  const path = join(out, 'checkpoint', 'config.json');
  const original = readFileSync(path);
  const cfg = JSON.parse(original.toString('utf8'));
  cfg.features.transform.hop = 0;
  writeFileSync(path, JSON.stringify(cfg));
  let line = refusal(await runInProcess([ds, '--out', out, '--resume', '--epochs', '2']), 'hop 0 in the checkpoint');
  assert.equal(
    line,
    `lts train: ${path}: features.transform.hop is 0, but must be an integer from 1 to 128 (at most nFft/2, e.g. 32); set it back to the value the model was trained with, or retrain (or re-import) the model`,
  );
  // A checkpoint whose weights hold a NaN (checksum valid) is refused as broken, naming its weights file.
  writeFileSync(path, original);
  const ck = join(out, 'checkpoint');
  const manifest = JSON.parse(readFileSync(join(ck, 'weights.json'), 'utf8')) as { sha256: string; weights: { name: string; offset: number }[] };
  const bin = readFileSync(join(ck, 'weights.bin'));
  bin.writeFloatLE(Number.NaN, manifest.weights.find((w) => w.name === 'encoder/z_mean/bias')!.offset);
  writeFileSync(join(ck, 'weights.bin'), bin);
  manifest.sha256 = createHash('sha256').update(bin).digest('hex');
  writeFileSync(join(ck, 'weights.json'), JSON.stringify(manifest));
  line = refusal(await runInProcess([ds, '--out', out, '--resume', '--epochs', '2']), 'NaN weights in the checkpoint');
  assert.equal(
    line,
    `lts train: ${join(ck, 'weights.bin')}: tensor "encoder/z_mean/bias" holds 1 NaN or infinite value (of 2); the model is broken (e.g. its training diverged): retrain it with a lower learning rate (--lr), or use an earlier checkpoint of its run`,
  );
});

test('weights that become infinite are never written: the run stops naming the epoch, the last good checkpoint is kept', async () => {
  // One file of exactly 64 frames (63 hops of 64 samples) and batch 64: one optimiser step per epoch.
  const ds = tmpDir('lts-in-div-ds-');
  wav(join(ds, 'a.wav'), tone(63 * 64 / 44100, 44100, 220, { harmonics: 6 }), 44100);
  const out = join(tmpDir('lts-in-div-'), 'run');
  const first = await runInProcess([ds, '--out', out, '--epochs', '1', ...TINY, '--validation', '0']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /dataset: 1 training file \(64 frames\)/);
  // A checkpoint on the edge of divergence: one first Adam moment at the top of float32, with valid checksums.
  // The next step's loss is still finite, but the update drives that weight to infinity.
  const ck = join(out, 'checkpoint');
  const manifest = JSON.parse(readFileSync(join(ck, 'optimizer.json'), 'utf8')) as { sha256: string; tensors: { name: string; offset: number }[] };
  const m = manifest.tensors.find((t) => t.name === 'decoder/output/bias/m')!;
  const bin = readFileSync(join(ck, 'optimizer.bin'));
  bin.writeFloatLE(3e38, m.offset + 4 * 10);
  writeFileSync(join(ck, 'optimizer.bin'), bin);
  manifest.sha256 = createHash('sha256').update(bin).digest('hex');
  writeFileSync(join(ck, 'optimizer.json'), JSON.stringify(manifest, null, 2));
  const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.bin') || f.endsWith('.json')).map((f) => [f, readFileSync(join(dir, f))]));
  const ckBefore = snapshot(ck);
  const modelBefore = snapshot(out);
  delete modelBefore['history.json']; // rewritten every epoch by design

  const r = await runInProcess([ds, '--out', out, '--resume', '--epochs', '2']);
  const line = refusal(r, 'diverging run');
  assert.equal(
    line,
    `lts train: training diverged at epoch 2: the weights became NaN or infinite (tensor "decoder/output/bias"), so nothing of this epoch was saved; ` +
      `the last good checkpoint (${ck}) is kept: resume from it with a lower learning rate (--resume --lr 0.00001)`,
  );
  // Nothing was written: the checkpoint and the model are byte for byte as before, and load with finite weights.
  for (const [f, b] of Object.entries(ckBefore)) assert.ok(readFileSync(join(ck, f)).equals(b), `checkpoint/${f} unchanged`);
  for (const [f, b] of Object.entries(modelBefore)) assert.ok(readFileSync(join(out, f)).equals(b), `${f} unchanged`);
  for (const dir of [out, ck]) {
    const loaded = await loadModelFolder(dir, { withOptimizer: dir === ck });
    try {
      for (const w of loaded.vae.getWeights()) assert.ok(w.data.every(Number.isFinite), `${dir}: ${w.name} is finite`);
    } finally {
      loaded.vae.dispose();
    }
  }
});

/** Set every value of `tensor` in checkpoint/weights.bin to `value`, keeping the checksums of weights.json and optimizer.json valid. */
function setCheckpointTensor(ck: string, tensor: string, value: number): void {
  const manifest = JSON.parse(readFileSync(join(ck, 'weights.json'), 'utf8')) as { sha256: string; weights: { name: string; offset: number; length: number }[] };
  const w = manifest.weights.find((t) => t.name === tensor)!;
  const bin = readFileSync(join(ck, 'weights.bin'));
  for (let i = 0; i < w.length; i++) bin.writeFloatLE(value, w.offset + 4 * i);
  writeFileSync(join(ck, 'weights.bin'), bin);
  manifest.sha256 = createHash('sha256').update(bin).digest('hex');
  writeFileSync(join(ck, 'weights.json'), JSON.stringify(manifest, null, 2));
  const optimizer = JSON.parse(readFileSync(join(ck, 'optimizer.json'), 'utf8')) as { weightsSha256: string };
  optimizer.weightsSha256 = manifest.sha256;
  writeFileSync(join(ck, 'optimizer.json'), JSON.stringify(optimizer, null, 2));
}

test('a loss that becomes infinite suggests --scaling log only for a run on linear magnitudes', async () => {
  const ds = tmpDir('lts-in-loss-ds-');
  wav(join(ds, 'a.wav'), tone(63 * 64 / 44100, 44100, 220, { harmonics: 6 }), 44100);
  for (const scaling of ['log', 'linear']) {
    const out = join(tmpDir('lts-in-loss-'), 'run');
    const first = await runInProcess([ds, '--out', out, '--epochs', '1', ...TINY, '--validation', '0', '--scaling', scaling]);
    assert.equal(first.code, 0, first.stderr);
    // Finite weights whose output overflows float32 when squared: the next step's loss is infinite.
    setCheckpointTensor(join(out, 'checkpoint'), 'decoder/output/bias', 3e38);
    const line = refusal(await runInProcess([ds, '--out', out, '--resume', '--epochs', '2']), `diverging ${scaling} run`);
    assert.match(line, /^lts train: training diverged at epoch 2, step 2 \(loss (Infinity|NaN)\); resume from the checkpoint in .* with a lower learning rate \(--resume --lr 0\.00001\)/);
    if (scaling === 'log') assert.doesNotMatch(line, /--scaling/, 'log scaling is already in use');
    else assert.match(line, /; or start a new run with --scaling log/);
  }
});

test('the analysis progress counts an unreadable file as skipped, not as analysed', async () => {
  const ds = tmpDir('lts-in-skip-ds-');
  wav(join(ds, 'a.wav'), tone(0.4, 44100, 220, { harmonics: 4 }), 44100);
  wav(join(ds, 'b.wav'), tone(0.4, 44100, 330, { harmonics: 4 }), 44100);
  nanWav(join(ds, 'c-nan.wav')); // passes the scan, fails when decoded
  const r = await runInProcess([ds, '--out', join(tmpDir('lts-in-skip-'), 'run'), '--epochs', '1', ...TINY, '--validation', '0']);
  assert.equal(r.code, 0, r.stderr);
  const progress = r.stderr.split('\n').filter((l) => l.startsWith('analysing '));
  assert.match(progress.at(-1)!, / 2\/3 files \(1 skipped\), /, r.stderr);
  assert.ok(!progress.some((l) => / 3\/3 files/.test(l)), r.stderr);
  assert.match(r.stderr, /dataset: 2 training files/);
});
