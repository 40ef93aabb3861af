// Runs graphql-http's server audit (the GraphQL over HTTP spec's MUST,
// SHOULD and MAY checks) against a running offsession, with an API key on
// every request. It exits non-zero on any MUST failure or SHOULD warning;
// MAY notices are printed only.
//
// Usage: node audit.mjs GRAPHQL_URL API_KEY
import { auditServer } from "graphql-http";

const [url, key] = process.argv.slice(2);
if (!url || !key) {
  console.error("usage: node audit.mjs GRAPHQL_URL API_KEY");
  process.exit(2);
}
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set("Authorization", "Bearer " + key);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const count = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
let bad = 0;
for (const r of results) {
  const level = r.name.split(" ")[0];
  const ok = r.status === "ok";
  count[level][ok ? 0 : 1]++;
  if (ok) continue;
  let body = "";
  try {
    body = await r.response.text();
  } catch {}
  const mark = r.status === "notice" ? "notice" : "FAIL";
  if (r.status !== "notice") bad++;
  console.log(`${mark} [${r.status}] ${r.name}: ${r.reason}\n    status ${r.response.status}, ${r.response.headers.get("content-type")}: ${body.slice(0, 300)}`);
}
for (const [level, [ok, failed]] of Object.entries(count)) {
  console.log(`${level}: ${ok} ok, ${failed} ${level === "MUST" ? "failed" : level === "SHOULD" ? "warned" : "noticed"}`);
}
if (bad) {
  console.log(`graphql-http audit: ${bad} MUST failures or SHOULD warnings`);
  process.exit(1);
}
console.log("graphql-http audit ok");
