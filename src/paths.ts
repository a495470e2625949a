/** Well-known locations inside the project. */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The project's top folder (where package.json is). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The shipped default model, used when no --model is given. */
export const DEFAULT_MODEL_DIR = join(PROJECT_ROOT, 'models', 'default');
/** The shipped demo dataset, used when no --dataset is given. */
export const DEMO_DATASET_DIR = join(PROJECT_ROOT, 'data', 'demo');
