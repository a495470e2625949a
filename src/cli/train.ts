/**
 * `lts train DATASET --out RUN_DIR`: train a timbre VAE on a folder of sounds.
 *
 * Prints the backend first, then the dataset summary, then a one-line progress
 * bar on stderr (a TTY) or plain progress lines (not a TTY: logs, CI), and
 * finally where the model, the loss plot and the audio examples are.
 * Ctrl-C stops after saving a checkpoint (`--resume` continues); a second
 * Ctrl-C exits at once. Exit codes: 0 finished (or stopped by Ctrl-C with the
 * checkpoint saved), 1 internal error, 2 bad arguments or input, 130 (the
 * shell convention for SIGINT) when Ctrl-C ends the program with nothing
 * saved: a second Ctrl-C, or Ctrl-C during the dataset analysis.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { UserError, isUserError, printable } from '../io/errors.ts';
import { DECIMAL } from './args.ts';
import { AUDIO_EXTENSIONS } from '../io/audio.ts';
import { DEFAULT_STFT, validateStftConfig } from '../dsp/stft.ts';
import { DEFAULT_CQT, cqtConfig } from '../dsp/cqt.ts';
import type { TransformConfig } from '../dsp/types.ts';
import type { FeatureConfig, MagnitudeScaling, TrainingConfig } from '../engine/types.ts';
import type { BackendPreference } from '../engine/backend.ts';
import { runTraining, MIN_TRAINING_FRAMES, TRAINING_DEFAULTS, type TrainingRunEvent, type NetworkChoice } from '../engine/training-run.ts';

/** Defaults of `lts train` besides {@link TRAINING_DEFAULTS}. */
export const TRAIN_CLI_DEFAULTS = {
  transform: 'stft' as 'stft' | 'cqt',
  scaling: 'log' as MagnitudeScaling,
  latent: 64,
  hidden: [2048],
  validation: 0.1,
  backend: 'auto' as BackendPreference,
  octaves: DEFAULT_CQT.nBins / DEFAULT_CQT.binsPerOctave,
};

/** The `--help` text of `lts train`. */
export const TRAIN_HELP = `usage: lts train DATASET --out RUN_DIR [options]

Train a timbre VAE (Tatar et al. 2020) on every audio file under DATASET (searched recursively;
${AUDIO_EXTENSIONS.join(' ')}). Features are cached in DATASET/.lts-cache (or $XDG_CACHE_HOME/lts),
so a second run starts at once. The training files must hold sound (not only silence) and at least one
batch of frames (and at least ${MIN_TRAINING_FRAMES}); a dataset refused for this is left as it was, without a cache.
Files are split into training and validation sets by file. RUN_DIR receives the model (config.json, weights),
history.json, loss.png, checkpoints and audio_examples/ (validation excerpts next to their reconstructions).

  --out DIR               run folder (required; must be empty or absent unless --resume)
  --epochs N              maximum epochs (default ${TRAINING_DEFAULTS.epochs})
  --transform T           stft | cqt (default ${TRAIN_CLI_DEFAULTS.transform}; stft allows PGHI phase reconstruction,
                          cqt is the original LTS feature)
  --scaling S             linear | log (default ${TRAIN_CLI_DEFAULTS.scaling}; log = log1p of the magnitude, linear = original LTS)
  --latent N              latent dimensions (default ${TRAIN_CLI_DEFAULTS.latent})
  --hidden N[,N..]        hidden layer widths of the encoder; the decoder mirrors them (default ${TRAIN_CLI_DEFAULTS.hidden.join(',')})
  --beta B                weight of the KL term (default ${TRAINING_DEFAULTS.beta})
  --lr LR                 Adam learning rate (default ${TRAINING_DEFAULTS.learningRate})
  --batch N               frames per batch (default ${TRAINING_DEFAULTS.batchSize})
  --patience N            stop after N epochs without a better validation loss (default ${TRAINING_DEFAULTS.patience})
  --checkpoint-every N    checkpoint every N epochs, and on every new best (default ${TRAINING_DEFAULTS.checkpointEvery})
  --validation F          share of files held out for validation, 0 <= F < 1 (default ${TRAIN_CLI_DEFAULTS.validation})
  --seed N                seed for initialisation, split, shuffling and sampling (default ${TRAINING_DEFAULTS.seed})
  --backend B             auto | tensorflow | wasm | cpu (default auto: tfjs-node-gpu, tfjs-node, wasm, cpu)
  --resume                continue the run in RUN_DIR from its last checkpoint; --epochs, --patience, --lr,
                          --beta and --checkpoint-every may change, the other settings come from the run
  --n-fft N               STFT size (default ${DEFAULT_STFT.nFft})
  --hop N                 hop in samples (default ${DEFAULT_STFT.hop} for stft, ${DEFAULT_CQT.hop} for cqt)
  --bins-per-octave N     constant-Q bins per octave (default ${DEFAULT_CQT.binsPerOctave})
  --octaves N             constant-Q octaves above ${DEFAULT_CQT.fmin.toFixed(2)} Hz (default ${TRAIN_CLI_DEFAULTS.octaves})
  -h, --help              this help

Audio is mixed to mono and resampled to 44.1 kHz. Ctrl-C stops after saving a checkpoint (exit 0);
Ctrl-C twice quits at once (exit 130). Exit codes: 0 done, 1 internal error, 2 bad arguments or input.`;

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*[\r\n]+\s*/g, ' ');
}

