/**
 * Where a replica's processes run. The shipped samples ran everything on one VM over loopback; a generated capture
 * set spreads them the way a small OpenStack deployment would: a controller (API services, conductor, scheduler),
 * a database/messaging node (MariaDB, memcached, RabbitMQ) and a compute node. Each lane is one such deployment;
 * lanes run at the same time on their own nodes, driven by one Tempest client node they share (Tempest processes
 * are new in every run, so lanes never share a process; the shared client links every node's clock to the others).
 */

/** A process's place in the deployment, from its comm and cmdline. */
export type Role = 'controller' | 'db' | 'compute' | 'tempest';

/** `roles`: one node per role and lane; `single`: all of a lane's processes on one node (as recorded). */
export type Layout = 'roles' | 'single';

export const ROLES: readonly Role[] = ['controller', 'db', 'compute', 'tempest'];

/** First match wins; anything unknown is a controller service. */
const ROLE_RULES: readonly [Role, RegExp][] = [
  ['tempest', /tempest|stestr/],
  ['db', /^(mariadbd|mysqld|memcached|beam\.smp|redis-server)\b/],
  ['compute', /nova-compute/],
];

export function roleOf(comm: string | null, cmdline: string | null): Role {
  const text = `${comm ?? ''} ${cmdline ?? ''}`;
  for (const [role, re] of ROLE_RULES) if (re.test(text) || re.test(comm ?? '')) return role;
  return 'controller';
}

/** Most lanes: pids are moved by `lane * LANE_PID_STRIDE` and must stay below the kernel's pid_max (4194304). */
export const MAX_LANES = 3;
export const LANE_PID_STRIDE = 1_000_000;
/** Tempest processes are new in every run: replica r's k-th one gets pid RUN_PID_BASE + r * RUN_PID_STRIDE + k. */
export const RUN_PID_BASE = 3_000_000;
export const RUN_PID_STRIDE = 16;

export interface NodeSpec {
  lane: number;
  role: Role;
  name: string;
  /** Address the node's processes use towards other nodes (RFC 2544 benchmarking range: never a real host). */
  ip: string;
}

/**
 * The nodes of a capture set, one row per (lane, role): with `roles` a node per role and lane plus the shared
 * `tempest` node; with `single` every role of a lane on one node (loopback, as recorded).
 */
export function nodesOf(layout: Layout, lanes: number): NodeSpec[] {
  const out: NodeSpec[] = [];
  for (let lane = 0; lane < lanes; lane++) {
    ROLES.forEach((role, i) => {
      if (layout === 'single') out.push({ lane, role, name: `lane${lane + 1}`, ip: '127.0.0.1' });
      else if (role === 'tempest') out.push({ lane, role, name: 'tempest', ip: '198.18.255.10' });
      else out.push({ lane, role, name: `lane${lane + 1}-${role}`, ip: `198.18.${lane}.${i + 10}` });
    });
  }
  return out;
}
