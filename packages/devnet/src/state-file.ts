import { copyFileSync, existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export interface StateFiles {
  /** What anvil loads and dumps (`--state`). */
  state: string;
  /** Copy of the last state file that parsed, taken at each start. */
  backup: string;
}

function parses(path: string): boolean {
  try {
    JSON.parse(readFileSync(path, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure anvil gets a state file it can load. anvil refuses to start on a state file that does
 * not parse (say a dump cut short by a crash), so a broken file is moved aside and the backup from
 * the previous start is used instead; a good file is backed up before anvil overwrites it.
 */
export function prepareStateFile(stateDir: string, log: (line: string) => void): StateFiles {
  const files = { state: join(stateDir, 'state.json'), backup: join(stateDir, 'state.backup.json') };
  if (!existsSync(files.state)) return files;
  if (parses(files.state)) {
    copyFileSync(files.state, files.backup);
    return files;
  }
  const aside = join(stateDir, `state.corrupt-${new Date().toISOString().replaceAll(':', '-')}.json`);
  renameSync(files.state, aside);
  if (existsSync(files.backup) && parses(files.backup)) {
    copyFileSync(files.backup, files.state);
    log(
      `devnet: ${files.state} did not parse (moved to ${aside}); restored the state from the previous start`,
    );
  } else {
    log(
      `devnet: ${files.state} did not parse (moved to ${aside}) and there is no backup; starting a fresh chain`,
    );
  }
  return files;
}
