/**
 * Encoder thread of live mode: encodes excerpts ({@link ExcerptEncoder}) for the live worker
 * (`live-worker-entry.ts`) while that worker keeps streaming. Encoding a 2 s excerpt takes tens of
 * milliseconds (file, analysis, VAE encoder), longer than the ~23 ms of audio queued ahead of the
 * device, so it must not run on the synthesis thread; with its own TensorFlow.js and model copy
 * here it runs on the other core and the stream never waits.
 *
 * Protocol: `{ id, model, backend, path, start, duration, label }` in, `{ id, ok: true, frames,
 * latent, mu, samples }` (mu transferred) or `{ id, ok: false, message }` out. `{ id, model,
 * backend, warm: true }` only loads the backend and the model (the live worker sends it when a
 * stream starts, so that the first change of excerpts does not wait about 2 s for them) and
 * answers `{ id, ok: true, frames: 0, … }`.
 */
import { parentPort } from 'node:worker_threads';
import { initBackend, parseBackendPreference } from '../engine/backend.ts';
import { loadModelFolder } from '../engine/model-folder.ts';
import { ExcerptEncoder, type LiveModel } from '../engine/live.ts';

/** A request to the encoder thread: encode an excerpt, or (`warm`) only load the backend and the model. */
export type EncodeRequest =
  | { id: number; model: string; backend: string; path: string; start: number; duration: number; label: string; warm?: false }
  | { id: number; model: string; backend: string; warm: true };

/** The encoder thread's answer. */
export type EncodeReply =
  | { id: number; ok: true; frames: number; latent: number; mu: Float32Array; samples: number }
  | { id: number; ok: false; message: string };

const port = parentPort!;
let backend: Promise<unknown> | null = null;
let loaded: { dir: string; model: Promise<{ model: LiveModel; encoder: ExcerptEncoder }> } | null = null;

/** The model of `dir` with its excerpt encoder (which keeps the frames encoded so far per file). */
function modelFor(dir: string): Promise<{ model: LiveModel; encoder: ExcerptEncoder }> {
  if (loaded?.dir !== dir) {
    const previous = loaded?.model;
    loaded = {
      dir,
      model: loadModelFolder(dir).then((m) => {
        m.vae.warmInference(); // the first excerpt change does not wait for the weights to be packed
        const model: LiveModel = { config: m.config, vae: m.vae };
        return { model, encoder: new ExcerptEncoder(model) };
      }),
    };
    void previous?.then((m) => m.model.vae.dispose(), () => undefined);
  }
  return loaded.model;
}

port.on('message', async (req: EncodeRequest) => {
  try {
    backend ??= initBackend(parseBackendPreference(req.backend));
    await backend;
    const { encoder } = await modelFor(req.model);
    if (req.warm) {
      port.postMessage({ id: req.id, ok: true, frames: 0, latent: 0, mu: new Float32Array(0), samples: 0 } satisfies EncodeReply);
      return;
    }
    // Only the frames not encoded before: a knob sweeping a start encodes a few frames per move.
    const seq = await encoder.encode(req.path, req.start, req.duration, req.label);
    const reply: EncodeReply = { id: req.id, ok: true, frames: seq.frames, latent: seq.latent, mu: seq.mu, samples: seq.samples ?? 0 };
    port.postMessage(reply, [seq.mu.buffer as ArrayBuffer]);
  } catch (e) {
    const reply: EncodeReply = { id: req.id, ok: false, message: String((e as Error)?.message ?? e).split('\n')[0] };
    port.postMessage(reply);
  }
});
