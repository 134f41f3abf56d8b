import type { Unseal } from '../domain/seal.js';

/**
 * A decorator for `unseal` on the service-token cache's path: a warm process opens each cached
 * token once, then answers from memory. The use case still reads the cache entry from the store
 * on every request, so a revoked or replaced token is never served; this only skips decrypting
 * the same ciphertext again. Remembered per key material (a reloaded key is a new Buffer, so a
 * rotation starts afresh) and per context, as `unseal` itself would answer. A string key (a
 * consumed refresh token) is used once and passes straight through. Process memory, bounded,
 * never persisted.
 */
export function memoisedUnseal(inner: Unseal, maxEntries = 1000): Unseal {
  const opened = new WeakMap<Buffer, Map<string, string>>();
  return (sealed, ikm, context) => {
    if (typeof ikm === 'string') return inner(sealed, ikm, context);
    let memo = opened.get(ikm);
    if (!memo) {
      memo = new Map();
      opened.set(ikm, memo);
    }
    const key = `${context}\n${sealed}`;
    const remembered = memo.get(key);
    if (remembered !== undefined) return remembered;
    const plaintext = inner(sealed, ikm, context);
    if (plaintext !== undefined) {
      if (memo.size >= maxEntries) memo.clear();
      memo.set(key, plaintext);
    }
    return plaintext;
  };
}
