/**
 * Compiles `contracts/*.sol` offline with solc-js and writes `src/artifacts/<Name>.json` and
 * `src/artifacts/<name>.ts`. Run after editing a contract: `pnpm --filter @agentic-payments/devnet compile`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { artifactJson, artifactModule, compileContracts } from '../src/compile-contracts.ts';

const outDir = fileURLToPath(new URL('../src/artifacts/', import.meta.url));
mkdirSync(outDir, { recursive: true });
for (const artifact of Object.values(compileContracts())) {
  writeFileSync(`${outDir}${artifact.contractName}.json`, artifactJson(artifact));
  writeFileSync(`${outDir}${artifact.contractName.toLowerCase()}.ts`, artifactModule(artifact));
  const size = (artifact.deployedBytecode.length - 2) / 2;
  console.log(`compiled ${artifact.sourceName} → ${artifact.contractName}.json (${size} bytes runtime)`);
}