/**
 * Refuse a value that is not a plain decimal number ({@link DECIMAL}): `0x10` or `0b1` would otherwise pass
 * through `Number()`, as `lts render` already refuses them.
 */
function requireDecimal(v: string, flag: string, fallback: number): void {
  if (DECIMAL.test(v.trim())) return;
  const x = Number(v);
  const example = v.trim() !== '' && Number.isFinite(x) ? x : fallback;
  throw new UserError(`${flag} '${v}' is not a plain decimal number; e.g. ${flag} ${example}`);
}

/** Parse a positive (or non-negative) integer flag, written as a plain decimal number. */
function intFlag(v: string | undefined, flag: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  requireDecimal(v, flag, Math.max(min, fallback));
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < min || x > max)
    throw new UserError(`${flag} '${v}' is not an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}; e.g. ${flag} ${Math.max(min, fallback)}`);
  return x;
}

/** Parse a finite number flag within [min, max] (maxOpen: max excluded), written as a plain decimal number. */
function numFlag(v: string | undefined, flag: string, fallback: number, min: number, max: number, maxOpen = false): number {
  if (v === undefined) return fallback;
  requireDecimal(v, flag, fallback);
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < min || (maxOpen ? x >= max : x > max))
    throw new UserError(`${flag} '${v}' is not a number in ${min}..${max}${maxOpen ? ' (exclusive)' : ''}; e.g. ${flag} ${fallback}`);
  return x;
}

function choice<T extends string>(v: string | undefined, flag: string, options: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(options as readonly string[]).includes(v)) throw new UserError(`${flag} '${v}' is not one of: ${options.join(', ')}`);
  return v as T;
}

/** The parsed command line of `lts train`. */
export interface TrainArgs {
  dataset: string;
  out: string;
  resume: boolean;
  backend: BackendPreference;
  validation: number;
  features: FeatureConfig;
  network: NetworkChoice;
  training: TrainingConfig;
  /** Flags given explicitly (so `--resume` can tell which settings the user meant to change). */
  explicit: Set<string>;
}

/**
 * Parse `lts train` arguments (strict: unknown flags and bad values throw a one-line UserError).
 *
 * @param argv Arguments after `train`.
 * @returns The parsed arguments, or `'help'` for `--help`.
 */
