const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * Text form of a 16-byte address field of an event (`family` 2: IPv4 in the first 4 bytes; 10: IPv6).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is written as IPv4, so one peer has one spelling. IPv6 per RFC 5952.
 */
export function formatAddr(buf: Uint8Array, off: number, family: number): string {
  if (family === 2) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  if (IPV4_MAPPED_PREFIX.every((b, i) => buf[off + i] === b)) {
    return `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((buf[off + i]! << 8) | buf[off + i + 1]!).toString(16));
  let best = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
