import { StrictMode, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { Provider, useQuery } from "urql";
import { forgetKey, newClient, storedKey, storeKey } from "./client";
import { Payments } from "./pages/Payments";
import { Payment } from "./pages/Payment";
import { Recovery } from "./pages/Recovery";
import { Models } from "./pages/Models";
import { Processors } from "./pages/Processors";
import { Customers } from "./pages/Customers";
import { Webhooks } from "./pages/Webhooks";
import "./style.css";

export type Role = "secret" | "restricted" | "admin";

// The route is the part of the URL after #: #/payments, #/payments/osp_...
function useRoute(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

const pages: [string, string][] = [
  ["payments", "Payments"], ["recovery", "Recovery"], ["models", "Models"],
  ["processors", "Processors"], ["customers", "Customers"], ["webhooks", "Webhooks"],
];

function SignIn({ onKey, error }: { onKey: (k: string) => void; error?: string }) {
  const [key, setKey] = useState("");
  return (
    <main className="signin">
      <h1>offsession</h1>
      <form onSubmit={(e) => { e.preventDefault(); if (key.trim()) onKey(key.trim()); }}>
        <label htmlFor="key">API key (secret, restricted or admin)</label>
        <input id="key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} autoFocus />
        <button type="submit">Sign in</button>
        <p className="hint">The key is kept in this tab's session storage only.</p>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  );
}

const ViewerQuery = `query Viewer { viewer { role account { id name } } }`;

function Shell({ onSignOut }: { onSignOut: (error?: string) => void }) {
  const [{ data, error, fetching }] = useQuery({ query: ViewerQuery });
  const route = useRoute();
  useEffect(() => {
    if (error) onSignOut(error.response?.status === 401 ? "That key was refused." : error.message);
  }, [error]);
  if (fetching || !data) return <p className="loading">Loading…</p>;
  const role: Role = data.viewer.role;
  const [page = "payments", id] = route;
  let body;
  switch (page) {
    case "payments": body = id ? <Payment id={id} role={role} /> : <Payments />; break;
    case "recovery": body = <Recovery />; break;
    case "models": body = <Models role={role} />; break;
    case "processors": body = <Processors />; break;
    case "customers": body = <Customers />; break;
    case "webhooks": body = <Webhooks />; break;
    default: body = <p>No such page.</p>;
  }
  return (
    <>
      <header>
        <strong>offsession</strong>
        <nav aria-label="Pages">
          {pages.map(([p, name]) => (
            <a key={p} href={`#/${p}`} aria-current={p === page ? "page" : undefined}>{name}</a>
          ))}
        </nav>
        <span className="who" data-testid="viewer">{data.viewer.account.name} · {role} key</span>
        <button onClick={() => onSignOut()}>Sign out</button>
      </header>
      <main>{body}</main>
    </>
  );
}

function App() {
  const [key, setKey] = useState(storedKey);
  const [error, setError] = useState<string>();
  const conn = useMemo(() => (key ? newClient(key) : null), [key]);
  useEffect(() => () => conn?.close(), [conn]);
  if (!conn) return <SignIn error={error} onKey={(k) => { storeKey(k); setError(undefined); setKey(k); }} />;
  return (
    <Provider value={conn.client}>
      <Shell onSignOut={(e) => { forgetKey(); setError(e); setKey(null); }} />
    </Provider>
  );
}

createRoot(document.getElementById("root")!).render(<StrictMode><App /></StrictMode>);
