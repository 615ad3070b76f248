import { readFileSync } from 'node:fs';
import { UsageError } from '../../core/errors.js';

/** Shortest listed secret accepted: anything shorter would match ordinary bytes. */
export const MIN_SECRET_LENGTH = 4;

/** A listed secret and the spellings it may take on the wire. */
export interface ListedSecret {
  /** Line number in the secret file (1-based), to name it without printing it. */
  line: number;
  /** Distinct spellings: as is, URL-encoded, JSON-escaped. */
  spellings: string[];
}

/**
 * Reads a secret file: one secret per line; empty lines and lines starting with '#' are skipped, a trailing CR is
 * dropped. Secrets are never printed back (findings name the line).
 */
export function readSecretFile(path: string): ListedSecret[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError('capture-scan', `--secret-file ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const secrets: ListedSecret[] = [];
  text.split('\n').forEach((raw, i) => {
    const secret = raw.replace(/\r$/, '');
    if (secret === '' || secret.startsWith('#')) return;
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new UsageError('capture-scan', `--secret-file ${path}, line ${i + 1}: a secret shorter than ${MIN_SECRET_LENGTH} characters would match ordinary bytes`);
    }
    secrets.push({ line: i + 1, spellings: spellingsOf(secret) });
  });
  return secrets;
}

export function spellingsOf(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])];
}
