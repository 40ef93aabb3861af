import { useQuery } from "urql";
import { pct, when } from "../format";

const ProcessorsQuery = `
query Processors($from: Time!, $to: Time!) {
  processors(first: 50) {
    edges { node {
      id name type enabled costPercentBps costFixed
      health { status recentCalls recentTechnicalFailures successRate scoredOutcomes eliminatedSince segments { segment successRate scoredOutcomes } }
    } }
  }
  recovery(from: $from, to: $to, groupBy: PROCESSOR) { key currency payments firstAttemptApprovalRate recoveryRate }
}`;

export function Processors() {
  const to = new Date(Date.now() + 86400e3);
  const from = new Date(to.getTime() - 31 * 86400e3);
  const [{ data, error }] = useQuery({
    query: ProcessorsQuery,
    variables: { from: from.toISOString().slice(0, 10) + "T00:00:00Z", to: to.toISOString().slice(0, 10) + "T00:00:00Z" },
  });
  if (error) return <p role="alert" className="error">{error.message}</p>;
  if (!data) return <p className="loading">Loading…</p>;
  return (
    <section>
      <h1>Processors</h1>
      <table data-testid="processors">
        <thead>
          <tr><th>Processor</th><th>Type</th><th>Enabled</th><th>Health</th><th>Recent calls</th><th>Technical failures</th><th>Success rate</th><th>Eliminated since</th><th>Cost</th></tr>
        </thead>
        <tbody>
          {data.processors.edges.map(({ node: p }: { node: any }) => (
            <tr key={p.id}>
              <td>{p.name}<br /><small>{p.id}</small></td><td>{p.type}</td><td>{p.enabled ? "yes" : "no"}</td>
              <td><span className={`status ${p.health.status}`}>{p.health.status}</span></td>
              <td className="num">{p.health.recentCalls}</td><td className="num">{p.health.recentTechnicalFailures}</td>
              <td className="num">{pct(p.health.successRate)} of {p.health.scoredOutcomes}</td>
              <td>{when(p.health.eliminatedSince)}</td>
              <td>{(p.costPercentBps / 100).toFixed(2)}% + {p.costFixed} (minor units)</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Success rate by segment</h2>
      <p className="hint">As the auto routing strategy ranks processors: over this server's recent scored outcomes, per card brand/funding/issuing country/currency.</p>
      <table data-testid="segments">
        <thead><tr><th>Processor</th><th>Segment</th><th>Success rate</th><th>Scored outcomes</th></tr></thead>
        <tbody>
          {data.processors.edges.flatMap(({ node: p }: { node: any }) =>
            p.health.segments.map((g: any) => (
              <tr key={`${p.id}-${g.segment}`}><td>{p.name}</td><td>{g.segment}</td><td className="num">{pct(g.successRate)}</td><td className="num">{g.scoredOutcomes}</td></tr>
            )),
          )}
        </tbody>
      </table>
      <h2>First attempts by processor, last 31 days</h2>
      <table data-testid="by-processor">
        <thead><tr><th>Processor</th><th>Currency</th><th>Payments</th><th>First-attempt approval</th><th>Recovery</th></tr></thead>
        <tbody>
          {data.recovery.map((r: any) => (
            <tr key={`${r.key}-${r.currency}`}><td>{r.key ?? "–"}</td><td>{r.currency}</td><td className="num">{r.payments}</td><td className="num">{pct(r.firstAttemptApprovalRate)}</td><td className="num">{pct(r.recoveryRate)}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
