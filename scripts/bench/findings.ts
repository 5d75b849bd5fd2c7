import { SESSION_IMAGES } from './gas.ts';
import { SIDE_LABELS, type Side, type SideResult } from './paid-requests.ts';
import type { BenchResults } from './report.ts';
import { fmt } from './stats.ts';

const met = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT met');

/** Issue 16's targets against this run's numbers: ratio at 32, added latency, gas per image. */
function targetFindings(r: BenchResults): string[] {
  const out: string[] = [];
  const paid = r.paid;
  if (paid) {
    const ratios = paid.levels
      .filter((l) => l.batchThroughputRatio !== undefined)
      .map((l) => `${l.concurrency}: ×${fmt(l.batchThroughputRatio, 2)}`);
    const at32 = paid.levels.find((l) => l.concurrency === 32)?.batchThroughputRatio;
    if (ratios.length > 0) {
      out.push(
        `- **Throughput target (≥ 10× the official exact reference at concurrency 32): ${met(at32 === undefined ? undefined : at32 >= 10)}.**`,
        `  Paid req/s ours batch-settlement ÷ official exact: ${ratios.join(', ')}.`,
      );
      const c32 = paid.levels.find((l) => l.concurrency === 32);
      const ob = c32?.oursBatch;
      const cpu = ob?.cpuMsPerPaid;
      if (c32 && ob && cpu) {
        const cores = ob.paidPerSecond === undefined ? undefined : (cpu.total * ob.paidPerSecond) / 1000;
        out.push(
          `  At 32, ours batch-settlement spends ${fmt(cpu.total, 1)} ms of CPU per paid request (seller ${fmt(cpu.seller, 1)}, facilitator ${fmt(cpu.facilitator, 1)},`,
          `  chain ${fmt(cpu.chain, 1)}, client ${fmt(cpu.client, 1)}) and keeps ${fmt(cores, 2)} of the ${r.machine.cores} cores busy: a voucher needs no facilitator`,
          `  and no chain, so what is left is the gateway's own work per request (402, voucher check, channel reservation and`,
          '  commit in the payment store, the image stored and answered) and the client.',
        );
      }
    }
    const a = paid.addedLatency;
    if (a) {
      out.push(
        `- **Added latency target (≤ 2 ms p50 at concurrency 1): ${met(a.addedP50Ms === undefined ? undefined : a.addedP50Ms <= 2)}.** A voucher request`,
        `  on an open channel: p50 ${fmt(a.paidMs.p50, 1)} ms vs ${fmt(a.unpaidMs.p50, 1)} ms for the same image answer unpaid, so the payment adds`,
        `  ${fmt(a.addedP50Ms, 1)} ms. The official client's flow is two HTTP round trips (the unpaid POST and its 402, then the paid POST),`,
        '  both carrying the request, plus the voucher signature, before the gateway checks and charges it.',
      );
    }
    if (paid.referenceBatchUnavailable) {
      out.push(`- **Official batch-settlement stack: not measured.** ${paid.referenceBatchUnavailable}`);
    } else {
      const pairs = paid.levels
        .filter((l) => l.oursBatch && l.referenceBatch)
        .map(
          (l) =>
            `${l.concurrency}: ×${fmt((l.oursBatch?.paidPerSecond ?? 0) / (l.referenceBatch?.paidPerSecond ?? Number.NaN), 2)}`,
        );
      if (pairs.length > 0)
        out.push(
          `- **Against the official batch-settlement stack**, paid req/s ours ÷ official: ${pairs.join(', ')}.`,
        );
    }
  }
  const g = r.gas;
  if (g) {
    const one = g.singleChannel?.gasPerImage;
    const many = g.batched?.gasPerImage;
    const exact = g.exact.ours.meanGasUsed;
    out.push(
      `- **Gas target (≤ ${g.targetPerImage} gas per image, 25-image session): ${met(one === undefined ? undefined : one <= g.targetPerImage)}** for one session`,
      `  alone: ${fmt(one, 0)} gas per image (deposit, claim, settle and refund of one channel over ${SESSION_IMAGES} images). With the claim and settle`,
      `  shared by ${g.batched?.channels ?? '–'} channels claimed in one pass: ${fmt(many, 0)} gas per image (${met(many === undefined ? undefined : many <= g.targetPerImage)}).`,
      `  Exact: ${fmt(exact, 0)} gas per image (one transfer each), so batch-settlement is ×${fmt(one === undefined || exact === undefined ? undefined : exact / one, 1)} (alone) and`,
      `  ×${fmt(many === undefined || exact === undefined ? undefined : exact / many, 1)} (batched) cheaper per image.${
        g.batched?.depositPlusRefundPerChannel === undefined
          ? ''
          : ` The floor is the deposit + refund, ${fmt(g.batched.depositPlusRefundPerChannel, 0)} gas per channel (${fmt(g.batched.depositPlusRefundPerChannel / SESSION_IMAGES, 0)} per image at ${SESSION_IMAGES} images), which no batching of claims shares; only longer sessions (more images per deposit) lower it.`
      }`,
    );
  }
  return out;
}

