// examples/chat in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): two pages, alice on a desktop-sized window and bob on a
// phone-sized one (390x844).
//
//   node chat.test.mjs <url> [--polling] [--screenshot FILE] [--phone-screenshot FILE]
//
// 1. The page's icon can be fetched. An empty nickname is refused by the
//    server's middleware: the page shows the error. alice and bob then
//    connect, and both join the room `rust`. At phone size bob's page does
//    not scroll (its messages do), and its input is in view and wide.
// 2. bob types: alice sees "bob is typing…". alice sends a message: bob
//    shows it, alice's copy gets its tick (the server's ack). bob answers.
//    alice's client sends one message twice with the same id, as after a
//    lost ack: both sends are acknowledged with the same time, and bob's
//    client receives it once.
// 3. Twice: the script asks for the server to be stopped (prints
//    {"request":"stop-server"}, waits for a line `ok` on stdin); both pages
//    show "reconnecting" and unknown room counts. One page is cut off
//    (Chromium's network emulation) and alice writes two messages, which
//    stay pending. The server is started again on the same port; once the
//    other page is back, the cut-off one is let through. The first time
//    alice is the late one (bob gets her messages as she sends them), the
//    second time bob (he gets them from the room's history). Both times bob
//    receives the two messages once each and in order (in his page and on
//    his client), alice's copies get their ticks, the counts are refreshed,
//    the early page announces the late one as "reconnected" (no page shows
//    "joined"), and the two chat again.
// 4. --screenshot saves alice's page, --phone-screenshot bob's.
//
// With --polling the pages open with ?transport=polling and must stay on
// long-polling. No response to the pages has a 4xx or 5xx status (but for
// one poll of the refused session, see `openPage`). Every wait is for a
// condition of the page; the script prints each step as a JSON line with its
// time, and exits non-zero on the first failure or after 80 s.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

// ----- arguments, output, control -----

let url = null;
let polling = false;
let screenshot = null;
let phoneScreenshot = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--polling") polling = true;
  else if (argv[i] === "--screenshot") screenshot = argv[++i];
  else if (argv[i] === "--phone-screenshot") phoneScreenshot = argv[++i];
  else url = argv[i];
}
if (!url) {
  console.error("usage: node chat.test.mjs <url> [--polling] [--screenshot FILE] [--phone-screenshot FILE]");
  process.exit(2);
}
const pageUrl = polling ? `${url}/?transport=polling` : `${url}/`;

const t0 = Date.now();
const log = (obj) => console.log(JSON.stringify({ ...obj, ms: Date.now() - t0 }));
const step = (name) => log({ step: name });
const deadline = setTimeout(() => {
  log({ step: "error", message: "timed out after 80 s" });
  process.exit(1);
}, 80_000);

// Requests to the test that runs this script, answered on stdin.
const replies = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function request(what) {
  log({ request: what });
  const { value, done } = await replies.next();
  if (done || value.trim() !== "ok") throw new Error(`no "ok" for ${what}, got ${value}`);
}

// ----- the page, as a user sees it -----

const pageErrors = [];
const badResponses = [];
const opened = {}; // name -> page, to show what each displayed on a failure
let refusing = false; // from the refused login until the next one connects

async function openPage(context, name, viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() < 400) return;
    const what = `${name}: ${r.status()} ${r.request().method()} ${r.url()}`;
    // Refused right after its handshake, socket.io-client closes the
    // session; over long-polling it may have sent one more poll, which
    // can reach the server after the close: 400 "Session ID unknown".
    if (refusing && r.status() === 400 && new URL(r.url()).pathname === "/socket.io/") {
      log({ step: "poll after the refused session closed", response: what });
    } else {
      badResponses.push(what);
    }
  });
  opened[name] = page;
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

