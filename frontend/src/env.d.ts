/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The WebSocket API URL (wss://…/stage); falls back to /config.json at run time. */
  readonly VITE_WS_URL?: string;
  /** The block explorer base URL (BaseScan or the local devnet explorer). */
  readonly VITE_EXPLORER_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
