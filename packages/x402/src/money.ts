import { AppError, X402_ERROR_CODES } from './errors.ts';
import { USDC_DECIMALS } from './usdc.ts';

const SCALE = 10n ** BigInt(USDC_DECIMALS);
/** Largest amount an ERC-20 `uint256` can carry. */
export const MAX_UINT256 = 2n ** 256n - 1n;
// Canonical decimal: no sign, no leading zeros, no exponent, at most 6 fraction digits.
const DECIMAL_RE = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,6}))?$/;
const TOO_PRECISE_RE = /^(0|[1-9][0-9]*)\.[0-9]{7,}$/;

function invalidAmount(message: string): AppError {
  return new AppError(X402_ERROR_CODES.invalidAmount, message);
}

/**
 * Parses a decimal USDC string into atomic units (6 decimals). Strict on purpose: a number (float),
 * a sign, an exponent, more than 6 decimals (which would need rounding) or anything but a plain
 * decimal is refused with AppError `invalid_amount`, never rounded or truncated.
 *
 * @example
 * parseUsdc('0.04'); // 40000n
 */
export function parseUsdc(value: string): bigint {
  if (typeof value !== 'string') {
    throw invalidAmount(`amount must be a decimal string, got ${typeof value}`);
  }
  const match = DECIMAL_RE.exec(value);
  if (!match) {
    if (TOO_PRECISE_RE.test(value)) {
      throw invalidAmount(
        'amount has more than 6 decimals; USDC cannot represent it and rounding is refused',
      );
    }
    throw invalidAmount('amount must be a plain decimal string such as "0.04"');
  }
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').padEnd(USDC_DECIMALS, '0');
  const atomic = BigInt(whole) * SCALE + BigInt(fraction);
  if (atomic > MAX_UINT256) throw invalidAmount('amount does not fit in uint256');
  return atomic;
}

export interface FormatUsdcOptions {
  /** Always print all 6 decimals (`0.040000`) instead of trimming trailing zeros (`0.04`). */
  fixed?: boolean;
}

/**
 * Formats atomic USDC units as a decimal string, exact (no float): `40000n` → `'0.04'`.
 *
 * @example
 * formatUsdc(40000n); // '0.04'
 * formatUsdc(40000n, { fixed: true }); // '0.040000'
 */
export function formatUsdc(amount: bigint, options: FormatUsdcOptions = {}): string {
  if (typeof amount !== 'bigint') {
    throw invalidAmount(`amount must be a bigint of atomic units, got ${typeof amount}`);
  }
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const whole = (abs / SCALE).toString();
  let fraction = (abs % SCALE).toString().padStart(USDC_DECIMALS, '0');
  if (!options.fixed) fraction = fraction.replace(/0+$/, '');
  const sign = negative ? '-' : '';
  return fraction.length > 0 ? `${sign}${whole}.${fraction}` : `${sign}${whole}`;
}

/**
 * Dollar display with at least 4 decimals, as the seed prints prices (`$0.0400`); more decimals
 * appear only when the amount needs them, so nothing is hidden by rounding.
 */
export function formatUsdcDisplay(amount: bigint): string {
  const fixed = formatUsdc(amount, { fixed: true });
  const negative = fixed.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? fixed.slice(1) : fixed).split('.');
  const trimmed = fraction.replace(/0+$/, '').padEnd(4, '0');
  return `${negative ? '-' : ''}$${whole}.${trimmed}`;
}

/** Parses a decimal string of atomic units (`"40000"`) as used on the x402 wire. */
export function parseAtomicAmount(value: string): bigint {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]*)$/.test(value)) {
    throw invalidAmount('atomic amount must be a decimal integer string without sign or leading zeros');
  }
  const atomic = BigInt(value);
  if (atomic > MAX_UINT256) throw invalidAmount('atomic amount does not fit in uint256');
  return atomic;
}
