import { Reflector } from '@nestjs/core';
import { STEP_UP_KEY } from '../oidc.constants.js';
import { StepUp } from './step-up.decorator.js';

/** The requirement `@StepUp(requirement)` leaves on a method, as OidcGuard reads it. */
function recorded(requirement: Parameters<typeof StepUp>[0]): unknown {
  class Target {
    route(): void {}
  }
  StepUp(requirement)(Target.prototype, 'route', Object.getOwnPropertyDescriptor(Target.prototype, 'route')!);
  return new Reflector().get(STEP_UP_KEY, Target.prototype.route);
}

describe('@StepUp()', () => {
  it('records the acr values and maxAge, frozen', () => {
    const requirement = recorded({ acr: ['urn:example:mfa', 'phr'], maxAge: 300 });
    expect(requirement).toEqual({ acr: ['urn:example:mfa', 'phr'], maxAge: 300 });
    expect(Object.isFrozen(requirement)).toBe(true);
    expect(Object.isFrozen((requirement as { acr: string[] }).acr)).toBe(true);
  });

  it('takes what the login route takes: up to 10 acr values and a nine-digit maxAge', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `acr-${i}`);
    expect(recorded({ acr: ten, maxAge: 999_999_999 })).toEqual({ acr: ten, maxAge: 999_999_999 });
    // A redirect to /auth/login?acr_values=… with more would be refused there (400): refused here, at start-up.
    expect(() => StepUp({ acr: [...ten, 'acr-10'] })).toThrow('`acr` must be an array of 1 to 10 acr values');
    expect(() => StepUp({ maxAge: 1_000_000_000 })).toThrow('`maxAge` must be a whole number of seconds from 0 to 999999999');
  });

  it.each([[[]], [['two words']], [['']], [['x'.repeat(256)]], [[7]]])('refuses acr %j', (acr) => {
    expect(() => StepUp({ acr: acr as string[] })).toThrow(TypeError);
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses maxAge %p', (maxAge) => {
    expect(() => StepUp({ maxAge })).toThrow(TypeError);
  });

  it('needs acr or maxAge', () => {
    expect(() => StepUp({})).toThrow('give `acr`, `maxAge` or both');
  });
});
