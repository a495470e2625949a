/**
 * The instrument's first screen loads only what it draws: the modules `runTui` imports before the first frame
 * (run.tsx, then App.tsx and services.ts) must not pull in the FFT, the WebAssembly kernels, the phase algorithms or
 * TensorFlow.js, which are loaded with the render worker after the first screen. A real node process with tsx
 * imports them, and a module-loader hook lists every module it loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A loader hook that writes "LOAD <url>" to stderr for every module loaded. */
const HOOK = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  'export async function load(url, ctx, next) { process.stderr.write("LOAD " + url + "\\\\n"); return next(url, ctx); }'));`;

function loadedBy(code: string): string[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(HOOK)}`, '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `import failed: ${r.stderr.split('\n').filter((l) => !l.startsWith('LOAD ')).join('\n')}`);
  return r.stderr.split('\n').filter((l) => l.startsWith('LOAD ')).map((l) => l.slice(5));
}

test('the first screen imports no FFT, WebAssembly kernel, phase algorithm or TensorFlow.js', () => {
  const loaded = loadedBy("await import('./src/tui/run.tsx'); await import('./src/tui/App.tsx'); await import('./src/tui/services.ts');");
  const ours = loaded.filter((u) => u.includes('/src/'));
  // The hook sees the project's modules: otherwise the check below could not fail.
  assert.ok(ours.some((u) => u.endsWith('/src/tui/App.tsx')), `the hook saw no project modules: ${loaded.slice(0, 5).join(', ')}`);
  assert.ok(ours.some((u) => u.endsWith('/src/dsp/phase-settings.ts')), 'render settings come from phase-settings.ts');
  const heavy = loaded.filter((u) =>
    /\/src\/dsp\/(fft|fgla|pghi|phase|stft|cqt|rtpghi)\.ts$|\/src\/dsp\/wasm\/|@tensorflow|\/src\/engine\/(render|vae|model-folder)\.ts$/.test(u),
  );
  assert.deepEqual(heavy, [], `loaded before the first screen: ${heavy.join(', ')}`);
});

test('the same hook sees the heavy modules when the phase algorithms are imported (the check can fail)', () => {
  const loaded = loadedBy("await import('./src/dsp/phase.ts');");
  assert.ok(loaded.some((u) => u.endsWith('/src/dsp/fft.ts')), 'fft.ts loaded by phase.ts');
  assert.ok(loaded.some((u) => u.includes('/src/dsp/wasm/')), 'a WebAssembly kernel module loaded by phase.ts');
});