export function parseTrainArgs(argv: string[]): TrainArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        epochs: { type: 'string' },
        transform: { type: 'string' },
        scaling: { type: 'string' },
        latent: { type: 'string' },
        hidden: { type: 'string' },
        beta: { type: 'string' },
        lr: { type: 'string' },
        batch: { type: 'string' },
        patience: { type: 'string' },
        'checkpoint-every': { type: 'string' },
        validation: { type: 'string' },
        seed: { type: 'string' },
        backend: { type: 'string' },
        resume: { type: 'boolean' },
        'n-fft': { type: 'string' },
        hop: { type: 'string' },
        'bins-per-octave': { type: 'string' },
        octaves: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // node's message continues with advice about '--' that does not apply here: keep its first sentence.
    const first = (e as Error).message.split('\n')[0].split(/\.\s/)[0].replace(/\.$/, '');
    throw new UserError(`${first}; see lts train --help`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length === 0) throw new UserError('the dataset folder is missing; usage: lts train DATASET --out RUN_DIR');
  if (parsed.positionals.length > 1)
    throw new UserError(`one dataset folder expected, got ${parsed.positionals.length} (${parsed.positionals.join(' ')}); quote paths with spaces`);
  if (!v.out) throw new UserError('--out RUN_DIR is required (the folder that receives the model, plots and examples)');

  const kind = choice(v.transform, '--transform', ['stft', 'cqt'] as const, TRAIN_CLI_DEFAULTS.transform);
  if (kind === 'stft' && (v['bins-per-octave'] !== undefined || v.octaves !== undefined))
    throw new UserError('--bins-per-octave and --octaves apply to --transform cqt only');
  if (kind === 'cqt' && v['n-fft'] !== undefined) throw new UserError('--n-fft applies to --transform stft only');
  let transform: TransformConfig;
  if (kind === 'stft') {
    const nFft = intFlag(v['n-fft'], '--n-fft', DEFAULT_STFT.nFft, 32, 65536);
    const hop = intFlag(v.hop, '--hop', Math.min(DEFAULT_STFT.hop, nFft / 4), 1, nFft);
    if (hop > nFft / 2) throw new UserError(`--hop ${hop} is larger than half of --n-fft ${nFft}; the STFT needs overlap, e.g. --hop ${nFft / 4}`);
    transform = { kind: 'stft', sampleRate: DEFAULT_STFT.sampleRate, nFft, hop };
    try {
      validateStftConfig(transform);
    } catch (e) {
      throw new UserError(`--n-fft ${nFft} --hop ${hop}: ${oneLine(e).replace(/^stft: /, '')}`);
    }
  } else {
    const binsPerOctave = intFlag(v['bins-per-octave'], '--bins-per-octave', DEFAULT_CQT.binsPerOctave, 1, 192);
    const octaves = intFlag(v.octaves, '--octaves', TRAIN_CLI_DEFAULTS.octaves, 1, 10);
    const hop = intFlag(v.hop, '--hop', DEFAULT_CQT.hop, 1, 65536);
    try {
      transform = cqtConfig({ octaves, binsPerOctave, hop });
    } catch (e) {
      throw new UserError(`--octaves ${octaves} --bins-per-octave ${binsPerOctave} --hop ${hop}: ${oneLine(e)}`);
    }
  }
  const scaling = choice(v.scaling, '--scaling', ['linear', 'log'] as const, TRAIN_CLI_DEFAULTS.scaling);
  let hidden = TRAIN_CLI_DEFAULTS.hidden;
  if (v.hidden !== undefined) {
    hidden = v.hidden.split(',').map((h) => intFlag(h.trim(), '--hidden', 2048, 1, 65536));
  }
  const network: NetworkChoice = {
    hidden,
    latent: intFlag(v.latent, '--latent', TRAIN_CLI_DEFAULTS.latent, 1, 4096),
    outputActivation: 'relu',
  };
  const training: TrainingConfig = {
    epochs: intFlag(v.epochs, '--epochs', TRAINING_DEFAULTS.epochs, 1, 1_000_000),
    beta: numFlag(v.beta, '--beta', TRAINING_DEFAULTS.beta, 0, 1e6),
    learningRate: numFlag(v.lr, '--lr', TRAINING_DEFAULTS.learningRate, 1e-12, 10),
    batchSize: intFlag(v.batch, '--batch', TRAINING_DEFAULTS.batchSize, 1, 1 << 20),
    patience: intFlag(v.patience, '--patience', TRAINING_DEFAULTS.patience, 1, 1_000_000),
    checkpointEvery: intFlag(v['checkpoint-every'], '--checkpoint-every', TRAINING_DEFAULTS.checkpointEvery, 1, 1_000_000),
    seed: intFlag(v.seed, '--seed', TRAINING_DEFAULTS.seed, 0, 2 ** 32 - 1),
  };
  return {
    dataset: resolve(parsed.positionals[0]),
    out: resolve(v.out),
    resume: v.resume === true,
    backend: choice(v.backend, '--backend', ['auto', 'tensorflow', 'wasm', 'cpu'] as const, TRAIN_CLI_DEFAULTS.backend),
    validation: numFlag(v.validation, '--validation', TRAIN_CLI_DEFAULTS.validation, 0, 1, true),
    features: { transform, scaling },
    network,
    training,
    explicit: new Set(
      Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined),
    ),
  };
}

