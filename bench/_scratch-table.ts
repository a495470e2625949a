/**
 * The loop the scratch tools share: read every WAV of a folder at 44.1 kHz, take its STFT 2048/256 magnitude, run each
 * variant on it, and print the spectral convergence (dB, lower is better) per file and the median over the files.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './util.ts';
import { stftTransform, DEFAULT_STFT } from '../src/dsp/stft.ts';
import { magnitudes } from '../src/dsp/coefficients.ts';
import { readAudio } from '../src/io/audio.ts';
import { signalSpectralConvergence } from '../src/dsp/metrics.ts';
import type { Magnitudes } from '../src/dsp/types.ts';

/**
 * @param dir Folder of WAV files.
 * @param labels One per variant, printed under the table.
 * @param prepare Per file, before the variants (e.g. the PGHI start they share).
 * @param run Variant `j`'s output signal for the file.
 * @param width Width of the file-name column.
 */
export async function scratchTable<C>(
  dir: string,
  labels: string[],
  prepare: (x: Float32Array, mag: Magnitudes) => C,
  run: (ctx: C, j: number, x: Float32Array, mag: Magnitudes) => Float32Array,
  width = 24,
): Promise<void> {
  const tr = stftTransform(DEFAULT_STFT);
  const files = readdirSync(dir).filter((f) => f.endsWith('.wav')).sort();
  const rows: number[][] = labels.map(() => []);
  for (const f of files) {
    const x = (await readAudio(join(dir, f), { sampleRate: 44100 })).samples;
    const mag = magnitudes(tr.analyze(x));
    const ctx = prepare(x, mag);
    const line: string[] = [f.padEnd(width)];
    labels.forEach((_, j) => {
      const sc = signalSpectralConvergence(x, run(ctx, j, x, mag), DEFAULT_STFT);
      rows[j].push(sc);
      line.push(sc.toFixed(2).padStart(8));
    });
    console.log(line.join(''));
  }
  console.log('median'.padEnd(width) + rows.map((r) => median(r).toFixed(2).padStart(8)).join(''));
  console.log('variants: ' + labels.join('  '));
}
