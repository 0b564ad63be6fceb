/**
 * Downloads kept in the browser's Cache Storage by their sha256, so that the engine crosses the
 * network once per browser until it changes, however many components and reloads, and an
 * unchanged model is not downloaded twice.
 *
 * The host frame has the app's origin, so the cache is the app's; it holds the engine and the
 * models, never a person's file (the sandbox, where files are, has no storage at all). A
 * cached copy is hashed again when it is read and used only if it still has the sha256 it is
 * filed under. Where the page has no Cache Storage (plain HTTP on another host than localhost),
 * every download goes to the network, as before.
 */
import { sha256Hex } from "./sha256";

async function openCache(name: string): Promise<Cache | null> {
  try {
    return "caches" in self ? await caches.open(name) : null;
  } catch {
    // Storage refused (a private window's quota, a policy): download instead.
    return null;
  }
}

const keyOf = (sha256: string) => new URL(`ssc-content/${sha256}`, location.href).href;

/**
 * The bytes whose sha256 is `sha256`: from cache `name` when it holds them intact, else from
 * `download`, then stored when they have that sha256. Components of one page asking for the
 * same content at once take turns (a Web Lock), so only the first downloads it.
 */
export async function cached(name: string, sha256: string, download: () => Promise<ArrayBuffer>): Promise<ArrayBuffer> {
  const work = async (): Promise<ArrayBuffer> => {
    const cache = await openCache(name);
    const hit = await cache?.match(keyOf(sha256));
    if (cache && hit) {
      const bytes = await hit.arrayBuffer();
      if ((await sha256Hex(bytes)) === sha256) return bytes;
      await cache.delete(keyOf(sha256));
    }
    const bytes = await download();
    if (cache && (await sha256Hex(bytes)) === sha256) {
      await cache.put(keyOf(sha256), new Response(bytes.slice(0))).catch(() => undefined);
    }
    return bytes;
  };
  return "locks" in navigator ? navigator.locks.request(`ssc-content-${sha256}`, work) : work();
}

/** Drops every entry of cache `name` but those of `keep` (an engine that changed). */
export async function keepOnly(name: string, keep: string[]): Promise<void> {
  const cache = await openCache(name);
  if (!cache) return;
  const wanted = new Set(keep.map(keyOf));
  for (const request of await cache.keys()) if (!wanted.has(request.url)) await cache.delete(request);
}
