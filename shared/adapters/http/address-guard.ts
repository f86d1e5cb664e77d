import { promises as dnsPromises, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import type { TargetGuard } from "../../ports/index.js";

/** Resolves a host name to every address it has (IPv4 and IPv6, as the resolver orders them). */
export type Resolve = (host: string) => Promise<string[]>;

/** The `code` of the error the guarded lookup fails with; the sender maps it to `blocked_address`. */
export const BLOCKED_ADDRESS = "BLOCKED_ADDRESS";

export const defaultResolve: Resolve = async (host) => {
  const found = await dnsPromises.lookup(host, { all: true, verbatim: true });
  return found.map((entry) => entry.address);
};

// [network, prefix length] pairs of the contract's non-public IPv4 list.
const BLOCKED_IPV4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

const IPV4_RANGES = BLOCKED_IPV4.map(([network, bits]) => {
  // `>>> 0` keeps the masks unsigned so 224.0.0.0 and above compare correctly.
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ipv4ToInt(network) & mask) >>> 0, mask };
});

/** A dotted-quad already validated by `isIP` (so four decimal octets 0–255). */
function ipv4ToInt(ip: string): number {
  const parts = ip.split(".");
  return ((Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3])) >>> 0;
}

function isBlockedIPv4Int(value: number): boolean {
  for (const range of IPV4_RANGES) {
    if (((value & range.mask) >>> 0) === range.base) return true;
  }
  return false;
}

