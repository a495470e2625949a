/**
 * Scratch measurement (not a listed benchmark): constant-Q Fast Griffin-Lim
 * speed and quality on the phase-benchmark audio, with the fused STFT FGLA
 * measured in the same run as the peer. `npm run bench -- _cqt-scratch` is not
 * listed; run `node --import tsx bench/_cqt-scratch.ts [--iters 32] [--octaves 8,9] [--repeats 3]`.
 * Times are the best of `repeats` runs (CQT and STFT runs interleaved).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readAudio } from '../src/io/audio.ts';
import { cqtConfig, cqtMagnitudes, cqtTransform, cqt, icqt } from '../src/dsp/cqt.ts';
import { fgla } from '../src/dsp/fgla.ts';
import { stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import { parseArgs, printTable, median, machineInfo, bestTime } from './util.ts';

export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const iters = Number(flags.iters ?? 32);
  const octaveList = String(flags.octaves ?? '8,9').split(',').map(Number);
  const dir = String(flags.dir ?? 'data/bench');
  const repeats = Number(flags.repeats ?? 3);
  const files = readdirSync(dir).filter((f) => f.endsWith('.wav')).sort();
  const rows: Record<string, unknown>[] = [];
  for (const f of files) {
    const { samples: x } = await readAudio(join(dir, f), { sampleRate: 44100 });
    const dur = x.length / 44100;
    for (const octaves of octaveList) {
      const cfg = cqtConfig({ octaves });
      const tr = cqtTransform(cfg);
      const c = cqt(x, cfg);
      const tA = (await bestTime(() => cqt(x, cfg), repeats)) * 1000;
      const tS = (await bestTime(() => icqt(c, cfg, x.length), repeats)) * 1000;
      const mag = cqtMagnitudes(x, cfg);
      const y = fgla(mag, tr, x.length, { iterations: iters, seed: 1 });
      const sc = signalSpectralConvergence(x, y);
      const str = stftTransform(DEFAULT_STFT);
      const smag = magnitudes(str.analyze(x));
      const ys = fgla(smag, str, x.length, { iterations: iters, seed: 1 });
      const scS = signalSpectralConvergence(x, ys);
      // Best of `repeats` runs of each, interleaved, so that both see similar machine load.
      let tC = Infinity;
      let tP = Infinity;
      for (let r = 0; r < repeats; r++) {
        tC = Math.min(tC, await bestTime(() => fgla(mag, tr, x.length, { iterations: iters, seed: 1 }), 1));
        tP = Math.min(tP, await bestTime(() => fgla(smag, str, x.length, { iterations: iters, seed: 1 }), 1));
      }
      rows.push({
        file: f,
        octaves,
        'analyze ms': tA,
        'synth ms': tS,
        'cqt fgla RTF': tC / dur,
        'cqt SC dB': sc,
        'stft fgla RTF (peer)': tP / dur,
        'stft SC dB': scS,
        'RTF ratio cqt/stft': tC / tP,
      });
    }
  }
  printTable(rows, `CQT FGLA, ${iters} iterations, one thread (${machineInfo().cpu})`);
  for (const octaves of octaveList) {
    const r = rows.filter((q) => q.octaves === octaves);
    console.log(
      `octaves ${octaves}: median RTF ${median(r.map((q) => q['cqt fgla RTF'] as number)).toFixed(3)}, median SC ${median(r.map((q) => q['cqt SC dB'] as number)).toFixed(2)} dB, median ratio to STFT FGLA ${median(r.map((q) => q['RTF ratio cqt/stft'] as number)).toFixed(2)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
