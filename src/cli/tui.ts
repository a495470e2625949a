/**
 * `lts` with no subcommand: the terminal instrument.
 */
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../io/errors.ts';
import { DEFAULT_MODEL_DIR, DEMO_DATASET_DIR } from '../paths.ts';

/** Parse the instrument's options and open it; resolves to the exit code. */
export async function tuiCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        dataset: { type: 'string' },
        model: { type: 'string' },
        backend: { type: 'string' },
        'state-dir': { type: 'string' },
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
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UserError('the instrument needs an interactive terminal; for scripts use lts render (see lts render --help)');
  }
  const { runTui } = await import('../tui/run.tsx');
  return runTui({ dataset, model, backend: v.backend, stateDir: v['state-dir'] ? resolve(v['state-dir']) : undefined });
}
