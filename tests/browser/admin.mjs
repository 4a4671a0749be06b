// The admin page in a real browser (the system's Chromium, driven by playwright-core).
// tests/e2e/browser.rs starts Alfred and runs this with:
//   ALFRED_ADMIN_URL       the admin listener, e.g. http://127.0.0.1:40123
//   ALFRED_ADMIN_KEY       ADMIN_API_KEY
//   ALFRED_READONLY_KEY    ADMIN_READONLY_KEY
//   ALFRED_SCREENSHOTS_DIR where the screenshots go
//   ALFRED_CHROMIUM        the browser (default /usr/bin/chromium)
//   ALFRED_WEBHOOK_URL, ALFRED_WEBHOOK_BODY, ALFRED_WEBHOOK_SIGNATURE
//                          a signed WhatsApp message to send while ingest is paused
//   ALFRED_REPLAY_ID       the outbox dead letter to replay from the page
//   ALFRED_KEPT_ID         the outbox dead letter left alone (the read-only view sees it)
// Each step says what it checks; the first failure ends the run with a non-zero exit.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = need("ALFRED_ADMIN_URL");
const adminKey = need("ALFRED_ADMIN_KEY");
const readonlyKey = need("ALFRED_READONLY_KEY");
const shots = need("ALFRED_SCREENSHOTS_DIR");
const executablePath = process.env.ALFRED_CHROMIUM || "/usr/bin/chromium";
const webhook = {
  url: need("ALFRED_WEBHOOK_URL"),
  body: need("ALFRED_WEBHOOK_BODY"),
  signature: need("ALFRED_WEBHOOK_SIGNATURE"),
};
const replayId = need("ALFRED_REPLAY_ID");
const keptId = need("ALFRED_KEPT_ID");
mkdirSync(shots, { recursive: true });

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set (tests/e2e/browser.rs sets it)`);
    process.exit(2);
  }
  return value;
}

function step(text) {
  console.log(`- ${text}`);
}

/**
 * Polls `check` until it returns a truthy value or the deadline passes; `describe`, if given,
 * says what the page showed when it gave up.
 */
async function until(what, check, deadlineMs = 20_000, describe = null) {
  const end = Date.now() + deadlineMs;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const seen = describe ? `; the page showed: ${await describe()}` : "";
  throw new Error(`gave up waiting for ${what}${seen}`);
}

async function logIn(page, key) {
  await page.goto(`${base}/admin/`);
  await page.waitForURL("**/admin/login");
  await page.getByLabel("Admin key").fill(key);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname === "/admin/");
}

async function incarnation(page, actor) {
  const cell = page.locator(`tr[data-actor="${actor}"] td.incarnation`);
  return Number(await cell.textContent());
}

/** A number of a stream's row on the Streams page (`length`, `lag`, `pending`). */
async function streamCell(page, stream, cell) {
  const text = await page.locator(`#streams tr[data-stream="${stream}"] td.${cell}`).textContent();
  return Number(text.trim());
}

/** A column of the ingest partitions table (partitions are on by default), summed; "unknown" counts as 0. */
async function partitionsSum(page, cell) {
  const texts = await page.locator(`#partitions tbody td.${cell}`).allTextContents();
  return texts.map((text) => Number(text.trim())).filter(Number.isFinite).reduce((a, b) => a + b, 0);
}

/** What waits in ingest: the single stream's lag plus every partition's. */
async function ingestLag(page) {
  return (await streamCell(page, "ingest", "lag")) + (await partitionsSum(page, "lag"));
}

/** Whether the Streams page shows nothing left to read or acknowledge in a stream (reloads it);
 * for ingest, in its partitions too. */
async function streamSettled(page, stream) {
  await page.reload();
  const settled = (await streamCell(page, stream, "lag")) === 0 && (await streamCell(page, stream, "pending")) === 0;
  if (stream !== "ingest") return settled;
  return settled && (await partitionsSum(page, "lag")) === 0 && (await partitionsSum(page, "pending")) === 0;
}

/** Posts a form from inside the context (its cookies go along) without following redirects. */
async function post(context, path, form) {
  const response = await context.request.post(`${base}${path}`, { form, maxRedirects: 0 });
  return response.status();
}

