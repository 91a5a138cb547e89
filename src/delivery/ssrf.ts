/**
 * Server-side request forgery guard for outbound webhook and postback delivery.
 *
 * A tenant chooses the URL we send to, so without a guard they could make this service call its own
 * loopback ports, the cloud metadata endpoint or anything else on the private network. The guard runs twice:
 *
 * 1. When an endpoint URL is saved, {@link validateEndpointUrl} rejects bad schemes, credentials in the URL,
 *    IP-literal hosts in forbidden ranges and names that obviously mean "this machine" or a private zone.
 *    This is a friendly early answer, not the real gate: a public-looking name can resolve anywhere later.
 * 2. When a connection is opened, {@link guardedLookup} is passed as the `lookup` option of `http.request`
 *    / `https.request` / `net.connect`. It resolves the name itself and refuses if any answer is in a
 *    forbidden range, so the check applies to the address actually connected to and DNS rebinding fails.
 *
 * Node skips the `lookup` hook for IP-literal hosts, so a sender must also run {@link validateEndpointUrl}
 * (or {@link checkAddress}) right before each send, not only at save time. Redirects must not be followed
 * blindly, and the hook protects nothing when requests go through an HTTP proxy (it would check the proxy).
 *
 * Ranges follow the IANA IPv4 and IPv6 special-purpose address registries. IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`) are the IPv4 address in every respect, including allowlist matching. NAT64
 * (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses are judged by the IPv4 address they embed; IPv6 outside
 * the global unicast block `2000::/3` that no rule names is 'reserved'. Anything that is not an IP address
 * at all is 'invalid', so a malformed answer fails closed.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { contains, parseAddress, parseCidr, V4_MASK, type Address, type Cidr } from '../cidr.js';

export { cidrContains, parseCidr, type Cidr } from '../cidr.js';

/** What the deployment permits. */
export interface SsrfPolicy {
  /**
   * CIDRs (`'127.0.0.0/8'`, `'::1/128'`, `'10.1.2.0/24'`) or single addresses that are permitted even
   * though they are forbidden by default. Invalid entries make {@link checkAddress} and
   * {@link guardedLookup} throw, so a typo in configuration fails loudly instead of silently.
   */
  allow: string[];
  /** Refuse `http:` endpoints. */
  httpsOnly: boolean;
}

/** Why an address is refused. */
export type ForbiddenReason =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'reserved'
  | 'multicast'
  | 'cgnat'
  | 'documentation'
  | 'benchmarking'
  | 'unique-local'
  | 'broadcast'
  | 'invalid';

type Rule = readonly [Cidr, ForbiddenReason | 'embedded-v4'];

function rules(list: ReadonlyArray<readonly [string, ForbiddenReason | 'embedded-v4']>): Rule[] {
  return list.map(([cidr, reason]) => [parseCidr(cidr), reason] as const);
}

