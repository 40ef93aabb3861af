import { useQuery } from "urql";
import { when } from "../format";

const WebhooksQuery = `
query Webhooks {
  webhookEndpoints(first: 20) {
    edges { node {
      id url enabled eventTypes description
      deliveries(first: 20, orderBy: {field: CREATED_AT, direction: DESC}) {
        totalCount
        edges { node { id eventType objectID status attemptCount deliveredAt nextAttemptAt attempts { at statusCode error durationMs } } }
      }
    } }
  }
}`;

export function Webhooks() {
  const [{ data, error }] = useQuery({ query: WebhooksQuery });
  if (error) return <p role="alert" className="error">{error.message}</p>;
  if (!data) return <p className="loading">Loading…</p>;
  const endpoints = data.webhookEndpoints.edges.map((e: any) => e.node);
  return (
    <section>
      <h1>Webhook deliveries</h1>
      {endpoints.length === 0 && <p>No webhook endpoint: a secret key can create one with createWebhookEndpoint.</p>}
      {endpoints.map((w: any) => (
        <article key={w.id}>
          <h2>{w.url} {!w.enabled && "(disabled)"}</h2>
          <p>{w.description} · {w.eventTypes?.length ? w.eventTypes.join(", ") : "all events"} · {w.deliveries.totalCount} deliveries</p>
          <table>
            <thead><tr><th>Event</th><th>Object</th><th>Status</th><th>Tries</th><th>Last try</th><th>Delivered</th><th>Next try</th></tr></thead>
            <tbody>
              {w.deliveries.edges.map(({ node: d }: { node: any }) => {
                const last = d.attempts?.[d.attempts.length - 1];
                return (
                  <tr key={d.id}>
                    <td>{d.eventType}</td><td>{d.objectID}</td><td><span className={`status ${d.status}`}>{d.status}</span></td>
                    <td className="num">{d.attemptCount}</td>
                    <td>{last ? `${last.statusCode ?? last.error} in ${last.durationMs} ms` : "–"}</td>
                    <td>{when(d.deliveredAt)}</td><td>{when(d.nextAttemptAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </article>
      ))}
    </section>
  );
}
