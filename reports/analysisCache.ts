import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyzeCaptures, type AnalyzeSummary } from '../analyze/analyze.js';
import { writeFileAtomic } from '../core/atomicFile.js';

/**
 * The analysis of `captureDirs` kept as CACHE/NAME and shared by the notebooks (and runs) that use the same cache:
 * returns CACHE/NAME, analysing first when it holds no finished analysis.
 *
 * CACHE/NAME only ever appears whole. The analysis runs in a directory of its own (CACHE/.NAME.XXXXXX) that no other
 * process touches and is renamed into place when finished; a failed or killed analysis leaves no CACHE/NAME.
 * Why: analysing in place let anything that removed the cache meanwhile (another run clearing it, a test using the
 * same cache) delete the files under a running DuckDB, which failed with "Failed to commit: Cannot open file
 * .../analysis.duckdb.wal: No such file or directory" (reproduced by removing CACHE/NAME 3 to 10 s into an analysis);
 * and a half directory left by a killed run was analysed into again, over DuckDB files of the killed one.
 * Two processes analysing the same NAME at once both finish; the first rename wins and the other's copy is dropped.
 */
export async function cachedAnalysis(cache: string, name: string, captureDirs: readonly string[]): Promise<string> {
  const out = resolve(cache, name);
  if (existsSync(join(out, 'summary.json'))) return out;
  mkdirSync(resolve(cache), { recursive: true });
  const work = mkdtempSync(resolve(cache, `.${name}.`));
  try {
    await analyzeCaptures({ captureDirs, out: work });
    // summary.json names its outputs by absolute path: point them at where they will be.
    const summaryFile = join(work, 'summary.json');
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as AnalyzeSummary;
    for (const [k, v] of Object.entries(summary.outputs)) if (v.startsWith(work)) summary.outputs[k] = out + v.slice(work.length);
    writeFileAtomic(summaryFile, JSON.stringify(summary, null, 2) + '\n');
    // A CACHE/NAME without summary.json is a half analysis left by an earlier nitrace that analysed in place.
    if (existsSync(out) && !existsSync(join(out, 'summary.json'))) rmSync(out, { recursive: true, force: true });
    try {
      renameSync(work, out);
    } catch (e) {
      // another process published the same analysis first: use that one
      if (!existsSync(join(out, 'summary.json'))) throw e;
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
