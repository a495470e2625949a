/**
 * Test corpus generation for the dataset/feature tests: small synthetic audio
 * files in several formats, written into a temporary folder.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeWav } from '../src/io/wav.ts';

/** A fresh temporary folder. */
export function tmpDir(prefix = 'lts-dataset-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A harmonic tone: `amp * sum_h sin(2 pi h f t) / h` for `harmonics` partials, with a
 * slow amplitude envelope so frames differ, plus a little seeded noise.
 */
export function tone(seconds: number, sampleRate: number, f: number, opts: { amp?: number; harmonics?: number; seed?: number } = {}): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const amp = opts.amp ?? 0.3;
  const harmonics = opts.harmonics ?? 4;
  let s = (opts.seed ?? 1) >>> 0;
  const noise = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    let v = 0;
    for (let h = 1; h <= harmonics; h++) if (h * f < sampleRate / 2) v += Math.sin(2 * Math.PI * h * f * t) / h;
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 1.5 * t);
    x[i] = amp * env * v * (1 / harmonics) * 2 + 0.002 * noise();
  }
  return x;
}

/** A pure sine of amplitude `amp`. */
export function sine(seconds: number, sampleRate: number, f: number, amp: number): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * f * i) / sampleRate);
  return x;
}

/** Write a WAV (creating parent folders). */
export function wav(path: string, samples: Float32Array | Float32Array[], sampleRate: number, encoding: 'pcm16' | 'float32' = 'pcm16'): string {
  mkdirSync(dirname(path), { recursive: true });
  writeWav(path, samples, sampleRate, { encoding });
  return path;
}

/** Convert a WAV to another format with sox (Debian package `sox`), e.g. `.flac` or `.ogg`. */
export function soxConvert(fromWav: string, to: string): string {
  mkdirSync(dirname(to), { recursive: true });
  execFileSync('sox', [fromWav, to], { stdio: 'pipe' });
  return to;
}

/** Write arbitrary bytes (creating parent folders). */
export function bytes(path: string, data: Uint8Array | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}