// Root may not use Chromium's sandbox.
const args = process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [];
const browser = await chromium.launch({ executablePath, args });
const cspViolations = [];
try {
  const watch = (page) => {
    page.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
        cspViolations.push(message.text());
      }
    });
    page.on("pageerror", (error) => cspViolations.push(String(error)));
  };
  const viewport = { width: 1280, height: 860 };

  // --- the admin ---
  const admin = await browser.newContext({ viewport });
  const page = await admin.newPage();
  watch(page);

  step("an anonymous visit is sent to the login form");
  await page.goto(`${base}/admin/`);
  await page.waitForURL("**/admin/login");
  await page.screenshot({ path: join(shots, "login.png") });

  step("a wrong key is refused");
  await page.getByLabel("Admin key").fill("certainly-not-the-key");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").filter({ hasText: "not right" }).waitFor();

  step("the admin logs in and sees the tree");
  await logIn(page, adminKey);
  await page.locator('tr[data-actor="skill/grocery"]').waitFor();
  assert.equal(await page.locator(".role").textContent(), "Admin");
  await page.screenshot({ path: join(shots, "tree.png"), fullPage: true });

  step("the page is keyboard accessible: the first Tab reaches the skip link");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");

  step("restarting skill/grocery raises its incarnation");
  const before = await incarnation(page, "skill/grocery");
  await page.getByRole("button", { name: "Restart skill/grocery" }).click();
  await page.waitForURL(/done=restart/);
  await page.getByRole("status").filter({ hasText: "Asked skill/grocery to restart." }).waitFor();
  await until("skill/grocery's incarnation to go up", async () => {
    await page.reload();
    return (await incarnation(page, "skill/grocery")) > before;
  });
  await page.screenshot({ path: join(shots, "tree-after-restart.png"), fullPage: true });

  step("the jobs page lists the household's briefing");
  await page.getByRole("link", { name: "Jobs" }).click();
  await page.waitForURL("**/admin/page/jobs");
  await page.locator("#jobs").getByText("briefing").first().waitFor();
  await page.screenshot({ path: join(shots, "jobs.png"), fullPage: true });

  step("the manual clock is shown and moved an hour with the form");
  await page.getByRole("link", { name: "Clock" }).click();
  await page.waitForURL("**/admin/page/clock");
  const shown = () => page.locator("#clock-now time").getAttribute("datetime");
  const was = Date.parse(await shown());
  await page.getByLabel("Advance by (seconds)").fill("3600");
  await page.getByRole("button", { name: "Advance the clock" }).click();
  await page.waitForURL("**/admin/page/clock");
  const now = Date.parse(await shown());
  assert.ok(now - was >= 3_600_000 && now - was < 3_700_000, `clock moved from ${was} to ${now}`);
  await page.screenshot({ path: join(shots, "clock.png"), fullPage: true });

  step("the work inbox page answers");
  await page.getByRole("link", { name: "Work inbox" }).click();
  await page.waitForURL("**/admin/page/inbox");

  step("the streams page shows ingest and outbox; the admin pauses ingest");
  await page.getByRole("link", { name: "Streams" }).click();
  await page.waitForURL("**/admin/page/streams");
  await page.locator('#streams tr[data-stream="outbox"]').waitFor();
  await page.screenshot({ path: join(shots, "streams.png"), fullPage: true });
  await page.getByRole("button", { name: "Pause ingest" }).click();
  await page.waitForURL(/done=pause/);
  await page.getByRole("status").filter({ hasText: "Paused ingest" }).waitFor();
  // Every reader honours a pause within about a second: send once this replica's holds off.
  await until("the ingest reader to hold off", async () => {
    await page.reload();
    return /holding off/.test(await page.locator('#streams tr[data-stream="ingest"]').textContent());
  });

  step("a signed webhook sent while ingest is paused waits: the page shows the backlog");
  const sent = await fetch(webhook.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": webhook.signature },
    body: webhook.body,
  });
  assert.equal(sent.status, 200, "the webhook is answered 200 while paused");
  await until("the ingest lag to show the message", async () => {
    await page.reload();
    return (await ingestLag(page)) >= 1;
  });
  const outboxBefore = await streamCell(page, "outbox", "length");
  await page.screenshot({ path: join(shots, "streams-paused.png"), fullPage: true });

  step("resuming ingest answers the message: its reply goes through the outbox");
  await page.getByRole("button", { name: "Resume ingest" }).click();
  await page.waitForURL(/done=resume/);
  await page.getByRole("status").filter({ hasText: "Resumed ingest" }).waitFor();
  await until(
    "the message to be handled and its reply sent",
    async () => {
      return (
        (await streamSettled(page, "ingest")) &&
        (await streamCell(page, "outbox", "length")) > outboxBefore &&
        (await streamSettled(page, "outbox"))
      );
    },
    20_000,
    async () => {
      const rows = await page.locator("#streams tbody tr, #partitions tbody tr").allTextContents();
      return `outbox length before ${outboxBefore}; ${rows.map((row) => row.replace(/\s+/g, " ").trim()).join(" | ")}`;
    },
  );

  step("the dead letters page lists the outbox's refused replies");
  await page.getByRole("link", { name: "Dead letters" }).click();
  await page.waitForURL("**/admin/page/dead-letters");
  await page.getByLabel("Stream").selectOption("outbox");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await page.waitForURL(/stream=outbox/);
  for (const id of [replayId, keptId]) {
    assert.match(await page.locator(`tr[data-entry="${id}"] td.reason`).textContent(), /131026/);
  }
  await page.screenshot({ path: join(shots, "dead-letters.png"), fullPage: true });

  step("one dead letter in detail (secrets removed) is replayed from its page");
  await page.getByRole("link", { name: replayId, exact: true }).click();
  await page.waitForURL(`**/admin/page/dead-letters/outbox/${replayId}`);
  await page.locator("#dead-letter").getByText("131026").first().waitFor();
  await page.screenshot({ path: join(shots, "dead-letter.png"), fullPage: true });
  await page.getByRole("button", { name: `Replay ${replayId}` }).click();
  await page.waitForURL(/done=replayed/);
  await page
    .getByRole("status")
    .filter({ hasText: `Dead letter ${replayId}: put back on the outbox stream.` })
    .waitFor();
  assert.equal(await page.locator(`tr[data-entry="${replayId}"]`).count(), 0);
  await page.locator(`tr[data-entry="${keptId}"]`).waitFor();

  step("the replayed reply is sent: the outbox has nothing left to send");
  await page.getByRole("link", { name: "Streams" }).click();
  await page.waitForURL("**/admin/page/streams");
  await until("the replayed reply to be sent", () => streamSettled(page, "outbox"));

  step("a post without the CSRF token is refused and changes nothing");
  const unchanged = await (async () => {
    await page.goto(`${base}/admin/`);
    return incarnation(page, "skill/grocery");
  })();
  assert.equal(
    await post(admin, "/admin/page/actors", { actor: "skill/grocery", action: "restart" }),
    403,
  );
  assert.equal(await post(admin, "/admin/page/streams", { stream: "ingest", action: "pause" }), 403);
  assert.equal(
    await post(admin, `/admin/page/dead-letters/outbox/${keptId}`, { action: "discard" }),
    403,
  );
  await page.reload();
  assert.equal(await incarnation(page, "skill/grocery"), unchanged);

  step("logging out ends the session");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL("**/admin/login");
  await page.goto(`${base}/admin/page/jobs`);
  await page.waitForURL("**/admin/login");
  await admin.close();

  // --- the read-only operator ---
  const reader = await browser.newContext({ viewport });
  const look = await reader.newPage();
  watch(look);

  step("the read-only key sees the tree without buttons");
  await logIn(look, readonlyKey);
  await look.locator('tr[data-actor="skill/grocery"]').waitFor();
  assert.equal(await look.locator(".role").textContent(), "Read-only");
  assert.equal(await look.getByRole("button", { name: /^(Restart|Stop|Start) / }).count(), 0);
  await look.screenshot({ path: join(shots, "tree-read-only.png"), fullPage: true });

  step("the read-only key sees the clock without its forms");
  await look.getByRole("link", { name: "Clock" }).click();
  await look.waitForURL("**/admin/page/clock");
  assert.equal(await look.getByRole("button", { name: "Advance the clock" }).count(), 0);

  step("a forged restart with the read-only session's own token is refused");
  await look.goto(`${base}/admin/`);
  const readerToken = await look.locator('input[name="csrf"]').first().getAttribute("value");
  const readerBefore = await incarnation(look, "skill/grocery");
  assert.equal(
    await post(reader, "/admin/page/actors", {
      actor: "skill/grocery",
      action: "restart",
      csrf: readerToken,
    }),
    403,
  );
  await look.reload();
  assert.equal(await incarnation(look, "skill/grocery"), readerBefore);

  step("the read-only key sees the streams and the dead letters without buttons");
  await look.getByRole("link", { name: "Streams" }).click();
  await look.waitForURL("**/admin/page/streams");
  await look.locator('#streams tr[data-stream="ingest"]').waitFor();
  assert.equal(await look.getByRole("button", { name: /^(Pause|Resume) / }).count(), 0);
  await look.goto(`${base}/admin/page/dead-letters?stream=outbox`);
  await look.locator(`tr[data-entry="${keptId}"]`).waitFor();
  assert.equal(await look.getByRole("button", { name: /^(Replay|Discard)/ }).count(), 0);

  step("a forged pause and replay with the read-only session's own token are refused");
  assert.equal(
    await post(reader, "/admin/page/streams", { stream: "ingest", action: "pause", csrf: readerToken }),
    403,
  );
  assert.equal(
    await post(reader, `/admin/page/dead-letters/outbox/${keptId}`, {
      action: "replay",
      csrf: readerToken,
    }),
    403,
  );
  await look.reload();
  await look.locator(`tr[data-entry="${keptId}"]`).waitFor();
  await look.goto(`${base}/admin/page/streams`);
  assert.equal(await look.locator('#streams tr[data-stream="ingest"] .paused').count(), 0);
  await reader.close();

  step("no page broke its Content-Security-Policy");
  assert.deepEqual(cspViolations, []);
  console.log(`browser test passed; screenshots in ${shots}`);
} finally {
  await browser.close();
}
