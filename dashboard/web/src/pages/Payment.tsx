import { useEffect, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { countdown, money, num, when } from "../format";
import type { Role } from "../main";

const fields = `
  id status amount currency amountCapturable amountReceived failureReason retryStrategy modelVersion holdout
  customerID attemptCount createdAt retryUntil captureBefore
  testClock { id frozenTime }
  nextAttempt { at strategy reason score modelVersion alternatives { at score } }
  attempts(first: 100, orderBy: [{field: NUMBER, direction: ASC}]) {
    edges { node {
      id number startedAt finishedAt outcome declineCode declineClass networkAdviceCode latencyMs processorID
      processor { id name }
      routing { routeID strategy reason candidates { processorID eligible score reason propensity } failovers { processorID at reason } }
      scheduling { strategy reason modelVersion score explored propensity alternatives { at score } }
    } }
  }`;

const PaymentQuery = `query Payment($id: ID!) { node(id: $id) { ... on OffSessionPayment { ${fields} } } }`;
const PaymentChanged = `subscription PaymentChanged($id: ID!) { offSessionPaymentChanged(id: $id) { ${fields} } }`;
const actions = {
  cancel: `mutation Cancel($id: ID!) { cancelOffSessionPayment(id: $id) { ${fields} } }`,
  pause: `mutation Pause($id: ID!) { pauseOffSessionPayment(id: $id) { ${fields} } }`,
  resume: `mutation Resume($id: ID!) { resumeOffSessionPayment(id: $id) { ${fields} } }`,
  capture: `mutation Capture($id: ID!) { captureOffSessionPayment(id: $id) { ${fields} } }`,
};
// The statuses each action applies to (DESIGN.md's lifecycle).
const allowed: Record<keyof typeof actions, string[]> = {
  cancel: ["pending", "pending_retry", "paused", "requires_capture"],
  pause: ["pending", "pending_retry"],
  resume: ["paused"],
  capture: ["requires_capture"],
};

function useNow(frozen?: string): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (frozen) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [frozen]);
  return frozen ? new Date(frozen).getTime() : now;
}

function Action({ name, id, status }: { name: keyof typeof actions; id: string; status: string }) {
  const [{ fetching, error }, run] = useMutation(actions[name]);
  return (
    <>
      <button disabled={fetching || !allowed[name].includes(status)} onClick={() => run({ id })}>
        {name[0].toUpperCase() + name.slice(1)}
      </button>
      {error && <span role="alert" className="error">{error.graphQLErrors[0]?.message ?? error.message}</span>}
    </>
  );
}

function Why({ a }: { a: any }) {
  const s = a.scheduling;
  const r = a.routing;
  return (
    <details>
      <summary>Why this time and this processor</summary>
      {s && (
        <div>
          <h4>Time: {s.strategy}</h4>
          <p>{s.reason}</p>
          <p>
            {[
              s.modelVersion && `model ${s.modelVersion}`,
              s.score != null && `score ${num(s.score, 3)}`,
              s.explored != null && (s.explored ? "explored" : "the best time"),
              s.propensity != null && `propensity ${num(s.propensity, 3)}`,
            ].filter(Boolean).join(" · ")}
          </p>
          {s.alternatives?.length > 0 && (
            <table className="small">
              <caption>Times not picked</caption>
              <thead><tr><th>At</th><th>Score</th></tr></thead>
              <tbody>{s.alternatives.map((x: any) => <tr key={x.at}><td>{when(x.at)}</td><td className="num">{num(x.score, 3)}</td></tr>)}</tbody>
            </table>
          )}
        </div>
      )}
      {r && (
        <div>
          <h4>Processor: {r.strategy}{r.routeID ? ` (route ${r.routeID})` : ""}</h4>
          <p>{r.reason}</p>
          {r.candidates?.length > 0 && (
            <table className="small">
              <caption>Candidates</caption>
              <thead><tr><th>Processor</th><th>Eligible</th><th>Score</th><th>Propensity</th><th>Note</th></tr></thead>
              <tbody>{r.candidates.map((c: any) => (
                <tr key={c.processorID}><td>{c.processorID}</td><td>{c.eligible ? "yes" : "no"}</td><td className="num">{num(c.score, 3)}</td><td className="num">{num(c.propensity, 3)}</td><td>{c.reason ?? ""}</td></tr>
              ))}</tbody>
            </table>
          )}
          {r.failovers?.map((f: any) => <p key={f.at + f.processorID}>Left {f.processorID} at {when(f.at)}: {f.reason}</p>)}
        </div>
      )}
    </details>
  );
}

