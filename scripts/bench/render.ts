/**
 * Re-renders BENCHMARKS.md from bench-results.json (same numbers, same run), e.g. after the report
 * layout changed: `pnpm exec tsx scripts/bench/render.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findingsFrom } from './findings.ts';
import { type BenchResults, renderMarkdown } from './report.ts';
import { REPO_ROOT } from './services.ts';

const results = JSON.parse(readFileSync(join(REPO_ROOT, 'bench-results.json'), 'utf8')) as BenchResults;
writeFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), renderMarkdown(results, findingsFrom(results)));
process.stdout.write('BENCHMARKS.md re-rendered from bench-results.json\n');
