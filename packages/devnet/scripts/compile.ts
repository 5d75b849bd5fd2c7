/**
 * Compiles `contracts/*.sol` offline with solc-js and writes `src/artifacts/<Name>.json` and
 * `src/artifacts/<id>.ts` (ids in ARTIFACT_IDS). Run after editing a contract: `pnpm --filter @agentic-payments/devnet compile`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ARTIFACT_IDS,
  artifactJson,
  artifactModule,
  type ContractName,
  compileContracts,
} from '../src/compile-contracts.ts';

const outDir = fileURLToPath(new URL('../src/artifacts/', import.meta.url));
mkdirSync(outDir, { recursive: true });
for (const artifact of Object.values(compileContracts())) {
  writeFileSync(`${outDir}${artifact.contractName}.json`, artifactJson(artifact));
  writeFileSync(
    `${outDir}${ARTIFACT_IDS[artifact.contractName as ContractName]}.ts`,
    artifactModule(artifact),
  );
  const size = (artifact.deployedBytecode.length - 2) / 2;
  console.log(`compiled ${artifact.sourceName} → ${artifact.contractName}.json (${size} bytes runtime)`);
}
