import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { trainCommand, parseTrainArgs } from '../src/cli/train.ts';
import { initBackend } from '../src/engine/backend.ts';
import { loadModelFolder } from '../src/engine/model-folder.ts';
import { readAudio } from '../src/io/audio.ts';
import { tmpDir, tone, wav } from './dataset-helpers.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const RUNNER = join(ROOT, 'src', 'cli', 'train-main.ts');
const TINY = ['--hidden', '64', '--latent', '4', '--n-fft', '256', '--hop', '64', '--batch', '64'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `lts train` in a child process (not a TTY: plain progress lines). `onStderr` sees stderr as it grows. */
function runCli(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`lts train timed out; stderr so far:\n${stderr}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

/** Run trainCommand in this process, capturing what it writes to stderr/stdout. */
async function runInProcess(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const origErr = process.stderr.write.bind(process.stderr);
  const origLog = console.log;
  let stderr = '';
  let stdout = '';
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => {
    stderr += s;
    return true;
  };
  console.log = (...a: unknown[]) => {
    stdout += a.join(' ') + '\n';
  };
  try {
    const code = await trainCommand(args);
    return { code, stderr, stdout };
  } finally {
    (process.stderr as unknown as { write: typeof origErr }).write = origErr;
    console.log = origLog;
  }
}

function makeDataset(n = 3, seconds = 0.6): string {
  const dir = tmpDir('lts-train-ds-');
  for (let i = 0; i < n; i++) wav(join(dir, `inst-${i}.wav`), tone(seconds, 44100, 130 * (i + 1), { seed: i + 3, harmonics: 6 }), 44100);
  return dir;
}

function pngSize(bytes: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(String.fromCharCode(...bytes.subarray(12, 16)), 'IHDR');
  // Inflate the image data to be sure it is complete.
  let o = 8;
  const idat: Uint8Array[] = [];
  while (o < bytes.length) {
    const len = dv.getUint32(o);
    if (String.fromCharCode(...bytes.subarray(o + 4, o + 8)) === 'IDAT') idat.push(bytes.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  assert.equal(zlib.inflateSync(Buffer.concat(idat)).length, (width * 3 + 1) * height);
  return { width, height };
}

test('lts train: bad arguments are one-line errors with exit code 2; --help exits 0', async () => {
  const ds = makeDataset(1, 0.2);
  const out = tmpDir('lts-train-out-');
  const cases: [string[], RegExp][] = [
    [[ds, '--out', join(out, 'r'), '--bogus'], /Unknown option '--bogus'/],
    [['--out', join(out, 'r')], /dataset folder is missing/],
    [[ds], /--out RUN_DIR is required/],
    [[ds, 'other', '--out', join(out, 'r')], /one dataset folder expected/],
    [[ds, '--out', join(out, 'r'), '--transform', 'wavelet'], /--transform 'wavelet' is not one of: stft, cqt/],
    [[ds, '--out', join(out, 'r'), '--scaling', 'db'], /--scaling 'db'/],
    [[ds, '--out', join(out, 'r'), '--epochs', '0'], /--epochs '0'/],
    [[ds, '--out', join(out, 'r'), '--epochs', 'ten'], /--epochs 'ten'/],
    [[ds, '--out', join(out, 'r'), '--lr=-1'], /--lr '-1'/],
    [[ds, '--out', join(out, 'r'), '--validation', '1'], /--validation '1'/],
    [[ds, '--out', join(out, 'r'), '--hidden', '64,x'], /--hidden 'x'/],
    [[ds, '--out', join(out, 'r'), '--backend', 'gpu'], /--backend 'gpu'/],
    [[ds, '--out', join(out, 'r'), '--n-fft', '1000'], /--n-fft 1000.*try 1024/],
    [[ds, '--out', join(out, 'r'), '--octaves', '9'], /apply to --transform cqt only/],
    [[ds, '--out', join(out, 'r'), '--transform', 'cqt', '--octaves', '10'], /Nyquist/],
    [[join(ds, 'missing'), '--out', join(out, 'r')], /does not exist/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runInProcess(args);
    assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0], /^lts train: /);
    assert.match(lines[0], pattern);
  }
  // A non-empty output folder that is not a run.
  mkdirSync(join(out, 'busy'));
  writeFileSync(join(out, 'busy', 'notes.txt'), 'mine');
  const busy = await runInProcess([ds, '--out', join(out, 'busy'), ...TINY]);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr.trimEnd().split('\n').at(-1)!, /^lts train: --out .* is not empty \(notes\.txt\); choose a new or empty folder$/);
  // --resume without a run.
  const none = await runInProcess([ds, '--out', join(out, 'nothing'), '--resume']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no checkpoint to resume from/);
  const help = await runInProcess(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: lts train DATASET --out RUN_DIR/);
  assert.equal(help.stderr, '');
});

test('parseTrainArgs: defaults, CQT settings and explicit flags', () => {
  const a = parseTrainArgs(['data', '--out', 'run', '--transform', 'cqt', '--octaves', '9', '--bins-per-octave', '36', '--hidden', '512,256', '--epochs', '7']);
  assert.notEqual(a, 'help');
  if (a === 'help') return;
  assert.equal(a.features.transform.kind, 'cqt');
  if (a.features.transform.kind === 'cqt') {
    assert.equal(a.features.transform.nBins, 9 * 36);
    assert.equal(a.features.transform.binsPerOctave, 36);
    assert.equal(a.features.transform.hop, 128);
  }
  assert.deepEqual(a.network.hidden, [512, 256]);
  assert.equal(a.training.epochs, 7);
  assert.equal(a.training.batchSize, 64);
  assert.equal(a.training.learningRate, 1e-4);
  assert.equal(a.training.beta, 5e-4);
  assert.ok(a.explicit.has('epochs') && a.explicit.has('octaves') && !a.explicit.has('latent'));
  const b = parseTrainArgs(['data', '--out', 'run']);
  if (b === 'help') throw new Error('unexpected');
  assert.deepEqual(b.features.transform, { kind: 'stft', sampleRate: 44100, nFft: 2048, hop: 256 });
  assert.equal(b.dataset, resolve('data'));
});

test('lts train end to end: model folder, history, loss plot, audio examples; --resume continues', async () => {
  const ds = makeDataset(3, 0.6);
  const runDir = join(tmpDir('lts-train-run-'), 'run');
  const env = { XDG_CACHE_HOME: tmpDir('lts-train-xdg-') };
  const r = await runCli([ds, '--out', runDir, '--epochs', '2', '--seed', '5', ...TINY], undefined, env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0], /^backend: (wasm|cpu|tensorflow)/, 'the backend is shown first');
  assert.ok(lines.some((l) => /^dataset: 2 training files \(\d+ frames\), 1 validation \(\d+ frames\), 129 bins; cache 0 hits, 3 analysed/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^epoch 1\/2: loss [\d.e-]+, val [\d.e-]+/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^lts train: finished 2 epochs; best val loss/.test(l)), r.stderr);

  // The run folder is a loadable model folder with provenance.
  await initBackend('auto');
  const model = await loadModelFolder(runDir);
  try {
    assert.equal(model.config.network.inputBins, 129);
    assert.equal(model.config.network.latent, 4);
    assert.deepEqual(model.config.network.hidden, [64]);
    assert.deepEqual(model.config.features.transform, { kind: 'stft', sampleRate: 44100, nFft: 256, hop: 64 });
    assert.equal(model.config.meta?.dataset, ds);
    assert.equal(model.config.meta?.program, 'lts train');
    assert.equal(typeof model.config.meta?.version, 'string');
    assert.ok(!Number.isNaN(Date.parse(String(model.config.meta?.created))));
    // The model reconstructs real frames of the right width.
    const frames = new Float32Array(129 * 2).fill(0.1);
    assert.equal(model.vae.reconstruct(frames, 2).length, 129 * 2);
  } finally {
    model.vae.dispose();
  }
  const history = JSON.parse(readFileSync(join(runDir, 'history.json'), 'utf8')) as { epochs: { epoch: number; steps: number; loss: number; valLoss?: number }[] };
  assert.deepEqual(history.epochs.map((e) => e.epoch), [1, 2]);
  for (const e of history.epochs) assert.ok(Number.isFinite(e.loss) && Number.isFinite(e.valLoss!));
  assert.deepEqual(pngSize(readFileSync(join(runDir, 'loss.png'))), { width: 640, height: 400 });

  // Three pairs: the validation file first, then the two training files; each excerpt beside its reconstruction.
  const examples = readdirSync(join(runDir, 'audio_examples')).sort();
  assert.equal(examples.length, 6, examples.join());
  assert.match(examples[0], /^01-val-inst-\d\.original\.wav$/);
  assert.match(examples[1], /^01-val-inst-\d\.reconstruction\.wav$/);
  assert.match(examples[2], /^02-train-inst-\d\.original\.wav$/);
  assert.match(examples[5], /^03-train-inst-\d\.reconstruction\.wav$/);
  const orig = await readAudio(join(runDir, 'audio_examples', examples[0]));
  const rec = await readAudio(join(runDir, 'audio_examples', examples[1]));
  // The original excerpt is the validation file's audio (the whole 0.6 s file: it starts loud, so no silence is skipped).
  const valFile = /^01-val-(inst-\d)\./.exec(examples[0])![1];
  const source = await readAudio(join(ds, `${valFile}.wav`));
  assert.equal(orig.samples.length, source.samples.length);
  for (let i = 0; i < source.samples.length; i += 101) assert.ok(Math.abs(orig.samples[i] - source.samples[i]) <= 1 / 32768);
  assert.equal(orig.sampleRate, 44100);
  assert.equal(rec.samples.length, orig.samples.length);
  assert.ok(Math.abs(orig.duration - 0.6) < 1e-6);
  let rms = 0;
  for (const v of rec.samples) rms += v * v;
  rms = Math.sqrt(rms / rec.samples.length);
  assert.ok(rms > 1e-3, `reconstruction is not silent (rms ${rms})`);

  // Resume to 3 epochs: the first two records are kept, steps continue.
  const stepsPerEpoch = history.epochs[0].steps;
  const r2 = await runCli([ds, '--out', runDir, '--resume', '--epochs', '3'], undefined, env);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /cache 3 hits, 0 analysed/);
  assert.match(r2.stderr, new RegExp(`resuming after epoch 2 \\(step ${2 * stepsPerEpoch}\\)`));
  const h2 = JSON.parse(readFileSync(join(runDir, 'history.json'), 'utf8')) as typeof history;
  assert.deepEqual(h2.epochs.map((e) => e.epoch), [1, 2, 3]);
  assert.deepEqual(h2.epochs.slice(0, 2), history.epochs);
  assert.equal(h2.epochs[2].steps, 3 * stepsPerEpoch);
  // A fresh start into the same folder is refused; so is resuming with another network.
  const again = await runCli([ds, '--out', runDir, '--epochs', '1', ...TINY], undefined, env);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds a training run; pass --resume/);
  const other = await runCli([ds, '--out', runDir, '--resume', '--latent', '8'], undefined, env);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /^lts train: --latent 8 differs from the run being resumed \(4\)/m);
});

test('lts train: Ctrl-C stops after a checkpoint (exit 0), and --resume finishes the run', async () => {
  const ds = makeDataset(2, 0.5);
  const runDir = join(tmpDir('lts-train-int-'), 'run');
  const env = { XDG_CACHE_HOME: tmpDir('lts-train-xdg-') };
  let sent = false;
  const r = await runCli([ds, '--out', runDir, '--epochs', '10000', '--validation', '0', ...TINY], (text, child) => {
    if (!sent && /^epoch 1\/10000:/m.test(text)) {
      sent = true;
      child.kill('SIGINT');
    }
  }, env);
  assert.ok(sent, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopping after saving a checkpoint/);
  const m = /lts train: stopped after epoch (\d+) \(checkpoint saved; continue with --resume\); best loss/.exec(r.stderr);
  assert.ok(m, r.stderr);
  const done = Number(m[1]);
  assert.ok(done >= 1 && done < 10000);
  assert.ok(existsSync(join(runDir, 'checkpoint', 'optimizer.json')));
  assert.ok(existsSync(join(runDir, 'loss.png')));
  const r2 = await runCli([ds, '--out', runDir, '--resume', '--epochs', String(done + 1)], undefined, env);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`finished ${done + 1} epochs`));
  // Without validation files the examples come from the training files.
  assert.deepEqual(readdirSync(join(runDir, 'audio_examples')).filter((f) => f.endsWith('.original.wav')).sort(), [
    '01-train-inst-0.original.wav',
    '02-train-inst-1.original.wav',
  ]);
});

test('lts train whose output pipes close at once (| head, a closed tee) trains on and writes its model', async () => {
  const ds = makeDataset(3, 0.6);
  const runDir = join(tmpDir('lts-train-epipe-'), 'run');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'lts.js'), 'train', ds, '--out', runDir, '--epochs', '2', '--seed', '5', ...TINY], {
    cwd: ROOT,
    env: { ...process.env, XDG_CACHE_HOME: tmpDir('lts-train-epipe-xdg-') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The reader goes away before the first line: every write of the run meets a closed pipe.
  child.stdout.destroy();
  child.stderr.destroy();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | null>((r) => child.on('close', (c) => r(c))),
    new Promise<string>((r) => (timer = setTimeout(() => (child.kill('SIGKILL'), r('timeout')), 60_000))),
  ]);
  clearTimeout(timer);
  assert.equal(code, 0, 'exit code (it was 7 when the first write to the closed pipe ended the process)');
  assert.ok(existsSync(join(runDir, 'weights.json')) && existsSync(join(runDir, 'history.json')), 'the model folder was written');
  const history = JSON.parse(readFileSync(join(runDir, 'history.json'), 'utf8')) as { epochs: unknown[] };
  assert.equal(history.epochs.length, 2);
});

test('lts train with the constant-Q transform', async () => {
  const ds = makeDataset(2, 0.5);
  const runDir = join(tmpDir('lts-train-cqt-'), 'run');
  const r = await runCli(
    [ds, '--out', runDir, '--epochs', '1', '--transform', 'cqt', '--octaves', '7', '--bins-per-octave', '12', '--hidden', '32', '--latent', '3', '--scaling', 'linear'],
    undefined,
    { XDG_CACHE_HOME: tmpDir('lts-train-xdg-') },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /dataset: 1 training file \(\d+ frames\), 1 validation \(\d+ frames\), 84 bins/);
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { features: { transform: { kind: string; nBins: number } } };
  assert.equal(config.features.transform.kind, 'cqt');
  assert.equal(config.features.transform.nBins, 84);
  assert.equal(readdirSync(join(runDir, 'audio_examples')).length, 4);
});

test('lts train on a terminal: one progress line rewritten in place', async () => {
  const ds = makeDataset(2, 0.4);
  const runDir = join(tmpDir('lts-train-tty-'), 'run');
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, '--import', 'tsx', RUNNER, ds, '--out', runDir, '--epochs', '2', ...TINY].map(quote).join(' ');
  // util-linux `script` runs the command on a pseudo-terminal, so stderr.isTTY is true.
  const out = await new Promise<{ code: number | null; text: string }>((res, rej) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, XDG_CACHE_HOME: tmpDir('lts-train-xdg-') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code, text }));
  });
  assert.equal(out.code, 0, out.text);
  assert.match(out.text, /^backend: /);
  assert.match(out.text, /\repoch 1\/2 \[[#.]{10}\] step \d+ loss [\d.]+ val - \d+ frames\/s ETA \d+:\d\d\x1b\[K/);
  assert.match(out.text, /\repoch 2\/2 \[##########\] step \d+ loss [\d.]+ val [\d.]+ /);
  // The training progress never starts a new line: between the dataset line and the final summary there is no newline.
  const training = out.text.slice(out.text.indexOf('\repoch 1/2'), out.text.indexOf('lts train: finished'));
  assert.equal((training.match(/\n/g) ?? []).length, 1, JSON.stringify(training.slice(-200)));
  assert.doesNotMatch(out.text, /epoch 1\/2: loss/, 'no plain per-epoch lines on a terminal');
});
