#!/usr/bin/env node
// estate-cloud: serve | migrate | seed | audit verify | retention run. Configuration comes from the environment
// (see src/config.ts); a bad or unknown key stops the program with a message that names it.
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './config.js';
import { systemActor } from './core/context.js';
import { openDeps } from './deps.js';
import { verifyAuditChain } from './modules/audit/verify.js';
import { privacyService } from './modules/privacy/service.js';
import { isEmpty, seedDemo } from './seed/seed.js';
import { startCloud } from './start.js';

const HELP = `estate-cloud <command>

  serve            run the API (migrates, seeds demo data into an empty non-production database)
  migrate          apply pending migrations and exit
  seed [--households N] [--estates N]   seed demo data into an empty database
  audit verify     walk the audit hash chain; exit 1 if it is broken
  retention run    erase personal data of households moved out longer ago than the retention period

Environment: DATABASE_URL (default: embedded PGlite in ESTATE_CLOUD_DATA_DIR), ESTATE_CLOUD_* (see README).`;

function numberFlag(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : undefined;
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new ConfigError(`${name} needs a positive integer`);
  return n;
}

async function withDeps<T>(fn: (deps: Awaited<ReturnType<typeof openDeps>>['deps']) => Promise<T>): Promise<T> {
  const { deps, db } = await openDeps(loadConfig());
  try {
    return await fn(deps);
  } finally {
    await db.close();
  }
}

async function main(args: string[]): Promise<number> {
  const [command, sub] = args;
  switch (command) {
    case 'serve': {
      const cloud = await startCloud();
      console.log(`estate-cloud listening on ${cloud.url} (OpenAPI: ${cloud.docsUrl})`);
      closeWithGrace({ delay: 10_000 }, async ({ err }) => {
        if (err) cloud.app.log.error({ err }, 'shutting down after an error');
        await cloud.close();
      });
      return -1;
    }
    case 'migrate':
      await withDeps(async () => undefined);
      console.log('migrations applied');
      return 0;
    case 'seed':
      return withDeps(async (deps) => {
        if (!(await isEmpty(deps))) {
          console.error('the database already holds estates; seed only into an empty one');
          return 1;
        }
        const households = numberFlag(args, '--households');
        const estates = numberFlag(args, '--estates');
        const r = await seedDemo(deps, { ...(households ? { households } : {}), ...(estates ? { estates } : {}) });
        console.log(
          JSON.stringify(
            { estates: r.estates.length, households: r.households, persons: r.persons, logins: r.logins },
            null,
            2,
          ),
        );
        return 0;
      });
    case 'audit':
      if (sub !== 'verify') break;
      return withDeps(async (deps) => {
        const result = await verifyAuditChain(deps.prisma);
        console.log(JSON.stringify(result));
        return result.ok ? 0 : 1;
      });
    case 'retention':
      if (sub !== 'run') break;
      return withDeps(async (deps) => {
        console.log(JSON.stringify(await privacyService(deps).runRetention(systemActor('retention'))));
        return 0;
      });
    case undefined:
    case '--help':
    case 'help':
      console.log(HELP);
      return 0;
  }
  console.error(`unknown command: ${args.join(' ')}\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
