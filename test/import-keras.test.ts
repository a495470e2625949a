/**
 * `lts import`: an original LTS run folder (config.ini + Keras 2.x HDF5 written by
 * test/fixtures/make_keras_h5.py with h5py) becomes a model folder whose encoder and decoder give the
 * numbers a direct numpy computation with the same weights gives.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, cpSync, truncateSync, statSync, chmodSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/engine/backend.ts';
import { importLtsRun, parseIni, readKerasVaeWeights, isOriginalLtsRun } from '../src/engine/import-lts.ts';
import { loadModelFolder } from '../src/engine/model-folder.ts';
import { importCommand } from '../src/cli/import.ts';
import { UserError } from '../src/io/errors.ts';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'make_keras_h5.py');
const root = mkdtempSync(join(tmpdir(), 'lts-import-'));

/** Write a run folder with the fixture script (Debian's /usr/bin/python3 with python3-h5py). */
function makeRun(name: string, ...args: string[]): string {
  const dir = join(root, name);
  const r = spawnSync('/usr/bin/python3', [SCRIPT, dir, '--bins-per-octave', '48', '--octaves', '2', '--units', '16', '--latent', '4', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `fixture script failed (needs Debian python3-h5py): ${r.stderr}`);
  return dir;
}

interface Expected {
  nBins: number;
  x: number[][];
  mu: number[][];
  logvar: number[][];
  decodedMu: number[][];
}

function maxRelErr(got: Float32Array, want: number[][]): number {
  const flat = want.flat();
  assert.equal(got.length, flat.length);
  let scale = 0;
  for (const v of flat) scale = Math.max(scale, Math.abs(v));
  let m = 0;
  for (let i = 0; i < flat.length; i++) m = Math.max(m, Math.abs(got[i] - flat[i]));
  return m / Math.max(scale, 1e-12);
}

async function checkAgainstNumpy(run: string, modelDir: string): Promise<void> {
  const exp = JSON.parse(readFileSync(join(run, 'expected.json'), 'utf8')) as Expected;
  const { vae, config } = await loadModelFolder(modelDir);
  try {
    assert.equal(config.network.inputBins, exp.nBins);
    const n = exp.x.length;
    const x = Float32Array.from(exp.x.flat());
    const { mu, logvar } = vae.encode(x, n);
    assert.ok(maxRelErr(mu, exp.mu) < 1e-5, `mu differs: ${maxRelErr(mu, exp.mu)}`);
    assert.ok(maxRelErr(logvar, exp.logvar) < 1e-5, `logvar differs: ${maxRelErr(logvar, exp.logvar)}`);
    const y = vae.decode(Float32Array.from(exp.mu.flat()), n);
    assert.ok(maxRelErr(y, exp.decodedMu) < 1e-5, `decoded differs: ${maxRelErr(y, exp.decodedMu)}`);
  } finally {
    vae.dispose();
  }
}

let baseRun = '';
before(async () => {
  await initBackend('cpu');
  baseRun = makeRun('run-001', '--sample-rate', '22050', '--hop', '128', '--seed', '7');
});

test('an original run imports to a constant-Q model with linear magnitudes whose encoder and decoder match numpy', async () => {
  const run = baseRun;
  assert.ok(isOriginalLtsRun(run));
  const out = join(root, 'imported');
  const res = await importLtsRun(run, out);
  assert.equal(res.dir, out);
  const { config, vae } = await loadModelFolder(out);
  vae.dispose();
  assert.deepEqual(config.features.transform, { kind: 'cqt', sampleRate: 22050, hop: 128, binsPerOctave: 48, nBins: 96, fmin: 32.70319566257483 });
  assert.equal(config.features.scaling, 'linear');
  assert.deepEqual(config.network, { inputBins: 96, hidden: [16], latent: 4, outputActivation: 'relu' });
  assert.equal(config.training.beta, 0.0005);
  assert.equal(config.training.batchSize, 64);
  assert.equal(config.meta?.h5Sha256, res.h5Sha256);
  await checkAgainstNumpy(run, out);
  // no temporary folders are left beside the result
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.')), []);
});

test('a linear output activation (from the saved model_config) is kept, negative outputs included', async () => {
  const run = makeRun('run-linear', '--activation', 'linear', '--seed', '11', '--sample-rate', '16000');
  const out = join(root, 'imported-linear');
  const res = await importLtsRun(run, out);
  assert.equal(res.config.network.outputActivation, 'linear');
  const exp = JSON.parse(readFileSync(join(run, 'expected.json'), 'utf8')) as Expected;
  assert.ok(exp.decodedMu.flat().some((v) => v < 0), 'the fixture has negative outputs to tell relu from linear');
  await checkAgainstNumpy(run, out);
});

test('the Keras reader finds the layers by role and keeps Keras [in, out] kernels', async () => {
  const run = baseRun;
  const w = await readKerasVaeWeights(join(run, 'model', 'mymodel_last.h5'));
  assert.equal(w.encoderHidden.path, 'model_weights/dense/dense/kernel:0');
  assert.equal(w.decoderHidden.path, 'model_weights/decoder/dense_1/kernel:0');
  assert.equal(w.decoderOutput.path, 'model_weights/decoder/dense_2/kernel:0');
  assert.deepEqual([w.encoderHidden.inDim, w.encoderHidden.outDim], [96, 16]);
  assert.deepEqual([w.zMean.inDim, w.zMean.outDim], [16, 4]);
  assert.deepEqual([w.decoderOutput.inDim, w.decoderOutput.outDim], [16, 96]);
  assert.equal(w.decoderOutput.activation, 'relu');
  assert.equal(w.kerasVersion, '2.2.4-tf');
});

test('config.ini is read with configparser rules', () => {
  const ini = parseIni('# c\n[Audio]\nSample_Rate = 44100 \nhop_length: 128\n; x\n[extra]\ndescription = a\n  b\nflag\n');
  assert.deepEqual(ini, { audio: { sample_rate: '44100', hop_length: '128' }, extra: { description: 'a\nb', flag: '' } });
  assert.throws(() => parseIni('key = 1\n'), /before any \[section\]/);
});

test('bad runs give one-line errors naming the problem, and nothing is written', async () => {
  const expectErr = async (run: string, re: RegExp, out = join(root, 'never')) => {
    let err: unknown = null;
    try {
      await importLtsRun(run, out);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'));
    assert.equal(existsSync(out), false);
  };
  await expectErr(join(root, 'missing-run'), /run folder not found/);

  const bn = makeRun('run-bn', '--batch-norm');
  await expectErr(bn, /BatchNormalization/);

  const noH5 = join(root, 'run-noh5');
  cpSync(baseRun, noH5, { recursive: true });
  const h5 = join(noH5, 'model', 'mymodel_last.h5');
  writeFileSync(h5, 'this is not hdf5 at all, just text that is long enough to be read as a header '.repeat(4));
  await expectErr(noH5, /not an HDF5 file/);

  const truncated = join(root, 'run-trunc');
  cpSync(baseRun, truncated, { recursive: true });
  const th5 = join(truncated, 'model', 'mymodel_last.h5');
  truncateSync(th5, Math.floor(statSync(th5).size / 3));
  await expectErr(truncated, /mymodel_last\.h5: the HDF5 data cannot be read \(truncated file/);

  const mismatch = join(root, 'run-mismatch');
  cpSync(baseRun, mismatch, { recursive: true });
  const ini = join(mismatch, 'config.ini');
  writeFileSync(ini, readFileSync(ini, 'utf8').replace('latent_dim = 4', 'latent_dim = 8'));
  await expectErr(mismatch, /latent_dim = 8.*do not belong together/);

  const noIni = join(root, 'run-noini');
  cpSync(join(root, 'run-001', 'model'), join(noIni, 'model'), { recursive: true });
  await expectErr(noIni, /no config\.ini/);
});

test('lts import: refuses an existing folder without --force, replaces it with --force', async () => {
  const run = baseRun;
  const out = join(root, 'cli-out');
  const log = console.log;
  const printed: string[] = [];
  console.log = (s: unknown) => {
    printed.push(String(s));
  };
  try {
    assert.equal(await importCommand([run, '--out', out]), 0);
    assert.equal(printed[0], out);
    const before = readFileSync(join(out, 'weights.bin'));
    await assert.rejects(importCommand([run, '--out', out]), /exists and is not empty; pass --force/);
    assert.equal(await importCommand([run, '--out', out, '--force', '--json']), 0);
    const json = JSON.parse(printed[1]) as { dir: string; network: { latent: number } };
    assert.equal(json.dir, out);
    assert.equal(json.network.latent, 4);
    assert.deepEqual(readFileSync(join(out, 'weights.bin')), before);
    await assert.rejects(importCommand([]), /no run folder given/);
    await assert.rejects(importCommand([run]), /--out MODEL_DIR is needed/);
  } finally {
    console.log = log;
  }
  await checkAgainstNumpy(run, out);
});

/** Run the real `lts import ARGS` (after `prefix`, e.g. setpriv as nobody); rejects after 30 s (a hang). */
function runImport(args: string[], prefix: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const argv = [...prefix, process.execPath, join(dirname(SCRIPT), '..', '..', 'bin', 'lts.js'), 'import', ...args];
  return new Promise((res, rej) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, LTS_STATE_DIR: join(root, 'state') }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`lts import ${args.join(' ')} did not end within 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stderr });
    });
  });
}

test('lts import: an --out that cannot be written (in /proc, under a file, in another user\'s folder) is one line, exit 2, never a hang', async () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'not a folder');
  const cases: { out: string; problem: RegExp; prefix: string[]; dir?: string }[] = [
    { out: `${file}/m`, problem: /\(a part of the path is a file, not a folder\); choose another path$/, prefix: [] },
  ];
  if (existsSync('/proc/self')) cases.push({ out: '/proc/lts-test-import', problem: /cannot write \/proc\b/, prefix: [] });
  const ro = join(root, 'not-yours');
  mkdirSync(ro);
  if (process.getuid?.() === 0 && existsSync('/usr/bin/setpriv')) {
    // root: run as nobody in root's folder (root itself may write anywhere); the run must be readable.
    for (const d of [root, baseRun, join(baseRun, 'model')]) chmodSync(d, 0o755);
    mkdirSync(join(root, 'state'), { recursive: true, mode: 0o777 });
    chmodSync(join(root, 'state'), 0o777);
    cases.push({ out: join(ro, 'm'), problem: /\(permission denied\); choose a folder you can write to$/, prefix: ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], dir: ro });
  } else if (process.getuid?.() !== 0) {
    chmodSync(ro, 0o555);
    cases.push({ out: join(ro, 'm'), problem: /\(permission denied\); choose a folder you can write to$/, prefix: [], dir: ro });
  }
  for (const { out, problem, prefix, dir } of cases) {
    const r = await runImport([baseRun, '--out', out], prefix);
    assert.equal(r.code, 2, `${out}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${out}: ${r.stderr}`);
    assert.ok(lines[0].startsWith(`lts import: --out ${out}: cannot write `), lines[0]);
    assert.match(lines[0], problem);
    if (dir) assert.deepEqual(readdirSync(dir), [], `${out}: no temporary folder left`);
  }
});

test('config.ini numbers are plain decimals: hop_length = 0x80 is refused, 1e-4 is read', async () => {
  const hex = join(root, 'run-hex');
  cpSync(baseRun, hex, { recursive: true });
  const ini = join(hex, 'config.ini');
  const text = readFileSync(ini, 'utf8');
  writeFileSync(ini, text.replace('hop_length = 128', 'hop_length = 0x80'));
  await assert.rejects(importLtsRun(hex, join(root, 'never-hex')), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, `${ini}: [audio] hop_length = 0x80 is not a plain decimal number (write it as 128); fix the file`);
    return true;
  });
  assert.equal(existsSync(join(root, 'never-hex')), false);
  writeFileSync(ini, text.replace(/learning_rate = .*/, 'learning_rate = 1e-4'));
  const res = await importLtsRun(hex, join(root, 'decimal-ok'));
  assert.equal(res.original.learningRate, 1e-4);
});
