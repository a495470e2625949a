/**
 * Import of a trained run of the original Latent Timbre Synthesis (K. Tatar, D. Bisig, P. Pasquier,
 * "Latent Timbre Synthesis", Neural Computing and Applications 2020; code ktatar/latent-timbre-synthesis,
 * TensorFlow 2 / Keras) into one of our model folders.
 *
 * **Input: a run folder** `run-NNN/` as the original training script leaves it:
 *
 * | file | read |
 * |---|---|
 * | `config.ini` | `[audio]` sample_rate, hop_length, bins_per_octave, num_octaves; `[VAE]` latent_dim, n_units, kl_beta, output_activation; `[training]` learning_rate, batch_size, epochs, early_patience_epoch |
 * | `model/mymodel_last.h5` | Keras 2.x HDF5 of the functional VAE (read with h5wasm, the HDF5 C library compiled to WebAssembly) |
 *
 * Keras stores a functional model's weights as `/model_weights/<layer>/<weight name>` with the layer order
 * in the `layer_names` attribute of `/model_weights` and each layer's weights, in order, in its
 * `weight_names` attribute; a nested model (the original's `decoder`) is one layer holding all its
 * weights (`/model_weights/decoder/dense_1/kernel:0`, ...). Kernels are `[in, out]`. The original network
 * (`functional/timbre-vae/train.py`): `encoder_input` → Dense `n_units` relu → Dense `z_mean` and Dense
 * `z_log_var` (linear) → sampling → `decoder` (Dense `n_units` relu → Dense `n_bins`, `output_activation`).
 * The importer finds the layers by role, not by their generated names (`dense`, `dense_1`, ...): `z_mean`
 * and `z_log_var` by name, the encoder's hidden layer as the one Dense kernel `[n_bins, n_units]` outside
 * them, and the decoder as the layer whose two kernels are `[latent, n_units]` and `[n_units, n_bins]`.
 * A file saved with `save_weights` (no `/model_weights` group) is read the same way from its root.
 *
 * **Output: a model folder** (format v1, see `model-folder.ts`) with Dense weights transposed to our
 * `[out, in]` layout and the features the original trained on: the constant-Q transform with the run's
 * sample rate, hop and bins per octave, `nBins = n_bins` of the weights (the original training script
 * always used `8 · bins_per_octave`; the weights are authoritative), lowest bin C1 (librosa's default
 * fmin), and **linear** magnitudes: the original fed raw `|librosa.cqt|` to the network, without log or
 * normalisation. Our constant-Q transform carries librosa's per-bin gains, so its magnitudes are on the
 * scale the network was trained on.
 *
 * Not supported (refused with a one-line error naming the reason): runs with BatchNormalization layers
 * (the `train-withbatchnorm.py` variants), conditional VAEs (`[CVAE]`), more than one hidden layer, and
 * output activations other than relu or linear.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { existsSync, readFileSync, statSync, openSync, readSync, closeSync, renameSync, rmSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, outputFsError } from '../io/errors.ts';
import { checkOutputFolder, makeFolders, removeEmptyFolders } from '../io/folders.ts';
import { C1_HZ, cqtConfig } from '../dsp/cqt.ts';
import { initBackend, currentBackend, type BackendPreference } from './backend.ts';
import { TimbreVae, type NamedWeights } from './vae.ts';
import { saveModelFolder, MODEL_FORMAT_VERSION } from './model-folder.ts';
import type { ModelConfig } from './types.ts';
import { VERSION } from '../version.ts';

/** A parsed INI file: lower-cased section → lower-cased key → trimmed value (Python `configparser` rules). */
export type IniFile = Record<string, Record<string, string>>;

/**
 * Parse an INI file the way Python's `configparser` reads the original's `config.ini`: `[section]`
 * headers, `key = value` or `key: value`, full-line comments starting with `#` or `;`, indented
 * continuation lines appended with a newline, keys case-insensitive (lower-cased), values trimmed.
 *
 * @param text The file content.
 * @param what Names the file in error messages.
 * @throws UserError for a key outside any section or a line that is neither a header, a key nor a comment.
 */
