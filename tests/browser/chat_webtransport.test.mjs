// examples/chat with its WebTransport listener (`--webtransport`) in
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core,
// QUIC left on): two pages log in; the client upgrades from polling to
// WebTransport, and each status says so; alice's message reaches bob,
// marked with her transport, and is ticked; bob answers.
//
//   node chat_webtransport.test.mjs <url>
//
// Prints one JSON line per step; exits non-zero on the first failure or
// after 40 s.

import { chromium } from "playwright-core";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node chat_webtransport.test.mjs <url>");
  process.exit(2);
}
const t0 = Date.now();
const log = (obj) => console.log(JSON.stringify({ ...obj, ms: Date.now() - t0 }));
const timer = setTimeout(() => {
  log({ step: "error", message: "timed out after 40 s" });
  process.exit(1);
}, 40_000);

async function open(browser, name) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => log({ step: "pageerror", page: name, message: e.message }));
  await page.goto(`${url}/`);
  await page.fill("#nickname", name);
  await page.click("#login button");
  // Connected, then upgraded: the status names the transport.
  await page.waitForSelector('#status[data-state="connected"][data-transport="webtransport"]');
  const status = await page.textContent("#status");
  log({ step: "connected", page: name, status });
  if (status !== "connected · webtransport") throw new Error(`${name}'s status: ${status}`);
  return page;
}

// The message `text` from `from` shown on `page`, and its meta line.
function received(page, from, text) {
  return page.waitForFunction(
    ([from, text]) =>
      [...document.querySelectorAll("#messages li.received")]
        .filter((li) => li.querySelector(".from").textContent === from && li.querySelector(".text").textContent === text)
        .map((li) => li.querySelector(".meta").textContent)[0],
    [from, text],
  ).then((handle) => handle.jsonValue());
}

async function send(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true });
let failed = false;
try {
  const alice = await open(browser, "alice");
  const bob = await open(browser, "bob");
  for (const [from, to, text] of [
    [alice, bob, "Hello over QUIC."],
    [bob, alice, "Hello back."],
  ]) {
    const name = from === alice ? "alice" : "bob";
    await send(from, text);
    const meta = await received(to, name, text);
    log({ step: "received", from: name, text, meta });
    if (!meta.includes("· webtransport")) throw new Error(`the message's meta: ${meta}`);
    await from.waitForFunction(
      (text) =>
        [...document.querySelectorAll("#messages li.sent.delivered")].some(
          (li) => li.querySelector(".text").textContent === text && li.querySelector(".tick").textContent === "✓",
        ),
      text,
    );
    log({ step: "ticked", from: name, text });
  }
  log({ step: "done" });
} catch (e) {
  failed = true;
  log({ step: "error", message: e.stack ?? String(e) });
} finally {
  await browser.close();
  clearTimeout(timer);
}
process.exit(failed ? 1 : 0);