/** Eight 16-bit groups of an address already validated by `isIP` as IPv6. */
function ipv6ToGroups(ip: string): number[] {
  let text = ip;
  let v4Tail: number | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    // A dotted tail ("::ffff:1.2.3.4") stands for the last two groups; parse it apart and
    // leave a "0:0" placeholder so the hex parsing below still sees eight groups.
    v4Tail = ipv4ToInt(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const toGroups = (part: string): number[] => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const doubleColon = text.indexOf("::");
  let groups: number[];
  if (doubleColon === -1) {
    groups = toGroups(text);
  } else {
    const head = toGroups(text.slice(0, doubleColon));
    const rest = toGroups(text.slice(doubleColon + 2));
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  if (v4Tail !== null) {
    groups[6] = v4Tail >>> 16;
    groups[7] = v4Tail & 0xffff;
  }
  return groups;
}

function embeddedIPv4(high: number, low: number): number {
  return ((high << 16) | low) >>> 0;
}

function isBlockedIPv6(ip: string): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = ipv6ToGroups(ip);
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;

  // The IPv4-compatible ::a.b.c.d form; it also covers ::/128 and ::1/128, whose embedded
  // 0.0.0.0 and 0.0.0.1 sit in 0.0.0.0/8.
  if (firstFiveZero && g5 === 0) return isBlockedIPv4Int(embeddedIPv4(g6, g7));
  // IPv4-mapped ::ffff:a.b.c.d, in any spelling: the socket would reach the IPv4 address.
  if (firstFiveZero && g5 === 0xffff) return isBlockedIPv4Int(embeddedIPv4(g6, g7));
  // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765) and NAT64 64:ff9b::a.b.c.d (RFC 6052) also carry
  // an IPv4 address a gateway may forward to; refused only when that IPv4 address is itself non-public.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return isBlockedIPv4Int(embeddedIPv4(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isBlockedIPv4Int(embeddedIPv4(g6, g7));
  // 6to4 2002:aabb:ccdd::/48 embeds a.b.c.d right after the prefix; same reasoning.
  if (g0 === 0x2002) return isBlockedIPv4Int(embeddedIPv4(g1, g2));

  if ((g0 & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return true; // fe80::/10 link local
  if ((g0 & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  if (g0 === 0x2001 && g1 === 0x0db8) return true; // 2001:db8::/32 documentation
  return false;
}

function stripBrackets(ip: string): string {
  return ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
}

/**
 * True when the IPv4 or IPv6 literal (bracketed or not, with or without a zone id) is in the
 * contract's non-public list. Anything that is not an IP literal counts as blocked, so a
 * resolver answering garbage fails closed.
 */
export function isBlockedAddress(ip: string): boolean {
  let address = stripBrackets(ip.trim());
  const zone = address.indexOf("%");
  if (zone !== -1) address = address.slice(0, zone);
  switch (isIP(address)) {
    case 4:
      return isBlockedIPv4Int(ipv4ToInt(address));
    case 6:
      return isBlockedIPv6(address);
    default:
      return true;
  }
}

/**
 * `localhost` and every `*.localhost` name (RFC 6761), in any case, with any number of
 * trailing dots: the URL parser keeps `localhost..` as written, and a resolver may still
 * answer it with loopback, so `LocalHost..` is as local as `localhost.`.
 */
export function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.+$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

/**
 * The URL's host as a browser sees it: WHATWG parsing already turns `2130706433`, `0x7f.1`
 * and `017700000001` into `127.0.0.1`, and canonicalises IPv6. Brackets are removed.
 */
export function urlHost(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  return stripBrackets(parsed.hostname);
}

/**
 * Why a host (already out of a parsed URL) may not be connected to without looking it up,
 * or null when it is a public IP literal or a name that still needs resolving.
 */
export function literalHostReason(host: string): string | null {
  if (isIP(host) !== 0) return isBlockedAddress(host) ? `${host} is a non-public address.` : null;
  if (isLocalhostName(host)) return "localhost names are not allowed.";
  return null;
}

export interface TargetGuardOptions {
  allowPrivateTargets: boolean;
  resolve?: Resolve;
}

export function createTargetGuard(options: TargetGuardOptions): TargetGuard {
  const resolve = options.resolve ?? defaultResolve;
  return {
    async check(url) {
      if (options.allowPrivateTargets) return null;
      const host = urlHost(url);
      if (host === null || host === "") return "The URL has no valid host.";
      if (isIP(host) !== 0 || isLocalhostName(host)) return literalHostReason(host);
      let addresses: string[];
      try {
        addresses = await resolve(host);
      } catch {
        // The contract accepts a name that does not resolve yet; its attempts fail with dns_error.
        return null;
      }
      const blocked = addresses.find(isBlockedAddress);
      return blocked === undefined ? null : `${host} resolves to a non-public address (${blocked}).`;
    },
  };
}

function blockedError(message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message);
  error.code = BLOCKED_ADDRESS;
  return error;
}

function notFoundError(host: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${host} has no address.`);
  error.code = "ENOTFOUND";
  error.syscall = "getaddrinfo";
  return error;
}

export interface GuardedLookupOptions {
  resolve?: Resolve;
  /** When true the lookup only resolves (through the injected resolver) and refuses nothing. */
  allowPrivateTargets?: boolean;
}

/**
 * A `dns.lookup`-shaped hook for `net`/`tls`/undici `connect`. It checks every address the name
 * resolves to at the moment of connecting, so a name that was public when the webhook was saved
 * and now points inside (DNS rebinding) is refused before a single byte is sent.
 */
export function createGuardedLookup(options: GuardedLookupOptions = {}): LookupFunction {
  const resolve = options.resolve ?? defaultResolve;
  const allowPrivate = options.allowPrivateTargets === true;
  return (hostname: string, lookupOptions: LookupOptions, callback) => {
    const fail = (error: NodeJS.ErrnoException) => callback(error, lookupOptions?.all ? [] : "", undefined);
    if (!allowPrivate && isLocalhostName(hostname)) {
      process.nextTick(fail, blockedError("localhost names are not allowed."));
      return;
    }
    resolve(hostname).then(
      (addresses) => {
        if (!allowPrivate && addresses.some(isBlockedAddress)) {
          fail(blockedError(`${hostname} resolves to a non-public address.`));
          return;
        }
        const wanted = lookupOptions?.family === 4 || lookupOptions?.family === 6 ? lookupOptions.family : 0;
        const entries: LookupAddress[] = [];
        for (const address of addresses) {
          const family = isIP(stripBrackets(address));
          if (family !== 0 && (wanted === 0 || family === wanted)) entries.push({ address: stripBrackets(address), family });
        }
        const first = entries[0];
        if (first === undefined) {
          fail(notFoundError(hostname));
          return;
        }
        if (lookupOptions?.all) callback(null, entries);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        // Keep resolver errors recognisable as DNS failures even when a custom resolver throws a bare Error.
        fail(typeof code === "string" ? (error as NodeJS.ErrnoException) : notFoundError(hostname));
      },
    );
  };
}
