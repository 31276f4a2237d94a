import { describe, expect, it } from 'vitest';
import { identityFromClaims } from 'src/modules/auth/oidc/oidc-identity';

const ISSUER = 'https://id.example.com/realms/main';

describe('identityFromClaims', () => {
  it('keys the identity by issuer and subject and normalises the email', () => {
    expect(identityFromClaims({ iss: ISSUER, sub: '42', email: ' Ada@Example.COM ', email_verified: true, name: 'Ada Lovelace' })).toEqual({
      subject: `${ISSUER}|42`,
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada Lovelace',
    });
  });

  it.each([
    [true, true],
    ['true', true],
    [false, false],
    ['false', false],
    [1, false],
    [undefined, false],
  ])('reads email_verified %j as %j', (claim, expected) => {
    expect(identityFromClaims({ iss: ISSUER, sub: '1', email: 'a@example.com', email_verified: claim })?.emailVerified).toBe(expected);
  });

  it('drops an email that is not one, and never calls a missing email verified', () => {
    for (const email of ['not-an-email', 42, `${'a'.repeat(320)}@example.com`, undefined]) {
      expect(identityFromClaims({ iss: ISSUER, sub: '1', email, email_verified: true })).toMatchObject({
        email: null,
        emailVerified: false,
      });
    }
  });

  it('falls back through name, given and family names, preferred_username and the email', () => {
    const base = { iss: ISSUER, sub: '1' };
    expect(identityFromClaims({ ...base, given_name: 'Grace', family_name: 'Hopper' })?.name).toBe('Grace Hopper');
    expect(identityFromClaims({ ...base, preferred_username: 'ghopper' })?.name).toBe('ghopper');
    expect(identityFromClaims({ ...base, email: 'grace@example.com' })?.name).toBe('grace');
    expect(identityFromClaims({ ...base, name: '\u0000\u001f ' })?.name).toBe('OIDC user');
    expect(identityFromClaims({ ...base, name: 'x'.repeat(500) })?.name).toHaveLength(120);
  });

  it('refuses claims that cannot name an account', () => {
    expect(identityFromClaims({ sub: '1' })).toBeNull();
    expect(identityFromClaims({ iss: ISSUER, sub: '' })).toBeNull();
    expect(identityFromClaims({ iss: ISSUER, sub: 7 })).toBeNull();
    expect(identityFromClaims({ iss: ISSUER, sub: 'x'.repeat(600) })).toBeNull();
  });
});