export function parseIni(text: string, what = 'config.ini'): IniFile {
  const out: IniFile = {};
  let section: Record<string, string> | null = null;
  let lastKey: string | null = null;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    if (/^\s*([#;].*)?$/.test(raw)) {
      lastKey = null;
      return;
    }
    if (/^\s/.test(raw) && section && lastKey) {
      section[lastKey] += '\n' + raw.trim();
      return;
    }
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      const name = header[1].trim().toLowerCase();
      section = out[name] ??= {};
      lastKey = null;
      return;
    }
    const kv = /^\s*([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (kv) {
      if (!section) throw new UserError(`${what}: line ${i + 1} sets '${kv[1]}' before any [section]; the file is not a config.ini of the original LTS`);
      lastKey = kv[1].toLowerCase();
      section[lastKey] = kv[2].trim();
      return;
    }
    if (section && /^\s*[^\s=:]+\s*$/.test(raw)) {
      // configparser(allow_no_value=True): a key without a value
      lastKey = raw.trim().toLowerCase();
      section[lastKey] = '';
      return;
    }
    throw new UserError(`${what}: line ${i + 1} (${JSON.stringify(raw.slice(0, 40))}) is not 'key = value', '[section]' or a comment; fix the file`);
  });
  return out;
}

/** A plain decimal number as Python's `int()`/`float()` read it in config.ini: `64`, `+1`, `0.5`, `.5`, `1e-4`; no hex, no `Infinity`. */
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** The settings of an original run that the import uses (from `config.ini`). */
export interface OriginalRunConfig {
  sampleRate: number;
  hopLength: number;
  binsPerOctave: number;
  numOctaves: number;
  latentDim: number;
  nUnits: number;
  /** `[VAE] kl_beta`, default 5e-4. */
  klBeta: number;
  /** `[VAE] output_activation`, default relu. */
  outputActivation: string;
  /** `[training] learning_rate`, default 1e-4. */
  learningRate: number;
  /** `[training] batch_size`, default 64. */
  batchSize: number;
  /** `[training] epochs`, default 2000. */
  epochs: number;
  /** `[training] early_patience_epoch`, default 50. */
  patience: number;
  /** `[dataset] datapath` (the training dataset on the original machine), if given. */
  datasetPath?: string;
  /** `[extra] description`, if given. */
  description?: string;
}

/**
 * Read and check `config.ini` of an original run.
 *
 * @param path The `config.ini` file.
 * @throws UserError naming the file and the missing or invalid setting.
 */
export function readOriginalConfig(path: string): OriginalRunConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`${path}: cannot be read; an original LTS run folder holds config.ini and model/mymodel_last.h5`);
  }
  const ini = parseIni(text, path);
  if (ini.cvae && !ini.vae) {
    throw new UserError(`${path}: this run is a conditional VAE ([CVAE]); lts import supports the VAE runs of functional/timbre-vae`);
  }
  const need = (section: string, key: string): string => {
    const v = ini[section]?.[key];
    if (v === undefined || v === '') throw new UserError(`${path}: [${section}] ${key} is missing; it is needed to rebuild the model`);
    return v;
  };
  const opt = (section: string, key: string): string | undefined => {
    const v = ini[section]?.[key];
    return v === undefined || v === '' ? undefined : v;
  };
  // Python's int() and float() read only decimal numbers (no 0x80, no 0b1): accept what the original could read.
  /** ` (write it as NNN)` for a number written in another notation JavaScript reads, e.g. `0x80`. */
  const asDecimal = (v: string): string => (Number.isFinite(Number(v)) && v.trim() !== '' ? ` (write it as ${Number(v)})` : '');
  const int = (section: string, key: string, v: string | undefined, fallback?: number): number => {
    if (v === undefined) return fallback as number;
    const x = Number(v);
    if (!DECIMAL.test(v)) throw new UserError(`${path}: [${section}] ${key} = ${v} is not a plain decimal number${asDecimal(v)}; fix the file`);
    if (!Number.isInteger(x) || x <= 0) throw new UserError(`${path}: [${section}] ${key} = ${v} is not a positive whole number; fix the file`);
    return x;
  };
  const num = (section: string, key: string, v: string | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    const x = Number(v);
    if (!DECIMAL.test(v)) throw new UserError(`${path}: [${section}] ${key} = ${v} is not a plain decimal number${asDecimal(v)}; fix the file`);
    if (!Number.isFinite(x) || x < 0) throw new UserError(`${path}: [${section}] ${key} = ${v} is not a number >= 0; fix the file`);
    return x;
  };
  return {
    sampleRate: int('audio', 'sample_rate', need('audio', 'sample_rate')),
    hopLength: int('audio', 'hop_length', need('audio', 'hop_length')),
    binsPerOctave: int('audio', 'bins_per_octave', need('audio', 'bins_per_octave')),
    numOctaves: int('audio', 'num_octaves', need('audio', 'num_octaves')),
    latentDim: int('VAE', 'latent_dim', need('vae', 'latent_dim')),
    nUnits: int('VAE', 'n_units', need('vae', 'n_units')),
    klBeta: num('VAE', 'kl_beta', opt('vae', 'kl_beta'), 5e-4),
    outputActivation: (opt('vae', 'output_activation') ?? 'relu').toLowerCase(),
    learningRate: num('training', 'learning_rate', opt('training', 'learning_rate'), 1e-4),
    batchSize: int('training', 'batch_size', opt('training', 'batch_size'), 64),
    epochs: int('training', 'epochs', opt('training', 'epochs'), 2000),
    patience: int('training', 'early_patience_epoch', opt('training', 'early_patience_epoch'), 50),
    datasetPath: opt('dataset', 'datapath'),
    description: opt('extra', 'description'),
  };
}

