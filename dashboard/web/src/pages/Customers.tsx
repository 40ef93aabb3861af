import { useState } from "react";
import { useQuery } from "urql";
import { money, when } from "../format";

const CustomersQuery = `
query Customers($first: Int!, $after: Cursor) {
  customers(first: $first, after: $after, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name email country timeZone
      paymentMethods(first: 5) { totalCount edges { node {
        id brand funding last4 expMonth expYear status
        networkBudgets { max windowSeconds used availableAt }
      } } }
      mandates(first: 5) { totalCount edges { node { id status usage maxAmount currency revokedAt } } }
    } }
  }
}`;

const days = (s: number) => (s % 86400 === 0 ? `${s / 86400} d` : `${Math.round(s / 3600)} h`);

export function Customers() {
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, error, fetching }] = useQuery({ query: CustomersQuery, variables: { first: 20, after } });
  const conn = data?.customers;
  return (
    <section>
      <h1>Customers, cards and mandates</h1>
      {error && <p role="alert" className="error">{error.message}</p>}
      {conn && <p>{conn.totalCount} customers</p>}
      <table data-testid="customers">
        <thead><tr><th>Customer</th><th>Time zone</th><th>Payment methods (network retry budgets)</th><th>Mandates</th></tr></thead>
        <tbody>
          {conn?.edges.map(({ node: c }: { node: any }) => (
            <tr key={c.id}>
              <td>{c.name ?? "–"}<br /><small>{c.id}{c.email && ` · ${c.email}`}</small></td>
              <td>{c.timeZone}{c.country && ` · ${c.country}`}</td>
              <td>
                <ul>
                  {c.paymentMethods.edges.map(({ node: pm }: { node: any }) => (
                    <li key={pm.id}>
                      {pm.brand} {pm.funding} ····{pm.last4} {String(pm.expMonth).padStart(2, "0")}/{pm.expYear} <span className={`status ${pm.status}`}>{pm.status}</span>
                      {pm.networkBudgets.map((b: any) => (
                        <div key={b.windowSeconds} className="budget">
                          <meter min={0} max={b.max} value={b.used} aria-label={`retries used in ${days(b.windowSeconds)}`} /> {b.used} of {b.max} retries in {days(b.windowSeconds)}
                          {b.used >= b.max && <> · next at {when(b.availableAt)}</>}
                        </div>
                      ))}
                    </li>
                  ))}
                </ul>
              </td>
              <td>
                <ul>
                  {c.mandates.edges.map(({ node: m }: { node: any }) => (
                    <li key={m.id}>{m.usage} up to {money(m.maxAmount, m.currency)} <span className={`status ${m.status}`}>{m.status}</span>{m.revokedAt && ` ${when(m.revokedAt)}`}</li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {conn?.pageInfo.hasNextPage && <button disabled={fetching} onClick={() => setAfter(conn.pageInfo.endCursor)}>Load more</button>}
    </section>
  );
}
