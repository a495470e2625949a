/**
 * VAE training and inference throughput, against PyTorch on the CPU measured in the same run.
 *
 * `npm run bench -- train [--json FILE] [--steps 40] [--cpu-steps 3] [--backends wasm,cpu] [--no-torch]`
 *
 * Networks (hidden [2048], latent 64, relu output, batch 64 as the original LTS):
 * - `cqt384`: the original 384-bin CQT network (Tatar et al. 2020), 344.5 frames/s of audio (hop 128 at 44.1 kHz);
 * - `stft1025`: a 1025-bin STFT network (nFft 2048, hop 256 at 44.1 kHz, 172.3 frames/s).
 * For each tfjs backend that loads: training frames/s (Adam steps at batch 64 on random non-negative
 * frames; best of three equal segments of `--steps`, as the peer), inference frames/s (encode then decode 4096 frames; 512 on cpu), and the real-time factor of
 * the render scenario "encode two 4 s excerpts and decode one" (time / 4 s): with μ and log σ² on one
 * thread; with μ only (what a render without sampling, the default, computes) on one thread and, on
 * wasm, with the rows shared by two threads (`VaeHelpers`, as the instrument's render worker does);
 * rounds alternate the three forms, best of seven each; and of decoding alone
 * (the per-render cost when the excerpt encodings are cached, as the render engine does). The PyTorch peer
 * (`bench/peers/torch_vae.py`, Debian python3-torch, one thread) trains the same network at the same
 * batch size; ratios are tfjs / PyTorch throughput from this run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, printTable, writeJson, machineInfo, bestTime } from './util.ts';
import { initBackend, tf } from '../src/engine/backend.ts';
import { TimbreVae, seededRandom } from '../src/engine/vae.ts';
import { VaeHelpers, type HelperModel } from '../src/engine/vae-helpers.ts';
import { saveModelFolder, weightsChecksum, MODEL_FORMAT_VERSION } from '../src/engine/model-folder.ts';
import { DEFAULT_CQT } from '../src/dsp/cqt.ts';
import { DEFAULT_STFT } from '../src/dsp/stft.ts';
import type { FeatureConfig, ModelConfig } from '../src/engine/types.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));

interface Net {
  name: string;
  bins: number;
  /** The features the network's frames are (for the model folder the helper threads load). */
  transform: FeatureConfig['transform'];
  /** Feature frames per second of audio. */
  frameRate: number;
}

const NETS: Net[] = [
  { name: 'cqt384', bins: 384, frameRate: 44100 / 128, transform: DEFAULT_CQT },
  { name: 'stft1025', bins: 1025, frameRate: 44100 / 256, transform: DEFAULT_STFT },
];

const BATCH = 64;
const LATENT = 64;
const HIDDEN = 2048;

function randomFrames(n: number, bins: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  const x = new Float32Array(n * bins);
  for (let i = 0; i < x.length; i++) x[i] = r();
  return x;
}

interface TfjsRow {
  net: string;
  backend: string;
  trainFramesPerS: number;
  inferFramesPerS: number;
  /** wasm only: training with the op-by-op Adam update instead of the fused kernel, same run. */
  trainOpsFramesPerS?: number;
  renderRtf: number;
  /** The render scenario as a render without sampling runs it: only μ encoded (one call for A and B). */
  renderMeanRtf: number;
  /** wasm only: that with the rows shared by two threads ({@link VaeHelpers}), same run. */
  renderMeanRtf2?: number;
  decodeRtf: number;
}

