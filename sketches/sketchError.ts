import { NitraceError } from '../core/errors.js';

/**
 * Bad input to a sketch: a parameter out of range, two sketches that cannot be merged, a blob that is not a sketch
 * (or was damaged). Exit code 2: the input is wrong, not nitrace.
 */
export class SketchError extends NitraceError {
  constructor(message: string) {
    super('sketch', message, 2);
    this.name = 'SketchError';
  }
}

/** Throws a SketchError unless `value` is a finite number in [min, max] (and an integer when asked). */
export function checkRange(what: string, value: number, min: number, max: number, integer = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new SketchError(`${what} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${String(value)}`);
  }
}
