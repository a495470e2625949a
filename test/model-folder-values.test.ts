/**
 * Values inside a model folder: every setting of config.json is checked when the folder is loaded
 * (type, range, and agreement between the transform's bins and the network's input), and weights or
 * optimizer moments holding NaN or infinite values are refused on load and never written on save.
 *
 * Each case copies the shipped model (models/default) into a temporary folder, alters the copy the
 * way a hand edit, a broken export or a diverged training run would, and recomputes the manifest's
 * checksums where the case needs them valid.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/engine/backend.ts';
import { TimbreVae } from '../src/engine/vae.ts';
import { loadModelFolder, saveModelFolder, ModelFolderError, NonFiniteWeightsError } from '../src/engine/model-folder.ts';
import { transformFor } from '../src/engine/features.ts';
import { UserError } from '../src/io/errors.ts';
import type { ModelConfig } from '../src/engine/types.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DEFAULT_MODEL = join(ROOT, 'models', 'default');

const made: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'lts-model-values-'));
  made.push(d);
  return d;
}

before(async () => {
  await initBackend('wasm');
});

after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A copy of models/default in a fresh temporary folder. */
function copyDefault(name = 'model'): string {
  const dir = join(tmp(), name);
  cpSync(DEFAULT_MODEL, dir, { recursive: true });
  return dir;
}

function readConfig(dir: string): ModelConfig {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as ModelConfig;
}

/** A copy of models/default whose config.json is changed by `edit` (which works on the parsed JSON). */
function withConfig(edit: (c: Record<string, any>) => void): string {
  const dir = copyDefault();
  const c = readConfig(dir) as unknown as Record<string, any>;
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c, null, 2));
  return dir;
}

interface Manifest {
  sha256: string;
  byteLength: number;
  weights: { name: string; shape: number[]; offset: number; length: number }[];
}

/**
 * A copy of models/default with value `index` of tensor `tensor` set to `value` in weights.bin, and the
 * manifest's sha256 recomputed so that the checksum matches (as after a diverged training run).
 */
