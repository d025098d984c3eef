// The seed's snapshot route (seed/ part 7, "State Snapshots API"), with its MongoDB
// collection replaced by an in-memory Map so that the benchmark measures the HTTP path:
// every GET serializes the document and hashes it with sha1, as the seed does.
//
//   node server.js PORT DOCS.ndjson
const express = require("express");
const crypto = require("crypto");
const fs = require("fs");

const port = Number(process.argv[2] || 18093);
const docs = new Map();
for (const line of fs.readFileSync(process.argv[3], "utf8").split("\n")) {
  if (!line) continue;
  const d = JSON.parse(line);
  docs.set(d._key, d);
}

function etagOf(doc) {
  const s = JSON.stringify(doc);
  return '"' + crypto.createHash("sha1").update(s).digest("hex") + '"';
}

const app = express();
app.set("etag", false);
app.use(express.json({ limit: "200kb" }));
const cacheCtl = "public, max-age=5";

app.get("/snap/:key", (req, res) => {
  const doc = docs.get(req.params.key);
  if (!doc) return res.status(404).json({ error: "not_found" });
  const etag = etagOf({ ...doc, _id: undefined });
  if (req.headers["if-none-match"] === etag) return res.status(304).end();
  res.setHeader("ETag", etag);
  res.setHeader("Cache-Control", cacheCtl);
  res.json(doc);
});

app.listen(port, "127.0.0.1", () => console.log(`[snapshot-api] on :${port} (${docs.size} docs)`));
