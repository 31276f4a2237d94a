import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets stored at rest (upstream API keys). The key is derived from the
 * app secret with HKDF so that this key is never the JWT signing key itself; the `context`
 * (e.g. the row id) is authenticated, so a ciphertext copied to another row fails to open.
 * Rotating JWT_SECRET makes stored secrets unreadable: admins re-enter them.
 */
export class SecretBox {
  private static readonly VERSION = 'v1';
  private readonly key: Buffer;

  constructor(secret: string, purpose: string) {
    if (!secret) throw new Error('SecretBox needs a non-empty secret');
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `gremlins:${purpose}`, 32));
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${SecretBox.VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
  }

  /** Throws when the data was tampered with, sealed under another secret or another context. */
  open(sealed: string, context: string): string {
    const [version, payload] = sealed.split(':', 2);
    if (version !== SecretBox.VERSION || !payload) throw new Error('Unsupported sealed secret format');
    const raw = Buffer.from(payload, 'base64');
    if (raw.length < 28) throw new Error('Sealed secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
