/**
 * Messages between the instrument's UI thread and its live-mode worker
 * (`live-worker-entry.ts`), and the few constants both sides share. This
 * module imports nothing, so the UI thread can use it without loading
 * TensorFlow.js.
 */
import type { MidiMapping } from '../engine/midi-map.ts';

/**
 * The one-line refusal for a constant-Q model. The same text as the engine's
 * `LIVE_NEEDS_STFT` (src/engine/live.ts), which the UI thread cannot import
 * without loading TensorFlow.js; a test keeps the two equal.
 */
export const LIVE_NEEDS_STFT_TEXT = 'live mode needs an STFT model; train one with --transform stft';

/** Frames per device block of the live stream (the engine's default, 2.9 ms at 44.1 kHz). */
export const LIVE_BLOCK_FRAMES = 128;
/** Blocks queued ahead of the device (the engine's default: 8 blocks, 23 ms, wait ahead of a new sample). */
export const LIVE_QUEUE_BLOCKS = 5;

/** What a live stream plays: the A/B excerpt pair with the instrument's settings. */
export interface LiveStartParams {
  /** Model folder (absolute). */
  model: string;
  /** tfjs backend preference of the worker (auto, tensorflow, wasm, cpu). */
  backend?: string;
  a: { path: string; start: number };
  b: { path: string; start: number };
  /** Shared excerpt duration, seconds. */
  duration: number;
  /** True: loop the pair; false: play it once. */
  loop: boolean;
  /** `absolute`: the control is `a`; `offset`: the control is added to the drawn curve. */
  mode: 'absolute' | 'offset';
  /** The drawn curve, one value per plot column (resampled to the excerpt frames by the worker). */
  curve: number[];
  /** Initial control value. */
  amount: number;
  /** PortAudio device index, or null for the default device. */
  deviceId: number | null;
  /** MIDI mappings to follow (the `amount` one drives the control) and their smoothing ramp. */
  midi: { mappings: MidiMapping[]; rampMs: number };
  /** Also send every block to the UI thread (`tee` messages) for the listening page. */
  tee: boolean;
  /** Extra environment of the audio child (an ALSA configuration in tests). */
  audioEnv?: NodeJS.ProcessEnv;
}

/** UI thread → worker. */
export type LiveRequest =
  | { type: 'start'; id: number; params: LiveStartParams }
  | { type: 'stop'; id: number }
  | { type: 'close'; id: number }
  | { type: 'amount'; value: number }
  | { type: 'midi'; bytes: number[]; t: number }
  | { type: 'mappings'; mappings: MidiMapping[]; rampMs: number }
  | { type: 'tee-ack'; seq: number };

/** One status report of a playing stream (sent about 20 times a second and at the start). */
export interface LiveStatusReport {
  /** Position of the frame last synthesised in the excerpts, 0..frames−1. */
  position: number;
  frames: number;
  /** The amount `a` the last frame was decoded with. */
  amount: number;
  /** The control value (absolute `a` or the offset). */
  control: number;
  /** Who moved the control last. */
  source: 'keys' | 'midi';
  /** Underruns the device reported so far. */
  underruns: number;
  /** Frames synthesised since the start. */
  synthesized: number;
}

/**
 * A measured control latency (benchmarks): from a MIDI message's arrival to the
 * device output of the first sample of the first frame decoded after it.
 */
export interface LiveProbe {
  /** Arrival time of the MIDI message, ms since the Unix epoch. */
  injectedAt: number;
  /** Wall time until the stream write that carried the first sample reflecting it, ms. */
  toWriteMs: number;
  /** Audio ahead of that sample at the write (not yet handed to PortAudio) plus the configured device buffer, ms. */
  queuedMs: number;
  /** `toWriteMs + queuedMs`. */
  totalMs: number;
}

/** Worker → UI thread. */
export type LiveReply =
  /**
   * The stream plays `id`'s parameters. `updated`: a running stream took them in place (new excerpts swapped in
   * without stopping; see `LiveEngine.swap`) instead of being restarted.
   */
  | { type: 'started'; id: number; frames: number; sampleRate: number; hop: number; latencyMs: number; localDevice: boolean; realtime: boolean; updated?: boolean }
  /** Request `id` could not be played; `playing`: it was an update, and the stream goes on with what it played before. */
  | { type: 'failed'; id: number; message: string; playing?: boolean }
  /** Request `id` was dropped: a stop or a newer start came before it took effect. */
  | { type: 'superseded'; id: number }
  | { type: 'stopped'; id: number }
  | { type: 'status'; status: LiveStatusReport }
  | { type: 'ended'; underruns: number; error?: string }
  | { type: 'tee'; seq: number; samples: Float32Array; sampleRate: number; awaitAck: boolean }
  | { type: 'tee-close' }
  | { type: 'probe'; probe: LiveProbe };

/** Milliseconds since the Unix epoch on a clock shared by every thread (`performance.now` has a per-thread origin). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
