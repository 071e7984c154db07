/** Where the project's own files are, whether run from the clone or from an installed package. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root: compiled code lives in dist/core/, so it is two levels up. */
export const PACKAGE_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The JSON Schemas users write against. */
export const SCHEMA_DIR = path.join(PACKAGE_ROOT, 'schemas');

/** The example spec repository used by the demo and the docs. */
export const EXAMPLE_SPECS_DIR = path.join(PACKAGE_ROOT, 'mirrors');
