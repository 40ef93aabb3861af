// Drives the playground in headless Chromium: it must load GraphiQL from the
// server's embedded assets (no CDN), show the example operations, and run the
// Viewer query with the key the page starts with.
//
// Usage: node playground.mjs BASE_URL SCREENSHOT_PATH
import { chromium } from "playwright-core";

const [base, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update", "--no-first-run"],
});
const failures = [];
try {
  const page = await browser.newPage();
  const offsite = [];
  page.on("request", (req) => {
    if (!req.url().startsWith(base)) offsite.push(req.url());
  });
  page.on("pageerror", (err) => failures.push("page error: " + err.message));
  await page.goto(base + "/", { waitUntil: "networkidle" });
  await page.waitForSelector(".graphiql-container", { timeout: 20000 });
  // The editors are CodeMirror 5 instances; read their whole text.
  const [query, variables, headers] = await page.evaluate(() =>
    [".graphiql-query-editor", ".graphiql-editor-tool .graphiql-editor:nth-of-type(1)", ".graphiql-editor-tool .graphiql-editor:nth-of-type(2)"]
      .map((sel) => document.querySelector(sel + " .CodeMirror")?.CodeMirror.getValue() ?? ""),
  );
  for (const op of ["query Viewer", "mutation CreateOffSessionPayment", "query RecentPayments"]) {
    if (!query.includes(op)) failures.push(`example operation ${op} missing from the editor`);
  }
  if (!variables.includes("paymentMethodID")) failures.push("the variables do not point at demo objects: " + variables);
  if (!headers.includes("Bearer sk_")) failures.push("the headers do not carry the demo key: " + headers);
  // Run: several operations, so GraphiQL asks which one.
  await page.locator(".graphiql-execute-button").click();
  await page.getByRole("menuitem", { name: "Viewer", exact: true }).click({ timeout: 10000 });
  await page.waitForFunction(
    () => document.querySelector(".graphiql-response")?.innerText.includes('"role"'),
    null,
    { timeout: 20000 },
  );
  const result = await page.locator(".graphiql-response").innerText();
  if (!result.includes('"secret"')) failures.push("Viewer did not answer with the secret role: " + result);
  // The example mutation works as it stands, on the demo's objects.
  await page.locator(".graphiql-execute-button").click();
  await page.getByRole("menuitem", { name: "CreateOffSessionPayment", exact: true }).click({ timeout: 10000 });
  await page.waitForFunction(
    () => document.querySelector(".graphiql-response")?.innerText.includes("createOffSessionPayment"),
    null,
    { timeout: 20000 },
  );
  const created = await page.locator(".graphiql-response").innerText();
  if (!created.includes('"pending"')) failures.push("CreateOffSessionPayment did not create a pending payment: " + created);
  if (offsite.length) failures.push("requests left the server: " + offsite.join(", "));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} catch (err) {
  failures.push(String(err));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("playground ok");
