/**
 * `lts` with no subcommand: the terminal instrument.
 *
 * Options: `--dataset DIR`, `--model DIR`, `--backend auto|tensorflow|wasm|cpu`, `--state-dir DIR`,
 * `--osc [PORT]` (start the OSC server for the original Max patch, default UDP 7020; Ctrl-E toggles it),
 * `--osc-reply-port PORT` (default 7021), `--listen [PORT]` and `--listen-host ADDR` (the listening page,
 * see src/cli/listen.ts).
 */
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../io/errors.ts';
import { DEFAULT_MODEL_DIR, DEMO_DATASET_DIR } from '../paths.ts';
import { extractListenFlags } from './listen.ts';

/** UDP port of `--osc` without a value (the original engine's). */
export const TUI_OSC_DEFAULT_PORT = 7020;

/**
 * Take `--osc [PORT]` / `--osc=PORT` out of `argv` (an optional value, which `parseArgs` cannot express):
 * a following all-digit argument is the port.
 *
 * @returns The remaining arguments and the port, or null when `--osc` is absent.
 * @throws UserError for a bad port or a repeated flag.
 */
export function extractOscFlag(argv: readonly string[]): { argv: string[]; osc: number | null } {
  const rest: string[] = [];
  let osc: number | null = null;
  const parse = (t: string) => {
    const x = Number(t);
    if (t.trim() === '' || !Number.isInteger(x) || x < 0 || x > 65535) throw new UserError(`--osc '${t}' is not a UDP port; use a whole number from 1 to 65535 (0 picks a free one), e.g. --osc 7020`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--osc' || a.startsWith('--osc=')) {
      if (osc !== null) throw new UserError('--osc is given twice; give it once, e.g. --osc 7020');
      if (a.startsWith('--osc=')) osc = parse(a.slice(6));
      else if (i + 1 < argv.length && /^\d+$/.test(argv[i + 1])) osc = parse(argv[++i]);
      else osc = TUI_OSC_DEFAULT_PORT;
      continue;
    }
    rest.push(a);
  }
  return { argv: rest, osc };
}

/** Parse the instrument's options and open it; resolves to the exit code. */
export async function tuiCommand(argv: string[]): Promise<number> {
  const { argv: noListen, listen } = extractListenFlags(argv);
  const { argv: rest, osc } = extractOscFlag(noListen);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        dataset: { type: 'string' },
        model: { type: 'string' },
        backend: { type: 'string' },
        'state-dir': { type: 'string' },
        'osc-reply-port': { type: 'string' },
      },
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]}; run lts --help`);
  }
  const v = parsed.values;
  const dataset = v.dataset ? resolve(v.dataset) : undefined;
  const model = v.model ? resolve(v.model) : undefined;
  if (dataset && !(existsSync(dataset) && statSync(dataset).isDirectory())) {
    throw new UserError(`--dataset ${v.dataset}: not a folder; give a folder of audio files (the demo is ${DEMO_DATASET_DIR})`);
  }
  if (model && !existsSync(model)) {
    throw new UserError(`--model ${v.model}: folder not found; train one with lts train, or use ${DEFAULT_MODEL_DIR}`);
  }
  let oscReplyPort: number | undefined;
  if (v['osc-reply-port'] !== undefined) {
    const x = Number(v['osc-reply-port']);
    if (!Number.isInteger(x) || x < 1 || x > 65535) throw new UserError(`--osc-reply-port '${v['osc-reply-port']}' is not a UDP port; use a whole number from 1 to 65535, e.g. 7021`);
    if (osc === null) throw new UserError('--osc-reply-port needs --osc too, e.g. --osc 7020 --osc-reply-port 7021');
    oscReplyPort = x;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UserError('the instrument needs an interactive terminal; for scripts use lts render (see lts render --help)');
  }
  const { runTui } = await import('../tui/run.tsx');
  return runTui({ dataset, model, backend: v.backend, stateDir: v['state-dir'] ? resolve(v['state-dir']) : undefined, oscPort: osc, oscReplyPort, listen });
}
