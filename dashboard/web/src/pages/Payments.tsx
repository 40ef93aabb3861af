import { useState, type ReactElement } from "react";
import { useQuery } from "urql";
import { money, when } from "../format";

const PaymentsQuery = `
query Payments($first: Int!, $after: Cursor, $where: OffSessionPaymentWhereInput) {
  offSessionPayments(first: $first, after: $after, where: $where, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id createdAt customerID status amount currency retryStrategy attemptCount nextAttemptAt failureReason } }
  }
}`;

export const statuses = ["pending", "processing", "requires_review", "pending_retry", "requires_capture", "paused", "succeeded", "failed", "canceled"];
const strategies = ["none", "scheduled", "heuristic", "smart"];

type Filters = { status: string; declineCode: string; strategy: string; from: string; to: string; customer: string };
const none: Filters = { status: "", declineCode: "", strategy: "", from: "", to: "", customer: "" };

// The filters as an OffSessionPaymentWhereInput; dates are UTC days.
function where(f: Filters) {
  const w: Record<string, unknown> = {};
  if (f.status) w.status = f.status;
  if (f.strategy) w.retryStrategy = f.strategy;
  if (f.customer) w.customerID = f.customer;
  if (f.declineCode) w.hasAttemptsWith = [{ declineCode: f.declineCode }];
  if (f.from) w.createdAtGTE = new Date(f.from + "T00:00:00Z").toISOString();
  if (f.to) w.createdAtLT = new Date(new Date(f.to + "T00:00:00Z").getTime() + 86400e3).toISOString();
  return w;
}

export function Payments() {
  const [draft, setDraft] = useState(none);
  const [filters, setFilters] = useState(none);
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }] = useQuery({
    query: PaymentsQuery,
    variables: { first: 25, after, where: where(filters) },
  });
  const conn = data?.offSessionPayments;
  const field = (name: keyof Filters, label: string, input: ReactElement) => (
    <label key={name}>{label}{input}</label>
  );
  const set = (name: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value });
  return (
    <section>
      <h1>Payments</h1>
      <form className="filters" aria-label="Filter payments" onSubmit={(e) => { e.preventDefault(); setAfter(null); setFilters(draft); }}>
        {field("status", "Status", (
          <select name="status" value={draft.status} onChange={set("status")}>
            <option value="">any</option>
            {statuses.map((s) => <option key={s}>{s}</option>)}
          </select>
        ))}
        {field("declineCode", "Decline code", <input name="declineCode" value={draft.declineCode} onChange={set("declineCode")} placeholder="insufficient_funds" />)}
        {field("strategy", "Strategy", (
          <select name="strategy" value={draft.strategy} onChange={set("strategy")}>
            <option value="">any</option>
            {strategies.map((s) => <option key={s}>{s}</option>)}
          </select>
        ))}
        {field("from", "Created from", <input name="from" type="date" value={draft.from} onChange={set("from")} />)}
        {field("to", "Created to", <input name="to" type="date" value={draft.to} onChange={set("to")} />)}
        {field("customer", "Customer ID", <input name="customer" value={draft.customer} onChange={set("customer")} placeholder="cus_..." />)}
        <button type="submit">Apply</button>
        <button type="button" onClick={() => { setDraft(none); setFilters(none); setAfter(null); }}>Clear</button>
      </form>
      {error && <p role="alert" className="error">{error.message}</p>}
      {conn && <p data-testid="payments-count">{conn.totalCount} payments</p>}
      <table>
        <thead>
          <tr><th>Payment</th><th>Created</th><th>Status</th><th>Amount</th><th>Strategy</th><th>Attempts</th><th>Next attempt</th><th>Failure</th></tr>
        </thead>
        <tbody data-testid="payments">
          {conn?.edges.map(({ node: p }: { node: any }) => (
            <tr key={p.id}>
              <td><a href={`#/payments/${p.id}`}>{p.id}</a></td>
              <td>{when(p.createdAt)}</td>
              <td><span className={`status ${p.status}`}>{p.status}</span></td>
              <td className="num">{money(p.amount, p.currency)}</td>
              <td>{p.retryStrategy}</td>
              <td className="num">{p.attemptCount}</td>
              <td>{when(p.nextAttemptAt)}</td>
              <td>{p.failureReason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {fetching && <p className="loading">Loading…</p>}
      {conn?.pageInfo.hasNextPage && (
        <button onClick={() => setAfter(conn.pageInfo.endCursor)} disabled={fetching}>Load more</button>
      )}
    </section>
  );
}
