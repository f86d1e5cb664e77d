import type { LookupAddress } from "node:dns";
import { describe, expect, it, vi } from "vitest";
import {
  BLOCKED_ADDRESS,
  createGuardedLookup,
  createTargetGuard,
  isBlockedAddress,
  isLocalhostName,
  type Resolve,
} from "../../shared/adapters/http/address-guard.js";

/** A resolver that fails the test if anything asks it: literals and localhost names must not be looked up. */
function forbiddenResolver(): Resolve & ReturnType<typeof vi.fn> {
  return vi.fn(async (host: string) => {
    throw new Error(`unexpected lookup of ${host}`);
  });
}

function resolverOf(table: Record<string, string[]>): Resolve {
  return async (host) => {
    const found = table[host];
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return found;
  };
}

describe("isBlockedAddress", () => {
  // Each range: its first and last address inside, and the neighbours just outside.
  const ipv4: Array<[string, boolean]> = [
    ["0.0.0.0", true],
    ["0.255.255.255", true],
    ["1.0.0.0", false],
    ["9.255.255.255", false],
    ["10.0.0.0", true],
    ["10.255.255.255", true],
    ["11.0.0.0", false],
    ["100.63.255.255", false],
    ["100.64.0.0", true],
    ["100.127.255.255", true],
    ["100.128.0.0", false],
    ["126.255.255.255", false],
    ["127.0.0.0", true],
    ["127.0.0.1", true],
    ["127.255.255.255", true],
    ["128.0.0.0", false],
    ["169.253.255.255", false],
    ["169.254.0.0", true],
    ["169.254.169.254", true],
    ["169.254.255.255", true],
    ["169.255.0.0", false],
    ["172.15.255.255", false],
    ["172.16.0.0", true],
    ["172.31.255.255", true],
    ["172.32.0.0", false],
    ["191.255.255.255", false],
    ["192.0.0.0", true],
    ["192.0.0.255", true],
    ["192.0.1.0", false],
    ["192.0.1.255", false],
    ["192.0.2.0", true],
    ["192.0.2.255", true],
    ["192.0.3.0", false],
    ["192.167.255.255", false],
    ["192.168.0.0", true],
    ["192.168.255.255", true],
    ["192.169.0.0", false],
    ["198.17.255.255", false],
    ["198.18.0.0", true],
    ["198.19.255.255", true],
    ["198.20.0.0", false],
    ["198.51.99.255", false],
    ["198.51.100.0", true],
    ["198.51.100.255", true],
    ["198.51.101.0", false],
    ["203.0.112.255", false],
    ["203.0.113.0", true],
    ["203.0.113.255", true],
    ["203.0.114.0", false],
    ["223.255.255.255", false],
    ["224.0.0.0", true],
    ["239.255.255.255", true],
    ["240.0.0.0", true],
    ["255.255.255.255", true],
    ["93.184.216.34", false],
    ["8.8.8.8", false],
    ["1.1.1.1", false],
  ];

  it.each(ipv4)("classifies IPv4 %s as blocked=%s", (ip, blocked) => {
    // Act + Assert
    expect(isBlockedAddress(ip)).toBe(blocked);
  });

  const ipv6: Array<[string, boolean]> = [
    ["::", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["[::1]", true],
    ["fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false],
    ["fc00::", true],
    ["fd12:3456:789a::1", true],
    ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false],
    ["fe80::", true],
    ["fe80::1%eth0", true],
    ["febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["ff00::", true],
    ["ff02::1", true],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false],
    ["2001:db8::", true],
    ["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["2001:db9::", false],
    ["2606:4700::1111", false],
    ["[2606:4700::1111]", false],
    ["2001:4860:4860::8888", false],
  ];

  it.each(ipv6)("classifies IPv6 %s as blocked=%s", (ip, blocked) => {
    expect(isBlockedAddress(ip)).toBe(blocked);
  });

  const embedded: Array<[string, boolean]> = [
    // IPv4-mapped, dotted and hex spellings, compressed or not, any case.
    ["::ffff:127.0.0.1", true],
    ["::ffff:7f00:1", true],
    ["::FFFF:7F00:0001", true],
    ["0:0:0:0:0:ffff:7f00:1", true],
    ["[::ffff:127.0.0.1]", true],
    ["::ffff:10.1.2.3", true],
    ["::ffff:a01:203", true],
    ["::ffff:169.254.169.254", true],
    ["::ffff:a9fe:a9fe", true],
    ["::ffff:100.64.0.1", true],
    ["::ffff:0.0.0.0", true],
    ["::ffff:255.255.255.255", true],
    ["::ffff:93.184.216.34", false],
    ["::ffff:5db8:d822", false],
    // IPv4-compatible.
    ["::127.0.0.1", true],
    ["::7f00:1", true],
    ["::10.0.0.1", true],
    ["::a00:1", true],
    ["::192.168.1.1", true],
    ["::93.184.216.34", false],
    // Further embeddings that a gateway may turn into the IPv4 address.
    ["64:ff9b::127.0.0.1", true],
    ["64:ff9b::a9fe:a9fe", true],
    ["64:ff9b::93.184.216.34", false],
    ["::ffff:0:127.0.0.1", true],
    ["2002:7f00:1::", true],
    ["2002:5db8:d822::1", false],
  ];

  it.each(embedded)("classifies the IPv4-embedding IPv6 %s as blocked=%s", (ip, blocked) => {
    expect(isBlockedAddress(ip)).toBe(blocked);
  });

  it.each(["example.com", "", "127.0.0.1.5", "1::2::3"])("fails closed on %j, which is not an IP literal", (input) => {
    expect(isBlockedAddress(input)).toBe(true);
  });
});

describe("isLocalhostName", () => {
  it.each([
    ["localhost", true],
    ["LOCALHOST", true],
    ["localhost.", true],
    ["localhost..", true],
    ["LocalHost..", true],
    ["localhost...", true],
    ["api.localhost..", true],
    ["api.localhost", true],
    ["a.b.localhost", true],
    ["localhost.example.com", false],
    ["notlocalhost", false],
    ["notlocalhost..", false],
    ["localhost..example.com", false],
    ["example.com", false],
  ])("treats %s as a localhost name: %s", (host, expected) => {
    expect(isLocalhostName(host)).toBe(expected);
  });
});

describe("WHATWG host parsing", () => {
  // The guard relies on Node's URL doing what a browser does with numeric hosts.
  it.each([
    ["http://2130706433/", "127.0.0.1"],
    ["http://0x7f.1/", "127.0.0.1"],
    ["http://017700000001/", "127.0.0.1"],
    ["http://0177.0.0.1/", "127.0.0.1"],
    ["http://127.1/", "127.0.0.1"],
    ["http://0x7f000001/", "127.0.0.1"],
    ["http://0/", "0.0.0.0"],
    ["http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"],
    ["http://[0:0:0:0:0:ffff:7f00:1]/", "[::ffff:7f00:1]"],
  ])("parses %s to the host %s", (url, host) => {
    expect(new URL(url).hostname).toBe(host);
  });
});

describe("createTargetGuard", () => {
  it.each([
    "http://127.0.0.1/",
    "https://2130706433/",
    "https://0x7f.1/",
    "https://017700000001/",
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::1]:8443/hook",
    "https://[::]/",
    "https://[fe80::1]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.8/hook",
    "https://0/",
  ])("refuses %s without looking anything up", async (url) => {
    // Arrange
    const resolve = forbiddenResolver();
    const guard = createTargetGuard({ allowPrivateTargets: false, resolve });

    // Act
    const reason = await guard.check(url);

    // Assert
    expect(reason).toMatch(/non-public/);
    expect(resolve).not.toHaveBeenCalled();
  });

  it.each(["https://localhost/", "https://LOCALHOST:3000/", "https://localhost./", "https://LocalHost..", "https://LocalHost../hook", "https://api.localhost/hook", "https://a.b.localhost/"])(
    "refuses the localhost name in %s without a lookup",
    async (url) => {
      // Arrange
      const resolve = forbiddenResolver();
      const guard = createTargetGuard({ allowPrivateTargets: false, resolve });

      // Act
      const reason = await guard.check(url);

      // Assert
      expect(reason).toMatch(/localhost/);
      expect(resolve).not.toHaveBeenCalled();
    },
  );

  it.each(["https://93.184.216.34/hook", "https://[2606:4700::1111]/hook", "https://8.8.8.8:8443/"])("accepts the public address in %s", async (url) => {
    const guard = createTargetGuard({ allowPrivateTargets: false, resolve: forbiddenResolver() });

    expect(await guard.check(url)).toBeNull();
  });

  it("accepts a name whose every address is public", async () => {
    const guard = createTargetGuard({
      allowPrivateTargets: false,
      resolve: resolverOf({ "hooks.example.com": ["93.184.216.34", "2606:4700::1111"] }),
    });

    expect(await guard.check("https://hooks.example.com/in")).toBeNull();
  });

  it.each([
    [["10.0.0.5"]],
    [["93.184.216.34", "192.168.1.10"]],
    [["2606:4700::1111", "::1"]],
    [["::ffff:127.0.0.1"]],
    [["169.254.169.254"]],
  ])("refuses a name when any of its addresses %j is non-public", async (addresses) => {
    // Arrange
    const guard = createTargetGuard({ allowPrivateTargets: false, resolve: resolverOf({ "inside.example.com": addresses }) });

    // Act
    const reason = await guard.check("https://inside.example.com/");

    // Assert
    expect(reason).toMatch(/inside\.example\.com resolves to a non-public address/);
  });

  it("sends a name that is not an IP or localhost to the resolver, even when it mentions localhost", async () => {
    // Arrange
    const resolve = vi.fn(resolverOf({ "localhost.example.com": ["93.184.216.34"] }));
    const guard = createTargetGuard({ allowPrivateTargets: false, resolve });

    // Act
    const reason = await guard.check("https://localhost.example.com/");

    // Assert
    expect(reason).toBeNull();
    expect(resolve).toHaveBeenCalledWith("localhost.example.com");
  });

  it("accepts a name that does not resolve, leaving the attempts to fail with dns_error", async () => {
    const guard = createTargetGuard({ allowPrivateTargets: false, resolve: resolverOf({}) });

    expect(await guard.check("https://not-yet.example.com/")).toBeNull();
  });

  it("accepts a name that resolves to no address at all", async () => {
    const guard = createTargetGuard({ allowPrivateTargets: false, resolve: resolverOf({ "empty.example.com": [] }) });

    expect(await guard.check("https://empty.example.com/")).toBeNull();
  });

  it("refuses a URL it cannot parse", async () => {
    const guard = createTargetGuard({ allowPrivateTargets: false, resolve: forbiddenResolver() });

    expect(await guard.check("not a url")).toMatch(/valid host/);
  });

  it.each(["http://127.0.0.1:3000/", "http://localhost/", "https://[::1]/", "https://inside.example.com/"])(
    "allows %s when private targets are allowed, without a lookup",
    async (url) => {
      const resolve = forbiddenResolver();
      const guard = createTargetGuard({ allowPrivateTargets: true, resolve });

      expect(await guard.check(url)).toBeNull();
      expect(resolve).not.toHaveBeenCalled();
    },
  );
});

describe("createGuardedLookup", () => {
  type LookupResult = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family: number | undefined };

  function runLookup(lookup: ReturnType<typeof createGuardedLookup>, host: string, options: { all?: boolean; family?: number }): Promise<LookupResult> {
    return new Promise((resolve) => {
      lookup(host, options, (error, address, family) => resolve({ error, address, family }));
    });
  }

  it("answers every public address when net asks for all of them", async () => {
    // Arrange
    const lookup = createGuardedLookup({ resolve: resolverOf({ "hooks.example.com": ["93.184.216.34", "2606:4700::1111"] }) });

    // Act
    const result = await runLookup(lookup, "hooks.example.com", { all: true });

    // Assert
    expect(result.error).toBeNull();
    expect(result.address).toEqual([
      { address: "93.184.216.34", family: 4 },
      { address: "2606:4700::1111", family: 6 },
    ]);
  });

  it("answers the first address of the wanted family when net asks for one", async () => {
    // Arrange
    const lookup = createGuardedLookup({ resolve: resolverOf({ "hooks.example.com": ["2606:4700::1111", "93.184.216.34"] }) });

    // Act
    const result = await runLookup(lookup, "hooks.example.com", { family: 4 });

    // Assert
    expect(result).toEqual({ error: null, address: "93.184.216.34", family: 4 });
  });

  it("fails with BLOCKED_ADDRESS when any address is non-public", async () => {
    // Arrange
    const lookup = createGuardedLookup({ resolve: resolverOf({ "rebind.example.com": ["93.184.216.34", "127.0.0.1"] }) });

    // Act
    const result = await runLookup(lookup, "rebind.example.com", { all: true });

    // Assert
    expect(result.error?.code).toBe(BLOCKED_ADDRESS);
  });

  it("fails with BLOCKED_ADDRESS for a localhost name without resolving it", async () => {
    // Arrange
    const resolve = forbiddenResolver();
    const lookup = createGuardedLookup({ resolve });

    // Act
    const result = await runLookup(lookup, "api.localhost", {});

    // Assert
    expect(result.error?.code).toBe(BLOCKED_ADDRESS);
    expect(resolve).not.toHaveBeenCalled();
  });

  it("passes the resolver's DNS error on", async () => {
    // Arrange
    const lookup = createGuardedLookup({ resolve: resolverOf({}) });

    // Act
    const result = await runLookup(lookup, "nowhere.example.com", { all: true });

    // Assert
    expect(result.error?.code).toBe("ENOTFOUND");
  });

  it("reports a name with no address as ENOTFOUND", async () => {
    // Arrange
    const lookup = createGuardedLookup({ resolve: resolverOf({ "empty.example.com": [] }) });

    // Act
    const result = await runLookup(lookup, "empty.example.com", {});

    // Assert
    expect(result.error?.code).toBe("ENOTFOUND");
  });

  it("resolves private addresses without refusing them when private targets are allowed", async () => {
    // Arrange
    const lookup = createGuardedLookup({ allowPrivateTargets: true, resolve: resolverOf({ "receiver.test": ["127.0.0.1"] }) });

    // Act
    const result = await runLookup(lookup, "receiver.test", {});

    // Assert
    expect(result).toEqual({ error: null, address: "127.0.0.1", family: 4 });
  });
});
