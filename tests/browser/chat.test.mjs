// examples/chat in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): two pages, alice and bob.
//
//   node chat.test.mjs <url> [--polling] [--screenshot FILE]
//
// 1. An empty nickname is refused by the server's middleware: the page shows
//    the error. alice and bob then connect, and both join the room `rust`.
// 2. bob types: alice sees "bob is typing…". alice sends a message: bob
//    shows it, alice's copy gets its tick (the server's ack). bob answers.
// 3. Without --polling: the script asks for the server to be stopped
//    (prints {"request":"stop-server"}, waits for a line `ok` on stdin),
//    both pages show "reconnecting"; then for it to be started again, both
//    pages reconnect, rejoin `rust`, and chat again.
// 4. --screenshot saves alice's page.
//
// With --polling the pages open with ?transport=polling and must stay on
// long-polling. Every wait is for a condition of the page; the script
// prints each step as a JSON line with its time, and exits non-zero on the
// first failure or after 60 s.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

// ----- arguments, output, control -----

let url = null;
let polling = false;
let screenshot = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--polling") polling = true;
  else if (argv[i] === "--screenshot") screenshot = argv[++i];
  else url = argv[i];
}
if (!url) {
  console.error("usage: node chat.test.mjs <url> [--polling] [--screenshot FILE]");
  process.exit(2);
}
const pageUrl = polling ? `${url}/?transport=polling` : `${url}/`;

const t0 = Date.now();
const log = (obj) => console.log(JSON.stringify({ ...obj, ms: Date.now() - t0 }));
const step = (name) => log({ step: name });
const deadline = setTimeout(() => {
  log({ step: "error", message: "timed out after 60 s" });
  process.exit(1);
}, 60_000);

// Requests to the test that runs this script, answered on stdin.
const replies = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function request(what) {
  log({ request: what });
  const { value, done } = await replies.next();
  if (done || value.trim() !== "ok") throw new Error(`no "ok" for ${what}, got ${value}`);
}

// ----- the page, as a user sees it -----

const pageErrors = [];

async function openPage(context, name) {
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  await page.goto(pageUrl);
  return page;
}

async function login(page, nickname) {
  await page.fill("#nickname", nickname);
  await page.click("#login button");
}

const state = (page, s) => page.waitForSelector(`#status[data-state="${s}"]`);

async function joinRoom(page, room) {
  await page.fill("#room-name", room);
  await page.click("#join button");
  await page.waitForFunction((r) => document.getElementById("room-title").textContent === `#${r}`, room);
}

// The room list shows `n` users in `room`.
function roomCount(page, room, n) {
  return page.waitForFunction(
    ([r, n]) => document.querySelector(`#rooms li[data-room="${r}"] .count`)?.textContent === String(n),
    [room, n],
  );
}

function notice(page, text) {
  return page.waitForFunction(
    (text) => [...document.querySelectorAll("#messages li.notice")].some((li) => li.textContent === text),
    text,
  );
}

async function send(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

function received(page, from, text) {
  return page.waitForFunction(
    ([from, text]) =>
      [...document.querySelectorAll("#messages li.received")].some(
        (li) => li.querySelector(".from").textContent === from && li.querySelector(".text").textContent === text,
      ),
    [from, text],
  );
}

function ticked(page, text) {
  return page.waitForFunction(
    (text) =>
      [...document.querySelectorAll("#messages li.sent.delivered")].some(
        (li) => li.querySelector(".text").textContent === text && li.querySelector(".tick").textContent === "✓",
      ),
    text,
  );
}

// "typing" is volatile: the client drops it when its transport is busy (a
// long-poll POST in flight), so bob keeps typing until alice shows it.
async function typingSeen(typist, watcher, name) {
  for (let attempt = 1; attempt <= 8; attempt++) {
    await typist.type("#text", "x");
    try {
      await watcher.waitForFunction(
        (name) => document.getElementById("typing").textContent.startsWith(`${name} is typing`),
        name,
        { timeout: 1500 },
      );
      await typist.fill("#text", "");
      return attempt;
    } catch {
      // not shown: type again, once the page's 1 s throttle allows it
    }
  }
  throw new Error(`"${name} is typing…" never shown`);
}

// ----- the scenario -----

async function scenario(context) {
  const alice = await openPage(context, "alice");
  const bob = await openPage(context, "bob");
  step("pages loaded");

  await login(alice, "   ");
  await alice.waitForSelector("#error", { state: "visible" });
  const error = await alice.textContent("#error");
  if (!/nickname/i.test(error)) throw new Error(`unexpected error text: ${error}`);
  if (await alice.isVisible("#chat")) throw new Error("chat shown to a refused client");
  log({ step: "empty nickname refused", error });

  await login(alice, "alice");
  await login(bob, "bob");
  await Promise.all([state(alice, "connected"), state(bob, "connected")]);
  if (await alice.isVisible("#error")) throw new Error("the error stayed visible");
  step("connected");

  await joinRoom(alice, "rust");
  await joinRoom(bob, "rust");
  await Promise.all([roomCount(alice, "rust", 2), roomCount(bob, "rust", 2)]);
  step("both in #rust");

  const attempts = await typingSeen(bob, alice, "bob");
  log({ step: "typing shown", attempts });

  await chat(alice, bob, "Hello from alice!", "alice");
  await chat(bob, alice, "Hi alice, bob here.", "bob");
  step("messages delivered and ticked");

  if (!polling) {
    await request("stop-server");
    await Promise.all([state(alice, "reconnecting"), state(bob, "reconnecting")]);
    step("both pages show the server gone");
    await request("start-server");
    await Promise.all([state(alice, "connected"), state(bob, "connected")]);
    await Promise.all([notice(alice, "Reconnected."), notice(bob, "Reconnected.")]);
    await Promise.all([roomCount(alice, "rust", 2), roomCount(bob, "rust", 2)]);
    step("both reconnected and back in #rust");
    await chat(alice, bob, "The server restarted, we are still here.", "alice");
    await chat(bob, alice, "Great, and the ticks are back too.", "bob");
    step("chatting again after the restart");
  }

  for (const page of [alice, bob]) {
    const transport = await page.getAttribute("#status", "data-transport");
    if (polling && transport !== "polling") throw new Error(`transport ${transport}, not polling`);
    log({ step: "transport", transport });
  }

  if (screenshot) {
    await alice.screenshot({ path: screenshot });
    log({ step: "screenshot", path: screenshot });
  }
  if (pageErrors.length > 0) throw new Error(`errors in the pages: ${pageErrors.join("; ")}`);
}

// `from` sends `text`; `to` shows it, and `from` gets its tick.
async function chat(from, to, text, name) {
  await send(from, text);
  await Promise.all([received(to, name, text), ticked(from, text)]);
}

const profile = await mkdtemp(join(tmpdir(), "chat-test-"));
let context;
let failed = false;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
    ],
    viewport: { width: 960, height: 540 },
  });
  context.setDefaultTimeout(15_000);
  step(`chromium ${context.browser()?.version() ?? "started"}`);
  await scenario(context);
  step("done");
} catch (e) {
  failed = true;
  log({ step: "error", message: e.stack ?? String(e) });
} finally {
  await context?.close().catch(() => {});
  await rm(profile, { recursive: true, force: true }).catch(() => {});
  clearTimeout(deadline);
}
process.exit(failed ? 1 : 0);
