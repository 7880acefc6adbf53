// argon2id (OWASP password storage cheat sheet: m=19 MiB, t=2, p=1 as the minimum).
import { hash, verify } from '@node-rs/argon2';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
}

export function argon2idHasher(memoryKib: number): PasswordHasher {
  // A fixed hash to verify against when the login does not exist, so the answer takes as long either way.
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, { memoryCost: memoryKib, timeCost: 2, parallelism: 1 }),
    verify: async (stored, password) => {
      if (!stored) dummy ??= hash('not-a-password', { memoryCost: memoryKib });
      const target = stored || (await (dummy as Promise<string>));
      return verify(target, password).catch(() => false);
    },
  };
}
