/**
 * Passwords and session tokens for the review app. Passwords are hashed with scrypt (memory-hard,
 * built into Node: no native dependency to install) at N = 2^15, r = 8, p = 1 — 32 MiB and tens of
 * milliseconds per guess — and stored as `scrypt$N$r$p$salt$hash`, so the parameters can be raised
 * later without invalidating old hashes. Session tokens are 256 random bits; only their SHA-256 is
 * stored, so a copy of the database does not let anyone log in.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const PARAMS = { N: 1 << 15, r: 8, p: 1 };
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, KEYLEN, { ...o, maxmem: 128 * o.N! * o.r! * 2 }, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  if (password.length < 8) throw new RangeError("a password needs at least 8 characters");
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Constant-time check of a password against a stored hash (false for a malformed hash). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4]!, "base64");
  const want = Buffer.from(parts[5]!, "base64");
  const got = await scryptAsync(password, salt, { N: N!, r: r!, p: p! });
  return got.length === want.length && timingSafeEqual(got, want);
}

export const newToken = (): string => randomBytes(32).toString("base64url");
export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");

/** Equal-length constant-time string comparison (CSRF tokens). */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
