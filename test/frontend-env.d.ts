// The chat page's modules read Vite's build-time variables (frontend/tsconfig.json loads
// `vite/client` for them); the tests that import those modules see the same shape here.
interface ImportMeta {
  readonly env: Readonly<Record<string, string | undefined>>;
}
