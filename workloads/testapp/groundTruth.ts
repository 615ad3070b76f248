import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../../analyze/engine/engine.js';
import { DuckDbEngine } from '../../analyze/engine/duckdb.js';

interface Call {
  local_addr?: string;
  local_port?: number;
  remote_addr?: string;
  remote_port?: number;
  client_addr?: string;
  client_port?: number;
  server_addr?: string;
  server_port?: number;
  idx: number;
}
interface TruthLine {
  service: string;
  inbound: (Call & { t_ns?: number }) | null;
  outbound: Call[];
  /** Driver lines: when the request started (wall clock ns). */
  t_ns?: number;
}

/** A call's identity both the ground truth and the capture know: client end > server end # index on connection. */
function callKey(clientAddr: string, clientPort: number, serverAddr: string, serverPort: number, idx: number): string {
  return `${clientAddr}:${clientPort}>${serverAddr}:${serverPort}#${idx}`;
}

/** Ground-truth edges of a test-app run: in-process (server side -> client side) and spatial (client -> server). */
export function truthEdges(truthFile: string, sinceNs = 0): { edges: Set<string>; spans: Set<string>; roots: string[]; children: Map<string, string[]> } {
  const edges = new Set<string>();
  const spans = new Set<string>();
  const roots: string[] = [];
  const children = new Map<string, string[]>();
  const link = (p: string, c: string): void => {
    edges.add(`${p} -> ${c}`);
    (children.get(p) ?? children.set(p, []).get(p)!).push(c);
  };
  for (const line of readFileSync(truthFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const t = JSON.parse(line) as TruthLine;
    // Requests that started before the capture did are not the analysis's business.
    if ((t.inbound?.t_ns ?? t.t_ns ?? Infinity) < sinceNs) continue;
    const inbound = t.inbound ? `S|${callKey(t.inbound.client_addr!, t.inbound.client_port!, t.inbound.server_addr!, t.inbound.server_port!, t.inbound.idx)}` : null;
    if (inbound) spans.add(inbound);
    for (const o of t.outbound) {
      const k = callKey(o.local_addr!, o.local_port!, o.remote_addr!, o.remote_port!, o.idx);
      spans.add(`C|${k}`);
      spans.add(`S|${k}`);
      if (inbound) link(inbound, `C|${k}`);
      else roots.push(`C|${k}`);
      link(`C|${k}`, `S|${k}`);
    }
  }
  return { edges, spans, roots, children };
}

export interface EdgeScore {
  truthEdges: number;
  foundEdges: number;
  truePositives: number;
  precision: number;
  recall: number;
  f1: number;
  /** In-process edges only (server -> client on one process: thread/content/timing). */
  inProcess: { truth: number; tp: number; fp: number; f1: number };
  /** Traces (one per driver request) whose every edge is right and that have no wrong edge (TraceWeaver's strict). */
  tracesExact: number;
  traces: number;
  /** Up to 10 missing and 10 extra edges, for failure messages. */
  missing: string[];
  extra: string[];
}

/**
 * Compares an analysis output directory with a test-app ground truth file. `sinceNs`: only requests started after
 * it (the capture began later than the app); a connection already open then has its calls numbered from the first
 * one captured, so the analysis's call indexes are aligned to the truth's by the connection's last call.
 */
export async function scoreAgainstTruth(outDir: string, truthFile: string, sinceNs = 0): Promise<EdgeScore> {
  const truth = truthEdges(truthFile, sinceNs);
  const e = await DuckDbEngine.open();
  let found: { p: string; c: string; pk: string; ck: string }[];
  try {
    const spans = sqlString(join(outDir, 'spans.parquet'));
    const edges = sqlString(join(outDir, 'edges.parquet'));
    const key = (s: string): string => `CASE WHEN ${s}.kind = 'client'
        THEN 'C|' || ${s}.local_addr || ':' || ${s}.local_port || '>' || ${s}.remote_addr || ':' || ${s}.remote_port || '#' || ${s}.call_index
        ELSE 'S|' || ${s}.remote_addr || ':' || ${s}.remote_port || '>' || ${s}.local_addr || ':' || ${s}.local_port || '#' || ${s}.call_index END`;
    found = await e.query(`SELECT ${key('p')} AS pk, ${key('c')} AS ck, p.span_id AS p, c.span_id AS c
      FROM read_parquet(${edges}) ed JOIN read_parquet(${spans}) p ON p.span_id = ed.parent_span_id
      JOIN read_parquet(${spans}) c ON c.span_id = ed.child_span_id`);
  } finally {
    e.close();
  }
  if (sinceNs > 0) {
    // Per side and connection ('C|a:p>b:q' / 'S|...'): the two captures need not have started at the same call.
    const lastIdx = (keys: Iterable<string>): Map<string, number> => {
      const m = new Map<string, number>();
      for (const k of keys) {
        const [side, idx] = k.split('#') as [string, string];
        m.set(side, Math.max(m.get(side) ?? -1, Number(idx)));
      }
      return m;
    };
    const truthLast = lastIdx(truth.spans);
    const foundLast = lastIdx(found.flatMap((f) => [f.pk, f.ck]));
    const shift = (k: string): string => {
      const [side, idx] = k.split('#') as [string, string];
      const d = (truthLast.get(side) ?? foundLast.get(side) ?? 0) - (foundLast.get(side) ?? 0);
      return `${side}#${Number(idx) + d}`;
    };
    found = found.map((f) => ({ ...f, pk: shift(f.pk), ck: shift(f.ck) }));
  }
  // Only edges into spans the truth knows count: other traffic on the machine is not the test's business.
  const got = new Set(found.filter((f) => truth.spans.has(f.ck)).map((f) => `${f.pk} -> ${f.ck}`));
  let tp = 0;
  for (const x of got) if (truth.edges.has(x)) tp++;
  const isInProcess = (x: string): boolean => x.startsWith('S|');
  let ipTruth = 0;
  let ipTp = 0;
  let ipFp = 0;
  for (const x of truth.edges) if (isInProcess(x)) ipTruth++;
  for (const x of got) if (isInProcess(x)) (truth.edges.has(x) ? ipTp++ : ipFp++);
  const gotByChild = new Map<string, string>();
  for (const x of got) gotByChild.set(x.split(' -> ')[1]!, x);
  let exact = 0;
  for (const root of truth.roots) {
    let ok = !gotByChild.has(root);
    const stack = [root];
    while (stack.length && ok) {
      const p = stack.pop()!;
      for (const c of truth.children.get(p) ?? []) {
        if (gotByChild.get(c) !== `${p} -> ${c}`) ok = false;
        stack.push(c);
      }
    }
    if (ok) exact++;
  }
  const precision = got.size ? tp / got.size : 0;
  const recall = truth.edges.size ? tp / truth.edges.size : 0;
  const f1v = (p: number, r: number): number => (p + r ? (2 * p * r) / (p + r) : 0);
  const ipP = ipTp + ipFp ? ipTp / (ipTp + ipFp) : 0;
  const ipR = ipTruth ? ipTp / ipTruth : 0;
  return {
    truthEdges: truth.edges.size,
    foundEdges: got.size,
    truePositives: tp,
    precision,
    recall,
    f1: f1v(precision, recall),
    inProcess: { truth: ipTruth, tp: ipTp, fp: ipFp, f1: f1v(ipP, ipR) },
    tracesExact: exact,
    traces: truth.roots.length,
    missing: [...truth.edges].filter((x) => !got.has(x)).slice(0, 10),
    extra: [...got].filter((x) => !truth.edges.has(x)).slice(0, 10),
  };
}