function withWeight(tensor: string, index: number, value: number): string {
  const dir = copyDefault();
  const manifest = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8')) as Manifest;
  const entry = manifest.weights.find((w) => w.name === tensor);
  assert.ok(entry, `models/default has a tensor ${tensor}`);
  const bin = readFileSync(join(dir, 'weights.bin'));
  bin.writeFloatLE(value, entry.offset + 4 * index);
  writeFileSync(join(dir, 'weights.bin'), bin);
  manifest.sha256 = createHash('sha256').update(bin).digest('hex');
  writeFileSync(join(dir, 'weights.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** Assert that loading `dir` fails with a one-line ModelFolderError matching every pattern. */
async function refused(dir: string, patterns: RegExp[], opts?: { withOptimizer?: boolean }): Promise<ModelFolderError> {
  let caught: unknown;
  try {
    const m = await loadModelFolder(dir, opts);
    m.vae.dispose();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ModelFolderError, `expected a ModelFolderError for ${dir}, got ${String(caught)}`);
  assert.ok(caught instanceof UserError, 'a user error (exit 2), not an internal error');
  assert.ok(!caught.message.includes('\n'), `one line: ${caught.message}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

/** The fix every config.json message ends with. */
const CONFIG_FIX = /[;:] set (it|the changed field) back to the value the model was trained with, or retrain \(or re-import\) the model$/;

test('the shipped model loads (the checks accept a real model)', async () => {
  const m = await loadModelFolder(copyDefault());
  try {
    assert.equal(m.config.network.inputBins, 1025);
  } finally {
    m.vae.dispose();
  }
});

test('config.json: bad transform values are one-line errors naming the file, the field and the fix', async () => {
  const cases: [string, (c: Record<string, any>) => void, RegExp][] = [
    ['hop 0', (c) => (c.features.transform.hop = 0), /features\.transform\.hop is 0, but must be an integer from 1 to 1024/],
    ['negative hop', (c) => (c.features.transform.hop = -256), /features\.transform\.hop is -256, but must be an integer from 1 to 1024/],
    ['hop above nFft/2', (c) => (c.features.transform.hop = 2048), /features\.transform\.hop is 2048, but must be an integer from 1 to 1024/],
    ['fractional hop', (c) => (c.features.transform.hop = 25.5), /features\.transform\.hop is 25\.5/],
    ['sample rate 0', (c) => (c.features.transform.sampleRate = 0), /features\.transform\.sampleRate is 0, but must be an integer from 1000 to 768000 \(Hz/],
    ['sample rate as a string', (c) => (c.features.transform.sampleRate = '44100'), /features\.transform\.sampleRate is "44100" \(a string\), but must be an integer/],
    ['missing sample rate', (c) => delete c.features.transform.sampleRate, /features\.transform\.sampleRate is missing/],
    ['odd nFft', (c) => (c.features.transform.nFft = 2047), /features\.transform\.nFft is 2047, but must be even/],
    ['nFft null', (c) => (c.features.transform.nFft = null), /features\.transform\.nFft is null/],
    ['unknown kind', (c) => (c.features.transform.kind = 'mfcc'), /features\.transform\.kind is "mfcc" \(a string\), but must be one of "stft", "cqt"/],
    ['transform not an object', (c) => (c.features.transform = 'stft'), /features\.transform is "stft" \(a string\), but must be an object/],
    ['unknown scaling', (c) => (c.features.scaling = 'db'), /features\.scaling is "db" \(a string\), but must be one of "linear", "log"/],
  ];
  for (const [what, edit, pattern] of cases) {
    const dir = withConfig(edit);
    await refused(dir, [new RegExp(`^${join(dir, 'config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `), pattern, CONFIG_FIX]).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test('config.json: a transform whose bins differ from the network input is refused before any analysis', async () => {
  // nFft 1024 gives 513 bins but the weights take 1025: used to fail later as "TimbreVae.encodeMean: 346 rows of 1025 need ...".
  const dir = withConfig((c) => (c.features.transform.nFft = 1024));
  await refused(dir, [
    /config\.json: network\.inputBins is 1025, but the STFT with nFft 1024 in features\.transform gives 513 bins per frame; the two must agree/,
    CONFIG_FIX,
  ]);
  // A constant-Q transform in place of the STFT: 384 bins against 1025.
  const cqt = withConfig((c) => (c.features.transform = { kind: 'cqt', sampleRate: 44100, hop: 128, binsPerOctave: 48, nBins: 384, fmin: 32.703 }));
  await refused(cqt, [/network\.inputBins is 1025, but the constant-Q transform with nBins 384 in features\.transform gives 384 bins per frame/]);
  // A constant-Q transform this program cannot build (its top bins pass the Nyquist frequency).
  const nyquist = withConfig((c) => {
    c.features.transform = { kind: 'cqt', sampleRate: 44100, hop: 128, binsPerOctave: 48, nBins: 1025, fmin: 32.703 };
  });
  await refused(nyquist, [/config\.json: features\.transform is not a usable constant-Q transform \(.*Nyquist.*\)/, CONFIG_FIX]);
});

test('config.json: bad network, training and meta values are one-line errors naming the field', async () => {
  const cases: [string, (c: Record<string, any>) => void, RegExp][] = [
    ['activation', (c) => (c.network.outputActivation = 'swish'), /network\.outputActivation is "swish" \(a string\), but must be one of "relu", "linear"/],
    ['latent 0', (c) => (c.network.latent = 0), /network\.latent is 0, but must be an integer from 1 to 4096/],
    ['hidden not a list', (c) => (c.network.hidden = 1024), /network\.hidden is 1024, but must be a list/],
    ['hidden width', (c) => (c.network.hidden = [1024, -3]), /network\.hidden\[1\] is -3, but must be an integer from 1 to 65536/],
    ['inputBins string', (c) => (c.network.inputBins = '1025'), /network\.inputBins is "1025" \(a string\)/],
    ['huge network', (c) => (c.network.hidden = [65536, 65536]), /network \(hidden \[65536,65536\], latent 32\) needs \d+ weights, more than the 268435456 this lts can hold/],
    ['seed', (c) => (c.training.seed = -1), /training\.seed is -1, but must be an integer from 0 to 4294967295/],
    ['batch size', (c) => (c.training.batchSize = 0), /training\.batchSize is 0, but must be an integer from 1/],
    ['learning rate', (c) => (c.training.learningRate = 'fast'), /training\.learningRate is "fast" \(a string\), but must be a number >= 0/],
    ['beta', (c) => (c.training.beta = -1), /training\.beta is -1, but must be a number >= 0/],
    ['patience', (c) => (c.training.patience = 0), /training\.patience is 0/],
    ['checkpoint interval', (c) => (c.training.checkpointEvery = 1.5), /training\.checkpointEvery is 1\.5/],
    ['meta', (c) => (c.meta = [1, 2]), /meta is \[1,2\], but must be an object/],
    ['validation share', (c) => (c.meta.validationFraction = 1), /meta\.validationFraction is 1, but must be a number from 0 to below 1/],
  ];
  for (const [what, edit, pattern] of cases) {
    const dir = withConfig(edit);
    await refused(dir, [/config\.json: /, pattern, CONFIG_FIX]).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test('config.json that is a folder: one line naming it, with a fix', async () => {
  const dir = copyDefault();
  rmSync(join(dir, 'config.json'));
  mkdirSync(join(dir, 'config.json'));
  await refused(dir, [/config\.json: is a folder, not a file \(EISDIR/, /; put the model's file there \(restore the folder from a copy\) or retrain$/]);
});

test('an STFT size the transform cannot compute is a one-line user error with the fix', () => {
  assert.throws(
    () => transformFor({ kind: 'stft', sampleRate: 44100, nFft: 1000, hop: 250 }),
    (e: unknown) =>
      e instanceof UserError && /^unusable STFT settings \(nFft 1000, hop 250, sampleRate 44100\): nFft 1000 is not supported.*try 1024; use the settings the model was trained with/.test(e.message),
  );
});

test('NaN or infinite weights are refused on load even when the checksums match, naming the file and the tensor', async () => {
  const cases: [string, number, number][] = [
    ['decoder/output/bias', 17, Number.NaN],
    ['encoder/z_mean/bias', 0, Number.NaN],
    ['decoder/output/weight', 1000, Number.POSITIVE_INFINITY],
    ['encoder/dense_0/weight', 5, Number.NEGATIVE_INFINITY],
  ];
  for (const [tensor, index, value] of cases) {
    const dir = withWeight(tensor, index, value);
    const e = await refused(dir, [
      new RegExp(`weights\\.bin: tensor "${tensor.replace(/\//g, '\\/')}" holds 1 NaN or infinite value \\(of \\d+\\)`),
      /the model is broken \(e\.g\. its training diverged\): retrain it with a lower learning rate \(--lr\), or use an earlier checkpoint of its run$/,
    ]);
    assert.ok(e instanceof NonFiniteWeightsError);
    assert.equal(e.operation, 'load');
    assert.equal(e.tensor, tensor);
    assert.equal(e.path, join(dir, 'weights.bin'));
  }
});

test('NaN optimizer moments in a checkpoint are refused when resuming from it', async () => {
  const dir = join(tmp(), 'ck');
  const cfg: ModelConfig = {
    formatVersion: 1,
    features: { transform: { kind: 'stft', sampleRate: 44100, nFft: 64, hop: 16 }, scaling: 'log' },
    network: { inputBins: 33, hidden: [8], latent: 2, outputActivation: 'relu' },
    training: { beta: 5e-4, learningRate: 1e-3, batchSize: 4, epochs: 1, patience: 1, checkpointEvery: 1, seed: 3 },
  };
  const vae = TimbreVae.create(cfg.network, 3);
  try {
    const x = new Float32Array(4 * 33).map((_, i) => Math.abs(Math.sin(i)));
    vae.trainStep(x, 4, { beta: 5e-4, learningRate: 1e-3 });
    await saveModelFolder(dir, { config: cfg, vae, optimizer: vae.getOptimizerState() });
  } finally {
    vae.dispose();
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as Manifest & { tensors: Manifest['weights'] };
  const v = manifest.tensors.find((t) => t.name === 'decoder/output/bias/v')!;
  const bin = readFileSync(join(dir, 'optimizer.bin'));
  bin.writeFloatLE(Number.NaN, v.offset + 8);
  writeFileSync(join(dir, 'optimizer.bin'), bin);
  manifest.sha256 = createHash('sha256').update(bin).digest('hex');
  writeFileSync(join(dir, 'optimizer.json'), JSON.stringify(manifest));
  // The weights themselves are fine: the folder still loads as a model.
  (await loadModelFolder(dir)).vae.dispose();
  await refused(dir, [/optimizer\.bin: tensor "decoder\/output\/bias\/v" holds 1 NaN or infinite value/, /start a new run with a lower learning rate \(--lr\)$/], { withOptimizer: true });
});

test('saveModelFolder never writes NaN or infinite weights: it refuses before touching the folder', async () => {
  const root = tmp();
  const good = await loadModelFolder(copyDefault());
  const dir = join(root, 'model');
  try {
    await saveModelFolder(dir, { config: good.config, vae: good.vae });
    const before = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
    // Weights as after a diverged step: one bias value is NaN.
    const w = good.vae.getWeights();
    const bias = w.find((t) => t.name === 'decoder/output/bias')!;
    bias.data[3] = Number.NaN;
    good.vae.setWeights(w);
    await assert.rejects(saveModelFolder(dir, { config: good.config, vae: good.vae }), (e: unknown) => {
      assert.ok(e instanceof NonFiniteWeightsError, String(e));
      assert.equal(e.tensor, 'decoder/output/bias');
      assert.equal(e.operation, 'save');
      assert.match(e.message, /^.*model: tensor "decoder\/output\/bias" holds 1 NaN or infinite value \(of 1025\); not saved, the folder keeps its previous files/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    // Every file is as it was, and the folder still loads.
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(before).sort());
    for (const [f, bytes] of Object.entries(before)) assert.ok(readFileSync(join(dir, f)).equals(bytes), `${f} unchanged`);
    (await loadModelFolder(dir)).vae.dispose();
    // A new folder is not even created.
    const fresh = join(root, 'fresh');
    await assert.rejects(saveModelFolder(fresh, { config: good.config, vae: good.vae }), NonFiniteWeightsError);
    assert.equal(existsSync(fresh), false);
  } finally {
    good.vae.dispose();
  }
});
