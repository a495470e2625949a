/**
 * The frame-wise timbre VAE of Latent Timbre Synthesis.
 *
 * Implements the network of K. Tatar, D. Bisig, P. Pasquier, "Latent Timbre
 * Synthesis", Neural Computing and Applications 2020 (arXiv 2006.00408), a
 * variational auto-encoder (D. P. Kingma, M. Welling, "Auto-Encoding
 * Variational Bayes", ICLR 2014) over single spectrogram frames:
 *
 * ```
 * x [n, inputBins]
 *   -> Dense hidden[0] relu -> ... -> Dense hidden[k-1] relu = h
 *   -> mu = Dense latent (linear) (h),  logvar = Dense latent (linear) (h)
 *   -> z = mu + exp(logvar / 2) * eps,  eps ~ N(0, 1)        (reparameterisation)
 *   -> Dense hidden[k-1] relu -> ... -> Dense hidden[0] relu
 *   -> Dense inputBins (relu or linear) = x_hat [n, inputBins]
 * ```
 *
 * The original uses `hidden = [2048]`, 384 CQT bins, and a relu output.
 *
 * **Loss** (exactly as the original Keras model, per batch of n frames):
 * - `mse = mean over all n * inputBins elements of (x - x_hat)^2` (Keras `mse`
 *   is the mean over the last axis, then Keras averages over the batch);
 * - `kl = mean over all n * latent elements of -(1 + logvar - mu^2 - exp(logvar))`
 *   (note: a mean, not a sum, and without the factor 1/2 of the textbook KL;
 *   that scale is absorbed into beta, as in the original);
 * - `loss = mse + beta * kl`, beta = 5e-4 in the original.
 *
 * **Optimiser**: Adam (D. P. Kingma, J. Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015) in the form Keras/TensorFlow use:
 * `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g^2`,
 * `w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)` with
 * b1 = 0.9, b2 = 0.999, eps = 1e-7. It is implemented here with plain tf ops
 * so that its whole state (m, v, t) can be saved and restored bit-exactly.
 *
 * **Weights**: Dense weights are `[out, in]` (PyTorch layout; the transpose
 * of a Keras kernel) and biases `[out]`, initialised Glorot-uniform
 * (X. Glorot, Y. Bengio, AISTATS 2010) from a seeded JavaScript generator,
 * so the initial weights are identical on every backend; biases start at
 * zero. Weight names: `encoder/dense_<i>/weight|bias`,
 * `encoder/z_mean/weight|bias`, `encoder/z_log_var/weight|bias`,
 * `decoder/dense_<i>/weight|bias` (i counts from the latent side outwards),
 * `decoder/output/weight|bias`. Training keeps activations feature-major
 * (`[features, n]`, so each layer is `weight @ hT`), which is faster for the
 * gradients on the wasm backend; inference ({@link TimbreVae.encode},
 * {@link TimbreVae.decode}) runs row-major on cached transposed weights, where
 * bias and relu fuse into the matrix product. The API is row-major throughout.
 *
 * All arrays crossing this API are row-major Float32Arrays: a matrix
 * `[n, w]` stores row `i` at `i * w .. (i + 1) * w`. Every tf computation runs
 * inside `tf.tidy`, so no tensor outlives a call except the model's variables,
 * which {@link TimbreVae.dispose} frees.
 *
 * Call `initBackend()` from `./backend.ts` before creating a model.
 */
import { tf } from './backend.ts';
import { fusedAdamAvailable, fusedAdamUpdate } from './adam-kernel.ts';
import type { NetworkConfig } from './types.ts';

/** One named weight array: `data` is row-major with the given `shape`. */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** An ordered list of named weights (the order of {@link TimbreVae.weightSpecs}). */
export type NamedWeights = NamedWeight[];

/**
 * Complete Adam state: the step count `t` (number of updates applied so far)
 * and the first/second moment estimates, one pair per weight, named
 * `<weight>/m` and `<weight>/v`, in weight order (all m, then all v).
 */
export interface OptimizerState {
  algorithm: 'adam';
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Updates applied so far; the next update uses t = step + 1. Also seeds the sampling noise of the next step. */
  step: number;
  moments: NamedWeights;
}

