/**
 * Test fixture: a small but really trained timbre model on two clearly
 * different synthetic sounds (a low harmonic tone and a high, bright one),
 * written as a real model folder, plus the two sounds as WAV files.
 * Training takes a few seconds on the wasm backend.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.ts';
import { TimbreVae } from '../../src/engine/vae.ts';
import { saveModelFolder } from '../../src/engine/model-folder.ts';
import { analyzeMagnitudes, toFeatures } from '../../src/engine/features.ts';
import { writeWav } from '../../src/io/wav.ts';
import { createRng, gaussian } from '../../src/dsp/rng.ts';
import type { ModelConfig } from '../../src/engine/types.ts';
import { cqtConfig } from '../../src/dsp/cqt.ts';

export const SR = 16000;

/** A harmonic tone with `harmonics` partials of 1/k amplitude, a little noise, and a slow amplitude swell. */
export function tone(f0: number, seconds: number, harmonics: number, seed: number): Float32Array {
  const n = Math.round(seconds * SR);
  const x = new Float32Array(n);
  const rng = createRng(seed);
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    let s = 0;
    for (let k = 1; k <= harmonics && k * f0 < SR / 2; k++) s += Math.sin(2 * Math.PI * k * f0 * t + k) / k;
    x[i] = 0.25 * s * (0.8 + 0.2 * Math.sin(2 * Math.PI * 0.7 * t)) + 0.003 * gaussian(rng);
  }
  return x;
}

export interface TinyModel {
  dir: string;
  modelDir: string;
  fileA: string;
  fileB: string;
  config: ModelConfig;
}

/**
 * Train and save the fixture model; returns its folder and the two source files.
 * @param transform `'stft'` (default: 256/64, 129 bins) or `'cqt'` (7 octaves of 12 bins from C1, hop 64).
 */
export async function makeTinyModel(transform: 'stft' | 'cqt' = 'stft'): Promise<TinyModel> {
  await initBackend('auto');
  const dir = mkdtempSync(join(tmpdir(), 'lts-tiny-'));
  const a = tone(196, 2, 3, 1);
  const b = tone(1244, 2, 12, 2);
  const fileA = join(dir, 'low.wav');
  const fileB = join(dir, 'high.wav');
  writeWav(fileA, a, SR, { encoding: 'float32' });
  writeWav(fileB, b, SR, { encoding: 'float32' });
  const config: ModelConfig = {
    formatVersion: 1,
    features: {
      transform: transform === 'cqt' ? cqtConfig({ sampleRate: SR, hop: 64, octaves: 7, binsPerOctave: 12 }) : { kind: 'stft', sampleRate: SR, nFft: 256, hop: 64 },
      scaling: 'log',
    },
    network: { inputBins: transform === 'cqt' ? 84 : 129, hidden: [64], latent: 2, outputActivation: 'relu' },
    training: { beta: 5e-4, learningRate: 3e-3, batchSize: 64, epochs: 1, patience: 10, checkpointEvery: 1, seed: 3 },
  };
  const fa = toFeatures(analyzeMagnitudes(a, config.features), 'log');
  const fb = toFeatures(analyzeMagnitudes(b, config.features), 'log');
  const bins = config.network.inputBins;
  const frames = fa.frames + fb.frames;
  const all = new Float32Array(frames * bins);
  all.set(fa.data, 0);
  all.set(fb.data, fa.data.length);
  const vae = TimbreVae.create(config.network, 3);
  const rng = createRng(4);
  const batch = new Float32Array(64 * bins);
  for (let step = 0; step < 400; step++) {
    for (let r = 0; r < 64; r++) {
      const f = Math.floor(rng() * frames);
      batch.set(all.subarray(f * bins, (f + 1) * bins), r * bins);
    }
    vae.trainStep(batch, 64, { beta: 5e-4, learningRate: 3e-3 });
  }
  const modelDir = join(dir, 'model');
  await saveModelFolder(modelDir, { config, vae });
  vae.dispose();
  return { dir, modelDir, fileA, fileB, config };
}
