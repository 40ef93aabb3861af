// Formatting shared by the pages.
export const pct = (v: number | null | undefined) => (v == null ? "–" : `${(v * 100).toFixed(1)}%`);
export const num = (v: number | null | undefined, digits = 2) => (v == null ? "–" : v.toFixed(digits));
export const when = (t: string | null | undefined) =>
  t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "–";

const minor: Record<string, number> = { jpy: 0, krw: 0, bhd: 3, kwd: 3 };
export const money = (amount: number, currency: string) => {
  const d = minor[currency.toLowerCase()] ?? 2;
  return `${(amount / 10 ** d).toFixed(d)} ${currency.toUpperCase()}`;
};

// The time left until t, from now (the payment's clock: a test clock's
// frozen time, or the wall clock).
export function countdown(t: string, now: number): string {
  let s = Math.round((new Date(t).getTime() - now) / 1000);
  if (s <= 0) return "due now";
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (s >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return `in ${parts.join(" ")}`;
}
