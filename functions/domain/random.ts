import { randomFillSync } from 'node:crypto';

/**
 * Cryptographically secure random bytes, drawn from the CSPRNG 4 KiB at a time. Each small
 * randomBytes() call is a getrandom() syscall, and a token costs three of them; batching keeps
 * the same source and hands every byte out once, copied, never reused.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

export function secureRandomBytes(size: number): Buffer {
  if (size > POOL_BYTES) return randomFillSync(Buffer.alloc(size));
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  // Spent bytes are wiped, so the pool never holds what was handed out.
  pool.fill(0, offset, offset + size);
  offset += size;
  return bytes;
}
