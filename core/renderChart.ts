/**
 * One chart renderer for every figure nitrace writes (reports/, notebooks/, sketches/ evaluation): a vega-lite spec
 * becomes SVG through vega's headless view (no browser, no canvas) and PNG through resvg (Rust, prebuilt in its
 * npm package). Fully offline: data is inlined in the spec, fonts come from the system (fonts-dejavu-core).
 * The same spec and data give byte-identical SVG and PNG, so figures can be committed and diffed.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { NitraceError } from './errors.js';
import { writeFileAtomic } from './atomicFile.js';

export type ChartSpec = TopLevelSpec;

export interface RenderedChart {
  /** the PNG file written */
  png: string;
  /** the SVG file written beside it (same name, .svg) */
  svg: string;
  /** pixel size of the PNG */
  width: number;
  height: number;
}

export interface RenderOptions {
  /** PNG pixels per SVG pixel (2 = sharp on high-density screens and in print). Default 2. */
  scale?: number;
  /** also keep the .svg next to the PNG. Default true. */
  keepSvg?: boolean;
}

/** Defaults every figure shares: white background (a transparent PNG is unreadable in dark viewers), one font. */
const CONFIG = {
  background: 'white',
  font: 'DejaVu Sans',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' },
} as const;

/** The SVG text of a vega-lite spec (for tests and for callers that embed SVG themselves). */
export async function chartToSvg(spec: ChartSpec): Promise<string> {
  let compiled;
  try {
    compiled = vegaLite.compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as ChartSpec).spec;
  } catch (e) {
    throw new NitraceError('chart', `vega-lite spec rejected: ${(e as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Renders `spec` to `pngPath` (and `pngPath` with .svg unless keepSvg is false). Parent directories are created;
 * each file is written to a temporary name first and renamed, so an interrupted run leaves no half figure.
 */
export async function renderChart(spec: ChartSpec, pngPath: string, opts: RenderOptions = {}): Promise<RenderedChart> {
  if (!pngPath.endsWith('.png')) throw new NitraceError('chart', `${pngPath}: the figure file name must end in .png`, 2);
  const svg = await chartToSvg(spec);
  const rendered = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  }).render();
  const png = rendered.asPng();
  mkdirSync(dirname(pngPath), { recursive: true });
  const svgPath = pngPath.replace(/\.png$/, '.svg');
  if (opts.keepSvg ?? true) writeFileAtomic(svgPath, svg, { durable: false });
  writeFileAtomic(pngPath, png, { durable: false });
  return { png: pngPath, svg: svgPath, width: rendered.width, height: rendered.height };
}

