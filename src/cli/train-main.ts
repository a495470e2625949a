/**
 * Stand-alone runner of `lts train` (used by the tests; `bin/lts train` is the
 * user-facing entry): `node --import tsx src/cli/train-main.ts DATASET --out RUN_DIR [options]`.
 * Exits with the code {@link trainCommand} returns.
 */
import { trainCommand } from './train.ts';
import { surviveClosedOutput } from './output.ts';

surviveClosedOutput();
process.exit(await trainCommand(process.argv.slice(2)));
