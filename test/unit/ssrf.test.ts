import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  SsrfBlockedError,
  checkAddress,
  cidrContains,
  guardedLookup,
  isForbiddenAddress,
  parseCidr,
  validateEndpointUrl,
  type ResolveAll,
  type SsrfPolicy,
} from '../../src/delivery/ssrf.js';

const strict: SsrfPolicy = { allow: [], httpsOnly: false };
const loopbackAllowed: SsrfPolicy = { allow: ['127.0.0.0/8', '::1/128'], httpsOnly: false };

function expectReasons(cases: ReadonlyArray<readonly [string, string | null]>): void {
  for (const [ip, reason] of cases) assert.equal(isForbiddenAddress(ip), reason, ip);
}

describe('forbidden IPv4 ranges', () => {
  it('refuses every special-purpose block with its reason, at both ends', () => {
    expectReasons([
      ['0.0.0.0', 'unspecified'],
      ['0.255.255.255', 'unspecified'],
      ['10.0.0.0', 'private'],
      ['10.255.255.255', 'private'],
      ['100.64.0.0', 'cgnat'],
      ['100.127.255.255', 'cgnat'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['169.254.0.1', 'link-local'],
      ['169.254.255.255', 'link-local'],
      ['169.254.169.254', 'metadata'],
      ['172.16.0.0', 'private'],
      ['172.31.255.255', 'private'],
      ['192.0.0.8', 'reserved'],
      ['192.0.2.1', 'documentation'],
      ['192.88.99.1', 'reserved'],
      ['192.168.0.1', 'private'],
      ['192.168.255.255', 'private'],
      ['198.18.0.0', 'benchmarking'],
      ['198.19.255.255', 'benchmarking'],
      ['198.51.100.7', 'documentation'],
      ['203.0.113.200', 'documentation'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.255', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.254', 'reserved'],
      ['255.255.255.255', 'broadcast'],
    ]);
  });

  it('lets the public neighbours of those blocks through', () => {
    expectReasons([
      ['1.0.0.0', null],
      ['9.255.255.255', null],
      ['11.0.0.0', null],
      ['100.63.255.255', null],
      ['100.128.0.0', null],
      ['126.255.255.255', null],
      ['128.0.0.0', null],
      ['169.253.255.255', null],
      ['169.255.0.0', null],
      ['172.15.255.255', null],
      ['172.32.0.0', null],
      ['192.0.1.0', null],
      ['192.0.3.0', null],
      ['192.167.255.255', null],
      ['192.169.0.0', null],
      ['198.17.255.255', null],
      ['198.20.0.0', null],
      ['223.255.255.255', null],
    ]);
  });

  it('allows well-known public resolvers', () => {
    expectReasons([
      ['8.8.8.8', null],
      ['1.1.1.1', null],
    ]);
  });
});

describe('forbidden IPv6 ranges', () => {
  it('refuses every special-purpose block with its reason', () => {
    expectReasons([
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['0:0:0:0:0:0:0:1', 'loopback'],
      ['100::1', 'reserved'],
      ['100::ffff:ffff:ffff:ffff', 'reserved'],
      ['2001:db8::1', 'documentation'],
      ['2001:db8:ffff::1', 'documentation'],
      ['3fff::1', 'documentation'],
      ['2001::1', 'reserved'],
      ['2001:1ff:ffff::1', 'reserved'],
      ['fc00::1', 'unique-local'],
      ['fdff:ffff::1', 'unique-local'],
      ['fd00:ec2::254', 'metadata'],
      ['fd00:ec2::253', 'unique-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['febf:ffff::1', 'link-local'],
      ['ff02::1', 'multicast'],
      ['ff0e::1', 'multicast'],
    ]);
  });

  it('treats IPv6 outside global unicast 2000::/3 as reserved', () => {
    expectReasons([
      ['::2', 'reserved'],
      ['::a00:1', 'reserved'], // deprecated IPv4-compatible form
      ['1fff:ffff::1', 'reserved'],
      ['4000::1', 'reserved'],
      ['fec0::1', 'reserved'], // deprecated site-local
    ]);
  });

  it('allows public IPv6 addresses', () => {
    expectReasons([
      ['2606:4700:4700::1111', null],
      ['2001:4860:4860::8888', null],
      ['2001:200::1', null], // just past 2001::/23
      ['2a00:1450:4001:80b::200e', null],
    ]);
  });
});

describe('IPv6 addresses that embed IPv4', () => {
  it('judges IPv4-mapped addresses as the IPv4 address, in any spelling', () => {
    expectReasons([
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:a00:1', 'private'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
      ['::ffff:169.254.169.254', 'metadata'],
      ['::ffff:0.0.0.0', 'unspecified'],
      ['::ffff:8.8.8.8', null],
    ]);
  });

  it('judges NAT64 and 6to4 addresses by the IPv4 address inside', () => {
    expectReasons([
      ['64:ff9b::10.0.0.1', 'private'],
      ['64:ff9b::7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'metadata'],
      ['64:ff9b::8.8.8.8', null],
      ['2002:a00:1::1', 'private'],
      ['2002:c0a8:101::', 'private'],
      ['2002:808:808::1', null],
    ]);
  });
});

describe('what is not an address', () => {
  it('fails closed', () => {
    expectReasons([
      ['example.com', 'invalid'],
      ['', 'invalid'],
      ['1.2.3.256', 'invalid'],
      ['010.0.0.1', 'invalid'],
      ['[::1]', 'invalid'],
    ]);
  });
});

describe('CIDR parsing and matching', () => {
  it('matches IPv4 and IPv6 blocks and nothing outside them', () => {
    const v4 = parseCidr('10.1.2.0/24');
    assert.ok(cidrContains(v4, '10.1.2.0'));
    assert.ok(cidrContains(v4, '10.1.2.255'));
    assert.ok(!cidrContains(v4, '10.1.3.0'));
    assert.ok(!cidrContains(v4, '10.1.1.255'));
    assert.ok(cidrContains(v4, '::ffff:10.1.2.9'), 'mapped IPv6 is the IPv4 address');
    const v6 = parseCidr('2001:db8:ab::/48');
    assert.ok(cidrContains(v6, '2001:db8:ab:ffff::1'));
    assert.ok(!cidrContains(v6, '2001:db8:ac::1'));
    assert.ok(!cidrContains(v6, '10.1.2.3'));
    assert.ok(!cidrContains(v4, 'not-an-ip'));
  });

  it('expands :: anywhere in an IPv6 address', () => {
    assert.deepEqual(parseCidr('::/0'), { family: 6, value: 0n, prefix: 0 });
    assert.deepEqual(parseCidr('1::/16'), { family: 6, value: 1n << 112n, prefix: 16 });
    assert.deepEqual(parseCidr('1:2::8/128').value, (1n << 112n) | (2n << 96n) | 8n);
    assert.deepEqual(parseCidr('::0.0.1.2/128').value, 0x102n);
  });

  it('reads a bare address as a single host and a mapped block as IPv4', () => {
    assert.deepEqual(parseCidr('192.0.2.7'), { family: 4, value: 0xc0000207n, prefix: 32 });
    assert.deepEqual(parseCidr('::1'), { family: 6, value: 1n, prefix: 128 });
    assert.deepEqual(parseCidr('::ffff:10.0.0.0/104'), { family: 4, value: 0x0a000000n, prefix: 8 });
  });

  it('rejects malformed blocks', () => {
    for (const bad of ['', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8x', 'host/8']) {
      assert.throws(() => parseCidr(bad), /Invalid CIDR/, bad);
    }
    assert.throws(() => parseCidr('10.1.2.5/24'), /bits are set/);
    assert.throws(() => parseCidr('fe80::1%eth0/128'), /Invalid CIDR/);
  });
});

describe('checkAddress with an allowlist', () => {
  it('permits forbidden addresses only inside the allowed blocks', () => {
    const policy: SsrfPolicy = { allow: ['127.0.0.0/8'], httpsOnly: false };
    assert.equal(checkAddress('127.0.0.1', policy), null);
    assert.equal(checkAddress('127.9.9.9', policy), null);
    assert.equal(checkAddress('::ffff:127.0.0.1', policy), null);
    assert.equal(checkAddress('10.0.0.1', policy), 'private');
    assert.equal(checkAddress('::1', policy), 'loopback');
    assert.equal(checkAddress('127.0.0.1', strict), 'loopback');
  });

  it('passes public addresses without any allowlist', () => {
    assert.equal(checkAddress('8.8.8.8', strict), null);
    assert.equal(checkAddress('2606:4700:4700::1111', strict), null);
  });

  it('narrows to exactly the allowed block', () => {
    const policy: SsrfPolicy = { allow: ['10.1.2.0/24', '::1/128'], httpsOnly: false };
    assert.equal(checkAddress('10.1.2.3', policy), null);
    assert.equal(checkAddress('10.1.3.3', policy), 'private');
    assert.equal(checkAddress('::1', policy), null);
    assert.equal(checkAddress('127.0.0.1', policy), 'loopback');
  });

  it('throws on an invalid allowlist entry', () => {
    assert.throws(
      () => checkAddress('8.8.8.8', { allow: ['10.0.0.0/99'], httpsOnly: false }),
      /Invalid CIDR/,
    );
  });
});

describe('validateEndpointUrl', () => {
  it('accepts ordinary public endpoints', () => {
    assert.equal(validateEndpointUrl('https://hooks.example.com/postback?x=1', strict), null);
    assert.equal(validateEndpointUrl('http://hooks.example.com:8080/p', strict), null);
    assert.equal(validateEndpointUrl('https://8.8.8.8/x', strict), null);
    assert.equal(validateEndpointUrl('https://[2606:4700:4700::1111]/x', strict), null);
  });

  it('refuses what does not parse, and schemes other than http(s)', () => {
    assert.match(validateEndpointUrl('not a url', strict) ?? '', /not valid/);
    assert.match(validateEndpointUrl('ftp://example.com/', strict) ?? '', /scheme/);
    assert.match(validateEndpointUrl('file:///etc/passwd', strict) ?? '', /scheme/);
    assert.match(validateEndpointUrl('gopher://example.com/', strict) ?? '', /scheme/);
  });

  it('refuses http when https is required', () => {
    const httpsOnly: SsrfPolicy = { allow: [], httpsOnly: true };
    assert.match(validateEndpointUrl('http://hooks.example.com/', httpsOnly) ?? '', /must be https/);
    assert.equal(validateEndpointUrl('https://hooks.example.com/', httpsOnly), null);
  });

  it('refuses credentials in the URL', () => {
    assert.match(validateEndpointUrl('https://user:pw@example.com/', strict) ?? '', /username or password/);
    assert.match(validateEndpointUrl('https://user@example.com/', strict) ?? '', /username or password/);
    assert.match(validateEndpointUrl('https://:pw@example.com/', strict) ?? '', /username or password/);
  });

  it('applies the address check to IP-literal hosts in every spelling', () => {
    assert.match(validateEndpointUrl('http://127.0.0.1/x', strict) ?? '', /loopback/);
    assert.match(validateEndpointUrl('http://2130706433/x', strict) ?? '', /loopback/);
    assert.match(validateEndpointUrl('http://0x7f.1/x', strict) ?? '', /loopback/);
    assert.match(validateEndpointUrl('http://169.254.169.254/latest/meta-data', strict) ?? '', /metadata/);
    assert.match(validateEndpointUrl('http://[::1]:8080/x', strict) ?? '', /loopback/);
    assert.match(validateEndpointUrl('http://[::ffff:10.0.0.1]/x', strict) ?? '', /private/);
    assert.match(validateEndpointUrl('http://[fd00:ec2::254]/x', strict) ?? '', /metadata/);
    assert.match(validateEndpointUrl('http://0.0.0.0:3000/', strict) ?? '', /unspecified/);
    assert.equal(validateEndpointUrl('http://127.0.0.1/x', loopbackAllowed), null);
    assert.equal(validateEndpointUrl('http://[::1]/x', loopbackAllowed), null);
  });

  it('refuses localhost names unless loopback is allowed', () => {
    for (const url of ['http://localhost:8080/x', 'http://LOCALHOST./x', 'http://api.localhost/x']) {
      assert.match(validateEndpointUrl(url, strict) ?? '', /this machine/, url);
      assert.equal(validateEndpointUrl(url, loopbackAllowed), null, url);
    }
    assert.equal(validateEndpointUrl('http://localhost/', { allow: ['::1/128'], httpsOnly: false }), null);
    assert.match(
      validateEndpointUrl('http://localhost/', { allow: ['10.0.0.0/8'], httpsOnly: false }) ?? '',
      /this machine/,
    );
  });

  it('refuses .local and .internal names unless the policy allows private ranges', () => {
    for (const url of [
      'http://printer.local/',
      'http://metadata.google.internal/',
      'http://svc.internal./',
    ]) {
      assert.match(validateEndpointUrl(url, strict) ?? '', /private network name/, url);
    }
    const inCluster: SsrfPolicy = { allow: ['10.0.0.0/8'], httpsOnly: false };
    assert.equal(validateEndpointUrl('http://receiver.default.svc.cluster.local/', inCluster), null);
    assert.equal(
      validateEndpointUrl('http://localhost.example.com/', strict),
      null,
      'only the suffix counts',
    );
  });
});

type LookupResult = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };

function callLookup(lookup: LookupFunction, host: string, all: boolean): Promise<LookupResult> {
  return new Promise((resolve) => {
    lookup(host, { all }, (err, address, family) => resolve({ err, address, family }));
  });
}

function fakeResolver(answers: Record<string, LookupAddress[]>, seen: string[] = []): ResolveAll {
  return (hostname, options, callback) => {
    seen.push(hostname);
    assert.equal(options.all, true);
    setImmediate(() => {
      const found = answers[hostname];
      if (found) return callback(null, found);
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, []);
    });
  };
}

describe('guardedLookup', () => {
  it('refuses localhost without an allowlist, with an error that is safe to log', async () => {
    for (const all of [true, false]) {
      const { err } = await callLookup(guardedLookup(strict), 'localhost', all);
      assert.ok(err instanceof SsrfBlockedError, `all=${all}`);
      assert.equal(err.code, 'ERR_SSRF_BLOCKED');
      assert.equal(err.reason, 'loopback');
      assert.equal(err.host, 'localhost');
      assert.match(err.message, /"localhost".*loopback/);
      assert.ok(!err.message.includes(err.address), 'the resolved address stays out of the message');
    }
  });

  it('resolves localhost when loopback is allowed, in both answer shapes', async () => {
    const lookup = guardedLookup(loopbackAllowed);
    const many = await callLookup(lookup, 'localhost', true);
    assert.equal(many.err, null);
    assert.ok(Array.isArray(many.address) && many.address.length > 0);
    for (const a of many.address) assert.match(a.address, /^(127\.|::1$)/);
    const one = await callLookup(lookup, 'localhost', false);
    assert.equal(one.err, null);
    assert.equal(typeof one.address, 'string');
    assert.match(one.address as string, /^(127\.|::1$)/);
    assert.ok(one.family === 4 || one.family === 6);
  });

  it('refuses a name when any of its addresses is forbidden (DNS rebinding)', async () => {
    const resolver = fakeResolver({
      'rebind.example': [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
      'meta.example': [{ address: '::ffff:169.254.169.254', family: 6 }],
    });
    const lookup = guardedLookup(strict, resolver);
    const rebind = await callLookup(lookup, 'rebind.example', false);
    assert.ok(rebind.err instanceof SsrfBlockedError);
    assert.equal(rebind.err.reason, 'private');
    assert.equal(rebind.err.address, '10.0.0.1');
    const meta = await callLookup(lookup, 'meta.example', true);
    assert.ok(meta.err instanceof SsrfBlockedError);
    assert.equal(meta.err.reason, 'metadata');
  });

  it('answers public names like dns.lookup: first address, or all of them', async () => {
    const addresses: LookupAddress[] = [
      { address: '2606:4700:4700::1111', family: 6 },
      { address: '1.1.1.1', family: 4 },
    ];
    const lookup = guardedLookup(strict, fakeResolver({ 'one.example': addresses }));
    assert.deepEqual(await callLookup(lookup, 'one.example', false), {
      err: null,
      address: '2606:4700:4700::1111',
      family: 6,
    });
    const all = await callLookup(lookup, 'one.example', true);
    assert.equal(all.err, null);
    assert.deepEqual(all.address, addresses);
  });

  it('checks IP-literal hostnames without asking DNS', async () => {
    const seen: string[] = [];
    const lookup = guardedLookup(strict, fakeResolver({}, seen));
    const blocked = await callLookup(lookup, '169.254.169.254', false);
    assert.ok(blocked.err instanceof SsrfBlockedError);
    assert.equal(blocked.err.reason, 'metadata');
    const blocked6 = await callLookup(lookup, '[::1]', true);
    assert.ok(blocked6.err instanceof SsrfBlockedError);
    assert.deepEqual(await callLookup(lookup, '8.8.8.8', false), {
      err: null,
      address: '8.8.8.8',
      family: 4,
    });
    assert.deepEqual(seen, []);
  });

  it('passes resolution errors through unchanged', async () => {
    const { err } = await callLookup(guardedLookup(strict, fakeResolver({})), 'nowhere.example', false);
    assert.ok(err && !(err instanceof SsrfBlockedError));
    assert.equal(err.code, 'ENOTFOUND');
  });

  it('treats an empty answer as not found rather than as allowed', async () => {
    const lookup = guardedLookup(strict, fakeResolver({ 'empty.example': [] }));
    const { err } = await callLookup(lookup, 'empty.example', true);
    assert.equal(err?.code, 'ENOTFOUND');
  });

  it('rejects an invalid allowlist when created', () => {
    assert.throws(() => guardedLookup({ allow: ['127.0.0.1/24'], httpsOnly: false }), /Invalid CIDR/);
  });
});

describe('guardedLookup on a real HTTP request', () => {
  let server: Server;
  let port: number;
  let hits = 0;

  before(async () => {
    server = createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  function request(policy: SsrfPolicy): Promise<{ status?: number; error?: NodeJS.ErrnoException }> {
    return new Promise((resolve) => {
      // `localhost`, not 127.0.0.1: Node calls `lookup` only for names. family 4 matches the listener.
      const req = get(
        { host: 'localhost', port, path: '/', family: 4, agent: false, lookup: guardedLookup(policy) },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    });
  }

  it('is refused before connecting when loopback is not allowed', async () => {
    const before = hits;
    const { status, error } = await request(strict);
    assert.equal(status, undefined);
    assert.ok(error instanceof SsrfBlockedError);
    assert.equal(error.code, 'ERR_SSRF_BLOCKED');
    assert.equal(hits, before, 'the server saw no request');
  });

  it('gets through when loopback is allowed', async () => {
    const before = hits;
    const { status, error } = await request(loopbackAllowed);
    assert.equal(error, undefined);
    assert.equal(status, 200);
    assert.equal(hits, before + 1);
  });
});
