import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'write' | 'admin' | 'read';

/**
 * API keys and what each may do. `write` keys send events; `admin` keys do everything; `read` keys
 * (dashboards) may read and stream, never write or delete. Keys are compared as SHA-256 digests in
 * constant time and never logged.
 */
export class KeyRing {
  private readonly digests: Array<{ digest: Buffer; role: Role }> = [];

  constructor(keys: { write?: string[] | undefined; admin?: string[] | undefined; read?: string[] | undefined }) {
    for (const role of ['write', 'admin', 'read'] as const) {
      for (const k of keys[role] ?? []) this.digests.push({ digest: digest(k), role });
    }
  }

  /** The role of a presented key, or undefined. */
  roleOf(key: string | undefined): Role | undefined {
    if (!key) return undefined;
    const d = digest(key);
    let found: Role | undefined;
    for (const entry of this.digests) if (timingSafeEqual(entry.digest, d)) found ??= entry.role;
    return found;
  }

  /** Whether a key with `role` may perform an action that needs `need`. */
  static allows(role: Role | undefined, need: Role): boolean {
    if (!role) return false;
    if (role === 'admin') return true;
    return role === need;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The key of `Authorization: Bearer <key>`, or of Basic auth with the key as the user name. */
export function keyFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const user = decoded.split(':', 1)[0];
    return user || undefined;
  }
  return undefined;
}