/**
 * Plain-language pointers for the package owners, computed from this run's numbers (so they never
 * go stale against the tables above them). Each line names the measurement it rests on.
 */
export function findingsFrom(r: BenchResults): string[] {
  const out: string[] = [...targetFindings(r)];
  const paid = r.paid;
  if (paid) {
    const beats = paid.levels.filter(
      (l) => (l.throughputRatio ?? 0) > 1 && (l.p50Ratio ?? Number.POSITIVE_INFINITY) < 1,
    );
    const loses = paid.levels.filter((l) => !beats.includes(l));
    const list = (levels: typeof paid.levels) =>
      levels
        .map((l) => `${l.concurrency} (throughput ×${fmt(l.throughputRatio, 2)}, p50 ×${fmt(l.p50Ratio, 2)})`)
        .join(', ');
    out.push(
      `- **Verdict of this run.** ${
        beats.length > 0
          ? `Ours (exact) beats the official exact reference on both paid req/s and p50 at concurrency ${list(beats)}.`
          : 'Ours (exact) does not beat the official exact reference on both paid req/s and p50 at any concurrency level.'
      }${loses.length > 0 ? ` Not at: ${list(loses)}.` : ''} The reference's req/s and latency count its 200s only`,
      '  (its failed settlements are left out, not counted against it).',
    );
    const cpuRows = paid.levels.map((l) => {
      const busy = (s: typeof l.ours) =>
        s.cpuMsPerPaid === undefined || s.paidPerSecond === undefined
          ? undefined
          : (s.cpuMsPerPaid.total * s.paidPerSecond) / 1000;
      return { level: l, ours: busy(l.ours), reference: busy(l.reference) };
    });
    const cores = r.machine.cores;
    const bound = cpuRows.filter(
      (row) =>
        row.ours !== undefined &&
        row.reference !== undefined &&
        Math.min(row.ours, row.reference) > 0.8 * cores,
    );
    if (bound.length > 0) {
      const ratio = (row: (typeof cpuRows)[number]) =>
        fmt((row.level.ours.cpuMsPerPaid?.total ?? 0) / (row.level.reference.cpuMsPerPaid?.total ?? 1), 2);
      out.push(
        `- **CPU-bound levels.** At concurrency ${bound.map((b) => b.level.concurrency).join(', ')} both sides keep more than 80% of the ${cores} cores busy`,
        '  (CPU table above): there a level is won by using less CPU per paid request, not by waiting less. CPU per paid 200,',
        `  ours / reference: ${bound.map((b) => `${b.level.concurrency}: ×${ratio(b)}`).join(', ')}.`,
      );
    }
  }
  const c = r.components;
  if (c) {
    const f = c.facilitators;
    const sig = c.signatureRecovery;
    const perRecoveryMs = 1000 / sig.viemRecoverTypedDataAddressPerSecond;
    out.push(
      `- **RPC round trips.** Per verify: ours ${fmt(f.ours.rpcPerVerify.httpRequests, 1)} HTTP requests vs reference ${fmt(f.reference.rpcPerVerify.httpRequests, 1)}; per settle: ours`,
      `  ${fmt(f.ours.rpcPerSettle.httpRequests, 1)} vs reference ${fmt(f.reference.rpcPerSettle.httpRequests, 1)} (method mix in the table); verify p50 ours ${fmt(f.ours.verifyMs.p50, 0)} ms vs ${fmt(f.reference.verifyMs.p50, 0)} ms, settle`,
      `  p50 ${fmt(f.ours.settleMs.p50, 0)} ms vs ${fmt(f.reference.settleMs.p50, 0)} ms. Ours: the payer's code is cached, a valid v2 verify is the official simulation alone,`,
      '  settle reads the replay/balance pre-check in one batch while the official checks run (no broadcast before it passed), and',
      '  on the devnet a transaction goes out with `eth_sendRawTransactionSync` (the receipt comes back in the same call). The',
      "  reference's wallet client fills the transaction (`eth_fillTransaction`) and then polls for the receipt.",
    );
    out.push(
      `- **Signature recovery.** Both facilitators recover the payer with viem's JavaScript \`recoverAddress\` inside the official`,
      `  scheme (${sig.viemRecoverTypedDataAddressPerSecond}/s here, ≈${fmt(perRecoveryMs, 1)} ms of CPU each), in verify and again in settle: the same cost on both`,
      `  sides, and the largest part of a facilitator's CPU that is left. libsecp256k1 (${sig.nativeSecp256k1PerSecond === undefined ? 'not loadable here' : `${sig.nativeSecp256k1PerSecond}/s here including hashing`}) would only`,
      "  replace it by replacing the official scheme's verify, which this project builds on; ours uses it to sign its own",
      '  settlement transactions instead.',
    );
    const [dyn, mem, onRef, ref] = c.pathVariants.map((x) => x.latencyMs.p50);
    if (dyn !== undefined && mem !== undefined) {
      out.push(
        `- **Payment store.** Same gateway, in-memory store instead of the embedded dynalite: p50 ${fmt(mem, 0)} ms vs ${fmt(dyn, 0)} ms`,
        `  (${fmt(dyn - mem, 0)} ms per paid request). Per purchase the store does a reservation and a paid-request lookup side by side with`,
        '  verify and one BatchWriteItem for both settled records, through the AWS SDK to dynalite in the same process (no TCP).',
        '  This durable replay protection is work the reference does not do at all; it is paid for by the cheaper facilitator.',
      );
    }
    if (dyn !== undefined && onRef !== undefined && ref !== undefined) {
      out.push(
        `- **Gateway vs facilitator share.** Our gateway on the reference facilitator: p50 ${fmt(onRef, 0)} ms; on ours: ${fmt(dyn, 0)} ms; the`,
        `  reference seller on the reference facilitator: ${fmt(ref, 0)} ms (this table runs everything in one process, generator included).`,
        `  Image generation alone is ${fmt(c.imageGeneration1024Ms.p50, 0)} ms p50, the largest single cost on both sides.`,
      );
    }
  }
  if (paid) {
    const sum = (side: Side) => {
      const totals: Record<string, number> = {};
      for (const l of paid.levels)
        for (const [k, n] of Object.entries((l[side] as SideResult | undefined)?.failures ?? {}))
          totals[k] = (totals[k] ?? 0) + n;
      const entries = Object.entries(totals);
      return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${n}× \`${k}\``).join(', ');
    };
    out.push(
      `- **Failures under concurrency.** ${(['ours', 'reference', 'oursBatch', 'referenceBatch'] as const).map((side) => `${SIDE_LABELS[side]}: ${sum(side)}`).join('. ')}. The reference's plain viem signer`,
      '  reads the pending nonce per transaction (no local nonce manager), so concurrent settles collide and revert or are replaced',
      `  (\`fetch failed\`, when present, is its seller losing the HTTP connection to its facilitator under load). Ours hands out`,
      "  nonces locally and broadcasts each settler's transactions in nonce order, one request at a time (resyncs: see the line under",
      '  the paid table).',
    );
    const gw = paid.serviceStats.oursGateway as { log?: { lines: number; bytes: number } } | undefined;
    const okOurs = paid.levels.reduce((a, l) => a + l.ours.ok + (l.oursBatch?.ok ?? 0), 0);
    if (gw?.log && okOurs > 0) {
      out.push(
        `- **Logging.** About one JSON line per HTTP request (gateway ${fmt(gw.log.lines / okOurs, 1)} lines per timed paid request of either scheme, warm-up and deposits included: the 402 and the paid`,
        `  call; ≈${fmt(gw.log.bytes / gw.log.lines, 0)} bytes a line). Serialisation only is measured here (lines are counted, not written); not a priority.`,
      );
    }
  }
  if (r.coldStart) {
    const largest = [...r.coldStart].sort((a, b) => (b.bundleBytes ?? 0) - (a.bundleBytes ?? 0))[0];
    if (largest?.bundleBytes !== undefined) {
      out.push(
        `- **Cold start.** The largest bundle is \`${largest.entry}\` (${fmt(largest.bundleBytes / 1024, 0)} KiB, init ${fmt(largest.initMsMedian, 0)} ms): it wires every adapter at`,
        '  module load (Bedrock, S3, DynamoDB, CDP auth). Lazy `import()` of the adapters a configuration does not use (Bedrock when',
        '  IMAGE_GENERATOR=local, CDP JWT when FACILITATOR_KIND=ours) would cut both size and init time.',
      );
    }
  }
  return out;
}
