import { describe, expect, test } from 'vitest';
import { mergePreferences, profileChanges } from './profile-changes.ts';
import { MAX_PREFERENCES } from './profile-schemas.ts';

function refusal(run: () => unknown): { status?: number; code?: string; field?: string } {
  try {
    run();
  } catch (error) {
    const { statusCode, code, field } = error as { statusCode?: number; code?: string; field?: string };
    return { status: statusCode, code, field };
  }
  throw new Error('expected a refusal');
}

describe('profileChanges', () => {
  test('stores values in their normal form', () => {
    expect(
      profileChanges({
        displayName: '  Ada Lovelace ',
        avatarUrl: 'https://cdn.example.test/a.png',
        locale: 'pt-br',
        timezone: 'europe/lisbon',
        preferences: { theme: 'dark' },
      }),
    ).toEqual({
      displayName: 'Ada Lovelace',
      avatarUrl: 'https://cdn.example.test/a.png',
      locale: 'pt-BR',
      timezone: 'Europe/Lisbon',
      preferences: { theme: 'dark' },
    });
    expect(profileChanges({ timezone: 'US/Eastern' })).toEqual({ timezone: 'America/New_York' });
  });

  test.each([
    [{ avatarUrl: 'https://' }, '/body/avatarUrl'],
    [{ avatarUrl: 'https://user:secret@cdn.example.test/a.png' }, '/body/avatarUrl'],
    [{ locale: 'en-a' }, '/body/locale'],
    [{ timezone: 'Mars/Olympus' }, '/body/timezone'],
    [{ preferences: { ['k'.repeat(65)]: 1 } }, '/body/preferences'],
    [{ preferences: { '': 1 } }, '/body/preferences'],
  ])('refuses %j naming %s', (body, field) => {
    expect(refusal(() => profileChanges(body))).toEqual({ status: 400, code: 'VALIDATION_FAILED', field });
  });
});

describe('mergePreferences', () => {
  test('sets, replaces and deletes keys; deleting a missing key is no error', () => {
    expect(
      mergePreferences(
        { theme: 'dark', compact: true, size: 14 },
        { compact: null, size: 16, lang: 'pt', gone: null },
      ),
    ).toEqual({ theme: 'dark', size: 16, lang: 'pt' });
  });

  test('keys named like Object.prototype members are plain keys', () => {
    // JSON.parse makes __proto__ an own key, as a stored jsonb document read back would.
    const patch = JSON.parse('{"constructor": "x", "__proto__": "y", "toString": 1}');
    const merged = mergePreferences({}, patch);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged).sort()).toEqual(['__proto__', 'constructor', 'toString'].sort());
  });

  test(`refuses a result above ${MAX_PREFERENCES} keys, counting deletions first`, () => {
    const full = Object.fromEntries(Array.from({ length: MAX_PREFERENCES }, (_, i) => [`k${i}`, i]));
    expect(refusal(() => mergePreferences(full, { extra: true }))).toEqual({
      status: 400,
      code: 'PREFERENCES_LIMIT_EXCEEDED',
      field: '/body/preferences',
    });
    expect(Object.keys(mergePreferences(full, { k0: null, extra: true }))).toHaveLength(MAX_PREFERENCES);
  });
});
