/**
 * Analysis thread of {@link loadDataset} (`dataset.ts`): decodes one file at the analysis rate
 * (`readAudio`) and computes its magnitudes (`analyzeMagnitudes`) per request, answering with the
 * magnitudes (transferred) or the reason it failed. Requests are answered in order.
 */
import { parentPort } from 'node:worker_threads';
import { readAudio } from '../io/audio.ts';
import { analyzeMagnitudes } from './features.ts';
import type { FeatureConfig } from './types.ts';

/** @internal a request: analyse the file at `path` with `cfg`. */
export interface AnalysisRequest {
  id: number;
  path: string;
  cfg: FeatureConfig;
}

/** @internal the answer. */
export type AnalysisReply =
  | { id: number; ok: true; frames: number; bins: number; data: Float32Array; warnings: string[] }
  | { id: number; ok: false; message: string };

const port = parentPort!;
port.on('message', async (req: AnalysisRequest) => {
  try {
    const audio = await readAudio(req.path, { sampleRate: req.cfg.transform.sampleRate });
    const mag = analyzeMagnitudes(audio.samples, req.cfg);
    const reply: AnalysisReply = { id: req.id, ok: true, frames: mag.frames, bins: mag.bins, data: mag.data, warnings: audio.warnings };
    port.postMessage(reply, [mag.data.buffer as ArrayBuffer]);
  } catch (e) {
    // The whole message: the caller makes it one line, as for files it analyses itself.
    port.postMessage({ id: req.id, ok: false, message: String((e as Error)?.message ?? e) } satisfies AnalysisReply);
  }
});
