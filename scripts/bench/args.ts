export const SECTIONS = ['paid', 'gas', 'components', 'coldstart', 'agent'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchArgs {
  quick: boolean;
  concurrency: number[];
  sections: Section[];
}

/** `--quick`, `--concurrency 1,8,32`, `--only paid,components`; anything else is refused by name. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, concurrency: [1, 8, 32, 128], sections: [...SECTIONS] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--quick') args.quick = true;
    else if (flag === '--concurrency') {
      const levels = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (levels.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 1024)) {
        throw new Error('--concurrency takes a comma-separated list of integers in [1, 1024]');
      }
      args.concurrency = levels;
    } else if (flag === '--only') {
      const wanted = value()
        .split(',')
        .map((s) => s.trim());
      const unknown = wanted.filter((s) => !(SECTIONS as readonly string[]).includes(s));
      if (unknown.length > 0)
        throw new Error(`--only: unknown section(s) ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
      args.sections = wanted as Section[];
    } else if (flag === '--') continue;
    else
      throw new Error(
        `unknown argument ${arg} (known: --quick, --concurrency 1,8,32,128, --only ${SECTIONS.join(',')})`,
      );
  }
  return args;
}
