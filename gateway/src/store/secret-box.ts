/**
 * Secret values are sealed with AES-256-GCM before they reach the database. The key is
 * `SPINDLE_SECRET_KEY` when set (gateways sharing a database must share it), else `<dataDir>/secret-key`
 * (0600), generated on first start.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readOrCreatePrivate } from '../data-dir.ts';
import { SecretUnreadableError } from '../errors.ts';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** First byte of every sealed value: the layout `format | nonce | ciphertext | tag`. */
const FORMAT = 1;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const HOW = 'write 32 random bytes as base64 or hex, such as the output of `openssl rand -base64 32`';

/**
 * Seals and opens secret values with one key. Each value gets a random nonce and is bound to its
 * secret's name (additional data), so a value copied onto another row fails to open.
 * @example const box = new SecretBox(randomBytes(32)); box.open('db', box.seal('db', Buffer.from('pw')), box.keyId);
 */
export class SecretBox {
  /** A short public fingerprint of the key (16 hex), stored beside each value to tell a wrong key from damage. */
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`a secret key is ${KEY_BYTES} bytes, got ${key.length}`);
    // Derived keys, so the fingerprint reveals nothing about the encryption key.
    this.#key = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'spindle secret values v1', KEY_BYTES));
    this.keyId = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'spindle secret key id v1', 8)).toString('hex');
  }

  /** `value` encrypted for the secret `name`: format byte, nonce, ciphertext, tag. */
  seal(name: string, value: Buffer): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(additionalData(name));
    const body = Buffer.concat([cipher.update(value), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT), nonce, body, cipher.getAuthTag()]);
  }

  /** The plaintext of a value `seal(name, ...)` made under the key `keyId`; SecretUnreadableError naming the secret otherwise. */
  open(name: string, sealed: Buffer, keyId: string): Buffer {
    if (keyId !== this.keyId) {
      throw new SecretUnreadableError(
        name,
        `it was sealed with key ${keyId}, and this gateway's key is ${this.keyId}; gateways sharing a database must share SPINDLE_SECRET_KEY`,
      );
    }
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== FORMAT) throw new SecretUnreadableError(name, 'its stored value is not in a format this gateway knows');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(1, 1 + NONCE_BYTES));
      decipher.setAAD(additionalData(name));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new SecretUnreadableError(name, 'its stored value failed authentication (changed in the database, or sealed under another key with the same id)', err);
    }
  }
}

const additionalData = (name: string) => Buffer.from(`spindle secret\0${name}`);

/**
 * The box for `SPINDLE_SECRET_KEY` (`fromEnv`) if given, else for `<dataDir>/secret-key`, generated
 * (mode 0600) on first start. Errors name where the key came from, never the key.
 */
export async function loadSecretBox(dataDir: string, fromEnv: string | undefined): Promise<SecretBox> {
  if (fromEnv) return new SecretBox(parseKey(fromEnv, 'SPINDLE_SECRET_KEY'));
  const file = join(dataDir, 'secret-key');
  const text = await readOrCreatePrivate(file, () => randomBytes(KEY_BYTES).toString('base64'));
  // A copy restored from a backup may have come back readable by others.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return new SecretBox(parseKey(text, file));
}

function parseKey(text: string, source: string): Buffer {
  const t = text.trim();
  const key = HEX_KEY.test(t) ? Buffer.from(t, 'hex') : BASE64_KEY.test(t) ? Buffer.from(t, 'base64') : null;
  if (key?.length !== KEY_BYTES) throw new Error(`${source} is not a secret key: ${HOW}`);
  return key;
}
