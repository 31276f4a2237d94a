import { isEmail } from 'class-validator';

/** What we keep of a provider's answer: enough to find, link or create an account. */
export interface OidcIdentity {
  /** `issuer|sub`: `sub` alone is only unique within one issuer. */
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string;
}

const MAX_SUBJECT_LENGTH = 512;
const MAX_EMAIL_LENGTH = 320;
const MAX_NAME_LENGTH = 120;

/**
 * Turns validated ID token and userinfo claims into an identity, or null when the claims
 * cannot name an account. Claims come from a provider we trust for who the user is, yet
 * their shape is still untrusted input: types and lengths are checked here.
 */
export function identityFromClaims(claims: Record<string, unknown>): OidcIdentity | null {
  const { iss, sub } = claims;
  if (typeof iss !== 'string' || typeof sub !== 'string' || !iss || !sub) return null;
  const subject = `${iss}|${sub}`;
  if (subject.length > MAX_SUBJECT_LENGTH) return null;
  const email = normaliseEmail(claims.email);
  return {
    subject,
    email,
    // Some providers (AWS Cognito among them) send the boolean as a string.
    emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === 'true'),
    name: displayName(claims, email),
  };
}

function normaliseEmail(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const email = value.trim().toLowerCase();
  return email.length <= MAX_EMAIL_LENGTH && isEmail(email) ? email : null;
}

function displayName(claims: Record<string, unknown>, email: string | null): string {
  const given = [claims.given_name, claims.family_name].filter((part) => typeof part === 'string').join(' ');
  const candidates = [claims.name, given, claims.preferred_username, email?.split('@')[0]];
  for (const candidate of candidates) {
    if (typeof candidate !== 'string') continue;
    // eslint-disable-next-line no-control-regex
    const cleaned = candidate.replace(/[\u0000-\u001f\u007f]/g, '').trim();
    if (cleaned) return cleaned.slice(0, MAX_NAME_LENGTH);
  }
  return 'OIDC user';
}
