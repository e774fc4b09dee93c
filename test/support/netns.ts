import { run } from './tools.js';

/**
 * A network namespace of a test's own, joined to the host by a veth pair on a /30 of 198.18.0.0/15 (the
 * range reserved for network tests): the host end has `hostAddress`, the namespace end `nsAddress`; `lo` is
 * up inside. What runs in it (`command`) listens on the namespace's addresses only, and reaches the host
 * (and is reached) through the veth alone: the namespace has no other route. Needs root.
 */
export interface Netns {
  /** `<prefix>-<pid>-<n>`. */
  name: string;
  /** The host end's address, e.g. 198.18.0.5. */
  hostAddress: string;
  /** The namespace end's address, e.g. 198.18.0.6. */
  nsAddress: string;
  /** The namespace end's interface name. */
  nsInterface: string;
  /** The program and arguments that run `cmd args` inside the namespace (`ip netns exec`, which execs it). */
  command(cmd: string, args: string[]): [string, string[]];
  /** Deletes the namespace and the veth pair; idempotent. Stop what runs inside first. */
  delete(): Promise<void>;
}

/** The /15's /30 subnets: 2^17 / 4. */
const SUBNETS = 32768;
const BASE = ((198 << 24) | (18 << 16)) >>> 0;
const dotted = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

let created = 0;

async function ip(...args: string[]): Promise<string> {
  const result = await run('ip', args, { timeoutMs: 20_000 });
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Namespaces `<prefix>-<pid>-<n>` left by a run that died (its pid is gone), and one of this very name: a
 * crashed run must not break the next. Deleting a namespace deletes its veth pair with it.
 */
async function removeLeftovers(prefix: string, name: string): Promise<void> {
  const pattern = new RegExp(`^${prefix}-(\\d+)-\\d+$`);
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const listed = line.split(' ')[0] ?? '';
    const pid = pattern.exec(listed)?.[1];
    if (listed === name || (pid !== undefined && !alive(Number(pid))))
      await run('ip', ['netns', 'delete', listed]);
  }
}

/** Creates the namespace and its veth pair; on failure removes whatever part it made. */
export async function createNetns(prefix: string): Promise<Netns> {
  const n = created++;
  const name = `${prefix}-${process.pid}-${n}`;
  await removeLeftovers(prefix, name);
  // a /30 no interface on the host uses yet, starting from one this process and instance make likely free
  const links = await ip('-o', 'link');
  const addresses = await ip('-o', '-4', 'addr');
  let index = (process.pid * 8 + n) % SUBNETS;
  const hostVeth = (i: number): string => `sfv${i}h`;
  for (
    let tries = 0;
    links.includes(` ${hostVeth(index)}@`) || addresses.includes(` ${dotted(BASE + index * 4 + 1)}/`);
    tries++
  ) {
    if (tries === SUBNETS) throw new Error('no free /30 in 198.18.0.0/15');
    index = (index + 1) % SUBNETS;
  }
  const hostAddress = dotted(BASE + index * 4 + 1);
  const nsAddress = dotted(BASE + index * 4 + 2);
  const host = hostVeth(index);
  const inside = `sfv${index}n`;

  let deleted: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (deleted ??= (async () => {
      await run('ip', ['netns', 'delete', name]);
      // the namespace's end goes with it, and the pair with that end; the host end only if it was never moved
      if ((await run('ip', ['link', 'show', host])).code === 0) await run('ip', ['link', 'delete', host]);
    })());

  try {
    await ip('netns', 'add', name);
    await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', inside);
    await ip('link', 'set', inside, 'netns', name);
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', host);
    await ip('link', 'set', host, 'up');
    await ip('-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', inside);
    await ip('-n', name, 'link', 'set', inside, 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    name,
    hostAddress,
    nsAddress,
    nsInterface: inside,
    command: (cmd, args) => ['ip', ['netns', 'exec', name, cmd, ...args]],
    delete: remove,
  };
}

/**
 * A veth pair between two namespaces, `<name>a` in `a` with `aAddress`/30 and `<name>b` in `b` with
 * `bAddress`/30, both up: a link of their own that the host has no part in. It goes when either namespace is
 * deleted; on failure, a pair still in the host is removed.
 */
export async function linkNetns(
  name: string,
  a: Netns,
  aAddress: string,
  b: Netns,
  bAddress: string,
): Promise<void> {
  const [ea, eb] = [`${name}a`, `${name}b`];
  try {
    await ip('link', 'add', ea, 'type', 'veth', 'peer', 'name', eb);
    await ip('link', 'set', ea, 'netns', a.name);
    await ip('link', 'set', eb, 'netns', b.name);
    for (const [ns, dev, address] of [
      [a, ea, aAddress],
      [b, eb, bAddress],
    ] as const) {
      await ip('-n', ns.name, 'addr', 'add', `${address}/30`, 'dev', dev);
      await ip('-n', ns.name, 'link', 'set', dev, 'up');
    }
  } catch (error) {
    for (const end of [ea, eb])
      if ((await run('ip', ['link', 'show', end])).code === 0) await run('ip', ['link', 'delete', end]);
    throw error;
  }
}
