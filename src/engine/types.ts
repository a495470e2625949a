/**
 * Types shared across the engine: frame sets for training, and the model
 * configuration stored in a model folder.
 */
import type { TransformConfig } from '../dsp/types.ts';

/** Row-major matrix of feature frames: row `i` is `data.subarray(i * bins, (i + 1) * bins)`. */
export interface FrameSet {
  frames: number;
  bins: number;
  data: Float32Array;
}

/** How magnitudes become network features. `linear`: raw magnitude (as the original LTS). `log`: `log1p(magnitude)`. */
export type MagnitudeScaling = 'linear' | 'log';

/** Feature extraction parameters: the transform and the magnitude scaling. */
export interface FeatureConfig {
  transform: TransformConfig;
  scaling: MagnitudeScaling;
}

/** Network parameters of the frame VAE (Tatar et al. 2020, after Kingma & Welling 2014). */
export interface NetworkConfig {
  /** Input and output width: the transform's bins per frame. */
  inputBins: number;
  /** Widths of the hidden Dense relu layers of the encoder; the decoder mirrors them. Original: [2048]. */
  hidden: number[];
  /** Latent width (mu and log-variance each). */
  latent: number;
  /** Output activation: relu for non-negative features (the original), or linear. */
  outputActivation: 'relu' | 'linear';
}

/** Training hyper-parameters (original LTS values as defaults). */
export interface TrainingConfig {
  /** Weight of the KL term: loss = MSE + beta * mean(-(1 + logvar - mu^2 - exp(logvar))). Default 5e-4. */
  beta: number;
  /** Adam learning rate, default 1e-4 (beta1 0.9, beta2 0.999). */
  learningRate: number;
  /** Frames per batch, default 64. */
  batchSize: number;
  /** Maximum epochs. */
  epochs: number;
  /** Early-stopping patience in epochs on validation loss (training loss when there is no validation set). */
  patience: number;
  /** Checkpoint every N epochs (and on every new best validation loss). */
  checkpointEvery: number;
  /** Seed for weight initialisation, shuffling and sampling. */
  seed: number;
}

/** Everything `config.json` of a model folder holds. */
export interface ModelConfig {
  /** Model folder format version; a folder written by a newer version is refused with a clear error. */
  formatVersion: number;
  features: FeatureConfig;
  network: NetworkConfig;
  training: TrainingConfig;
  /** Free-form provenance: dataset path, program version, creation date. */
  meta?: Record<string, unknown>;
}