/** "1:02:03" / "4:05" for a duration in seconds. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

function fmtLoss(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toPrecision(4) : '-';
}

/** Writes progress to stderr: one rewritten line on a TTY, periodic plain lines otherwise. */
class ProgressPrinter {
  private lastPlain = 0;
  private barShown = false;
  constructor(
    readonly tty: boolean,
    private readonly columns: () => number,
    private readonly intervalMs = 10_000,
  ) {}

  /** Show a transient status line (TTY) or print it when `force` or the interval passed (not a TTY). */
  status(line: string, force = false): void {
    if (this.tty) {
      const cols = Math.max(20, this.columns());
      const text = line.length > cols - 1 ? line.slice(0, cols - 2) + '…' : line;
      process.stderr.write(`\r${text}\x1b[K`);
      this.barShown = true;
    } else {
      const now = Date.now();
      if (force || now - this.lastPlain >= this.intervalMs) {
        process.stderr.write(line + '\n');
        this.lastPlain = now;
      }
    }
  }

  /** Print a permanent line (clearing the bar first on a TTY). */
  line(text: string): void {
    if (this.tty && this.barShown) {
      process.stderr.write('\r\x1b[K');
      this.barShown = false;
    }
    process.stderr.write(text + '\n');
  }

  /** End the bar so later output starts on a fresh line. */
  end(): void {
    if (this.tty && this.barShown) process.stderr.write('\n');
    this.barShown = false;
  }
}

function bar(fraction: number, width = 20): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return '[' + '#'.repeat(full) + '.'.repeat(width - full) + ']';
}

/**
 * `lts train`: parse arguments, run {@link runTraining}, print progress and results.
 *
 * @param argv Arguments after `train`.
 * @returns The exit code: 0 done (also after Ctrl-C with the checkpoint saved), 1 internal error, 2 bad arguments or input.
 */
