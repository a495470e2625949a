/**
 * Trains the shipped default model `models/default` on the demo dataset, and
 * chooses its magnitude scaling (linear, as the original LTS, or log1p) by
 * measurement: both are trained with the same budget, then each model
 * reconstructs the held-out validation files end to end (encode → decode μ →
 * undo scaling → PGHI + 32 FGLA iterations) and the spectral convergence of
 * the result's STFT magnitude against the input's decides. The winner is
 * trained further and copied (without checkpoints) to models/default; the
 * comparison table is printed as Markdown for BENCHMARKS.md.
 *
 * Usage: node --import tsx scripts/train-default-model.ts [--compare-epochs N] [--epochs N] [--hidden N] [--latent N] [--lr X]
 * Work folders go to .cache/default-model/ (ignored by git).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, DEMO_DATASET_DIR, DEFAULT_MODEL_DIR } from '../src/paths.ts';
import { Renderer, defaultPhaseSettings } from '../src/engine/render.ts';
import { scanDataset, splitByFile } from '../src/engine/dataset.ts';
import { readAudio } from '../src/io/audio.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import { median } from '../bench/util.ts';

const { values: o } = parseArgs({
  options: {
    'compare-epochs': { type: 'string', default: '30' },
    epochs: { type: 'string', default: '90' },
    hidden: { type: 'string', default: '1024' },
    latent: { type: 'string', default: '32' },
    lr: { type: 'string', default: '0.001' },
    validation: { type: 'string', default: '0.17' },
    seed: { type: 'string', default: '1' },
    skip: { type: 'string' },
  },
});
const work = join(PROJECT_ROOT, '.cache', 'default-model');
mkdirSync(work, { recursive: true });
const lts = join(PROJECT_ROOT, 'bin', 'lts.js');

function train(out: string, scaling: string, epochs: string, resume: boolean): void {
  const args = resume
    ? ['train', DEMO_DATASET_DIR, '--out', out, '--resume', '--epochs', epochs, '--patience', '1000']
    : ['train', DEMO_DATASET_DIR, '--out', out, '--epochs', epochs, '--transform', 'stft', '--scaling', scaling,
       '--hidden', o.hidden!, '--latent', o.latent!, '--lr', o.lr!, '--validation', o.validation!, '--seed', o.seed!,
       '--patience', '1000', '--checkpoint-every', '5', '--backend', 'wasm'];
  console.error(`$ lts ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [lts, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`lts train failed with exit code ${r.status}`);
}

/** End-to-end spectral convergence of each held-out file through the model at a = 1. */
async function evaluate(renderer: Renderer, modelDir: string, files: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const f of files) {
    const audio = await readAudio(f, { sampleRate: 44100 });
    const duration = Math.floor((audio.duration - 0.05) * 100) / 100;
    const { samples } = await renderer.synthesize({
      model: modelDir, a: { path: f, start: 0 }, b: { path: f, start: 0 }, duration, curve: '1',
      phase: defaultPhaseSettings('pghi+fgla', 32), normalizeDbfs: null, sample: false, seed: 0, fadeMs: 0, // phase as in BENCHMARKS.md's figures
    });
    out.push(signalSpectralConvergence(audio.samples.subarray(0, samples.length), samples));
  }
  return out;
}

const scan = await scanDataset(DEMO_DATASET_DIR);
const heldOut = splitByFile(scan.map((f) => f.relPath), Number(o.validation), Number(o.seed));
const valFiles = scan.filter((f) => heldOut.has(f.relPath)).map((f) => f.path);
const trainFiles = scan.filter((f) => !heldOut.has(f.relPath)).map((f) => f.path);
console.error(`held-out files: ${valFiles.map((f) => f.split('/').pop()).join(', ')}`);

const renderer = await Renderer.create({ backend: 'wasm' });
const rows: string[] = [];
const scores: Record<string, number> = {};
for (const scaling of ['linear', 'log']) {
  const dir = join(work, scaling);
  if (o.skip !== scaling) {
    rmSync(dir, { recursive: true, force: true });
    train(dir, scaling, o['compare-epochs']!, false);
  }
  const val = await evaluate(renderer, dir, valFiles);
  const tr = await evaluate(renderer, dir, trainFiles.slice(0, 3));
  const hist = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as { epochs: { epoch: number }[] };
  scores[scaling] = median(val);
  rows.push(`| ${scaling} | ${hist.epochs.length} | ${median(val).toFixed(2)} | ${val.map((v) => v.toFixed(1)).join(', ')} | ${median(tr).toFixed(2)} |`);
}
const winner = scores.log <= scores.linear ? 'log' : 'linear';
console.log('\n| scaling | epochs | held-out SC median (dB) | held-out SC per file (dB) | training-file SC median (dB) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nwinner: ${winner} (lower spectral convergence is better)`);

train(join(work, winner), winner, o.epochs!, true);
const final = join(work, winner);
const finalVal = await evaluate(renderer, final, valFiles);
console.log(`final ${winner} model after ${o.epochs} epochs: held-out SC median ${median(finalVal).toFixed(2)} dB (${finalVal.map((v) => v.toFixed(1)).join(', ')})`);
renderer.dispose();

rmSync(DEFAULT_MODEL_DIR, { recursive: true, force: true });
mkdirSync(DEFAULT_MODEL_DIR, { recursive: true });
for (const f of ['config.json', 'weights.json', 'weights.bin', 'history.json', 'loss.png']) {
  if (existsSync(join(final, f))) cpSync(join(final, f), join(DEFAULT_MODEL_DIR, f));
}
console.error(`copied the ${winner} model to ${DEFAULT_MODEL_DIR}`);