async function measureTfjs(net: Net, backend: 'wasm' | 'cpu', steps: number, inferFrames: number): Promise<TfjsRow | null> {
  const info = await initBackend(backend);
  if (info.name !== backend) return null;
  const vae = TimbreVae.create({ inputBins: net.bins, hidden: [HIDDEN], latent: LATENT, outputActivation: 'relu' }, 1);
  try {
    const data = randomFrames(BATCH * 8, net.bins, 2);
    const batchAt = (i: number) => data.subarray((i % 8) * BATCH * net.bins, ((i % 8) + 1) * BATCH * net.bins);
    for (let i = 0; i < 2; i++) vae.trainStep(batchAt(i), BATCH, { beta: 5e-4, learningRate: 1e-4 });
    // Best of three equal segments (the least disturbed by other load on a shared machine), as the PyTorch peer.
    // On wasm, segments with the op-by-op Adam update (the peer of the fused kernel) alternate with them.
    const seg = Math.max(1, Math.floor(steps / 3));
    let trainS = Infinity;
    let trainOpsS = Infinity;
    for (let r = 0; r < 3; r++) {
      for (const fused of backend === 'wasm' ? [true, false] : [true]) {
        vae.fusedAdam = fused;
        const t0 = performance.now();
        for (let i = 0; i < seg; i++) vae.trainStep(batchAt(r * seg + i), BATCH, { beta: 5e-4 });
        const s = (performance.now() - t0) / 1000;
        if (fused) trainS = Math.min(trainS, s);
        else trainOpsS = Math.min(trainOpsS, s);
      }
    }
    vae.fusedAdam = true;

    const frames = randomFrames(inferFrames, net.bins, 3);
    vae.decode(vae.encode(frames.subarray(0, 256 * net.bins), 256).mu, 256);
    const inferS = await bestTime(() => {
      const { mu } = vae.encode(frames, inferFrames);
      vae.decode(mu, inferFrames);
    }, backend === 'cpu' ? 1 : 3);

    // Render scenario: two 4 s excerpts encoded, one 4 s latent sequence decoded.
    const n = Math.round(4 * net.frameRate);
    const excerptA = randomFrames(n, net.bins, 4);
    const excerptB = randomFrames(n, net.bins, 5);
    let renderS = Infinity;
    let renderMeanS = Infinity;
    let renderMeanS2 = Infinity;
    const both = new Float32Array(2 * n * net.bins);
    both.set(excerptA, 0);
    both.set(excerptB, n * net.bins);
    // Two threads (wasm): the model saved to a folder that a helper thread loads, as the render engine does.
    const helpers = backend === 'wasm' ? await startHelpers(net, vae) : null;
    const since = (t0: number) => (performance.now() - t0) / 1000;
    try {
      if (helpers) {
        // Warm-up at full size in both threads (first calls grow the wasm heaps and pack the weights).
        const ab = await helpers.pool.encode(helpers.model, info.name, both, 2 * n, { meanOnly: true });
        await helpers.pool.decode(helpers.model, info.name, ab.mu.subarray(0, n * LATENT), n);
      }
      // Rounds alternate the forms; best of each (the least disturbed by other load).
      for (let r = 0; r < (backend === 'cpu' ? 1 : 7); r++) {
        let t0 = performance.now();
        const a = vae.encode(excerptA, n);
        vae.encode(excerptB, n);
        vae.decode(a.mu, n);
        renderS = Math.min(renderS, since(t0));
        t0 = performance.now();
        vae.decode(vae.encodeMean(both, 2 * n).subarray(0, n * LATENT), n);
        renderMeanS = Math.min(renderMeanS, since(t0));
        if (!helpers) continue;
        t0 = performance.now();
        const ab = await helpers.pool.encode(helpers.model, info.name, both, 2 * n, { meanOnly: true });
        await helpers.pool.decode(helpers.model, info.name, ab.mu.subarray(0, n * LATENT), n);
        renderMeanS2 = Math.min(renderMeanS2, since(t0));
        if (helpers.pool.lastThreads !== 2) throw new Error('bench train: the helper thread did not take its share');
      }
    } finally {
      await helpers?.close();
    }
    const latentA = vae.encode(excerptA, n).mu;
    // With the excerpt encodings cached (as the render engine does), a render decodes only.
    const decodeS = await bestTime(() => {
      vae.decode(latentA, n);
    }, backend === 'cpu' ? 1 : 3);
    return {
      net: net.name, backend: info.description, trainFramesPerS: (seg * BATCH) / trainS, inferFramesPerS: inferFrames / inferS,
      trainOpsFramesPerS: Number.isFinite(trainOpsS) ? (seg * BATCH) / trainOpsS : undefined,
      renderRtf: renderS / 4,
      renderMeanRtf: renderMeanS / 4,
      renderMeanRtf2: Number.isFinite(renderMeanS2) ? renderMeanS2 / 4 : undefined,
      decodeRtf: decodeS / 4,
    };
  } finally {
    vae.dispose();
    tf.disposeVariables();
  }
}