// A notice with `text`, after the last "Connection lost" one.
function notice(page, text) {
  return page.waitForFunction((text) => {
    const notices = [...document.querySelectorAll("#messages li.notice")].map((li) => li.textContent);
    return notices.slice(notices.findLastIndex((t) => t.startsWith("Connection lost")) + 1).includes(text);
  }, text);
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

const PHONE = { width: 390, height: 844 };

// What bob's client receives, as the server sent it (his page hides a
// message id it already shows; this list does not).
async function recordWire(page) {
  await page.evaluate(() => {
    window.wire = [];
    socket.on("message", (m) => window.wire.push(m));
  });
}
const wire = (page) => page.evaluate(() => window.wire);

// The texts of the messages received from `from` since the last "Connection
// lost" notice (or all of them), in the page's order.
function receivedTexts(page, from) {
  return page.evaluate((from) => {
    const items = [...document.querySelectorAll("#messages li")];
    const lost = items.findLastIndex((li) => li.textContent.startsWith("Connection lost"));
    return items
      .slice(lost + 1)
      .filter((li) => li.matches(".received") && li.querySelector(".from").textContent === from)
      .map((li) => li.querySelector(".text").textContent);
  }, from);
}

// The notices shown since the last "Connection lost" one.
function noticesSinceLost(page) {
  return page.evaluate(() => {
    const notices = [...document.querySelectorAll("#messages li.notice")].map((li) => li.textContent);
    return notices.slice(notices.findLastIndex((t) => t.startsWith("Connection lost")) + 1);
  });
}

async function phoneLayout(page) {
  const layout = await page.evaluate(() => {
    const input = document.getElementById("text").getBoundingClientRect();
    return {
      scrollWidth: document.documentElement.scrollWidth,
      scrollHeight: document.documentElement.scrollHeight,
      input: Math.round(input.width),
      inputBottom: Math.round(input.bottom),
      rooms: Math.round(document.querySelector("aside").getBoundingClientRect().height),
    };
  });
  const fits =
    layout.scrollWidth <= PHONE.width &&
    layout.scrollHeight <= PHONE.height &&
    layout.inputBottom <= PHONE.height &&
    layout.input >= PHONE.width / 2;
  // The page does not scroll (the messages do), and the input is in view and wide.
  if (!fits) throw new Error(`layout at ${PHONE.width}x${PHONE.height}: ${JSON.stringify(layout)}`);
  return layout;
}

async function scenario(context) {
  const alice = await openPage(context, "alice");
  const bob = await openPage(context, "bob", PHONE);
  // Headless Chromium fetches no icon by itself: fetch the one a browser
  // would, the page's icon link or else /favicon.ico.
  const icon = await alice.evaluate(async () => {
    const href = document.querySelector('link[rel~="icon"]')?.href ?? new URL("/favicon.ico", location).href;
    const res = await fetch(href);
    return { href: href.slice(0, 30), status: res.status, type: res.headers.get("content-type") };
  });
  if (icon.status !== 200) throw new Error(`the page's icon: ${JSON.stringify(icon)}`);
  log({ step: "pages loaded", icon });

  refusing = true;
  await login(alice, "   ");
  await alice.waitForSelector("#error", { state: "visible" });
  const error = await alice.textContent("#error");
  if (!/nickname/i.test(error)) throw new Error(`unexpected error text: ${error}`);
  if (await alice.isVisible("#chat")) throw new Error("chat shown to a refused client");
  log({ step: "empty nickname refused", error });

  await login(alice, "alice");
  await login(bob, "bob");
  await Promise.all([state(alice, "connected"), state(bob, "connected")]);
  refusing = false;
  if (await alice.isVisible("#error")) throw new Error("the error stayed visible");
  await recordWire(bob);
  step("connected");

  await joinRoom(alice, "rust");
  await joinRoom(bob, "rust");
  await Promise.all([roomCount(alice, "rust", 2), roomCount(bob, "rust", 2)]);
  log({ step: "both in #rust", phone: await phoneLayout(bob) });

  const attempts = await typingSeen(bob, alice, "bob");
  log({ step: "typing shown", attempts });

  await chat(alice, bob, "Hello from alice!", "alice");
  await chat(bob, alice, "Hi alice, bob here.", "bob");
  step("messages delivered and ticked");

  // What socket.io-client does when an ack was lost with the connection:
  // the same message, with the same id, once more.
  const resent = { id: "sent-twice", text: "Sent twice, shown once." };
  const acks = await alice.evaluate(
    (msg) => Promise.all([1, 2].map(() => socket.emitWithAck("message", msg))),
    resent,
  );
  if (acks.some((a) => !a.at) || acks[0].at !== acks[1].at) throw new Error(`acks ${JSON.stringify(acks)}`);
  // alice's next message comes after both copies.
  await chat(alice, bob, "Did it come once?", "alice");
  const copies = (await wire(bob)).filter((m) => m.text === resent.text).length;
  if (copies !== 1) throw new Error(`bob's client received the message sent twice ${copies} times`);
  log({ step: "a message sent twice is acknowledged twice, received once", acks });

  // The server goes away and comes back; one page comes back later than
  // the other. First alice, who wrote while it was away: bob, back already,
  // gets her messages as she sends them. Then bob: alice's messages wait in
  // the room's history.
  const pages = { alice, bob };
  await restart(pages, "alice", ["Written while the server was down.", "And a second one, in order."]);
  await restart(pages, "bob", ["Down again: bob is away longer.", "He gets these when he is back."]);

  for (const page of [alice, bob]) {
    const transport = await page.getAttribute("#status", "data-transport");
    if (polling && transport !== "polling") throw new Error(`transport ${transport}, not polling`);
    log({ step: "transport", transport });
  }

  log({ step: "phone layout", ...(await phoneLayout(bob)) });
  if (screenshot) {
    await alice.screenshot({ path: screenshot });
    log({ step: "screenshot", path: screenshot });
  }
  if (phoneScreenshot) {
    await bob.screenshot({ path: phoneScreenshot });
    log({ step: "phone screenshot", path: phoneScreenshot });
  }
  if (pageErrors.length > 0) throw new Error(`errors in the pages: ${pageErrors.join("; ")}`);
  if (badResponses.length > 0) throw new Error(`error responses: ${badResponses.join("; ")}`);
}

// Stops the server; alice writes `offline` while it is down; starts it
// again, `late` staying offline until the other page has reconnected (and,
// if it is bob, until alice's messages are ticked). Then checks what bob
// received, the ticks, the counts and the notices.
async function restart(pages, late, offline) {
  const { alice, bob } = pages;
  const early = late === "alice" ? "bob" : "alice";
  await request("stop-server");
  await Promise.all([state(alice, "reconnecting"), state(bob, "reconnecting")]);
  await Promise.all([roomCount(alice, "rust", "?"), roomCount(bob, "rust", "?")]);
  log({ step: "both pages show the server gone, and the counts unknown", late });

  await setOffline(pages[late], true);
  for (const text of offline) await send(alice, text);
  const pending = await alice.$$eval("#messages li.sent.pending", (lis) => lis.length);
  if (pending !== offline.length) throw new Error(`${pending} pending messages, not ${offline.length}`);
  step("two messages written offline, pending");

  await request("start-server");
  await state(pages[early], "connected");
  if (early === "alice") await Promise.all(offline.map((text) => ticked(alice, text)));
  const lateState = await pages[late].getAttribute("#status", "data-state");
  if (lateState !== "reconnecting") throw new Error(`${late} is ${lateState}, not kept offline`);
  log({ step: "server back", early });
  await setOffline(pages[late], false);
  await state(pages[late], "connected");
  await Promise.all([
    notice(alice, "Reconnected."),
    notice(bob, "Reconnected."),
    received(bob, "alice", offline[1]),
    ...offline.map((text) => ticked(alice, text)),
    roomCount(alice, "rust", 2),
    roomCount(bob, "rust", 2),
    notice(pages[early], `${late} reconnected`),
  ]);
  log({ step: "reconnected: offline messages delivered and ticked, counts refreshed", late });

  const again = `Back after ${late} came back.`;
  await chat(alice, bob, again, "alice");
  await chat(bob, alice, `Hi again, ${late === "bob" ? "I was away" : "welcome back"}.`, "bob");

  // Everything alice sent has reached bob by now (one socket's messages
  // are handled and delivered in order): count what came.
  const after = await receivedTexts(bob, "alice");
  const expected = [...offline, again];
  if (JSON.stringify(after) !== JSON.stringify(expected)) throw new Error(`bob shows ${JSON.stringify(after)}`);
  const texts = (await wire(bob)).map((m) => m.text);
  for (const text of offline) {
    const n = texts.filter((t) => t === text).length;
    if (n !== 1) throw new Error(`bob's client received ${JSON.stringify(text)} ${n} times`);
  }
  if (texts.indexOf(offline[0]) > texts.indexOf(offline[1])) throw new Error(`out of order: ${JSON.stringify(texts)}`);
  for (const page of [alice, bob]) {
    const joined = (await noticesSinceLost(page)).filter((t) => t.endsWith(" joined"));
    if (joined.length > 0) throw new Error(`a rejoin announced as a join: ${JSON.stringify(joined)}`);
  }
  log({ step: "delivered once each, in order; rejoin announced as such", late });
}

// Cuts one page's network (Chromium's network emulation, through the
// DevTools protocol), or gives it back.
const devtools = new Map();
async function setOffline(page, offline) {
  if (!devtools.has(page)) {
    const session = await page.context().newCDPSession(page);
    await session.send("Network.enable");
    devtools.set(page, session);
  }
  await devtools.get(page).send("Network.emulateNetworkConditions", {
    offline,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
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
  for (const [name, page] of Object.entries(opened)) {
    const shown = await page.evaluate(() => document.getElementById("messages").innerText).catch(String);
    log({ page: name, shown: shown.split("\n") });
  }
} finally {
  await context?.close().catch(() => {});
  await rm(profile, { recursive: true, force: true }).catch(() => {});
  clearTimeout(deadline);
}
process.exit(failed ? 1 : 0);
