// Plausible log lines for the mock backend, ANSI colours included where real programs write them.
import type { LogLine } from "../bindings/LogLine";
import type { LogStream } from "../bindings/LogStream";
import { stripAnsi } from "../util/ansi";
import type { ContainerSpec } from "./data";

const PATHS = ["/", "/api/products?page=2", "/api/cart", "/static/app.4f2c1.js", "/api/orders/1042", "/healthz", "/login", "/api/search?q=lamp"];
const AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "kube-probe/1.30", "Go-http-client/1.1"];
const ROUTES = ["GET /products", "GET /products/:id", "POST /cart/items", "GET /health", "POST /orders", "GET /search"];

function pick<T>(items: T[], n: number): T {
  return items[Math.abs(n) % items.length];
}

const C = {
  dim: "\x1b[2m",
  reset: "\x1b[0m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  red: "\x1b[31m",
  cyan: "\x1b[36m",
  magenta: "\x1b[35m",
  boldRed: "\x1b[1;31m",
  gray: "\x1b[90m",
  orange: "\x1b[38;5;208m",
};

function nginx(n: number, at: Date): [LogStream, string] {
  const status = n % 37 === 0 ? 404 : n % 53 === 0 ? 502 : 200;
  const stamp = at.toUTCString().replace(/^\w+, /, "").replace(" GMT", " +0000");
  if (status === 502 && n % 2 === 0) {
    return ["stderr", `${at.toISOString().slice(0, 19).replace("T", " ")} [error] 29#29: *${n} connect() failed (111: Connection refused) while connecting to upstream, upstream: "http://172.18.0.4:3000${pick(PATHS, n)}"`];
  }
  return ["stdout", `172.18.0.${(n % 20) + 1} - - [${stamp}] "GET ${pick(PATHS, n * 7)} HTTP/1.1" ${status} ${(n * 7919) % 48000} "-" "${pick(AGENTS, n)}"`];
}

function app(n: number, at: Date): [LogStream, string] {
  const time = `${C.dim}${at.toISOString()}${C.reset}`;
  if (n % 41 === 0) {
    return ["stderr", `${time} ${C.red}ERROR${C.reset} ${C.cyan}db${C.reset} query failed: ${C.boldRed}deadlock detected${C.reset} (retrying in 250ms) order_id=${1000 + (n % 97)}`];
  }
  if (n % 41 === 1) return ["stderr", `    at Pool.query (/app/node_modules/pg/lib/pool.js:${(n % 400) + 10}:15)`];
  if (n % 13 === 0) {
    return ["stdout", `${time} ${C.yellow}WARN${C.reset}  ${C.cyan}cache${C.reset} miss ratio ${((n % 30) + 20).toFixed(0)}% above target; warming ${C.orange}${n % 500}${C.reset} keys`];
  }
  const ms = (n * 37) % 180;
  const code = n % 29 === 0 ? 500 : n % 11 === 0 ? 201 : 200;
  const colour = code >= 500 ? C.red : C.green;
  return ["stdout", `${time} ${C.green}INFO${C.reset}  ${C.cyan}http${C.reset} ${pick(ROUTES, n)} ${colour}${code}${C.reset} ${C.gray}${ms}ms${C.reset} req_id=${(n * 2654435761 >>> 0).toString(16)}`];
}

function postgres(n: number, at: Date): [LogStream, string] {
  const stamp = at.toISOString().replace("T", " ").replace("Z", " UTC");
  if (n % 17 === 0) return ["stderr", `${stamp} [${60 + (n % 9)}] LOG:  checkpoint starting: time`];
  if (n % 17 === 1) return ["stderr", `${stamp} [${60 + (n % 9)}] LOG:  checkpoint complete: wrote ${n % 300} buffers (${(n % 20) / 10}%); 0 WAL file(s) added`];
  if (n % 23 === 0) return ["stderr", `${stamp} [${200 + (n % 50)}] ERROR:  duplicate key value violates unique constraint "orders_pkey"`];
  return ["stderr", `${stamp} [${200 + (n % 50)}] LOG:  duration: ${((n * 13) % 900) / 10} ms  statement: SELECT * FROM products WHERE id = ${n % 5000}`];
}

function redis(n: number, at: Date): [LogStream, string] {
  const stamp = at.toUTCString().slice(5, 25);
  if (n % 5 === 0) return ["stdout", `1:M ${stamp}.${n % 1000} * 1 changes in 60 seconds. Saving...`];
  if (n % 5 === 1) return ["stdout", `1:M ${stamp}.${n % 1000} * Background saving started by pid ${100 + (n % 900)}`];
  return ["stdout", `${100 + (n % 900)}:C ${stamp}.${n % 1000} * DB saved on disk`];
}

function plainLog(n: number, at: Date): [LogStream, string] {
  const level = n % 19 === 0 ? "warn" : n % 31 === 0 ? "error" : "info";
  const stream: LogStream = level === "info" ? "stdout" : "stderr";
  return [stream, `time="${at.toISOString()}" level=${level} msg="${pick(["scrape complete", "reloading configuration", "request handled", "compacting blocks", "certificate valid for 61 days", "health check ok"], n)}" duration=${(n * 7) % 400}ms`];
}

const GENERATORS = { nginx, app, postgres, redis, plain: plainLog };

export function logLine(spec: ContainerSpec, seq: number, at: Date): LogLine {
  const [stream, text] = GENERATORS[spec.logKind](seq, at);
  return { seq, timestamp: at.toISOString(), stream, text, plain: stripAnsi(text) };
}
