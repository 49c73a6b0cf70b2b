/**
 * Encryption at rest and on the wire: AES-256-GCM with a keyring of named keys.
 *
 * - `createEncryptionCodec(keyring)`: a Temporal `PayloadCodec`, used alike by the client, the
 *   worker, the replayer and `longhaul codec-server`, so every payload Temporal stores (workflow
 *   input and result, activity inputs and results, signals, queries, updates, heartbeats, failure
 *   details) is ciphertext on the server.
 * - `encryptString` / `decryptString`: the same cipher for the transcript store
 *   (`store/encrypted-store.ts`), as text: `enc:v1:<keyId>:<base64(iv|ciphertext|tag)>`.
 *
 * Keys rotate: the first key of the keyring ("current") encrypts, every key in it decrypts, and
 * each ciphertext names the key it was made with.
 */
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './env.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
const ProtoPayload = proto.temporal.api.common.v1.Payload;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]+$/;
const STRING_PREFIX = 'enc:v1:';

export interface EncryptionKey {
  readonly id: string;
  readonly key: Buffer;
}

/** A ciphertext names a key this keyring does not hold (add the key back to read it). */
export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `encrypted with key "${keyId}", which is not in the keyring (LONGHAUL_ENCRYPTION_KEYS / LONGHAUL_ENCRYPTION_KEY_FILE)`,
    );
    this.name = 'UnknownKeyError';
  }
}

/** A ciphertext that is malformed or fails authentication: tampered with, truncated, or bound elsewhere. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** Named AES-256 keys; the first is the current one, used for everything new. */
export class Keyring {
  readonly current: EncryptionKey;
  private readonly byId: ReadonlyMap<string, Buffer>;

  constructor(keys: readonly EncryptionKey[]) {
    if (!keys.length) throw new Error('a keyring needs at least one key');
    const byId = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new Error(`key id ${JSON.stringify(id)} must match [A-Za-z0-9_-]+`);
      if (key.length !== KEY_BYTES)
        throw new Error(`key "${id}" is ${key.length} bytes; AES-256 needs exactly ${KEY_BYTES}`);
      if (byId.has(id)) throw new Error(`key id "${id}" appears twice`);
      byId.set(id, Buffer.from(key));
    }
    this.byId = byId;
    this.current = { id: keys[0]!.id, key: byId.get(keys[0]!.id)! };
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  /** The key named `id`; throws `UnknownKeyError` naming it when absent. */
  key(id: string): Buffer {
    const key = this.byId.get(id);
    if (!key) throw new UnknownKeyError(id);
    return key;
  }
}

/**
 * Parses `id:base64,id:base64,…` (commas and/or line breaks between entries; first = current).
 * Errors are one line naming `variable`, and never echo key material.
 */
export function parseKeyring(text: string, variable: string): Keyring {
  const entries = text
    .split(/[,\r\n]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const fail = (why: string): never => {
    throw new ConfigError(`${variable}: ${why}`);
  };
  if (!entries.length) fail('no keys; expected id:base64key[,id:base64key…] (first = current)');
  const keys: EncryptionKey[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon < 0) fail(`entry ${i + 1} is not id:base64key`);
    const id = entry.slice(0, colon).trim();
    const b64 = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) fail(`entry ${i + 1}: key id ${JSON.stringify(id)} must match [A-Za-z0-9_-]+`);
    if (seen.has(id)) fail(`key id "${id}" appears twice`);
    seen.add(id);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) fail(`key "${id}" is not base64`);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== KEY_BYTES)
      fail(`key "${id}" is ${key.length} bytes after base64 decoding; AES-256 needs exactly ${KEY_BYTES}`);
    keys.push({ id, key });
  });
  return new Keyring(keys);
}

/**
 * The keyring configured in the environment, or undefined when encryption is off. Reads
 * `LONGHAUL_ENCRYPTION_KEYS` or the file named by `LONGHAUL_ENCRYPTION_KEY_FILE` (same format);
 * throws `ConfigError` (one line, naming the variable) on a bad value.
 */
