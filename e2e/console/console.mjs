// The console end to end, in real headless Chromium, against a real gateway (started by
// e2e/console_test.go, which passes the URLs and the token in the environment). Every wait is
// bounded; a screenshot of each page goes to IOM_CONSOLE_SHOTS, and one of the page as it was
// when a step failed.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const consoleDir = process.env.IOM_CONSOLE_DIR ? path.resolve(process.env.IOM_CONSOLE_DIR) : path.resolve(here, "../../console");
// playwright-core is a dev dependency of the console.
const { chromium } = createRequire(path.join(consoleDir, "package.json"))("playwright-core");

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("IOM_CONSOLE_URL");
const token = env("IOM_ADMIN_TOKEN");
const upstream = env("IOM_UPSTREAM_URL");
const shots = env("IOM_CONSOLE_SHOTS");
const started = Date.now();

const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

const profile = mkdtempSync(path.join(tmpdir(), "iom-chromium-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.IOM_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1440, height: 900 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  timeout: 20_000,
});
const page = browser.pages()[0] ?? (await browser.newPage());
page.setDefaultTimeout(10_000);
page.setDefaultNavigationTimeout(15_000);
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  if (m.type() === "error" && !/401|Failed to load resource/.test(m.text())) problems.push(`console error: ${m.text()}`);
});

const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    log(`FAIL ${name}: ${e.message}`);
    if (problems.length) log(`the page reported:\n${problems.join("\n")}`);
    await shot(`failed-${name.replace(/\W+/g, "-")}`).catch(() => {});
    throw e;
  }
}

/** Polls cond (bounded), for things that change on the server between refreshes. */
async function until(what, cond, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(250);
  }
}