export async function trainCommand(argv: string[]): Promise<number> {
  let args: TrainArgs | 'help';
  try {
    args = parseTrainArgs(argv);
  } catch (e) {
    return report(e);
  }
  if (args === 'help') {
    console.log(TRAIN_HELP);
    return 0;
  }
  const a = args;
  const printer = new ProgressPrinter(process.stderr.isTTY === true, () => process.stderr.columns || 80);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      printer.line('lts train: stopping after saving a checkpoint (Ctrl-C again to quit at once)');
      controller.abort(new Error('interrupted'));
    } else {
      printer.line('lts train: quit without saving');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  let lastDraw = 0;
  let skippedFiles = 0; // files the analysis finished by skipping them (unreadable): not counted as analysed
  const onEvent = (ev: TrainingRunEvent) => {
    switch (ev.type) {
      case 'backend':
        printer.line(
          `backend: ${ev.info.description}` +
            (ev.info.fallbacks.length ? ` (not available: ${ev.info.fallbacks.map((f) => f.split(':')[0]).join(', ')})` : ''),
        );
        break;
      case 'dataset-progress': {
        const p = ev.progress;
        if (p.status === 'skipped') skippedFiles++;
        printer.status(
          `analysing ${bar(p.done / p.total)} ${p.done - skippedFiles}/${p.total} files${skippedFiles ? ` (${skippedFiles} skipped)` : ''}, ` +
            `${formatDuration(p.seconds)} of ${formatDuration(p.totalSeconds)} audio  ${p.file}`,
          p.done === p.total,
        );
        break;
      }
      case 'dataset': {
        if (ev.warning) printer.line(`lts train: warning: ${ev.warning}`);
        const c = ev.cache;
        printer.line(
          `dataset: ${ev.trainFiles} training file${ev.trainFiles === 1 ? '' : 's'} (${ev.trainFrames} frames), ` +
            `${ev.validationFiles} validation (${ev.validationFrames} frames), ${ev.bins} bins; ` +
            (c.dir ? `cache ${c.hits} hit${c.hits === 1 ? '' : 's'}, ${c.misses} analysed (${c.dir})` : 'cache off'),
        );
        if (ev.validationFiles === 0)
          printer.line('lts train: warning: no validation files (the dataset has one file); early stopping uses the training loss');
        break;
      }
      case 'resume':
        printer.line(`resuming after epoch ${ev.epoch} (step ${ev.step})`);
        break;
      case 'progress': {
        const p = ev.progress;
        if (p.phase === 'epoch') break; // the epoch's totals arrive with the 'epoch' event
        const now = Date.now();
        if (p.phase === 'step' && now - lastDraw < 100 && p.batch < p.batchesPerEpoch) break; // at most 10 redraws a second
        lastDraw = now;
        printer.status(
          `epoch ${p.epoch}/${p.epochs} ${bar(p.batch / Math.max(1, p.batchesPerEpoch), 10)} step ${p.step} ` +
            `loss ${fmtLoss(p.loss)} val ${fmtLoss(p.valLoss)} ${Math.round(p.framesPerSecond)} frames/s ETA ${formatDuration(p.etaSeconds)}`,
        );
        break;
      }
      case 'epoch': {
        const r = ev.record;
        if (!printer.tty)
          printer.status(
            `epoch ${r.epoch}/${ev.epochs}: loss ${fmtLoss(r.loss)}, val ${fmtLoss(r.valLoss)}, ${Math.round(r.framesPerSecond)} frames/s, ` +
              `${r.seconds.toFixed(1)} s${ev.improved ? ' (best)' : ''}`,
            true,
          );
        break;
      }
      case 'examples':
        printer.status(`writing audio examples ${ev.done}/${ev.total}`, ev.done === ev.total);
        break;
      case 'done':
        break;
    }
  };
  try {
    const result = await runTraining({
      dataset: a.dataset,
      runDir: a.out,
      featureConfig: a.features,
      network: a.network,
      training: a.training,
      validationFraction: a.validation,
      resume: a.resume,
      explicit: a.explicit,
      backend: a.backend,
      signal: controller.signal,
      onEvent,
    });
    printer.end();
    const how = result.stopReason === 'interrupted'
      ? `stopped after epoch ${result.epochs} (checkpoint saved; continue with --resume)`
      : result.stopReason === 'early-stop'
        ? `stopped early at epoch ${result.epochs} (no better validation loss for ${a.training.patience} epochs)`
        : `finished ${result.epochs} epochs`;
    printer.line(`lts train: ${how}; best ${result.bestMetric} ${fmtLoss(result.bestLoss)} at epoch ${result.bestEpoch}`);
    printer.line(`model: ${result.modelDir}`);
    printer.line(`loss plot: ${result.lossPlot}`);
    const n = result.examples.length;
    if (n) printer.line(`audio examples: ${result.examplesDir} (${n} excerpt${n === 1 ? '' : 's'} with reconstruction${n === 1 ? '' : 's'})`);
    return 0;
  } catch (e) {
    printer.end();
    if (controller.signal.aborted && !isUserError(e)) {
      // Ctrl-C before training started (during the dataset analysis): nothing to save.
      process.stderr.write('lts train: interrupted before training started; files analysed so far are cached\n');
      return 130;
    }
    return report(e);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Print an error as one `lts train: ...` line; returns the exit code. */
function report(e: unknown): number {
  if (isUserError(e)) {
    process.stderr.write(`lts train: ${e.message}\n`);
    return e.exitCode === 1 ? 1 : 2;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`lts train: internal error: ${printable(msg)} (please report this with the command line)\n`);
  return 1;
}
