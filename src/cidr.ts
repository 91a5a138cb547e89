/**
 * IP addresses and CIDR blocks, parsed exactly (IPv4, IPv6, IPv4-mapped IPv6). At the base layer, so the
 * configuration can check `SSRF_ALLOWLIST` up front and the SSRF guard (src/delivery/ssrf.ts) and source
 * allowlists can match against the same parse.
 */
import { isIP } from 'node:net';

/** A parsed address. IPv4-mapped IPv6 addresses are always stored as IPv4. */
export interface Address {
  family: 4 | 6;
  value: bigint;
}

/** A parsed CIDR block: `family`, the network `value` (host bits zero) and the `prefix` length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly value: bigint;
  readonly prefix: number;
}

export const MAPPED_PREFIX = 0xffffn << 32n; // ::ffff:0:0/96
export const V4_MASK = 0xffffffffn;

function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function parseV4(text: string): bigint {
  let value = 0n;
  for (const part of text.split('.')) value = (value << 8n) | BigInt(Number(part));
  return value;
}

function parseV6(text: string): bigint {
  // An embedded dotted quad is the last 32 bits: turn it into two hex groups first.
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  const groups = halves.length > 1 ? [...head, ...Array<string>(missing).fill('0'), ...rest] : head;
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16));
  return value;
}

/** Parses an IP address (optionally with an IPv6 zone such as `%eth0`), or returns null. */
export function parseAddress(text: string): Address | null {
  const zone = text.indexOf('%');
  const bare = zone >= 0 ? text.slice(0, zone) : text;
  switch (isIP(bare)) {
    case 4:
      return { family: 4, value: parseV4(bare) };
    case 6: {
      const value = parseV6(bare);
      if (value >> 32n === MAPPED_PREFIX >> 32n) return { family: 4, value: value & V4_MASK };
      return { family: 6, value };
    }
    default:
      return null;
  }
}

export function contains(cidr: Cidr, address: Address): boolean {
  if (cidr.family !== address.family) return false;
  const shift = BigInt(bitsOf(cidr.family) - cidr.prefix);
  return address.value >> shift === cidr.value >> shift;
}

/**
 * Parses `address/prefix` for IPv4 or IPv6; a bare address is a single-host block. An IPv4-mapped IPv6 block
 * with a prefix of at least 96 (`::ffff:10.0.0.0/104`) becomes the IPv4 block it maps (`10.0.0.0/8`).
 * Throws on malformed text, on a prefix out of range and on host bits set (`10.1.2.5/24`), which is almost
 * always a typo for something else.
 */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
  const prefixText = slash >= 0 ? trimmed.slice(slash + 1) : undefined;
  if (addressText.includes('%') || isIP(addressText) === 0) {
    throw new Error(`Invalid CIDR ${JSON.stringify(text)}: not an IP address`);
  }
  const family = isIP(addressText) === 4 ? 4 : 6;
  const width = bitsOf(family);
  let prefix = width;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) {
      throw new Error(`Invalid CIDR ${JSON.stringify(text)}: prefix must be 0 to ${width}`);
    }
    prefix = Number(prefixText);
  }
  let value = family === 4 ? parseV4(addressText) : parseV6(addressText);
  const hostBits = (1n << BigInt(width - prefix)) - 1n;
  if ((value & hostBits) !== 0n) {
    throw new Error(`Invalid CIDR ${JSON.stringify(text)}: bits are set after the /${prefix} prefix`);
  }
  if (family === 6 && prefix >= 96 && value >> 32n === MAPPED_PREFIX >> 32n) {
    value &= V4_MASK;
    return { family: 4, value, prefix: prefix - 96 };
  }
  return { family, value, prefix };
}

/**
 * Whether `ip` lies inside `cidr`. IPv4-mapped IPv6 addresses match IPv4 blocks; a non-address never matches.
 */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const address = parseAddress(ip);
  return address !== null && contains(cidr, address);
}

/** Null if `text` is a valid CIDR block or address for {@link parseCidr}, else why not. */
export function cidrProblem(text: string): string | null {
  try {
    parseCidr(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
