import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyzeCaptures, type AnalyzeSummary } from '../../analyze/analyze.js';
import { renderSummary } from '../../analyze/renderSummary.js';
import { printTraces } from '../../analyze/printTraces.js';
import { scoreAgainstTruth, type EdgeScore } from './groundTruth.js';
import { startCapture } from './liveCapture.js';
import { createTestNetns, hostNetnsInode } from './netns.js';
import { driveApp, startApp, TESTAPP_COMMS } from './runApp.js';

export interface DemoOptions {
  out: string;
  requests?: number;
  concurrency?: number;
  /** Traces printed to stdout at the end. */
  print?: number;
}

/**
 * The built-in demo, end to end (for `nitrace demo` / `make demo`): captures the test app on two nodes (the host
 * and a network namespace), drives it, analyzes the captures into OUT/analysis, prints the traces found and the
 * score against the app's own ground truth. Needs root. Leaves OUT/{cap-host,cap-ns1,app,analysis}.
 */
export async function runCapturedDemo(o: DemoOptions): Promise<{ summary: AnalyzeSummary; score: EdgeScore }> {
  const out = resolve(o.out);
  for (const d of ['cap-host', 'cap-ns1', 'app', 'analysis']) rmSync(join(out, d), { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const netns = createTestNetns();
  const caps = [];
  try {
    caps.push(await startCapture({ dir: join(out, 'cap-host'), node: 'host', netns: hostNetnsInode(), comms: [...TESTAPP_COMMS] }));
    caps.push(await startCapture({ dir: join(out, 'cap-ns1'), node: 'ns1', netns: netns.inode, comms: [...TESTAPP_COMMS] }));
    const app = await startApp({ dir: join(out, 'app'), secondNode: true, netns });
    try {
      await driveApp(app, o.requests ?? 20, o.concurrency ?? 4);
    } finally {
      await app.stop();
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const c of caps.splice(0)) await c.stop();
  } finally {
    for (const c of caps) await c.stop().catch(() => 0);
    netns.remove();
  }
  const summary = await analyzeCaptures({ captureDirs: [join(out, 'cap-host'), join(out, 'cap-ns1')], out: join(out, 'analysis'), progress: true });
  process.stderr.write(renderSummary(summary));
  process.stdout.write(await printTraces(summary.outputs.database!, o.print ?? 5));
  const score = await scoreAgainstTruth(join(out, 'analysis'), join(out, 'app', 'truth.jsonl'));
  process.stdout.write(
    `ground truth: edge F1 ${score.f1.toFixed(3)} (precision ${score.precision.toFixed(3)}, recall ${score.recall.toFixed(3)}), ` +
      `${score.tracesExact}/${score.traces} traces exactly right\n`,
  );
  return { summary, score };
}
