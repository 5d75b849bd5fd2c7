import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ARTIFACT_IDS,
  artifactJson,
  artifactModule,
  CONTRACTS,
  compileContracts,
} from './compile-contracts.ts';

const artifactsDir = new URL('./artifacts/', import.meta.url);

describe('committed contract artifacts', () => {
  // solc-js is WebAssembly: a few seconds, longer on a loaded machine.
  it('are exactly what solc-js produces from contracts/*.sol (nobody hand-edits bytecode)', {
    timeout: 90_000,
  }, () => {
    const compiled = compileContracts();
    expect(Object.keys(compiled).sort()).toStrictEqual([...CONTRACTS].sort());
    for (const name of CONTRACTS) {
      const artifact = compiled[name];
      expect(artifact.deployedBytecode.length).toBeGreaterThan(2);
      expect(readFileSync(new URL(`${name}.json`, artifactsDir), 'utf8')).toBe(artifactJson(artifact));
      expect(readFileSync(new URL(`${ARTIFACT_IDS[name]}.ts`, artifactsDir), 'utf8')).toBe(
        artifactModule(artifact),
      );
    }
  });
});
