// Minimal keep-alive HTTP server for the throughput benchmark: `node httpServer.mjs PORTFILE`.
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
const body = Buffer.alloc(256, 'x');
const server = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => writeFileSync(process.argv[2], String(server.address().port)));
