import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { NitraceError } from '../core/errors.js';

/**
 * Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in a Markdown file (the
 * README's tables and figures that notebooks/ regenerate). The markers stay, so the next run finds the block again;
 * a file without the markers is an error (a block is placed by hand once, then only regenerated).
 */
export function replaceGeneratedBlock(file: string, name: string, content: string): void {
  const text = readFileSync(file, 'utf8');
  const open = `<!-- generated:${name} -->`;
  const close = `<!-- /generated:${name} -->`;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a < 0 || b < a) throw new NitraceError('report', `${file}: no block ${open} ... ${close} to regenerate`, 2);
  const next = `${text.slice(0, a + open.length)}\n${content.trim()}\n${text.slice(b)}`;
  if (next === text) return;
  writeFileSync(`${file}.tmp`, next);
  renameSync(`${file}.tmp`, file);
}
