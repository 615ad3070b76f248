import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageRoot } from '../core/version.js';
import { OFFSET, EVENT_HEADER_SIZE, MAX_SNAPLEN, KIND_NAMES, SYSCALL_NAMES, COUNTER_NAMES, EVENT_VERSION } from './eventLayout.js';

const header = join(packageRoot, 'capture', 'event.h');
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

test('eventLayout.ts offsets are the C compiler\'s offsets of struct nt_event', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nitrace-layout-'));
  try {
    const fields = Object.keys(OFFSET).filter((k) => k !== 'payload');
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include "${header}"\nint main(void){\n` +
      fields.map((f) => `printf("${f} %zu\\n", offsetof(struct nt_event, ${snake(f)}));`).join('\n') +
      `printf("size %zu\\n", sizeof(struct nt_event));\nreturn 0;}\n`;
    writeFileSync(join(dir, 'layout.c'), src);
    execFileSync('cc', ['-o', join(dir, 'layout'), join(dir, 'layout.c')]);
    const out = execFileSync(join(dir, 'layout'), { encoding: 'utf8' });
    const got = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
    for (const f of fields) assert.equal(got[f], OFFSET[f as keyof typeof OFFSET], `offset of ${f}`);
    assert.equal(got.size, EVENT_HEADER_SIZE);
    assert.equal(OFFSET.payload, EVENT_HEADER_SIZE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kind, syscall and counter codes match the #defines in event.h', () => {
  const text = readFileSync(header, 'utf8');
  const define = (name: string) => Number(new RegExp(`#define ${name} (\\d+)`).exec(text)?.[1]);
  for (const [code, name] of Object.entries(KIND_NAMES)) assert.equal(define(`NT_KIND_${name.toUpperCase()}`), Number(code));
  for (const [code, name] of Object.entries(SYSCALL_NAMES)) assert.equal(define(`NT_SYS_${name.toUpperCase()}`), Number(code), name);
  assert.equal(define('NT_MAX_SNAPLEN'), MAX_SNAPLEN);
  assert.equal(define('NT_EVENT_VERSION'), EVENT_VERSION);
  assert.equal(define('NT_CNT_MAX'), COUNTER_NAMES.length);
  const agent = readFileSync(join(packageRoot, 'capture', 'agent.py'), 'utf8');
  assert.match(agent, new RegExp(`COUNTER_NAMES = \\[${COUNTER_NAMES.map((n) => `"${n}"`).join(', ')}\\]`));
});
