// WebTransport sessions for Node's engine without Node's HTTP/3 server
// (@fails-components/webtransport cannot be installed here): the test's
// HTTP/3 endpoint (tests/support/wt.rs, `relay_webtransport_to_tcp`)
// forwards each session's stream over TCP to the port this opens, and each
// such connection is handed to the engine as a WebTransport session
// (`io.engine.onWebTransportSession`): an object whose one incoming
// bidirectional stream is the connection (Duplex.toWeb), whose `closed`
// resolves when it closes, and whose `close()` destroys it.

import { createServer } from "node:net";
import { Duplex } from "node:stream";

// Opens the TCP port (0 for any) on 127.0.0.1; resolves with its number.
export function serveWebTransportOverTcp(io, port) {
  const server = createServer((tcp) => {
    tcp.setNoDelay(true);
    const stream = Duplex.toWeb(tcp);
    const closed = new Promise((resolve) => tcp.once("close", resolve));
    io.engine.onWebTransportSession({
      incomingBidirectionalStreams: new ReadableStream({
        start(controller) {
          controller.enqueue(stream);
          closed.then(() => controller.close());
        },
      }),
      closed,
      close() {
        tcp.destroy();
      },
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server.address().port)));
}
