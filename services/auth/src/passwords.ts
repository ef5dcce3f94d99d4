import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id`: the package's const enum cannot be imported under verbatimModuleSyntax. */
const ARGON2ID = 2;

export interface PasswordCost {
  memoryKiB: number;
  iterations: number;
}

/**
 * argon2id hashing (the PHC string carries salt and cost, so verify works across cost changes).
 * `verifyOrBurn` spends the same work when there is no account, so the time a sign-in takes does not
 * tell whether the email exists.
 */
export class Passwords {
  readonly #options: {
    algorithm: typeof ARGON2ID;
    memoryCost: number;
    timeCost: number;
    parallelism: number;
  };
  #decoy: Promise<string> | undefined;

  constructor(cost: PasswordCost) {
    this.#options = {
      algorithm: ARGON2ID,
      memoryCost: cost.memoryKiB,
      timeCost: cost.iterations,
      parallelism: 1,
    };
  }

  hash(password: string): Promise<string> {
    return hash(password, this.#options);
  }

  /** True when `password` matches `stored`; with no stored hash, does the same work and answers false. */
  async verifyOrBurn(stored: string | undefined, password: string): Promise<boolean> {
    if (stored === undefined) {
      this.#decoy ??= this.hash('decoy password, never a real one');
      await verify(await this.#decoy, password);
      return false;
    }
    return verify(stored, password);
  }
}
