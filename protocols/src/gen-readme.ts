// Regenerates the topic table in protocols/README.md; with --check, fails if it is stale (run in CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { withTopicTable } from './docs.js';

const file = new URL('../README.md', import.meta.url);
const current = readFileSync(file, 'utf8');
const next = withTopicTable(current);
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error(
      'protocols/README.md topic table is stale: run `npm run gen:topics -w @estate/protocols` and commit.',
    );
    process.exit(1);
  }
  console.log('protocols/README.md topic table is up to date.');
} else if (next !== current) {
  writeFileSync(file, next);
  console.log('protocols/README.md topic table regenerated.');
} else {
  console.log('protocols/README.md topic table already up to date.');
}