export function Payment({ id, role }: { id: string; role: Role }) {
  const [{ data, error }] = useQuery({ query: PaymentQuery, variables: { id } });
  // The subscription sends the payment as it is, then at each change; the
  // cache puts it where the query reads it.
  const [live] = useSubscription({ query: PaymentChanged, variables: { id } });
  const p = data?.node;
  const now = useNow(p?.testClock?.frozenTime);
  if (error) return <p role="alert" className="error">{error.message}</p>;
  if (!data) return <p className="loading">Loading…</p>;
  if (!p) return <p>No payment {id} in this account.</p>;
  const next = p.nextAttempt;
  return (
    <section>
      <p><a href="#/payments">← Payments</a></p>
      <h1>Payment {p.id}</h1>
      <dl className="facts">
        <dt>Status</dt><dd><span className={`status ${p.status}`} data-testid="payment-status">{p.status}</span>{p.failureReason && ` (${p.failureReason})`}</dd>
        <dt>Amount</dt><dd>{money(p.amount, p.currency)} · received {money(p.amountReceived, p.currency)}{p.amountCapturable > 0 && ` · capturable ${money(p.amountCapturable, p.currency)}`}</dd>
        <dt>Customer</dt><dd>{p.customerID}</dd>
        <dt>Retries</dt><dd>{p.retryStrategy}{p.holdout && " (holdout group)"}{p.modelVersion && ` · model ${p.modelVersion}`} · until {when(p.retryUntil)}</dd>
        {p.testClock && <><dt>Test clock</dt><dd>{p.testClock.id} at {when(p.testClock.frozenTime)}</dd></>}
        <dt>Live</dt><dd data-testid="live">{live.error ? `disconnected: ${live.error.message}` : live.data ? "receiving changes" : "connecting…"}</dd>
      </dl>
      {next && (
        <div className="next" data-testid="next-attempt">
          <h2>Next attempt</h2>
          <p>
            {next.at ? <>{when(next.at)} <strong>{countdown(next.at, now)}</strong></> : "waiting for updated card data"}
            {" "}· {next.strategy}{next.score != null && ` · score ${num(next.score, 3)}`}{next.modelVersion && ` · model ${next.modelVersion}`}
          </p>
          <p>{next.reason}</p>
        </div>
      )}
      {role !== "restricted" && (
        <div className="actions" role="group" aria-label="Actions">
          {(Object.keys(actions) as (keyof typeof actions)[]).map((a) => <Action key={a} name={a} id={p.id} status={p.status} />)}
        </div>
      )}
      <h2>Attempts</h2>
      <table>
        <thead>
          <tr><th>#</th><th>Started</th><th>Processor</th><th>Outcome</th><th>Decline</th><th>Class</th><th>Advice</th><th>Latency</th><th>Why</th></tr>
        </thead>
        <tbody data-testid="timeline">
          {p.attempts.edges.map(({ node: a }: { node: any }) => (
            <tr key={a.id}>
              <td className="num">{a.number}</td>
              <td>{when(a.startedAt)}</td>
              <td>{a.processor?.name ?? a.processorID ?? "–"}</td>
              <td><span className={`outcome ${a.outcome}`}>{a.outcome}</span></td>
              <td>{a.declineCode ?? ""}</td>
              <td>{a.declineClass ?? ""}</td>
              <td>{a.networkAdviceCode ?? ""}</td>
              <td className="num">{a.latencyMs != null ? `${a.latencyMs} ms` : ""}</td>
              <td><Why a={a} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.attempts.edges.length === 0 && <p>No attempt yet.</p>}
      <p className="hint">A score is the retry model's predicted approval of a retry at that time; an explored time was drawn with its propensity, away from the best, so the model keeps learning.</p>
    </section>
  );
}
