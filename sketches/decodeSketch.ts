import { CountMin } from './countMin.js';
import { LatencySketch } from './ddsketch.js';
import { blobKind, type SketchKind } from './envelope.js';
import { HyperLogLog } from './hyperloglog.js';
import { SketchError } from './sketchError.js';
import { SpaceSaving } from './spaceSaving.js';
import { TraceShapeSketch } from './traceShapes.js';

/** Any sketch, tagged by its kind (the envelope's kind code). */
export type AnySketch =
  | { kind: 'ddsketch'; sketch: LatencySketch }
  | { kind: 'hyperloglog'; sketch: HyperLogLog }
  | { kind: 'spacesaving'; sketch: SpaceSaving }
  | { kind: 'countmin'; sketch: CountMin }
  | { kind: 'traceshapes'; sketch: TraceShapeSketch };

/** Decodes a blob of any kind: the one registry of decoders. */
export function decodeSketch(blob: Uint8Array): AnySketch {
  const kind: SketchKind = blobKind(blob);
  switch (kind) {
    case 'ddsketch':
      return { kind, sketch: LatencySketch.decode(blob) };
    case 'hyperloglog':
      return { kind, sketch: HyperLogLog.decode(blob) };
    case 'spacesaving':
      return { kind, sketch: SpaceSaving.decode(blob) };
    case 'countmin':
      return { kind, sketch: CountMin.decode(blob) };
    case 'traceshapes':
      return { kind, sketch: TraceShapeSketch.decode(blob) };
  }
}

/** Merges b into a; both must be the same kind with the same parameters (else a SketchError names the difference). */
export function mergeSketches(a: AnySketch, b: AnySketch): void {
  if (a.kind !== b.kind) throw new SketchError(`cannot merge a ${a.kind} sketch with a ${b.kind} sketch`);
  // The kinds are equal, so the casts only restate what the switch on a.kind knows.
  switch (a.kind) {
    case 'ddsketch':
      return a.sketch.merge(b.sketch as LatencySketch);
    case 'hyperloglog':
      return a.sketch.merge(b.sketch as HyperLogLog);
    case 'spacesaving':
      return a.sketch.merge(b.sketch as SpaceSaving);
    case 'countmin':
      return a.sketch.merge(b.sketch as CountMin);
    case 'traceshapes':
      return a.sketch.merge(b.sketch as TraceShapeSketch);
  }
}

export function sketchParams(s: AnySketch): Record<string, number> {
  return { ...s.sketch.params };
}