/** A Dense layer read from Keras: `kernel` row-major `[inDim, outDim]` (Keras layout), `bias` `[outDim]`. */
export interface KerasDense {
  /** Where it was found, e.g. `model_weights/decoder/dense_1/kernel:0`. */
  path: string;
  inDim: number;
  outDim: number;
  kernel: Float32Array;
  bias: Float32Array;
  /** Activation from the saved model_config, when the file has one. */
  activation?: string;
}

/** The weights of the original VAE as read from its HDF5 file. */
export interface KerasVaeWeights {
  encoderHidden: KerasDense;
  zMean: KerasDense;
  zLogVar: KerasDense;
  decoderHidden: KerasDense;
  decoderOutput: KerasDense;
  /** The file's `keras_version` attribute, if any. */
  kerasVersion?: string;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True if the file carries the HDF5 signature at offset 0, 512, 1024 or 2048 (where the superblock may start). */
function hasHdf5Signature(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(8);
    for (const off of [0, 512, 1024, 2048]) {
      if (readSync(fd, buf, 0, 8, off) === 8 && HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

// h5wasm is loaded lazily: the WebAssembly HDF5 library costs ~100 ms to start and only `lts import` needs it.
type H5Module = typeof import('h5wasm');
let h5Promise: Promise<H5Module> | null = null;
async function loadH5wasm(): Promise<H5Module> {
  h5Promise ??= (async () => {
    const mod = (await import('h5wasm/node')) as unknown as { ready?: unknown; default?: H5Module };
    const h5 = (mod.ready !== undefined ? mod : mod.default) as H5Module;
    await h5.ready;
    return h5;
  })();
  return h5Promise;
}

function attrStrings(obj: { attrs: Record<string, { value: unknown }> }, name: string): string[] | undefined {
  const direct = obj.attrs[name];
  const parts: unknown[] = [];
  if (direct) parts.push(direct.value);
  else {
    // Keras splits attributes larger than 64 kB into name0, name1, ...
    for (let k = 0; obj.attrs[`${name}${k}`]; k++) parts.push(obj.attrs[`${name}${k}`].value);
    if (parts.length === 0) return undefined;
  }
  const out: string[] = [];
  for (const v of parts) {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...v.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x))));
    else if (v instanceof Uint8Array) out.push(new TextDecoder().decode(v));
    // an empty numeric array: a layer without weights
  }
  return out;
}

