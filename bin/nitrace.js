#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm ci` (prepare) or `npm run build`.
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli/nitrace.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('nitrace: not built yet; run `npm ci` (or `npm run build`) in the nitrace checkout\n');
  process.exit(2);
}
await import(entry.href);
