import { fill, SPACE, type Work, type Carry } from './work.js';
import { scanJsonValue } from './jsonValue.js';
import { scanInsertRows } from './sqlLiterals.js';

/**
 * Continues masking a value that the previous payload of the same stream left open (a body split across
 * syscalls). Masks from `w.base`; sets `w.carry` again if the value runs past this payload too.
 */
export function continueCarry(w: Work, c: Carry): void {
  const b = w.b;
  const end = w.end;
  let i = w.base;
  switch (c.kind) {
    case 'json': {
      const st = c.state;
      const fresh = !st.inString && !st.inNumber && st.stack.length === 0 && st.backslashes === 0;
      if (fresh) while (i < end && SPACE[b[i]!] === 1) i++;
      if (i === end) {
        if (w.complete) w.carry = c;
        return;
      }
      scanJsonValue(w, i, st);
      return;
    }
    case 'run': {
      let seps = c.seps;
      for (;;) {
        const from = i;
        while (i < end && c.cls[b[i]!] === 1) i++;
        fill(w, from, i);
        if (i < end && b[i] === c.sep && seps > 0) {
          seps--;
          i++;
          continue;
        }
        break;
      }
      if (i === end && w.complete) w.carry = { kind: 'run', cls: c.cls, sep: c.sep, seps };
      return;
    }
    case 'until':
      while (i < end && c.stop[b[i]!] !== 1) i++;
      fill(w, w.base, i);
      if (i === end && w.complete) w.carry = c;
      return;
    case 'sql': {
      let escaped = c.escaped;
      for (; i < end; i++) {
        const x = b[i]!;
        if (escaped) escaped = false;
        else if (x === 0x5c) escaped = true;
        else if (x === c.quote) {
          if (i + 1 < end && b[i + 1] === c.quote) i++;
          else break;
        }
      }
      fill(w, w.base, i);
      if (i === end && w.complete) w.carry = { kind: 'sql', quote: c.quote, escaped };
      return;
    }
    case 'insert':
      scanInsertRows(w, i, c.state);
      return;
    case 'count': {
      const e = Math.min(end, i + c.left);
      fill(w, i, e);
      if (c.left > e - i && w.complete) w.carry = { kind: 'count', left: c.left - (e - i) };
      return;
    }
  }
}