/** Activations of Dense layers from the model_config JSON: `name` at the top, `model/name` inside nested models. */
function activationsFromConfig(json: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (!json) return map;
  let cfg: { config?: { layers?: unknown[] } };
  try {
    cfg = JSON.parse(json) as { config?: { layers?: unknown[] } };
  } catch {
    return map;
  }
  const visit = (layers: unknown[], prefix: string, depth: number) => {
    if (depth > 4) return;
    for (const l of layers) {
      const layer = l as { class_name?: string; config?: { name?: string; activation?: unknown; layers?: unknown[] } };
      const name = layer?.config?.name;
      if (typeof name !== 'string') continue;
      if (layer.class_name === 'Dense' && typeof layer.config?.activation === 'string') map.set(prefix + name, layer.config.activation);
      if (Array.isArray(layer.config?.layers)) visit(layer.config.layers, `${prefix}${name}/`, depth + 1);
    }
  };
  visit(Array.isArray(cfg?.config?.layers) ? cfg.config.layers : [], '', 0);
  return map;
}

/**
 * Read the original VAE's weights from a Keras 2.x HDF5 file (`model.save` or `model.save_weights`).
 *
 * @param h5Path `model/mymodel_last.h5` of a run.
 * @returns The five Dense layers, kernels in Keras' `[in, out]` layout.
 * @throws UserError (one line) if the file is missing, not HDF5, not a Keras file, or holds another network
 *   (BatchNormalization layers, several hidden layers, missing z_mean/z_log_var/decoder).
 */
