// The GraphQL client: urql with graphcache, so a payment changed by a
// mutation or a subscription is one cached object everywhere it is shown,
// and relayPagination merges the pages of a connection; subscriptions run
// over graphql-ws (graphql-transport-ws) with the key in connection_init,
// since a browser cannot set headers on a WebSocket.
import { Client, fetchExchange, subscriptionExchange } from "urql";
import { cacheExchange } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";
import { createClient as createWSClient } from "graphql-ws";

const keyName = "offsession.key";

// The key lives in session storage only: never in a URL, gone with the tab.
export const storedKey = (): string | null => sessionStorage.getItem(keyName);
export const storeKey = (key: string) => sessionStorage.setItem(keyName, key);
export const forgetKey = () => sessionStorage.removeItem(keyName);

// Objects without an ID are stored inside their parent.
const embedded = [
  "Viewer", "RoutingDecision", "RoutingCandidate", "Failover", "SchedulingDecision", "ScheduledAlternative",
  "NextAttempt", "BackupPaymentMethod", "ProcessorToken", "ProcessorHealth", "RetryModelMetrics", "RetryModelOffPolicy",
  "OffPolicyEstimate", "CalibrationBucket", "Backtest", "RetryModelUplift", "RecoveryGroup", "RecoveryRow",
  "NetworkBudget", "WebhookDeliveryAttempt", "PageInfo", "RouteConditions", "RouteProcessor", "SegmentSuccessRate",
];

export function newClient(key: string): { client: Client; close: () => void } {
  const http = new URL("graphql", new URL("..", window.location.href.replace(/#.*$/, ""))).toString();
  const ws = createWSClient({
    url: http.replace(/^http/, "ws"),
    connectionParams: () => ({ authorization: `Bearer ${key}` }),
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  const client = new Client({
    url: http,
    fetchOptions: () => ({ headers: { Authorization: `Bearer ${key}` } }),
    exchanges: [
      cacheExchange({
        keys: Object.fromEntries(embedded.map((t) => [t, () => null])),
        resolvers: {
          Query: { offSessionPayments: relayPagination(), customers: relayPagination() },
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, close: () => void ws.dispose() };
}
