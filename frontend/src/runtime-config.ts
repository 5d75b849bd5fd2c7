export interface RuntimeConfig {
  wsUrl: string;
  explorerUrl?: string;
}

/** Where the page looks for its runtime config; the same path locally and after `cdk deploy`. */
export const RUNTIME_CONFIG_PATH = '/config.json';

export interface LoadRuntimeConfigOptions {
  /** Values baked in at build time (`VITE_WS_URL`, `VITE_EXPLORER_URL`), used when config.json has none. */
  build?: { wsUrl?: string | undefined; explorerUrl?: string | undefined };
  fetch?: typeof globalThis.fetch;
}

function parseRuntimeConfig(json: unknown): Partial<RuntimeConfig> {
  const record = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const wsUrl =
    typeof record.wsUrl === 'string' && /^wss?:\/\//.test(record.wsUrl) ? record.wsUrl : undefined;
  const explorerUrl =
    typeof record.explorerUrl === 'string' && /^https?:\/\//.test(record.explorerUrl)
      ? record.explorerUrl
      : undefined;
  return { ...(wsUrl ? { wsUrl } : {}), ...(explorerUrl ? { explorerUrl } : {}) };
}

/**
 * The page's WebSocket URL is read at load from `/config.json`: the local WebSocket host serves it,
 * and `cdk deploy` writes it next to the page from the stack's outputs, so one build works
 * everywhere. A URL baked in at build time (`VITE_WS_URL`, e.g. a Vite dev server or an Amplify
 * Git-connected build) is the fallback when there is no usable config.json.
 */
export async function loadRuntimeConfig(options: LoadRuntimeConfigOptions = {}): Promise<RuntimeConfig> {
  const build = options.build ?? {
    wsUrl: import.meta.env.VITE_WS_URL || undefined,
    explorerUrl: import.meta.env.VITE_EXPLORER_URL || undefined,
  };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  let fromFile: Partial<RuntimeConfig> = {};
  let problem = 'no usable config.json';
  try {
    const response = await fetchImpl(RUNTIME_CONFIG_PATH, { cache: 'no-store' });
    if (response.ok) {
      fromFile = parseRuntimeConfig(await response.json());
      if (!fromFile.wsUrl) problem = 'config.json has no wsUrl';
    } else {
      problem = `config.json answered HTTP ${response.status}`;
    }
  } catch (error) {
    problem = `config.json could not be read (${error instanceof Error ? error.message : String(error)})`;
  }
  const wsUrl = fromFile.wsUrl ?? build.wsUrl;
  if (!wsUrl) throw new Error(problem);
  const explorerUrl = fromFile.explorerUrl ?? build.explorerUrl;
  return explorerUrl ? { wsUrl, explorerUrl } : { wsUrl };
}
