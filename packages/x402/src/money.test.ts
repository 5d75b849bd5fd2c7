import { describe, expect, it } from 'vitest';
import { isAppError } from './errors.ts';
import { formatUsdc, formatUsdcDisplay, MAX_UINT256, parseAtomicAmount, parseUsdc } from './money.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isAppError(error) ? error.code : `not an AppError: ${String(error)}`;
  }
  return undefined;
}

describe('parseUsdc', () => {
  it.each([
    ['0', 0n],
    ['0.04', 40_000n],
    ['0.06', 60_000n],
    ['0.08', 80_000n],
    ['1', 1_000_000n],
    ['1.5', 1_500_000n],
    ['0.000001', 1n],
    ['10', 10_000_000n],
    ['123456789.123456', 123_456_789_123_456n],
  ])('parses %s as %s atomic units', (input, expected) => {
    expect(parseUsdc(input)).toBe(expected);
  });

  it('is exact for every cent amount where float math is not (no int(cost * 1e6) truncation)', () => {
    let floatMismatches = 0;
    const wrong: string[] = [];
    for (let cents = 0; cents < 10_000; cents++) {
      const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      if (parseUsdc(text) !== BigInt(cents) * 10_000n) wrong.push(text);
      if (Math.trunc(Number(text) * 1e6) !== cents * 10_000) floatMismatches++;
    }
    expect(wrong).toStrictEqual([]);
    // The seed's float conversion loses a unit on some of these; ours never does.
    expect(floatMismatches).toBeGreaterThan(0);
  });

  it('parses the largest uint256 amount and refuses one unit more', () => {
    const max = formatUsdc(MAX_UINT256);
    expect(parseUsdc(max)).toBe(MAX_UINT256);
    expect(codeOf(() => parseUsdc(formatUsdc(MAX_UINT256 + 1n)))).toBe('invalid_amount');
  });

  describe('when the amount would need rounding', () => {
    it.each(['0.0400001', '0.0000001', '1.1234567'])('refuses %s with invalid_amount', (input) => {
      expect(codeOf(() => parseUsdc(input))).toBe('invalid_amount');
    });
  });

  describe('when the input is not a plain decimal string', () => {
    it.each([
      '',
      ' 1',
      '1 ',
      '-1',
      '+1',
      '.5',
      '5.',
      '01',
      '00.5',
      '1e-2',
      '1E6',
      '0x10',
      '1,5',
      '1_000',
      '$1',
      'NaN',
      'Infinity',
      '١',
    ])('refuses %j with invalid_amount', (input) => {
      expect(codeOf(() => parseUsdc(input))).toBe('invalid_amount');
    });

    it.each([0.04, 40_000n, null, undefined, {}])('refuses the non-string %s', (input) => {
      expect(codeOf(() => parseUsdc(input as unknown as string))).toBe('invalid_amount');
    });
  });
});

describe('formatUsdc', () => {
  it.each([
    [0n, '0'],
    [1n, '0.000001'],
    [40_000n, '0.04'],
    [1_000_000n, '1'],
    [1_500_000n, '1.5'],
    [-40_000n, '-0.04'],
  ])('formats %s as %s', (input, expected) => {
    expect(formatUsdc(input)).toBe(expected);
  });

  it('prints all six decimals when fixed', () => {
    expect(formatUsdc(40_000n, { fixed: true })).toBe('0.040000');
    expect(formatUsdc(1_000_000n, { fixed: true })).toBe('1.000000');
    expect(formatUsdc(0n, { fixed: true })).toBe('0.000000');
  });

  it('formats huge values exactly', () => {
    expect(formatUsdc(MAX_UINT256)).toBe(
      '115792089237316195423570985008687907853269984665640564039457584007913129.639935',
    );
  });

  it('round-trips with parseUsdc', () => {
    let x = 7n;
    for (let i = 0; i < 500; i++) {
      x = (x * 6364136223846793005n + 1442695040888963407n) % 2n ** 96n;
      expect(parseUsdc(formatUsdc(x))).toBe(x);
      expect(parseUsdc(formatUsdc(x, { fixed: true }))).toBe(x);
    }
  });

  it('refuses a number', () => {
    expect(codeOf(() => formatUsdc(0.04 as unknown as bigint))).toBe('invalid_amount');
  });
});

describe('formatUsdcDisplay', () => {
  it.each([
    [40_000n, '$0.0400'],
    [60_000n, '$0.0600'],
    [0n, '$0.0000'],
    [1n, '$0.000001'],
    [12_345n, '$0.012345'],
    [1_234_500_000n, '$1234.5000'],
    [-40_000n, '-$0.0400'],
  ])('shows %s as %s', (input, expected) => {
    expect(formatUsdcDisplay(input)).toBe(expected);
  });
});

describe('parseAtomicAmount', () => {
  it('parses canonical decimal integers', () => {
    expect(parseAtomicAmount('40000')).toBe(40_000n);
    expect(parseAtomicAmount('0')).toBe(0n);
    expect(parseAtomicAmount(MAX_UINT256.toString())).toBe(MAX_UINT256);
  });

  it.each(['', '040000', '-1', '1.0', '1e3', (MAX_UINT256 + 1n).toString()])(
    'refuses %j with invalid_amount',
    (input) => {
      expect(codeOf(() => parseAtomicAmount(input))).toBe('invalid_amount');
    },
  );
});