/** Losses of one batch or one evaluation (means, see the module documentation). */
export interface LossValues {
  /** `mse + beta * kl`. */
  loss: number;
  /** Mean squared reconstruction error. */
  mse: number;
  /** Mean of `-(1 + logvar - mu^2 - exp(logvar))` over frames and latent dimensions. */
  kl: number;
}

/** Rows per chunk in batched inference (bounds peak memory for long inputs). */
const INFERENCE_CHUNK = 2048;

/** Keras' Adam epsilon. */
const ADAM_EPSILON = 1e-7;

/** 32-bit integer hash (a variant of splitmix/murmur finalisation) used to derive seeds. */
export function mixSeed(a: number, b: number): number {
  let h = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul((b | 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x21f0aaad) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x735a2d97) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * A small seeded generator (mulberry32) returning uniform floats in [0, 1).
 * Deterministic across platforms; used for weight initialisation and shuffling.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Dense layer stored feature-major: `weight` is `[out, in]` and `bias` is `[out, 1]`, and it maps
 * activations `hT [in, n]` to `relu?(weight @ hT + bias) [out, n]`.
 */
interface DenseLayer {
  name: string;
  weight: tf.Variable;
  bias: tf.Variable;
  activation: 'relu' | 'linear';
}

function validateNetwork(cfg: NetworkConfig): void {
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (!cfg || typeof cfg !== 'object') throw new Error('network config: expected an object { inputBins, hidden, latent, outputActivation }');
  if (!posInt(cfg.inputBins)) throw new Error(`network config: inputBins must be a positive integer, got ${JSON.stringify(cfg.inputBins)}`);
  if (!Array.isArray(cfg.hidden) || !cfg.hidden.every(posInt)) {
    throw new Error(`network config: hidden must be a list of positive integers (e.g. [2048]), got ${JSON.stringify(cfg.hidden)}`);
  }
  if (!posInt(cfg.latent)) throw new Error(`network config: latent must be a positive integer, got ${JSON.stringify(cfg.latent)}`);
  if (cfg.outputActivation !== 'relu' && cfg.outputActivation !== 'linear') {
    throw new Error(`network config: outputActivation must be "relu" or "linear", got ${JSON.stringify(cfg.outputActivation)}`);
  }
}

/** Shape of a variable as exposed by the API: biases `[out, 1]` are reported as `[out]`. */
function publicShape(v: tf.Tensor): number[] {
  return v.shape.length === 2 && v.shape[1] === 1 ? [v.shape[0]] : [...v.shape];
}

function checkRows(what: string, data: Float32Array, n: number, width: number): void {
  if (!(data instanceof Float32Array)) throw new Error(`${what}: expected a Float32Array`);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: frame count must be a non-negative integer, got ${n}`);
  if (data.length < n * width) {
    throw new Error(`${what}: ${n} rows of ${width} need ${n * width} values, got ${data.length}; check the feature width matches the model's`);
  }
}

/**
 * The LTS frame VAE with its own Adam optimiser state.
 *
 * @example
 * await initBackend();
 * const vae = TimbreVae.create({ inputBins: 384, hidden: [2048], latent: 64, outputActivation: 'relu' }, 1);
 * const { loss } = vae.trainStep(batch, 64, { beta: 5e-4 });
 * const { mu } = vae.encode(frames, n);   // [n, 64]
 * const spec = vae.decode(mu, n);         // [n, 384]
 */
export class TimbreVae {
  /** The network shape this model was built with (a copy). */
  readonly config: NetworkConfig;
  /** Seed for the sampling noise of training steps (weights were initialised from it too). */
  readonly seed: number;
  private readonly encoder: DenseLayer[];
  private readonly zMean: DenseLayer;
  private readonly zLogVar: DenseLayer;
  private readonly decoder: DenseLayer[];
  private readonly output: DenseLayer;
  private readonly layers: DenseLayer[];
  private readonly vars: tf.Variable[];
  private readonly names: string[];
  private m: tf.Variable[] | null = null;
  private v: tf.Variable[] | null = null;
  private step = 0;
  private learningRate = 1e-4;
  /**
   * Use the fused in-place Adam kernel on the wasm backend (`adam-kernel.ts`), default true. It
   * gives the same bits as the op-by-op update and takes a fraction of its time; false forces the
   * op-by-op form (for comparisons). Ignored on other backends.
   */
  fusedAdam = true;
  private fusedCount = 0;

