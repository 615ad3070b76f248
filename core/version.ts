import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** nitrace's version, from package.json, recorded in every manifest and output. */
export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Root of the nitrace checkout (holds capture/*.py, the BPF C source, datasets/). */
// fileURLToPath, not URL.pathname: a checkout under a path with spaces would otherwise come back as '%20'.
export const packageRoot: string = fileURLToPath(new URL('../../', import.meta.url));
