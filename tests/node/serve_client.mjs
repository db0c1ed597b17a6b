// Node's `serveClient` beside ours: starts a Node.js socket.io 4.8 server
// (serveClient is on by default there) on a free port, then asks both
// servers for every client file, plainly and with `If-None-Match`, and
// prints one JSON line per request pair:
//
//   {"file":..., "case":"plain"|"etag"|"weak", "node":{...}, "ours":{...}}
//
// where each side is {status, contentType, cacheControl, etag, length, sha256}.
//
//   node serve_client.mjs <our base url, e.g. http://127.0.0.1:1234>

import { createHash } from "node:crypto";
import { createServer, request } from "node:http";
import { Server } from "socket.io";

const [ours] = process.argv.slice(2);
if (!ours) {
  console.error("usage: node serve_client.mjs <base url>");
  process.exit(2);
}

const FILES = [
  "socket.io.js",
  "socket.io.js.map",
  "socket.io.min.js",
  "socket.io.min.js.map",
  "socket.io.esm.min.js",
  "socket.io.esm.min.js.map",
  "socket.io.msgpack.min.js",
  "socket.io.msgpack.min.js.map",
];

// A GET with exactly these headers (no Accept-Encoding: both answer plainly).
function get(base, path, headers) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode,
          contentType: res.headers["content-type"] ?? null,
          cacheControl: res.headers["cache-control"] ?? null,
          etag: res.headers["etag"] ?? null,
          length: body.length,
          sha256: createHash("sha256").update(body).digest("hex"),
        });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const http = createServer();
const io = new Server(http);
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
const node = `http://127.0.0.1:${http.address().port}`;

try {
  for (const file of FILES) {
    const path = `/socket.io/${file}`;
    const plainNode = await get(node, path, {});
    const plainOurs = await get(ours, path, {});
    console.log(JSON.stringify({ file, case: "plain", node: plainNode, ours: plainOurs }));
    const tag = plainNode.etag;
    for (const [name, value] of [["etag", tag], ["weak", `W/${tag}`]]) {
      const n = await get(node, path, { "if-none-match": value });
      const o = await get(ours, path, { "if-none-match": value });
      console.log(JSON.stringify({ file, case: name, node: n, ours: o }));
    }
  }
} finally {
  io.close();
}