async function center(locator) {
  const b = await locator.boundingBox();
  if (!b) throw new Error("element has no box");
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Drags from a node's source handle to another node's target handle. */
async function connect(from, to, handle) {
  const src = page.locator(`.react-flow__node[data-id="${from}"] .react-flow__handle.source${handle ? `[data-handleid="${handle}"]` : ""}`);
  const dst = page.locator(`.react-flow__node[data-id="${to}"] .react-flow__handle.target`);
  const a = await center(src);
  const b = await center(dst);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await page.mouse.up();
  await page.locator(`.react-flow__edge[data-id^="e-${from}"]`).first().waitFor();
}

/** The canvas's zoom, read from the scale of the React Flow viewport's CSS transform. */
async function canvasZoom() {
  return page.locator(".react-flow__viewport").evaluate((e) => new DOMMatrixReadOnly(getComputedStyle(e).transform).a);
}

/**
 * Checks the builder opened readable: a zoom of at least 0.8 once the graph is placed, handles
 * of at least 10 px on screen, and a small minimap that covers no handle and folds away.
 */
async function checkReadable(what) {
  // The graph is placed once its nodes are measured: wait for the transform to settle.
  let last = "";
  await until(`${what}: the graph to be placed`, async () => {
    const t = await page.locator(".react-flow__viewport").evaluate((e) => getComputedStyle(e).transform);
    const settled = t === last && t !== "none" && t !== "matrix(1, 0, 0, 1, 0, 0)";
    last = t;
    return settled;
  });
  const zoom = await canvasZoom();
  if (zoom < 0.8) throw new Error(`${what}: opened at zoom ${zoom.toFixed(2)}, under 0.8`);
  const handles = page.locator(".react-flow__handle");
  const canvas = await page.getByTestId("canvas").boundingBox();
  const map = await page.locator(".react-flow__minimap").boundingBox();
  if (!map || map.width > 160 || map.height > 110) throw new Error(`${what}: the minimap is ${map ? `${map.width}x${map.height}` : "missing"}`);
  let smallest = Infinity;
  for (const h of await handles.all()) {
    const b = await h.boundingBox();
    if (!b) continue;
    smallest = Math.min(smallest, b.width, b.height);
    const cx = b.x + b.width / 2;
    const cy = b.y + b.height / 2;
    if (cx >= map.x && cx <= map.x + map.width && cy >= map.y && cy <= map.y + map.height) throw new Error(`${what}: a handle is under the minimap`);
  }
  if (smallest < 10) throw new Error(`${what}: a handle is ${smallest.toFixed(1)} px on screen, under 10`);
  // The input node (the graph's start) is in view.
  const input = await page.locator('.react-flow__node[data-id="in"]').boundingBox();
  if (input.x < canvas.x || input.x + input.width > canvas.x + canvas.width) throw new Error(`${what}: the input node is out of view`);
  await page.getByRole("button", { name: "Hide the map" }).click();
  await page.locator(".react-flow__minimap").waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Show the map" }).click();
  await page.locator(".react-flow__minimap").waitFor();
  log(`${what}: zoom ${zoom.toFixed(2)}, handles ${smallest.toFixed(1)} px, minimap ${map.width}x${map.height} px of a ${canvas.width}x${Math.round(canvas.height)} canvas`);
}

/** Checks that box b lies within box outer (to the pixel). */
function inside(b, outer, what) {
  const ok = b.x >= outer.x - 1 && b.y >= outer.y - 1 && b.x + b.width <= outer.x + outer.width + 1 && b.y + b.height <= outer.y + outer.height + 1;
  if (!ok) throw new Error(`${what} is not inside the panel: ${JSON.stringify(b)} in ${JSON.stringify(outer)}`);
}

/** Runs the open pipeline from the Test run tab with its prefilled input; checks the panel fits. */
async function testRun(expectInput, expectOutput) {
  await page.getByRole("tab", { name: "Test run" }).click();
  const input = JSON.parse(await page.getByLabel("Input", { exact: true }).inputValue());
  const same = Object.keys(input).length === Object.keys(expectInput).length && Object.entries(expectInput).every(([k, v]) => input[k] === v);
  if (!same) throw new Error(`the prefilled input is ${JSON.stringify(input)}`);
  const button = page.getByRole("button", { name: /^(Run pipeline|Save and run)$/ });
  await button.click();
  const output = page.getByTestId("run-output").filter({ hasText: expectOutput });
  await output.waitFor();
  await page.getByTestId("run-result").getByText("ok", { exact: true }).first().waitFor();
  const panel = page.getByTestId("run-panel");
  const size = await panel.evaluate((e) => ({ scrollWidth: e.scrollWidth, clientWidth: e.clientWidth }));
  if (size.scrollWidth > size.clientWidth) throw new Error(`the run panel overflows: ${size.scrollWidth} px of content in ${size.clientWidth} px`);
  const box = await panel.boundingBox();
  inside(await output.boundingBox(), box, "the output");
  await button.scrollIntoViewIfNeeded();
  inside(await button.boundingBox(), box, "the run button");
  await output.scrollIntoViewIfNeeded();
  inside(await output.boundingBox(), box, "the output");
}

async function requestsTotal() {
  const t = await page.getByTestId("stat-Requests").innerText();
  return Number(t.replace(/[^\d]/g, "")) || 0;
}

const nav = (label) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click();

try {
  await step("sign in", async () => {
    await page.goto(base + "/");
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: /admin/i }).waitFor();
    await shot("01-sign-in");
    await page.getByLabel("Admin token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Registry", exact: true }).waitFor();
    await page.getByTestId("model-editor").waitFor();
  });

  await step("register a model", async () => {
    await page.getByRole("button", { name: "Register model" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByRole("textbox", { name: "Name", exact: true }).fill("Writer");
    await dlg.getByLabel("Endpoint").fill("not a url");
    await dlg.getByLabel("Cost per token", { exact: true }).fill("0.000001");
    await dlg.getByLabel("Tags").fill("e2e, drafts");
    await dlg.getByLabel("Input schema").fill('{"type": "object", "properties": {"messages": {"type": "array"}}, "required": ["messages"]}');
    await dlg.getByRole("button", { name: "Register model" }).click();
    await dlg.getByText("Enter an http or https URL").waitFor(); // checked before anything is sent
    await dlg.getByLabel("Endpoint").fill(upstream);
    await dlg.getByText("Inferred from the endpoint: openai").waitFor();
    await shot("02-register-model");
    await dlg.getByRole("button", { name: "Register model" }).click();
    await dlg.waitFor({ state: "detached" });
    await page.getByTestId("model-writer").waitFor();
    // The sidebar counts the new model at once (Editor from the config, and Writer).
    await page.getByLabel("Sidebar").getByText(/^2 models/).waitFor();
    await shot("03-registry");
  });

  await step("test the model", async () => {
    await page.getByRole("button", { name: "Test Writer" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.getByLabel("Message", { exact: true }).fill("hello from the console");
    await dlg.getByRole("button", { name: "Send" }).click();
    await dlg.getByTestId("test-output").filter({ hasText: "echo: hello from the console" }).waitFor();
    await dlg.getByText("OK · 200").waitFor();
    await shot("04-test-model");
    await page.keyboard.press("Escape");
    await dlg.waitFor({ state: "detached" });
  });

  await step("build a pipeline", async () => {
    await nav("Pipelines");
    await page.getByRole("heading", { name: "Pipelines", exact: true }).waitFor();
    await page.getByLabel("Brief", { exact: true }).waitFor();
    await shot("05-pipelines");
    await page.getByRole("link", { name: "New pipeline" }).click();
    await page.locator('.react-flow__node[data-id="in"]').waitFor();
    await checkReadable("a new pipeline at 1440x900");
    const canvas = page.getByTestId("canvas");
    const box = await canvas.boundingBox();
    await page.getByTestId("palette-model-writer").dragTo(canvas, { targetPosition: { x: box.width * 0.4, y: box.height * 0.35 } });
    await page.locator('.react-flow__node[data-id="writer"]').waitFor();
    await page.getByTestId("palette-model-editor").dragTo(canvas, { targetPosition: { x: box.width * 0.62, y: box.height * 0.65 } });
    await page.locator('.react-flow__node[data-id="editor"]').waitFor();
    await connect("in", "writer");
    await connect("writer", "editor");
    await connect("editor", "out");
    // Configure the second step: it gets the first step's text, prefixed.
    await page.locator('.react-flow__node[data-id="editor"]').click();
    await page.getByLabel("Input", { exact: true }).fill('"polish: " + steps.writer.output.text');
    await page.locator(".react-flow__pane").click({ position: { x: 20, y: 20 } });
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("Draft and polish");
    await page.getByTestId("validation-status").getByText("Valid", { exact: true }).waitFor();
    await shot("06-pipeline-builder");
  });

  await step("save and run the pipeline", async () => {
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/\/pipelines\/draft-and-polish$/);
    await page.getByRole("tab", { name: "Test run" }).click();
    await page.getByLabel("Input", { exact: true }).fill('{"prompt": "a fox"}');
    await page.getByRole("button", { name: "Run pipeline" }).click();
    await page.getByTestId("run-output").filter({ hasText: "echo: polish: echo: a fox" }).waitFor();
    await page.getByTestId("node-result-writer").filter({ hasText: "ok" }).waitFor();
    await page.getByTestId("node-result-editor").filter({ hasText: "ok" }).waitFor();
    await shot("07-pipeline-run");
  });

  await step("open a config pipeline readable, and test-run it at 1440x900", async () => {
    await nav("Pipelines");
    await page.getByRole("link", { name: "Brief", exact: true }).click();
    await page.locator('.react-flow__node[data-id="out"]').waitFor();
    await page.getByTestId("read-only-note").waitFor();
    await checkReadable("the config pipeline at 1440x900");
    await shot("07b-builder-1440x900");
    await testRun({ topic: "example", tone: "plain" }, "echo: echo: echo: brief (plain): example");
    await shot("07c-test-run-1440x900");
  });

  await step("the same at 1366x768", async () => {
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.reload();
    await page.locator('.react-flow__node[data-id="out"]').waitFor();
    await checkReadable("the config pipeline at 1366x768");
    await shot("07d-builder-1366x768");
    await testRun({ topic: "example", tone: "plain" }, "echo: echo: echo: brief (plain): example");
    await shot("07e-test-run-1366x768");
  });

  await step("duplicate the config pipeline", async () => {
    // From the builder's toolbar: the copy opens, editable.
    await page.getByRole("button", { name: "Duplicate", exact: true }).click();
    await page.waitForURL(/\/pipelines\/brief-copy$/);
    await page.getByRole("heading", { name: "Brief (copy)" }).waitFor();
    await page.getByRole("button", { name: "Save", exact: true }).waitFor();
    if (await page.getByTestId("read-only-note").count()) throw new Error("the copy is read-only");
    await shot("07f-duplicate");
    // From the list: the next copy gets the next free id.
    await nav("Pipelines");
    await page.getByRole("button", { name: "Duplicate Brief", exact: true }).click();
    await page.waitForURL(/\/pipelines\/brief-copy-2$/);
    await page.getByRole("heading", { name: "Brief (copy)" }).waitFor();
    const r = await fetch(`${base}/api/pipelines/brief-copy-2`, { headers: { Authorization: `Bearer ${token}` } });
    const copy = await r.json();
    if (!r.ok || copy.managedBy !== "api" || copy.nodes.length !== 5) throw new Error(`the stored copy: ${r.status} ${JSON.stringify(copy).slice(0, 300)}`);
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  await step("find the execution", async () => {
    await nav("Executions");
    const row = page.locator("tr", { hasText: /Draft and polish|draft-and-polish/ }).first();
    await row.waitFor();
    await shot("08-executions");
    await row.getByRole("link").click();
    await page.getByTestId("step-writer").waitFor();
    await page.getByTestId("step-editor").getByRole("button").click();
    await page.getByTestId("step-editor").getByText("polish: echo: a fox").first().waitFor();
    await shot("09-execution-timeline");
  });

  await step("see the analytics change", async () => {
    await nav("Analytics");
    await page.getByTestId("analytics-totals").waitFor();
    await page.locator(".recharts-area").first().waitFor();
    const before = await requestsTotal();
    const r = await fetch(`${base}/api/models/writer/test`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`test call: ${r.status}`);
    await until("the request count to grow", async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.waitForTimeout(300);
      return (await requestsTotal()) > before;
    });
    await shot("10-analytics");
  });

  await step("create and revoke a key", async () => {
    await nav("Keys");
    await page.getByRole("heading", { name: "Keys", exact: true }).waitFor();
    await page.getByRole("button", { name: "Create key" }).first().click();
    const dlg = page.getByRole("dialog");
    await dlg.getByRole("textbox", { name: "Name", exact: true }).fill("e2e-app");
    await dlg.getByLabel("Budget (USD)").fill("5");
    await dlg.getByRole("button", { name: "Create key" }).click();
    const secret = await dlg.getByTestId("new-key-secret").innerText();
    if (secret.length < 16) throw new Error(`the new key looks wrong: ${secret}`);
    await shot("11-key-created");
    await dlg.getByRole("button", { name: "I have copied it" }).click();
    await page.getByTestId("key-e2e-app").waitFor();
    await page.getByRole("button", { name: "Revoke e2e-app" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Revoke" }).click();
    await page.getByTestId("key-e2e-app").waitFor({ state: "detached" });
    await shot("12-keys");
  });

  await step("plugins and API pages", async () => {
    await nav("Plugins");
    await page.getByRole("heading", { name: "Plugins", exact: true }).waitFor();
    await page.locator("main table").or(page.getByText("No plugins loaded")).first().waitFor();
    await shot("13-plugins");
    await nav("API");
    await page.getByRole("heading", { name: "API", exact: true }).waitFor();
    await page.locator("main section ul li").or(page.getByText("does not publish an API description")).first().waitFor();
    await shot("14-api");
  });

  await step("a refused token signs out", async () => {
    await page.evaluate(() => sessionStorage.setItem("iom.adminToken", "revoked-token"));
    await page.goto(base + "/keys");
    await page.getByLabel("Admin token").waitFor();
    await page.getByText("Signed out:").waitFor();
  });

  if (problems.length) throw new Error(`the page reported problems:\n${problems.join("\n")}`);
  log(`console ok; screenshots in ${shots}`);
} finally {
  await browser.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
