// The official Socket.IO Admin UI (@socket.io/admin-ui 0.5, its built Vue 2 +
// Vuetify 2 app) in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), logged in to a server that implements the admin
// namespace: Node's reference (tests/node/admin_node_server.mjs) or ours.
//
//   node admin_ui.test.mjs <uiUrl> <serverUrl> <username> <password> <screenshotPath> [expectedServersCount]
//
// Opens <uiUrl> (e.g. http://127.0.0.1:P/admin-ui/), fills the connection
// modal (Server URL, Username, Password) and clicks Connect. Prints one JSON
// line per step on stdout:
//   {"step":"refused","message":"Invalid credentials"}  the modal shows an
//       error instead of closing (e.g. a wrong password); then exits 0.
//   {"step":"connected"}
//   {"step":"servers","ids":[...]}       waits for expectedServersCount rows
//   {"step":"sockets","count":N,"ids":[...],"byNamespace":{nsp:[ids]}}
//   {"step":"rooms","names":[...],"byNamespace":{nsp:[names]}}
//   {"step":"events","byNamespace":{nsp:[{type,name}]}}
//   {"step":"ready"}                     back on the Dashboard
// then runs one JSON command per stdin line:
//   {"expect":"sockets","count":N[,"nsp":"/chat"]} -> {"step":"sockets",...}
//       (with "nsp", also "rows": [{id, address, transport}] as shown)
//   {"expect":"room","name":"r1"[,"nsp":"/"]}      -> {"step":"room","name","nsp","sockets"}
//   {"expect":"event","name":"chat"[,"nsp"][,"type":"Event received"]}
//       -> {"step":"event","name","nsp","type","socket","args","matches"}
//       (the newest row of that name; matches = every row of that name in
//       that namespace, newest first, as {type, socket})
//   {"screenshot":true[,"view":"Sockets"][,"nsp":"/"]} -> {"step":"screenshot","path"}
//   {"client":"c1","url":URL[,"nsp":"/chat"][,"room":"r1"]} -> connects an
//       official socket.io-client (in Node, beside the browser) with
//       auth {room} -> {"step":"client","name","id"}
//   {"emit":"c1","event":"chat","args":[...]} -> {"step":"emitted","name"}
//   {"quit":true} (or stdin closing) -> closes the browser, exits 0.
// Exits 1 with {"step":"error",...} on a failure, or after 120 s overall.
//
// Views, sockets, namespaces: the UI lists the sockets, rooms and events of
// ONE namespace at a time (its "Select namespace" v-select, whose choice is
// shared by the views). For every read the script opens the selector, takes
// every namespace it lists (those of all_sockets and of later events), selects
// each in turn and reads the table. Counts ("count", expect sockets without
// "nsp") sum every namespace EXCEPT the admin namespace "/admin" (which holds
// the UI's own socket); byNamespace shows all, "/admin" included. Rooms are
// the public ones only (the "Show private rooms?" switch stays off).
//
// Selectors (Vuetify 2 classes and the English texts of the UI's en.json):
// - modal fields by their labels (getByLabel "Server URL", ...), the
//   "Connect" button by role; connected = the Password field hidden; refused
//   = the modal's `.red--text` error shown.
// - views: the navigation drawer's `.v-list-item` with the view's title; the
//   view is shown once `.v-main .v-breadcrumbs` reads that title (the router
//   transition keeps the old view briefly, so every read is scoped to the
//   `.v-main` child holding that breadcrumb).
// - tables: `.v-data-table tbody > tr`, minus the "No data available" row
//   (`.v-data-table__empty-wrapper`) and expanded rows; first cell = socket
//   id (Sockets), room name (Rooms), server id (Servers); in Events the 2nd
//   cell is the socket id, the 3rd the type chip ("Event received", ...), the
//   4th "Event name: <code>chat</code>"; args come from expanding the row
//   (the button in its last cell; `pre > code` of the expanded row).
// Caveats: tables page at 20 rows (only the first page is read: fine for
// these tests); counts across namespaces are re-read every 250 ms (switching
// namespaces is a UI action, no single condition to await), a single
// namespace (with "nsp") is awaited with waitForFunction; the MDI icon font
// and Roboto (CDN) are blocked, so icons are blank in screenshots; the
// viewport is 1400 px wide so the drawer is open (Vuetify lg breakpoint).

