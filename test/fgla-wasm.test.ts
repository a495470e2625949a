import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { STFT_KERNELS_WASM, stftKernels } from '../src/dsp/wasm/stft-kernels.ts';

test('the committed .wasm binaries match a fresh build of their AssemblyScript sources', () => {
  // Run as a separate process: the AssemblyScript compiler's typings would otherwise leak its
  // standard library (e.g. its own `console`) into this project's type checking.
  const script = fileURLToPath(new URL('../scripts/build-wasm.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `rebuild with npm run build:wasm: ${r.stdout}${r.stderr}`);
});

test('the kernels module exports the expected functions and imports only PFFFT memory and functions', () => {
  const bytes = readFileSync(STFT_KERNELS_WASM);
  const mod = new (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly.Module(bytes);
  const W = (globalThis as unknown as { WebAssembly: { Module: { exports(m: object): { name: string; kind: string }[]; imports(m: object): { module: string; name: string; kind: string }[] } } }).WebAssembly.Module;
  assert.deepEqual(W.exports(mod).map((e) => `${e.name}:${e.kind}`).sort(), ['aglaPass:function', 'fglaPass:function', 'fglaStart:function', 'randomPhasors:function']);
  assert.deepEqual(W.imports(mod).map((e) => `${e.module}.${e.name}:${e.kind}`).sort(), [
    'env.memory:memory',
    'stft-kernels.as.pffftTransform:function',
    'stft-kernels.as.pffftZreorder:function',
  ]);
  assert.equal(typeof stftKernels.fglaPass, 'function');
});

test('WebAssembly random phasors follow the rng.ts stream across chunk boundaries', async () => {
  const { randomUnitPhasors } = await import('../src/dsp/wasm/stft-kernels.ts');
  const { createRng } = await import('../src/dsp/rng.ts');
  const n = 150001; // spans three internal chunks
  const { re, im } = randomUnitPhasors(createRng(3).state(), n);
  const r = createRng(3);
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    const p = 2 * Math.PI * r();
    maxErr = Math.max(maxErr, Math.abs(re[i] - Math.cos(p)), Math.abs(im[i] - Math.sin(p)));
  }
  assert.ok(maxErr < 1e-6, `max error ${maxErr}`);
});
