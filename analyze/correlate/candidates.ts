import type { Engine } from '../engine/engine.js';

/**
 * Every correlation step adds the parent links it can justify to `candidates`, one row per (parent, child,
 * evidence); trace assembly (assemble/traces.ts) then picks one parent per span from them.
 */
export async function createCandidates(engine: Engine): Promise<void> {
  await engine.exec('CREATE OR REPLACE TABLE candidates (parent VARCHAR, child VARCHAR, evidence VARCHAR, confidence DOUBLE)');
  // Calls the capture names a green thread for that no request owns (background work; correlate/ownership.ts):
  // steps that guess an owner (timing, database sessions, resource ids) leave them alone.
  await engine.exec('CREATE OR REPLACE TABLE green_unowned (span_id VARCHAR)');
}

/** Rows `candidates` holds for one evidence kind (prefix match: 'content' counts every content:<field>). */
export async function countCandidates(engine: Engine, evidence: string): Promise<number> {
  const [r] = await engine.query<{ n: bigint }>(
    `SELECT count(*) AS n FROM candidates WHERE evidence = '${evidence}' OR evidence LIKE '${evidence}:%'`,
  );
  return Number(r?.n ?? 0n);
}
