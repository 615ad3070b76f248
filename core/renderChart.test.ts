import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { renderChart, type ChartSpec } from './renderChart.js';
import { NitraceError } from './errors.js';

const bars = (title: string): ChartSpec => ({
  title,
  data: { values: [{ op: 'GET /v3', ms: 3 }, { op: 'POST /servers', ms: 5 }] },
  mark: 'bar',
  encoding: { x: { field: 'op', type: 'nominal' }, y: { field: 'ms', type: 'quantitative' } },
});

/** Pixels that are not white, in rows [y0, y1). */
function inkIn(png: PNG, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      if (png.data[i]! < 200 || png.data[i + 1]! < 200 || png.data[i + 2]! < 200) n++;
    }
  }
  return n;
}

test('renderChart: vega-lite -> SVG + PNG that decodes, same bytes every time, text drawn', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-chart-'));
  try {
    const a = await renderChart(bars('Latency by operation'), join(dir, 'sub', 'a.png'));
    const b = await renderChart(bars('Latency by operation'), join(dir, 'b.png'));
    assert.ok(existsSync(a.svg) && readFileSync(a.svg, 'utf8').startsWith('<svg'));
    const png = PNG.sync.read(readFileSync(a.png));
    assert.equal(png.width, a.width);
    assert.equal(png.height, a.height);
    assert.ok(png.width > 100 && png.height > 100, `${png.width}x${png.height}`);
    assert.deepEqual(readFileSync(a.png), readFileSync(b.png), 'same spec, different PNG bytes');
    // The title sits in the top rows: with no usable font, resvg silently draws nothing there.
    assert.ok(inkIn(png, 0, 40) > 50, 'no title text drawn (is a system font installed? fonts-dejavu-core)');
    assert.equal(png.data[3], 255, 'background must be opaque');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('renderChart: a bad spec or file name is a NitraceError and writes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-chart-'));
  try {
    await assert.rejects(renderChart(bars('x'), join(dir, 'a.jpg')), NitraceError);
    await assert.rejects(renderChart({ mark: 'nope' } as unknown as ChartSpec, join(dir, 'c.png')), NitraceError);
    assert.ok(!existsSync(join(dir, 'c.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
