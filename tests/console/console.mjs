// Drives the tepat-server web console in Debian's headless chromium (playwright-core, no downloaded browser).
// Called by tests/tests/console_browser.rs in two phases around the simulated phone's correction:
//   node console.mjs return   — log in, filter the queue, open a visit, return it with a pinned comment,
//                                XSS payloads render as text, a POST without the CSRF token is refused
//   node console.mjs approve  — approve the corrected revision, progress/exports/conflicts pages, the session
//                                cookie is refused after log-out, another region's supervisor gets 404,
//                                the admin imports an assignment file with an error and creates an enrolment code
// Input: the JSON in $TEPAT_CONSOLE. Output: one JSON line on stdout. Screenshots: $TEPAT_CONSOLE.shots/*.png.
import { chromium, request } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cfg = JSON.parse(process.env.TEPAT_CONSOLE);
const phase = process.argv[2];
const MAX_PAGE_BYTES = 200 * 1024;
const result = { phase, weights: {} };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const profile = mkdtempSync(join(tmpdir(), "tepat-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: cfg.chromium || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1366, height: 768 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(15000);
const dialogs = [];
page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
const offsite = [];
page.on("request", (r) => { if (!r.url().startsWith(cfg.base)) offsite.push(r.url()); });

async function shot(name) {
  await page.screenshot({ path: join(cfg.shots, `${name}.png`), fullPage: true });
}

// A page's weight on first load: its HTML plus the stylesheet and script every page loads, plus every image it
// shows (the visit's photo previews).
let assets = null;
async function weigh(name) {
  if (assets === null) {
    const css = await page.request.get(`${cfg.base}/console.css`);
    const js = await page.request.get(`${cfg.base}/console.js`);
    assets = (await css.body()).length + (await js.body()).length;
  }
  const html = (await page.content()).length;
  let images = 0;
  for (const src of await page.$$eval("img", (list) => list.map((i) => i.getAttribute("src")))) {
    images += (await (await page.request.get(new URL(src, page.url()).href)).body()).length;
  }
  const total = html + assets + images;
  result.weights[name] = total;
  check(total <= MAX_PAGE_BYTES, `${name} weighs ${total} bytes (> ${MAX_PAGE_BYTES})`);
}

// The visit's photos: every preview loads as an image, and its link serves the photo itself.
async function photosLoad() {
  const n = await page.locator("ul.photos img").count();
  check(n >= 1, "no photo preview on the visit page");
  await page.waitForFunction(
    () => [...document.querySelectorAll("ul.photos img")].every((i) => i.complete && i.naturalWidth > 0),
  );
  const link = await page.getAttribute("ul.photos a", "href");
  const photo = await page.request.get(`${cfg.base}${link}`);
  check(photo.status() === 200 && photo.headers()["content-type"] === "image/jpeg",
        `the photo link: ${photo.status()} ${photo.headers()["content-type"]}`);
  return { previews: n, link, photo_bytes: (await photo.body()).length };
}

async function login(user, password) {
  await context.clearCookies();
  await page.goto(`${cfg.base}/login`);
  await page.fill("input[name=user]", user);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

async function count() {
  return Number(await page.textContent("#queue-count"));
}

try {
  if (phase === "return") {
    await page.goto(`${cfg.base}/`);
    check(page.url().includes("/login"), `not sent to the login page: ${page.url()}`);
    await weigh("login");
    await shot("01-login");
    await login(cfg.supervisor, cfg.password);
    check(page.url().endsWith("/queue"), `after login: ${page.url()}`);
    await weigh("queue");
    result.total = await count();
    await shot("02-queue");

    // Filter: the enumerator and the village of the visit to return.
    await page.selectOption("select[name=enumerator]", cfg.enumerator);
    await page.selectOption("select[name=village]", cfg.village);
    await Promise.all([page.waitForNavigation(), page.click("#filters button[type=submit]")]);
    check(page.url().includes(`enumerator=${cfg.enumerator}`), `filter not in the URL: ${page.url()}`);
    result.filtered = await count();
    check(result.filtered >= 1 && result.filtered <= result.total, `filtered count ${result.filtered}`);
    await shot("03-queue-filtered");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("03b-queue-phone-sized");
    await page.setViewportSize({ width: 1366, height: 768 });

    // The visit: labels, not codes.
    await Promise.all([page.waitForNavigation(), page.click(`a[href="/visits/${cfg.visit}"]`)]);
    await weigh("visit");
    const body = await page.textContent("main");
    check(body.includes("Ditemukan (1)"), "the outcome is shown with its choice label");
    result.photos = await photosLoad();
    await shot("04-visit");

    // Return it with a comment pinned to a field.
    await page.fill("textarea[name=comment]", cfg.comment);
    await page.selectOption("select[name=field]", cfg.field);
    await Promise.all([page.waitForNavigation(), page.click("button[value=return]")]);
    check((await page.textContent("main")).includes("Keputusan tersimpan"), "decision saved");
    check((await page.textContent("ol.history")).includes(cfg.field), "the pinned field in the history");
    await shot("05-returned");

    // Answers holding <script> and <img onerror> render as text.
    await page.goto(`${cfg.base}/visits/${cfg.xss_visit}`);
    const main = await page.textContent("main");
    check(main.includes(cfg.xss_payload), "the payload shows as text");
    check((await page.locator("main script").count()) === 0, "no script element from an answer");
    // The only images are the visit's photo previews, served by the console.
    const imgs = await page.$$eval("main img", (list) =>
      list.map((i) => ({ preview: i.closest("ul.photos") !== null, src: i.getAttribute("src"), onerror: i.hasAttribute("onerror") })));
    check(imgs.every((i) => i.preview && !i.onerror && i.src.startsWith(`/visits/${cfg.xss_visit}/photos/`)),
          `an img element from an answer: ${JSON.stringify(imgs)}`);
    await page.waitForTimeout(300);
    check(dialogs.length === 0, `a script ran: ${dialogs}`);
    await shot("06-xss-as-text");

    // A visit whose photos are still on the phone says so instead of showing them.
    await page.goto(`${cfg.base}/visits/${cfg.missing_photo_visit}`);
    check((await page.locator("ul.photos img").count()) === 0, "a preview of a photo the server does not hold");
    check((await page.textContent("ul.photos")).includes("belum tiba"), "a missing photo is not marked 'belum tiba'");
    await shot("06b-photo-not-arrived");

    // A form posted without the CSRF token is refused.
    const forged = await page.request.post(`${cfg.base}/visits/${cfg.xss_visit}/review`, {
      form: { revision: "1", decision: "approve" }, maxRedirects: 0,
    });
    result.no_csrf_status = forged.status();
    check(forged.status() === 403, `POST without CSRF: ${forged.status()}`);
  } else if (phase === "approve") {
    await login(cfg.supervisor, cfg.password);
    await page.goto(`${cfg.base}/visits/${cfg.visit}`);
    const meta = await page.textContent("dl.meta");
    check(meta.includes("2"), "revision 2 is shown");
    const history = await page.textContent("ol.history");
    check(history.includes(cfg.corrected), "the history shows what changed");
    await shot("07-corrected");
    await Promise.all([page.waitForNavigation(), page.click("button[value=approve]")]);
    check((await page.textContent("main")).includes("Keputusan tersimpan"), "approved");
    await shot("08-approved");

    for (const [name, path] of [["progress", "/progress"], ["exports", "/exports"], ["conflicts", "/conflicts"]]) {
      await page.goto(`${cfg.base}${path}`);
      await weigh(name);
      await shot(`09-${name}`);
    }
    // English by choice.
    await page.click("a[href^='/lang?to=en']");
    check((await page.textContent("h1")) === "Conflicts", "English page");
    await shot("10-english");
    await page.click("a[href^='/lang?to=id']");

    // Log out: the old cookie is refused afterwards.
    const session = (await context.cookies()).find((c) => c.name === "tepat_session");
    check(session && session.httpOnly && session.sameSite === "Strict", "HttpOnly SameSite=Strict session");
    await Promise.all([page.waitForNavigation(), page.click("header button.link")]);
    const stale = await request.newContext({ extraHTTPHeaders: { Cookie: `tepat_session=${session.value}` } });
    const after = await stale.get(`${cfg.base}/queue`, { maxRedirects: 0 });
    result.after_logout_status = after.status();
    check(after.status() === 303 && after.headers()["location"].startsWith("/login"), `after logout: ${after.status()}`);
    await stale.dispose();

    // A supervisor of another region cannot open the visit by URL.
    await login(cfg.other_supervisor, cfg.password);
    const other = await page.goto(`${cfg.base}/visits/${cfg.visit}`);
    result.other_region_status = other.status();
    check(other.status() === 404, `other region: ${other.status()}`);
    const otherPhoto = await page.request.get(`${cfg.base}${cfg.photo_link}`);
    result.other_region_photo_status = otherPhoto.status();
    check(otherPhoto.status() === 404, `another region's photo by URL: ${otherPhoto.status()}`);
    await shot("11-other-region-404");

    // The admin: an assignment file with an error shows the row's problem; an enrolment code as text and QR.
    await login(cfg.admin, cfg.password);
    check(page.url().endsWith("/admin"), `admin home: ${page.url()}`);
    await weigh("admin");
    await shot("12-admin");
    await page.setInputFiles("input[data-fill=assign-csv]", cfg.bad_csv);
    await page.waitForFunction(() => document.getElementById("assign-csv").value.length > 0);
    await Promise.all([page.waitForNavigation(), page.click("#assignments button[type=submit]")]);
    const problems = await page.textContent("#problems");
    check(problems.includes("line 3"), `import problems: ${problems}`);
    await shot("13-import-problems");
    await Promise.all([
      page.waitForNavigation(),
      page.click(`form[action="/admin/codes"]:has(input[value="${cfg.enumerator}"]) button`),
    ]);
    result.code = (await page.textContent("#enrol-code")).trim();
    check(await page.locator(".qr svg").isVisible(), "the QR code is shown");
    await shot("14-enrol-code");
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  check(offsite.length === 0, `requests to other hosts: ${offsite}`);
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.stack ? e.stack : e);
  try { await shot(`failed-${phase}`); } catch { /* the page may be gone */ }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
