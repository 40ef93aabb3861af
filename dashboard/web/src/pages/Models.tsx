import { useEffect } from "react";
import { useMutation, useQuery } from "urql";
import { ChartView } from "../Chart";
import { num, pct, when } from "../format";
import type { Role } from "../main";

const group = `payments recoveryRate attemptsPerRecovery daysToRecovery curve`;
const ModelsQuery = `
query Models {
  retryModels(first: 20, orderBy: [{field: VERSION, direction: DESC}]) {
    edges { node {
      id version status algorithm trainRows testRows progress error trainingSeconds createdAt activatedAt demotedAt demotionReason
      metrics {
        rows auc aucLower brier logLoss
        calibration { lower upper rows predicted observed }
        offPolicy { decisions kernel logged model { matched value lower upper } heuristic { matched value lower upper } }
      }
      uplift { treatment { ${group} } holdout { ${group} } }
    } }
  }
}`;
const Train = `mutation Train { trainRetryModel(input: {}) { id version status progress } }`;
const Activate = `mutation Activate($version: Int!) { activateRetryModel(version: $version) { id version status activatedAt } }`;

function Calibration({ m }: { m: any }) {
  const buckets = m.metrics?.calibration ?? [];
  return (
    <ChartView testid={`calibration-${m.version}`} label={`Calibration of version ${m.version}: predicted against observed approval`} config={{
      type: "scatter",
      data: {
        datasets: [
          { label: "observed by predicted", data: buckets.map((b: any) => ({ x: b.predicted, y: b.observed })), pointRadius: 5 },
          { label: "perfect calibration", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, pointRadius: 0, borderDash: [4, 4] },
        ],
      },
      options: { scales: { x: { min: 0, max: 1, title: { display: true, text: "predicted" } }, y: { min: 0, max: 1, title: { display: true, text: "observed" } } } },
    }} />
  );
}

function Uplift({ m }: { m: any }) {
  const u = m.uplift;
  const days = Math.max(u.treatment.curve.length, u.holdout.curve.length);
  return (
    <>
      <ChartView testid={`uplift-${m.version}`} label={`Recovery of version ${m.version}'s payments against the holdout, by days since the first decline`} config={{
        type: "line",
        data: {
          labels: Array.from({ length: days }, (_, i) => `${i + 1}`),
          datasets: [
            { label: `model (${u.treatment.payments} payments)`, data: u.treatment.curve.map((v: number) => v * 100) },
            { label: `holdout (${u.holdout.payments} payments)`, data: u.holdout.curve.map((v: number) => v * 100) },
          ],
        },
        options: { scales: { x: { title: { display: true, text: "days since the first decline" } }, y: { min: 0, max: 100, title: { display: true, text: "recovered %" } } } },
      }} />
      <p>
        {u.treatment.payments === 0
          ? "No failed payment whose retries this version planned has ended yet."
          : `Recovered: model ${pct(u.treatment.recoveryRate)} of ${u.treatment.payments}, holdout ${pct(u.holdout.recoveryRate)} of ${u.holdout.payments}.`}
      </p>
    </>
  );
}

export function Models({ role }: { role: Role }) {
  const [{ data, error }, refetch] = useQuery({ query: ModelsQuery, requestPolicy: "cache-and-network" });
  const [train, runTrain] = useMutation(Train);
  const [activate, runActivate] = useMutation(Activate);
  const models: any[] = data?.retryModels.edges.map((e: any) => e.node) ?? [];
  const training = models.some((m) => m.status === "training");
  // Training runs in the background: follow its progress.
  useEffect(() => {
    if (!training) return;
    const t = setInterval(() => refetch({ requestPolicy: "network-only" }), 1000);
    return () => clearInterval(t);
  }, [training]);
  const failure = train.error ?? activate.error;
  return (
    <section>
      <h1>Retry models</h1>
      {role === "admin" && (
        <p><button disabled={training || train.fetching} onClick={() => runTrain({}).then(() => refetch({ requestPolicy: "network-only" }))}>Train a new version</button></p>
      )}
      {failure && <p role="alert" className="error">{failure.graphQLErrors[0]?.message ?? failure.message}</p>}
      {error && <p role="alert" className="error">{error.message}</p>}
      {data && models.length === 0 && <p>No model yet: an admin key can train one on the account's history.</p>}
      {models.map((m) => {
        const o = m.metrics?.offPolicy;
        return (
          <article key={m.id} className="model" data-testid={`model-${m.version}`}>
            <h2>Version {m.version} <span className={`status ${m.status}`}>{m.status}</span></h2>
            <p>
              {m.algorithm} · trained on {m.trainRows} rows, tested on {m.testRows} · {when(m.createdAt)}
              {m.status === "training" && <> · <progress value={m.progress} max={1} aria-label="Training progress" /> {pct(m.progress)}</>}
              {m.activatedAt && <> · activated {when(m.activatedAt)}</>}
            </p>
            {m.error && <p className="error">{m.error}</p>}
            {m.demotionReason && <p className="error">Demoted {when(m.demotedAt)}: {m.demotionReason}</p>}
            {m.metrics && m.status !== "training" && (
              <>
                <p>AUC {num(m.metrics.auc, 3)} (95% lower {num(m.metrics.aucLower, 3)}) · Brier {num(m.metrics.brier, 3)} · log loss {num(m.metrics.logLoss, 3)} on {m.metrics.rows} held-out retries</p>
                {o && (
                  <p>Off-policy on {o.decisions} first retries (kernel {o.kernel}): model {pct(o.model.value)} [{pct(o.model.lower)}, {pct(o.model.upper)}], heuristic {pct(o.heuristic.value)} [{pct(o.heuristic.lower)}, {pct(o.heuristic.upper)}], logged {pct(o.logged)}</p>
                )}
                <div className="charts">
                  <div><h3>Calibration</h3><Calibration m={m} /></div>
                  <div><h3>Uplift against the holdout</h3><Uplift m={m} /></div>
                </div>
              </>
            )}
            {role === "admin" && m.status !== "training" && m.status !== "failed" && m.status !== "active" && (
              <button disabled={activate.fetching} onClick={() => runActivate({ version: m.version }).then(() => refetch({ requestPolicy: "network-only" }))}>
                {models.some((x) => x.status === "active" && x.version > m.version) ? `Roll back to version ${m.version}` : `Activate version ${m.version}`}
              </button>
            )}
          </article>
        );
      })}
    </section>
  );
}
