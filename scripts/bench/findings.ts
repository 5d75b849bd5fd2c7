import type { BenchResults } from './report.ts';
import { fmt } from './stats.ts';

/**
 * Plain-language pointers for the package owners, computed from this run's numbers (so they never
 * go stale against the tables above them). Each line names the measurement it rests on.
 */
export function findingsFrom(r: BenchResults): string[] {
  const out: string[] = [];
  const c = r.components;
  if (c) {
    const f = c.facilitators;
    const sig = c.signatureRecovery;
    const perRecoveryMs = 1000 / sig.viemRecoverTypedDataAddressPerSecond;
    out.push(
      `- **Signature recovery (facilitator).** Both facilitators run the official \`@x402/evm\` exact scheme, which hashes the`,
      `  typed data and recovers the signer with viem's pure-JS \`recoverAddress\` (${sig.viemRecoverTypedDataAddressPerSecond}/s here, ≈${fmt(perRecoveryMs, 1)} ms of CPU each)`,
      '  in verify and again in settle, so the cost is the same on both sides. Verify p50: ours',
      `  ${fmt(f.ours.verifyMs.p50, 0)} ms vs reference ${fmt(f.reference.verifyMs.p50, 0)} ms. A native secp256k1 (${sig.nativeSecp256k1PerSecond === undefined ? 'none loadable here' : `${sig.nativeSecp256k1PerSecond}/s here including hashing`})`,
      "  would only help by replacing the official scheme's verify, which this project deliberately builds on.",
    );
    out.push(
      `- **RPC round trips.** Per verify: ours ${fmt(f.ours.rpcPerVerify.httpRequests, 1)} HTTP requests vs reference ${fmt(f.reference.rpcPerVerify.httpRequests, 1)}; per settle: ours`,
      `  ${fmt(f.ours.rpcPerSettle.httpRequests, 1)} vs reference ${fmt(f.reference.rpcPerSettle.httpRequests, 1)} (method mix in the table). Our settle repeats the precheck batch`,
      '  (`authorizationState`, `balanceOf`) that verify ran moments before. Reusing the verify-time result was tried and reverted:',
      '  when the payer spends the funds between verify and settle, settle then sends a transaction that reverts (gas burnt,',
      '  `transaction_failed`) instead of refusing with `insufficient_balance`.',
    );
    const receiptPolls = f.ours.rpcPerSettle.calls.eth_getTransactionReceipt;
    if (receiptPolls !== undefined) {
      out.push(
        `- **Receipt waiting.** Ours asks for the receipt ${fmt(receiptPolls, 1)}× per settle vs the reference's`,
        `  ${fmt(f.reference.rpcPerSettle.calls.eth_getTransactionReceipt, 1)}×; settle p50 ours ${fmt(f.ours.settleMs.p50, 0)} ms vs reference ${fmt(f.reference.settleMs.p50, 0)} ms. Where the chain mines at once`,
        '  (automine, fast L2 sequencers) fetch the receipt in the same JSON-RPC batch as `eth_sendRawTransaction` and poll only if',
        '  it is not there yet.',
      );
    }
    const v = c.pathVariants;
    const [dyn, mem, onRef, ref] = v.map((x) => x.latencyMs.p50);
    if (dyn !== undefined && mem !== undefined) {
      out.push(
        `- **Payment store.** Same gateway, in-memory store instead of the embedded dynalite: p50 ${fmt(mem, 0)} ms vs ${fmt(dyn, 0)} ms`,
        `  (${fmt(dyn - mem, 0)} ms per paid request for reserve + 2 conditional transitions over HTTP to dynalite, which runs inside the
  gateway process and so also competes with image generation for its one event loop under concurrency). The DynamoDB protocol`,
        '  is right for the cloud; locally, consider one write fewer (fold the `settling` transition into the reservation lease, or',
        "  write `settled` with the receipt only) and keep the SDK client's keep-alive agent warm.",
      );
    }
    if (dyn !== undefined && onRef !== undefined && ref !== undefined) {
      out.push(
        `- **Gateway vs facilitator share.** Our gateway on the reference facilitator: p50 ${fmt(onRef, 0)} ms; on ours: ${fmt(dyn, 0)} ms; the`,
        `  reference seller on the reference facilitator: ${fmt(ref, 0)} ms. Image generation alone is ${fmt(c.imageGeneration1024Ms.p50, 0)} ms p50 and dominates`,
        "  both sides; it runs on the gateway's event loop, so under concurrency it also delays every verify/settle reply that the",
        '  same process is waiting for (a worker thread for the local generator would keep the payment path responsive).',
      );
    }
  }
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
    out.unshift(
      `- **Verdict of this run.** ${
        beats.length > 0
          ? `Ours beats the reference on both paid req/s and p50 at concurrency ${list(beats)}.`
          : 'Ours does not beat the reference on both paid req/s and p50 at any concurrency level.'
      }${loses.length > 0 ? ` Per level, ours / reference: ${list(loses)}.` : ''} Ours answered every request with a settled 200; the`,
      "  reference's latency and req/s count its 200s only, and its failed settlements shed load it would otherwise carry. Where ours",
      '  is slower, the items below are per-request costs ours pays and the reference does not.',
    );
    const sum = (side: 'ours' | 'reference') => {
      const totals: Record<string, number> = {};
      for (const l of paid.levels)
        for (const [k, n] of Object.entries(l[side].failures)) totals[k] = (totals[k] ?? 0) + n;
      const entries = Object.entries(totals);
      return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${n}× \`${k}\``).join(', ');
    };
    out.push(
      `- **Failures under concurrency.** Ours: ${sum('ours')}. Reference: ${sum('reference')}. The reference's plain viem signer`,
      '  reads the pending nonce per transaction (no local nonce manager), so concurrent settles collide and revert or are replaced',
      `  (\`fetch failed\`, when present, is its seller losing the HTTP connection to its facilitator under load). Our nonce allocator`,
      '  hands out nonces locally (resyncs: see the line under the paid table).',
    );
    const gw = paid.serviceStats.oursGateway as { log?: { lines: number; bytes: number } } | undefined;
    const okOurs = paid.levels.reduce((a, l) => a + l.ours.ok, 0);
    if (gw?.log && okOurs > 0) {
      out.push(
        `- **Logging.** About one JSON line per HTTP request (gateway ${fmt(gw.log.lines / okOurs, 1)} lines per paid request: the 402 and the paid`,
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
