import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCandidates } from '../analyze/correlate/candidates.js';
import { Diagnostics } from '../analyze/diagnostics.js';
import { DuckDbEngine } from '../analyze/engine/duckdb.js';
import { loadCaptures } from '../analyze/load/loadCaptures.js';
import { parseConnections } from '../analyze/parse/parseConnections.js';
import { buildSpansRaw } from '../analyze/parse/spansRaw.js';
import { buildMessageSpans } from '../analyze/messaging/messageSpans.js';
import type { SyntheticCapture } from './syntheticCapture.js';

/** A synthetic capture written, loaded and parsed into an in-memory engine: the input of each correlation step. */
export async function loadedEngine(cap: SyntheticCapture, nodes: string[]): Promise<{ engine: DuckDbEngine; diag: Diagnostics; cleanup: () => void }> {
  const root = mkdtempSync(join(tmpdir(), 'nitrace-step-'));
  const loaded = await loadedEngineFromDirs(await cap.write(root, nodes));
  return {
    ...loaded,
    cleanup: () => {
      loaded.cleanup();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Capture directories (e.g. a recorded fixture) loaded and parsed into an in-memory engine. */
export async function loadedEngineFromDirs(dirs: string[]): Promise<{ engine: DuckDbEngine; diag: Diagnostics; cleanup: () => void }> {
  const engine = await DuckDbEngine.open();
  const diag = new Diagnostics();
  await loadCaptures(engine, dirs, diag);
  await parseConnections(engine, diag, { mask: false, progress: false });
  await buildSpansRaw(engine);
  await buildMessageSpans(engine);
  await createCandidates(engine);
  return {
    engine,
    diag,
    cleanup: () => engine.close(),
  };
}

/** Candidates as 'parentPath>childPath evidence confidence' lines, sorted, for readable assertions. */
export async function candidateLines(engine: DuckDbEngine, evidence: string): Promise<string[]> {
  const rows = await engine.query<{ l: string }>(`SELECT p.kind || ':' || p.path || '@' || p.tid || ' > ' || c.kind || ':' || c.path || '@' || c.tid || ' ' || x.evidence || ' ' || round(x.confidence, 2) AS l
    FROM candidates x JOIN spans_raw p ON p.span_id = x.parent JOIN spans_raw c ON c.span_id = x.child
    WHERE x.evidence = '${evidence}' OR x.evidence LIKE '${evidence}:%' ORDER BY l`);
  return rows.map((r) => r.l);
}