export function loadKeyring(env: {
  LONGHAUL_ENCRYPTION_KEYS?: string | undefined;
  LONGHAUL_ENCRYPTION_KEY_FILE?: string | undefined;
}): Keyring | undefined {
  const inline = env.LONGHAUL_ENCRYPTION_KEYS || undefined;
  const file = env.LONGHAUL_ENCRYPTION_KEY_FILE || undefined;
  if (inline && file)
    throw new ConfigError('LONGHAUL_ENCRYPTION_KEYS and LONGHAUL_ENCRYPTION_KEY_FILE are both set; set one');
  if (inline) return parseKeyring(inline, 'LONGHAUL_ENCRYPTION_KEYS');
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `LONGHAUL_ENCRYPTION_KEY_FILE=${JSON.stringify(file)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parseKeyring(text, `LONGHAUL_ENCRYPTION_KEY_FILE=${JSON.stringify(file)}`);
}

/** A fresh random key, base64: for `LONGHAUL_ENCRYPTION_KEYS=<id>:<this>`. */
export const generateKey = (): string => randomBytes(KEY_BYTES).toString('base64');

// ---------------------------------------------------------------------------------------------
// The cipher: iv (12 random bytes) | ciphertext | GCM tag (16 bytes); `aad` binds the ciphertext
// to where it belongs, so it cannot be moved elsewhere unnoticed.

function seal(key: Buffer, plaintext: Uint8Array, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Uint8Array, aad: string, keyId: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionError(`ciphertext under key "${keyId}" is truncated`);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptionError(
      `ciphertext under key "${keyId}" failed authentication: the data was altered, or the key with that id is not the one it was made with`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Strings, for the transcript store.

export const isEncryptedString = (text: string): boolean => text.startsWith(STRING_PREFIX);

/** `enc:v1:<keyId>:<base64>` under the current key; `context` (e.g. the blob's ref) is authenticated. */
export function encryptString(keyring: Keyring, plaintext: string, context = ''): string {
  const { id, key } = keyring.current;
  return `${STRING_PREFIX}${id}:${seal(key, Buffer.from(plaintext, 'utf8'), `${id}\n${context}`).toString('base64')}`;
}

/** The inverse of `encryptString`, with the same `context`; text without the prefix is returned as is. */
export function decryptString(keyring: Keyring, text: string, context = ''): string {
  if (!isEncryptedString(text)) return text;
  const rest = text.slice(STRING_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0) throw new DecryptionError('encrypted value has no key id');
  const id = rest.slice(0, colon);
  return open(keyring.key(id), Buffer.from(rest.slice(colon + 1), 'base64'), `${id}\n${context}`, id).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// The Temporal payload codec.

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null | undefined) =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : undefined;

class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keyring.current;
    return payloads.map((payload) => ({
      metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id) },
      // The whole payload (its metadata included) is the plaintext.
      data: new Uint8Array(seal(key, ProtoPayload.encode(payload).finish(), id)),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Anything not encrypted by this codec (e.g. a history written before encryption was on)
      // passes through unchanged.
      if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const id = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!id) throw new DecryptionError(`encrypted payload has no ${KEY_ID_METADATA} metadata`);
      const plain = open(this.keyring.key(id), payload.data ?? new Uint8Array(), id, id);
      return ProtoPayload.decode(plain);
    });
  }
}

export function createEncryptionCodec(keyring: Keyring): PayloadCodec {
  return new EncryptionCodec(keyring);
}

/** Moves failure messages and stack traces into a payload, so the codec encrypts them too. */
export const encodedFailureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/**
 * The data converter for `new Client`, `Worker.create` and `Worker.runReplayHistories`. The
 * workflow side of the failure converter is bundled (worker/bundle.ts: the encoded-failures bundle).
 */
export function encryptionDataConverter(keyring: Keyring): DataConverter {
  return { payloadCodecs: [createEncryptionCodec(keyring)], failureConverterPath: encodedFailureConverterPath };
}