/** First match wins, so single addresses come before the blocks that contain them. */
const V4_RULES = rules([
  ['255.255.255.255/32', 'broadcast'],
  ['169.254.169.254/32', 'metadata'],
  ['0.0.0.0/8', 'unspecified'], // "this network"; Linux connects 0.0.0.0 to the local host
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const V6_RULES = rules([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b::/96', 'embedded-v4'], // NAT64: the IPv4 address is the last 32 bits
  ['2002::/16', 'embedded-v4'], // 6to4: the IPv4 address is bits 16 to 47
  ['100::/64', 'reserved'], // discard-only
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['2001::/23', 'reserved'], // IETF protocol assignments (Teredo, ORCHID, ...), kept whole for simplicity
  ['fd00:ec2::254/128', 'metadata'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
]);

const GLOBAL_UNICAST_V6 = parseCidr('2000::/3');
const SIX_TO_FOUR = parseCidr('2002::/16');

function classify(address: Address): ForbiddenReason | null {
  const table = address.family === 4 ? V4_RULES : V6_RULES;
  for (const [cidr, reason] of table) {
    if (!contains(cidr, address)) continue;
    if (reason !== 'embedded-v4') return reason;
    const shift = contains(SIX_TO_FOUR, address) ? 80n : 0n;
    return classify({ family: 4, value: (address.value >> shift) & V4_MASK });
  }
  if (address.family === 6 && !contains(GLOBAL_UNICAST_V6, address)) return 'reserved';
  return null;
}

/**
 * Why connecting to `ip` is forbidden by default, or null if it is a public address. Not-an-address
 * (including a host name) gives 'invalid'.
 */
export function isForbiddenAddress(ip: string): ForbiddenReason | null {
  const address = parseAddress(ip);
  return address === null ? 'invalid' : classify(address);
}

function decide(ip: string, allow: readonly Cidr[]): ForbiddenReason | null {
  const address = parseAddress(ip);
  if (address === null) return 'invalid';
  const reason = classify(address);
  if (reason === null || allow.some((cidr) => contains(cidr, address))) return null;
  return reason;
}

/**
 * Null if `ip` may be connected to under `policy` (public, or inside one of `policy.allow`), else the
 * reason. Throws if `policy.allow` holds an invalid CIDR. The allowlist is matched against the address itself
 * (IPv4-mapped IPv6 counting as IPv4): `127.0.0.0/8` permits `::ffff:127.0.0.1` but not the NAT64 address
 * `64:ff9b::7f00:1`, which stays forbidden by the IPv4 address it embeds.
 */
export function checkAddress(ip: string, policy: SsrfPolicy): ForbiddenReason | null {
  return decide(ip, policy.allow.map(parseCidr));
}

/** Names that mean "this machine" (RFC 6761). */
function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Names that only resolve inside a private network: mDNS `.local` and the private-use `.internal`. */
function isPrivateName(host: string): boolean {
  return host.endsWith('.local') || host.endsWith('.internal');
}

/**
 * Checks an endpoint URL when it is saved. Returns null if acceptable, else a short message that may be
 * shown to whoever submitted the URL.
 *
 * - The URL must parse, use `https:` (or `http:` unless `httpsOnly`), carry no username or password, and
 *   have a host.
 * - An IP-literal host (IPv4 in any form WHATWG URL accepts, or bracketed IPv6) gets {@link checkAddress}.
 * - `localhost` and `*.localhost` are refused unless the policy allows 127.0.0.1 or ::1: they can only
 *   mean this machine, so they are acceptable exactly when a loopback destination is.
 * - `*.local` and `*.internal` are refused unless `policy.allow` is non-empty: they cannot be public, but
 *   a deployment that allowlists private ranges (for example in-cluster `svc.cluster.local` receivers) may
 *   use them, and the connect-time check then decides by the address they resolve to.
 * - Any other name is accepted here; it is checked again after DNS, at connect time.
 */
export function validateEndpointUrl(url: string, policy: SsrfPolicy): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'URL is not valid';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return policy.httpsOnly ? 'URL scheme must be https' : 'URL scheme must be http or https';
  }
  if (policy.httpsOnly && parsed.protocol !== 'https:') return 'URL scheme must be https';
  if (parsed.username !== '' || parsed.password !== '') return 'URL must not contain a username or password';

  let host = parsed.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') return 'URL has no host';

  if (isIP(host) !== 0) {
    const reason = checkAddress(host, policy);
    return reason === null ? null : `URL host is a ${reason} address`;
  }

  const name = host.replace(/\.+$/, ''); // `localhost.` is `localhost`
  if (isLocalhostName(name)) {
    const loopbackAllowed =
      checkAddress('127.0.0.1', policy) === null || checkAddress('::1', policy) === null;
    return loopbackAllowed ? null : 'URL host refers to this machine';
  }
  if (isPrivateName(name) && policy.allow.length === 0) return 'URL host is a private network name';
  return null;
}

/**
 * Thrown (through the lookup callback) when a host resolves to a forbidden address. The message names the
 * host and the reason only; the offending address is in `address`, for operators' logs. Do not show
 * `address` to tenants, or delivery logs become a way to probe internal DNS.
 */
export class SsrfBlockedError extends Error {
  readonly code = 'ERR_SSRF_BLOCKED';
  readonly host: string;
  readonly address: string;
  readonly reason: ForbiddenReason;

  constructor(host: string, address: string, reason: ForbiddenReason) {
    const shown = host.length > 253 ? `${host.slice(0, 253)}...` : host;
    super(`Refused to connect to ${JSON.stringify(shown)}: it resolves to a ${reason} address`);
    this.name = 'SsrfBlockedError';
    this.host = host;
    this.address = address;
    this.reason = reason;
  }
}

/** The part of `dns.lookup` that {@link guardedLookup} uses: resolve every address of a name. */
export type ResolveAll = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolveAll: ResolveAll = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/**
 * A `lookup` for `http.request`, `https.request` or `net.connect` that refuses forbidden addresses:
 *
 *   http.request(url, { lookup: guardedLookup(policy) })
 *
 * It always resolves every address of the name (with the caller's family, hints and order) and fails with
 * {@link SsrfBlockedError} if any of them is forbidden under `policy`, so a name with one public and one
 * private record is refused outright rather than filtered. With `options.all` it answers the whole list,
 * otherwise the first address, as `dns.lookup` would. Resolution errors pass through unchanged.
 *
 * `resolveAll` replaces `dns.lookup` (for tests, or a custom resolver). Throws at once if `policy.allow`
 * holds an invalid CIDR.
 */
export function guardedLookup(policy: SsrfPolicy, resolveAll: ResolveAll = systemResolveAll): LookupFunction {
  const allow = policy.allow.map(parseCidr);

  return (hostname, options, callback) => {
    const wantAll = options?.all === true;
    const answer = (addresses: LookupAddress[]): void => {
      for (const { address } of addresses) {
        const reason = decide(address, allow);
        if (reason !== null) return callback(new SsrfBlockedError(hostname, address, reason), '', 0);
      }
      const first = addresses[0];
      if (first === undefined) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = 'ENOTFOUND';
        return callback(err, '', 0);
      }
      if (wantAll) callback(null, addresses);
      else callback(null, first.address, first.family);
    };

    const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    const literalFamily = isIP(bare.split('%')[0] ?? '');
    if (literalFamily !== 0) {
      // No DNS for a literal, but still answer asynchronously like dns.lookup does.
      process.nextTick(answer, [{ address: bare, family: literalFamily }]);
      return;
    }

    resolveAll(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) callback(err, '', 0);
      else answer(addresses);
    });
  };
}
