/**
 * `lts`: the command-line entry. Each subcommand is loaded on demand so that
 * start-up stays fast and a missing optional device library never blocks
 * another command.
 *
 * Every expected failure is a {@link UserError}: printed as one line
 * `lts: …` with exit code 2 (or its own code). Anything else is a bug: the
 * message and a hint to report it, exit code 1, never a raw crash.
 */
import { isUserError, printable } from '../io/errors.ts';
import { VERSION } from '../version.ts';
import { surviveClosedOutput } from './output.ts';

const HELP = `lts ${VERSION} — Latent Timbre Synthesis, the terminal instrument

usage:
  lts [--dataset DIR] [--model DIR] [--backend B] [--state-dir DIR]
      [--osc [PORT]] [--osc-reply-port PORT] [--listen [PORT]] [--listen-host ADDR]
                                  open the instrument (TUI); defaults: data/demo, models/default;
                                  --osc also serves the original Max patch (UDP 7020, replies 7021),
                                  --listen serves a page for a laptop's browser (127.0.0.1:7070)
  lts render [options]            render an interpolation of two excerpts to WAV (see lts render --help)
  lts train DATASET --out DIR     train a timbre VAE on a folder of sounds (see lts train --help)
  lts midi list                   list MIDI input ports
  lts devices                     list audio output devices
  lts osc [--port 7020]           OSC server for the original LTS Max patch (see lts osc --help)
  lts import RUN_DIR --out DIR    convert a run of the original LTS (config.ini + Keras .h5) to a model folder
  lts --version | --help

Backends (--backend): auto (default: tfjs-node-gpu, tfjs-node, wasm, cpu — the first that loads), tensorflow, wasm, cpu.
Errors are one line on stderr with a non-zero exit code (2: bad input, 1: internal error).`;

/** Run the CLI with `argv` (without `node lts`); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  surviveClosedOutput();
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case '--help':
      case '-h':
      case 'help':
        console.log(HELP);
        return 0;
      case '--version':
      case '-V':
        console.log(VERSION);
        return 0;
      case 'render': {
        const { renderCommand } = await import('./render.ts');
        return await renderCommand(rest);
      }
      case 'train': {
        const { trainCommand } = await import('./train.ts');
        return await trainCommand(rest);
      }
      case 'midi': {
        if (rest[0] !== 'list') {
          console.error(`lts midi: unknown action '${rest[0] ?? ''}'; use: lts midi list`);
          return 2;
        }
        const { midiListCommand } = await import('../io/midi.ts');
        return await midiListCommand();
      }
      case 'osc': {
        const { oscCommand } = await import('./osc.ts');
        return await oscCommand(rest);
      }
      case 'import': {
        const { importCommand } = await import('./import.ts');
        return await importCommand(rest);
      }
      case 'devices': {
        const { devicesCommand } = await import('./devices.ts');
        return await devicesCommand(rest);
      }
      default: {
        if (cmd !== undefined && !cmd.startsWith('-')) {
          console.error(`lts: unknown command '${cmd}'; run lts --help`);
          return 2;
        }
        const { tuiCommand } = await import('./tui.ts');
        return await tuiCommand(argv);
      }
    }
  } catch (e) {
    return reportError(e, cmd);
  }
}

/** Print an error as one line; returns the exit code. */
export function reportError(e: unknown, cmd?: string): number {
  const prefix = cmd && !cmd.startsWith('-') ? `lts ${cmd}` : 'lts';
  if (isUserError(e)) {
    console.error(`${prefix}: ${e.message}`);
    return e.exitCode;
  }
  const err = e as Error;
  console.error(`${prefix}: internal error: ${printable(String(err?.message ?? e).split('\n')[0])} (set LTS_DEBUG=1 for the stack, and please report it)`);
  if (process.env.LTS_DEBUG) console.error(err?.stack);
  return 1;
}
