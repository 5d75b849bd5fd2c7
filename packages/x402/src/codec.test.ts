import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  decodeHeader,
  decodePaymentHeader,
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodeHeader,
  encodePaymentHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  readPaymentRequired,
} from './codec.ts';
import { AppError, isAppError } from './errors.ts';
import {
  buildAuthorization,
  buildPaymentPayloadV1,
  buildPaymentPayloadV2,
  buildPaymentRequiredV1,
  buildPaymentRequiredV2,
  buildRequirementsV2,
  buildSettleResponse,
  rawHeader,
} from './test-builders.ts';

function failure(fn: () => unknown): {
  code: string;
  httpStatus: number;
  message: string;
  details?: unknown;
} {
  try {
    fn();
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { code: error.code, httpStatus: error.httpStatus, message: error.message, details: error.details };
  }
  throw new Error('expected the call to throw');
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const toUrlSafe = (standard: string) => standard.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

describe('encodeHeader / decodeHeader', () => {
  it('round-trips JSON through standard, padded base64', () => {
    const value = { a: 'ü ~~~ ???', n: 1, nested: [true, null] };
    const encoded = encodeHeader(value);
    expect(encoded).toBe(Buffer.from(JSON.stringify(value)).toString('base64'));
    expect(encoded).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    expect(decodeHeader(encoded, z.unknown())).toStrictEqual(value);
  });

  it('accepts URL-safe base64, padded or not', () => {
    const value = { text: '~~~???>>>' };
    const standard = encodeHeader(value);
    expect(standard).toMatch(/[+/]/); // precondition: the two alphabets differ for this value
    expect(decodeHeader(toUrlSafe(standard), z.unknown())).toStrictEqual(value);
    expect(decodeHeader(standard.replace(/=+$/, ''), z.unknown())).toStrictEqual(value);
  });

  it('ignores surrounding whitespace', () => {
    expect(decodeHeader(` ${encodeHeader({ a: 1 })}\t`, z.unknown())).toStrictEqual({ a: 1 });
  });

  describe('when the header is absent', () => {
    it.each([undefined, null, '', '   '])('throws header_missing (402) for %j', (raw) => {
      expect(failure(() => decodeHeader(raw, z.unknown()))).toMatchObject({
        code: 'header_missing',
        httpStatus: 402,
      });
    });
  });

  describe('when the header is too large', () => {
    it('throws header_too_large above 16 KiB by default', () => {
      const big = encodeHeader({ pad: 'x'.repeat(13_000) });
      expect(big.length).toBeGreaterThan(16 * 1024);
      expect(failure(() => decodeHeader(big, z.unknown()))).toMatchObject({
        code: 'header_too_large',
        httpStatus: 400,
      });
    });

    it('accepts exactly the limit and honours a custom one', () => {
      const encoded = encodeHeader({ a: 'b' });
      expect(decodeHeader(encoded, z.unknown(), { maxBytes: encoded.length })).toStrictEqual({ a: 'b' });
      expect(failure(() => decodeHeader(encoded, z.unknown(), { maxBytes: encoded.length - 1 })).code).toBe(
        'header_too_large',
      );
    });
  });

  describe('when the header is not base64', () => {
    it.each([
      ['foreign characters', 'eyJhIjoxfQ==!'],
      ['inner whitespace', 'eyJh IjoxfQ=='],
      ['mixed alphabets', 'ab+_'],
      ['an impossible length', 'eyJhIjoxf'],
      ['wrong padding', 'YQ='],
      ['too much padding', 'YQ==='],
      ['padding in the middle', 'YQ==YQ=='],
      ['non-canonical trailing bits', 'YR=='],
      ['JSON text', '{"x402Version":2}'],
    ])('throws header_not_base64 for %s', (_, raw) => {
      expect(failure(() => decodeHeader(raw, z.unknown()))).toMatchObject({
        code: 'header_not_base64',
        httpStatus: 400,
      });
    });
  });

  describe('when the decoded bytes are not JSON', () => {
    it.each([
      ['text', b64('not json')],
      ['truncated JSON', b64('{"a":')],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64')],
    ])('throws header_not_json for %s', (_, raw) => {
      expect(failure(() => decodeHeader(raw, z.unknown()))).toMatchObject({
        code: 'header_not_json',
        httpStatus: 400,
      });
    });
  });

  describe('when the JSON does not match the schema', () => {
    it('throws header_invalid naming the failing paths', () => {
      const error = failure(() => decodeHeader(rawHeader({ a: 'x' }), z.strictObject({ a: z.number() })));
      expect(error.code).toBe('header_invalid');
      expect(error.httpStatus).toBe(400);
      expect(error.message).toContain('a:');
      expect(error.details).toMatchObject({ issues: [{ path: 'a' }] });
    });
  });

  it('refuses values JSON cannot carry', () => {
    expect(failure(() => encodeHeader(10n))).toMatchObject({
      code: 'header_encode_invalid',
      httpStatus: 500,
    });
    expect(failure(() => encodeHeader(undefined))).toMatchObject({ code: 'header_encode_invalid' });
  });
});

describe('PAYMENT-REQUIRED codec', () => {
  it('round-trips a v2 402 object', () => {
    const value = buildPaymentRequiredV2();
    expect(decodePaymentRequiredHeader(encodePaymentRequiredHeader(value))).toStrictEqual(value);
  });

  it('refuses to encode an invalid object (our bug, so a 500)', () => {
    const invalid = buildPaymentRequiredV2({ accepts: [buildRequirementsV2({ amount: '0.04' })] });
    expect(failure(() => encodePaymentRequiredHeader(invalid))).toMatchObject({
      code: 'header_encode_invalid',
      httpStatus: 500,
    });
  });

  it('rejects a v1 body sent as the v2 header', () => {
    const error = failure(() => decodePaymentRequiredHeader(rawHeader({ x402Version: 1, accepts: [] })));
    expect(error.code).toBe('header_invalid');
    expect(error.message).toContain('PAYMENT-REQUIRED header');
  });

  it('drops unknown fields a newer server adds (lenient for server-sent data)', () => {
    const value = { ...buildPaymentRequiredV2(), futureField: 1 };
    expect(decodePaymentRequiredHeader(rawHeader(value))).toStrictEqual(buildPaymentRequiredV2());
  });
});

describe('decodePaymentHeader', () => {
  it('decodes a v2 payload', () => {
    const payload = buildPaymentPayloadV2();
    expect(decodePaymentHeader(encodePaymentHeader(payload))).toStrictEqual(payload);
  });

  it('decodes a v1 payload (X-PAYMENT, or the seed sending v1 in PAYMENT-SIGNATURE)', () => {
    const payload = buildPaymentPayloadV1();
    expect(decodePaymentHeader(encodePaymentHeader(payload))).toStrictEqual(payload);
  });

  it('decodes a v2 payload with extensions and without resource', () => {
    const { resource: _omitted, ...rest } = buildPaymentPayloadV2({ extensions: { bazaar: { info: 1 } } });
    expect(decodePaymentHeader(rawHeader(rest))).toStrictEqual(rest);
  });

  describe('when x402Version is not 1 or 2', () => {
    it.each([0, 3, '2', null])('throws unsupported_version for %j', (version) => {
      const raw = rawHeader({ ...buildPaymentPayloadV2(), x402Version: version });
      expect(failure(() => decodePaymentHeader(raw))).toMatchObject({
        code: 'unsupported_version',
        httpStatus: 400,
      });
    });
  });

  describe('when x402Version is missing or the JSON is not an object', () => {
    it.each([{ scheme: 'exact' }, [], 'x', 42])('throws header_invalid for %j', (value) => {
      expect(failure(() => decodePaymentHeader(rawHeader(value))).code).toBe('header_invalid');
    });
  });

  describe('when the scheme is not exact', () => {
    it('throws unsupported_scheme for v2', () => {
      const payload = buildPaymentPayloadV2();
      const raw = rawHeader({ ...payload, accepted: { ...payload.accepted, scheme: 'upto' } });
      expect(failure(() => decodePaymentHeader(raw)).code).toBe('unsupported_scheme');
    });

    it('throws unsupported_scheme for v1', () => {
      const raw = rawHeader({ ...buildPaymentPayloadV1(), scheme: 'upto' });
      expect(failure(() => decodePaymentHeader(raw)).code).toBe('unsupported_scheme');
    });
  });

  describe('when the payload carries an unknown field', () => {
    it.each([
      ['at the top level', (p: Record<string, unknown>) => ({ ...p, tip: '1' })],
      [
        'in accepted',
        (p: ReturnType<typeof buildPaymentPayloadV2>) => ({ ...p, accepted: { ...p.accepted, tip: 1 } }),
      ],
      [
        'in payload',
        (p: ReturnType<typeof buildPaymentPayloadV2>) => ({ ...p, payload: { ...p.payload, v: 27 } }),
      ],
      [
        'in the authorization',
        (p: ReturnType<typeof buildPaymentPayloadV2>) => ({
          ...p,
          payload: { ...p.payload, authorization: { ...p.payload.authorization, chainId: 1 } },
        }),
      ],
      [
        'in resource',
        (p: ReturnType<typeof buildPaymentPayloadV2>) => ({ ...p, resource: { url: 'x', y: 1 } }),
      ],
    ])('rejects it %s with header_invalid', (_, mutate) => {
      const raw = rawHeader(mutate(buildPaymentPayloadV2()));
      const error = failure(() => decodePaymentHeader(raw));
      expect(error.code).toBe('header_invalid');
      expect(error.message).toMatch(/unrecognized key/i);
    });

    it('rejects an unknown field in a v1 payload', () => {
      const raw = rawHeader({ ...buildPaymentPayloadV1(), extra: {} });
      expect(failure(() => decodePaymentHeader(raw)).code).toBe('header_invalid');
    });
  });

  describe('when a field is malformed', () => {
    it.each([
      ['a short nonce', { nonce: '0x1234' }],
      ['a value with leading zeros', { value: '040000' }],
      ['a negative value', { value: '-1' }],
      ['a decimal value', { value: '0.04' }],
      ['a numeric value', { value: 40000 }],
      ['a value above uint256', { value: (2n ** 256n).toString() }],
      ['a bad address', { from: '0x1234' }],
      ['a non-hex validBefore', { validBefore: '0x10' }],
    ])('rejects %s with header_invalid', (_, override) => {
      const payload = buildPaymentPayloadV2();
      const raw = rawHeader({
        ...payload,
        payload: { ...payload.payload, authorization: { ...buildAuthorization(), ...override } },
      });
      expect(failure(() => decodePaymentHeader(raw)).code).toBe('header_invalid');
    });

    it.each(['0x', '0x123', 'abcd', '0xzz'])('rejects the signature %j', (signature) => {
      const payload = buildPaymentPayloadV1();
      const raw = rawHeader({ ...payload, payload: { ...payload.payload, signature } });
      expect(failure(() => decodePaymentHeader(raw)).code).toBe('header_invalid');
    });

    it('rejects a v2 payload whose network is a v1 name', () => {
      const payload = buildPaymentPayloadV2();
      const raw = rawHeader({ ...payload, accepted: { ...payload.accepted, network: 'base-sepolia' } });
      expect(failure(() => decodePaymentHeader(raw)).code).toBe('header_invalid');
    });
  });

  it('passes the generic codec failures through', () => {
    expect(failure(() => decodePaymentHeader(undefined)).code).toBe('header_missing');
    expect(failure(() => decodePaymentHeader('%%%')).code).toBe('header_not_base64');
    expect(failure(() => decodePaymentHeader(b64('nope'))).code).toBe('header_not_json');
    expect(failure(() => decodePaymentHeader('A'.repeat(20_000))).code).toBe('header_too_large');
  });

  it('throws AppError instances', () => {
    expect(() => decodePaymentHeader('%%%')).toThrow(AppError);
  });
});

describe('PAYMENT-RESPONSE codec', () => {
  it('round-trips a settlement result', () => {
    const value = buildSettleResponse();
    expect(decodePaymentResponseHeader(encodePaymentResponseHeader(value))).toStrictEqual(value);
  });

  it('round-trips a failed settlement with an empty transaction', () => {
    const value = buildSettleResponse({ success: false, transaction: '', errorReason: 'insufficient_funds' });
    expect(decodePaymentResponseHeader(encodePaymentResponseHeader(value))).toStrictEqual(value);
  });

  it('leaves seller-only extensionResponses out, like the official encoder', () => {
    const value = buildSettleResponse({ extensionResponses: { internal: true } });
    const { extensionResponses: _dropped, ...buyerFacing } = value;
    expect(decodePaymentResponseHeader(encodePaymentResponseHeader(value))).toStrictEqual(buyerFacing);
  });

  it('rejects a response without network', () => {
    const { network: _missing, ...rest } = buildSettleResponse();
    expect(failure(() => decodePaymentResponseHeader(rawHeader(rest))).code).toBe('header_invalid');
  });
});

describe('readPaymentRequired', () => {
  it('prefers the v2 header over the v1 body', () => {
    const v2 = buildPaymentRequiredV2();
    expect(
      readPaymentRequired({ header: encodePaymentRequiredHeader(v2), body: buildPaymentRequiredV1() }),
    ).toStrictEqual(v2);
  });

  it('falls back to the v1 body', () => {
    expect(readPaymentRequired({ header: null, body: buildPaymentRequiredV1() })).toStrictEqual(
      buildPaymentRequiredV1(),
    );
  });

  it('reports a bad header even when a good body is present', () => {
    expect(failure(() => readPaymentRequired({ header: '%%%', body: buildPaymentRequiredV1() })).code).toBe(
      'header_not_base64',
    );
  });

  it('throws header_missing when neither is present', () => {
    expect(failure(() => readPaymentRequired({ header: undefined, body: { error: 'nope' } }))).toMatchObject({
      code: 'header_missing',
      httpStatus: 402,
    });
  });

  it('throws header_invalid for a malformed v1 body', () => {
    const body = { ...buildPaymentRequiredV1(), accepts: [{ scheme: 'exact' }] };
    expect(failure(() => readPaymentRequired({ header: '', body })).code).toBe('header_invalid');
  });
});
