// A small development server: serves dist/ (index.html for unknown paths) and passes
// the API, Socket.IO (WebSocket upgrades included) and auth paths to a Plaza server.
//   PLAZA_UPSTREAM=http://127.0.0.1:18080 PORT=5173 node scripts/dev-server.mjs
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const upstream = new URL(process.env.PLAZA_UPSTREAM ?? 'http://127.0.0.1:18080');
const port = Number(process.env.PORT ?? 5173);
const host = process.env.HOST ?? '127.0.0.1';
const proxied = ['/api/', '/socket.io/', '/oauth2/', '/.well-known/', '/norevimages/', '/health', '/ready'];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const isProxied = (url) => proxied.some((p) => url === p.replace(/\/$/, '') || url.startsWith(p));

function serveStatic(req, res) {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = normalize(join(root, path));
  if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
  if (!existsSync(file)) {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('Run `npm run build` first.');
    return;
  }
  const immutable = file.includes(`${join(root, 'assets')}`);
  res.writeHead(200, {
    'content-type': types[extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  createReadStream(file).pipe(res);
}

const server = createServer((req, res) => {
  if (!isProxied(req.url)) return serveStatic(req, res);
  const forward = request(
    { host: upstream.hostname, port: upstream.port || 80, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'service.unavailable', message: `the Plaza server did not answer: ${error.message}` }));
  });
  req.pipe(forward);
});

// WebSocket upgrades (Socket.IO) are passed through as raw bytes.
server.on('upgrade', (req, socket, head) => {
  if (!isProxied(req.url)) return socket.destroy();
  const target = connect(Number(upstream.port || 80), upstream.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    target.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) target.write(head);
    target.pipe(socket);
    socket.pipe(target);
  });
  const close = () => {
    target.destroy();
    socket.destroy();
  };
  target.on('error', close);
  socket.on('error', close);
});

server.listen(port, host, () => console.log(`Plaza web on http://${host}:${port} → ${upstream.origin}`));
