import { useState } from "react";
import { useQuery } from "urql";
import { ChartView } from "../Chart";
import { money, num, pct } from "../format";

const rowFields = `key currency payments firstAttemptApproved firstAttemptApprovalRate failedFirst recovered recoveredAmount retrying failed recoveryRate attemptsPerRecovery daysToRecovery`;
const RecoveryQuery = `
query Recovery($from: Time!, $to: Time!) {
  total: recovery(from: $from, to: $to) { ${rowFields} }
  byDecline: recovery(from: $from, to: $to, groupBy: DECLINE_CODE) { ${rowFields} }
  byBrand: recovery(from: $from, to: $to, groupBy: BRAND) { ${rowFields} }
  byStrategy: recovery(from: $from, to: $to, groupBy: STRATEGY) { ${rowFields} }
  byDay: recovery(from: $from, to: $to, groupBy: DAY) { ${rowFields} }
}`;

type Row = {
  key: string | null; currency: string; payments: number; firstAttemptApproved: number; firstAttemptApprovalRate: number;
  failedFirst: number; recovered: number; recoveredAmount: number; retrying: number; failed: number;
  recoveryRate: number; attemptsPerRecovery: number; daysToRecovery: number;
};

const day = (d: Date) => d.toISOString().slice(0, 10);

// Rows of one group over currencies summed: counts add; rates are
// recomputed from the sums.
function merge(rows: Row[]): Row[] {
  const by = new Map<string, Row>();
  for (const r of rows) {
    const k = r.key ?? "(none)";
    const m = by.get(k);
    if (!m) { by.set(k, { ...r, key: k }); continue; }
    const attempts = m.attemptsPerRecovery * m.recovered + r.attemptsPerRecovery * r.recovered;
    const days = m.daysToRecovery * m.recovered + r.daysToRecovery * r.recovered;
    for (const f of ["payments", "firstAttemptApproved", "failedFirst", "recovered", "retrying", "failed"] as const) m[f] += r[f];
    m.currency = m.currency === r.currency ? m.currency : "mixed";
    m.firstAttemptApprovalRate = m.payments ? m.firstAttemptApproved / m.payments : 0;
    m.recoveryRate = m.failedFirst ? m.recovered / m.failedFirst : 0;
    m.attemptsPerRecovery = m.recovered ? attempts / m.recovered : 0;
    m.daysToRecovery = m.recovered ? days / m.recovered : 0;
  }
  return [...by.values()].sort((a, b) => b.failedFirst - a.failedFirst);
}

function Table({ rows, caption, testid }: { rows: Row[]; caption: string; testid: string }) {
  return (
    <table data-testid={testid}>
      <caption>{caption}</caption>
      <thead>
        <tr><th>Group</th><th>Payments</th><th>First-attempt approval</th><th>Failed first</th><th>Recovered</th><th>Recovery rate</th><th>Attempts / recovery</th><th>Days to recovery</th></tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key ?? ""}>
            <td>{r.key}</td><td className="num">{r.payments}</td><td className="num">{pct(r.firstAttemptApprovalRate)}</td>
            <td className="num">{r.failedFirst}</td><td className="num">{r.recovered}</td><td className="num">{pct(r.recoveryRate)}</td>
            <td className="num">{num(r.attemptsPerRecovery, 1)}</td><td className="num">{num(r.daysToRecovery, 1)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function bars(rows: Row[], label: string) {
  return {
    type: "bar" as const,
    data: { labels: rows.map((r) => r.key ?? ""), datasets: [{ label, data: rows.map((r) => r.recoveryRate * 100) }] },
    options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "recovered %" } } } },
  };
}

export function Recovery() {
  const [range, setRange] = useState({ from: day(new Date(Date.now() - 90 * 86400e3)), to: day(new Date(Date.now() + 86400e3)) });
  const [draft, setDraft] = useState(range);
  const [{ data, error, fetching }] = useQuery({
    query: RecoveryQuery,
    variables: { from: new Date(range.from + "T00:00:00Z").toISOString(), to: new Date(range.to + "T00:00:00Z").toISOString() },
  });
  const total = data ? merge(data.total) : [];
  const t = total[0];
  const amounts = data ? (data.total as Row[]).map((r) => money(r.recoveredAmount, r.currency)).join(", ") : "";
  const days = data ? merge(data.byDay).sort((a, b) => (a.key! < b.key! ? -1 : 1)) : [];
  return (
    <section>
      <h1>Recovery</h1>
      <form className="filters" aria-label="Time range" onSubmit={(e) => { e.preventDefault(); setRange(draft); }}>
        <label>From<input type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} /></label>
        <label>To<input type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} /></label>
        <button type="submit">Apply</button>
      </form>
      {error && <p role="alert" className="error">{error.message}</p>}
      {fetching && <p className="loading">Loading…</p>}
      {t && (
        <>
          <h2>Funnel</h2>
          <ol className="funnel" data-testid="funnel">
            <li><strong>{t.payments}</strong> payments, {pct(t.firstAttemptApprovalRate)} approved at the first attempt</li>
            <li><strong>{t.failedFirst}</strong> failed first</li>
            <li><strong>{t.retrying}</strong> retrying</li>
            <li><strong>{t.recovered}</strong> recovered ({pct(t.recoveryRate)}; {amounts}), {num(t.attemptsPerRecovery, 1)} attempts and {num(t.daysToRecovery, 1)} days per recovery</li>
            <li><strong>{t.failed}</strong> failed for good</li>
          </ol>
          <p>Final approval: {pct(t.payments ? (t.firstAttemptApproved + t.recovered) / t.payments : 0)} against {pct(t.firstAttemptApprovalRate)} at the first attempt.</p>
          <h2>Over time</h2>
          <ChartView testid="chart-daily" label="First-attempt and final approval by day" config={{
            type: "line",
            data: {
              labels: days.map((d) => d.key ?? ""),
              datasets: [
                { label: "first-attempt approval %", data: days.map((d) => d.firstAttemptApprovalRate * 100) },
                { label: "final approval %", data: days.map((d) => (d.payments ? ((d.firstAttemptApproved + d.recovered) / d.payments) * 100 : 0)) },
              ],
            },
            options: { scales: { y: { min: 0, max: 100 } } },
          }} />
          <h2>By decline code</h2>
          <ChartView testid="chart-decline" label="Recovery rate by decline code" config={bars(merge(data.byDecline).filter((r) => r.failedFirst > 0), "recovery %")} />
          <Table rows={merge(data.byDecline)} caption="By the first attempt's decline code" testid="by-decline" />
          <h2>By network</h2>
          <Table rows={merge(data.byBrand)} caption="By card brand" testid="by-brand" />
          <h2>By strategy</h2>
          <ChartView testid="chart-strategy" label="Recovery rate by retry strategy" config={bars(merge(data.byStrategy), "recovery %")} />
          <Table rows={merge(data.byStrategy)} caption="By retry strategy" testid="by-strategy" />
        </>
      )}
      {data && !t && <p>No payments in this range.</p>}
    </section>
  );
}
