import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';

/** A network namespace with a veth pair to the host, standing in for a second node. Addresses are 10.231.N.0/24. */
export interface TestNetns {
  name: string;
  /** Inode of the namespace (what `nitrace capture --netns` takes). */
  inode: bigint;
  hostAddr: string;
  nsAddr: string;
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates the namespace and its link (needs root). Call remove() in a finally. */
export function createTestNetns(tag = String(process.pid)): TestNetns {
  const n = (Number(tag.replace(/\D/g, '')) || Math.floor(Math.random() * 1e6)) % 250 + 1;
  const name = `nitrace-t${tag}`;
  const hostIf = `ntv${n}h`;
  const nsIf = `ntv${n}n`;
  const hostAddr = `10.231.${n}.1`;
  const nsAddr = `10.231.${n}.2`;
  const remove = (): void => {
    try {
      ip('link', 'del', hostIf);
    } catch {
      /* already gone with the namespace */
    }
    try {
      ip('netns', 'del', name);
    } catch {
      /* not created */
    }
  };
  remove();
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    ip('addr', 'add', `${hostAddr}/24`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', name, 'addr', 'add', `${nsAddr}/24`, 'dev', nsIf);
    ip('-n', name, 'link', 'set', nsIf, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (e) {
    remove();
    throw e;
  }
  return { name, inode: BigInt(statSync(`/run/netns/${name}`, { bigint: true }).ino), hostAddr, nsAddr, remove };
}

/** Inode of this process's network namespace (the host's, for `--netns`). */
export function hostNetnsInode(): bigint {
  return BigInt(statSync('/proc/self/ns/net', { bigint: true }).ino);
}