import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { io as connect } from "socket.io-client";

const [uiUrl, serverUrl, username, password, screenshotPath, expectedServers] =
  process.argv.slice(2);
if (!uiUrl || !serverUrl || username === undefined || password === undefined || !screenshotPath) {
  console.error(
    "usage: node admin_ui.test.mjs <uiUrl> <serverUrl> <username> <password> <screenshotPath> [expectedServersCount]",
  );
  process.exit(2);
}
const ADMIN_NSP = "/admin";
const STEP_TIMEOUT = 20_000;
const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

let browser;
const fail = async (e) => {
  log({ step: "error", message: e?.stack ?? String(e) });
  await browser?.close().catch(() => {});
  process.exit(1);
};
const timer = setTimeout(() => fail("timed out after 120 s"), 120_000);
const clients = new Map();

browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
});

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (e) => log({ step: "pageerror", message: String(e) }));
  // No internet: only the UI's and the server's origins are reachable.
  const allowed = new Set([new URL(uiUrl).origin, new URL(serverUrl).origin]);
  await page.route("**/*", (route) => {
    let origin;
    try {
      origin = new URL(route.request().url()).origin;
    } catch {}
    return allowed.has(origin) ? route.continue() : route.abort();
  });

  await page.goto(uiUrl);
  await page.getByLabel("Server URL").fill(serverUrl);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();

  const dialogError = page.locator(".v-dialog .red--text");
  const outcome = await Promise.race([
    page.getByLabel("Password").waitFor({ state: "hidden" }).then(() => "connected"),
    dialogError.waitFor({ state: "visible" }).then(() => "refused"),
  ]);
  if (outcome === "refused") {
    log({ step: "refused", message: (await dialogError.innerText()).trim() });
    await browser.close();
    clearTimeout(timer);
    process.exit(0);
  }
  log({ step: "connected" });

  // The view whose breadcrumb reads `title` (the old one may still be
  // leaving).
  const viewOf = (title) =>
    page.locator(".v-main .container > div").filter({
      has: page.locator(".v-breadcrumbs", { hasText: title }),
    });
  let current = null;
  async function show(title) {
    if (current !== title) {
      await page.locator(".v-navigation-drawer .v-list-item", { hasText: title }).click();
      current = title;
    }
    const view = viewOf(title);
    await view.waitFor({ state: "visible" });
    // The previous view gone, so `.v-main` holds a single one.
    await page.waitForFunction(
      () => document.querySelectorAll(".v-main .v-breadcrumbs").length === 1,
    );
    return view;
  }

  // Rows of a view's table, as arrays of cell texts.
  const rows = (view) =>
    view.locator(".v-data-table tbody > tr").evaluateAll((trs) =>
      trs
        .filter(
          (tr) =>
            !tr.classList.contains("v-data-table__empty-wrapper") &&
            !tr.classList.contains("v-data-table__expanded__content"),
        )
        .map((tr) => [...tr.querySelectorAll(":scope > td")].map((td) => td.innerText.trim())),
    );

  // The namespace selector: the view's v-select (not the table footer's).
  const selector = (view) => view.locator(".v-card__text .v-select").first();
  const selectedNsp = async (view) =>
    (await selector(view).locator(".v-select__selections").innerText()).trim();
  async function namespaces(view) {
    const sel = selector(view);
    // Selected once all_sockets has arrived.
    await sel.locator(".v-select__selection").waitFor();
    await sel.locator(".v-select__slot").click();
    const menu = page.locator(".v-menu__content.menuable__content__active");
    await menu.locator(".v-list-item").first().waitFor();
    const names = (await menu.locator(".v-list-item").allInnerTexts()).map((s) => s.trim());
    await page.keyboard.press("Escape");
    await menusClosed();
    return names;
  }
  async function selectNsp(view, name) {
    if ((await selectedNsp(view)) === name) return;
    const sel = selector(view);
    await sel.locator(".v-select__slot").click();
    const menu = page.locator(".v-menu__content.menuable__content__active");
    await menu.locator(".v-list-item").filter({ hasText: new RegExp(`^\\s*${esc(name)}\\s*$`) }).click();
    await menusClosed();
    await sel.locator(".v-select__selection", { hasText: name }).waitFor();
  }
  // Vuetify hides a closed menu (display: none) once its leave transition
  // ends; until then it still covers the table (and screenshots).
  const menusClosed = () =>
    page.waitForFunction(() =>
      [...document.querySelectorAll(".v-menu__content")].every(
        (m) => getComputedStyle(m).display === "none",
      ),
    );
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  // Reads `read(view)` for every namespace (or just `nsp`).
  async function perNamespace(title, nsp, read) {
    const view = await show(title);
    const names = nsp ? [nsp] : await namespaces(view);
    const out = {};
    for (const name of names) {
      if (nsp && !(await namespaces(view)).includes(nsp)) {
        out[name] = [];
        continue;
      }
      await selectNsp(view, name);
      out[name] = await read(view);
    }
    return out;
  }
  const socketIds = (view) => rows(view).then((r) => r.map((cells) => cells[0]));
  // The Sockets table's columns: id, IP address, transport.
  const socketRows = (view) =>
    rows(view).then((r) => r.map(([id, address, transport]) => ({ id, address, transport })));
  const roomNames = (view) => rows(view).then((r) => r.map((cells) => cells[0]));
  const eventRows = (view) =>
    rows(view).then((r) =>
      r.map((cells) => ({
        timestamp: cells[0],
        socket: cells[1],
        type: cells[2],
        name: /^Event name: ([\s\S]*)$/.exec(cells[3] ?? "")?.[1]?.trim(),
        text: cells[3],
      })),
    );
  const countOf = (byNamespace) =>
    Object.entries(byNamespace)
      .filter(([name]) => name !== ADMIN_NSP)
      .reduce((n, [, ids]) => n + ids.length, 0);

  // Repeats `probe` (which switches namespaces) until it returns a value.
  async function until(what, probe) {
    const deadline = Date.now() + STEP_TIMEOUT;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await page.waitForTimeout(250);
    }
  }

  // Servers: every server_stats sender, once expectedServersCount are shown.
  {
    const view = await show("Servers");
    const want = Number(expectedServers || 1);
    await page.waitForFunction(
      ({ want }) =>
        [...document.querySelectorAll(".v-main .v-data-table tbody > tr")].filter(
          (tr) => !tr.classList.contains("v-data-table__empty-wrapper"),
        ).length >= want,
      { want },
    );
    log({ step: "servers", ids: (await rows(view)).map((cells) => cells[0]) });
  }

  const socketsStep = async (nsp) => {
    const byNamespace = await perNamespace("Sockets", nsp, socketIds);
    const count = nsp ? (byNamespace[nsp] ?? []).length : countOf(byNamespace);
    const ids = Object.entries(byNamespace)
      .filter(([name]) => nsp || name !== ADMIN_NSP)
      .flatMap(([, ids]) => ids);
    const shown = nsp ? { rows: await socketRows(await show("Sockets")) } : {};
    return { step: "sockets", count, ids, byNamespace, ...shown };
  };
  log(await socketsStep());
  {
    const byNamespace = await perNamespace("Rooms", null, roomNames);
    const names = [...new Set(Object.values(byNamespace).flat())].sort();
    log({ step: "rooms", names, byNamespace });
  }
  {
    const byNamespace = await perNamespace("Events", null, (v) =>
      eventRows(v).then((evs) => evs.map(({ type, name }) => (name ? { type, name } : { type }))),
    );
    log({ step: "events", byNamespace });
  }
  await show("Dashboard");
  log({ step: "ready" });

  const commands = {
    async sockets(cmd) {
      if (cmd.nsp) {
        const view = await show("Sockets");
        await until(`namespace ${cmd.nsp}`, async () =>
          (await namespaces(view)).includes(cmd.nsp) ? true : undefined,
        );
        await selectNsp(view, cmd.nsp);
        await page.waitForFunction(
          ({ n }) =>
            [...document.querySelectorAll(".v-main .v-data-table tbody > tr")].filter(
              (tr) => !tr.classList.contains("v-data-table__empty-wrapper"),
            ).length === n,
          { n: cmd.count },
        );
        return socketsStep(cmd.nsp);
      }
      return until(`${cmd.count} sockets`, async () => {
        const step = await socketsStep();
        return step.count === cmd.count ? step : undefined;
      });
    },
    async room(cmd) {
      return until(`room ${cmd.name}`, async () => {
        const found = await perNamespace("Rooms", cmd.nsp, (v) => rows(v));
        for (const [nsp, rs] of Object.entries(found)) {
          const row = rs.find((cells) => cells[0] === cmd.name);
          if (row) return { step: "room", name: cmd.name, nsp, sockets: Number(row[2]) };
        }
      });
    },
    async event(cmd) {
      const hit = await until(`event ${cmd.name}`, async () => {
        const found = await perNamespace("Events", cmd.nsp, eventRows);
        for (const [nsp, evs] of Object.entries(found)) {
          const index = evs.findIndex(
            (e) => e.name === cmd.name && (!cmd.type || e.type === cmd.type),
          );
          if (index >= 0) {
            const matches = evs
              .filter((e) => e.name === cmd.name)
              .map(({ type, socket }) => ({ type, socket }));
            return { nsp, index, ev: evs[index], matches };
          }
        }
      });
      // The arguments: expand that row (the namespace is still selected).
      const view = await show("Events");
      const tr = view
        .locator(".v-data-table tbody > tr:not(.v-data-table__expanded__content)")
        .nth(hit.index);
      await tr.locator("td").last().locator("button").click();
      const code = view.locator(".v-data-table__expanded__content pre code");
      await code.waitFor();
      const text = await code.innerText();
      let args;
      try {
        args = JSON.parse(text);
      } catch {
        args = text;
      }
      await tr.locator("td").last().locator("button").click();
      await code.waitFor({ state: "detached" });
      return {
        step: "event",
        name: cmd.name,
        nsp: hit.nsp,
        type: hit.ev.type,
        socket: hit.ev.socket,
        args,
        matches: hit.matches,
      };
    },
  };

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    if (cmd.quit) break;
    if (cmd.client) {
      const socket = connect(cmd.url + (cmd.nsp || "/"), {
        forceNew: true,
        reconnection: false,
        auth: cmd.room ? { room: cmd.room } : {},
      });
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      clients.set(cmd.client, socket);
      log({ step: "client", name: cmd.client, id: socket.id });
      continue;
    }
    if (cmd.emit) {
      clients.get(cmd.emit).emit(cmd.event, ...(cmd.args || []));
      log({ step: "emitted", name: cmd.emit });
      continue;
    }
    if (cmd.screenshot) {
      const view = await show(cmd.view || "Sockets");
      if (await selector(view).count()) {
        await namespaces(view);
        await selectNsp(view, cmd.nsp || "/");
      }
      await page.screenshot({ path: screenshotPath, fullPage: true });
      log({ step: "screenshot", path: screenshotPath });
      continue;
    }
    const run = commands[cmd.expect];
    if (!run) throw new Error(`unknown command ${line}`);
    log(await run(cmd));
  }
  for (const socket of clients.values()) socket.close();
  await browser.close();
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  await fail(e);
}
