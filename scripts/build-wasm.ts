/**
 * Build the project's own WebAssembly kernels from AssemblyScript sources.
 *
 *   npm run build:wasm            # writes src/dsp/wasm/*.wasm
 *   node --import tsx scripts/build-wasm.ts --check   # exit 1 if a committed .wasm differs from a fresh build
 *
 * Kernels: src/dsp/wasm/stft-kernels.as.ts -> src/dsp/wasm/stft-kernels.wasm
 * (fused Fast Griffin-Lim pass on PFFFT's memory; see src/dsp/fgla.ts),
 * src/dsp/wasm/pghi-kernels.as.ts -> src/dsp/wasm/pghi-kernels.wasm (Phase Gradient
 * Heap Integration and its inverse STFT on PFFFT's memory; see src/dsp/pghi.ts), and
 * src/engine/wasm/adam.as.ts -> src/engine/wasm/adam.wasm (fused Adam update on
 * the memory of TensorFlow.js's wasm backend; see src/engine/adam-kernel.ts).
 * The build is deterministic (same compiler version -> same bytes), so the
 * committed binary can be checked against a fresh build.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One kernel module: AssemblyScript source and output binary, relative to the repository root. */
export interface WasmTarget {
  source: string;
  output: string;
}

/** Every WebAssembly module this project builds. */
export const TARGETS: WasmTarget[] = [
  { source: 'src/dsp/wasm/stft-kernels.as.ts', output: 'src/dsp/wasm/stft-kernels.wasm' },
  { source: 'src/dsp/wasm/pghi-kernels.as.ts', output: 'src/dsp/wasm/pghi-kernels.wasm' },
  { source: 'src/engine/wasm/adam.as.ts', output: 'src/engine/wasm/adam.wasm' },
];

/** Compiler flags: SIMD, the host's memory imported (PFFFT's, tfjs's), no runtime, no data segments. */
const FLAGS = ['--enable', 'simd', '--runtime', 'stub', '--importMemory', '--noExportMemory', '-O3', '--noAssert', '--use', 'abort='];

/**
 * Compile one AssemblyScript source to WebAssembly bytes (in memory).
 *
 * @param source Path of the `.as.ts` file relative to the repository root.
 */
export async function compile(source: string): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const errors: string[] = [];
  const { error } = await asc.main([source, '--outFile', 'out.wasm', ...FLAGS], {
    readFile: (name: string, baseDir: string) => {
      try {
        return readFileSync(join(root, baseDir, name), 'utf8');
      } catch {
        return null;
      }
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents;
    },
    listFiles: () => [],
    stdout: { write: () => true } as unknown as NodeJS.WritableStream,
    stderr: { write: (s: string) => (errors.push(String(s)), true) } as unknown as NodeJS.WritableStream,
  } as unknown as Parameters<typeof asc.main>[1]);
  if (error || !binary) throw new Error(`build-wasm: compiling ${source} failed: ${error?.message ?? 'no output'}\n${errors.join('')}`);
  return binary;
}

/**
 * Build every target. With `check`, compare instead of writing.
 *
 * @returns The outputs that differ from a fresh build (empty when all match or after writing).
 */
export async function buildAll(check: boolean): Promise<string[]> {
  const stale: string[] = [];
  for (const t of TARGETS) {
    const bytes = await compile(t.source);
    const out = join(root, t.output);
    if (check) {
      let current: Buffer | undefined;
      try {
        current = readFileSync(out);
      } catch {
        current = undefined;
      }
      if (!current || !current.equals(Buffer.from(bytes))) stale.push(t.output);
    } else {
      const tmp = `${out}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, out);
      console.log(`build-wasm: wrote ${relative(root, out)} (${bytes.length} bytes)`);
    }
  }
  return stale;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const stale = await buildAll(check);
  if (check) {
    if (stale.length) {
      process.stderr.write(`build-wasm: out of date: ${stale.join(', ')}; run npm run build:wasm\n`);
      process.exit(1);
    }
    console.log('build-wasm: all WebAssembly binaries match their sources');
  }
}
