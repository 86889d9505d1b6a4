// The official MCP TypeScript SDK, unchanged, against the gateway's /mcp endpoint: list the
// tools of the servers behind it, call one, follow a long operation's progress, get a prompt,
// list and read resources, and check the errors. IOM_MCP_URL is the endpoint, IOM_KEY a gateway key, IOM_MCP_SERVERS the ids of the
// servers (each one an "everything" server) whose tools must show.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.env.IOM_MCP_URL);
const key = process.env.IOM_KEY;
const servers = (process.env.IOM_MCP_SERVERS || "everything").split(",");

function check(ok, what) {
  if (!ok) {
    console.error("FAILED:", what);
    process.exit(1);
  }
}

const transport = new StreamableHTTPClientTransport(url, {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: "iom-e2e", version: "1.0.0" });
await client.connect(transport);

// The gateway connects to its servers in the background: wait for their tools.
let names = [];
for (let i = 0; i < 300; i++) {
  names = (await client.listTools()).tools.map((t) => t.name);
  if (servers.every((s) => names.includes(`${s}__echo`))) break;
  await new Promise((r) => setTimeout(r, 100));
}
for (const s of servers) {
  check(names.includes(`${s}__echo`) && names.includes(`${s}__trigger-long-running-operation`), `tools of ${s}: ${names}`);
}
check(names.every((n) => servers.some((s) => n.startsWith(`${s}__`))), `every tool is named <server>__<tool>: ${names}`);
console.log("list ok", names.length);

for (const s of servers) {
  const echo = await client.callTool({ name: `${s}__echo`, arguments: { message: "hello gateway" } });
  check(echo.content?.[0]?.text === "Echo: hello gateway", `echo of ${s}: ${JSON.stringify(echo)}`);
  console.log("echo ok", s);

  const progress = [];
  const long = await client.callTool(
    { name: `${s}__trigger-long-running-operation`, arguments: { duration: 1, steps: 3 } },
    undefined,
    { onprogress: (p) => progress.push({ at: Date.now(), progress: p.progress, total: p.total }) },
  );
  const done = Date.now();
  check(long.content?.[0]?.text?.includes("Long running operation completed"), `long operation of ${s}: ${JSON.stringify(long)}`);
  check(JSON.stringify(progress.map((p) => p.progress)) === "[1,2,3]" && progress.every((p) => p.total === 3),
    `progress of ${s}: ${JSON.stringify(progress)}`);
  // The first step came a third of the way in: it reached the client as it happened.
  check(done - progress[0].at >= 400, `progress of ${s} was held back: first ${done - progress[0].at} ms before the result`);
  console.log("progress ok", s);
}

for (const s of servers) {
  const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  check(prompts.includes(`${s}__simple-prompt`), `prompts of ${s}: ${prompts}`);
  const got = await client.getPrompt({ name: `${s}__simple-prompt` });
  check(got.messages?.[0]?.content?.text === "This is a simple prompt without arguments.", `prompt of ${s}: ${JSON.stringify(got)}`);
  console.log("prompts ok", s);
}

// Resources are listed at iom://<server>/<the server's URI>, named <server>__<name>, and read
// from their server; a template's URI reads the server's dynamic resource.
const resources = (await client.listResources()).resources;
const templates = (await client.listResourceTemplates()).resourceTemplates;
for (const s of servers) {
  const doc = resources.find((r) => r.uri === `iom://${s}/demo://resource/static/document/instructions.md`);
  check(doc && doc.name === `${s}__instructions.md`, `resources of ${s}: ${JSON.stringify(resources.map((r) => r.uri))}`);
  const read = await client.readResource({ uri: doc.uri });
  check(read.contents?.[0]?.uri === doc.uri && read.contents[0].text?.length > 0, `read ${doc.uri}: ${JSON.stringify(read).slice(0, 300)}`);
  const tmpl = templates.find((t) => t.uriTemplate === `iom://${s}/demo://resource/dynamic/text/{resourceId}`);
  check(tmpl && tmpl.name.startsWith(`${s}__`), `resource templates of ${s}: ${JSON.stringify(templates.map((t) => t.uriTemplate))}`);
  const dyn = await client.readResource({ uri: `iom://${s}/demo://resource/dynamic/text/3` });
  check(dyn.contents?.[0]?.text?.startsWith("Resource 3: ") && dyn.contents[0].uri === `iom://${s}/demo://resource/dynamic/text/3`,
    `read a templated resource of ${s}: ${JSON.stringify(dyn)}`);
  console.log("resources ok", s);
}
check(resources.every((r) => servers.some((s) => r.uri.startsWith(`iom://${s}/`) && r.name.startsWith(`${s}__`))),
  `every resource is under iom://<server>/: ${JSON.stringify(resources.map((r) => r.uri))}`);

let refused = false;
try {
  await client.callTool({ name: "nowhere__echo", arguments: { message: "x" } });
} catch (e) {
  refused = /unknown tool/.test(String(e));
}
check(refused, "an unknown tool is refused");
console.log("errors ok");

let unauthenticated = false;
try {
  await new Client({ name: "no-key", version: "1.0.0" }).connect(new StreamableHTTPClientTransport(url));
} catch (e) {
  unauthenticated = /401|invalid_api_key|missing API key/i.test(String(e));
}
check(unauthenticated, "a client without a key gets 401");
console.log("auth ok");

await transport.terminateSession();
await client.close();
