// Drives the dashboard in headless Chromium (Debian's package) against a
// running demo server: sign in, filter the payments, watch a payment's
// timeline change live as its test clock advances and a retry runs, take
// actions, and see the recovery and model charts drawn from real data.
// Screenshots go to SCREENSHOT_DIR.
//
// Usage: node test/dashboard.mjs BASE_URL SECRET_KEY RESTRICTED_KEY ADMIN_KEY SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [base, secret, restricted, admin, shots] = process.argv.slice(2);

async function gql(key, query, variables = {}) {
  const res = await fetch(base + "/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

// A payment on a test clock whose first attempt is declined (insufficient
// funds), so it waits for a retry the test can make due.
async function decliningPayment() {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const { createTestClock: clock } = await gql(secret, `mutation($t: Time!) { createTestClock(input: {name: "dashboard test", frozenTime: $t}) { id } }`, { t: now.toISOString() });
  const { processors } = await gql(secret, `{ processors(first: 1, where: {type: simulator}) { edges { node { id } } } }`);
  const processorID = processors.edges[0].node.id;
  const { createCustomer: cus } = await gql(secret, `mutation($c: ID!) { createCustomer(input: {name: "Dashboard Test", timeZone: "UTC", testClockID: $c}) { id } }`, { c: clock.id });
  const { savePaymentMethod: pm } = await gql(secret, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, {
    in: {
      customerID: cus.id,
      card: { brand: "visa", funding: "debit", last4: "9995", expMonth: 12, expYear: now.getUTCFullYear() + 2, fingerprint: "fp_dashboard_test" },
      processorTokens: [{ processorID, token: "pm_card_chargeDeclinedInsufficientFunds" }],
    },
  });
  const { createMandate: mdt } = await gql(secret, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, {
    in: {
      customerID: cus.id, paymentMethodID: pm.id, usage: "recurring",
      terms: { text: "Monthly plan", version: "1", timingAndFrequency: "monthly", amountDetermination: "fixed", cancellationPolicy: "any time" },
      acceptance: { type: "offline", acceptedAt: new Date(now.getTime() - 3600e3).toISOString() },
      limits: { useLimit: "multi_use", maxAmount: 10000, currency: "usd" },
    },
  });
  const { createOffSessionPayment: p } = await gql(secret, `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`, {
    in: { customerID: cus.id, paymentMethodID: pm.id, mandateID: mdt.id, amount: 2500, currency: "usd", cadence: "recurring", retryStrategy: "heuristic" },
  });
  await advance(clock.id, new Date(now.getTime() + 1000));
  return { clockID: clock.id, paymentID: p.id, customerID: cus.id };
}

async function advance(clockID, to) {
  await gql(secret, `mutation($id: ID!, $t: Time!) { advanceTestClock(id: $id, frozenTime: $t) { id } }`, { id: clockID, t: to.toISOString() });
}

async function payment(id) {
  const { node } = await gql(secret, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status attemptCount nextAttempt { at } } } }`, { id });
  return node;
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

// A canvas that Chart.js drew on has pixels that are not transparent.
async function drawn(page, testid) {
  const loc = page.getByTestId(testid);
  await loc.waitFor({ timeout: 20000 });
  await page.waitForFunction((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    if (!c || !c.width) return false;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
    return ink > 500;
  }, testid, { timeout: 20000 });
}

async function signIn(page, key) {
  await page.goto(base + "/dashboard/");
  await page.getByLabel("API key").fill(key);
  await page.getByLabel("API key").press("Enter");
  await page.getByTestId("viewer").waitFor({ timeout: 20000 });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update", "--no-first-run"],
});
const failures = [];
const step = (name) => console.log("step:", name);
try {
  const target = await decliningPayment();
  const before = await payment(target.paymentID);
  check(before.status === "pending_retry" && before.attemptCount === 1, `the test payment should wait for a retry: ${JSON.stringify(before)}`);

  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const offsite = [];
  page.on("request", (req) => { if (!req.url().startsWith(base) && !req.url().startsWith(base.replace(/^http/, "ws"))) offsite.push(req.url()); });
  page.on("pageerror", (err) => failures.push("page error: " + err.message));

  step("a refused key");
  await page.goto(base + "/dashboard/");
  await page.getByLabel("API key").fill("sk_not_a_key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "refused" }).waitFor({ timeout: 20000 });
  check(!page.url().includes("sk_"), "the key must never be in the URL");

  step("sign in and filter");
  await signIn(page, secret);
  check(await page.evaluate(() => sessionStorage.getItem("offsession.key")) === secret, "the key is kept in session storage");
  check(await page.evaluate(() => localStorage.length) === 0, "nothing in local storage");
  await page.getByTestId("payments-count").waitFor();
  // Relay pagination: the next page is fetched by cursor and merged below.
  const listed = () => page.getByTestId("payments").locator(":scope > tr").count();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="payments"] > tr').length === 25, null, { timeout: 20000 });
  await page.getByRole("button", { name: "Load more" }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="payments"] > tr').length === 50, null, { timeout: 20000 });
  const ids = await page.getByTestId("payments").locator(":scope > tr td:first-child").allInnerTexts();
  check(new Set(ids).size === 50 && (await listed()) === 50, "two pages of distinct payments");
  await page.getByLabel("Status").selectOption("pending_retry");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="payments"] tr')];
    return rows.length > 0 && rows.every((r) => r.querySelector(".status")?.textContent === "pending_retry");
  }, null, { timeout: 20000 });
  await page.getByLabel("Customer ID").fill(target.customerID);
  await page.getByLabel("Customer ID").press("Enter");
  await page.getByTestId("payments-count").filter({ hasText: /^1 payments$/ }).waitFor({ timeout: 20000 });
  await page.getByRole("link", { name: target.paymentID }).click();

  step("the payment page, live");
  const rows = page.getByTestId("timeline").locator(":scope > tr");
  await page.getByTestId("live").filter({ hasText: "receiving changes" }).waitFor({ timeout: 20000 });
  const n0 = await rows.count();
  check(n0 === 1, `one attempt before the clock moves, not ${n0}`);
  await page.getByTestId("next-attempt").filter({ hasText: /in \d/ }).waitFor();
  const due = new Date(before.nextAttempt.at);
  const advanced = Date.now();
  await advance(target.clockID, new Date(due.getTime() + 1000));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="timeline"] > tr').length === 2, null, { timeout: 20000 });
  console.log(`the retry reached the page ${Date.now() - advanced} ms after the clock was advanced`);
  await rows.nth(1).getByText("Why this time and this processor").click();
  await page.screenshot({ path: `${shots}/payment.png`, fullPage: true });

  step("actions");
  await page.getByRole("button", { name: "Pause" }).click();
  await page.getByTestId("payment-status").filter({ hasText: "paused" }).waitFor({ timeout: 20000 });
  await page.getByRole("button", { name: "Resume" }).click();
  await page.getByTestId("payment-status").filter({ hasText: "pending_retry" }).waitFor({ timeout: 20000 });
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByTestId("payment-status").filter({ hasText: "canceled" }).waitFor({ timeout: 20000 });
  check((await payment(target.paymentID)).status === "canceled", "the cancel reached the server");

  step("recovery charts");
  await page.getByRole("link", { name: "Recovery" }).click();
  await drawn(page, "chart-decline");
  await drawn(page, "chart-strategy");
  await drawn(page, "chart-daily");
  const declines = await page.getByTestId("by-decline").locator("tbody > tr").count();
  check(declines > 1, `recovery by decline code has ${declines} rows`);
  await page.screenshot({ path: `${shots}/recovery.png`, fullPage: true });

  step("models, with an admin key");
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, admin);
  await page.getByRole("link", { name: "Models" }).click();
  await page.getByRole("button", { name: "Train a new version" }).click();
  const newest = async () => (await gql(admin, `{ retryModels(first: 1, orderBy: [{field: VERSION, direction: DESC}]) { edges { node { version status metrics { calibration { rows } } } } } }`)).retryModels.edges[0].node;
  const { version } = await newest();
  // The page follows the training's progress until the version is done.
  await page.getByTestId(`model-${version}`).locator(".status.candidate, .status.failed").waitFor({ timeout: 60000 });
  const trained = await newest();
  check(trained.status === "candidate" && trained.metrics.calibration.length > 0, `version ${version} trained: ${JSON.stringify(trained)}`);
  await drawn(page, `calibration-${version}`);
  await drawn(page, `uplift-${version}`);
  // Activation is gated (the AUC's interval above 0.5, the off-policy
  // estimate): either the version becomes active, or the page says why not.
  await page.getByRole("button", { name: `Activate version ${version}` }).click();
  await page.getByTestId(`model-${version}`).locator(".status.active").or(page.getByRole("alert")).first().waitFor({ timeout: 20000 });
  const after = await newest();
  const alert = await page.getByRole("alert").allInnerTexts();
  check(after.status === "active" ? alert.length === 0 : alert.length === 1, `activation: ${after.status}, alerts ${alert.join("; ")}`);
  console.log(`activating version ${version}: ${after.status === "active" ? "active" : alert[0]}`);
  await page.screenshot({ path: `${shots}/models.png`, fullPage: true });

  step("a restricted key reads, without actions");
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, restricted);
  await page.goto(`${base}/dashboard/#/payments/${target.paymentID}`);
  await page.getByTestId("payment-status").waitFor({ timeout: 20000 });
  check(await page.getByRole("group", { name: "Actions" }).count() === 0, "no actions for a restricted key");
  for (const name of ["Processors", "Customers", "Webhooks"]) {
    await page.getByRole("link", { name }).click();
    await page.getByRole("heading", { level: 1 }).filter({ hasText: name === "Webhooks" ? "Webhook" : name }).waitFor({ timeout: 20000 });
    await page.waitForLoadState("networkidle");
    const alerts = await page.getByRole("alert").allInnerTexts();
    check(alerts.length === 0, `${name}: ${alerts.join("; ")}`);
  }
  await page.getByRole("link", { name: "Processors" }).click();
  await page.getByTestId("processors").locator("tbody > tr").first().waitFor({ timeout: 20000 });
  // The demo's attempts scored the simulator in at least one segment.
  await page.getByTestId("segments").locator("tbody > tr").first().waitFor({ timeout: 20000 });
  if (offsite.length) failures.push("requests left the server: " + offsite.join(", "));
} catch (err) {
  failures.push(String(err.stack || err));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("dashboard ok");
