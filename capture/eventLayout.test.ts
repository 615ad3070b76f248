import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageRoot } from '../core/version.js';
import {
  OFFSET, EVENT_HEADER_SIZE, MAX_SNAPLEN, KIND_NAMES, SYSCALL_NAMES, COUNTER_NAMES, EVENT_VERSION,
  KREC_EVENT, KREC_EVENT_SIZE, KREC_CONN, KREC_CONN_SIZE, KREC_THREAD, KREC_THREAD_SIZE, REC_CONN, REC_THREAD, INFO_LEN16,
} from './eventLayout.js';

const header = join(packageRoot, 'capture', 'event.h');
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/** offsetof() of each field and sizeof(), from the C compiler. */
function cLayout(struct: string, fields: string[]): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-layout-'));
  try {
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include "${header}"\nint main(void){\n` +
      fields.map((f) => `printf("${f} %zu\\n", offsetof(struct ${struct}, ${snake(f)}));`).join('\n') +
      `printf("size %zu\\n", sizeof(struct ${struct}));\nreturn 0;}\n`;
    writeFileSync(join(dir, 'layout.c'), src);
    execFileSync('cc', ['-o', join(dir, 'layout'), join(dir, 'layout.c')]);
    const out = execFileSync(join(dir, 'layout'), { encoding: 'utf8' });
    return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const STRUCTS: [string, Record<string, number>, number][] = [
  ['nt_event', OFFSET, EVENT_HEADER_SIZE],
  ['nt_krec_event', KREC_EVENT, KREC_EVENT_SIZE],
  ['nt_krec_conn', KREC_CONN, KREC_CONN_SIZE],
  ['nt_krec_thread', KREC_THREAD, KREC_THREAD_SIZE],
];

for (const [struct, offsets, size] of STRUCTS) {
  test(`eventLayout.ts offsets are the C compiler's offsets of struct ${struct}`, () => {
    const fields = Object.keys(offsets).filter((k) => k !== 'payload');
    const got = cLayout(struct, fields);
    for (const f of fields) assert.equal(got[f], offsets[f], `offset of ${f}`);
    assert.equal(got.size, size);
    if ('payload' in offsets) assert.equal(offsets.payload, size);
  });
}

test('kind, syscall and counter codes match the #defines in event.h', () => {
  const text = readFileSync(header, 'utf8');
  const define = (name: string) => Number(new RegExp(`#define ${name} (\\d+)`).exec(text)?.[1]);
  for (const [code, name] of Object.entries(KIND_NAMES)) assert.equal(define(`NT_KIND_${name.toUpperCase()}`), Number(code));
  for (const [code, name] of Object.entries(SYSCALL_NAMES)) assert.equal(define(`NT_SYS_${name.toUpperCase()}`), Number(code), name);
  assert.equal(define('NT_MAX_SNAPLEN'), MAX_SNAPLEN);
  assert.equal(define('NT_REC_CONN'), REC_CONN);
  assert.equal(define('NT_REC_THREAD'), REC_THREAD);
  assert.equal(/#define NT_INFO_LEN16 (0x[0-9a-f]+)/.exec(text)?.[1], '0x' + INFO_LEN16.toString(16));
  assert.equal(define('NT_EVENT_VERSION'), EVENT_VERSION);
  assert.equal(define('NT_CNT_MAX'), COUNTER_NAMES.length);
  const agent = readFileSync(join(packageRoot, 'capture', 'agent.py'), 'utf8');
  assert.match(agent, new RegExp(`COUNTER_NAMES = \\[${COUNTER_NAMES.map((n) => `"${n}"`).join(', ')}\\]`));
});
