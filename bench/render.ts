/**
 * `npm run bench -- render [--model DIR] [--a FILE] [--b FILE] [--duration S] [--iters N] [--threads 2] [--json FILE]`
 *
 * Renders a 4 s pair from the demo dataset with the default model (FGLA,
 * 32 iterations, PGHI + FGLA and PGHI + AGLA, the default) and prints the real-time factor
 * (compute seconds / audio seconds) per stage and in total, side by side with
 * the same pipeline in PyTorch + torchaudio (bench/peers/torch_render.py) run
 * in the same process tree. "Warm" renders reuse the cached model, analysis
 * and encodings (what the TUI does when only the curve changes); "cold" is a
 * first render in a fresh renderer, which is what the peer does every time. One thread: tfjs-wasm is single-threaded, torch is
 * set to one thread. Then the same with `--threads` (default 2) threads sharing the encode and decode
 * (`VaeHelpers`, as the instrument's render worker runs) and two of them the phase iterations
 * (`engine/phase-split.ts`; column "phase threads"): there "cold" is the first render of a renderer
 * whose helper threads have loaded the model (the instrument's situation when a new pair of excerpts is
 * rendered), since starting a thread is not part of a render there. Target (issue 4): total <= 0.15.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs, printTable, writeJson, machineInfo } from './util.ts';
import { Renderer, defaultPhaseSettings } from '../src/engine/render.ts';
import { RENDER_STAGES, type RenderParams, type RenderStage } from '../src/engine/render-types.ts';
import { DEFAULT_MODEL_DIR, DEMO_DATASET_DIR, PROJECT_ROOT } from '../src/paths.ts';
import type { PhaseMethod } from '../src/dsp/phase.ts';

export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const model = String(flags.model ?? DEFAULT_MODEL_DIR);
  const a = String(flags.a ?? join(DEMO_DATASET_DIR, 'violin-sustain.wav'));
  const b = String(flags.b ?? join(DEMO_DATASET_DIR, 'voice-en-1.wav'));
  const duration = Number(flags.duration ?? 4);
  const iters = Number(flags.iters ?? 32);
  const repeats = Number(flags.repeats ?? 3);
  const renderer = await Renderer.create({ backend: String(flags.backend ?? 'wasm') });
  const out = mkdtempSync(join(tmpdir(), 'lts-bench-render-'));
  const rows: Record<string, unknown>[] = [];
  const results: Record<string, unknown> = { machine: machineInfo(), backend: renderer.backend.description, model, a, b, duration, iters };
  try {
    const threadCounts = [1, Number(flags.threads ?? 2)].filter((t, i, all) => all.indexOf(t) === i);
    for (const threads of threadCounts) {
      const warm = threads === 1 ? renderer : await Renderer.create({ backend: String(flags.backend ?? 'wasm'), threads });
      if (threads > 1) await warm.helpersLoaded(model);
      for (const method of ['fgla', 'pghi+fgla', 'pghi+agla'] as PhaseMethod[]) {
        const params: RenderParams = {
          model, a: { path: a, start: 0.25 }, b: { path: b, start: 0.25 }, duration, curve: '0:1,1:0',
          phase: defaultPhaseSettings(method, iters), normalizeDbfs: null, sample: false, seed: 0, fadeMs: 10,
        };
        // A fresh renderer's first render fills the model, analysis and encoding caches: a cold render (what `lts render` does).
        const fresh = await Renderer.create({ backend: String(flags.backend ?? 'wasm'), threads });
        if (threads > 1) await fresh.helpersLoaded(model);
        const cold = await fresh.render(params, { dir: out });
        fresh.dispose();
        await warm.render(params, { dir: out });
        const best = Object.fromEntries(RENDER_STAGES.map((s) => [s, Infinity])) as Record<RenderStage, number>;
        for (let i = 0; i < repeats; i++) {
          const r = await warm.render(params, { dir: out });
          for (const s of RENDER_STAGES) best[s] = Math.min(best[s], r.timings[s]);
        }
        const row: Record<string, unknown> = { engine: `lts ${method}${threads > 1 ? `, ${threads} threads` : ''}`, iters, 'phase threads': warm.lastPhaseThreads };
        for (const s of RENDER_STAGES) row[`${s} RTF`] = best[s] / duration;
        row['total RTF (warm)'] = RENDER_STAGES.reduce((t, s) => t + best[s], 0) / duration;
        row['total RTF (cold)'] = RENDER_STAGES.reduce((t, s) => t + cold.timings[s], 0) / duration;
        // Issue 3's inference target: encoding both 4 s excerpts and decoding one (cold: nothing cached).
        row['2 enc + 1 dec RTF (cold)'] = (cold.timings.encode + cold.timings.decode) / duration;
        rows.push(row);
      }
      if (warm !== renderer) warm.dispose();
    }
    const peer = spawnSync('/usr/bin/python3', [join(PROJECT_ROOT, 'bench/peers/torch_render.py'), model, a, '0.25', b, '0.25', String(duration), String(iters), String(repeats)], { encoding: 'utf8' });
    if (peer.status === 0) {
      const p = JSON.parse(peer.stdout) as { timings: Record<string, number>; torch: string; torchaudio: string };
      const row: Record<string, unknown> = { engine: `torch ${p.torch} + torchaudio ${p.torchaudio} GLA`, iters };
      for (const s of RENDER_STAGES) row[`${s} RTF`] = (p.timings[s] ?? 0) / duration;
      const total = Object.values(p.timings).reduce((t, x) => t + x, 0);
      row['total RTF (cold)'] = total / duration;
      row['2 enc + 1 dec RTF (cold)'] = ((p.timings.encode ?? 0) + (p.timings.decode ?? 0)) / duration;
      rows.push(row);
      // torch has no cache: every run analyses and encodes, so compare it with our cold render.
      // (Only the one-thread rows: the threaded rows' cold render starts with the model already loaded.)
      for (const r of rows.slice(0, -1)) {
        if (!String(r.engine).includes('threads')) r['torch / lts (cold total)'] = total / duration / (r['total RTF (cold)'] as number);
      }
      results.peer = p;
    } else {
      console.log(
        existsSync('/usr/bin/python3')
          ? `(peer failed: ${peer.stderr.trim().split('\n').pop()}; it needs Debian's python3-torch and python3-torchaudio: bash scripts/system-deps.sh bench)`
          : '(peer skipped: no /usr/bin/python3; bash scripts/system-deps.sh bench installs it)',
      );
    }
    printTable(rows, `Render of a ${duration} s pair, ${iters} iterations, one thread unless stated (${renderer.backend.description}); real-time factor = compute s / audio s`);
    results.rows = rows;
    if (typeof flags.json === 'string') writeJson(flags.json, results);
  } finally {
    renderer.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}
