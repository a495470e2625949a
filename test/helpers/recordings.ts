/**
 * The committed real recordings (`data/bench/`, `data/demo/`) as the tests that measure quality on them read them.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readAudio } from '../../src/io/audio.ts';

/** One recording: its file name and its samples, mono at 44.1 kHz. */
export interface Recording {
  name: string;
  x: Float32Array;
}

/**
 * Every WAV file of `data/<folder>/`, sorted by name, read mono at 44.1 kHz; asserts that the folder holds at
 * least six (so that a missing data set fails the test instead of measuring nothing).
 * @param folder `'bench'` (the phase benchmark's six files) or `'demo'` (the twelve demo files).
 * @param seconds Keep only the first `seconds` of each (default: all).
 */
export async function readRecordings(folder: 'bench' | 'demo', seconds?: number): Promise<Recording[]> {
  const dir = fileURLToPath(new URL(`../../data/${folder}/`, import.meta.url));
  const names = readdirSync(dir).filter((f) => f.endsWith('.wav')).sort();
  assert.ok(names.length >= 6, `data/${folder} has ${names.length} WAV files`);
  const out: Recording[] = [];
  for (const name of names) {
    const x = (await readAudio(dir + name, { sampleRate: 44100 })).samples;
    out.push({ name, x: seconds === undefined ? x : x.subarray(0, Math.round(seconds * 44100)) });
  }
  return out;
}