export async function readKerasVaeWeights(h5Path: string): Promise<KerasVaeWeights> {
  const abs = resolve(h5Path);
  let size: number;
  try {
    size = statSync(abs).size;
  } catch {
    throw new UserError(`${h5Path}: not found; an original LTS run keeps its weights in model/mymodel_last.h5`);
  }
  if (size < 96 || !hasHdf5Signature(abs)) {
    throw new UserError(`${h5Path}: not an HDF5 file (no HDF5 signature); pass the Keras .h5 the original LTS saved (model/mymodel_last.h5)`);
  }
  const h5 = await loadH5wasm();
  // The HDF5 library prints its error stack (HDF5-DIAG, dozens of lines) to stderr; keep it off the
  // terminal and use its most telling line in the one-line error instead.
  // With NODERAWFS the library writes to file descriptor 2 through fs.writeSync.
  const captured: string[] = [];
  const writeSync = fs.writeSync;
  fs.writeSync = ((fd: number, buffer: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (fd !== 2) return (writeSync as (...a: unknown[]) => number)(fd, buffer, ...rest);
    if (typeof buffer === 'string') {
      if (captured.length < 400) captured.push(buffer);
      return Buffer.byteLength(buffer);
    }
    // writeSync(fd, view, offset = 0, length = view.byteLength - offset, position)
    const offset = typeof rest[0] === 'number' ? rest[0] : 0;
    const length = typeof rest[1] === 'number' ? rest[1] : buffer.byteLength - offset;
    if (captured.length < 400) captured.push(Buffer.from(buffer.buffer, buffer.byteOffset + offset, length).toString());
    return length;
  }) as typeof fs.writeSync;
  const diag = () => {
    // The first error stack is the cause; its deepest frame (last '#NNN: ... in H5x(): reason' line) says why.
    const first = captured.join('').split('HDF5-DIAG')[1] ?? '';
    const frames = first.split('\n').map((l) => l.trim()).filter((l) => /^#\d+: .*\(\): /.test(l));
    const hit = frames.find((l) => /truncat/i.test(l)) ?? frames[frames.length - 1];
    return hit ? hit.slice(hit.indexOf('(): ') + 4) : '';
  };
  try {
    return readKerasFile(h5, abs, h5Path);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const why = diag() || String((e as Error)?.message ?? e).split('\n')[0];
    throw new UserError(`${h5Path}: the HDF5 data cannot be read (${why}); the file is damaged or truncated, copy it again`);
  } finally {
    fs.writeSync = writeSync;
  }
}

function readKerasFile(h5: H5Module, abs: string, h5Path: string): KerasVaeWeights {
  let file: InstanceType<H5Module['File']>;
  file = new h5.File(abs, 'r');
  if (!(file as unknown as { file_id?: unknown }).file_id) throw new Error('the file cannot be opened');
  try {
    const root = file as unknown as H5Group;
    const group = (root.keys().includes('model_weights') ? root.get('model_weights') : root) as H5Group | null;
    if (!group || typeof (group as H5Group).keys !== 'function') {
      throw new UserError(`${h5Path}: has no model_weights group; it is not a Keras model file`);
    }
    const layerNames = attrStrings(group, 'layer_names');
    if (!layerNames) throw new UserError(`${h5Path}: no layer_names attribute; it is not a Keras HDF5 model or weights file`);
    const kerasVersion = attrStrings(root, 'keras_version')?.[0] ?? attrStrings(group, 'keras_version')?.[0];
    const modelConfig = attrStrings(root, 'model_config')?.[0];
    const activations = activationsFromConfig(modelConfig);

    // Every layer's weights, in order.
    const layers: { name: string; weights: { name: string; path: string; shape: number[]; data: Float32Array }[] }[] = [];
    for (const name of layerNames) {
      const lg = group.get(name) as H5Group | null;
      if (!lg) throw new UserError(`${h5Path}: layer '${name}' is listed but has no group; the file is damaged`);
      const wnames = attrStrings(lg, 'weight_names') ?? [];
      const weights = wnames.map((wn) => {
        const ds = lg.get(wn) as H5Dataset | null;
        const path = `${group === root ? '' : 'model_weights/'}${name}/${wn}`;
        if (!ds || !Array.isArray(ds.shape)) throw new UserError(`${h5Path}: weight ${path} is listed but missing; the file is damaged`);
        const v = ds.value as unknown;
        let data: Float32Array;
        if (v instanceof Float32Array) data = v;
        else if (v instanceof Float64Array) data = Float32Array.from(v);
        else throw new UserError(`${h5Path}: weight ${path} is not floating point (${String(ds.dtype)}); the file is not a Keras float model`);
        return { name: wn, path, shape: ds.shape as number[], data };
      });
      layers.push({ name, weights });
    }

    const bn = layers.find((l) => l.weights.some((w) => /(^|\/)(gamma|moving_mean|moving_variance)(:\d+)?$/.test(w.name)));
    if (bn) {
      throw new UserError(`${h5Path}: layer '${bn.name}' is a BatchNormalization layer (a train-withbatchnorm variant); lts import supports the plain VAE of functional/timbre-vae/train.py`);
    }
    // Group each layer's weights into Dense (kernel, bias) pairs.
    const denseOf = (l: (typeof layers)[number]): KerasDense[] => {
      const out: KerasDense[] = [];
      for (let i = 0; i < l.weights.length; i++) {
        const k = l.weights[i];
        if (!/kernel(:\d+)?$/.test(k.name)) continue;
        const b = l.weights[i + 1];
        if (k.shape.length !== 2 || !b || !/bias(:\d+)?$/.test(b.name) || b.shape.length !== 1 || b.shape[0] !== k.shape[1]) {
          throw new UserError(`${h5Path}: ${k.path} is not followed by its bias; lts import expects Dense layers with biases`);
        }
        const sub = k.name.includes('/') ? k.name.slice(0, k.name.lastIndexOf('/')) : l.name;
        const act = activations.get(sub === l.name ? l.name : `${l.name}/${sub}`) ?? activations.get(sub);
        out.push({ path: k.path, inDim: k.shape[0], outDim: k.shape[1], kernel: k.data, bias: b.data, activation: act });
        i++;
      }
      return out;
    };
    const byName = new Map(layers.map((l) => [l.name, l]));
    const single = (name: string): KerasDense => {
      const l = byName.get(name);
      if (!l) throw new UserError(`${h5Path}: no '${name}' layer; this is not the VAE of the original LTS (layers: ${layerNames.join(', ')})`);
      const d = denseOf(l);
      if (d.length !== 1) throw new UserError(`${h5Path}: layer '${name}' is not a single Dense layer; this is not the VAE of the original LTS`);
      return d[0];
    };
    const zMean = single('z_mean');
    const zLogVar = single('z_log_var');
    const latent = zMean.outDim;
    const units = zMean.inDim;
    if (zLogVar.outDim !== latent || zLogVar.inDim !== units) {
      throw new UserError(`${h5Path}: z_mean [${zMean.inDim}, ${zMean.outDim}] and z_log_var [${zLogVar.inDim}, ${zLogVar.outDim}] differ; the file is not the original VAE`);
    }
    const others = layers.filter((l) => l.name !== 'z_mean' && l.name !== 'z_log_var');
    const decoderLayer = byName.get('decoder') ?? others.find((l) => denseOf(l).length === 2);
    if (!decoderLayer) throw new UserError(`${h5Path}: no decoder model inside; this is not the VAE of the original LTS (layers: ${layerNames.join(', ')})`);
    const dec = denseOf(decoderLayer);
    if (dec.length !== 2) {
      throw new UserError(`${h5Path}: the decoder has ${dec.length} Dense layers; lts import supports the original's decoder of 2 (n_units relu, then n_bins)`);
    }
    const [decoderHidden, decoderOutput] = dec;
    const encoderDense = others.filter((l) => l !== decoderLayer).flatMap(denseOf);
    if (encoderDense.length !== 1) {
      throw new UserError(`${h5Path}: the encoder has ${encoderDense.length} hidden Dense layers; lts import supports the original's single hidden layer`);
    }
    const encoderHidden = encoderDense[0];
    const nBins = encoderHidden.inDim;
    const shapeOk =
      encoderHidden.outDim === units && decoderHidden.inDim === latent && decoderHidden.outDim === units &&
      decoderOutput.inDim === units && decoderOutput.outDim === nBins;
    if (!shapeOk) {
      throw new UserError(
        `${h5Path}: layer shapes do not chain (encoder [${encoderHidden.inDim}, ${encoderHidden.outDim}], z_mean [${units}, ${latent}], decoder [${decoderHidden.inDim}, ${decoderHidden.outDim}] then [${decoderOutput.inDim}, ${decoderOutput.outDim}]); the file is not the original VAE`,
      );
    }
    return { encoderHidden, zMean, zLogVar, decoderHidden, decoderOutput, kerasVersion };
  } finally {
    try {
      file.close();
    } catch {
      /* closing a damaged file may fail too */
    }
  }
}

interface H5Group {
  attrs: Record<string, { value: unknown }>;
  keys(): string[];
  get(name: string): unknown;
}
interface H5Dataset {
  shape: number[] | null;
  dtype: unknown;
  value: unknown;
}

/** `[in, out]` row-major (Keras) → `[out, in]` row-major (ours). */
function transpose(k: Float32Array, inDim: number, outDim: number): Float32Array {
  const t = new Float32Array(k.length);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) t[o * inDim + i] = k[i * outDim + o];
  return t;
}

