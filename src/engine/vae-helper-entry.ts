/**
 * Inference helper thread of {@link VaeHelpers} (`vae-helpers.ts`): initialises its own TensorFlow.js
 * backend (the preference in `workerData.backend`), loads model folders on request and encodes or
 * decodes the rows it is sent, and runs its part of a phase reconstruction shared between threads (`phase-split.ts`).
 * Requests are answered in order; results are transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, parseBackendPreference } from './backend.ts';
import { loadModelFolder, weightsChecksum } from './model-folder.ts';
import type { TimbreVae } from './vae.ts';
import type { HelperReply, HelperRequest } from './vae-helpers.ts';

const port = parentPort!;
const backend = initBackend(parseBackendPreference(String(workerData.backend ?? 'auto')));
backend.catch(() => undefined);
let model: { dir: string; vae: TimbreVae } | null = null;

function post(m: HelperReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

port.on('message', async (req: HelperRequest) => {
  try {
    if (req.type === 'load') {
      const info = await backend;
      // The checksum is read before the weights: if the folder is rewritten meanwhile, the caller
      // sees an older checksum than its own and does not use this helper.
      const weightsSha256 = weightsChecksum(req.dir);
      const loaded = await loadModelFolder(req.dir);
      loaded.vae.warmInference();
      // Phase reconstruction on several threads (`phase-split.ts`) uses loaded helpers: have its code ready by then.
      await import('./phase-split.ts');
      model?.vae.dispose();
      model = { dir: req.dir, vae: loaded.vae };
      post({ type: 'loaded', id: req.id, backend: info.name, weightsSha256 });
      return;
    }
    if (req.type === 'phase-part') {
      const { runPhasePart } = await import('./phase-split.ts');
      const out = runPhasePart(req);
      post({ type: 'phase-done', id: req.id, out }, [out.buffer as ArrayBuffer]);
      return;
    }
    if (!model) throw new Error('no model loaded in this helper');
    if (req.type === 'encode') {
      if (req.meanOnly) {
        const mu = model.vae.encodeMean(req.data, req.n);
        post({ type: 'encoded', id: req.id, mu, logvar: null }, [mu.buffer as ArrayBuffer]);
      } else {
        const { mu, logvar } = model.vae.encode(req.data, req.n);
        post({ type: 'encoded', id: req.id, mu, logvar }, [mu.buffer as ArrayBuffer, logvar.buffer as ArrayBuffer]);
      }
    } else {
      const out = model.vae.decode(req.data, req.n);
      post({ type: 'decoded', id: req.id, out }, [out.buffer as ArrayBuffer]);
    }
  } catch (e) {
    post({ type: 'error', id: req.id, message: String((e as Error)?.message ?? e).split('\n')[0] });
  }
});
