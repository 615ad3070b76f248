import { readFileSync } from 'node:fs';

/** nitrace's version, from package.json, recorded in every manifest and output. */
export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Root of the nitrace checkout (holds capture/*.py, the BPF C source, datasets/). */
export const packageRoot: string = new URL('../../', import.meta.url).pathname;
