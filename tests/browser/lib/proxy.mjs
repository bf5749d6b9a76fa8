// The HTTP proxy the browser talks to, in front of `vaiti serve`: the browser sees one origin
// (the proxy's), so the session cookie and the app's same-origin API calls work unchanged.
//
// It records every request (method, path and body) as the server received it — the "traffic
// captured at the server" that must hold no plaintext — and can tamper with chosen responses for
// the Subresource Integrity tests.

import http from 'node:http';

/**
 * Starts a proxy to `upstream` (a base URL). Returns `{ origin, requests, tampered, setTamper,
 * close }`: `requests` is the list of `{ method, path, body: Buffer }` in arrival order;
 * `setTamper(rule)` installs `{ match(path) → bool, edit(Buffer) → Buffer }` applied to
 * matching responses (and each edited path is pushed to `tampered`).
 */
export async function startProxy(upstream) {
  const target = new URL(upstream);
  const requests = [];
  const tampered = [];
  let rule = null;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method, path: req.url, body });
      const headers = { ...req.headers };
      // Plain bytes back, so a tamper edits the file itself, not a compressed stream of it.
      delete headers['accept-encoding'];
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (upRes) => {
          const parts = [];
          upRes.on('data', (c) => parts.push(c));
          upRes.on('end', () => {
            let out = Buffer.concat(parts);
            if (rule && upRes.statusCode === 200 && rule.match(req.url)) {
              out = rule.edit(Buffer.from(out));
              tampered.push(req.url);
            }
            const h = { ...upRes.headers, 'content-length': String(out.length) };
            delete h['transfer-encoding'];
            res.writeHead(upRes.statusCode ?? 502, h);
            res.end(out);
          });
          upRes.on('error', () => res.destroy());
        },
      );
      up.on('error', (e) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${e.message}`);
      });
      up.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    tampered,
    setTamper(r) {
      rule = r;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
