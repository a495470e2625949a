/**
 * `lts import`: convert a trained run of the original Latent Timbre Synthesis into an lts model folder.
 */
import { parseCommandArgs } from './args.ts';
import { UserError } from '../io/errors.ts';
import { importLtsRun } from '../engine/import-lts.ts';
import { parseBackendPreference, type BackendPreference } from '../engine/backend.ts';

/** Text of `lts import --help`. */
export const IMPORT_HELP = `usage: lts import RUN_DIR --out MODEL_DIR [--force]

Convert a run folder of the original Latent Timbre Synthesis (run-NNN/ with config.ini and
model/mymodel_last.h5, Keras HDF5) into an lts model folder. The model keeps the original's
features: the constant-Q transform with the run's sample rate, hop and bins per octave, from C1,
with linear (raw) magnitudes. Use the result with --model in lts, lts render and lts osc.

  --out DIR      the model folder to write (refused if it exists and is not empty, unless --force)
  --force        replace an existing folder at --out
  --backend B    auto | tensorflow | wasm | cpu (default: cpu; only used to build the weights)
  --json         print the result as JSON
  -h, --help     this help`;

/** `lts import`; resolves to the exit code. */
export async function importCommand(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs('import', argv, {
    out: { type: 'string' },
    force: { type: 'boolean' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, true);
  const v = parsed.values;
  if (v.help) {
    console.log(IMPORT_HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    throw new UserError(
      parsed.positionals.length === 0
        ? 'no run folder given; usage: lts import RUN_DIR --out MODEL_DIR'
        : `one run folder at a time (got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}); usage: lts import RUN_DIR --out MODEL_DIR`,
    );
  }
  if (!v.out) throw new UserError('--out MODEL_DIR is needed: the lts model folder to write');
  if (v.backend !== undefined) parseBackendPreference(v.backend);
  const res = await importLtsRun(parsed.positionals[0], v.out, { force: v.force, backend: (v.backend ?? 'cpu') as BackendPreference });
  const t = res.config.features.transform;
  const n = res.config.network;
  if (v.json) {
    console.log(JSON.stringify({ dir: res.dir, h5Sha256: res.h5Sha256, features: res.config.features, network: n }));
  } else {
    console.log(res.dir);
    if (t.kind === 'cqt') {
      console.error(
        `imported: constant-Q ${t.nBins} bins (${t.binsPerOctave}/octave from ${t.fmin.toFixed(2)} Hz), ${t.sampleRate} Hz, hop ${t.hop}; ` +
          `network ${n.inputBins}-${n.hidden.join('-')}-${n.latent}, ${n.outputActivation} output, linear magnitudes`,
      );
    }
  }
  return 0;
}
