// The admin page in a real browser (the system's Chromium, driven by playwright-core).
// tests/e2e/browser.rs starts Alfred and runs this with:
//   ALFRED_ADMIN_URL       the admin listener, e.g. http://127.0.0.1:40123
//   ALFRED_ADMIN_KEY       ADMIN_API_KEY
//   ALFRED_READONLY_KEY    ADMIN_READONLY_KEY
//   ALFRED_SCREENSHOTS_DIR where the screenshots go
//   ALFRED_CHROMIUM        the browser (default /usr/bin/chromium)
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

/** Polls `check` until it returns a truthy value or the deadline passes. */
async function until(what, check, deadlineMs = 20_000) {
  const end = Date.now() + deadlineMs;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`gave up waiting for ${what}`);
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

  step("the work inbox and the pages still to come answer");
  for (const [link, path] of [
    ["Work inbox", "inbox"],
    ["Streams", "streams"],
    ["Dead letters", "dead-letters"],
  ]) {
    await page.getByRole("link", { name: link }).click();
    await page.waitForURL(`**/admin/page/${path}`);
  }

  step("a post without the CSRF token is refused and changes nothing");
  const unchanged = await (async () => {
    await page.goto(`${base}/admin/`);
    return incarnation(page, "skill/grocery");
  })();
  assert.equal(
    await post(admin, "/admin/page/actors", { actor: "skill/grocery", action: "restart" }),
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
  await reader.close();

  step("no page broke its Content-Security-Policy");
  assert.deepEqual(cspViolations, []);
  console.log(`browser test passed; screenshots in ${shots}`);
} finally {
  await browser.close();
}
