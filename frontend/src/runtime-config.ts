export interface RuntimeConfig {
  wsUrl: string;
  explorerUrl?: string;
}

/**
 * The WebSocket URL comes from the build (`VITE_WS_URL`, as Amplify sets it) or, when the page is
 * served by the local host, from `/config.json` at run time.
 */
export async function loadRuntimeConfig(): Promise<RuntimeConfig> {
  const fromBuild = import.meta.env.VITE_WS_URL;
  const explorerFromBuild = import.meta.env.VITE_EXPLORER_URL;
  if (fromBuild) return { wsUrl: fromBuild, explorerUrl: explorerFromBuild || undefined };
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  const json: unknown = await response.json();
  const record = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const wsUrl = typeof record.wsUrl === 'string' ? record.wsUrl : undefined;
  if (!wsUrl || !/^wss?:\/\//.test(wsUrl)) throw new Error('config.json has no wsUrl');
  const explorerUrl =
    typeof record.explorerUrl === 'string' ? record.explorerUrl : explorerFromBuild || undefined;
  return { wsUrl, explorerUrl };
}