/** Save `vae` as a model folder and start a helper thread that loads it (two threads per call). */
async function startHelpers(net: Net, vae: TimbreVae): Promise<{ pool: VaeHelpers; model: HelperModel; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'lts-bench-helpers-'));
  const config: ModelConfig = {
    formatVersion: MODEL_FORMAT_VERSION,
    features: { transform: net.transform, scaling: 'linear' },
    network: vae.config,
    training: { beta: 5e-4, learningRate: 1e-4, batchSize: BATCH, epochs: 1, patience: 10, checkpointEvery: 1, seed: 1 },
  };
  await saveModelFolder(dir, { config, vae });
  const pool = VaeHelpers.start({ threads: 2, backend: 'wasm' });
  const model: HelperModel = { dir, weightsSha256: weightsChecksum(dir), vae };
  await pool.load(dir, model.weightsSha256);
  if (pool.readyFor(model, 'wasm') !== 1) throw new Error('bench train: the helper thread did not load the model');
  return {
    pool,
    model,
    close: async () => {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface TorchResult {
  torch: string;
  threads: number;
  train_frames_per_s: number;
  infer_frames_per_s: number;
}

function measureTorch(net: Net, steps: number): TorchResult | { error: string } {
  const r = spawnSync('/usr/bin/python3', [join(here, 'peers', 'torch_vae.py'), '--bins', String(net.bins), '--hidden', String(HIDDEN),
    '--latent', String(LATENT), '--batch', String(BATCH), '--steps', String(steps), '--infer-frames', '4096', '--threads', '1'],
  { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').at(-1) ?? 'failed' };
  try {
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TorchResult;
  } catch {
    return { error: `unexpected output: ${r.stdout.slice(0, 200)}` };
  }
}

/** Entry point: see the module documentation for options. */
export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const steps = Number(flags.steps ?? 40);
  const cpuSteps = Number(flags['cpu-steps'] ?? 3);
  const backends = String(flags.backends ?? 'wasm,cpu').split(',').filter(Boolean) as ('wasm' | 'cpu')[];
  const withTorch = !flags['no-torch'];
  if (!(steps > 0) || !(cpuSteps > 0)) throw new Error('bench train: --steps and --cpu-steps must be positive numbers');
  for (const b of backends) if (b !== 'wasm' && b !== 'cpu') throw new Error(`bench train: unknown backend "${b}"; use wasm and/or cpu`);

  const rows: Record<string, unknown>[] = [];
  const results: unknown[] = [];
  for (const net of NETS) {
    const torch = withTorch ? measureTorch(net, steps) : null;
    const torchOk = torch && !('error' in torch) ? torch : null;
    if (torch && "error" in torch) process.stderr.write(`bench train: PyTorch peer failed for ${net.name}: ${torch.error}\n`);
    for (const b of backends) {
      const row = await measureTfjs(net, b, b === 'cpu' ? cpuSteps : steps, b === 'cpu' ? 512 : 4096);
      if (!row) continue;
      const out = {
        net: row.net,
        backend: row.backend,
        'train frames/s': row.trainFramesPerS,
        'train vs torch': torchOk ? row.trainFramesPerS / torchOk.train_frames_per_s : undefined,
        'train frames/s, op-by-op Adam': row.trainOpsFramesPerS,
        'enc+dec frames/s': row.inferFramesPerS,
        'enc+dec vs torch': torchOk ? row.inferFramesPerS / torchOk.infer_frames_per_s : undefined,
        'RTF 2 enc + 1 dec (4 s)': row.renderRtf,
        'same, μ only': row.renderMeanRtf,
        'μ only, 2 threads': row.renderMeanRtf2,
        'RTF decode only (4 s)': row.decodeRtf,
      };
      rows.push(out);
      results.push({ ...row, torch: torchOk });
    }
    if (torchOk) {
      rows.push({
        net: net.name, backend: `PyTorch ${torchOk.torch} CPU, ${torchOk.threads} thread`, 'train frames/s': torchOk.train_frames_per_s,
        'train vs torch': 1, 'enc+dec frames/s': torchOk.infer_frames_per_s, 'enc+dec vs torch': 1,
      });
    }
  }
  printTable(rows, `VAE training (batch ${BATCH}, hidden [${HIDDEN}], latent ${LATENT}) and inference`);
  if (typeof flags.json === 'string') writeJson(flags.json, { machine: machineInfo(), steps, cpuSteps, results });
}