/** Where the weights of an original run are: `model/mymodel_last.h5` (or the only .h5 in `model/` or the run folder). */
export function findOriginalH5(runDir: string): string {
  const preferred = join(runDir, 'model', 'mymodel_last.h5');
  if (existsSync(preferred)) return preferred;
  for (const d of [join(runDir, 'model'), runDir]) {
    let files: string[] = [];
    try {
      files = readdirSync(d).filter((f) => f.endsWith('.h5')).sort();
    } catch {
      continue;
    }
    if (files.length === 1) return join(d, files[0]);
    if (files.length > 1) throw new UserError(`${d}: several .h5 files (${files.join(', ')}) and no model/mymodel_last.h5; keep the one to import as model/mymodel_last.h5`);
  }
  throw new UserError(`${runDir}: no model/mymodel_last.h5; an original LTS run folder holds config.ini and model/mymodel_last.h5`);
}

/** True if `dir` looks like a run folder of the original LTS (`config.ini` beside `model/*.h5`). */
export function isOriginalLtsRun(dir: string): boolean {
  if (!existsSync(join(dir, 'config.ini'))) return false;
  try {
    findOriginalH5(dir);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link importLtsRun}. */
export interface ImportOptions {
  /** Replace an existing model folder at the destination (default false: refuse). */
  force?: boolean;
  /** tfjs backend used to build the model (default: the current one, else `auto`). */
  backend?: BackendPreference;
}

/** What {@link importLtsRun} wrote. */
export interface ImportResult {
  /** The model folder written. */
  dir: string;
  config: ModelConfig;
  /** sha256 of the source .h5 file. */
  h5Sha256: string;
  /** The original run's settings. */
  original: OriginalRunConfig;
}

/**
 * Convert an original LTS run folder into one of our model folders.
 *
 * The folder is assembled in a temporary sibling and renamed into place, so `outDir` is either absent,
 * the previous folder, or the complete import; never half written.
 *
 * @param runDir The run folder (`config.ini`, `model/mymodel_last.h5`).
 * @param outDir The model folder to create.
 * @param opts See {@link ImportOptions}.
 * @throws UserError (one line) for a missing or invalid run folder, an unsupported network, a config.ini
 *   that disagrees with the weights, an existing `outDir` without `force`, an `outDir` that cannot be
 *   created or written (checked before the weights are read; also a full disk while writing), or constant-Q
 *   parameters our transform cannot realise (e.g. a top bin above the Nyquist frequency).
 */
export async function importLtsRun(runDir: string, outDir: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const run = resolve(runDir);
  let st;
  try {
    st = statSync(run);
  } catch {
    throw new UserError(`${runDir}: run folder not found; pass a run-NNN folder of the original LTS (config.ini, model/mymodel_last.h5)`);
  }
  if (!st.isDirectory()) throw new UserError(`${runDir}: is a file; pass the run-NNN folder that holds config.ini and model/`);
  const iniPath = join(run, 'config.ini');
  if (!existsSync(iniPath)) {
    const hint = existsSync(join(run, 'config.json')) ? ' (it is already an lts model folder: use it directly)' : '';
    throw new UserError(`${runDir}: no config.ini${hint}; pass a run-NNN folder of the original LTS`);
  }
  const dest = resolve(outDir);
  if (dest === run || dest.startsWith(run + '/model')) throw new UserError(`--out ${outDir}: choose a folder outside the run's model/ folder`);
  const what = `--out ${outDir}`;
  let destStat: Stats | null = null;
  try {
    destStat = statSync(dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputFsError(e, what) ?? e;
  }
  if (destStat) {
    let entries: string[];
    try {
      entries = destStat.isDirectory() ? readdirSync(dest) : ['(a file)'];
    } catch (e) {
      throw outputFsError(e, what) ?? e;
    }
    if (entries.length > 0 && !opts.force) throw new UserError(`--out ${outDir} exists and is not empty; pass --force to replace it or choose another folder`);
  }
  // The model is assembled in a sibling of dest: prove the parent can be created and written before the work.
  const parent = dirname(dest);
  checkOutputFolder(parent, what);
  const original = readOriginalConfig(iniPath);
  const h5Path = findOriginalH5(run);
  const weights = await readKerasVaeWeights(h5Path);

  const units = weights.encoderHidden.outDim;
  const latent = weights.zMean.outDim;
  const nBins = weights.encoderHidden.inDim;
  if (units !== original.nUnits) throw new UserError(`${h5Path}: hidden layers have ${units} units but ${iniPath} says [VAE] n_units = ${original.nUnits}; the files do not belong together`);
  if (latent !== original.latentDim) throw new UserError(`${h5Path}: the latent space has ${latent} dimensions but ${iniPath} says [VAE] latent_dim = ${original.latentDim}; the files do not belong together`);
  if (nBins % original.binsPerOctave !== 0 && nBins !== original.binsPerOctave * original.numOctaves) {
    throw new UserError(`${h5Path}: the network takes ${nBins} bins, not a whole number of octaves at ${original.binsPerOctave} bins per octave; the files do not belong together`);
  }
  const activation = (weights.decoderOutput.activation ?? original.outputActivation).toLowerCase();
  if (activation !== 'relu' && activation !== 'linear') {
    throw new UserError(`${h5Path}: the decoder output uses '${activation}' activation; lts supports relu (the original's default) and linear`);
  }
  for (const [what, d] of [['encoder', weights.encoderHidden], ['decoder', weights.decoderHidden]] as const) {
    if (d.activation && d.activation !== 'relu') throw new UserError(`${h5Path}: the ${what}'s hidden layer uses '${d.activation}'; lts import supports the original's relu`);
  }

  const transform = cqtConfig({
    sampleRate: original.sampleRate,
    hop: original.hopLength,
    binsPerOctave: original.binsPerOctave,
    nBins,
    fmin: C1_HZ,
  });
  const h5Sha256 = createHash('sha256').update(readFileSync(h5Path)).digest('hex');
  const config: ModelConfig = {
    formatVersion: MODEL_FORMAT_VERSION,
    features: { transform, scaling: 'linear' },
    network: { inputBins: nBins, hidden: [units], latent, outputActivation: activation },
    training: {
      beta: original.klBeta,
      learningRate: original.learningRate,
      batchSize: original.batchSize,
      epochs: original.epochs,
      patience: original.patience,
      checkpointEvery: 15,
      seed: 0,
    },
    meta: {
      importedFrom: run,
      source: 'original Latent Timbre Synthesis run (Keras HDF5)',
      h5File: h5Path,
      h5Sha256,
      kerasVersion: weights.kerasVersion ?? null,
      originalDataset: original.datasetPath ?? null,
      description: original.description ?? null,
      ...(nBins !== original.binsPerOctave * original.numOctaves
        ? { note: `config.ini says ${original.numOctaves} octaves but the weights take ${nBins} bins (${nBins / original.binsPerOctave} octaves); the weights are used` }
        : {}),
      lts: VERSION,
      createdAt: new Date().toISOString(),
    },
  };

  const named: NamedWeights = [];
  const put = (name: string, d: KerasDense) => {
    named.push({ name: `${name}/weight`, shape: [d.outDim, d.inDim], data: transpose(d.kernel, d.inDim, d.outDim) });
    named.push({ name: `${name}/bias`, shape: [d.outDim], data: Float32Array.from(d.bias) });
  };
  put('encoder/dense_0', weights.encoderHidden);
  put('encoder/z_mean', weights.zMean);
  put('encoder/z_log_var', weights.zLogVar);
  put('decoder/dense_0', weights.decoderHidden);
  put('decoder/output', weights.decoderOutput);

  if (!currentBackend()) await initBackend(opts.backend ?? 'auto');
  const vae = TimbreVae.create(config.network, 0);
  const tmp = join(parent, `.${basename(dest)}.import-${process.pid}-${Date.now()}`);
  let created: string[] = [];
  let tmpMade = false;
  try {
    created = makeFolders(parent);
    mkdirSync(tmp);
    tmpMade = true;
    vae.setWeights(named);
    await saveModelFolder(tmp, { config, vae });
    if (existsSync(dest)) {
      const old = `${tmp}.old`;
      renameSync(dest, old);
      try {
        renameSync(tmp, dest);
      } catch (e) {
        renameSync(old, dest); // put the previous folder back
        throw e;
      }
      try {
        rmSync(old, { recursive: true, force: true });
      } catch {
        // The import is in place; a previous folder that cannot be removed stays as a hidden sibling.
      }
    } else {
      renameSync(tmp, dest);
    }
  } catch (e) {
    try {
      if (tmpMade) rmSync(tmp, { recursive: true, force: true });
    } catch {
      // keep the first error: it says why
    }
    removeEmptyFolders(created);
    throw outputFsError(e, what) ?? e;
  } finally {
    vae.dispose();
  }
  return { dir: dest, config, h5Sha256, original };
}