  /** How many variables the last {@link trainStep} updated with the fused kernel (the rest op by op). */
  get fusedVariables(): number {
    return this.fusedCount;
  }
  private disposed = false;
  /** Transposed copies of the weights for inference, built on first use and dropped when the weights change. */
  private inference: Map<DenseLayer, { wT: tf.Tensor2D; b: tf.Tensor1D }> | null = null;

  private constructor(cfg: NetworkConfig, seed: number) {
    validateNetwork(cfg);
    this.config = { ...cfg, hidden: [...cfg.hidden] };
    this.seed = seed >>> 0;
    let index = 0;
    const dense = (name: string, fanIn: number, fanOut: number, activation: 'relu' | 'linear'): DenseLayer => {
      const rand = seededRandom(mixSeed(this.seed, index++));
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const k = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < k.length; i++) k[i] = (2 * rand() - 1) * limit;
      return {
        name,
        weight: tf.tidy(() => tf.variable(tf.tensor2d(k, [fanOut, fanIn]), true)),
        bias: tf.tidy(() => tf.variable(tf.zeros([fanOut, 1]), true)),
        activation,
      };
    };
    const { inputBins, hidden, latent } = this.config;
    let width = inputBins;
    this.encoder = hidden.map((h, i) => {
      const l = dense(`encoder/dense_${i}`, width, h, 'relu');
      width = h;
      return l;
    });
    this.zMean = dense('encoder/z_mean', width, latent, 'linear');
    this.zLogVar = dense('encoder/z_log_var', width, latent, 'linear');
    width = latent;
    const reversed = [...hidden].reverse();
    this.decoder = reversed.map((h, i) => {
      const l = dense(`decoder/dense_${i}`, width, h, 'relu');
      width = h;
      return l;
    });
    this.output = dense('decoder/output', width, inputBins, this.config.outputActivation);
    this.layers = [...this.encoder, this.zMean, this.zLogVar, ...this.decoder, this.output];
    this.vars = this.layers.flatMap((l) => [l.weight, l.bias]);
    this.names = this.layers.flatMap((l) => [`${l.name}/weight`, `${l.name}/bias`]);
  }

  /**
   * Build a freshly initialised model.
   *
   * @param cfg Network shape (see {@link NetworkConfig}); validated, with a one-line error naming the bad field.
   * @param seed Unsigned 32-bit seed: determines the initial weights and the sampling noise of every training step.
   */
  static create(cfg: NetworkConfig, seed: number): TimbreVae {
    return new TimbreVae(cfg, seed);
  }

  /**
   * Names and shapes of all weights, in storage order (encoder, z_mean, z_log_var, decoder, output;
   * weight `[out, in]` then bias `[out]`).
   */
  weightSpecs(): { name: string; shape: number[] }[] {
    return this.vars.map((v, i) => ({ name: this.names[i], shape: publicShape(v) }));
  }

  /** Number of trainable parameters. */
  parameterCount(): number {
    return this.vars.reduce((s, v) => s + v.size, 0);
  }

  private alive(): void {
    if (this.disposed) throw new Error('TimbreVae: the model was disposed; load or create it again');
  }

  /**
   * Dense layer on feature-major activations: `hT [in, n] -> [out, n]`. The weight is the left operand:
   * on wasm (XNNPACK) the right operand is repacked on every call, so keeping the large, ever-changing
   * weight on the left and the small activations on the right is markedly faster in training.
   */
  private dense(l: DenseLayer, hT: tf.Tensor2D): tf.Tensor2D {
    // Not tf.fused.matMul: the wasm fused kernel only accepts a per-column (rank-1) bias.
    const y = tf.add(tf.matMul(l.weight as tf.Tensor2D, hT), l.bias) as tf.Tensor2D;
    return l.activation === 'relu' ? tf.relu(y) : y;
  }

  /** Encoder graph: xT [inputBins, n] -> { mu, logvar } [latent, n]. Call inside tf.tidy. */
  private encodeT(x: tf.Tensor2D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    let h = x;
    for (const l of this.encoder) h = this.dense(l, h);
    return { mu: this.dense(this.zMean, h), logvar: this.dense(this.zLogVar, h) };
  }

  /** Decoder graph: zT [latent, n] -> x_hatT [inputBins, n]. Call inside tf.tidy. */
  private decodeT(z: tf.Tensor2D): tf.Tensor2D {
    let h = z;
    for (const l of this.decoder) h = this.dense(l, h);
    return this.dense(this.output, h);
  }

  /** Reparameterised sample z = mu + exp(logvar / 2) * eps with eps ~ N(0, 1) drawn from `seed`. Call inside tf.tidy. */
  private sampleT(mu: tf.Tensor2D, logvar: tf.Tensor2D, seed: number): tf.Tensor2D {
    const eps = tf.randomNormal(mu.shape, 0, 1, 'float32', seed);
    return tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps));
  }

  /** Loss terms for xT [inputBins, n] with noise from `seed`. Call inside tf.tidy. Returns scalars. */
  private lossT(x: tf.Tensor2D, beta: number, seed: number): { loss: tf.Scalar; mse: tf.Scalar; kl: tf.Scalar } {
    const { mu, logvar } = this.encodeT(x);
    const xHat = this.decodeT(this.sampleT(mu, logvar, seed));
    const mse = tf.mean(tf.squaredDifference(x, xHat)) as tf.Scalar;
    const kl = tf.mean(tf.neg(tf.sub(tf.sub(tf.add(logvar, 1), tf.square(mu)), tf.exp(logvar)))) as tf.Scalar;
    return { loss: tf.add(mse, tf.mul(kl, beta)) as tf.Scalar, mse, kl };
  }

  /**
   * Inference weights in row-major orientation: per layer `W^T [in, out]` and the bias `[out]`, built on
   * first use and dropped when the weights change (a training step, {@link setWeights}). With the
   * frames as the left operand the bias is per column, so bias and activation fuse into the matrix
   * product (`tf.fused.matMul`, one XNNPACK call on wasm) and no activation is transposed.
   */
  private inferenceWeights(): Map<DenseLayer, { wT: tf.Tensor2D; b: tf.Tensor1D }> {
    if (this.inference) return this.inference;
    const layers = new Map<DenseLayer, { wT: tf.Tensor2D; b: tf.Tensor1D }>();
    for (const l of this.layers) {
      layers.set(l, tf.tidy(() => ({
        wT: tf.keep(tf.transpose(l.weight as tf.Tensor2D)),
        // A fresh rank-1 tensor, not a reshape: the wasm kernel checks the rank of the data the reshape would share.
        b: tf.keep(tf.tensor1d(l.bias.dataSync() as Float32Array)),
      })));
    }
    this.inference = layers;
    return layers;
  }

  private dropInferenceWeights(): void {
    if (!this.inference) return;
    for (const p of this.inference.values()) tf.dispose([p.wT, p.b]);
    this.inference = null;
  }

  /** Row-major dense layer for inference: `x [n, in] -> [n, out]` with fused bias and activation. Call inside tf.tidy. */
  private rowDense(l: DenseLayer, x: tf.Tensor2D): tf.Tensor2D {
    const p = this.inferenceWeights().get(l)!;
    return tf.fused.matMul({ a: x, b: p.wT, bias: p.b, activation: l.activation === 'relu' ? 'relu' : 'linear' }) as tf.Tensor2D;
  }

  /** Row-major encoder for inference: x [n, inputBins] -> mu (and logvar unless `meanOnly`) [n, latent]. Call inside tf.tidy. */
  private encodeRows(x: tf.Tensor2D, meanOnly: boolean): tf.Tensor2D[] {
    let h = x;
    for (const l of this.encoder) h = this.rowDense(l, h);
    return meanOnly ? [this.rowDense(this.zMean, h)] : [this.rowDense(this.zMean, h), this.rowDense(this.zLogVar, h)];
  }

  /** Row-major decoder for inference: z [n, latent] -> x_hat [n, inputBins]. Call inside tf.tidy. */
  private decodeRows(z: tf.Tensor2D): tf.Tensor2D {
    let h = z;
    for (const l of this.decoder) h = this.rowDense(l, h);
    return this.rowDense(this.output, h);
  }

  /**
   * Run `fn` on consecutive chunks of at most INFERENCE_CHUNK rows of row-major `[n, width]` data,
   * writing its row-major results into `outs`. Every row's result depends on that row alone.
   */
  private chunked(data: Float32Array, n: number, width: number, outs: { width: number; out: Float32Array }[],
    fn: (x: tf.Tensor2D) => tf.Tensor2D[]): void {
    for (let start = 0; start < n; start += INFERENCE_CHUNK) {
      const rows = Math.min(INFERENCE_CHUNK, n - start);
      const results = tf.tidy(() => fn(tf.tensor2d(data.subarray(start * width, (start + rows) * width), [rows, width])));
      try {
        results.forEach((r, i) => outs[i].out.set(r.dataSync() as Float32Array, start * outs[i].width));
      } finally {
        tf.dispose(results);
      }
    }
  }

  /**
   * Encode frames to the posterior parameters.
   *
   * @param frames Row-major `[n, inputBins]` features (extra trailing values are ignored).
   * @param n Number of frames; processed in chunks of 2048 rows.
   * @returns `mu` and `logvar`, each row-major `[n, latent]`.
   */
  encode(frames: Float32Array, n: number): { mu: Float32Array; logvar: Float32Array } {
    this.alive();
    const { inputBins, latent } = this.config;
    checkRows('TimbreVae.encode', frames, n, inputBins);
    const mu = new Float32Array(n * latent);
    const logvar = new Float32Array(n * latent);
    this.chunked(frames, n, inputBins, [{ width: latent, out: mu }, { width: latent, out: logvar }], (x) => this.encodeRows(x, false));
    return { mu, logvar };
  }

  /**
   * Prepare inference: build the transposed weights and let the backend pack them for its matrix
   * kernels (on wasm about 50 ms for the shipped model, most of a first call's extra cost), by
   * encoding and decoding one frame. Call it when a model is loaded, so that the first render or
   * stream does not pay for it. Idempotent; a training step or {@link setWeights} undoes it.
   */
  warmInference(): void {
    const { mu } = this.encode(new Float32Array(this.config.inputBins), 1);
    this.decode(mu, 1);
  }

  /**
   * Encode frames to the posterior means only (what a render without sampling uses); the same
   * values as `encode(frames, n).mu` without computing log σ².
   *
   * @param frames Row-major `[n, inputBins]` features.
   * @param n Number of frames.
   * @returns `mu`, row-major `[n, latent]`.
   */
  encodeMean(frames: Float32Array, n: number): Float32Array {
    this.alive();
    const { inputBins, latent } = this.config;
    checkRows('TimbreVae.encodeMean', frames, n, inputBins);
    const mu = new Float32Array(n * latent);
    this.chunked(frames, n, inputBins, [{ width: latent, out: mu }], (x) => this.encodeRows(x, true));
    return mu;
  }

  /**
   * Decode latent vectors to frames.
   *
   * @param z Row-major `[n, latent]` latent vectors.
   * @param n Number of vectors; processed in chunks of 2048 rows.
   * @returns Row-major `[n, inputBins]` features (non-negative with a relu output).
   */
  decode(z: Float32Array, n: number): Float32Array {
    this.alive();
    const { inputBins, latent } = this.config;
    checkRows('TimbreVae.decode', z, n, latent);
    const out = new Float32Array(n * inputBins);
    this.chunked(z, n, latent, [{ width: inputBins, out }], (x) => [this.decodeRows(x)]);
    return out;
  }

  /**
   * Deterministic reconstruction `decode(mu(frames))` (no sampling noise).
   *
   * @param frames Row-major `[n, inputBins]`.
   * @param n Number of frames.
   * @returns Row-major `[n, inputBins]`.
   */
  reconstruct(frames: Float32Array, n: number): Float32Array {
    this.alive();
    const { inputBins } = this.config;
    checkRows('TimbreVae.reconstruct', frames, n, inputBins);
    const out = new Float32Array(n * inputBins);
    this.chunked(frames, n, inputBins, [{ width: inputBins, out }], (x) => [this.decodeRows(this.encodeRows(x, true)[0])]);
    return out;
  }

  /**
   * Seed of the sampling noise of training step `step`, derived from the model seed,
   * so a run that resumes at the same step draws the same noise.
   */
  noiseSeed(step: number): number {
    return mixSeed(this.seed ^ 0x5eed, step);
  }

  /**
   * One Adam update on a batch.
   *
   * @param batch Row-major `[n, inputBins]` frames.
   * @param n Frames in the batch (the original uses 64).
   * @param opts.beta KL weight. `opts.learningRate`: Adam step size (default: the last one used, initially 1e-4).
   * @returns The batch losses before the update (see the module documentation for the exact definitions).
   */
  trainStep(batch: Float32Array, n: number, opts: { beta: number; learningRate?: number }): LossValues {
    this.alive();
    const { inputBins } = this.config;
    checkRows('TimbreVae.trainStep', batch, n, inputBins);
    if (n < 1) throw new Error('TimbreVae.trainStep: the batch is empty; pass at least one frame');
    if (opts.learningRate !== undefined) this.learningRate = opts.learningRate;
    this.ensureOptimizer();
    const seed = this.noiseSeed(this.step);
    const t = this.step + 1;
    const lr = this.learningRate;
    const alpha = (lr * Math.sqrt(1 - Math.pow(0.999, t))) / (1 - Math.pow(0.9, t));
    let mseT: tf.Scalar | null = null;
    let klT: tf.Scalar | null = null;
    const lossT = tf.tidy(() => {
      const x = tf.transpose(tf.tensor2d(batch.subarray(0, n * inputBins), [n, inputBins]));
      const { value, grads } = tf.variableGrads(() => {
        const r = this.lossT(x, opts.beta, seed);
        mseT = tf.keep(r.mse);
        klT = tf.keep(r.kl);
        return r.loss;
      }, this.vars);
      const m = this.m!;
      const v = this.v!;
      const fused = this.fusedAdam && fusedAdamAvailable();
      this.fusedCount = 0;
      this.vars.forEach((w, i) => {
        const g = grads[w.name];
        // One SIMD pass in place on wasm (same float32 operations, same bits); else op by op.
        if (fused && fusedAdamUpdate(w, m[i], v[i], g, alpha, ADAM_EPSILON)) {
          this.fusedCount++;
          return;
        }
        const mNew = tf.add(tf.mul(m[i], 0.9), tf.mul(g, 0.1));
        const vNew = tf.add(tf.mul(v[i], 0.999), tf.mul(tf.square(g), 0.001));
        m[i].assign(mNew);
        v[i].assign(vNew);
        w.assign(tf.sub(w, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), ADAM_EPSILON)), alpha)));
      });
      return value;
    });
    this.dropInferenceWeights();
    try {
      const loss = lossT.dataSync()[0];
      const mse = mseT!.dataSync()[0];
      const kl = klT!.dataSync()[0];
      this.step = t;
      return { loss, mse, kl };
    } finally {
      tf.dispose([lossT, mseT!, klT!]);
    }
  }

  /**
   * Mean losses over a whole frame set (no update), in chunks of 2048 frames, weighted by chunk size.
   * The sampling noise is drawn from a fixed seed per chunk, so the result is deterministic and
   * comparable between epochs.
   *
   * @param frames Row-major `[n, inputBins]`.
   * @param n Number of frames (>= 1).
   * @param beta KL weight.
   */
  evaluate(frames: Float32Array, n: number, beta: number): LossValues {
    this.alive();
    const { inputBins } = this.config;
    checkRows('TimbreVae.evaluate', frames, n, inputBins);
    if (n < 1) throw new Error('TimbreVae.evaluate: no frames to evaluate; pass at least one frame');
    let mse = 0;
    let kl = 0;
    for (let start = 0, chunk = 0; start < n; start += INFERENCE_CHUNK, chunk++) {
      const rows = Math.min(INFERENCE_CHUNK, n - start);
      const pair = tf.tidy(() => {
        const x = tf.transpose(tf.tensor2d(frames.subarray(start * inputBins, (start + rows) * inputBins), [rows, inputBins]));
        const r = this.lossT(x, beta, mixSeed(this.seed ^ 0xe7a1, chunk));
        return tf.stack([r.mse, r.kl]);
      });
      const [a, b] = pair.dataSync();
      pair.dispose();
      mse += a * rows;
      kl += b * rows;
    }
    mse /= n;
    kl /= n;
    return { loss: mse + beta * kl, mse, kl };
  }

  /** Copies of all weights, in {@link weightSpecs} order. */
  getWeights(): NamedWeights {
    this.alive();
    return this.vars.map((v, i) => ({ name: this.names[i], shape: publicShape(v), data: Float32Array.from(v.dataSync() as Float32Array) }));
  }

  /**
   * Replace all weights.
   *
   * @param weights Every weight of {@link weightSpecs} exactly once, by name (order free), with matching shapes.
   * @throws Error naming the missing, unknown or mis-shaped weight.
   */
  setWeights(weights: NamedWeights): void {
    this.alive();
    const byName = new Map(weights.map((w) => [w.name, w]));
    for (const w of weights) {
      if (!this.names.includes(w.name)) throw new Error(`TimbreVae.setWeights: unknown weight "${w.name}" for this network shape`);
    }
    this.vars.forEach((v, i) => {
      const w = byName.get(this.names[i]);
      if (!w) throw new Error(`TimbreVae.setWeights: weight "${this.names[i]}" is missing`);
      const shape = publicShape(v);
      if (w.shape.length !== shape.length || w.shape.some((d, k) => d !== shape[k]) || w.data.length !== v.size) {
        throw new Error(`TimbreVae.setWeights: weight "${w.name}" has shape [${w.shape}] (${w.data.length} values), expected [${shape}]`);
      }
    });
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        const w = byName.get(this.names[i])!;
        v.assign(tf.tensor(w.data, v.shape));
      });
    });
    this.dropInferenceWeights();
  }

  private ensureOptimizer(): void {
    if (this.m && this.v) return;
    this.m = this.vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.v = this.vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  }

  /** Adam updates applied so far. */
  get steps(): number {
    return this.step;
  }

  /** A copy of the complete Adam state (moments are zero before the first step). */
  getOptimizerState(): OptimizerState {
    this.alive();
    this.ensureOptimizer();
    const moments: NamedWeights = [];
    for (const [suffix, list] of [['m', this.m!], ['v', this.v!]] as const) {
      list.forEach((t, i) => moments.push({ name: `${this.names[i]}/${suffix}`, shape: publicShape(t), data: Float32Array.from(t.dataSync() as Float32Array) }));
    }
    return { algorithm: 'adam', learningRate: this.learningRate, beta1: 0.9, beta2: 0.999, epsilon: ADAM_EPSILON, step: this.step, moments };
  }

  /**
   * Restore an Adam state saved by {@link getOptimizerState} (for resuming training exactly).
   *
   * @throws Error naming a missing or mis-shaped moment, or unsupported hyper-parameters.
   */
  setOptimizerState(s: OptimizerState): void {
    this.alive();
    if (s.algorithm !== 'adam' || s.beta1 !== 0.9 || s.beta2 !== 0.999 || s.epsilon !== ADAM_EPSILON) {
      throw new Error(`TimbreVae.setOptimizerState: unsupported optimiser ${s.algorithm} (beta1 ${s.beta1}, beta2 ${s.beta2}, epsilon ${s.epsilon}); expected adam 0.9/0.999/1e-7`);
    }
    if (!Number.isInteger(s.step) || s.step < 0) throw new Error(`TimbreVae.setOptimizerState: step must be a non-negative integer, got ${s.step}`);
    this.ensureOptimizer();
    const byName = new Map(s.moments.map((w) => [w.name, w]));
    const plan: [tf.Variable, NamedWeight][] = [];
    for (const [suffix, list] of [['m', this.m!], ['v', this.v!]] as const) {
      list.forEach((t, i) => {
        const name = `${this.names[i]}/${suffix}`;
        const w = byName.get(name);
        if (!w) throw new Error(`TimbreVae.setOptimizerState: moment "${name}" is missing`);
        if (w.data.length !== t.size) throw new Error(`TimbreVae.setOptimizerState: moment "${name}" has ${w.data.length} values, expected ${t.size}`);
        plan.push([t, w]);
      });
    }
    tf.tidy(() => plan.forEach(([t, w]) => t.assign(tf.tensor(w.data, t.shape))));
    this.step = s.step;
    this.learningRate = s.learningRate;
  }

  /** Free all tensors of the model and its optimiser. Further calls throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropInferenceWeights();
    tf.dispose(this.vars);
    if (this.m) tf.dispose(this.m);
    if (this.v) tf.dispose(this.v);
  }
}
